//! `serving_telemetry`: browser telemetry ingest under load, and proof that nothing is lost
//! (run via `bench/serving/run.sh`).
//!
//! Starts the registry server on a fresh store (or uses `--url`), registers a model version,
//! then `--clients` concurrent clients post batches to `POST /v1/telemetry` for `--seconds`,
//! as the wasm runtime sends them: 1 to `--batch` events (at most 100), each with the clip's
//! statistics (128 mel bands, 120 histogram bins). One batch in `--retry-every` is sent twice,
//! as a browser does when an answer is lost, so duplicates are exercised too.
//!
//! Afterwards it pages through `GET /v1/telemetry` and checks that the stored events are
//! exactly the unique events sent: accepted = unique sent, duplicates = resent, stored =
//! accepted, every sent id stored once. Prints events/s accepted and request latencies, and
//! writes `--out` (default `target/bench/serving_telemetry.json`).
//!
//! ```text
//! serving_telemetry [--server BIN | --url URL] [--clients 8] [--seconds 15] [--batch 100]
//!                   [--retry-every 50] [--out FILE]
//! ```
//! `--server` defaults to `$RAGASENSE_SERVER_BIN`, else `$CARGO_TARGET_DIR/release/registry-server`.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const MODEL: &str = "bench-telemetry";
const N_MELS: usize = 128;
const HIST_BINS: usize = 120;
/// Distinct clip statistics the clients draw from (serialised once, so clients spend their
/// time sending, not formatting).
const VARIANTS: usize = 16;

#[derive(Debug, Clone)]
struct Options {
    server: Option<PathBuf>,
    url: Option<String>,
    clients: usize,
    seconds: f64,
    batch: usize,
    retry_every: u64,
    out: PathBuf,
}

impl Options {
    fn parse() -> Result<Self> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        let server = flag("--server")
            .or_else(|| std::env::var("RAGASENSE_SERVER_BIN").ok())
            .unwrap_or_else(|| format!("{target}/release/registry-server"));
        let options = Self {
            url: flag("--url"),
            server: Some(PathBuf::from(server)),
            clients: flag("--clients").unwrap_or_else(|| "8".into()).parse().context("--clients")?,
            seconds: flag("--seconds").unwrap_or_else(|| "15".into()).parse().context("--seconds")?,
            batch: flag("--batch").unwrap_or_else(|| "100".into()).parse().context("--batch")?,
            retry_every: flag("--retry-every")
                .unwrap_or_else(|| "50".into())
                .parse()
                .context("--retry-every")?,
            out: PathBuf::from(flag("--out").unwrap_or_else(|| "target/bench/serving_telemetry.json".into())),
        };
        ensure!((1..=100).contains(&options.batch), "--batch must be 1 to 100 (the server's limit)");
        ensure!(options.clients >= 1 && options.seconds > 0.0, "--clients and --seconds must be positive");
        Ok(options)
    }
}

