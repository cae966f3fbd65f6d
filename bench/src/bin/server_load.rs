//! `server_load`: many concurrent writers logging through the MLflow REST API, then proof
//! that every acknowledged write is stored exactly (run via `bench/load/run.sh`).
//!
//! Starts the registry server on a fresh store (`--replicas N`: N servers sharing it, each
//! request going to the next in turn; or uses `--url`, a comma-separated list of servers of one
//! store), creates an experiment and
//! one run per writer, then `--writers` concurrent clients log for `--seconds` as training
//! scripts do: `runs/log-batch` (`--batch` metrics over five keys, with a param and tags every
//! fourth batch), `runs/log-metric`, `runs/log-parameter` and `runs/set-tag`. Values are
//! drawn from every kind of double (random bit patterns, subnormals, ±0, the largest finite,
//! NaN); each point has its own step and timestamp. `--readers` clients (none by default)
//! search the runs and read histories meanwhile, as the dashboard does.
//!
//! Afterwards it reads every run's metric histories (paged) and params and tags back and
//! checks that every acknowledged point is stored once with the same value (bit for bit),
//! step and timestamp. Prints writes/s, acknowledged, stored, lost, 5xx and latencies, writes
//! `--out` (default `target/bench/load.json`), and fails on any loss, mismatch, 5xx or
//! failed request.
//!
//! ```text
//! server_load [--server BIN [--replicas 1] [--backend-store-uri URI] | --url URL[,URL…]] [--writers 64] [--seconds 60]
//!             [--batch 20] [--readers 0] [--out FILE]
//! ```
//! `--server` defaults to `$RAGASENSE_SERVER_BIN`, else `$CARGO_TARGET_DIR/release/registry-server`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use raga_bench::server::{self, Server, Store};
use raga_bench::{Flags, XorShift, percentile, write_json};
use serde::Serialize;
use serde_json::{Value, json};

const USAGE: &str = "server_load [--server BIN [--replicas 1] [--backend-store-uri URI] | --url URL[,URL…]] [--writers 64] [--seconds 60] \
                     [--batch 20] [--readers 0] [--out FILE]";
/// The keys `log-batch` spreads its metrics over.
const BATCH_KEYS: [&str; 5] = ["loss", "accuracy", "lr", "grad_norm", "val/loss"];
/// The key of single `log-metric` calls.
const SINGLE_KEY: &str = "throughput";

#[derive(Debug)]
struct Options {
    server: std::path::PathBuf,
    url: Option<String>,
    replicas: usize,
    backend_store_uri: Option<String>,
    writers: usize,
    seconds: f64,
    batch: usize,
    readers: usize,
    out: std::path::PathBuf,
}

fn options() -> Result<Options> {
    let flags = Flags::parse(
        &[
            "--server",
            "--url",
            "--replicas",
            "--backend-store-uri",
            "--writers",
            "--seconds",
            "--batch",
            "--readers",
            "--out",
        ],
        USAGE,
    )?;
    let o = Options {
        server: server::binary(flags.get("--server")),
        url: flags.get("--url"),
        replicas: flags.parse_or("--replicas", 1)?,
        backend_store_uri: flags.get("--backend-store-uri"),
        writers: flags.parse_or("--writers", 64)?,
        seconds: flags.parse_or("--seconds", 60.0)?,
        batch: flags.parse_or("--batch", 20)?,
        readers: flags.parse_or("--readers", 0)?,
        out: flags.get("--out").unwrap_or_else(|| "target/bench/load.json".into()).into(),
    };
    ensure!(o.writers >= 1 && o.seconds > 0.0, "--writers and --seconds must be positive");
    ensure!((1..=16).contains(&o.replicas), "--replicas must be 1 to 16");
    ensure!((1..=1000).contains(&o.batch), "--batch must be 1 to 1000 (MLflow's limit)");
    Ok(o)
}

/// The API roots of the servers under test; each [`Apis::next`] is the next one in turn,
/// as a round-robin load balancer would send it.
#[derive(Debug, Clone)]
struct Apis {
    roots: Arc<[Arc<str>]>,
    turn: Arc<std::sync::atomic::AtomicUsize>,
}

