//! `ragasense train`: train the raga model on a corpus folder and write a run folder.

use std::path::PathBuf;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use raga_model::package::Quantization;
use raga_train::package::package_run;
use raga_train::{RunOptions, RunSummary, run};
use registry_server::client::{RegistryClient, Stage};

use super::device::{DeviceChoice, parse_devices, pick};
use super::progress::Bars;
use super::track::LiveTracking;

/// Arguments of `ragasense train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Corpus folder: DIR/<raga>/*.{wav,flac,mp3,ogg}, optional DIR/metadata.csv
    /// (file,raga,tradition,split), e.g. from `ragasense synth`.
    #[arg(long)]
    data: PathBuf,
    /// Model and schedule: `small` trains in minutes on a CPU, `full` is the reference model.
    #[arg(long, default_value = "small")]
    profile: String,
    /// Backend (default: wgpu when a GPU adapter exists, else flex).
    #[arg(long, value_enum, conflicts_with = "devices")]
    device: Option<DeviceChoice>,
    /// Train data parallel over several devices in this process, e.g. `wgpu:0,wgpu:1`
    /// (`wgpu:N`: the N-th discrete GPU; also `wgpu`, `wgpu:cpu`, `flex`). Every batch is
    /// split across them and the gradients summed on the first, which also validates.
    #[arg(long)]
    devices: Option<String>,
    /// Seed of weights, windows and augmentation; same seed and device give the same metrics.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Run folder to write (config, checkpoints, metrics.jsonl, report.json, plots).
    #[arg(long)]
    out: PathBuf,
    /// Override the profile's number of epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Track the run on this registry (also RAGASENSE_TRACKING_URI, then
    /// MLFLOW_TRACKING_URI): params, metrics, artifacts, and the int8 package registered as
    /// a new model version. Without it (and without either variable) nothing is sent.
    #[arg(long)]
    tracking_uri: Option<String>,
    /// Registered model the run's package becomes a version of.
    #[arg(long, default_value = "raga-detector")]
    model_name: String,
    /// Promote the new version to this stage when its test accuracy clears --min-accuracy.
    #[arg(long, value_enum)]
    promote: Option<Stage>,
    /// Test accuracy a version needs to be promoted.
    #[arg(long, default_value_t = 0.87)]
    min_accuracy: f64,
}

/// Facts about where a run comes from, kept in config.json and sent as tags.
fn origin_tags(args: &Args, device_name: &str, devices: &[String]) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    let git = std::process::Command::new("git").args(["rev-parse", "HEAD"]).output();
    if let Some(out) = git.ok().filter(|o| o.status.success()) {
        tags.insert("git_commit".into(), String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    tags.insert("dataset_fingerprint".into(), dataset_fingerprint(&args.data));
    tags.insert("device".into(), device_name.to_string());
    if devices.len() > 1 {
        tags.insert("devices".into(), devices.join(","));
    }
    tags.insert("adapter".into(), super::device::adapter(device_name));
    tags.insert("profile".into(), args.profile.clone());
    tags.insert("seed".into(), args.seed.to_string());
    tags.insert("ragasense_version".into(), env!("CARGO_PKG_VERSION").into());
    tags.insert("burn_version".into(), "0.22.1".into());
    tags
}

/// sha256 over the corpus's metadata.csv and the sorted (path, size) of its files: changes
/// when any clip is added, removed or rewritten at another size.
pub fn dataset_fingerprint(data: &Path) -> String {
    use sha2::{Digest, Sha256};
    let mut entries = Vec::new();
    let mut stack = vec![data.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else { continue };
        for entry in read.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue; // the feature cache
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(meta) = entry.metadata() {
                let rel = path.strip_prefix(data).unwrap_or(&path).to_string_lossy().into_owned();
                entries.push((rel, meta.len()));
            }
        }
    }
    entries.sort();
    let mut hasher = Sha256::new();
    for (rel, len) in &entries {
        hasher.update(format!("{rel}\t{len}\n"));
    }
    if let Ok(meta) = std::fs::read(data.join("metadata.csv")) {
        hasher.update(&meta);
    }
    hex::encode(hasher.finalize())
}

/// Where a run keeps the corpus's `metadata.csv` (a synthetic corpus's recipe: raga, seed and
/// length of every clip), so `ragasense reproduce` can render the corpus again.
pub const DATASET_RECORD: &str = "dataset/metadata.csv";

/// Copies `data/metadata.csv` into the run folder (nothing when the corpus has none).
fn record_dataset(data: &Path, run_dir: &Path) -> Result<()> {
    let source = data.join("metadata.csv");
    if !source.is_file() {
        return Ok(());
    }
    let target = run_dir.join(DATASET_RECORD);
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    std::fs::copy(&source, &target)
        .with_context(|| format!("copying {} to {}", source.display(), target.display()))?;
    Ok(())
}

