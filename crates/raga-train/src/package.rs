//! `ragasense package`: turns a run folder into a model package (manifest + weights).

use std::path::{Path, PathBuf};

use burn::prelude::*;
use raga_model::package::{MANIFEST_FILE, Manifest, WEIGHTS_FILE, load_weights, weights_to_bytes};
use raga_model::{FeatureStats, Quantization};

use crate::run::{RunConfig, RunSummary, read_json};
use crate::{TrainError, write_atomic};

/// Writes a package of the run's best checkpoint, quantized as asked, into `out` (created;
/// an existing package there is replaced). Returns the manifest.
pub fn package_run(
    run_dir: &Path,
    quantization: Quantization,
    name: &str,
    out: &Path,
    device: &Device,
) -> Result<Manifest, TrainError> {
    let config: RunConfig = read_json(&run_dir.join("config.json"))?;
    let train = config.train_config()?;
    let stats: FeatureStats = read_json(&run_dir.join("reference_stats.json"))?;
    let summary: Option<RunSummary> = read_json(&run_dir.join("summary.json")).ok();
    let templates_path = run_dir.join(crate::run::SCALE_TEMPLATES_FILE);
    let scale_templates: Option<raga_model::ScaleTemplates> =
        if templates_path.exists() { Some(read_json(&templates_path)?) } else { None };
    let best = run_dir.join("checkpoints").join("best.bpk");
    let bytes = std::fs::read(&best).map_err(|e| {
        TrainError::Run(format!("{}: {e}; is {} a finished training run?", best.display(), run_dir.display()))
    })?;
    let mut model = train.model.init(device);
    load_weights(&mut model, bytes, Quantization::F32).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    let weights = weights_to_bytes(&model, quantization)?;

    let training = serde_json::json!({
        "run_dir": run_dir.display().to_string(),
        "profile": train.profile,
        "seed": train.seed,
        "device": config.device,
        "clips": config.clips,
        "best_epoch": summary.as_ref().map(|s| s.best_epoch),
        "epochs_run": summary.as_ref().map(|s| s.epochs_run),
        "train_seconds": summary.as_ref().map(|s| s.train_seconds),
        "val_accuracy": summary.as_ref().map(|s| s.val_accuracy),
        "test_split": summary.as_ref().map(|s| s.report.split.clone()),
        "test_accuracy": summary.as_ref().map(|s| s.report.accuracy),
        "test_macro_f1": summary.as_ref().map(|s| s.report.macro_f1),
    });
    let mut manifest = Manifest::new(
        name,
        config.labels.clone(),
        config.traditions.clone(),
        train.model.clone(),
        config.features.clone(),
        quantization,
        &weights,
    );
    manifest.training = training;
    manifest.reference_stats = stats;
    manifest.scale_templates = scale_templates;
    // The version of the features the run was trained on (checked against this build below).
    manifest.features_version = config.features_version;
    // Check what we are about to write with the same code that will read it.
    let manifest_bytes = manifest.to_json();
    Manifest::from_json(&manifest_bytes)?;

    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    write_atomic(&out.join(WEIGHTS_FILE), &weights)?;
    write_atomic(&out.join(MANIFEST_FILE), &manifest_bytes)?;
    Ok(manifest)
}

/// Reads and checks a package folder: manifest, hashes, shapes and feature config.
pub fn read_package(dir: &Path) -> Result<(Vec<u8>, Vec<u8>), TrainError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest = std::fs::read(&manifest_path).map_err(|e| {
        TrainError::Run(format!(
            "{}: {e}; is {} a model package (ragasense package …)?",
            manifest_path.display(),
            dir.display()
        ))
    })?;
    let weights_path: PathBuf = dir.join(WEIGHTS_FILE);
    let weights = std::fs::read(&weights_path).map_err(|e| TrainError::io(&weights_path, e))?;
    Ok((manifest, weights))
}