/// A server this run started: killed (and its store removed) when dropped.
struct Spawned {
    child: Child,
    dir: PathBuf,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn_server(bin: &Path) -> Result<(Spawned, String)> {
    let dir = std::env::temp_dir().join(format!("ragasense-bench-telemetry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let log = std::fs::File::create(dir.join("server.log")).context("creating the server log")?;
    let mut child = Command::new(bin)
        .args(["--port", "0", "--backend-store-uri"])
        .arg(format!("sqlite:///{}", dir.join("mlruns.db").display()))
        .arg("--artifacts-destination")
        .arg(dir.join("artifacts"))
        // All clients share one address: the per-key rate limit would measure itself.
        .args(["--telemetry-rate-limit", "0"])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .with_context(|| {
            format!("starting {} (build it: cargo build --release -p registry-server)", bin.display())
        })?;
    let stdout = child.stdout.take().context("server stdout")?;
    let spawned = Spawned { child, dir };
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line).context("reading the server's first line")?;
    let url = line.trim().strip_prefix("listening on ").context("the server did not say where it listens")?;
    Ok((spawned, url.to_string()))
}

/// Clip statistics as the runtime sends them, varied by `k`.
fn clip_stats(k: usize) -> Value {
    let shift = k as f64 * 0.7;
    json!({
        "clips": 1,
        "frames": 431 + k,
        "log_mel": (0..N_MELS)
            .map(|b| json!({"mean": -62.0 + b as f64 * 0.375 + shift, "std": 5.5 + (b % 7) as f64 * 0.25}))
            .collect::<Vec<_>>(),
        "level_db": {"mean": -31.5 + shift, "std": 0.0},
        "voiced_fraction": {"mean": 0.82, "std": 0.0},
        "tonic_hz": {"mean": 130.0 + 2.0 * k as f64, "std": 0.0},
        "seconds": {"mean": 10.0, "std": 0.0},
        "pitch_class_hist": (0..HIST_BINS)
            .map(|i| ((i + k) % 12) as f64 / 660.0)
            .collect::<Vec<_>>(),
    })
}

/// One client's stream of batches: event ids `<run>-<client>-<seq>`, sizes drawn from a
/// fixed xorshift sequence, so a run is reproducible.
struct BatchMaker {
    prefix: String,
    seq: u64,
    rng: u64,
    max: usize,
    stats: Arc<Vec<String>>,
}

impl BatchMaker {
    /// The next batch: its body and its event ids.
    fn next(&mut self) -> (String, Vec<String>) {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let n = 1 + (self.rng % self.max as u64) as usize;
        let mut body = String::with_capacity(n * 5200 + 16);
        let mut ids = Vec::with_capacity(n);
        body.push_str("{\"events\":[");
        for i in 0..n {
            self.seq += 1;
            let id = format!("{}-{}", self.prefix, self.seq);
            let k = (self.seq as usize) % VARIANTS;
            let (label, confidence) = [("yaman", 0.91), ("bhairav", 0.77), ("kalyani", 0.64)][k % 3];
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!(
                "{{\"event_id\":\"{id}\",\"model\":\"{MODEL}\",\"version\":\"1\",\"backend\":\"{}\",\
                 \"client_time_ms\":{},\"timings_ms\":{{\"features\":{:.1},\"inference\":{:.1},\"total\":{:.1}}},\
                 \"top_label\":\"{label}\",\"confidence\":{confidence},\"tradition\":\"hindustani\",\
                 \"tonic_hz\":{:.1},\"input\":{},\"runtime\":{{\"package_version\":\"0.1.0\",\
                 \"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) Chrome/139.0\"}}}}",
                if k.is_multiple_of(4) { "cpu" } else { "webgpu" },
                1_764_000_000_000_u64 + self.seq,
                80.0 + k as f64,
                20.0 + k as f64 / 2.0,
                110.0 + k as f64 * 1.5,
                130.0 + 2.0 * k as f64,
                self.stats[k],
            ));
            ids.push(id);
        }
        body.push_str("]}");
        (body, ids)
    }
}

#[derive(Debug, Default)]
struct ClientTally {
    batches: u64,
    events_sent: u64,
    resent_events: u64,
    accepted: u64,
    duplicates: u64,
    failed_requests: u64,
    latencies_ms: Vec<f64>,
    ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct IngestAnswer {
    accepted: u64,
    duplicates: u64,
}

async fn post(client: &reqwest::Client, url: &str, body: String) -> Result<IngestAnswer> {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .context("POST /v1/telemetry")?;
    let status = resp.status();
    if !status.is_success() {
        bail!("POST /v1/telemetry answered {status}: {}", resp.text().await.unwrap_or_default());
    }
    resp.json().await.context("reading the ingest answer")
}

async fn run_client(
    client: reqwest::Client,
    url: String,
    mut maker: BatchMaker,
    retry_every: u64,
    deadline: Instant,
) -> ClientTally {
    let mut tally = ClientTally::default();
    while Instant::now() < deadline {
        let (body, ids) = maker.next();
        let resend = retry_every > 0 && (tally.batches + 1).is_multiple_of(retry_every);
        let copy = resend.then(|| body.clone());
        let started = Instant::now();
        match post(&client, &url, body).await {
            Ok(answer) => {
                tally.latencies_ms.push(started.elapsed().as_secs_f64() * 1000.0);
                tally.accepted += answer.accepted;
                tally.duplicates += answer.duplicates;
            }
            Err(err) => {
                eprintln!("bench: {err:#}");
                tally.failed_requests += 1;
            }
        }
        tally.batches += 1;
        tally.events_sent += ids.len() as u64;
        if let Some(copy) = copy {
            match post(&client, &url, copy).await {
                Ok(answer) => {
                    tally.accepted += answer.accepted;
                    tally.duplicates += answer.duplicates;
                    tally.resent_events += ids.len() as u64;
                }
                Err(err) => {
                    eprintln!("bench: resend: {err:#}");
                    tally.failed_requests += 1;
                }
            }
        }
        tally.ids.extend(ids);
    }
    tally
}

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    events: Vec<StoredId>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StoredId {
    event_id: String,
}

/// Every stored event id of the model, by paging `GET /v1/telemetry`.
async fn stored_ids(client: &reqwest::Client, base: &str) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req =
            client.get(format!("{base}/v1/telemetry")).query(&[("model", MODEL), ("max_results", "1000")]);
        if let Some(t) = &token {
            req = req.query(&[("page_token", t)]);
        }
        let resp = req.send().await.context("GET /v1/telemetry")?;
        ensure!(resp.status().is_success(), "GET /v1/telemetry answered {}", resp.status());
        let page: Page = resp.json().await.context("reading a telemetry page")?;
        ids.extend(page.events.into_iter().map(|e| e.event_id));
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => return Ok(ids),
        }
    }
}