impl Apis {
    fn new(bases: &[String]) -> Self {
        let roots =
            bases.iter().map(|b| Arc::from(format!("{}/api/2.0/mlflow", b.trim_end_matches('/')))).collect();
        Self { roots, turn: Arc::default() }
    }

    fn next(&self) -> Arc<str> {
        let i = self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.roots[i % self.roots.len()].clone()
    }
}

/// One logged metric point.
#[derive(Debug, Clone, Copy)]
struct Point {
    key: &'static str,
    step: i64,
    timestamp: i64,
    value: f64,
}

impl Point {
    fn json(&self) -> Value {
        json!({"key": self.key, "value": value_json(self.value), "timestamp": self.timestamp, "step": self.step})
    }
}

/// A double as MLflow's JSON carries it: NaN as a string.
fn value_json(v: f64) -> Value {
    if v.is_nan() { json!("NaN") } else { json!(v) }
}

fn value_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s == "NaN" => Some(f64::NAN),
        _ => None,
    }
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Doubles that break naive storage: ±0, subnormals, extremes, NaN, and random bit patterns.
fn draw_value(rng: &mut XorShift) -> f64 {
    const EDGES: [f64; 9] =
        [0.0, -0.0, 5e-324, 2.225_073_858_507_201e-308, f64::MAX, f64::MIN, 1e-300, 0.1, -123_456_789.0];
    match rng.below(64) {
        0 => f64::NAN,
        1 => EDGES[rng.below(EDGES.len() as u64) as usize],
        2..=15 => {
            let v = f64::from_bits(rng.next_u64());
            if v.is_finite() { v } else { 1.5 }
        }
        _ => (rng.below(1 << 40) as f64) / (1u64 << 30) as f64 - 512.0,
    }
}

#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    /// Per route: latencies in ms of answered requests.
    latencies: HashMap<&'static str, Vec<f64>>,
    server_errors: u64,
    client_errors: u64,
    transport_errors: u64,
    first_errors: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        for (k, v) in other.latencies {
            self.latencies.entry(k).or_default().extend(v);
        }
        self.server_errors += other.server_errors;
        self.client_errors += other.client_errors;
        self.transport_errors += other.transport_errors;
        for e in other.first_errors {
            if self.first_errors.len() < 10 {
                self.first_errors.push(e);
            }
        }
    }

    fn failed(&mut self, what: String) {
        eprintln!("bench: {what}");
        if self.first_errors.len() < 10 {
            self.first_errors.push(what);
        }
    }

    /// Sends one request; true when it was acknowledged (2xx).
    async fn send(&mut self, route: &'static str, req: reqwest::RequestBuilder) -> bool {
        self.requests += 1;
        let started = Instant::now();
        match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let body = resp.text().await.unwrap_or_default();
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                if status.is_success() {
                    self.latencies.entry(route).or_default().push(ms);
                    return true;
                }
                if status.is_server_error() {
                    self.server_errors += 1;
                } else {
                    self.client_errors += 1;
                }
                self.failed(format!(
                    "{route} answered {status}: {}",
                    body.chars().take(300).collect::<String>()
                ));
                false
            }
            Err(err) => {
                self.transport_errors += 1;
                self.failed(format!("{route}: {err}"));
                false
            }
        }
    }
}

/// What one writer logged.
#[derive(Debug, Default)]
struct Logged {
    run_id: String,
    acked: Vec<Point>,
    /// Sent but not acknowledged: may or may not be stored.
    uncertain: Vec<Point>,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    tally: Tally,
}

