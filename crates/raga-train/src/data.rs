//! Examples, augmentation and batches.
//!
//! Training draws random windows from each clip and perturbs them the ways real recordings
//! differ from one another — tonic-estimate error, spectral tilt (microphone, room, timbre),
//! a raised noise floor, masked bands and frames, a missing tradition — so the model leans on
//! what identifies a raga (the tonic-relative melody) rather than on one renderer's sound.

use std::sync::Arc;

use burn::prelude::*;
use raga_dsp::Features;
use raga_model::input::{FRAME_FEATURES, N_MELS};
use raga_model::{ClipFrames, ModelInput, Tradition, Window};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One labelled clip with its features.
#[derive(Debug, Clone)]
pub struct Example {
    /// Features of the whole clip.
    pub features: Arc<Features>,
    /// Index of the raga.
    pub label: usize,
    /// Tradition of the clip.
    pub tradition: Tradition,
    /// Path relative to the corpus, for reports.
    pub rel: String,
}

/// How hard training perturbs its windows.
#[derive(Config, Debug, PartialEq)]
pub struct AugmentConfig {
    /// Largest shift of every pitch relative to Sa (simulated tonic error), cents.
    #[config(default = 20.0)]
    pub cents_jitter: f32,
    /// Largest spectral tilt across the mel bands, dB from the lowest to the highest band.
    #[config(default = 18.0)]
    pub tilt_db: f32,
    /// Probability of raising the noise floor of a window (to 20–60 dB below its peak).
    #[config(default = 0.3)]
    pub noise_floor_prob: f64,
    /// Mel band masks per window.
    #[config(default = 2)]
    pub freq_masks: usize,
    /// Widest mel band mask.
    #[config(default = 12)]
    pub freq_mask_width: usize,
    /// Time masks per window.
    #[config(default = 2)]
    pub time_masks: usize,
    /// Widest time mask, frames.
    #[config(default = 20)]
    pub time_mask_width: usize,
    /// Probability of hiding the tradition (the model must also work without it).
    #[config(default = 0.5)]
    pub hide_tradition_prob: f64,
}

impl AugmentConfig {
    /// No augmentation at all.
    pub fn none() -> Self {
        Self::new()
            .with_cents_jitter(0.0)
            .with_tilt_db(0.0)
            .with_noise_floor_prob(0.0)
            .with_freq_masks(0)
            .with_time_masks(0)
            .with_hide_tradition_prob(0.0)
    }
}

/// A training batch as plain data (built on the CPU, moved to the device in one go).
#[derive(Debug, Clone)]
pub struct Batch {
    /// Windows.
    pub windows: Vec<Window>,
    /// Their traditions as the model sees them.
    pub traditions: Vec<Tradition>,
    /// Their labels.
    pub labels: Vec<usize>,
}

impl Batch {
    /// The batch's tensors on `device`.
    pub fn to_device(&self, device: &Device) -> (ModelInput, Tensor<1, Int>) {
        let refs: Vec<&Window> = self.windows.iter().collect();
        let input = ModelInput::from_windows(&refs, &self.traditions, device);
        let labels: Vec<i64> = self.labels.iter().map(|&l| l as i64).collect();
        let n = labels.len();
        (input, Tensor::from_data(TensorData::new(labels, [n]), device))
    }
}

/// The training batches of one epoch: `windows_per_clip` random windows of every example,
/// shuffled, cut into batches of `batch_size` (the last one may be smaller).
pub fn epoch_batches(
    examples: &[Example],
    window_frames: usize,
    windows_per_clip: usize,
    batch_size: usize,
    augment: &AugmentConfig,
    seed: u64,
) -> Vec<Batch> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> =
        (0..examples.len()).flat_map(|i| std::iter::repeat_n(i, windows_per_clip)).collect();
    // Fisher–Yates with our own RNG, so the order is the same on every platform.
    for i in (1..order.len()).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    order
        .chunks(batch_size.max(1))
        .map(|chunk| {
            let mut batch = Batch { windows: Vec::new(), traditions: Vec::new(), labels: Vec::new() };
            for &i in chunk {
                let ex = &examples[i];
                batch.windows.push(augmented_window(ex, window_frames, augment, &mut rng));
                let hide = rng.random_bool(augment.hide_tradition_prob.clamp(0.0, 1.0));
                batch.traditions.push(if hide { Tradition::Unknown } else { ex.tradition });
                batch.labels.push(ex.label);
            }
            batch
        })
        .collect()
}

