//! Audio features shared by trainer, server and browser: resampling, log-mel, pYIN F0, tonic, pitch features.
//!
//! Everything here takes samples and returns values: no files, no HTTP, no SQL, no JavaScript.
//! The one entry point most callers need is [`extract`], which turns mono or interleaved
//! samples at any rate into [`Features`] on the librosa frame grid (centred frames, hop 512
//! at 22050 Hz).
//!
//! ```
//! use raga_dsp::{extract, FeatureConfig};
//! let sr = 22050;
//! let tone: Vec<f32> = (0..sr * 2).map(|i| (i as f32 * 220.0 * std::f32::consts::TAU / sr as f32).sin() * 0.5).collect();
//! let features = extract(&tone, sr as u32, 1, &FeatureConfig::default()).unwrap();
//! assert_eq!(features.n_mels, 128);
//! let mid = features.frames / 2;
//! assert!((features.f0_hz[mid] - 220.0).abs() < 2.0);
//! ```

mod drone;
mod error;
mod f0;
mod mel;
mod pitch;
mod resample;
mod tonic;

pub use drone::{DroneSplit, suppress_drone};
pub use error::DspError;
pub use f0::{F0Config, F0Track, pyin};
pub use mel::{MelConfig, MelFilterbank, MelScale, log_mel, mel_power, power_to_db};
pub use pitch::{
    HIST_BINS, NOTE_SUMMARY_FEATURES, NOTES, cents_from_tonic, folded_histogram, note_summary,
    pitch_class_histogram,
};
pub use resample::{resample, to_mono};
pub use tonic::{TONIC_CANDIDATES, TonicCandidate, TonicConfig, estimate_tonic, tonic_candidates};

use serde::{Deserialize, Serialize};

/// Version of the feature computation: bumped whenever the same samples and config would give
/// different features, so caches and model packages made by older builds are recomputed or
/// rejected instead of silently mixed.
pub const FEATURES_VERSION: u32 = 2;

/// The sample rate every feature is computed at.
pub const SAMPLE_RATE: u32 = 22050;

/// The shortest clip features are computed for, in seconds.
pub const MIN_SECONDS: f32 = 1.0;

/// Everything that decides the features; saved with every model so inference rebuilds
/// exactly what was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Sample rate features are computed at (input is resampled to it).
    pub sample_rate: u32,
    /// Log-mel settings.
    pub mel: MelConfig,
    /// F0 tracker settings.
    pub f0: F0Config,
    /// Tonic search settings.
    pub tonic: TonicConfig,
    /// How much of the steady (drone) spectrum is removed before F0 tracking; 0 disables.
    pub drone_suppression: f32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            sample_rate: SAMPLE_RATE,
            mel: MelConfig::default(),
            f0: F0Config::default(),
            tonic: TonicConfig::default(),
            drone_suppression: 1.0,
        }
    }
}

/// Frame-level and clip-level features of one clip.
///
/// Every per-frame vector has `frames` entries on the same grid: frame `t` is centred at
/// sample `t * hop_length` of the (resampled) clip, as in librosa with `center=True`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Sample rate of the grid.
    pub sample_rate: u32,
    /// Hop between frames, in samples.
    pub hop_length: usize,
    /// Mel bands per frame.
    pub n_mels: usize,
    /// Number of frames.
    pub frames: usize,
    /// Log-mel power in dB, `frames × n_mels`, row-major (one row per frame).
    pub log_mel: Vec<f32>,
    /// Melody F0 in Hz per frame, 0 where unvoiced.
    pub f0_hz: Vec<f32>,
    /// Probability that the frame is voiced.
    pub voiced_prob: Vec<f32>,
    /// Estimated tonic (Sa) in Hz: the first of `tonic_candidates`, or the one given.
    pub tonic_hz: f32,
    /// The tonic estimator's best few candidates, best first (just the given tonic after
    /// [`with_tonic`](Self::with_tonic)); a classifier may verify them and pick another.
    #[serde(default)]
    pub tonic_candidates: Vec<TonicCandidate>,
    /// Pitch relative to the tonic in cents per frame (unfolded), `None` where unvoiced.
    pub cents: Vec<Option<f32>>,
    /// Folded pitch-class histogram relative to the tonic: [`HIST_BINS`] bins of 10 cents,
    /// bin 0 centred on Sa, summing to 1 (all zeros when nothing is voiced).
    pub pitch_class_hist: Vec<f32>,
}

