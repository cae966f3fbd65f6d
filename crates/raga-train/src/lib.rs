//! Trains the raga model: corpus scanning, cached features, augmentation, the training loop,
//! metrics, the run folder (config, checkpoints, `metrics.jsonl`, `report.json`, plots), and
//! packaging a run into a model package.
//!
//! The caller (the `ragasense` binary) picks the device and shows progress through
//! [`Progress`]; everything else is here.

pub mod cache;
pub mod corpus;
pub mod data;
pub mod metrics;
pub mod package;
pub mod run;
pub mod train;

pub use corpus::{Corpus, Split};
pub use run::{RunConfig, RunOptions, RunSummary, evaluate_package, run};
pub use train::{EpochMetrics, TrainConfig};

use std::path::Path;

/// What can go wrong while training or packaging.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The corpus folder is missing, empty or badly labelled.
    #[error("corpus: {0}")]
    Corpus(String),
    /// An audio file could not be read or featurized.
    #[error("{0}")]
    Audio(String),
    /// A setting is out of range.
    #[error("invalid training config: {0}")]
    Config(String),
    /// Reading or writing the run folder failed.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}, step {step} (loss is not finite); lower the learning rate")]
    Diverged { epoch: usize, step: usize },
    /// The device failed.
    #[error("device error: {0}")]
    Device(String),
    /// A checkpoint could not be read back.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The run folder is incomplete or inconsistent.
    #[error("run folder: {0}")]
    Run(String),
    /// A model or package error.
    #[error(transparent)]
    Model(#[from] raga_model::ModelError),
}

impl TrainError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.display().to_string(), source }
    }
}

/// Writes `bytes` to `PATH.tmp`, then renames it over `path`, so a crash never leaves a
/// half-written file under the real name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| TrainError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e))
}

/// Progress reports from long work; the binary draws them (progress bars), tests ignore them.
pub trait Progress {
    /// A phase with `total` units of work begins.
    fn start(&mut self, _phase: &str, _total: u64) {}
    /// `n` units are done; `message` summarises the state (e.g. running loss).
    fn advance(&mut self, _n: u64, _message: &str) {}
    /// An epoch finished.
    fn epoch(&mut self, _metrics: &EpochMetrics) {}
    /// Something worth telling the user.
    fn note(&mut self, _text: &str) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Progress for Quiet {}
