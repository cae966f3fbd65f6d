//! The model package: `manifest.json` plus burnpack weights. This is the only thing the
//! trainer, the registry server and the browser share, on disk or on the wire.
//!
//! Everything here works on bytes; reading and writing files is the caller's job, so the
//! same checks run natively and in the browser.

use burn::module::Quantizer;
use burn::prelude::*;
#[cfg(not(target_family = "wasm"))]
use burn::store::ModuleStore;
use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::Bytes;
use burn::tensor::quantization::{Calibration, QuantScheme, QuantValue};
use raga_dsp::FeatureConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ModelError;
use crate::input::{FRAME_FEATURES, HIST_FEATURES, N_MELS, N_TRADITIONS, PITCH_BINS, Tradition};
use crate::model::{RagaModel, RagaModelConfig};
use crate::stats::FeatureStats;

/// The package format this build writes and reads.
pub const FORMAT: &str = "ragasense-model/1";
/// Name of the manifest inside a package.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Name of the weights inside a package.
pub const WEIGHTS_FILE: &str = "model.bpk";

/// How the weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quantization {
    /// Full-precision f32.
    F32,
    /// 8-bit symmetric integers, one f32 scale per weight matrix.
    Int8,
    /// 4-bit symmetric integers, one f32 scale per weight matrix.
    Int4,
}

impl Quantization {
    /// Lower-case name as on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Int8 => "int8",
            Self::Int4 => "int4",
        }
    }

    /// Parses `f32`, `int8` or `int4`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" => Some(Self::F32),
            "int8" | "i8" | "q8" => Some(Self::Int8),
            "int4" | "i4" | "q4" => Some(Self::Int4),
            _ => None,
        }
    }

    /// A description of the scheme for people reading the manifest.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::F32 => "f32 weights, no quantization",
            Self::Int8 => {
                "linear and conv weight matrices as symmetric int8 with one f32 scale per tensor; biases, norms and embeddings f32"
            }
            Self::Int4 => {
                "linear and conv weight matrices as symmetric int4 with one f32 scale per tensor; biases, norms and embeddings f32"
            }
        }
    }

    fn scheme(self) -> Option<QuantScheme> {
        let value = match self {
            Self::F32 => return None,
            Self::Int8 => QuantValue::Q8S,
            Self::Int4 => QuantValue::Q4S,
        };
        Some(QuantScheme::default().with_value(value).per_tensor(burn::tensor::quantization::ScaleDtype::F32))
    }
}

/// The shapes the network reads, so a loader can refuse a package built for other inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Sample rate features are computed at.
    pub sample_rate: u32,
    /// Hop between frames in samples.
    pub hop_length: usize,
    /// Log-mel bands.
    pub n_mels: usize,
    /// Soft pitch-class bins per frame.
    pub pitch_bins: usize,
    /// Values per frame.
    pub frame_features: usize,
    /// Values in the window histogram.
    pub hist_features: usize,
    /// Tradition ids.
    pub n_traditions: usize,
    /// Frames per model window.
    pub window_frames: usize,
    /// Tensor shapes, `null` for the batch dimension.
    pub shapes: serde_json::Value,
}

impl InputSpec {
    /// The input spec of this build for a window length.
    pub fn current(features: &FeatureConfig, window_frames: usize) -> Self {
        Self {
            sample_rate: features.sample_rate,
            hop_length: features.mel.hop_length,
            n_mels: N_MELS,
            pitch_bins: PITCH_BINS,
            frame_features: FRAME_FEATURES,
            hist_features: HIST_FEATURES,
            n_traditions: N_TRADITIONS,
            window_frames,
            shapes: serde_json::json!({
                "frames": [null, window_frames, FRAME_FEATURES],
                "frame_mask": [null, window_frames],
                "hist": [null, HIST_FEATURES],
                "tradition": [null],
                "logits": [null, "n_classes"],
            }),
        }
    }
}

/// One file of the package and its integrity record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the package.
    pub path: String,
    /// Lower-case hex sha256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl FileEntry {
    /// The entry for `bytes` stored at `path`.
    pub fn of(path: &str, bytes: &[u8]) -> Self {
        Self { path: path.to_string(), sha256: sha256_hex(bytes), size: bytes.len() as u64 }
    }
}

