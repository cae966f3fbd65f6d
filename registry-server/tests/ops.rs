//! Operations: `/metrics` (counted by route template, valid text format 0.0.4), `/ready`
//! good and failing, `/health`, and the binary's JSON log lines.

mod common;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use registry_server::{AppState, Settings, app};
use serde_json::{Value, json};
use tower::ServiceExt;

struct TestApp {
    state: AppState,
    router: Router,
    dir: tempfile::TempDir,
}

async fn test_app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = common::open(dir.path(), Settings::default()).await;
    TestApp { router: app(state.clone()), state, dir }
}

impl TestApp {
    /// Status, `Content-Type` and body of one request.
    async fn send(
        &self,
        method: &str,
        uri: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> (StatusCode, String, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(uri);
        let body = match body {
            Some((content_type, bytes)) => {
                req = req.header(header::CONTENT_TYPE, content_type);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let resp = self.router.clone().oneshot(req.body(body).expect("request")).await.expect("infallible");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes().to_vec();
        (status, content_type, bytes)
    }

    async fn json(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        let (status, _, bytes) = self.send(method, uri, body).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Scrapes `/metrics`, checks the format, and returns the samples.
    async fn scrape(&self) -> Samples {
        let (status, content_type, bytes) = self.send("GET", "/metrics", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let text = String::from_utf8(bytes).expect("utf-8");
        parse_exposition(&text).unwrap_or_else(|err| panic!("{err}\n{text}"))
    }
}

/// Samples by name and labels (sorted `k=v` joined by `,`).
type Samples = BTreeMap<(String, String), f64>;

fn sample(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    samples.get(&(name.to_string(), labels.join(","))).copied()
}

/// Parses the Prometheus text format 0.0.4 strictly enough to catch what a scraper rejects:
/// one `# TYPE` per family before its samples, known types, sample names that belong to
/// their family (`_bucket` with `le`, `_sum`, `_count` for histograms), well-formed labels,
/// numeric values, no duplicate series.
fn parse_exposition(text: &str) -> Result<Samples, String> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Samples::new();
    let name_ok = |n: &str| {
        n.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    for (i, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", i + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or(format!("{at}: TYPE without a type"))?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(format!("{at}: unknown type"));
            }
            if !name_ok(name) || types.insert(name.to_string(), kind.to_string()).is_some() {
                return Err(format!("{at}: bad or repeated family name"));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            if !name_ok(name) {
                return Err(format!("{at}: bad HELP name"));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').ok_or(format!("{at}: no value"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| format!("{at}: value is not a number"))?,
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                (name, parse_labels(rest.strip_suffix('}').ok_or(format!("{at}: unclosed labels"))?)?)
            }
            None => (series, Vec::new()),
        };
        if !name_ok(name) {
            return Err(format!("{at}: bad metric name"));
        }
        let family_type = |family: &str| types.get(family).map(String::as_str);
        let belongs = match family_type(name) {
            Some("counter" | "gauge" | "untyped") => true,
            _ => [("_bucket", true), ("_sum", false), ("_count", false)].iter().any(|(suffix, le)| {
                name.strip_suffix(suffix).is_some_and(|family| {
                    family_type(family) == Some("histogram") && labels.iter().any(|(k, _)| k == "le") == *le
                })
            }),
        };
        if !belongs {
            return Err(format!("{at}: sample of no declared family (TYPE must come first)"));
        }
        let mut keys: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        keys.sort();
        if samples.insert((name.to_string(), keys.join(",")), value).is_some() {
            return Err(format!("{at}: duplicate series"));
        }
    }
    Ok(samples)
}

/// `a="x",b="y\"z"` → pairs, unescaping `\\`, `\"`, `\n`.
fn parse_labels(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut labels = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").ok_or(format!("label without =\" in {text:?}"))?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => return Err(format!("bad escape in {text:?}")),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err(format!("unterminated label value in {text:?}")),
            }
        };
        labels.push((key.to_string(), value));
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Ok(labels)
}

