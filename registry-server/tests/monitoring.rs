//! Monitoring end to end over real TCP: telemetry from rendered clips (features computed by
//! the same code as the browser runtime) with a planted shift fires the drift alert at a
//! real webhook listener, which resolves once the shift is gone; feedback with planted
//! errors fires the online-accuracy alert; the analytics API reports what was sent.

mod common;

use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::post;
use raga_model::StatsAccumulator;
use raga_synth::{RAGAS, RenderOptions};
use registry_server::monitoring::{AlertConfig, rules::Rule};
use registry_server::{Settings, app, monitoring};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/model-small-int8");
const MODEL: &str = "raga-detector";
/// Alert window of the tests: short, so a shift ages out within the test.
const WINDOW_S: f64 = 3.0;

struct Server {
    url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

impl Server {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.send(method, path, body).await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }
}

/// A webhook receiver: every POSTed body arrives on the channel.
async fn webhook() -> (String, mpsc::UnboundedReceiver<Value>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let router = axum::Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, rx, task)
}

fn rule(name: &str, metric: &str, op: &str, threshold: f64) -> Rule {
    serde_json::from_value(json!({
        "name": name, "metric": metric, "op": op, "threshold": threshold,
        "window_s": WINDOW_S, "min_samples": 40,
    }))
    .expect("rule")
}

/// A server with the fixture package registered as version 1, alert rules on a short window,
/// evaluated every 200 ms, notifying `hook`.
async fn start(hook: String) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let alerts = AlertConfig {
        interval_s: 0.2,
        webhook: Some(hook),
        rules: vec![
            rule("input-drift", "drift_psi", ">", 0.2),
            rule("low-online-accuracy", "online_accuracy", "<", 0.87),
        ],
    };
    let settings = Settings { alerts, ..Settings::default() };
    let state = common::open(dir.path(), settings).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let router = app(state.clone());
    let serve = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let evaluator = monitoring::spawn_evaluator(state);
    let server = Server { url, http: reqwest::Client::new(), _dir: dir, tasks: vec![serve, evaluator] };
    register_fixture(&server).await;
    server
}

async fn register_fixture(s: &Server) {
    let m = "/api/2.0/mlflow";
    let v =
        s.ok(reqwest::Method::POST, &format!("{m}/runs/create"), Some(json!({"experiment_id": "0"}))).await;
    let run = v["run"]["info"]["run_id"].as_str().expect("run id").to_string();
    for file in ["manifest.json", "model.bpk"] {
        let bytes = std::fs::read(format!("{FIXTURE}/{file}")).expect("fixture file");
        let resp = s
            .http
            .put(format!("{}/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/package/{file}", s.url))
            .body(bytes)
            .send()
            .await
            .expect("upload");
        assert!(resp.status().is_success());
    }
    s.ok(reqwest::Method::POST, &format!("{m}/registered-models/create"), Some(json!({"name": MODEL}))).await;
    let source = format!("mlflow-artifacts:/0/{run}/artifacts/package");
    s.ok(
        reqwest::Method::POST,
        &format!("{m}/model-versions/create"),
        Some(json!({"name": MODEL, "source": source, "run_id": run})),
    )
    .await;
}

/// How the clips of a stream differ from the training corpus.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shift {
    None,
    /// Loud white noise added (the microphone of a busy room).
    Noise,
    /// Every performer's Sa at the top of the training range and beyond.
    Tonic,
}

/// Telemetry events of `n` rendered clips, as the browser runtime reports them: the clip
/// statistics come from the shared DSP and `StatsAccumulator`.
fn stream(prefix: &str, n: usize, seed: u64, shift: Shift) -> Vec<Value> {
    let config = raga_dsp::FeatureConfig::default();
    (0..n)
        .map(|i| {
            let raga = &RAGAS[i % RAGAS.len()];
            let opts = RenderOptions {
                seconds: 8.0,
                tonic_hz: (shift == Shift::Tonic).then_some(268.0),
                ..RenderOptions::default()
            };
            let clip = raga_synth::render(raga, seed + i as u64, &opts).expect("render");
            let mut samples = clip.samples;
            if shift == Shift::Noise {
                let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i as u64) | 1;
                for s in &mut samples {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *s += 0.3 * ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5);
                }
            }
            let features =
                raga_dsp::extract(&samples, raga_synth::SAMPLE_RATE, 1, &config).expect("features");
            let mut stats = StatsAccumulator::default();
            stats.push(&features);
            json!({
                "event_id": format!("{prefix}-{i}"),
                "model": MODEL,
                "version": "1",
                "backend": if i % 3 == 0 { "webgpu" } else { "cpu" },
                "client_time_ms": 1_764_000_000_000_i64,
                "timings_ms": {"features": 80.0 + i as f64, "inference": 20.0, "total": 100.0 + i as f64},
                "top_label": raga.id,
                "confidence": 0.5 + (i % 5) as f64 * 0.1,
                "tradition": "unknown",
                "tonic_hz": features.tonic_hz,
                "input": stats.finish(),
            })
        })
        .collect()
}

