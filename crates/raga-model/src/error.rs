//! The model crate's error type.

/// What can go wrong building, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model configuration cannot build a network.
    #[error("invalid model config: {0}")]
    Config(String),
    /// The package manifest is not valid JSON or misses fields.
    #[error("invalid manifest.json: {0}")]
    Manifest(String),
    /// The package was written by a newer or different format.
    #[error(
        "unsupported package format {found:?} (this build reads {expected:?}); re-package the run with this version"
    )]
    Format { found: String, expected: String },
    /// A file listed in the manifest is missing from the package.
    #[error("package file {0:?} is missing")]
    MissingFile(String),
    /// A file's bytes differ from what the manifest recorded.
    #[error(
        "package file {path:?} is corrupt or truncated: expected {expected_size} bytes with sha256 {expected_sha256}, found {found_size} bytes with sha256 {found_sha256}"
    )]
    Integrity {
        path: String,
        expected_size: u64,
        expected_sha256: String,
        found_size: u64,
        found_sha256: String,
    },
    /// The package's features were computed differently from this build's DSP.
    #[error("feature mismatch: {0}")]
    Features(String),
    /// The weights do not fit the network the manifest describes.
    #[error("weights do not match the model config: {0}")]
    Weights(String),
    /// The clip gave nothing to classify.
    #[error("nothing to classify: {0}")]
    EmptyInput(String),
    /// The device failed while running the model.
    #[error("inference failed on the device: {0}")]
    Device(String),
}