fn telemetry_batch(ids: &[&str]) -> Vec<u8> {
    let input = json!({
        "clips": 1,
        "frames": 431,
        "log_mel": (0..128).map(|b| json!({"mean": -60.0 + f64::from(b) * 0.375, "std": 6.25})).collect::<Vec<_>>(),
        "level_db": {"mean": -31.5, "std": 0.0},
        "voiced_fraction": {"mean": 0.82, "std": 0.0},
        "tonic_hz": {"mean": 146.8, "std": 0.0},
        "seconds": {"mean": 10.0, "std": 0.0},
        "pitch_class_hist": (0..120).map(|i| f64::from(i % 12) / 660.0).collect::<Vec<_>>(),
    });
    let events: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "event_id": id, "model": "raga-detector", "version": "1", "backend": "cpu",
                "client_time_ms": 1_764_000_000_000_i64,
                "timings_ms": {"features": 81.2, "inference": 23.0, "total": 110.0},
                "top_label": "yaman", "confidence": 0.93, "input": input,
            })
        })
        .collect();
    json!({ "events": events }).to_string().into_bytes()
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = test_app().await;
    let m = "/api/2.0/mlflow";
    for _ in 0..2 {
        assert_eq!(app.send("GET", "/health", None).await.0, StatusCode::OK);
    }
    assert_eq!(
        app.json("GET", &format!("{m}/experiments/get?experiment_id=0"), None).await.0,
        StatusCode::OK
    );
    let (status, _) = app.json("GET", &format!("{m}/experiments/get?experiment_id=999"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.send("GET", "/no/such/page", None).await.0, StatusCode::NOT_FOUND);
    let file = "/api/2.0/mlflow-artifacts/artifacts/0/run/artifacts/weights.bin";
    let (status, _, _) = app.send("PUT", file, Some(("application/octet-stream", vec![7; 1000]))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, bytes) = app.send("GET", file, None).await;
    assert_eq!((status, bytes.len()), (StatusCode::OK, 1000));
    app.json("POST", &format!("{m}/registered-models/create"), Some(json!({"name": "raga-detector"}))).await;
    let source = json!({"name": "raga-detector", "source": "mlflow-artifacts:/0/x/artifacts/package"});
    assert_eq!(app.json("POST", &format!("{m}/model-versions/create"), Some(source)).await.0, StatusCode::OK);
    for _ in 0..2 {
        let batch = telemetry_batch(&["a", "b", "c"]);
        let (status, _, _) = app.send("POST", "/v1/telemetry", Some(("text/plain", batch))).await;
        assert_eq!(status, StatusCode::OK);
    }

    let samples = app.scrape().await;
    let requests = |method: &str, route: &str, status: &str| {
        sample(
            &samples,
            "ragasense_http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(requests("GET", "/health", "2xx"), Some(2.0));
    assert_eq!(requests("GET", "/api/2.0/mlflow/experiments/get", "2xx"), Some(1.0));
    assert_eq!(requests("GET", "/api/2.0/mlflow/experiments/get", "4xx"), Some(1.0));
    assert_eq!(requests("GET", "fallback", "4xx"), Some(1.0));
    assert_eq!(requests("PUT", "/api/2.0/mlflow-artifacts/artifacts/{*path}", "2xx"), Some(1.0));
    assert_eq!(requests("POST", "/v1/telemetry", "2xx"), Some(2.0));
    assert!(
        samples
            .keys()
            .all(|(_, labels)| !labels.contains("weights.bin") && !labels.contains("experiment_id")),
        "a raw URI in a label: {samples:?}"
    );

    let latency = "ragasense_http_request_duration_seconds";
    let health = [("method", "GET"), ("route", "/health")];
    assert_eq!(sample(&samples, &format!("{latency}_count"), &health), Some(2.0));
    assert!(sample(&samples, &format!("{latency}_sum"), &health).is_some_and(|s| s > 0.0));
    let buckets: Vec<f64> = ["0.001", "0.01", "0.1", "1.0", "10.0", "+Inf"]
        .iter()
        .map(|le| {
            sample(&samples, &format!("{latency}_bucket"), &[health[0], health[1], ("le", le)])
                .unwrap_or(-1.0)
        })
        .collect();
    assert!(buckets.windows(2).all(|w| 0.0 <= w[0] && w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last(), Some(&2.0));

    assert_eq!(sample(&samples, "ragasense_telemetry_events_accepted_total", &[]), Some(3.0));
    assert_eq!(sample(&samples, "ragasense_telemetry_events_duplicate_total", &[]), Some(3.0));
    assert_eq!(sample(&samples, "ragasense_artifact_bytes_total", &[("direction", "upload")]), Some(1000.0));
    assert_eq!(
        sample(&samples, "ragasense_artifact_bytes_total", &[("direction", "download")]),
        Some(1000.0)
    );
    // One writer on SQLite; on PostgreSQL as many as are busy (up to 8).
    assert!(
        sample(&samples, "ragasense_db_pool_connections", &[("pool", "write")]).is_some_and(|n| n >= 1.0)
    );
    assert!(sample(&samples, "ragasense_db_pool_connections", &[("pool", "read")]).is_some_and(|n| n >= 1.0));
    assert!(sample(&samples, "ragasense_db_pool_idle_connections", &[("pool", "read")]).is_some());
    assert!(sample(&samples, "process_start_time_seconds", &[]).is_some_and(|t| t > 1.7e9));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(sample(&samples, "ragasense_build_info", &[("version", version)]), Some(1.0));
}

#[tokio::test]
async fn each_app_has_its_own_metrics_and_others_can_add_theirs() {
    let (one, two) = (test_app().await, test_app().await);
    let hits = one.state.metrics.register_counter("model_cache_hits", "Model loads served from the cache");
    hits.expect("registered").inc_by(5);
    one.send("GET", "/health", None).await;
    let samples = two.scrape().await;
    let health = [("method", "GET"), ("route", "/health"), ("status", "2xx")];
    assert_eq!(sample(&samples, "ragasense_http_requests_total", &health), None);
    assert_eq!(sample(&samples, "ragasense_model_cache_hits_total", &[]), None);
    let samples = one.scrape().await;
    assert_eq!(sample(&samples, "ragasense_http_requests_total", &health), Some(1.0));
    assert_eq!(sample(&samples, "ragasense_model_cache_hits_total", &[]), Some(5.0));
}

#[tokio::test]
async fn health_is_mlflows_plain_ok() {
    let app = test_app().await;
    let (status, _, bytes) = app.send("GET", "/health", None).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, b"OK".as_slice()));
}

#[tokio::test]
async fn ready_when_store_and_artifacts_answer() {
    let app = test_app().await;
    let (status, v) = app.json("GET", "/ready", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"status": "ready", "checks": {"database": {"status": "ok"}, "artifacts": {"status": "ok"}}})
    );
}

