//! What `classify` returns to JavaScript (camelCase, as a JS user expects), built from the
//! model's prediction and the clip's features.

use raga_dsp::Features;
use raga_model::{Prediction, RagaScore};
use serde::Serialize;

/// Which engine ran the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// WebGPU (burn's wgpu backend).
    Webgpu,
    /// The CPU (burn's flex backend, wasm SIMD).
    Cpu,
}

impl BackendKind {
    /// The name JavaScript sees.
    pub fn name(self) -> &'static str {
        match self {
            Self::Webgpu => "webgpu",
            Self::Cpu => "cpu",
        }
    }
}

/// Milliseconds spent per step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Resampling and features (log-mel, F0, tonic).
    pub features: f64,
    /// The model.
    pub inference: f64,
    /// Both, plus bookkeeping.
    pub total: f64,
}

/// The melody's pitch track.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PitchTrack {
    /// Frame times in seconds.
    pub times_s: Vec<f32>,
    /// F0 per frame in Hz, 0 where unvoiced.
    pub f0_hz: Vec<f32>,
    /// Probability that each frame is voiced.
    pub voiced_prob: Vec<f32>,
}

/// The model that answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRef {
    /// Registered model name (the manifest's name).
    pub name: String,
    /// Registry version, when the package came from a registry.
    pub version: Option<String>,
}

/// One classification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Classification {
    /// Id of this prediction (telemetry and feedback refer to it).
    pub prediction_id: String,
    /// The most likely raga.
    pub raga: String,
    /// Its probability.
    pub confidence: f32,
    /// The five most likely ragas, best first.
    pub top_k: Vec<RagaScore>,
    /// Every label's probability, in the order of the model's labels.
    pub probabilities: Vec<f32>,
    /// The tonic (Sa) in Hz the answer is relative to.
    pub tonic_hz: f32,
    /// The model's confidence that `tonic_hz` is the performer's Sa (models with the tonic check).
    pub tonic_confidence: Option<f32>,
    /// Pitch contour.
    pub pitch: PitchTrack,
    /// Folded pitch-class histogram relative to the tonic: 120 bins of 10 cents, bin 0 on Sa.
    pub pitch_class_histogram: Vec<f32>,
    /// Seconds of audio classified.
    pub duration_s: f32,
    /// Which engine ran the model.
    pub backend: BackendKind,
    /// Time per step.
    pub timings_ms: Timings,
    /// The model that answered.
    pub model: ModelRef,
}

impl Classification {
    /// Puts a prediction and the features it came from into the shape JavaScript gets.
    pub fn new(
        prediction_id: String,
        p: Prediction,
        features: &Features,
        backend: BackendKind,
        timings_ms: Timings,
        model: ModelRef,
    ) -> Self {
        let hop_s = features.hop_length as f32 / features.sample_rate as f32;
        Self {
            prediction_id,
            raga: p.raga,
            confidence: p.confidence,
            top_k: p.top_k,
            probabilities: p.probabilities,
            tonic_hz: p.tonic_hz,
            tonic_confidence: p.tonic_confidence,
            pitch: PitchTrack {
                times_s: (0..features.frames).map(|t| t as f32 * hop_s).collect(),
                f0_hz: features.f0_hz.clone(),
                voiced_prob: features.voiced_prob.clone(),
            },
            pitch_class_histogram: histogram_from(features, p.tonic_hz),
            duration_s: features.frames.saturating_sub(1) as f32 * hop_s,
            backend,
            timings_ms,
            model,
        }
    }
}

/// The pitch-class histogram relative to `tonic_hz` (the tonic check may have chosen another
/// Sa than the estimator's, which the features' own histogram is relative to).
fn histogram_from(features: &Features, tonic_hz: f32) -> Vec<f32> {
    if (tonic_hz - features.tonic_hz).abs() < 1e-3 {
        return features.pitch_class_hist.clone();
    }
    let cents = raga_dsp::cents_from_tonic(&features.f0_hz, tonic_hz);
    raga_dsp::pitch_class_histogram(&cents, &features.voiced_prob)
}
