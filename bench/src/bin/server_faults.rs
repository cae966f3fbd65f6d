//! `server_faults`: the registry server under crashes and a full disk (run via
//! `bench/faults/run.sh`).
//!
//! **Crashes** (`--rounds`): each round starts the release server on the same store, then
//! `--uploaders` clients upload multi-MiB artifacts through the MLflow artifact proxy (half of
//! them streamed slowly, so the kill lands mid-body) and `--loggers` clients log metric
//! batches, until the server is killed with SIGKILL at a random moment. While it is down,
//! `PRAGMA integrity_check` must say `ok`. After the restart every artifact folder is listed:
//! each listed file must be one that was sent, at its full size, with the bytes that were
//! sent (this round's files are downloaded; every file is at the end), and every acknowledged
//! upload and metric point must be there.
//!
//! **Full disk** (`--full-mib`): the artifact store is a tmpfs of a few MiB (mounted here:
//! run as root). Uploads that do not fit must be refused with a JSON error (507 saying the
//! store is full, no file path in it), nothing partial may be left (listed or on disk), the
//! server must keep answering, and the files stored before must be intact.
//!
//! Prints the figures, writes `--out` (default `target/bench/faults.json`) and fails on any
//! violation.
//!
//! ```text
//! server_faults [--server BIN] [--part crash|full|both] [--rounds 5] [--uploaders 6]
//!               [--loggers 8] [--max-mib 6] [--full-mib 8] [--out FILE]
//! ```
//! `--server` defaults to `$RAGASENSE_SERVER_BIN`, else `$CARGO_TARGET_DIR/release/registry-server`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use raga_bench::server::{self, Server, Store};
use raga_bench::{Flags, XorShift, write_json};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{ConnectOptions, Row};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const USAGE: &str = "server_faults [--server BIN] [--part crash|full|both] [--rounds 5] [--uploaders 6] \
                     [--loggers 8] [--max-mib 6] [--full-mib 8] [--out FILE]";
const MIB: usize = 1024 * 1024;
const ARTIFACTS: &str = "/api/2.0/mlflow-artifacts/artifacts";
const KEYS: [&str; 4] = ["loss", "accuracy", "lr", "grad_norm"];

#[derive(Debug)]
struct Options {
    server: PathBuf,
    crash: bool,
    full: bool,
    rounds: usize,
    uploaders: usize,
    loggers: usize,
    max_mib: usize,
    full_mib: usize,
    out: PathBuf,
}

fn options() -> Result<Options> {
    let flags = Flags::parse(
        &["--server", "--part", "--rounds", "--uploaders", "--loggers", "--max-mib", "--full-mib", "--out"],
        USAGE,
    )?;
    let part = flags.get("--part").unwrap_or_else(|| "both".into());
    let o = Options {
        server: server::binary(flags.get("--server")),
        crash: matches!(part.as_str(), "crash" | "both"),
        full: matches!(part.as_str(), "full" | "both"),
        rounds: flags.parse_or("--rounds", 5)?,
        uploaders: flags.parse_or("--uploaders", 6)?,
        loggers: flags.parse_or("--loggers", 8)?,
        max_mib: flags.parse_or("--max-mib", 6)?,
        full_mib: flags.parse_or("--full-mib", 8)?,
        out: flags.get("--out").unwrap_or_else(|| "target/bench/faults.json".into()).into(),
    };
    ensure!(o.crash || o.full, "--part must be crash, full or both");
    ensure!(o.rounds >= 1 && o.max_mib >= 1 && o.full_mib >= 4, "--rounds, --max-mib ≥ 1, --full-mib ≥ 4");
    Ok(o)
}

/// The bytes of an upload, regenerated from its seed when checked.
fn content(seed: u64, size: usize) -> Vec<u8> {
    let mut buf = vec![0u8; size];
    XorShift::new(seed).fill(&mut buf);
    buf
}

/// An HTTP answer: status and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
}

