//! `ragasense reproduce RUN_ID`: retrains a tracked run from what the server kept — its exact
//! training config, seed and device, on the same corpus (checked by its fingerprint; a
//! synthetic corpus that is gone or changed is rendered again from the seeds the run
//! recorded) — and compares the new run's metrics with the original's, epoch by epoch.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use raga_train::{EpochMetrics, RunConfig, RunOptions, run};
use registry_server::client::RegistryClient;

use super::device::{DeviceChoice, pick};
use super::progress::Bars;
use super::synth::render_corpus;
use super::train::DATASET_RECORD;

/// Arguments of `ragasense reproduce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run id on the tracking server (`ragasense train --tracking-uri` prints it).
    run_id: String,
    /// Registry URL (falls back to RAGASENSE_TRACKING_URI, then MLFLOW_TRACKING_URI).
    #[arg(long)]
    tracking_uri: Option<String>,
    /// Corpus folder (default: the path the run trained on when it is still the same corpus,
    /// else the corpus rendered again from the run's recorded seeds into OUT-corpus).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Run folder to write the reproduction to.
    #[arg(long)]
    out: PathBuf,
    /// Backend (default: the one the run trained on; metrics match only on the same one).
    #[arg(long, value_enum)]
    device: Option<DeviceChoice>,
}

fn epochs(jsonl: &[u8]) -> Result<Vec<EpochMetrics>> {
    EpochMetrics::parse_jsonl(&String::from_utf8_lossy(jsonl)).context("parsing metrics.jsonl")
}

pub fn run_cmd(args: Args) -> Result<()> {
    let client = RegistryClient::from_env(args.tracking_uri.as_deref())?;
    let (config, original, recipe): (RunConfig, Vec<EpochMetrics>, Option<Vec<u8>>) =
        super::block_on(async {
            let uri = client
                .run_artifact_uri(&args.run_id)
                .await
                .with_context(|| format!("run {}", args.run_id))?;
            let config =
                client.download_artifact(&uri, "config.json").await.context("downloading config.json")?;
            let metrics =
                client.download_artifact(&uri, "metrics.jsonl").await.context("downloading metrics.jsonl")?;
            // Runs from before the record, or on corpora without metadata.csv, have none.
            let recipe = client.download_artifact(&uri, DATASET_RECORD).await.ok();
            Ok((serde_json::from_slice(&config).context("parsing config.json")?, epochs(&metrics)?, recipe))
        })?;
    let train_config = config.train_config()?;
    if config.features != raga_dsp::FeatureConfig::default()
        || config.features_version != raga_dsp::FEATURES_VERSION
    {
        bail!(
            "run {} used other feature settings (features version {}, this build computes version {}); \
             reproduce it with the ragasense version that trained it",
            args.run_id,
            config.features_version,
            raga_dsp::FEATURES_VERSION
        );
    }
    // Each candidate folder's fingerprint is computed once.
    let recorded = config.tags.get("dataset_fingerprint");
    let mismatch = |dir: &Path| -> Option<String> {
        let now = super::train::dataset_fingerprint(dir);
        recorded.filter(|r| **r != now).map(|r| format!("fingerprint {now}, recorded {r}"))
    };
    let data = args.data.clone().unwrap_or_else(|| PathBuf::from(&config.data));
    let mut problem = mismatch(&data);
    let data = match (&problem, &args.data, &recipe) {
        (Some(_), None, Some(metadata)) => {
            let mut out = args.out.clone().into_os_string();
            out.push("-corpus");
            let out = PathBuf::from(out);
            eprintln!(
                "the corpus at {} is gone or changed: rendering it again from the run's seeds into {}",
                data.display(),
                out.display()
            );
            let n = render_corpus(metadata, &out)
                .with_context(|| format!("rendering the corpus of run {} again", args.run_id))?;
            println!("rendered       {n} clips again from the run's seeds into {}", out.display());
            problem = mismatch(&out);
            out
        }
        _ => data,
    };
    if let Some(problem) = problem {
        bail!(
            "the corpus at {} is not the one run {} trained on ({problem}); \
             render it again with the seeds in its metadata.csv or pass --data",
            data.display(),
            args.run_id
        );
    }
    let choice = args.device.or_else(|| clap::ValueEnum::from_str(&config.device, true).ok());
    let (device, device_name) = pick(choice);
    let mut tags = config.tags.clone();
    tags.insert("reproduces".into(), args.run_id.clone());
    let options = RunOptions {
        data: data.clone(),
        profile: train_config.profile.clone(),
        seed: config.seed,
        out: args.out.clone(),
        epochs: None,
        device_name: device_name.to_string(),
        tags,
        config: Some(train_config),
    };
    eprintln!("reproducing run {} on {device_name} into {}", args.run_id, args.out.display());
    run(&options, std::slice::from_ref(&device), &mut Bars::default())
        .with_context(|| format!("training on {}", data.display()))?;
    let new =
        epochs(&std::fs::read(args.out.join("metrics.jsonl")).context("reading the new metrics.jsonl")?)?;

    // Timings differ from run to run; losses and scores must not.
    let mut differences = Vec::new();
    if new.len() != original.len() {
        differences.push(format!("{} epochs, the original ran {}", new.len(), original.len()));
    }
    for (a, b) in original.iter().zip(&new) {
        for (name, x, y) in [
            ("train_loss", a.train_loss, b.train_loss),
            ("train_accuracy", a.train_accuracy, b.train_accuracy),
            ("val_loss", a.val_loss, b.val_loss),
            ("val_accuracy", a.val_accuracy, b.val_accuracy),
            ("val_macro_f1", a.val_macro_f1, b.val_macro_f1),
        ] {
            if (x - y).abs() > 1e-9 * x.abs().max(1.0) {
                differences.push(format!("epoch {}: {name} {y} vs {x}", a.epoch));
            }
        }
    }
    if differences.is_empty() {
        println!(
            "reproduced     run {} in {}: {} epochs, every loss and score matches the original",
            args.run_id,
            args.out.display(),
            new.len()
        );
        Ok(())
    } else {
        bail!(
            "the reproduction in {} differs from run {}: {}",
            args.out.display(),
            args.run_id,
            differences.join("; ")
        )
    }
}
