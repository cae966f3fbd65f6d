//! Turns [`raga_dsp::Features`] into the numbers the network reads, identically for the
//! trainer, the server and the browser.
//!
//! Per frame the network sees [`FRAME_FEATURES`] values:
//! - the 128 log-mel bands, scaled so the clip's loudest band is 1.0 and 80 dB below it -1.0
//!   (loudness-invariant);
//! - [`PITCH_BINS`] soft pitch-class bins: the frame's pitch relative to Sa, folded into one
//!   octave and spread over bins 1/`PITCH_BINS` of an octave apart by a Gaussian of
//!   [`PITCH_SIGMA_CENTS`], weighted by the voicing probability;
//! - the voicing probability;
//! - the octave (register) relative to Sa, scaled so madhya Sa is 0 and each octave 0.5;
//! - the local pitch slope (cents per frame, ±[`SLOPE_LIMIT_CENTS`] → ±1), which carries the
//!   gamakas, meend and andolan that tell same-scale ragas apart.
//!
//! Per window it also sees the window's folded pitch-class histogram (120 bins of 10 cents).

use raga_dsp::{Features, HIST_BINS, pitch_class_histogram};
use serde::{Deserialize, Serialize};

/// Log-mel bands per frame.
pub const N_MELS: usize = 128;
/// Soft pitch-class bins per frame.
pub const PITCH_BINS: usize = 36;
/// Width (standard deviation) of a frame's pitch-class bump, in cents.
pub const PITCH_SIGMA_CENTS: f32 = 25.0;
/// Slope (cents per frame) that maps to ±1.
pub const SLOPE_LIMIT_CENTS: f32 = 150.0;
/// Values per frame.
pub const FRAME_FEATURES: usize = N_MELS + PITCH_BINS + 3;
/// Values of the per-window histogram.
pub const HIST_FEATURES: usize = HIST_BINS;
/// Tradition ids: unknown, hindustani, carnatic.
pub const N_TRADITIONS: usize = 3;

/// Which tradition a clip comes from, when the user knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tradition {
    /// Not given: the model decides from the audio alone.
    #[default]
    Unknown,
    /// Hindustani (north Indian).
    Hindustani,
    /// Carnatic (south Indian).
    Carnatic,
}

impl Tradition {
    /// The id the network's tradition embedding reads.
    pub const fn id(self) -> usize {
        match self {
            Self::Unknown => 0,
            Self::Hindustani => 1,
            Self::Carnatic => 2,
        }
    }

    /// Lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Hindustani => "hindustani",
            Self::Carnatic => "carnatic",
        }
    }

    /// Parses `hindustani`, `carnatic` or `unknown` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hindustani" => Some(Self::Hindustani),
            "carnatic" => Some(Self::Carnatic),
            "unknown" | "" => Some(Self::Unknown),
            _ => None,
        }
    }
}

/// A clip's per-frame model features, computed once and windowed many times.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipFrames {
    /// Number of frames.
    pub frames: usize,
    /// `frames × FRAME_FEATURES`, row-major.
    pub values: Vec<f32>,
    /// Pitch relative to Sa per frame (after any shift), for window histograms.
    pub cents: Vec<Option<f32>>,
    /// Voicing probability per frame.
    pub voiced_prob: Vec<f32>,
}

/// One window of a clip, ready to batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// `window_frames × FRAME_FEATURES`, zero-padded past the clip's end.
    pub values: Vec<f32>,
    /// 1.0 for real frames, 0.0 for padding (`window_frames` entries).
    pub mask: Vec<f32>,
    /// The window's folded pitch-class histogram ([`HIST_FEATURES`] entries).
    pub hist: Vec<f32>,
}

impl ClipFrames {
    /// Model features of a whole clip. `cents_shift` moves every pitch relative to Sa (the
    /// trainer uses small shifts to simulate tonic-estimate errors; inference passes 0).
    pub fn new(features: &Features, cents_shift: f32) -> Self {
        let frames = features.frames;
        let n_mels = features.n_mels.min(N_MELS);
        let max_db = features.log_mel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let max_db = if max_db.is_finite() { max_db } else { 0.0 };
        let cents: Vec<Option<f32>> = features.cents.iter().map(|c| c.map(|c| c + cents_shift)).collect();
        let mut values = vec![0.0f32; frames * FRAME_FEATURES];
        for (t, row) in values.chunks_exact_mut(FRAME_FEATURES).enumerate() {
            let mel = features.mel_frame(t);
            for (dst, &db) in row[..n_mels].iter_mut().zip(mel) {
                *dst = ((db - max_db) / 40.0 + 1.0).clamp(-1.0, 1.0);
            }
            let voiced = features.voiced_prob.get(t).copied().unwrap_or(0.0).clamp(0.0, 1.0);
            let pitch = &mut row[N_MELS..];
            if let Some(c) = cents[t] {
                let folded = c.rem_euclid(1200.0);
                let spacing = 1200.0 / PITCH_BINS as f32;
                for (k, dst) in pitch[..PITCH_BINS].iter_mut().enumerate() {
                    let mut d = (folded - k as f32 * spacing).abs();
                    d = d.min(1200.0 - d);
                    *dst = voiced * (-0.5 * (d / PITCH_SIGMA_CENTS).powi(2)).exp();
                }
                pitch[PITCH_BINS + 1] = (c / 2400.0).clamp(-1.0, 1.5);
                pitch[PITCH_BINS + 2] = slope(&cents, t);
            }
            pitch[PITCH_BINS] = voiced;
        }
        Self { frames, values, cents, voiced_prob: features.voiced_prob.clone() }
    }