/// `PUT`s `body` to the artifact proxy over a raw connection, `chunk` bytes at a time with
/// `pause` between them, so that a kill or a full disk lands in the middle of the body. When
/// the server answers before the body is sent, the answer is still read.
async fn put_raw(base: &str, path: &str, body: &[u8], chunk: usize, pause: Duration) -> Result<Answer> {
    let host = base.trim_start_matches("http://");
    let mut stream =
        tokio::net::TcpStream::connect(host).await.with_context(|| format!("connecting {host}"))?;
    let head = format!(
        "PUT {ARTIFACTS}/{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.context("sending the request head")?;
    let mut write_error = None;
    for part in body.chunks(chunk.max(1)) {
        if let Err(e) = stream.write_all(part).await {
            write_error = Some(e);
            break;
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(120), stream.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok());
    match (status, read) {
        (Some(status), _) => Ok(Answer {
            status,
            body: text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default(),
        }),
        (None, Ok(Err(e))) => bail!("no answer ({e}; writing: {write_error:?})"),
        (None, Err(_)) => bail!("no answer in 120 s"),
        (None, Ok(Ok(_))) => bail!("the connection closed without an answer (writing: {write_error:?})"),
    }
}

async fn put_fast(client: &reqwest::Client, base: &str, path: &str, body: Vec<u8>) -> Result<Answer> {
    let resp = client.put(format!("{base}{ARTIFACTS}/{path}")).body(body).send().await?;
    let status = resp.status().as_u16();
    Ok(Answer { status, body: resp.text().await.unwrap_or_default() })
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value> {
    let resp = client.get(url).send().await.with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    ensure!(status.is_success(), "GET {url} answered {status}: {text}");
    serde_json::from_str(&text).with_context(|| format!("reading the answer of {url}"))
}

async fn post_json(client: &reqwest::Client, url: &str, body: Value) -> Result<Value> {
    let resp = client.post(url).json(&body).send().await.with_context(|| format!("POST {url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    ensure!(status.is_success(), "POST {url} answered {status}: {text}");
    serde_json::from_str(&text).with_context(|| format!("reading the answer of {url}"))
}

/// The files of a proxy folder: name → size.
async fn list(client: &reqwest::Client, base: &str, dir: &str) -> Result<BTreeMap<String, Option<i64>>> {
    let v = get_json(client, &format!("{base}{ARTIFACTS}?path={dir}")).await?;
    Ok(v["files"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|f| {
            let name = f["path"].as_str()?.to_string();
            let size = if f["is_dir"] == true { None } else { f["file_size"].as_i64() };
            Some((name, size))
        })
        .collect())
}

async fn download(client: &reqwest::Client, base: &str, path: &str) -> Result<Vec<u8>> {
    let resp = client.get(format!("{base}{ARTIFACTS}/{path}")).send().await?;
    ensure!(resp.status().is_success(), "GET {path} answered {}", resp.status());
    Ok(resp.bytes().await?.to_vec())
}

/// `PRAGMA integrity_check` of the store while no server has it open.
async fn integrity(db: &Path) -> Result<String> {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .connect()
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    let rows = sqlx::query("PRAGMA integrity_check").fetch_all(&mut conn).await?;
    Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect::<Vec<_>>().join("; "))
}

/// Files under `dir` on disk whose names mark an upload in progress (`NAME#DIGITS`).
fn staging_files(dir: &Path) -> (usize, u64) {
    let mut found = (0, 0);
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let (n, bytes) = staging_files(&path);
            found.0 += n;
            found.1 += bytes;
        } else if entry.file_name().to_string_lossy().contains('#') {
            found.0 += 1;
            found.1 += entry.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    found
}

// ---------------------------------------------------------------- crashes

#[derive(Debug, Clone)]
struct Upload {
    path: String,
    seed: u64,
    size: usize,
}

#[derive(Debug, Clone, Copy)]
struct Point {
    key: &'static str,
    step: i64,
    value: f64,
}

#[derive(Debug, Default)]
struct RoundLog {
    uploads_acked: Vec<Upload>,
    uploads_uncertain: Vec<Upload>,
    points_acked: HashMap<String, Vec<Point>>,
    batches_acked: u64,
    server_errors: u64,
    errors_before_kill: u64,
    first_errors: Vec<String>,
}

impl RoundLog {
    fn failed(&mut self, killed: bool, what: String) {
        if !killed {
            self.errors_before_kill += 1;
            eprintln!("bench: before the kill: {what}");
            if self.first_errors.len() < 10 {
                self.first_errors.push(what);
            }
        }
    }

    fn merge(&mut self, o: RoundLog) {
        self.uploads_acked.extend(o.uploads_acked);
        self.uploads_uncertain.extend(o.uploads_uncertain);
        for (run, points) in o.points_acked {
            self.points_acked.entry(run).or_default().extend(points);
        }
        self.batches_acked += o.batches_acked;
        self.server_errors += o.server_errors;
        self.errors_before_kill += o.errors_before_kill;
        self.first_errors.extend(o.first_errors);
    }
}

async fn uploader(base: String, dir: String, id: u64, max_mib: usize, killed: Arc<AtomicBool>) -> RoundLog {
    let client = reqwest::Client::new();
    let mut log = RoundLog::default();
    let mut rng = XorShift::new(id);
    let mut seq = 0u64;
    while !killed.load(Ordering::SeqCst) {
        seq += 1;
        let size = MIB + rng.below(((max_mib.max(2) - 1) * MIB) as u64) as usize;
        let up = Upload { path: format!("{dir}/{seq}.bin"), seed: id * 1_000_003 + seq, size };
        let body = content(up.seed, size);
        let answer = if seq.is_multiple_of(2) {
            put_raw(&base, &up.path, &body, 256 * 1024, Duration::from_millis(5)).await
        } else {
            put_fast(&client, &base, &up.path, body).await
        };
        let was_killed = killed.load(Ordering::SeqCst);
        match answer {
            Ok(a) if a.status == 200 => log.uploads_acked.push(up),
            Ok(a) => {
                if a.status >= 500 {
                    log.server_errors += 1;
                }
                log.failed(was_killed, format!("PUT {} answered {}: {}", up.path, a.status, a.body));
                log.uploads_uncertain.push(up);
            }
            Err(e) => {
                log.failed(was_killed, format!("PUT {}: {e:#}", up.path));
                log.uploads_uncertain.push(up);
            }
        }
    }
    log
}

async fn logger(
    base: String,
    run: String,
    id: u64,
    first_step: i64,
    killed: Arc<AtomicBool>,
) -> (RoundLog, i64) {
    let client = reqwest::Client::new();
    let mut log = RoundLog::default();
    let mut rng = XorShift::new(id ^ first_step as u64);
    let mut step = first_step;
    while !killed.load(Ordering::SeqCst) {
        let points: Vec<Point> = (0..100)
            .map(|j| {
                step += 1;
                Point { key: KEYS[j % KEYS.len()], step, value: rng.below(1 << 40) as f64 / 1024.0 }
            })
            .collect();
        let metrics: Vec<Value> = points
            .iter()
            .map(|p| json!({"key": p.key, "value": p.value, "timestamp": 1_764_000_000_000_i64 + p.step, "step": p.step}))
            .collect();
        let resp = client
            .post(format!("{base}/api/2.0/mlflow/runs/log-batch"))
            .json(&json!({"run_id": run, "metrics": metrics}))
            .send()
            .await;
        let was_killed = killed.load(Ordering::SeqCst);
        match resp {
            Ok(r) if r.status().is_success() => {
                log.batches_acked += 1;
                log.points_acked.entry(run.clone()).or_default().extend(points);
            }
            Ok(r) => {
                let status = r.status();
                if status.is_server_error() {
                    log.server_errors += 1;
                }
                let text = r.text().await.unwrap_or_default();
                log.failed(was_killed, format!("log-batch answered {status}: {text}"));
            }
            Err(e) => log.failed(was_killed, format!("log-batch: {e}")),
        }
    }
    (log, step)
}

#[derive(Debug, Default, Serialize)]
struct CrashReport {
    rounds: usize,
    uploads_acknowledged: u64,
    uploads_in_flight_at_kill: u64,
    in_flight_found_complete: u64,
    bytes_acknowledged: u64,
    artifacts_lost: u64,
    partial_visible: u64,
    unknown_visible: u64,
    corrupt: u64,
    downloads_checked: u64,
    metric_batches_acknowledged: u64,
    points_acknowledged: u64,
    points_lost: u64,
    points_wrong: u64,
    integrity_checks: Vec<String>,
    server_errors_5xx: u64,
    errors_before_kill: u64,
    hidden_staging_files_left: usize,
    hidden_staging_bytes_left: u64,
    first_errors: Vec<String>,
}

impl CrashReport {
    fn violations(&self) -> Vec<String> {
        let mut v = Vec::new();
        let bad = [
            (self.artifacts_lost, "acknowledged artifacts lost"),
            (self.partial_visible, "partial artifacts visible"),
            (self.unknown_visible, "unknown files visible"),
            (self.corrupt, "artifacts with other bytes than sent"),
            (self.points_lost, "acknowledged metric points lost"),
            (self.points_wrong, "metric points with another value"),
            (self.server_errors_5xx, "5xx answers"),
            (self.errors_before_kill, "failed requests before a kill"),
        ];
        for (n, what) in bad {
            if n > 0 {
                v.push(format!("{n} {what}"));
            }
        }
        if let Some(bad) = self.integrity_checks.iter().find(|c| *c != "ok") {
            v.push(format!("integrity_check: {bad}"));
        }
        v
    }
}

/// Checks the artifacts of `uploads` (folders listed; `download` ones compared byte for byte).
async fn check_uploads(
    client: &reqwest::Client,
    base: &str,
    acked: &[Upload],
    uncertain: &[Upload],
    download_all: bool,
    fresh: &std::collections::HashSet<String>,
    report: &mut CrashReport,
) -> Result<()> {
    let mut dirs: BTreeMap<String, HashMap<String, (&Upload, bool)>> = BTreeMap::new();
    for (ups, is_acked) in [(acked, true), (uncertain, false)] {
        for u in ups {
            let (dir, name) = u.path.rsplit_once('/').context("upload path without folder")?;
            dirs.entry(dir.to_string()).or_default().insert(name.to_string(), (u, is_acked));
        }
    }
    for (dir, sent) in &dirs {
        let listed = list(client, base, dir).await?;
        for (name, size) in &listed {
            let Some((u, _)) = sent.get(name) else {
                report.unknown_visible += 1;
                eprintln!("bench: {dir}/{name} is listed but was never sent");
                continue;
            };
            if *size != Some(u.size as i64) {
                report.partial_visible += 1;
                eprintln!("bench: {} is listed with {size:?} bytes, {} were sent", u.path, u.size);
                continue;
            }
            if download_all || fresh.contains(&u.path) {
                report.downloads_checked += 1;
                if download(client, base, &u.path).await? != content(u.seed, u.size) {
                    report.corrupt += 1;
                    eprintln!("bench: {} has other bytes than were sent", u.path);
                }
            }
        }
        for (name, (u, is_acked)) in sent {
            if *is_acked && !listed.contains_key(name) {
                report.artifacts_lost += 1;
                eprintln!("bench: acknowledged {} is gone", u.path);
            }
        }
    }
    Ok(())
}

async fn check_points(
    client: &reqwest::Client,
    base: &str,
    points: &HashMap<String, Vec<Point>>,
    report: &mut CrashReport,
) -> Result<()> {
    for (run, acked) in points {
        let mut stored: HashMap<(&str, i64), f64> = HashMap::new();
        for key in KEYS {
            let mut token = String::new();
            loop {
                let mut url = format!(
                    "{base}/api/2.0/mlflow/metrics/get-history?run_id={run}&metric_key={key}&max_results=25000"
                );
                if !token.is_empty() {
                    url.push_str(&format!("&page_token={token}"));
                }
                let page = get_json(client, &url).await?;
                for m in page["metrics"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    if let (Some(step), Some(v)) = (m["step"].as_i64(), m["value"].as_f64()) {
                        stored.insert((key, step), v);
                    }
                }
                match page["next_page_token"].as_str() {
                    Some(t) if !t.is_empty() => token = t.to_string(),
                    _ => break,
                }
            }
        }
        for p in acked {
            match stored.get(&(p.key, p.step)) {
                None => report.points_lost += 1,
                Some(v) if v.to_bits() != p.value.to_bits() => report.points_wrong += 1,
                Some(_) => {}
            }
        }
    }
    Ok(())
}

async fn crashes(o: &Options, dir: &Path) -> Result<CrashReport> {
    let store = Store::in_dir(&dir.join("crash"))?;
    let client = reqwest::Client::new();
    let mut report = CrashReport { rounds: o.rounds, ..CrashReport::default() };
    let mut server = Server::start(&o.server, &store)?;
    eprintln!("bench: crash rounds on {} (store {})", server.url, store.db.display());
    let api = format!("{}/api/2.0/mlflow", server.url);
    let exp = post_json(&client, &format!("{api}/experiments/create"), json!({"name": "faults"})).await?
        ["experiment_id"]
        .as_str()
        .context("no experiment id")?
        .to_string();
    let mut runs = Vec::new();
    for i in 0..o.loggers.max(1) {
        let v = post_json(
            &client,
            &format!("{api}/runs/create"),
            json!({"experiment_id": exp, "run_name": format!("logger-{i}")}),
        )
        .await?;
        runs.push(v["run"]["info"]["run_id"].as_str().context("no run id")?.to_string());
    }
    let artifact_root = format!("{exp}/{}/artifacts", runs[0]);
    let mut all = RoundLog::default();
    let mut steps = vec![0i64; o.loggers];
    let mut rng = XorShift::new(42);
    for round in 0..o.rounds {
        let killed = Arc::new(AtomicBool::new(false));
        let base = server.url.clone();
        let uploads: Vec<_> = (0..o.uploaders)
            .map(|u| {
                let dir = format!("{artifact_root}/r{round}/u{u}");
                tokio::spawn(uploader(
                    base.clone(),
                    dir,
                    (round * 1000 + u + 1) as u64,
                    o.max_mib,
                    killed.clone(),
                ))
            })
            .collect();
        let loggers: Vec<_> = (0..o.loggers)
            .map(|l| {
                tokio::spawn(logger(base.clone(), runs[l].clone(), l as u64 + 1, steps[l], killed.clone()))
            })
            .collect();
        let wait = 400 + rng.below(1600);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        killed.store(true, Ordering::SeqCst);
        server.kill()?;
        let mut log = RoundLog::default();
        for u in uploads {
            log.merge(u.await.context("an uploader failed")?);
        }
        for (l, task) in loggers.into_iter().enumerate() {
            let (lg, step) = task.await.context("a logger failed")?;
            steps[l] = step;
            log.merge(lg);
        }
        let check = integrity(&store.db).await?;
        eprintln!(
            "bench: round {round}: killed after {wait} ms with {} uploads and {} batches acknowledged, \
             {} uploads in flight; integrity_check: {check}",
            log.uploads_acked.len(),
            log.batches_acked,
            log.uploads_uncertain.len()
        );
        report.integrity_checks.push(check);
        server = Server::start(&o.server, &store)?;
        let fresh: std::collections::HashSet<String> =
            log.uploads_acked.iter().chain(&log.uploads_uncertain).map(|u| u.path.clone()).collect();
        all.merge(log);
        let mut round_report = CrashReport::default();
        check_uploads(
            &client,
            &server.url,
            &all.uploads_acked,
            &all.uploads_uncertain,
            false,
            &fresh,
            &mut round_report,
        )
        .await?;
        check_points(&client, &server.url, &all.points_acked, &mut round_report).await?;
        let v = round_report.violations();
        if !v.is_empty() {
            eprintln!("bench: round {round} after restart: {}", v.join("; "));
        }
        report.artifacts_lost += round_report.artifacts_lost;
        report.partial_visible += round_report.partial_visible;
        report.unknown_visible += round_report.unknown_visible;
        report.corrupt += round_report.corrupt;
        report.points_lost += round_report.points_lost;
        report.points_wrong += round_report.points_wrong;
    }
    // The last word: every file downloaded and compared once more.
    let mut last = CrashReport::default();
    check_uploads(
        &client,
        &server.url,
        &all.uploads_acked,
        &all.uploads_uncertain,
        true,
        &Default::default(),
        &mut last,
    )
    .await?;
    report.downloads_checked = last.downloads_checked;
    report.artifacts_lost += last.artifacts_lost;
    report.partial_visible += last.partial_visible;
    report.unknown_visible += last.unknown_visible;
    report.corrupt += last.corrupt;
    server.kill()?;
    report.integrity_checks.push(integrity(&store.db).await?);

    let listed_uncertain = {
        // In-flight uploads that the server had completed (renamed) before it died.
        let server = Server::start(&o.server, &store)?;
        let mut n = 0;
        for u in &all.uploads_uncertain {
            let (dir, name) = u.path.rsplit_once('/').context("path")?;
            if list(&client, &server.url, dir).await?.contains_key(name) {
                n += 1;
            }
        }
        server.kill()?;
        n
    };
    (report.hidden_staging_files_left, report.hidden_staging_bytes_left) = staging_files(&store.artifacts);
    report.uploads_acknowledged = all.uploads_acked.len() as u64;
    report.bytes_acknowledged = all.uploads_acked.iter().map(|u| u.size as u64).sum();
    report.uploads_in_flight_at_kill = all.uploads_uncertain.len() as u64;
    report.in_flight_found_complete = listed_uncertain;
    report.metric_batches_acknowledged = all.batches_acked;
    report.points_acknowledged = all.points_acked.values().map(|p| p.len() as u64).sum();
    report.server_errors_5xx = all.server_errors;
    report.errors_before_kill = all.errors_before_kill;
    report.first_errors = all.first_errors.into_iter().take(10).collect();
    Ok(report)
}

// ---------------------------------------------------------------- full disk

/// A tmpfs mounted for the run; unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, mib: usize) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .output()
            .context("running mount (the full-disk check mounts a small tmpfs: run as root)")?;
        if !out.status.success() {
            bail!(
                "cannot mount a {mib} MiB tmpfs at {} ({}): {}; the full-disk check needs root \
                 (CAP_SYS_ADMIN); run it as root or pass --part crash",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(Self(dir.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[derive(Debug, Default, Serialize)]
struct FullReport {
    tmpfs_mib: usize,
    stored_before: usize,
    refused: Vec<RefusedUpload>,
    refusals_not_507: u64,
    refusals_unclear: u64,
    refusals_leaking_paths: u64,
    refusals_without_answer: u64,
    partial_visible: u64,
    unknown_visible: u64,
    staging_files_on_disk: usize,
    lost_or_corrupt: u64,
    server_kept_serving: bool,
    upload_after_freeing_space: u16,
    problems: Vec<String>,
}

#[derive(Debug, Serialize)]
struct RefusedUpload {
    how: String,
    mib: f64,
    status: u16,
    body: String,
}

async fn full_disk(o: &Options, dir: &Path) -> Result<FullReport> {
    let root = dir.join("full");
    let _ = std::fs::remove_dir_all(&root);
    let mut store = Store::in_dir(&root)?;
    store.artifacts = root.join("artifacts");
    let mount = Mount::tmpfs(&store.artifacts, o.full_mib)?;
    let server = Server::start(&o.server, &store)?;
    eprintln!("bench: full disk: {} MiB tmpfs at {}, server {}", o.full_mib, mount.0.display(), server.url);
    let base = server.url.clone();
    let client = reqwest::Client::new();
    let mut r = FullReport { tmpfs_mib: o.full_mib, ..FullReport::default() };
    let mut stored: Vec<Upload> = Vec::new();
    let mut seed = 7_000u64;
    let mut next = |dir: &str, size: usize| {
        seed += 1;
        Upload { path: format!("{dir}/{seed}.bin"), seed, size }
    };
    let refused = |r: &mut FullReport, how: &str, u: &Upload, a: Result<Answer>| match a {
        Ok(a) => {
            if a.status != 507 {
                r.refusals_not_507 += 1;
            }
            let v: Value = serde_json::from_str(&a.body).unwrap_or(Value::Null);
            let message = v["message"].as_str().unwrap_or_default();
            if !v["error_code"].is_string() || !message.contains("full") {
                r.refusals_unclear += 1;
            }
            if message.contains(&*root.to_string_lossy()) || message.contains("/tmp") || message.contains('#')
            {
                r.refusals_leaking_paths += 1;
            }
            r.refused.push(RefusedUpload {
                how: how.into(),
                mib: u.size as f64 / MIB as f64,
                status: a.status,
                body: a.body,
            });
        }
        Err(e) => {
            r.refusals_without_answer += 1;
            r.refused.push(RefusedUpload {
                how: how.into(),
                mib: u.size as f64 / MIB as f64,
                status: 0,
                body: format!("{e:#}"),
            });
        }
    };

    // 1. Files that fit, to half the space.
    for _ in 0..o.full_mib / 2 {
        let u = next("0/full/kept", MIB - 4096);
        let a = put_fast(&client, &base, &u.path, content(u.seed, u.size)).await?;
        ensure!(a.status == 200, "a file that fits was refused: {} {}", a.status, a.body);
        stored.push(u);
    }
    r.stored_before = stored.len();
    // 2. One that cannot fit, sent whole and streamed slowly.
    let big = next("0/full/big", o.full_mib * MIB);
    let a = put_fast(&client, &base, &big.path, content(big.seed, big.size)).await;
    refused(&mut r, "whole body", &big, a);
    let big = next("0/full/big", o.full_mib * MIB);
    let a =
        put_raw(&base, &big.path, &content(big.seed, big.size), 64 * 1024, Duration::from_millis(1)).await;
    refused(&mut r, "streamed", &big, a);
    // 3. Concurrent uploads racing for what is left: each is stored whole or refused.
    let racers: Vec<Upload> = (0..4).map(|_| next("0/full/race", 2 * MIB)).collect();
    let tasks: Vec<_> = racers
        .iter()
        .map(|u| {
            let (client, base, u) = (client.clone(), base.clone(), u.clone());
            tokio::spawn(async move { put_fast(&client, &base, &u.path, content(u.seed, u.size)).await })
        })
        .collect();
    for (u, t) in racers.iter().zip(tasks) {
        match t.await? {
            Ok(a) if a.status == 200 => stored.push(u.clone()),
            other => refused(&mut r, "concurrent", u, other),
        }
    }
    // 4. Fill to the brim in 256 KiB files: the first that does not fit is refused.
    loop {
        let u = next("0/full/fill", 256 * 1024);
        match put_fast(&client, &base, &u.path, content(u.seed, u.size)).await {
            Ok(a) if a.status == 200 => stored.push(u),
            other => {
                refused(&mut r, "filling", &u, other);
                break;
            }
        }
        ensure!(stored.len() < 10_000, "the tmpfs never filled up");
    }
    // 5. What is visible and on disk: the stored files only, whole.
    let mut sent: HashMap<String, Upload> = stored.iter().map(|u| (u.path.clone(), u.clone())).collect();
    // A refused upload must not be listed: every listed name that was not stored is unknown.
    for dir in ["0/full/kept", "0/full/big", "0/full/race", "0/full/fill"] {
        for (name, size) in list(&client, &base, dir).await? {
            match sent.remove(&format!("{dir}/{name}")) {
                None => r.unknown_visible += 1,
                Some(u) if size != Some(u.size as i64) => r.partial_visible += 1,
                Some(u) => {
                    if download(&client, &base, &u.path).await? != content(u.seed, u.size) {
                        r.lost_or_corrupt += 1;
                    }
                }
            }
        }
    }
    r.lost_or_corrupt += sent.len() as u64;
    r.staging_files_on_disk = staging_files(&store.artifacts).0;
    // 6. The server still answers, reads and writes.
    let health = client.get(format!("{base}/health")).send().await.map(|r| r.status().is_success());
    let exp =
        post_json(&client, &format!("{base}/api/2.0/mlflow/runs/create"), json!({"experiment_id": "0"}))
            .await;
    let logged = match &exp {
        Ok(v) => {
            let run = v["run"]["info"]["run_id"].as_str().unwrap_or_default();
            post_json(
                &client,
                &format!("{base}/api/2.0/mlflow/runs/log-metric"),
                json!({"run_id": run, "key": "after_full", "value": 1.0, "timestamp": 1}),
            )
            .await
            .is_ok()
        }
        Err(_) => false,
    };
    r.server_kept_serving = matches!(health, Ok(true)) && logged;
    // 7. Space freed: uploads work again.
    let victim = stored.first().context("nothing stored")?.clone();
    let resp = client.delete(format!("{base}{ARTIFACTS}/{}", victim.path)).send().await?;
    ensure!(resp.status().is_success(), "deleting {} answered {}", victim.path, resp.status());
    let again = next("0/full/again", 512 * 1024);
    r.upload_after_freeing_space =
        put_fast(&client, &base, &again.path, content(again.seed, again.size)).await?.status;

    let checks = [
        (r.refused.is_empty() as u64, "no upload was refused"),
        (r.refusals_not_507, "refusals were not 507"),
        (r.refusals_unclear, "refusals did not say the store is full in a JSON error"),
        (r.refusals_leaking_paths, "refusals named a file path"),
        (r.refusals_without_answer, "refused uploads got no answer"),
        (r.partial_visible, "partial files visible"),
        (r.unknown_visible, "unknown files visible"),
        (r.staging_files_on_disk as u64, "temporary files left on disk"),
        (r.lost_or_corrupt, "stored files lost or changed"),
        (!r.server_kept_serving as u64, "the server stopped serving"),
        ((r.upload_after_freeing_space != 200) as u64, "an upload failed after space was freed"),
    ];
    r.problems = checks.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
    drop(server);
    drop(mount);
    Ok(r)
}

#[derive(Debug, Serialize)]
struct Report {
    crash: Option<CrashReport>,
    full: Option<FullReport>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = options()?;
    let dir = std::env::temp_dir().join(format!("ragasense-bench-faults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    let mut problems = Vec::new();
    let crash = if o.crash { Some(crashes(&o, &dir).await?) } else { None };
    if let Some(c) = &crash {
        println!(
            "crashes: {} kill -9 rounds; uploads acknowledged {} ({:.0} MiB), in flight at a kill {} ({} found \
             complete after restart, the rest absent); artifacts lost {}, partial visible {}, unknown visible {}, \
             corrupt {} ({} downloads compared)",
            c.rounds,
            c.uploads_acknowledged,
            c.bytes_acknowledged as f64 / MIB as f64,
            c.uploads_in_flight_at_kill,
            c.in_flight_found_complete,
            c.artifacts_lost,
            c.partial_visible,
            c.unknown_visible,
            c.corrupt,
            c.downloads_checked
        );
        println!(
            "crashes: metric batches acknowledged {} ({} points), points lost {}, wrong {}; 5xx {}; \
             failed requests before a kill {}; integrity_check: {}; hidden staging files left on disk {} ({:.1} MiB)",
            c.metric_batches_acknowledged,
            c.points_acknowledged,
            c.points_lost,
            c.points_wrong,
            c.server_errors_5xx,
            c.errors_before_kill,
            c.integrity_checks.join(", "),
            c.hidden_staging_files_left,
            c.hidden_staging_bytes_left as f64 / MIB as f64
        );
        problems.extend(c.violations());
    }
    let full = if o.full { Some(full_disk(&o, &dir).await?) } else { None };
    if let Some(f) = &full {
        println!(
            "full disk ({} MiB tmpfs): {} files stored before; {} uploads refused: {}",
            f.tmpfs_mib,
            f.stored_before,
            f.refused.len(),
            f.refused
                .iter()
                .map(|x| format!("{} {:.2} MiB → {}", x.how, x.mib, x.status))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(first) = f.refused.first() {
            println!("full disk: answer: {}", first.body.trim());
        }
        println!(
            "full disk: partial visible {}, unknown visible {}, temporary files on disk {}, stored files lost or \
             changed {}, server kept serving {}, upload after freeing space {}",
            f.partial_visible,
            f.unknown_visible,
            f.staging_files_on_disk,
            f.lost_or_corrupt,
            f.server_kept_serving,
            f.upload_after_freeing_space
        );
        problems.extend(f.problems.iter().map(|p| format!("full disk: {p}")));
    }
    write_json(&o.out, &Report { crash, full })?;
    eprintln!("bench: wrote {} ({:.0} s)", o.out.display(), started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&dir);
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    println!(
        "faults: no acknowledged write lost, nothing partial visible, integrity ok, full disk refused cleanly"
    );
    Ok(())
}