impl Features {
    /// The log-mel row of frame `t`.
    pub fn mel_frame(&self, t: usize) -> &[f32] {
        &self.log_mel[t * self.n_mels..(t + 1) * self.n_mels]
    }

    /// Cents to add to every pitch of these features (relative to `tonic_hz`) to have it
    /// relative to `hz` instead; 0 when either is not a positive frequency.
    pub fn cents_shift_to(&self, hz: f32) -> f32 {
        if hz > 0.0 && self.tonic_hz > 0.0 { 1200.0 * (self.tonic_hz / hz).log2() } else { 0.0 }
    }

    /// The same features relative to another tonic, e.g. the performer's Sa when the user
    /// knows it: cents and the pitch-class histogram are recomputed, the rest is kept.
    /// Fails on a tonic that is not a positive, finite frequency.
    pub fn with_tonic(mut self, tonic_hz: f32) -> Result<Self, DspError> {
        if !(tonic_hz.is_finite() && tonic_hz > 0.0) {
            return Err(DspError::Config(format!("tonic {tonic_hz} Hz must be a positive frequency")));
        }
        self.tonic_hz = tonic_hz;
        self.tonic_candidates = vec![TonicCandidate { hz: tonic_hz, score: 0.0 }];
        self.cents = cents_from_tonic(&self.f0_hz, tonic_hz);
        self.pitch_class_hist = pitch_class_histogram(&self.cents, &self.voiced_prob);
        Ok(self)
    }
}

/// Resamples to the configured rate, then computes every feature.
///
/// `samples` is interleaved when `channels > 1`. Fails on empty, too short, non-finite or
/// silent input, and on sample rates outside 8–192 kHz.
pub fn extract(
    samples: &[f32],
    sample_rate: u32,
    channels: usize,
    config: &FeatureConfig,
) -> Result<Features, DspError> {
    let mono = to_mono(samples, channels)?;
    check_signal(&mono, sample_rate)?;
    let audio = resample(&mono, sample_rate, config.sample_rate)?;
    features_at_rate(&audio, config)
}

/// Computes every feature for mono samples already at `config.sample_rate`.
pub fn features_at_rate(audio: &[f32], config: &FeatureConfig) -> Result<Features, DspError> {
    check_signal(audio, config.sample_rate)?;
    let bank = MelFilterbank::new(config.sample_rate, &config.mel)?;
    let log_mel = log_mel(audio, &bank, &config.mel);
    let split = suppress_drone(audio, config.mel.n_fft, config.mel.hop_length, config.drone_suppression);
    let track = pyin(&split.melody, config.sample_rate, &config.f0)?;
    let tonic_candidates =
        tonic_candidates(&track, &split, config.sample_rate, &config.tonic, TONIC_CANDIDATES);
    let tonic_hz = tonic_candidates.first().map_or(0.0, |c| c.hz);
    let cents = cents_from_tonic(&track.f0_hz, tonic_hz);
    let pitch_class_hist = pitch_class_histogram(&cents, &track.voiced_prob);
    let frames = track.f0_hz.len();
    debug_assert_eq!(log_mel.len(), frames * config.mel.n_mels);
    Ok(Features {
        sample_rate: config.sample_rate,
        hop_length: config.mel.hop_length,
        n_mels: config.mel.n_mels,
        frames,
        log_mel,
        f0_hz: track.f0_hz,
        voiced_prob: track.voiced_prob,
        tonic_hz,
        tonic_candidates,
        cents,
        pitch_class_hist,
    })
}

/// Rejects signals no feature can be computed from.
fn check_signal(samples: &[f32], sample_rate: u32) -> Result<(), DspError> {
    if !(8_000..=192_000).contains(&sample_rate) {
        return Err(DspError::SampleRate(sample_rate));
    }
    if samples.is_empty() {
        return Err(DspError::Empty);
    }
    let seconds = samples.len() as f32 / sample_rate as f32;
    if seconds < MIN_SECONDS {
        return Err(DspError::TooShort { seconds, min: MIN_SECONDS });
    }
    if let Some(index) = samples.iter().position(|s| !s.is_finite()) {
        return Err(DspError::NonFinite { index });
    }
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    if peak < 1e-5 {
        return Err(DspError::Silent);
    }
    Ok(())
}