/// `manifest.json`: everything a loader needs besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Model name (the registry's registered-model name by default).
    pub name: String,
    /// Raga ids, in the order of the network's outputs.
    pub labels: Vec<String>,
    /// Each label's tradition (same order as `labels`).
    pub traditions: Vec<Tradition>,
    /// The network's config.
    pub model: RagaModelConfig,
    /// The DSP settings the model was trained on; inference must compute features the same way.
    pub features: FeatureConfig,
    /// [`raga_dsp::FEATURES_VERSION`] of the build that trained the model.
    pub features_version: u32,
    /// The shapes the network reads.
    pub input: InputSpec,
    /// How the weights are stored.
    pub quantization: Quantization,
    /// [`Quantization::describe`].
    pub quantization_detail: String,
    /// Training provenance and final metrics (run id, profile, accuracy, …).
    pub training: serde_json::Value,
    /// Feature statistics of the training set, the baseline for drift detection.
    pub reference_stats: FeatureStats,
    /// Each raga's scale template (see [`crate::scale`]), weighed with the network at
    /// inference; absent in packages from before it (the network alone decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_templates: Option<crate::ScaleTemplates>,
    /// Every other file of the package with its size and hash.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// The manifest of a package whose only file is `weights` (the network `model` saved with
    /// `quantization`), for features computed by this build with `features`. Training
    /// provenance starts empty (`{}`) and the reference statistics are those of no clips: set
    /// `training` and `reference_stats` before writing it.
    pub fn new(
        name: &str,
        labels: Vec<String>,
        traditions: Vec<Tradition>,
        model: RagaModelConfig,
        features: FeatureConfig,
        quantization: Quantization,
        weights: &[u8],
    ) -> Self {
        Self {
            format: FORMAT.to_string(),
            name: name.to_string(),
            labels,
            traditions,
            input: InputSpec::current(&features, model.window_frames),
            model,
            features,
            features_version: raga_dsp::FEATURES_VERSION,
            quantization,
            quantization_detail: quantization.describe().to_string(),
            training: serde_json::json!({}),
            reference_stats: crate::StatsAccumulator::default().finish(),
            scale_templates: None,
            files: vec![FileEntry::of(WEIGHTS_FILE, weights)],
        }
    }

    /// Parses and checks a manifest: the format, the input shapes and the feature version must
    /// be the ones this build computes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ModelError::Manifest(format!("not JSON: {e}")))?;
        let format = value.get("format").and_then(|f| f.as_str()).unwrap_or_default().to_string();
        if format != FORMAT {
            return Err(ModelError::Format { found: format, expected: FORMAT.to_string() });
        }
        let mut value = value;
        if let Some(model) = value.get_mut("model") {
            RagaModelConfig::upgrade_saved(model);
        }
        let manifest: Self =
            serde_json::from_value(value).map_err(|e| ModelError::Manifest(e.to_string()))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Serialises the manifest (pretty JSON).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    fn check(&self) -> Result<(), ModelError> {
        self.model.validate()?;
        if self.labels.len() != self.model.n_classes || self.traditions.len() != self.labels.len() {
            return Err(ModelError::Manifest(format!(
                "{} labels and {} traditions for a model with {} classes",
                self.labels.len(),
                self.traditions.len(),
                self.model.n_classes
            )));
        }
        if self.features_version != raga_dsp::FEATURES_VERSION {
            return Err(ModelError::Features(format!(
                "the model was trained on features version {}, this build computes version {}; retrain or use a matching build",
                self.features_version,
                raga_dsp::FEATURES_VERSION
            )));
        }
        let expected = InputSpec::current(&self.features, self.model.window_frames);
        if self.input != expected {
            return Err(ModelError::Features(format!(
                "the model reads inputs {} but this build produces {}",
                serde_json::to_string(&self.input).unwrap_or_default(),
                serde_json::to_string(&expected).unwrap_or_default()
            )));
        }
        if self.features.sample_rate != raga_dsp::SAMPLE_RATE || self.features.mel.n_mels != N_MELS {
            return Err(ModelError::Features(format!(
                "feature config has sample rate {} and {} mels; this build needs {} Hz and {N_MELS} mels",
                self.features.sample_rate,
                self.features.mel.n_mels,
                raga_dsp::SAMPLE_RATE
            )));
        }
        if let Some(templates) = &self.scale_templates {
            templates.validate(self.labels.len())?;
        }
        if !self.files.iter().any(|f| f.path == WEIGHTS_FILE) {
            return Err(ModelError::Manifest(format!("files does not list the weights ({WEIGHTS_FILE})")));
        }
        Ok(())
    }

    /// Checks `bytes` are exactly the file `path` the manifest lists.
    pub fn verify_file(&self, path: &str, bytes: &[u8]) -> Result<(), ModelError> {
        let entry = self
            .files
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| ModelError::Manifest(format!("files does not list {path:?}")))?;
        let found_sha256 = sha256_hex(bytes);
        if entry.size != bytes.len() as u64 || entry.sha256 != found_sha256 {
            return Err(ModelError::Integrity {
                path: path.to_string(),
                expected_size: entry.size,
                expected_sha256: entry.sha256.clone(),
                found_size: bytes.len() as u64,
                found_sha256,
            });
        }
        Ok(())
    }
}