    /// The window of `len` frames starting at `start`, zero-padded where it runs past the end.
    pub fn window(&self, start: usize, len: usize) -> Window {
        let start = start.min(self.frames);
        let end = (start + len).min(self.frames);
        let mut values = vec![0.0f32; len * FRAME_FEATURES];
        values[..(end - start) * FRAME_FEATURES]
            .copy_from_slice(&self.values[start * FRAME_FEATURES..end * FRAME_FEATURES]);
        let mut mask = vec![0.0f32; len];
        mask[..end - start].fill(1.0);
        let hist = pitch_class_histogram(&self.cents[start..end], &self.voiced_prob[start..end]);
        Window { values, mask, hist }
    }

    /// Start frames of the windows that cover the clip for inference: hop of half a window,
    /// the last window ending at the clip's end; one (padded) window for short clips.
    pub fn window_starts(&self, len: usize) -> Vec<usize> {
        if self.frames <= len {
            return vec![0];
        }
        let hop = (len / 2).max(1);
        let last = self.frames - len;
        let mut starts: Vec<usize> = (0..=last).step_by(hop).collect();
        if starts.last() != Some(&last) {
            starts.push(last);
        }
        starts
    }

    /// The windows that cover the clip for inference, at [`window_starts`](Self::window_starts).
    pub fn windows(&self, len: usize) -> Vec<Window> {
        self.window_starts(len).into_iter().map(|start| self.window(start, len)).collect()
    }
}

/// Central-difference slope of the pitch at `t`, scaled to ±1; 0 at unvoiced neighbours.
fn slope(cents: &[Option<f32>], t: usize) -> f32 {
    let prev = t.checked_sub(1).and_then(|p| cents[p]);
    let next = cents.get(t + 1).copied().flatten();
    let here = cents[t];
    let d = match (prev, here, next) {
        (Some(p), _, Some(n)) => (n - p) / 2.0,
        (Some(p), Some(h), None) => h - p,
        (None, Some(h), Some(n)) => n - h,
        _ => 0.0,
    };
    (d / SLOPE_LIMIT_CENTS).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(frames: usize, cents: impl Fn(usize) -> Option<f32>) -> Features {
        Features {
            sample_rate: 22050,
            hop_length: 512,
            n_mels: N_MELS,
            frames,
            log_mel: (0..frames * N_MELS).map(|i| -((i % N_MELS) as f32)).collect(),
            f0_hz: vec![0.0; frames],
            voiced_prob: (0..frames).map(|t| if cents(t).is_some() { 1.0 } else { 0.0 }).collect(),
            tonic_hz: 150.0,
            cents: (0..frames).map(&cents).collect(),
            pitch_class_hist: vec![0.0; HIST_BINS],
        }
    }

    #[test]
    fn sa_lights_bin_zero_and_pa_its_bin() {
        let clip = ClipFrames::new(&features(3, |t| Some([0.0, 700.0, 1200.0][t])), 0.0);
        let row = |t: usize| &clip.values[t * FRAME_FEATURES..(t + 1) * FRAME_FEATURES];
        let argmax = |r: &[f32]| {
            r[N_MELS..N_MELS + PITCH_BINS]
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(k, _)| k)
                .unwrap()
        };
        assert_eq!(argmax(row(0)), 0);
        assert_eq!(argmax(row(1)), 21); // 700 cents / 33.3
        assert_eq!(argmax(row(2)), 0); // tar Sa folds onto Sa
        assert_eq!(row(0)[0], 1.0); // loudest band
        assert!((row(2)[N_MELS + PITCH_BINS + 1] - 0.5).abs() < 1e-6); // one octave up
    }

    #[test]
    fn windows_pad_and_cover_the_clip() {
        let clip = ClipFrames::new(&features(10, |t| (t % 2 == 0).then_some(100.0)), 0.0);
        let w = clip.window(6, 8);
        assert_eq!(w.mask, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(w.values[4 * FRAME_FEATURES..].iter().all(|&v| v == 0.0));
        assert!((w.hist.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(clip.window_starts(16), [0]);
        assert_eq!(clip.window_starts(4), [0, 2, 4, 6]);
        assert_eq!(clip.window_starts(6), [0, 3, 4]);
    }

    #[test]
    fn traditions_parse() {
        assert_eq!(Tradition::parse("Carnatic"), Some(Tradition::Carnatic));
        assert_eq!(Tradition::parse("jazz"), None);
    }
}