async fn post_events(s: &Server, events: &[Value]) {
    let v = s.ok(reqwest::Method::POST, "/v1/telemetry", Some(json!({"events": events}))).await;
    assert_eq!(v["accepted"], events.len(), "{v}");
}

/// The next webhook notification, or a failure after `secs`.
async fn next_notice(rx: &mut mpsc::UnboundedReceiver<Value>, secs: u64) -> Value {
    tokio::time::timeout(Duration::from_secs(secs), rx.recv())
        .await
        .expect("a webhook notification in time")
        .expect("webhook channel open")
}

async fn firing(s: &Server) -> Vec<Value> {
    let v = s.ok(reqwest::Method::GET, &format!("/v1/alerts?model={MODEL}&state=firing"), None).await;
    v["alerts"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_drift_fires_at_the_webhook_then_resolves() {
    let (hook, mut notices, hook_task) = webhook().await;
    let mut s = start(hook).await;
    s.tasks.push(hook_task);

    // In distribution: no alert, a low score.
    post_events(&s, &stream("base", 40, 9_000, Shift::None)).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let drift =
        s.ok(reqwest::Method::GET, &format!("/v1/monitoring/drift?model={MODEL}&version=1"), None).await;
    assert_eq!(drift["events"], 40, "{drift}");
    assert!(drift["score"].as_f64().expect("score") < 0.2, "in-distribution drift: {drift}");
    assert!(firing(&s).await.is_empty());
    assert!(notices.try_recv().is_err(), "no notification for in-distribution traffic");

    // Noise planted: the drift alert fires, at the webhook and in the API.
    let noisy_at = Instant::now();
    post_events(&s, &stream("noisy", 40, 9_100, Shift::Noise)).await;
    let notice = next_notice(&mut notices, 10).await;
    assert_eq!(notice["status"], "firing", "{notice}");
    assert_eq!(notice["alert"]["rule"], "input-drift");
    assert_eq!(notice["alert"]["version"], "1");
    assert!(notice["alert"]["value"].as_f64().expect("value") > 0.2, "{notice}");
    let open = firing(&s).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let drift =
        s.ok(reqwest::Method::GET, &format!("/v1/monitoring/drift?model={MODEL}&version=1"), None).await;
    assert!(drift["psi"]["log_mel_high"].as_f64().expect("psi") > 0.2, "{drift}");

    // The shift ends: once the noisy clips leave the window, clean traffic resolves it.
    let window = Duration::from_secs_f64(WINDOW_S);
    tokio::time::sleep(window.saturating_sub(noisy_at.elapsed()) + Duration::from_millis(300)).await;
    post_events(&s, &stream("clean", 40, 9_200, Shift::None)).await;
    let notice = next_notice(&mut notices, 10).await;
    assert_eq!(notice["status"], "resolved", "{notice}");
    assert_eq!(notice["alert"]["rule"], "input-drift");
    assert!(notice["alert"]["resolved_ms"].as_i64().is_some());
    assert!(firing(&s).await.is_empty());
    let all = s.ok(reqwest::Method::GET, &format!("/v1/alerts?model={MODEL}"), None).await;
    let alert = &all["alerts"][0];
    assert_eq!(alert["state"], "resolved");
    assert!(
        alert["webhook_status"].as_str().unwrap_or_default().starts_with("resolved delivered"),
        "{alert}"
    );

    // Prometheus sees it all.
    let text =
        s.http.get(format!("{}/metrics", s.url)).send().await.expect("metrics").text().await.expect("text");
    for line in
        ["ragasense_alerts_fired_total 1", "ragasense_alerts_resolved_total 1", "ragasense_alerts_firing 0"]
    {
        assert!(text.lines().any(|l| l == line), "{line} not in /metrics:\n{text}");
    }

    // A moved tonic is drift too (checked through the API; same evaluator path).
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    post_events(&s, &stream("tonic", 40, 9_300, Shift::Tonic)).await;
    let path = format!("/v1/monitoring/drift?model={MODEL}&version=1&from_ms={since}");
    let drift = s.ok(reqwest::Method::GET, &path, None).await;
    assert_eq!(drift["events"], 40, "{drift}");
    assert!(drift["psi"]["tonic_hz"].as_f64().expect("psi") > 0.2, "{drift}");
    assert!(drift["tonic_shift_cents"].as_f64().expect("cents") > 200.0, "{drift}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_with_planted_errors_fires_the_accuracy_alert() {
    let (hook, mut notices, hook_task) = webhook().await;
    let mut s = start(hook).await;
    s.tasks.push(hook_task);
    let events = stream("p", 50, 9_400, Shift::None);
    post_events(&s, &events).await;

    // 30 right, 20 wrong: online accuracy 0.6.
    for (i, e) in events.iter().enumerate() {
        let predicted = e["top_label"].as_str().expect("label");
        let truth = if i % 5 < 3 { predicted } else { RAGAS[(i + 1) % RAGAS.len()].id };
        let v = s
            .ok(
                reqwest::Method::POST,
                "/v1/feedback",
                Some(json!({"prediction_id": e["event_id"], "true_raga": truth})),
            )
            .await;
        assert_eq!(v["correct"], predicted == truth);
    }
    let notice = next_notice(&mut notices, 10).await;
    assert_eq!(notice["status"], "firing", "{notice}");
    assert_eq!(notice["alert"]["rule"], "low-online-accuracy");
    // The evaluator may run while the answers still arrive: any prefix of 20 or more answers
    // of this 3-right-2-wrong pattern scores 0.6 to 15/23 ≈ 0.652 (all 50: exactly 0.6, below).
    let value = notice["alert"]["value"].as_f64().expect("value");
    assert!((0.6 - 1e-9..=15.0 / 23.0 + 1e-9).contains(&value), "{notice}");

    // The summary reports the traffic and the accuracy.
    let v = s.ok(reqwest::Method::GET, &format!("/v1/monitoring/summary?model={MODEL}"), None).await;
    let version = &v["versions"][0];
    assert_eq!(version["version"], "1");
    assert_eq!(version["all"]["requests"], 50);
    assert_eq!(version["all"]["errors"], 0);
    assert_eq!(version["backends"]["webgpu"]["requests"], 17);
    assert_eq!(version["backends"]["cpu"]["requests"], 33);
    assert_eq!(version["all"]["latency_ms"]["p50"], 124.0);
    assert_eq!(version["all"]["latency_ms"]["p99"], 149.0);
    assert_eq!(version["feedback"]["online_accuracy"], 0.6);
    let labels = version["all"]["labels"].as_array().expect("labels");
    assert_eq!(labels.iter().map(|l| l["count"].as_u64().unwrap_or(0)).sum::<u64>(), 50);
    let hist = version["all"]["confidence"]["histogram"].as_array().expect("histogram");
    assert_eq!(hist.iter().map(|c| c.as_u64().unwrap_or(0)).sum::<u64>(), 50);
    let series = s
        .ok(
            reqwest::Method::GET,
            &format!("/v1/monitoring/timeseries?model={MODEL}&version=1&bucket_ms=60000"),
            None,
        )
        .await;
    let buckets = series["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.iter().map(|b| b["requests"].as_u64().unwrap_or(0)).sum::<u64>(), 50);
    assert!(buckets.iter().any(|b| b["drift_psi"].as_f64().is_some()), "{series}");

    // Feedback errors are clear.
    let bad = [
        (json!({"true_raga": "yaman"}), 400, "prediction_id is required"),
        (json!({"prediction_id": "p-0", "true_raga": "nope"}), 400, "is not a raga of model"),
        (
            json!({"prediction_id": "unknown-1", "true_raga": "yaman"}),
            404,
            "send model, version and predicted",
        ),
        (json!({"prediction_id": "p-0", "true_raga": "yaman", "version": "2"}), 400, "was made by model"),
    ];
    for (body, status, fragment) in bad {
        let (got, v) = s.send(reqwest::Method::POST, "/v1/feedback", Some(body.clone())).await;
        assert_eq!(got, status, "{body}: {v}");
        assert!(v["message"].as_str().unwrap_or_default().contains(fragment), "{body}: {v}");
    }
    // Feedback that beats its telemetry names the prediction itself.
    let v = s
        .ok(
            reqwest::Method::POST,
            "/v1/feedback",
            Some(json!({"prediction_id": "early-1", "true_raga": "yaman", "model": MODEL, "version": "1", "predicted": "yaman"})),
        )
        .await;
    assert_eq!(v["correct"], true);
}

#[tokio::test]
async fn monitoring_queries_check_their_input() {
    let (hook, _notices, hook_task) = webhook().await;
    let mut s = start(hook).await;
    s.tasks.push(hook_task);
    let cases = [
        ("/v1/monitoring/summary", 400, "model"),
        (&format!("/v1/monitoring/summary?model={MODEL}&from_ms=10&to_ms=5") as &str, 400, "must be before"),
        (&format!("/v1/monitoring/drift?model={MODEL}"), 400, "version"),
        (&format!("/v1/monitoring/drift?model={MODEL}&version=7"), 404, "version"),
        (&format!("/v1/monitoring/timeseries?model={MODEL}&bucket_ms=10"), 400, "bucket_ms"),
        ("/v1/alerts?state=open", 400, "firing, resolved or all"),
    ];
    for (path, status, fragment) in cases {
        let (got, v) = s.send(reqwest::Method::GET, path, None).await;
        assert_eq!(got, status, "{path}: {v}");
        assert!(v["message"].as_str().unwrap_or_default().contains(fragment), "{path}: {v}");
    }
    let rules = s.ok(reqwest::Method::GET, "/v1/alerts/rules", None).await;
    assert_eq!(rules["rules"].as_array().map(Vec::len), Some(2));
    assert_eq!(rules["webhook_configured"], true);
    let empty = s.ok(reqwest::Method::GET, &format!("/v1/monitoring/summary?model={MODEL}"), None).await;
    assert_eq!(empty["versions"], json!([]));
}