/// Lower-case hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Serialises weights to burnpack bytes, quantizing them first when asked.
pub fn weights_to_bytes(model: &RagaModel, quantization: Quantization) -> Result<Vec<u8>, ModelError> {
    let model = quantize(model.clone(), quantization)?;
    let mut store = BurnpackStore::from_bytes(None);
    model.save_into(&mut store).map_err(|e| ModelError::Weights(format!("cannot serialise: {e}")))?;
    let bytes = store.get_bytes().map_err(|e| ModelError::Weights(format!("cannot serialise: {e}")))?;
    Ok(bytes.to_vec())
}

/// Quantizes the weight matrices of the convolutions and linear layers (not biases, norms or
/// embeddings, which are small and sensitive).
pub fn quantize(model: RagaModel, quantization: Quantization) -> Result<RagaModel, ModelError> {
    let Some(scheme) = quantization.scheme() else {
        return Ok(model);
    };
    let group = burn::module::ParamGroup::from_regex(
        r"(conv\d|linear(_inner|_outer)?|query|key|value|output|hidden|hist)\.weight$",
    )
    .map_err(|e| ModelError::Config(format!("quantization group: {e:?}")))?;
    let mut quantizer = Quantizer::new(Calibration::MinMax, scheme);
    Ok(model.quantize_weights_group(&mut quantizer, group))
}

/// Builds the network the manifest describes on `device` and loads `weights` (already
/// verified with [`Manifest::verify_file`]) into it.
pub fn load_model(manifest: &Manifest, weights: Vec<u8>, device: &Device) -> Result<RagaModel, ModelError> {
    let mut model = manifest.model.init(device);
    load_weights(&mut model, weights, manifest.quantization)?;
    Ok(model)
}

/// The model with its quantized weights replaced by their f32 values, for backends without
/// kernels for the package's quantization (WebGPU has none for `Q8S`).
pub fn dequantize(model: RagaModel) -> RagaModel {
    struct Dequantizer;
    impl burn::module::ModuleMapper for Dequantizer {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<burn::tensor::Tensor<D>>,
        ) -> burn::module::Param<burn::tensor::Tensor<D>> {
            param.map(|t| t.dequantize())
        }
    }
    model.map(&mut Dequantizer)
}