async fn writer(
    client: reqwest::Client,
    apis: Apis,
    run_id: String,
    index: usize,
    batch: usize,
    deadline: Instant,
) -> Logged {
    let mut rng = XorShift::new(index as u64 + 1);
    let mut out = Logged { run_id: run_id.clone(), ..Logged::default() };
    let base_ts = 1_764_000_000_000 + index as i64 * 1_000_000_000;
    let mut seq = 0i64;
    let mut next_point = |rng: &mut XorShift, key: &'static str| {
        seq += 1;
        Point { key, step: seq, timestamp: base_ts + seq * 7, value: draw_value(rng) }
    };
    let mut i = 0u64;
    while Instant::now() < deadline {
        i += 1;
        let api = apis.next();
        match i % 8 {
            0 | 2 | 4 | 6 => {
                let points: Vec<Point> =
                    (0..batch).map(|j| next_point(&mut rng, BATCH_KEYS[j % BATCH_KEYS.len()])).collect();
                let mut params = Vec::new();
                let mut tags = Vec::new();
                if i.is_multiple_of(8) {
                    params.push((format!("p{i}"), format!("value-{}", rng.next_u64())));
                    tags.push((format!("t{i}"), format!("tag-{}", rng.next_u64())));
                    tags.push(("phase".to_string(), i.to_string()));
                }
                let kv = |items: &[(String, String)]| {
                    items.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>()
                };
                let body = json!({
                    "run_id": run_id,
                    "metrics": points.iter().map(Point::json).collect::<Vec<_>>(),
                    "params": kv(&params),
                    "tags": kv(&tags),
                });
                let req = client.post(format!("{api}/runs/log-batch")).json(&body);
                if out.tally.send("runs/log-batch", req).await {
                    out.acked.extend(points);
                    out.params.extend(params);
                    out.tags.extend(tags.into_iter().filter(|(k, _)| k != "phase"));
                } else {
                    out.uncertain.extend(points);
                }
            }
            7 if i % 16 == 7 => {
                let (k, v) = (format!("single-p{i}"), format!("{}", rng.next_u64()));
                let req = client
                    .post(format!("{api}/runs/log-parameter"))
                    .json(&json!({"run_id": run_id, "key": k, "value": v}));
                if out.tally.send("runs/log-parameter", req).await {
                    out.params.push((k, v));
                }
            }
            7 => {
                let (k, v) = (format!("single-t{i}"), format!("{}", rng.next_u64()));
                let req = client
                    .post(format!("{api}/runs/set-tag"))
                    .json(&json!({"run_id": run_id, "key": k, "value": v}));
                if out.tally.send("runs/set-tag", req).await {
                    out.tags.push((k, v));
                }
            }
            _ => {
                let p = next_point(&mut rng, SINGLE_KEY);
                let mut body = p.json();
                body["run_id"] = json!(run_id);
                let req = client.post(format!("{api}/runs/log-metric")).json(&body);
                if out.tally.send("runs/log-metric", req).await {
                    out.acked.push(p);
                } else {
                    out.uncertain.push(p);
                }
            }
        }
    }
    out
}

/// Searches and history reads while the writers run.
async fn reader(
    client: reqwest::Client,
    apis: Apis,
    experiment: String,
    runs: Arc<Vec<String>>,
    index: usize,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut rng = XorShift::new(1000 + index as u64);
    while Instant::now() < deadline {
        let req = client.post(format!("{}/runs/search", apis.next())).json(&json!({
            "experiment_ids": [experiment], "max_results": 50, "order_by": ["metrics.loss DESC"],
        }));
        tally.send("runs/search", req).await;
        let run = &runs[rng.below(runs.len() as u64) as usize];
        let req = client.get(format!("{}/metrics/get-history", apis.next())).query(&[
            ("run_id", run.as_str()),
            ("metric_key", "loss"),
            ("max_results", "200"),
        ]);
        tally.send("metrics/get-history", req).await;
    }
    tally
}

