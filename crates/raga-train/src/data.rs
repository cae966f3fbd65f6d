//! Examples, augmentation and batches.
//!
//! Training draws random windows from each clip and perturbs them the ways real recordings
//! differ from one another — tonic-estimate error, spectral tilt (microphone, room, timbre),
//! a raised noise floor, masked bands and frames, a missing tradition — so the model leans on
//! what identifies a raga (the tonic-relative melody) rather than on one renderer's sound.

use std::sync::Arc;

use burn::prelude::*;
use raga_dsp::Features;
#[cfg(test)]
use raga_dsp::TonicCandidate;
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
    /// Cents added to every pitch so training sees it relative to the true Sa (0 when the
    /// true Sa is unknown and the estimate is trusted).
    pub true_shift: f32,
    /// Shifts (cents, like `true_shift`) that put one of the estimator's wrong tonic
    /// candidates at Sa: the tonic check's hardest negatives.
    pub decoys: Vec<f32>,
}

impl Example {
    /// An example from a clip's features. With `true_tonic_hz` windows are seen from the true
    /// Sa and the estimator's other candidates (more than 50 cents away) become decoys;
    /// without it the estimate is trusted and its runners-up are the decoys.
    pub fn new(
        features: Arc<Features>,
        label: usize,
        tradition: Tradition,
        rel: String,
        true_tonic_hz: Option<f32>,
    ) -> Self {
        let true_shift = true_tonic_hz.map_or(0.0, |hz| features.cents_shift_to(hz));
        let decoys = features
            .tonic_candidates
            .iter()
            .map(|c| features.cents_shift_to(c.hz))
            .filter(|d| {
                let apart = (d - true_shift).rem_euclid(1200.0);
                apart.min(1200.0 - apart) > 50.0
            })
            .collect();
        Self { features, label, tradition, rel, true_shift, decoys }
    }
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
    /// Share of windows (of a model with the tonic check) shown from a wrong Sa under the
    /// off-tonic label: half of them at one of the estimator's wrong candidates, half at a
    /// random other semitone.
    #[config(default = 0.25)]
    pub off_tonic_prob: f64,
    /// Largest gain of a random smooth EQ (three bell curves over the mel bands, each up to
    /// this many dB up or down): instruments, microphones and rooms colour the spectrum in
    /// bumps, not only in a tilt. 0 in runs from before it.
    #[config(default = 12.0)]
    pub eq_db: f32,
    /// Probability of hiding a window's whole log-mel (every band at the floor), so the model
    /// also learns to answer from pitch alone and does not lean on one renderer's timbre.
    /// 0 in runs from before it.
    #[config(default = 0.25)]
    pub mel_drop_prob: f64,
    /// Probability of hiding every per-frame feature of a window (log-mel and pitch), so the
    /// head also learns to answer from the window's and the clip's pitch-class summary alone
    /// — the most renderer-independent evidence there is. 0 in runs from before it.
    #[config(default = 0.1)]
    pub frames_drop_prob: f64,
}

impl AugmentConfig {
    /// The fields added since the first saved configs, with the values that reproduce the
    /// runs that predate them (an older `config.json` has none of them).
    pub fn upgrade_saved(augment: &mut serde_json::Map<String, serde_json::Value>) {
        // Runs from before the tonic check: the share is unused without it.
        augment.entry("off_tonic_prob").or_insert(serde_json::json!(Self::new().off_tonic_prob));
        for field in ["eq_db", "mel_drop_prob", "frames_drop_prob"] {
            augment.entry(field).or_insert(serde_json::json!(0.0));
        }
    }

    /// No augmentation at all.
    pub fn none() -> Self {
        Self::new()
            .with_cents_jitter(0.0)
            .with_tilt_db(0.0)
            .with_noise_floor_prob(0.0)
            .with_freq_masks(0)
            .with_time_masks(0)
            .with_hide_tradition_prob(0.0)
            .with_off_tonic_prob(0.0)
            .with_eq_db(0.0)
            .with_mel_drop_prob(0.0)
            .with_frames_drop_prob(0.0)
    }
}

/// A training batch as plain data (built on the CPU, moved to the device in one go).
#[derive(Debug, Clone)]
pub struct Batch {
    /// Windows.
    pub windows: Vec<Window>,
    /// Their traditions as the model sees them.
    pub traditions: Vec<Tradition>,
    /// Their labels (the raga's index, or the number of ragas for an off-tonic window).
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

/// How an epoch's windows are drawn.
#[derive(Debug, Clone, Copy)]
pub struct EpochPlan<'a> {
    /// Frames per window.
    pub window_frames: usize,
    /// Random windows per clip.
    pub windows_per_clip: usize,
    /// Windows per batch.
    pub batch_size: usize,
    /// The off-tonic label (the number of ragas) when the model has the tonic check.
    pub off_tonic_label: Option<usize>,
    /// Perturbations.
    pub augment: &'a AugmentConfig,
}

