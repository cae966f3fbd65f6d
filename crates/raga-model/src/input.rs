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
//! Per window it also sees [`HIST_FEATURES`] summary values, each block scaled to a mean of 1:
//! the window's folded pitch-class histogram (120 bins of 10 cents), the same histogram over
//! the clip's context (the whole clip at inference), and the context's held-note summary
//! ([`raga_dsp::note_summary`]: time on each note, note-to-note moves, arrivals from below and
//! above) — the scale, its emphasis and its aroha/avaroha, which a 6-second window alone
//! shows only in part.

use std::ops::Range;

use raga_dsp::{Features, HIST_BINS, NOTE_SUMMARY_FEATURES, NOTES, note_summary, pitch_class_histogram};
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
/// Summary values per window: window histogram, context histogram, context note summary.
pub const HIST_FEATURES: usize = 2 * HIST_BINS + NOTE_SUMMARY_FEATURES;
/// Values of the clip-context part of the summary.
const CONTEXT_FEATURES: usize = HIST_BINS + NOTE_SUMMARY_FEATURES;
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
    /// Summary of the context every window is seen in (the whole clip unless
    /// [`set_context`](Self::set_context) narrowed it), scaled as in [`Window::hist`].
    pub context: Vec<f32>,
}

/// One window of a clip, ready to batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// `window_frames × FRAME_FEATURES`, zero-padded past the clip's end.
    pub values: Vec<f32>,
    /// 1.0 for real frames, 0.0 for padding (`window_frames` entries).
    pub mask: Vec<f32>,
    /// [`HIST_FEATURES`] summary values: the window's pitch-class histogram, then the
    /// context's histogram and note summary, each block scaled to a mean of 1.
    pub hist: Vec<f32>,
}

impl ClipFrames {
    /// Model features of a whole clip. `cents_shift` moves every pitch relative to Sa (the
    /// trainer uses small shifts to simulate tonic-estimate errors; inference passes 0).
    pub fn new(features: &Features, cents_shift: f32) -> Self {
        Self::with_context(features, cents_shift, 0..features.frames)
    }

    /// Like [`new`](Self::new), with the windows' context summarising only `context` frames
    /// (see [`set_context`](Self::set_context)).
    pub fn with_context(features: &Features, cents_shift: f32, context: Range<usize>) -> Self {
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
        let mut clip =
            Self { frames, values, cents, voiced_prob: features.voiced_prob.clone(), context: Vec::new() };
        clip.set_context(context);
        clip
    }

    /// Summarises `frames` (clamped to the clip) as the context of every window: the trainer
    /// draws random spans so the model also works on short clips and live input.
    pub fn set_context(&mut self, frames: Range<usize>) {
        let end = frames.end.min(self.frames);
        let start = frames.start.min(end);
        let cents = &self.cents[start..end];
        let mut context = Vec::with_capacity(CONTEXT_FEATURES);
        context.extend(scaled(pitch_class_histogram(cents, &self.voiced_prob[start..end])));
        let summary = note_summary(cents);
        let (held, rest) = summary.split_at(NOTES);
        let (moves, arrivals) = rest.split_at(NOTES * NOTES);
        for block in [held, moves, arrivals] {
            context.extend(scaled(block.to_vec()));
        }
        self.context = context;
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
        let mut hist = scaled(pitch_class_histogram(&self.cents[start..end], &self.voiced_prob[start..end]));
        hist.extend_from_slice(&self.context);
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

/// A block of values summing to 1 (or all 0), scaled to a mean of 1 so it reaches the
/// network at the same scale as the frame features.
fn scaled(mut block: Vec<f32>) -> Vec<f32> {
    let n = block.len() as f32;
    block.iter_mut().for_each(|v| *v *= n);
    block
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
            tonic_candidates: Vec::new(),
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
        assert_eq!(w.hist.len(), HIST_FEATURES);
        let window_hist: f32 = w.hist[..HIST_BINS].iter().sum();
        assert!((window_hist / HIST_BINS as f32 - 1.0).abs() < 1e-5, "window histogram scaled to mean 1");
        assert_eq!(clip.window_starts(16), [0]);
        assert_eq!(clip.window_starts(4), [0, 2, 4, 6]);
        assert_eq!(clip.window_starts(6), [0, 3, 4]);
    }

    #[test]
    fn traditions_parse() {
        assert_eq!(Tradition::parse("Carnatic"), Some(Tradition::Carnatic));
        assert_eq!(Tradition::parse("jazz"), None);
    }

    #[test]
    fn context_summarises_the_whole_clip_unless_narrowed() {
        // First half on Sa, second half on Pa.
        let mut clip = ClipFrames::new(&features(40, |t| Some(if t < 20 { 0.0 } else { 700.0 })), 0.0);
        let first = clip.window(0, 10);
        assert_eq!(first.hist[..HIST_BINS], clip.window(0, 10).hist[..HIST_BINS]);
        // The window saw only Sa; its context saw Sa and Pa equally.
        assert_eq!(first.hist[0], HIST_BINS as f32);
        assert_eq!(first.hist[HIST_BINS], HIST_BINS as f32 / 2.0);
        assert_eq!(first.hist[HIST_BINS + 70], HIST_BINS as f32 / 2.0);
        clip.set_context(20..100);
        let narrowed = clip.window(0, 10);
        assert_eq!(narrowed.hist[HIST_BINS], 0.0);
        assert_eq!(narrowed.hist[HIST_BINS + 70], HIST_BINS as f32);
    }
}