async fn post_json(client: &reqwest::Client, url: &str, body: Value) -> Result<Value> {
    let resp = client.post(url).json(&body).send().await.with_context(|| format!("POST {url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    ensure!(status.is_success(), "POST {url} answered {status}: {text}");
    serde_json::from_str(&text).with_context(|| format!("reading the answer of {url}"))
}

async fn get_json(client: &reqwest::Client, url: &str, query: &[(&str, &str)]) -> Result<Value> {
    let resp = client.get(url).query(query).send().await.with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    ensure!(status.is_success(), "GET {url} answered {status}: {text}");
    serde_json::from_str(&text).with_context(|| format!("reading the answer of {url}"))
}

/// Every stored point of one metric of a run, following page tokens.
async fn history(client: &reqwest::Client, api: &str, run_id: &str, key: &str) -> Result<Vec<Point>> {
    let key_static: &'static str =
        BATCH_KEYS.iter().chain([&SINGLE_KEY]).find(|k| **k == key).copied().context("unknown key")?;
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let mut query = vec![("run_id", run_id), ("metric_key", key), ("max_results", "25000")];
        if !token.is_empty() {
            query.push(("page_token", token.as_str()));
        }
        let page = get_json(client, &format!("{api}/metrics/get-history"), &query).await?;
        for m in page["metrics"].as_array().map(Vec::as_slice).unwrap_or_default() {
            out.push(Point {
                key: key_static,
                step: m["step"].as_i64().context("a metric without step")?,
                timestamp: m["timestamp"].as_i64().context("a metric without timestamp")?,
                value: value_of(&m["value"]).with_context(|| format!("a metric value {}", m["value"]))?,
            });
        }
        match page["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => return Ok(out),
        }
    }
}

#[derive(Debug, Default, Serialize)]
struct Check {
    acknowledged: u64,
    stored: u64,
    lost: u64,
    wrong_value: u64,
    stored_twice: u64,
    unexpected: u64,
    uncertain_stored: u64,
    params_acknowledged: u64,
    params_lost: u64,
    tags_acknowledged: u64,
    tags_lost: u64,
}

/// Compares what one writer had acknowledged with what the server returns.
async fn check_run(client: reqwest::Client, apis: Apis, logged: Arc<Logged>) -> Result<Check> {
    let api = apis.next();
    let mut check = Check {
        acknowledged: logged.acked.len() as u64,
        params_acknowledged: logged.params.len() as u64,
        tags_acknowledged: logged.tags.len() as u64,
        ..Check::default()
    };
    let ident = |p: &Point| (p.key, p.step, p.timestamp);
    let mut stored: HashMap<(&str, i64, i64), Vec<f64>> = HashMap::new();
    for key in BATCH_KEYS.iter().chain([&SINGLE_KEY]) {
        for p in history(&client, &api, &logged.run_id, key).await? {
            check.stored += 1;
            stored.entry(ident(&p)).or_default().push(p.value);
        }
    }
    for p in &logged.acked {
        match stored.remove(&ident(p)) {
            None => check.lost += 1,
            Some(values) => {
                if values.len() > 1 {
                    check.stored_twice += 1;
                }
                if !values.iter().all(|v| same_value(*v, p.value)) {
                    check.wrong_value += 1;
                    if check.wrong_value <= 3 {
                        eprintln!(
                            "bench: run {} {} step {}: sent {:?}, stored {values:?}",
                            logged.run_id, p.key, p.step, p.value
                        );
                    }
                }
            }
        }
    }
    for p in &logged.uncertain {
        if stored.remove(&ident(p)).is_some() {
            check.uncertain_stored += 1;
        }
    }
    check.unexpected = stored.len() as u64;

    let run = get_json(&client, &format!("{api}/runs/get"), &[("run_id", &logged.run_id)]).await?;
    let pairs = |field: &str| -> HashMap<String, String> {
        run["run"]["data"][field]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|kv| Some((kv["key"].as_str()?.to_string(), kv["value"].as_str()?.to_string())))
            .collect()
    };
    let (params, tags) = (pairs("params"), pairs("tags"));
    check.params_lost = logged.params.iter().filter(|(k, v)| params.get(k) != Some(v)).count() as u64;
    check.tags_lost = logged.tags.iter().filter(|(k, v)| tags.get(k) != Some(v)).count() as u64;
    Ok(check)
}

