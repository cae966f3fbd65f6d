//! Tracking: a run folder is the trainer's buffer, and [`sync`] copies whatever of it the
//! tracking server does not have yet — the run, its params and tags, per-epoch metrics, the
//! final scores, every file as an artifact, the end status — and records what it sent in
//! `RUN_DIR/tracking.json`. Sending again is harmless: params and tags are set to the same
//! values, metric points carry deterministic timestamps (the server keeps one row per
//! identical point), and files are only re-sent when their hash changed. A server that is
//! down or restarted mid-run loses nothing: `ragasense sync RUN_DIR` finishes the job.
//!
//! While training, [`LiveTracking`] runs the same sync after every epoch (metrics only), so
//! the run and its curves appear on the server as it trains and a crash keeps the epochs
//! done; the last sync sends the files and ends the run.
//!
//! `ragasense sync RUN_DIR [--tracking-uri URL]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use raga_train::run::read_json;
use raga_train::{EpochMetrics, Progress, RunConfig, RunSummary};
use registry_server::client::RegistryClient;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What was sent where; `RUN_DIR/tracking.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TrackingState {
    /// Tracking server base URI.
    pub server: String,
    /// Experiment id.
    pub experiment_id: String,
    /// Run id on the server.
    pub run_id: String,
    /// The run's artifact URI.
    pub artifact_uri: String,
    /// Params sent (the tags go with the run when it is created).
    pub params_logged: bool,
    /// Epochs whose metrics were sent.
    pub epochs_logged: usize,
    /// Final scores sent.
    pub summary_logged: bool,
    /// Files sent, by path relative to the run folder, with their sha256.
    pub artifacts: BTreeMap<String, String>,
    /// Run marked finished.
    pub finished: bool,
    /// Registered model version, once registered.
    pub model_version: Option<String>,
}

const STATE_FILE: &str = "tracking.json";

impl TrackingState {
    /// Drops the state of `run_dir`: a new training in the folder is a new run, not more of
    /// the one tracked before.
    pub fn forget(run_dir: &Path) -> Result<()> {
        match std::fs::remove_file(run_dir.join(STATE_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", run_dir.join(STATE_FILE).display()))
            }
            _ => Ok(()),
        }
    }

    /// The state of `run_dir` (empty when never synced).
    pub fn load(run_dir: &Path) -> Result<Self> {
        let path = run_dir.join(STATE_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the state (atomically, so a crash leaves the old or the new one).
    pub fn save(&self, run_dir: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).context("encoding tracking.json")?;
        raga_train::write_atomic(&run_dir.join(STATE_FILE), &bytes).context("writing tracking.json")
    }
}

/// What one sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Run id on the server.
    pub run_id: String,
    /// Experiment id.
    pub experiment_id: String,
    /// Whether the run was created by this sync.
    pub created: bool,
    /// Epochs whose metrics were sent by this sync.
    pub epochs_sent: usize,
    /// Files sent by this sync.
    pub files_sent: usize,
    /// Whether the run is finished on the server.
    pub finished: bool,
}

/// Experiment of a model: `RagaSense_<model>`.
pub fn experiment_name(model: &str) -> String {
    format!("RagaSense_{model}")
}

/// Run name: `<model>_<YYYYmmdd_HHMMSS>` (UTC) of the training start.
pub fn run_name(model: &str, started_ms: i64) -> String {
    format!("{model}_{}", utc_stamp(started_ms))
}

/// `YYYYmmdd_HHMMSS` in UTC of milliseconds since the Unix epoch.
fn utc_stamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_date(days);
    format!("{year:04}{month:02}{day:02}_{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Every hyperparameter under the names the reference uses (`model.d_model`,
/// `training.learning_rate`, `audio.n_mels`, …), flattened from `config.json`.
pub fn params(config: &RunConfig) -> Vec<(String, String)> {
    let mut out = BTreeMap::new();
    fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    flatten(&format!("{prefix}.{k}"), v, out);
                }
            }
            serde_json::Value::String(s) => {
                out.insert(prefix.to_string(), s.clone());
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut train = config.train.clone();
    if let Some(model) = train.as_object_mut().and_then(|o| o.remove("model")) {
        flatten("model", &model, &mut out);
    }
    if let Some(augment) = train.as_object_mut().and_then(|o| o.remove("augment")) {
        flatten("augment", &augment, &mut out);
    }
    flatten("training", &train, &mut out);
    // The reference's names for the optimiser settings.
    if let Some(lr) = out.remove("training.lr") {
        out.insert("training.learning_rate".into(), lr);
    }
    let f = &config.features;
    for (k, v) in [
        ("audio.sr", f.sample_rate.to_string()),
        ("audio.n_mels", f.mel.n_mels.to_string()),
        ("audio.n_fft", f.mel.n_fft.to_string()),
        ("audio.hop_length", f.mel.hop_length.to_string()),
        ("audio.features_version", config.features_version.to_string()),
        ("training.seed", config.seed.to_string()),
        ("data.path", config.data.clone()),
        ("data.ragas", config.labels.len().to_string()),
    ] {
        out.insert(k.into(), v);
    }
    for (split, n) in &config.clips {
        out.insert(format!("data.clips_{split}"), n.to_string());
    }
    out.into_iter().collect()
}

fn epoch_points(m: &EpochMetrics, timestamp: i64) -> Vec<(String, f64, i64, i64)> {
    let step = m.epoch as i64;
    let mut points: Vec<(String, f64)> = vec![
        ("train_loss".into(), m.train_loss),
        ("train_accuracy".into(), m.train_accuracy),
        ("train_macro_f1".into(), m.train_macro_f1),
        ("val_loss".into(), m.val_loss),
        ("val_accuracy".into(), m.val_accuracy),
        ("val_macro_f1".into(), m.val_macro_f1),
        ("learning_rate".into(), m.lr),
        ("system/epoch_seconds".into(), m.epoch_seconds),
        ("system/windows_per_second".into(), m.windows_per_second),
        ("system/peak_memory_bytes".into(), m.peak_memory_bytes as f64),
    ];
    if let Some(device) = m.device_memory_bytes {
        points.push(("system/device_memory_bytes".into(), device as f64));
    }
    points.into_iter().map(|(k, v)| (k, v, timestamp, step)).collect()
}

/// Files of the run folder to keep as artifacts, relative paths, sorted.
fn files(run_dir: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(root, &path, out)?;
            } else if let Ok(rel) = path.strip_prefix(root) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                // Our own bookkeeping and half-written files are not artifacts.
                if rel != STATE_FILE && !rel.ends_with(".tmp") {
                    out.push(rel);
                }
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(run_dir, run_dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// How much [`sync`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The run, params, tags and the epochs so far (cheap: for every epoch of a live run).
    Metrics,
    /// Everything: also the final scores, every file, and the end of the run.
    All,
}

/// Sends whatever of `run_dir` the server lacks (within `scope`); see the module docs.
pub async fn sync(run_dir: &Path, client: &RegistryClient, model: &str, scope: Scope) -> Result<SyncReport> {
    let config: RunConfig = read_json(&run_dir.join("config.json"))
        .with_context(|| format!("{} is not a training run folder", run_dir.display()))?;
    let mut state = TrackingState::load(run_dir)?;
    let mut report = SyncReport::default();

    // A different server, or one whose store forgot the run: start over there.
    let known = state.server == client.base()
        && !state.run_id.is_empty()
        && client.run_exists(&state.run_id).await.context("asking the tracking server for the run")?;
    if !known {
        let experiment_id = client
            .get_or_create_experiment(&experiment_name(model))
            .await
            .context("creating the experiment")?;
        // Run folders from before origin tags existed still name their device.
        let mut tags = config.tags.clone();
        tags.entry("device".into()).or_insert_with(|| config.device.clone());
        tags.insert("mlflow.source.type".into(), "LOCAL".into());
        tags.insert("ragasense.run_dir".into(), run_dir.display().to_string());
        let tags: Vec<(String, String)> = tags.into_iter().collect();
        let run_id = client
            .create_run(&experiment_id, &run_name(model, config.started_ms), config.started_ms, &tags)
            .await
            .context("creating the run")?;
        let artifact_uri = client.run_artifact_uri(&run_id).await?;
        state = TrackingState {
            server: client.base().to_string(),
            experiment_id,
            run_id,
            artifact_uri,
            ..TrackingState::default()
        };
        state.save(run_dir)?;
        report.created = true;
    }
    report.run_id = state.run_id.clone();
    report.experiment_id = state.experiment_id.clone();

    if !state.params_logged {
        client.log_batch(&state.run_id, &[], &params(&config), &[]).await.context("logging params")?;
        state.params_logged = true;
        state.save(run_dir)?;
    }

    // Per-epoch metrics, stamped at the training start plus the time the epochs took, so a
    // second send of the same epoch is the same point.
    let metrics_path = run_dir.join("metrics.jsonl");
    let text = std::fs::read_to_string(&metrics_path).unwrap_or_default();
    let epochs =
        EpochMetrics::parse_jsonl(&text).with_context(|| format!("parsing {}", metrics_path.display()))?;
    let mut elapsed_ms = 0i64;
    let mut points = Vec::new();
    for m in &epochs {
        elapsed_ms += (m.epoch_seconds * 1000.0) as i64;
        if m.epoch > state.epochs_logged {
            points.extend(epoch_points(m, config.started_ms + elapsed_ms));
        }
    }
    if !points.is_empty() {
        client.log_batch(&state.run_id, &points, &[], &[]).await.context("logging epoch metrics")?;
        report.epochs_sent = epochs.len() - state.epochs_logged.min(epochs.len());
        state.epochs_logged = epochs.last().map_or(0, |m| m.epoch);
        state.save(run_dir)?;
    }

    if scope == Scope::Metrics {
        return Ok(report);
    }

    let summary_path = run_dir.join("summary.json");
    let summary: Option<RunSummary> = summary_path.exists().then(|| read_json(&summary_path)).transpose()?;
    let end_ms = config.started_ms + elapsed_ms.max(1);
    if let (Some(s), false) = (&summary, state.summary_logged) {
        let r = &s.report;
        let mut finals = vec![
            (format!("{}_accuracy", r.split), r.accuracy),
            (format!("{}_macro_f1", r.split), r.macro_f1),
            ("best_epoch".to_string(), s.best_epoch as f64),
            ("system/train_seconds".to_string(), s.train_seconds),
            ("system/feature_seconds".to_string(), s.feature_seconds),
            ("system/inference_ms_per_clip".to_string(), s.inference_ms_per_clip),
        ];
        if let Some(hidden) = r.accuracy_tradition_hidden {
            finals.push((format!("{}_accuracy_tradition_hidden", r.split), hidden));
        }
        for (quant, path) in [("f32", "package/f32/model.bpk"), ("int8", "package/int8/model.bpk")] {
            if let Ok(meta) = std::fs::metadata(run_dir.join(path)) {
                finals.push((format!("model_size_bytes_{quant}"), meta.len() as f64));
            }
        }
        let points: Vec<_> = finals.into_iter().map(|(k, v)| (k, v, end_ms, 0)).collect();
        client.log_batch(&state.run_id, &points, &[], &[]).await.context("logging final metrics")?;
        state.summary_logged = true;
        state.save(run_dir)?;
    }

    for rel in files(run_dir)? {
        let path: PathBuf = run_dir.join(&rel);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let hash = hex::encode(Sha256::digest(&bytes));
        if state.artifacts.get(&rel) == Some(&hash) {
            continue;
        }
        client
            .upload_artifact(&state.artifact_uri, &rel, bytes)
            .await
            .with_context(|| format!("uploading {rel}"))?;
        state.artifacts.insert(rel, hash);
        state.save(run_dir)?;
        report.files_sent += 1;
    }

    if summary.is_some() && !state.finished {
        client.end_run(&state.run_id, "FINISHED", end_ms).await.context("ending the run")?;
        state.finished = true;
        state.save(run_dir)?;
    }
    report.finished = state.finished;
    Ok(report)
}

/// Registers the run's int8 package (`RUN_DIR/package/int8`) as a new version of `model`,
/// once: the version is kept in `tracking.json`. `None` when the run has no package yet.
/// Call after [`sync`], which uploads the package.
pub async fn register(run_dir: &Path, client: &RegistryClient, model: &str) -> Result<Option<String>> {
    let mut state = TrackingState::load(run_dir)?;
    if let Some(v) = &state.model_version {
        return Ok(Some(v.clone()));
    }
    if !run_dir.join("package/int8/manifest.json").exists() || state.run_id.is_empty() {
        return Ok(None);
    }
    let summary: RunSummary = read_json(&run_dir.join("summary.json"))?;
    let r = &summary.report;
    let tags = vec![
        (format!("{}_accuracy", r.split), format!("{:.4}", r.accuracy)),
        (format!("{}_macro_f1", r.split), format!("{:.4}", r.macro_f1)),
        ("quantization".to_string(), "int8".to_string()),
        ("features_version".to_string(), raga_dsp::FEATURES_VERSION.to_string()),
    ];
    let source = format!("runs:/{}/package/int8", state.run_id);
    let mv = client
        .create_version(model, &source, &state.run_id, &tags)
        .await
        .with_context(|| format!("registering {source} as a version of {model}"))?;
    state.model_version = Some(mv.version.clone());
    state.save(run_dir)?;
    Ok(Some(mv.version))
}

/// `ragasense sync` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder written by `ragasense train`.
    run_dir: PathBuf,
    /// Registry URL (falls back to RAGASENSE_TRACKING_URI, then MLFLOW_TRACKING_URI).
    #[arg(long)]
    tracking_uri: Option<String>,
    /// Registered model the run belongs to (names the experiment `RagaSense_<model>`).
    #[arg(long, default_value = "raga-detector")]
    model_name: String,
}

pub async fn run(args: Args) -> Result<()> {
    let client = RegistryClient::from_env(args.tracking_uri.as_deref())?;
    let r = sync(&args.run_dir, &client, &args.model_name, Scope::All)
        .await
        .with_context(|| format!("syncing {} to {}", args.run_dir.display(), client.base()))?;
    println!(
        "run {} (experiment {}): {}{} epochs and {} files sent{}",
        r.run_id,
        r.experiment_id,
        if r.created { "created, " } else { "" },
        r.epochs_sent,
        r.files_sent,
        if r.finished { ", finished" } else { "" }
    );
    if let Some(version) = register(&args.run_dir, &client, &args.model_name).await? {
        println!("registered as {} version {version}", args.model_name);
    }
    Ok(())
}

/// A [`Progress`] that also sends each epoch to the tracking server as training goes. Best
/// effort: a failed send is noted once and retried at the next epoch; the final sync (and
/// `ragasense sync`) sends whatever is still missing.
pub struct LiveTracking<'a> {
    inner: &'a mut dyn Progress,
    runtime: tokio::runtime::Runtime,
    client: RegistryClient,
    run_dir: PathBuf,
    model: String,
    live: bool,
    warned: bool,
}

impl<'a> LiveTracking<'a> {
    /// Tracks `run_dir` on `client` while showing progress through `inner`.
    pub fn new(
        inner: &'a mut dyn Progress,
        client: RegistryClient,
        run_dir: &Path,
        model: &str,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        Ok(Self {
            inner,
            runtime,
            client,
            run_dir: run_dir.to_path_buf(),
            model: model.to_string(),
            live: false,
            warned: false,
        })
    }

    /// Marks the live run failed (training stopped with an error); quiet when there is none.
    pub fn fail(&mut self) {
        let Ok(state) = TrackingState::load(&self.run_dir) else { return };
        if state.run_id.is_empty() || state.finished || state.server != self.client.base() {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let _ = self.runtime.block_on(self.client.end_run(&state.run_id, "FAILED", now));
    }
}

impl Progress for LiveTracking<'_> {
    fn start(&mut self, phase: &str, total: u64) {
        self.inner.start(phase, total);
    }

    fn advance(&mut self, n: u64, message: &str) {
        self.inner.advance(n, message);
    }

    fn epoch(&mut self, metrics: &EpochMetrics) {
        self.inner.epoch(metrics);
        match self.runtime.block_on(sync(&self.run_dir, &self.client, &self.model, Scope::Metrics)) {
            Ok(r) if !self.live => {
                self.live = true;
                self.warned = false;
                self.inner.note(&format!("tracking live: run {} on {}", r.run_id, self.client.base()));
            }
            Ok(_) => {}
            Err(e) if !self.warned => {
                self.warned = true;
                self.inner.note(&format!(
                    "live tracking failed ({e:#}); retrying each epoch, the run folder keeps everything"
                ));
            }
            Err(_) => {}
        }
    }

    fn note(&mut self, text: &str) {
        self.inner.note(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_carry_the_utc_start() {
        assert_eq!(run_name("raga-detector", 0), "raga-detector_19700101_000000");
        // 2026-11-27 09:58:24 UTC.
        assert_eq!(utc_stamp(1_795_773_504_000), "20261127_095824");
        assert_eq!(utc_stamp(951_782_400_000), "20000229_000000");
    }
}