fn augmented_window(ex: &Example, len: usize, aug: &AugmentConfig, rng: &mut ChaCha8Rng) -> Window {
    let shift =
        if aug.cents_jitter > 0.0 { rng.random_range(-aug.cents_jitter..=aug.cents_jitter) } else { 0.0 };
    let frames = ex.features.frames;
    let start = if frames > len { rng.random_range(0..=frames - len) } else { 0 };
    // Half the time the window is seen in a shorter context (a short upload, live input).
    let context = if frames > len && rng.random_bool(0.5) {
        let span = rng.random_range(len..=frames);
        let from = rng.random_range(0..=frames - span);
        from..from + span
    } else {
        0..frames
    };
    let clip = ClipFrames::with_context(&ex.features, shift, context);
    let mut w = clip.window(start, len);
    let real = w.mask.iter().filter(|&&m| m > 0.0).count();

    let tilt = if aug.tilt_db > 0.0 { rng.random_range(-aug.tilt_db..=aug.tilt_db) / 40.0 } else { 0.0 };
    let floor = if rng.random_bool(aug.noise_floor_prob.clamp(0.0, 1.0)) {
        Some(1.0 - rng.random_range(20.0..60.0) / 40.0)
    } else {
        None
    };
    let masked_bands: Vec<(usize, usize)> = (0..aug.freq_masks)
        .map(|_| {
            let width = rng.random_range(0..=aug.freq_mask_width.min(N_MELS));
            (rng.random_range(0..=N_MELS - width), width)
        })
        .collect();
    for row in w.values.chunks_exact_mut(FRAME_FEATURES).take(real) {
        for (b, v) in row[..N_MELS].iter_mut().enumerate() {
            let mut x = *v + tilt * (b as f32 / (N_MELS - 1) as f32 - 0.5);
            if let Some(floor) = floor {
                x = x.max(floor);
            }
            *v = x.clamp(-1.0, 1.0);
        }
        for &(start, width) in &masked_bands {
            row[start..start + width].fill(-1.0);
        }
    }
    for _ in 0..aug.time_masks {
        let width = rng.random_range(0..=aug.time_mask_width.min(real));
        let start = rng.random_range(0..=real - width);
        for row in w.values.chunks_exact_mut(FRAME_FEATURES).skip(start).take(width) {
            row[..N_MELS].fill(-1.0);
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use raga_dsp::HIST_BINS;

    fn example(label: usize, frames: usize) -> Example {
        Example {
            features: Arc::new(Features {
                sample_rate: 22050,
                hop_length: 512,
                n_mels: N_MELS,
                frames,
                log_mel: (0..frames * N_MELS).map(|i| -((i % 50) as f32)).collect(),
                f0_hz: vec![200.0; frames],
                voiced_prob: vec![1.0; frames],
                tonic_hz: 200.0,
                cents: (0..frames).map(|t| Some((t * 10) as f32)).collect(),
                pitch_class_hist: vec![0.0; HIST_BINS],
            }),
            label,
            tradition: Tradition::Carnatic,
            rel: format!("r/{label}.wav"),
        }
    }

    #[test]
    fn batches_are_deterministic_and_cover_every_clip() {
        let examples: Vec<Example> = (0..5).map(|i| example(i, 40 + i * 10)).collect();
        let aug = AugmentConfig::new();
        let a = epoch_batches(&examples, 32, 2, 4, &aug, 7);
        let b = epoch_batches(&examples, 32, 2, 4, &aug, 7);
        assert_eq!(a.len(), 3);
        let labels = |bs: &[Batch]| bs.iter().flat_map(|b| b.labels.clone()).collect::<Vec<_>>();
        assert_eq!(labels(&a), labels(&b));
        assert_eq!(a[0].windows, b[0].windows);
        let mut all = labels(&a);
        all.sort();
        assert_eq!(all, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
        let c = epoch_batches(&examples, 32, 2, 4, &aug, 8);
        assert_ne!(labels(&a), labels(&c));
    }

    #[test]
    fn no_augmentation_keeps_the_window() {
        let ex = example(0, 32);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let w = augmented_window(&ex, 32, &AugmentConfig::none(), &mut rng);
        assert_eq!(w, ClipFrames::new(&ex.features, 0.0).window(0, 32));
    }
}
