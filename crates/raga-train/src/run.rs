//! One training run end to end: scan the corpus, compute (or load cached) features, record the
//! training set's feature statistics, train, evaluate on the test split, and write the run
//! folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::prelude::*;
use raga_dsp::FeatureConfig;
use raga_model::{Classifier, StatsAccumulator, Tradition};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cache::FeatureCache;
use crate::corpus::{Corpus, CorpusClip, Split};
use crate::data::{AugmentConfig, Example};
use crate::metrics::{ClassScore, Confusion};
use crate::train::{EpochMetrics, TrainConfig, TrainData, evaluate, train};
use crate::{Progress, TrainError};

/// The run folder's file of scale templates (see [`raga_model::scale`]), which `package` puts
/// in the manifest; runs from before it have none.
pub const SCALE_TEMPLATES_FILE: &str = "scale_templates.json";

/// What `ragasense train` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Corpus folder.
    pub data: PathBuf,
    /// Profile name.
    pub profile: String,
    /// Seed.
    pub seed: u64,
    /// Run folder to write.
    pub out: PathBuf,
    /// Override of the profile's epoch count.
    pub epochs: Option<usize>,
    /// Name of the device, for the record.
    pub device_name: String,
    /// Facts about the run's origin (git commit, dataset fingerprint, adapter, versions),
    /// kept in `config.json` and sent to the tracking server as tags.
    pub tags: std::collections::BTreeMap<String, String>,
    /// The exact training config to use instead of the profile's (to reproduce a tracked
    /// run whatever the profiles say today); its class count must match the corpus.
    pub config: Option<TrainConfig>,
}

/// `config.json` of a run: everything needed to rebuild and package the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunConfig {
    /// The training config (model config nested).
    pub train: serde_json::Value,
    /// Raga ids in output order.
    pub labels: Vec<String>,
    /// Tradition of each label.
    pub traditions: Vec<Tradition>,
    /// DSP settings.
    pub features: FeatureConfig,
    /// [`raga_dsp::FEATURES_VERSION`].
    pub features_version: u32,
    /// Corpus folder.
    pub data: String,
    /// Clips per split.
    pub clips: std::collections::BTreeMap<String, usize>,
    /// Device trained on.
    pub device: String,
    /// Seed of weights, windows and augmentation.
    #[serde(default)]
    pub seed: u64,
    /// When training started, milliseconds since the Unix epoch.
    #[serde(default)]
    pub started_ms: i64,
    /// See [`RunOptions::tags`].
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

impl RunConfig {
    /// The training config.
    pub fn train_config(&self) -> Result<TrainConfig, TrainError> {
        let mut train = self.train.clone();
        if let Some(model) = train.get_mut("model") {
            raga_model::RagaModelConfig::upgrade_saved(model);
        }
        if let Some(augment) = train.get_mut("augment").and_then(|a| a.as_object_mut()) {
            AugmentConfig::upgrade_saved(augment);
        }
        serde_json::from_value(train).map_err(|e| TrainError::Run(format!("config.json: train: {e}")))
    }
}

/// `report.json`: how the best model does on held-out clips.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Which split the report is on (`test`, or `val` when the corpus has no test clips).
    pub split: String,
    /// Clips scored.
    pub clips: usize,
    /// Clip accuracy, each clip's tradition given to the model where the corpus metadata
    /// names it.
    pub accuracy: f64,
    /// Clip accuracy with the tradition withheld from the model (absent in older reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_tradition_hidden: Option<f64>,
    /// Macro-averaged F1.
    pub macro_f1: f64,
    /// Per raga precision / recall / F1.
    pub per_raga: Vec<ClassScore>,
    /// Raga ids, the rows and columns of the matrix.
    pub labels: Vec<String>,
    /// Confusion matrix, row = truth, column = prediction.
    pub confusion: Vec<Vec<u64>>,
    /// Clips the model got wrong: (file, truth, predicted, confidence).
    pub errors: Vec<(String, String, String, f32)>,
}

/// What a run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run folder.
    pub run_dir: String,
    /// Best epoch.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Seconds spent computing features (0 when all were cached).
    pub feature_seconds: f64,
    /// Seconds spent training.
    pub train_seconds: f64,
    /// Validation accuracy of the best epoch.
    pub val_accuracy: f64,
    /// The held-out report.
    pub report: Report,
    /// Last epoch's metrics.
    pub last_epoch: Option<EpochMetrics>,
    /// Wall time of classifying the held-out split (windows batched across clips, tonic
    /// views included), per clip, milliseconds.
    #[serde(default)]
    pub inference_ms_per_clip: f64,
}