#[tokio::test]
async fn not_ready_without_the_artifact_directory() {
    let app = test_app().await;
    std::fs::remove_dir_all(app.dir.path().join("artifacts")).expect("remove artifacts");
    let (status, v) = app.json("GET", "/ready", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["status"], "not ready");
    assert_eq!(v["checks"]["database"], json!({"status": "ok"}));
    assert_eq!(v["checks"]["artifacts"]["status"], "failing");
    assert_eq!(v["checks"]["artifacts"]["error"], "the artifact directory does not exist");
    // Liveness does not care.
    assert_eq!(app.send("GET", "/health", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn not_ready_when_the_database_pool_is_closed() {
    let app = test_app().await;
    app.state.db.read.close().await;
    let (status, v) = app.json("GET", "/ready", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(
        v["checks"]["database"],
        json!({"status": "failing", "error": "the read connection pool is closed"})
    );
    assert_eq!(v["checks"]["artifacts"], json!({"status": "ok"}));
}

#[test]
fn binary_logs_one_json_line_per_request() {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_registry-server"))
        .args(["--port", "0", "--log-format", "json", "--backend-store-uri"])
        .arg(format!("sqlite:///{}", dir.path().join("db.sqlite").display()))
        .arg("--artifacts-destination")
        .arg(dir.path().join("artifacts"))
        .env_remove("RAGASENSE_LOG")
        .env_remove("RAGASENSE_LOG_FORMAT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn registry-server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
    let addr = line.trim().strip_prefix("listening on http://").expect("listening line").to_string();
    for path in ["/ready", "/api/2.0/mlflow/experiments/get?experiment_id=42"] {
        let mut tcp = std::net::TcpStream::connect(&addr).expect("connect");
        write!(tcp, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("write");
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).expect("read answer");
        assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    }
    let status =
        std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    assert!(child.wait().expect("wait").success());

    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "registry_server::access").collect();
    assert_eq!(access.len(), 2, "{stderr}");
    let ready = access[0];
    assert_eq!(ready["level"], "INFO");
    assert_eq!(ready["message"], "request");
    assert_eq!(ready["status"], 200);
    assert!(ready["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{ready}");
    assert!(ready["timestamp"].as_str().is_some_and(|t| t.starts_with("20")), "{ready}");
    assert_eq!(ready["span"]["method"], "GET");
    assert_eq!(ready["span"]["route"], "/ready");
    let missing = access[1];
    assert_eq!(missing["status"], 404);
    assert_eq!(missing["span"]["route"], "/api/2.0/mlflow/experiments/get");
    assert!(lines.iter().any(|l| l["message"] == "registry server ready"), "{stderr}");
}

/// A writer that cannot get the store's write lock in time is told to retry (503), never
/// given a 500 — on SQLite (busy) and on PostgreSQL (SQLSTATE 55P03, lock timeout) alike.
#[tokio::test]
async fn a_write_lock_timeout_is_503_on_either_store() {
    use registry_server::db::{Backend, Db};
    use registry_server::error::Error;
    use sqlx::Executor;

    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::connect(&common::store(dir.path()).await).await.expect("open store");
    let holder = db.begin().await.expect("take the write lock");
    let err = match db.backend {
        Backend::Postgres => {
            let mut other = db.write.acquire().await.expect("second writer");
            other.execute("SET lock_timeout = '50ms'").await.expect("lock timeout");
            let err = sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(registry_server::db::POSTGRES_LOCK_KEY)
                .execute(&mut *other)
                .await
                .expect_err("lock held");
            other.execute("RESET lock_timeout").await.expect("reset");
            err
        }
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("mlruns.db").display());
            let mut other = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.expect("other");
            other.execute("PRAGMA busy_timeout = 50").await.expect("busy timeout");
            other.execute("BEGIN IMMEDIATE").await.expect_err("lock held")
        }
    };
    let err = Error::from(err);
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE, "{err:?}");
    assert!(err.to_string().contains("retry"), "{err}");
    drop(holder);
}