pub fn run_cmd(args: Args) -> Result<()> {
    let (devices, device_name, device_list) = match &args.devices {
        Some(list) => {
            let (devices, names) = parse_devices(list).map_err(anyhow::Error::msg)?;
            // The main device's backend, as `--device` would record it.
            let main = if names[0] == "flex" { "flex" } else { "wgpu" };
            (devices, main, names)
        }
        None => {
            let (device, name) = pick(args.device);
            (vec![device], name, vec![name.to_string()])
        }
    };
    let device = devices[0].clone();
    let options = RunOptions {
        data: args.data.clone(),
        profile: args.profile.clone(),
        seed: args.seed,
        out: args.out.clone(),
        epochs: args.epochs,
        device_name: device_name.to_string(),
        tags: origin_tags(&args, device_name, &device_list),
        config: None,
    };
    let tracking = RegistryClient::configured_uri(args.tracking_uri.as_deref()).is_some();
    eprintln!(
        "training profile {} on {}, data {}, run folder {}",
        args.profile,
        device_list.join(", "),
        args.data.display(),
        args.out.display()
    );
    super::track::TrackingState::forget(&args.out)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create folder", args.out.display()))?;
    record_dataset(&args.data, &args.out)?;
    let mut bars = Bars::logging_to(&args.out.join("train.log"))?;
    let summary = if tracking {
        let client = RegistryClient::from_env(args.tracking_uri.as_deref())?;
        let mut live = LiveTracking::new(&mut bars, client, &args.out, &args.model_name)?;
        let result = run(&options, &devices, &mut live);
        if result.is_err() {
            live.fail();
        }
        result
    } else {
        run(&options, &devices, &mut bars)
    }
    .with_context(|| format!("training on {}", args.data.display()))?;
    let trained_at = Instant::now();
    let r = &summary.report;
    // The summary goes to stdout and into train.log.
    let mut say = |line: String| {
        println!("{line}");
        bars.log(&line);
    };
    say(format!("run folder     {}", summary.run_dir));
    say(format!(
        "best epoch     {} of {} (val accuracy {:.3})",
        summary.best_epoch, summary.epochs_run, summary.val_accuracy
    ));
    say(format!(
        "{:<14} accuracy {:.3}, macro-F1 {:.3} over {} clips",
        format!("{} split", r.split),
        r.accuracy,
        r.macro_f1,
        r.clips
    ));
    if let Some(hidden) = r.accuracy_tradition_hidden {
        say(format!("{:<14} accuracy {hidden:.3} with the tradition withheld", ""));
    }
    say(format!(
        "time           features {:.0} s, training {:.0} s, inference {:.1} ms per held-out clip",
        summary.feature_seconds, summary.train_seconds, summary.inference_ms_per_clip
    ));
    if tracking {
        // Both packages go into the run folder, so they are tracked as artifacts.
        for q in [Quantization::F32, Quantization::Int8] {
            let out = args.out.join("package").join(q.as_str());
            package_run(&args.out, q, &args.model_name, &out, &device)
                .with_context(|| format!("packaging the run as {}", q.as_str()))?;
        }
        let client = RegistryClient::from_env(args.tracking_uri.as_deref())?;
        super::block_on(track_and_register(&args, &client, &summary, trained_at)).with_context(|| {
            format!(
                "training finished and is saved in {}, but tracking on {} failed; run \
                 `ragasense sync {}` when the server is reachable",
                args.out.display(),
                client.base(),
                args.out.display()
            )
        })?;
    }
    Ok(())
}

/// Sends the run, registers its int8 package, promotes it when asked and good enough, and
/// prints how long the new version took to reach browsers.
async fn track_and_register(
    args: &Args,
    client: &RegistryClient,
    summary: &RunSummary,
    trained_at: Instant,
) -> Result<()> {
    use super::track::{Scope, sync};
    let report = sync(&args.out, client, &args.model_name, Scope::All).await?;
    println!(
        "tracked        run {} in experiment {} on {}",
        report.run_id,
        super::track::experiment_name(&args.model_name),
        client.base()
    );
    let Some(version) = super::track::register(&args.out, client, &args.model_name).await? else {
        bail!("{} has no package/int8 to register", args.out.display());
    };
    println!("registered     {} version {version} (int8)", args.model_name);
    let Some(stage) = args.promote else { return Ok(()) };
    let accuracy = summary.report.accuracy;
    if accuracy < args.min_accuracy {
        println!(
            "not promoted   {} accuracy {accuracy:.3} is under --min-accuracy {:.3}; version {version} stays at None",
            summary.report.split, args.min_accuracy
        );
        return Ok(());
    }
    let number: u64 = version.parse().with_context(|| format!("version {version:?} is not a number"))?;
    client.promote(&args.model_name, number, stage, true).await?;
    // The stage's name as an alias too, so browsers can load `@production`.
    let alias = stage.to_string().to_ascii_lowercase();
    client.set_alias(&args.model_name, &alias, number).await?;
    // Deploy time: training finished → the alias's browser URL serves the new version.
    let selector = format!("@{alias}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if client.published_version(&args.model_name, &selector).await?.as_deref() == Some(version.as_str()) {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "version {version} was promoted but /v1/models/{}/{selector}/manifest.json does not serve it",
                args.model_name
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "deployed       {} version {version} → {stage}: /v1/models/{}/{selector}/manifest.json serves it {:.1} s after training finished",
        args.model_name,
        args.model_name,
        trained_at.elapsed().as_secs_f64()
    );
    Ok(())
}