#[derive(Debug, Serialize)]
struct Report {
    replicas: usize,
    /// "sqlite", "postgresql", or "given" (servers started elsewhere, `--url`).
    backend: String,
    writers: usize,
    readers: usize,
    seconds: f64,
    batch: usize,
    write_requests: u64,
    write_requests_per_s: f64,
    points_per_s: f64,
    #[serde(flatten)]
    check: Check,
    server_errors_5xx: u64,
    client_errors_4xx: u64,
    transport_errors: u64,
    reader_requests: u64,
    latency_ms: HashMap<String, [f64; 3]>,
    write_ms_p50: f64,
    write_ms_p99: f64,
    write_ms_max: f64,
    first_errors: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = options()?;
    let tmp = std::env::temp_dir().join(format!("ragasense-bench-load-{}", std::process::id()));
    let (spawned, bases): (Vec<Server>, Vec<String>) = match &o.url {
        Some(urls) => (Vec::new(), urls.split(',').map(|u| u.trim().to_string()).collect()),
        None => {
            let _ = std::fs::remove_dir_all(&tmp);
            let store = Store { backend_uri: o.backend_store_uri.clone(), ..Store::in_dir(&tmp)? };
            let mut servers = Vec::new();
            for _ in 0..o.replicas {
                let s = Server::start(&o.server, &store)?;
                eprintln!("bench: {} at {} (store {})", o.server.display(), s.url, tmp.display());
                servers.push(s);
            }
            let urls = servers.iter().map(|s| s.url.clone()).collect();
            (servers, urls)
        }
    };
    let apis = Apis::new(&bases);
    let api = apis.next();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.writers + o.readers)
        .timeout(Duration::from_secs(120))
        .build()?;

    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let experiment = post_json(
        &client,
        &format!("{api}/experiments/create"),
        json!({"name": format!("load-{:x}", nanos as u64)}),
    )
    .await?["experiment_id"]
        .as_str()
        .context("experiments/create gave no id")?
        .to_string();
    let mut runs = Vec::with_capacity(o.writers);
    for w in 0..o.writers {
        let run = post_json(
            &client,
            &format!("{api}/runs/create"),
            json!({"experiment_id": experiment, "run_name": format!("writer-{w}"), "start_time": 1_764_000_000_000_i64}),
        )
        .await?;
        runs.push(run["run"]["info"]["run_id"].as_str().context("runs/create gave no id")?.to_string());
    }
    let runs = Arc::new(runs);

    eprintln!(
        "bench: {} writers (log-batch of {} metrics, log-metric, log-parameter, set-tag) and {} readers for {} s …",
        o.writers, o.batch, o.readers, o.seconds
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(o.seconds);
    let writers: Vec<_> = (0..o.writers)
        .map(|w| tokio::spawn(writer(client.clone(), apis.clone(), runs[w].clone(), w, o.batch, deadline)))
        .collect();
    let readers: Vec<_> = (0..o.readers)
        .map(|r| {
            tokio::spawn(reader(client.clone(), apis.clone(), experiment.clone(), runs.clone(), r, deadline))
        })
        .collect();
    let mut logged = Vec::with_capacity(o.writers);
    for w in writers {
        logged.push(w.await.context("a writer task failed")?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut writes = Tally::default();
    for l in &mut logged {
        writes.merge(std::mem::take(&mut l.tally));
    }
    let mut reads = Tally::default();
    for r in readers {
        reads.merge(r.await.context("a reader task failed")?);
    }

    eprintln!("bench: reading every run's metrics, params and tags back …");
    let checks: Vec<_> = logged
        .into_iter()
        .map(|l| tokio::spawn(check_run(client.clone(), apis.clone(), Arc::new(l))))
        .collect();
    let mut check = Check::default();
    for c in checks {
        let c = c.await.context("a check task failed")??;
        check.acknowledged += c.acknowledged;
        check.stored += c.stored;
        check.lost += c.lost;
        check.wrong_value += c.wrong_value;
        check.stored_twice += c.stored_twice;
        check.unexpected += c.unexpected;
        check.uncertain_stored += c.uncertain_stored;
        check.params_acknowledged += c.params_acknowledged;
        check.params_lost += c.params_lost;
        check.tags_acknowledged += c.tags_acknowledged;
        check.tags_lost += c.tags_lost;
    }
    drop(spawned);
    if o.url.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }

    let mut all: Vec<f64> = writes.latencies.values().flatten().copied().collect();
    all.sort_by(f64::total_cmp);
    let mut latency_ms = HashMap::new();
    for (route, v) in writes.latencies.iter_mut().chain(reads.latencies.iter_mut()) {
        v.sort_by(f64::total_cmp);
        latency_ms.insert(route.to_string(), [percentile(v, 0.5), percentile(v, 0.99), v.len() as f64]);
    }
    let mut first_errors = writes.first_errors.clone();
    first_errors.extend(reads.first_errors.iter().cloned());
    let backend = match (&o.url, &o.backend_store_uri) {
        (Some(_), _) => "given".to_string(),
        (None, Some(uri)) if uri.starts_with("postgres") => "postgresql".to_string(),
        (None, _) => "sqlite".to_string(),
    };
    let report = Report {
        replicas: bases.len(),
        backend,
        writers: o.writers,
        readers: o.readers,
        seconds: elapsed,
        batch: o.batch,
        write_requests: writes.requests,
        write_requests_per_s: writes.requests as f64 / elapsed,
        points_per_s: check.acknowledged as f64 / elapsed,
        server_errors_5xx: writes.server_errors + reads.server_errors,
        client_errors_4xx: writes.client_errors + reads.client_errors,
        transport_errors: writes.transport_errors + reads.transport_errors,
        reader_requests: reads.requests,
        write_ms_p50: percentile(&all, 0.5),
        write_ms_p99: percentile(&all, 0.99),
        write_ms_max: all.last().copied().unwrap_or(f64::NAN),
        latency_ms,
        first_errors,
        check,
    };
    let c = &report.check;
    println!(
        "load: {} replica(s) on {}, {} writers + {} readers, {:.1} s: {:.0} writes/s ({} write requests), {:.0} metric points/s; \
         write latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        report.replicas,
        report.backend,
        report.writers,
        report.readers,
        report.seconds,
        report.write_requests_per_s,
        report.write_requests,
        report.points_per_s,
        report.write_ms_p50,
        report.write_ms_p99,
        report.write_ms_max
    );
    let mut routes: Vec<_> = report.latency_ms.iter().collect();
    routes.sort_by(|a, b| a.0.cmp(b.0));
    for (route, [p50, p99, n]) in routes {
        println!("  {route:<22} {n:>8} requests, p50 {p50:.1} ms, p99 {p99:.1} ms");
    }
    println!(
        "metric points: acknowledged {}, stored {}, lost {}, wrong value {}, stored twice {}, unexpected {}; \
         params acknowledged {} lost {}; tags acknowledged {} lost {}",
        c.acknowledged,
        c.stored,
        c.lost,
        c.wrong_value,
        c.stored_twice,
        c.unexpected,
        c.params_acknowledged,
        c.params_lost,
        c.tags_acknowledged,
        c.tags_lost
    );
    println!(
        "5xx: {}, 4xx: {}, transport errors: {} (of {} write and {} read requests)",
        report.server_errors_5xx,
        report.client_errors_4xx,
        report.transport_errors,
        report.write_requests,
        report.reader_requests
    );
    write_json(&o.out, &report)?;
    eprintln!("bench: wrote {}", o.out.display());

    let failed = report.client_errors_4xx + report.transport_errors;
    let mut problems = Vec::new();
    if c.lost + c.params_lost + c.tags_lost > 0 {
        problems.push(format!("{} acknowledged writes lost", c.lost + c.params_lost + c.tags_lost));
    }
    if c.wrong_value + c.stored_twice + c.unexpected > 0 {
        problems.push(format!(
            "{} points stored with another value, {} twice, {} never sent",
            c.wrong_value, c.stored_twice, c.unexpected
        ));
    }
    if report.server_errors_5xx > 0 {
        problems.push(format!("{} answers were 5xx", report.server_errors_5xx));
    }
    if failed > 0 {
        problems.push(format!("{failed} requests failed"));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    println!("0 lost, 0 5xx: every acknowledged point, param and tag is stored with its value");
    Ok(())
}