/// Loads burnpack weights, saved with `quantization`, into a model built from the config they
/// were saved from; every tensor must load and none may be missing.
///
/// The file's layout is checked first ([`check_layout`]): burn 0.22 aborts the whole process,
/// rather than return an error, when a tensor's bytes do not match its shape (found by the
/// `package_load` fuzz target: "a panic escaped Module::map during ModuleSnapshot::apply …
/// Aborting"), and a package with matching hashes can be written by anyone.
pub fn load_weights(
    model: &mut RagaModel,
    weights: Vec<u8>,
    quantization: Quantization,
) -> Result<(), ModelError> {
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(weights)));
    // Not in wasm builds: the reference layout serialises a network, which links burn's
    // writer and quantizer into the browser runtime (+300 KB gzipped, over its size limit).
    #[cfg(not(target_family = "wasm"))]
    check_layout(model, quantization, &mut store)?;
    #[cfg(target_family = "wasm")]
    let _ = quantization;
    let result = model.load_from(&mut store).map_err(|e| ModelError::Weights(e.to_string()))?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        let missing: Vec<&str> = result.missing.iter().map(|(p, _)| p.as_str()).collect();
        return Err(ModelError::Weights(format!(
            "{} tensors failed to load ({:?}), {} missing ({})",
            result.errors.len(),
            result.errors.iter().take(3).map(|e| format!("{e:?}")).collect::<Vec<_>>(),
            missing.len(),
            missing.iter().take(5).copied().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(())
}

/// Checks that the weights in `store` are exactly the tensors `model` saved with
/// `quantization` would be: the same names, and for each the same type, shape and length in
/// bytes.
#[cfg(not(target_family = "wasm"))]
fn check_layout(
    model: &RagaModel,
    quantization: Quantization,
    store: &mut BurnpackStore,
) -> Result<(), ModelError> {
    let bad = |what: String| ModelError::Weights(what);
    let expected = weights_to_bytes(model, quantization)?;
    let mut expected = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(expected)));
    let expected = expected.get_all_tensors().map_err(|e| bad(format!("reference layout: {e}")))?;
    let found = store.get_all_tensors().map_err(|e| bad(format!("not a readable burnpack file: {e}")))?;
    for (name, tensor) in found {
        let Some(want) = expected.get(name) else {
            return Err(bad(format!("the weights hold a tensor '{name}' this network does not have")));
        };
        if (tensor.dtype, &tensor.shape, tensor.byte_len()) != (want.dtype, &want.shape, want.byte_len()) {
            return Err(bad(format!(
                "tensor '{name}' is {:?} {:?} in {} bytes, but this network ({}) needs {:?} {:?} in {} bytes",
                tensor.dtype,
                tensor.shape,
                tensor.byte_len(),
                quantization.as_str(),
                want.dtype,
                want.shape,
                want.byte_len()
            )));
        }
    }
    if let Some(missing) = expected.keys().find(|name| !found.contains_key(*name)) {
        return Err(bad(format!("the weights lack the tensor '{missing}'")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{ClipFrames, Tradition};
    use crate::model::ModelInput;

    fn tiny_config() -> RagaModelConfig {
        RagaModelConfig::new(3)
            .with_d_model(32)
            .with_n_heads(2)
            .with_n_layers(1)
            .with_d_ff(64)
            .with_window_frames(32)
    }

    fn manifest(config: &RagaModelConfig, weights: &[u8], quantization: Quantization) -> Manifest {
        Manifest::new(
            "test",
            vec!["yaman".into(), "kalyani".into(), "mohanam".into()],
            vec![Tradition::Hindustani, Tradition::Carnatic, Tradition::Carnatic],
            config.clone(),
            FeatureConfig::default(),
            quantization,
            weights,
        )
    }

    fn input(device: &Device, config: &RagaModelConfig) -> ModelInput {
        let features = raga_dsp::Features {
            sample_rate: 22050,
            hop_length: 512,
            n_mels: N_MELS,
            frames: 40,
            log_mel: (0..40 * N_MELS).map(|i| -((i * 7 % 80) as f32)).collect(),
            f0_hz: vec![220.0; 40],
            voiced_prob: vec![1.0; 40],
            tonic_hz: 220.0,
            tonic_candidates: Vec::new(),
            cents: (0..40).map(|t| Some((t * 30) as f32)).collect(),
            pitch_class_hist: vec![0.0; HIST_FEATURES],
        };
        let clip = ClipFrames::new(&features, 0.0);
        let (a, b) = (clip.window(0, config.window_frames), clip.window(30, config.window_frames));
        ModelInput::from_windows(&[&a, &b], &[Tradition::Unknown, Tradition::Carnatic], device)
    }

    fn logits(model: &RagaModel, device: &Device, config: &RagaModelConfig) -> Vec<f32> {
        model.forward(input(device, config)).into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn forward_gives_one_row_of_logits_per_window() {
        let device = Device::flex();
        let config = tiny_config();
        let model = config.init(&device);
        let out = model.forward(input(&device, &config));
        assert_eq!(out.dims(), [2, 3]);
        assert!(out.into_data().try_to_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn f32_package_round_trips_exactly_and_int8_closely() {
        let device = Device::flex();
        let config = tiny_config();
        let model = config.init(&device);
        let reference = logits(&model, &device, &config);

        let weights = weights_to_bytes(&model, Quantization::F32).unwrap();
        let m = manifest(&config, &weights, Quantization::F32);
        let parsed = Manifest::from_json(&m.to_json()).unwrap();
        parsed.verify_file(WEIGHTS_FILE, &weights).unwrap();
        let loaded = load_model(&parsed, weights.clone(), &device).unwrap();
        assert_eq!(logits(&loaded, &device, &config), reference);

        let q = weights_to_bytes(&model, Quantization::Int8).unwrap();
        assert!(q.len() < weights.len(), "int8 {} bytes vs f32 {}", q.len(), weights.len());
        let loaded = load_model(&manifest(&config, &q, Quantization::Int8), q, &device).unwrap();
        let close = logits(&loaded, &device, &config);
        for (a, b) in close.iter().zip(&reference) {
            assert!((a - b).abs() < 0.05 * (1.0 + b.abs()), "{a} vs {b}");
        }
        // Dequantized (what WebGPU runs): the int8 model's own values in f32.
        let dequantized = logits(&dequantize(loaded), &device, &config);
        for (a, b) in dequantized.iter().zip(&close) {
            assert!((a - b).abs() < 1e-3 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    #[test]
    fn corrupt_truncated_and_mismatched_packages_are_rejected() {
        let device = Device::flex();
        let config = tiny_config();
        let weights = weights_to_bytes(&config.init(&device), Quantization::F32).unwrap();
        let m = manifest(&config, &weights, Quantization::F32);

        let mut corrupt = weights.clone();
        corrupt[weights.len() / 2] ^= 0xFF;
        let err = m.verify_file(WEIGHTS_FILE, &corrupt).unwrap_err().to_string();
        assert!(err.contains("corrupt or truncated"), "{err}");
        let err = m.verify_file(WEIGHTS_FILE, &weights[..100]).unwrap_err().to_string();
        assert!(err.contains("found 100 bytes"), "{err}");

        // Tensors that are not what the manifest's network and quantization make (here f32
        // weights in a package that says int8) are refused before burn sees them: it aborts
        // the process on a tensor whose bytes do not fit its shape (the fuzz corpus holds one,
        // `fuzz/corpus/package_load/regression-quantized-data-length`).
        let err = load_model(&manifest(&config, &weights, Quantization::Int8), weights.clone(), &device)
            .unwrap_err()
            .to_string();
        assert!(err.contains("but this network (int8) needs"), "{err}");

        let other = config.clone().with_d_model(64);
        let err =
            load_model(&manifest(&other, &weights, Quantization::F32), weights.clone(), &device).unwrap_err();
        assert!(matches!(err, ModelError::Weights(_)), "{err}");

        let mut json: serde_json::Value = serde_json::from_slice(&m.to_json()).unwrap();
        json["features_version"] = serde_json::json!(raga_dsp::FEATURES_VERSION + 1);
        let err = Manifest::from_json(&serde_json::to_vec(&json).unwrap()).unwrap_err().to_string();
        assert!(err.contains("features version"), "{err}");
        json["format"] = serde_json::json!("ragasense-model/9");
        let err = Manifest::from_json(&serde_json::to_vec(&json).unwrap()).unwrap_err().to_string();
        assert!(err.contains("unsupported package format"), "{err}");
        let err = Manifest::from_json(b"{not json").unwrap_err().to_string();
        assert!(err.contains("not JSON"), "{err}");
    }

    #[test]
    fn packages_from_before_the_tonic_check_still_load() {
        let device = Device::flex();
        let config = tiny_config();
        let weights = weights_to_bytes(&config.init(&device), Quantization::F32).unwrap();
        let mut json: serde_json::Value =
            serde_json::from_slice(&manifest(&config, &weights, Quantization::F32).to_json()).unwrap();
        json["model"].as_object_mut().unwrap().remove("tonic_check");
        let m = Manifest::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert!(!m.model.tonic_check);
        assert_eq!(m.model.outputs(), 3);
        assert!(load_model(&m, weights, &device).is_ok());
    }
}