/// Runs training and writes the run folder. `devices[0]` is the main device (training,
/// validation, the held-out evaluation); with several devices training is data parallel over
/// all of them (see [`train`]).
pub fn run(
    options: &RunOptions,
    devices: &[Device],
    progress: &mut dyn Progress,
) -> Result<RunSummary, TrainError> {
    let Some(device) = devices.first() else {
        return Err(TrainError::Config("no device to train on".into()));
    };
    let corpus = Corpus::scan(&options.data)?;
    let mut config = match &options.config {
        Some(c) if c.model.n_classes != corpus.labels.len() => {
            return Err(TrainError::Config(format!(
                "the config is for {} ragas but {} has {}",
                c.model.n_classes,
                options.data.display(),
                corpus.labels.len()
            )));
        }
        Some(c) => c.clone(),
        None => TrainConfig::profile(&options.profile, corpus.labels.len())?,
    }
    .with_seed(options.seed);
    if let Some(epochs) = options.epochs {
        if epochs == 0 {
            return Err(TrainError::Config("--epochs must be at least 1".into()));
        }
        config.epochs = epochs;
    }
    std::fs::create_dir_all(&options.out).map_err(|e| TrainError::io(&options.out, e))?;
    let features = FeatureConfig::default();

    let started = Instant::now();
    let cache = FeatureCache::new(&options.data, &features);
    let examples = load_examples(&corpus, &cache, &features, progress)?;
    let feature_seconds = started.elapsed().as_secs_f64();
    let by_split = |split: Split| -> Vec<Example> {
        corpus.clips.iter().zip(&examples).filter(|(c, _)| c.split == split).map(|(_, e)| e.clone()).collect()
    };
    let (train_set, mut val_set, test_set) =
        (by_split(Split::Train), by_split(Split::Val), by_split(Split::Test));
    if train_set.is_empty() {
        return Err(TrainError::Corpus(format!(
            "{}: no training clips (metadata.csv marks none as train)",
            options.data.display()
        )));
    }
    if val_set.is_empty() {
        progress.note("no validation clips: validating on the test split");
        val_set = test_set.clone();
    }
    if val_set.is_empty() {
        return Err(TrainError::Corpus(format!(
            "{}: no validation or test clips; add some (ragasense synth --split val) or drop the split column",
            options.data.display()
        )));
    }

    let mut stats = StatsAccumulator::default();
    for ex in &train_set {
        stats.push(&ex.features);
    }
    let reference_stats = stats.finish();
    write_json(&options.out.join("reference_stats.json"), &reference_stats)?;

    let run_config = RunConfig {
        train: serde_json::to_value(&config).map_err(|e| TrainError::Run(e.to_string()))?,
        labels: corpus.labels.clone(),
        traditions: corpus.traditions.clone(),
        features: features.clone(),
        features_version: raga_dsp::FEATURES_VERSION,
        data: options.data.display().to_string(),
        clips: [Split::Train, Split::Val, Split::Test]
            .into_iter()
            .map(|s| (s.as_str().to_string(), corpus.count(s)))
            .collect(),
        device: options.device_name.clone(),
        seed: options.seed,
        started_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        tags: options.tags.clone(),
    };
    write_json(&options.out.join("config.json"), &run_config)?;

    let started = Instant::now();
    let trained = train(
        &config,
        &corpus.labels,
        &corpus.traditions,
        TrainData { train: &train_set, val: &val_set },
        devices,
        &options.out,
        progress,
    )?;
    let train_seconds = started.elapsed().as_secs_f64();

    let (split, held_out) = if test_set.is_empty() { ("val", &val_set) } else { ("test", &test_set) };
    let score = |hide_tradition| {
        evaluate(
            &trained.model,
            &config.model,
            Some(&trained.templates),
            &corpus.labels,
            &corpus.traditions,
            held_out,
            hide_tradition,
            device,
        )
    };
    write_json(&options.out.join(SCALE_TEMPLATES_FILE), &trained.templates)?;
    let timer = Instant::now();
    let eval = score(false)?;
    let inference_ms_per_clip = timer.elapsed().as_secs_f64() * 1000.0 / held_out.len().max(1) as f64;
    let hidden = score(true)?;
    let mut report = report(split, &corpus.labels, &eval.confusion, &eval.predictions);
    report.accuracy_tradition_hidden = Some(hidden.confusion.accuracy());
    write_json(&options.out.join("report.json"), &report)?;
    write_plots(&options.out, &config.profile, &trained.history, trained.best_epoch, &report)?;

    let summary = RunSummary {
        run_dir: options.out.display().to_string(),
        best_epoch: trained.best_epoch,
        epochs_run: trained.history.len(),
        stopped_early: trained.stopped_early,
        feature_seconds,
        train_seconds,
        val_accuracy: trained
            .history
            .iter()
            .find(|m| m.epoch == trained.best_epoch)
            .map_or(0.0, |m| m.val_accuracy),
        report,
        last_epoch: trained.history.last().cloned(),
        inference_ms_per_clip,
    };
    write_json(&options.out.join("summary.json"), &summary)?;
    Ok(summary)
}