/// The training batches of one epoch: `windows_per_clip` random windows of every example,
/// shuffled, cut into batches of `batch_size` (the last one may be smaller).
pub fn epoch_batches(examples: &[Example], plan: &EpochPlan<'_>, seed: u64) -> Vec<Batch> {
    let EpochPlan { window_frames, windows_per_clip, batch_size, off_tonic_label, augment } = *plan;
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
                let off = off_tonic_label.filter(|_| rng.random_bool(augment.off_tonic_prob.clamp(0.0, 1.0)));
                let shift = match off {
                    Some(_) => off_tonic_shift(ex, &mut rng),
                    None => ex.true_shift,
                };
                batch.windows.push(augmented_window(ex, shift, window_frames, augment, &mut rng));
                let hide = rng.random_bool(augment.hide_tradition_prob.clamp(0.0, 1.0));
                batch.traditions.push(if hide { Tradition::Unknown } else { ex.tradition });
                batch.labels.push(off.unwrap_or(ex.label));
            }
            batch
        })
        .collect()
}

/// A shift that puts a wrong tonic at Sa: one of the estimator's wrong candidates half the
/// time (when it has any), else a random other semitone of the true Sa.
fn off_tonic_shift(ex: &Example, rng: &mut ChaCha8Rng) -> f32 {
    if !ex.decoys.is_empty() && rng.random_bool(0.5) {
        ex.decoys[rng.random_range(0..ex.decoys.len())]
    } else {
        ex.true_shift + 100.0 * rng.random_range(1..12) as f32
    }
}

