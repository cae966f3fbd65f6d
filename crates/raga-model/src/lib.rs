//! The raga model, defined once and shared by the trainer, the registry server and the browser.
//!
//! - [`input`]: features → the numbers the network reads (per-frame values, windows).
//! - [`model`]: [`RagaModelConfig`] builds the [`RagaModel`] (burn), whose `forward` scores
//!   every raga for a batch of windows.
//! - [`package`]: the model package (manifest + burnpack weights), quantization, integrity
//!   checks — all on bytes.
//! - [`classify`]: windowed inference and aggregation into a [`Prediction`].
//! - [`scale`]: the scale-template expert (each raga's share of time per note), weighed with
//!   the network at inference.
//! - [`stats`]: feature statistics for the training-set baseline and drift detection.
//!
//! **Architecture invariant:** this crate knows nothing of files, HTTP, SQL or JavaScript; it
//! takes a `&Device` and never picks a backend.

mod batch;
pub mod classify;
mod error;
pub mod input;
pub mod model;
pub mod package;
pub mod scale;
pub mod stats;

pub use classify::{Classifier, ClipRun, Prediction, RagaScore, TonicCheck, TonicView};
pub use error::ModelError;
pub use input::{ClipFrames, Tradition, Window};
pub use model::{MAX_PARAMETERS, ModelInput, RagaModel, RagaModelConfig};
pub use package::{Manifest, Quantization};
pub use scale::{ScaleProfile, ScaleTemplates};
pub use stats::{FeatureStats, StatsAccumulator};