fn report(
    split: &str,
    labels: &[String],
    confusion: &Confusion,
    predictions: &[(String, usize, usize, f32)],
) -> Report {
    Report {
        split: split.to_string(),
        clips: predictions.len(),
        accuracy: confusion.accuracy(),
        accuracy_tradition_hidden: None,
        macro_f1: confusion.macro_f1(),
        per_raga: confusion.per_class(labels),
        labels: labels.to_vec(),
        confusion: confusion.counts.clone(),
        errors: predictions
            .iter()
            .filter(|(_, t, p, _)| t != p)
            .map(|(f, t, p, c)| (f.clone(), labels[*t].clone(), labels[*p].clone(), *c))
            .collect(),
    }
}

/// Features of every clip of the corpus (cached), in parallel, in corpus order.
fn load_examples(
    corpus: &Corpus,
    cache: &FeatureCache,
    features: &FeatureConfig,
    progress: &mut dyn Progress,
) -> Result<Vec<Example>, TrainError> {
    progress.start("features", corpus.clips.len() as u64);
    let chunk = rayon::current_num_threads().max(1) * 4;
    let mut out = Vec::with_capacity(corpus.clips.len());
    for clips in corpus.clips.chunks(chunk) {
        let done: Vec<Result<Example, TrainError>> = clips
            .par_iter()
            .map(|clip: &CorpusClip| {
                let f = cache.features(&clip.path, features)?;
                Ok(Example::new(Arc::new(f), clip.label, clip.tradition, clip.rel.clone(), clip.tonic_hz))
            })
            .collect();
        for ex in done {
            out.push(ex?);
        }
        progress.advance(clips.len() as u64, "");
    }
    Ok(out)
}

/// Scores a model package on a corpus folder (every clip, or only the test split when the
/// corpus marks one).
pub fn evaluate_package(
    classifier: &Classifier,
    data: &Path,
    progress: &mut dyn Progress,
) -> Result<Report, TrainError> {
    let corpus = Corpus::scan(data)?;
    let manifest = classifier.manifest();
    let features = manifest.features.clone();
    let cache = FeatureCache::new(data, &features);
    let examples = load_examples(&corpus, &cache, &features, progress)?;
    let test: Vec<&Example> =
        corpus.clips.iter().zip(&examples).filter(|(c, _)| c.split == Split::Test).map(|(_, e)| e).collect();
    let (split, chosen) = if test.is_empty() { ("all", examples.iter().collect()) } else { ("test", test) };
    let labels = &manifest.labels;
    let mut confusion = Confusion::new(labels.len());
    let mut hidden = Confusion::new(labels.len());
    let mut predictions = Vec::new();
    let mut unknown = 0usize;
    for ex in chosen {
        let Some(truth) = labels.iter().position(|l| *l == corpus.labels[ex.label]) else {
            unknown += 1;
            continue;
        };
        let position = |raga: &str| labels.iter().position(|l| l == raga).unwrap_or(0);
        let p = classifier.classify(&ex.features, ex.tradition)?;
        let predicted = position(&p.raga);
        confusion.add(truth, predicted);
        predictions.push((ex.rel.clone(), truth, predicted, p.confidence));
        let blind = if ex.tradition == Tradition::Unknown {
            p
        } else {
            classifier.classify(&ex.features, Tradition::Unknown)?
        };
        hidden.add(truth, position(&blind.raga));
    }
    if unknown > 0 {
        progress.note(&format!("{unknown} clips skipped: their raga is not one of the model's labels"));
    }
    if predictions.is_empty() {
        return Err(TrainError::Corpus(format!("{}: no clips of the model's ragas", data.display())));
    }
    let mut report = report(split, labels, &confusion, &predictions);
    report.accuracy_tradition_hidden = Some(hidden.accuracy());
    Ok(report)
}

/// `plots/training_curves.{svg,png}` and `plots/confusion_matrix.{svg,png}`.
fn write_plots(
    run_dir: &Path,
    profile: &str,
    history: &[EpochMetrics],
    best_epoch: usize,
    report: &Report,
) -> Result<(), TrainError> {
    let dir = run_dir.join("plots");
    let points: Vec<raga_plot::CurvePoint> = history
        .iter()
        .map(|m| raga_plot::CurvePoint {
            epoch: m.epoch,
            train_loss: m.train_loss,
            val_loss: m.val_loss,
            train_accuracy: m.train_accuracy,
            val_accuracy: m.val_accuracy,
        })
        .collect();
    let plot_err = |e: raga_plot::PlotError| TrainError::Run(format!("plots: {e}"));
    raga_plot::training_curves(
        &dir,
        "training_curves",
        &format!("raga model ({profile} profile)"),
        &points,
        Some(best_epoch),
    )
    .map_err(plot_err)?;
    raga_plot::confusion_matrix(
        &dir,
        "confusion_matrix",
        &format!("{} split, best epoch {best_epoch}", report.split),
        &report.labels,
        &report.confusion,
    )
    .map_err(plot_err)?;
    Ok(())
}

/// Writes pretty JSON atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), TrainError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| TrainError::Run(e.to_string()))?;
    bytes.push(b'\n');
    crate::write_atomic(path, &bytes)
}

/// Reads JSON, naming the file in errors.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, TrainError> {
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| TrainError::Run(format!("{}: {e}", path.display())))
}
