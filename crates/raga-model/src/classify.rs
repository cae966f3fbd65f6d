//! Inference: a loaded model plus its manifest; clips longer than the model window are cut
//! into half-overlapping windows whose probabilities are averaged.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use raga_dsp::Features;
use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::input::{ClipFrames, Tradition, Window};
use crate::model::{ModelInput, RagaModel};
use crate::package::{Manifest, load_model};

/// Windows per forward pass.
const INFER_BATCH: usize = 8;

/// A raga and its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RagaScore {
    /// Raga id.
    pub raga: String,
    /// Probability.
    pub p: f32,
}

/// The model's answer for one clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The most likely raga.
    pub raga: String,
    /// Its probability.
    pub confidence: f32,
    /// The five most likely ragas, best first.
    pub top_k: Vec<RagaScore>,
    /// Probability of every label, in manifest order.
    pub probabilities: Vec<f32>,
    /// Model windows the clip was cut into.
    pub windows: usize,
}

/// A model ready to classify.
#[derive(Debug)]
pub struct Classifier {
    model: RagaModel,
    manifest: Manifest,
    device: Device,
}

impl Classifier {
    /// Wraps a model and the manifest that describes it.
    pub fn new(model: RagaModel, manifest: Manifest, device: Device) -> Self {
        Self { model, manifest, device }
    }

    /// Checks and loads a package from the bytes of its manifest and weights.
    pub fn from_package(manifest: &[u8], weights: Vec<u8>, device: &Device) -> Result<Self, ModelError> {
        let manifest = Manifest::from_json(manifest)?;
        manifest.verify_file(crate::package::WEIGHTS_FILE, &weights)?;
        let model = load_model(&manifest, weights, device)?;
        Ok(Self::new(model, manifest, device.clone()))
    }

    /// The package manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The windows a clip is classified by.
    pub fn windows(&self, features: &Features) -> Vec<Window> {
        ClipFrames::new(features, 0.0).windows(self.manifest.model.window_frames)
    }

    /// Softmax probabilities of a batch of windows, `[windows.len(), n_classes]`, still on the
    /// device (read it back with `into_data` natively or `into_data_async` in a browser).
    pub fn window_probabilities(&self, windows: &[&Window], tradition: Tradition) -> Tensor<2> {
        let traditions = vec![tradition; windows.len()];
        let input = ModelInput::from_windows(windows, &traditions, &self.device);
        softmax(self.model.forward(input), 1)
    }

    /// Batches of windows for [`window_probabilities`](Self::window_probabilities).
    pub fn batches(windows: &[Window]) -> impl Iterator<Item = Vec<&Window>> {
        windows.chunks(INFER_BATCH).map(|c| c.iter().collect())
    }

    /// Classifies a clip from its features (blocking read-back; use the pieces above in a
    /// browser).
    pub fn classify(&self, features: &Features, tradition: Tradition) -> Result<Prediction, ModelError> {
        let windows = self.windows(features);
        let mut probs = Vec::with_capacity(windows.len() * self.manifest.labels.len());
        for batch in Self::batches(&windows) {
            let data = self.window_probabilities(&batch, tradition).into_data();
            let values = data
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| ModelError::Device(format!("{e:?}")))?;
            probs.extend(values);
        }
        self.aggregate(&probs, tradition)
    }

    /// Averages per-window probabilities (`windows × n_classes`, row-major) into one
    /// prediction. A known tradition restricts the answer to that tradition's ragas.
    pub fn aggregate(&self, window_probs: &[f32], tradition: Tradition) -> Result<Prediction, ModelError> {
        aggregate(&self.manifest.labels, &self.manifest.traditions, window_probs, tradition)
    }
}

/// See [`Classifier::aggregate`].
pub fn aggregate(
    labels: &[String],
    traditions: &[Tradition],
    window_probs: &[f32],
    tradition: Tradition,
) -> Result<Prediction, ModelError> {
    let n = labels.len();
    if n == 0 || window_probs.is_empty() || !window_probs.len().is_multiple_of(n) {
        return Err(ModelError::EmptyInput(format!("{} probabilities for {n} labels", window_probs.len())));
    }
    let windows = window_probs.len() / n;
    let mut mean = vec![0.0f32; n];
    for row in window_probs.chunks_exact(n) {
        for (m, p) in mean.iter_mut().zip(row) {
            *m += p / windows as f32;
        }
    }
    if tradition != Tradition::Unknown && traditions.contains(&tradition) {
        for (m, t) in mean.iter_mut().zip(traditions) {
            if *t != tradition {
                *m = 0.0;
            }
        }
    }
    let total: f32 = mean.iter().sum();
    if !(total.is_finite() && total > 0.0) {
        return Err(ModelError::Device(format!("the model produced invalid probabilities (sum {total})")));
    }
    mean.iter_mut().for_each(|m| *m /= total);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]).then(a.cmp(&b)));
    let top_k: Vec<RagaScore> =
        order.iter().take(5).map(|&i| RagaScore { raga: labels[i].clone(), p: mean[i] }).collect();
    Ok(Prediction {
        raga: top_k[0].raga.clone(),
        confidence: top_k[0].p,
        top_k,
        probabilities: mean,
        windows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_averages_and_restricts_to_tradition() {
        let labels: Vec<String> = ["yaman", "kalyani", "mohanam"].map(String::from).to_vec();
        let traditions = [Tradition::Hindustani, Tradition::Carnatic, Tradition::Carnatic];
        let probs = [0.6, 0.3, 0.1, 0.4, 0.5, 0.1];
        let p = aggregate(&labels, &traditions, &probs, Tradition::Unknown).unwrap();
        assert_eq!(p.raga, "yaman");
        assert_eq!(p.windows, 2);
        assert!((p.confidence - 0.5).abs() < 1e-6);
        let p = aggregate(&labels, &traditions, &probs, Tradition::Carnatic).unwrap();
        assert_eq!(p.raga, "kalyani");
        assert!((p.confidence - 0.8).abs() < 1e-6);
        assert_eq!(p.top_k.len(), 3);
        assert!(aggregate(&labels, &traditions, &[], Tradition::Unknown).is_err());
    }
}