/// A random window of `ex` with every pitch moved by `shift` cents (plus jitter), perturbed.
fn augmented_window(
    ex: &Example,
    shift: f32,
    len: usize,
    aug: &AugmentConfig,
    rng: &mut ChaCha8Rng,
) -> Window {
    let shift = shift
        + if aug.cents_jitter > 0.0 { rng.random_range(-aug.cents_jitter..=aug.cents_jitter) } else { 0.0 };
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
    let eq = random_eq(aug.eq_db, rng);
    for row in w.values.chunks_exact_mut(FRAME_FEATURES).take(real) {
        for (b, v) in row[..N_MELS].iter_mut().enumerate() {
            let mut x = *v + tilt * (b as f32 / (N_MELS - 1) as f32 - 0.5) + eq[b];
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
    let drop_frames = rng.random_bool(aug.frames_drop_prob.clamp(0.0, 1.0));
    if drop_frames || rng.random_bool(aug.mel_drop_prob.clamp(0.0, 1.0)) {
        for row in w.values.chunks_exact_mut(FRAME_FEATURES).take(real) {
            row[..N_MELS].fill(-1.0);
            if drop_frames {
                row[N_MELS..].fill(0.0);
            }
        }
    }
    w
}

/// Per mel band, the gain (in the model's log-mel units, 40 dB per unit) of a smooth random
/// EQ: three bell curves at random bands, 4–32 bands wide, each within ±`max_db`.
fn random_eq(max_db: f32, rng: &mut ChaCha8Rng) -> [f32; N_MELS] {
    let mut eq = [0.0f32; N_MELS];
    if max_db <= 0.0 {
        return eq;
    }
    for _ in 0..3 {
        let centre = rng.random_range(0.0..N_MELS as f32);
        let width = rng.random_range(4.0f32..32.0);
        let gain = rng.random_range(-max_db..=max_db) / 40.0;
        for (b, e) in eq.iter_mut().enumerate() {
            let z = (b as f32 - centre) / width;
            *e += gain * (-0.5 * z * z).exp();
        }
    }
    eq
}

#[cfg(test)]
mod tests {
    use super::*;
    use raga_dsp::HIST_BINS;

    fn example(label: usize, frames: usize) -> Example {
        Example::new(
            Arc::new(Features {
                sample_rate: 22050,
                hop_length: 512,
                n_mels: N_MELS,
                frames,
                log_mel: (0..frames * N_MELS).map(|i| -((i % 50) as f32)).collect(),
                f0_hz: vec![200.0; frames],
                voiced_prob: vec![1.0; frames],
                tonic_hz: 200.0,
                tonic_candidates: Vec::new(),
                cents: (0..frames).map(|t| Some((t * 10) as f32)).collect(),
                pitch_class_hist: vec![0.0; HIST_BINS],
            }),
            label,
            Tradition::Carnatic,
            format!("r/{label}.wav"),
            None,
        )
    }

    #[test]
    fn batches_are_deterministic_and_cover_every_clip() {
        let examples: Vec<Example> = (0..5).map(|i| example(i, 40 + i * 10)).collect();
        let aug = AugmentConfig::new();
        let plan = EpochPlan {
            window_frames: 32,
            windows_per_clip: 2,
            batch_size: 4,
            off_tonic_label: None,
            augment: &aug,
        };
        let a = epoch_batches(&examples, &plan, 7);
        let b = epoch_batches(&examples, &plan, 7);
        assert_eq!(a.len(), 3);
        let labels = |bs: &[Batch]| bs.iter().flat_map(|b| b.labels.clone()).collect::<Vec<_>>();
        assert_eq!(labels(&a), labels(&b));
        assert_eq!(a[0].windows, b[0].windows);
        let mut all = labels(&a);
        all.sort();
        assert_eq!(all, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
        let c = epoch_batches(&examples, &plan, 8);
        assert_ne!(labels(&a), labels(&c));
    }

    #[test]
    fn off_tonic_windows_are_shifted_and_labelled() {
        let examples: Vec<Example> = (0..4).map(|i| example(i, 32)).collect();
        let aug = AugmentConfig::none().with_off_tonic_prob(0.5);
        let plan = EpochPlan {
            window_frames: 32,
            windows_per_clip: 8,
            batch_size: 8,
            off_tonic_label: Some(4),
            augment: &aug,
        };
        let batches = epoch_batches(&examples, &plan, 3);
        let all: Vec<(&Window, usize)> =
            batches.iter().flat_map(|b| b.windows.iter().zip(b.labels.iter().copied())).collect();
        let off = all.iter().filter(|(_, l)| *l == 4).count();
        assert!((8..=24).contains(&off), "{off} of 32 windows off tonic");
        for (w, label) in all {
            let on = ClipFrames::new(&examples[0].features, 0.0).window(0, 32).hist;
            // Without augmentation only an off-tonic window's pitch-class histogram moves.
            assert_eq!(w.hist[..120] == on[..120], label != 4);
        }
    }

    #[test]
    fn examples_know_their_true_sa_and_decoys() {
        let mut f = (*example(0, 8).features).clone();
        f.tonic_candidates = [200.0, 150.0, 300.0].map(|hz| TonicCandidate { hz, score: 0.0 }).to_vec();
        let ex = Example::new(Arc::new(f), 0, Tradition::Unknown, "a.wav".into(), Some(150.0));
        // Pitch 200 Hz relative to 150 Hz is 498 cents higher than relative to 200 Hz.
        assert!((ex.true_shift - 498.04).abs() < 0.01, "{}", ex.true_shift);
        assert_eq!(ex.decoys, [0.0]);
    }

    #[test]
    fn dropped_windows_keep_only_what_they_promise() {
        let ex = example(0, 32);
        let on = ClipFrames::new(&ex.features, 0.0).window(0, 32);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mel_only = AugmentConfig::none().with_mel_drop_prob(1.0);
        let w = augmented_window(&ex, 0.0, 32, &mel_only, &mut rng);
        for (row, orig) in w.values.chunks_exact(FRAME_FEATURES).zip(on.values.chunks_exact(FRAME_FEATURES)) {
            assert!(row[..N_MELS].iter().all(|&v| v == -1.0));
            assert_eq!(row[N_MELS..], orig[N_MELS..], "pitch features are kept");
        }
        assert_eq!(w.hist, on.hist);
        let all = AugmentConfig::none().with_frames_drop_prob(1.0);
        let w = augmented_window(&ex, 0.0, 32, &all, &mut rng);
        for row in w.values.chunks_exact(FRAME_FEATURES) {
            assert!(row[..N_MELS].iter().all(|&v| v == -1.0));
            assert!(row[N_MELS..].iter().all(|&v| v == 0.0));
        }
        assert_eq!(w.hist, on.hist, "the summary is what the head answers from");
    }

    #[test]
    fn random_eq_is_smooth_and_bounded() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        assert!(random_eq(0.0, &mut rng).iter().all(|&g| g == 0.0));
        for _ in 0..50 {
            let eq = random_eq(12.0, &mut rng);
            assert!(eq.iter().all(|g| g.abs() <= 3.0 * 12.0 / 40.0 + 1e-6));
            // Neighbouring bands differ by at most a bell's steepest slope.
            assert!(eq.windows(2).all(|p| (p[1] - p[0]).abs() < 0.15), "{eq:?}");
        }
    }

    #[test]
    fn saved_configs_from_before_keep_their_augmentation() {
        let mut old = serde_json::json!({"cents_jitter": 20.0}).as_object().cloned().unwrap_or_default();
        AugmentConfig::upgrade_saved(&mut old);
        assert_eq!(old["eq_db"], 0.0);
        assert_eq!(old["mel_drop_prob"], 0.0);
        assert_eq!(old["frames_drop_prob"], 0.0);
        assert_eq!(old["off_tonic_prob"], AugmentConfig::new().off_tonic_prob);
    }

    #[test]
    fn no_augmentation_keeps_the_window() {
        let ex = example(0, 32);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let w = augmented_window(&ex, 0.0, 32, &AugmentConfig::none(), &mut rng);
        assert_eq!(w, ClipFrames::new(&ex.features, 0.0).window(0, 32));
    }
}