async fn register_model(client: &reqwest::Client, base: &str) -> Result<()> {
    let api = format!("{base}/api/2.0/mlflow");
    let resp =
        client.post(format!("{api}/registered-models/create")).json(&json!({"name": MODEL})).send().await?;
    // Already there (a reused --url server) is fine.
    if !resp.status().is_success() && resp.status() != reqwest::StatusCode::BAD_REQUEST {
        bail!("registered-models/create answered {}", resp.status());
    }
    let resp = client
        .post(format!("{api}/model-versions/create"))
        .json(&json!({"name": MODEL, "source": "mlflow-artifacts:/0/bench/artifacts/package"}))
        .send()
        .await?;
    ensure!(resp.status().is_success(), "model-versions/create answered {}", resp.status());
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[derive(Debug, Serialize)]
struct Report {
    clients: usize,
    seconds: f64,
    max_batch: usize,
    batches: u64,
    events_sent: u64,
    resent_events: u64,
    accepted: u64,
    duplicates: u64,
    stored: u64,
    lost: u64,
    failed_requests: u64,
    events_per_s: f64,
    batches_per_s: f64,
    batch_ms_p50: f64,
    batch_ms_p99: f64,
    batch_ms_max: f64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let options = Options::parse()?;
    let (spawned, base) = match &options.url {
        Some(url) => (None, url.trim_end_matches('/').to_string()),
        None => {
            let bin = options.server.clone().context("no server binary")?;
            let (spawned, url) = spawn_server(&bin)?;
            eprintln!("bench: {} at {url}", bin.display());
            (Some(spawned), url)
        }
    };
    let client = reqwest::Client::builder().pool_max_idle_per_host(options.clients).build()?;
    register_model(&client, &base).await.context("registering the model version")?;

    let stats: Arc<Vec<String>> = Arc::new((0..VARIANTS).map(|k| clip_stats(k).to_string()).collect());
    // Ids unique to this run, so a reused `--url` server's earlier events are told apart.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let run = format!("r{:x}", nanos as u64 ^ u64::from(std::process::id()));
    let url = format!("{base}/v1/telemetry");
    eprintln!(
        "bench: {} clients posting batches of 1..={} events for {} s …",
        options.clients, options.batch, options.seconds
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(options.seconds);
    let tasks: Vec<_> = (0..options.clients)
        .map(|c| {
            let maker = BatchMaker {
                prefix: format!("{run}-{c}"),
                seq: 0,
                rng: 0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1),
                max: options.batch,
                stats: stats.clone(),
            };
            tokio::spawn(run_client(client.clone(), url.clone(), maker, options.retry_every, deadline))
        })
        .collect();
    let mut tally = ClientTally::default();
    for task in tasks {
        let t = task.await.context("a client task failed")?;
        tally.batches += t.batches;
        tally.events_sent += t.events_sent;
        tally.resent_events += t.resent_events;
        tally.accepted += t.accepted;
        tally.duplicates += t.duplicates;
        tally.failed_requests += t.failed_requests;
        tally.latencies_ms.extend(t.latencies_ms);
        tally.ids.extend(t.ids);
    }
    let elapsed = started.elapsed().as_secs_f64();

    eprintln!("bench: reading the stored events back …");
    let mine = format!("{run}-");
    let stored: Vec<String> =
        stored_ids(&client, &base).await?.into_iter().filter(|id| id.starts_with(&mine)).collect();
    let stored_set: HashSet<&str> = stored.iter().map(String::as_str).collect();
    let lost = tally.ids.iter().filter(|id| !stored_set.contains(id.as_str())).count() as u64;
    drop(spawned);

    tally.latencies_ms.sort_by(f64::total_cmp);
    let report = Report {
        clients: options.clients,
        seconds: elapsed,
        max_batch: options.batch,
        batches: tally.batches,
        events_sent: tally.events_sent,
        resent_events: tally.resent_events,
        accepted: tally.accepted,
        duplicates: tally.duplicates,
        stored: stored.len() as u64,
        lost,
        failed_requests: tally.failed_requests,
        events_per_s: tally.accepted as f64 / elapsed,
        batches_per_s: tally.batches as f64 / elapsed,
        batch_ms_p50: percentile(&tally.latencies_ms, 0.5),
        batch_ms_p99: percentile(&tally.latencies_ms, 0.99),
        batch_ms_max: tally.latencies_ms.last().copied().unwrap_or(f64::NAN),
    };
    println!(
        "telemetry ingest: {:.0} events/s accepted ({} batches/s), {} clients, batches of 1..={}; \
         batch latency p50 {:.1} ms, p99 {:.1} ms",
        report.events_per_s,
        report.batches_per_s.round(),
        report.clients,
        report.max_batch,
        report.batch_ms_p50,
        report.batch_ms_p99
    );
    println!(
        "sent {} events (+{} resent), accepted {}, duplicates {}, stored {}, lost {}, failed requests {}",
        report.events_sent,
        report.resent_events,
        report.accepted,
        report.duplicates,
        report.stored,
        report.lost,
        report.failed_requests
    );
    if let Some(parent) = options.out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&options.out, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", options.out.display()))?;
    eprintln!("bench: wrote {}", options.out.display());

    let unique_stored = stored_set.len() as u64;
    ensure!(report.failed_requests == 0, "{} requests failed", report.failed_requests);
    ensure!(lost == 0, "{lost} accepted events are not stored");
    ensure!(unique_stored == report.stored, "an event is stored twice");
    ensure!(
        report.accepted == report.events_sent && report.stored == report.accepted,
        "accepted {} / sent {} / stored {} differ",
        report.accepted,
        report.events_sent,
        report.stored
    );
    ensure!(
        report.duplicates == report.resent_events,
        "duplicates {} != resent {}",
        report.duplicates,
        report.resent_events
    );
    println!("0 lost: every accepted event is stored exactly once");
    Ok(())
}
