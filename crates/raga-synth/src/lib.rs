//! Deterministic renderer of labelled raga clips with ground-truth tonic and F0.
//!
//! [`render`] turns a [`Raga`], a seed and [`RenderOptions`] into a [`Clip`]: mono audio at
//! [`SAMPLE_RATE`] plus its labels (raga, tradition, tonic) and the exact F0 of the melody on
//! the librosa frame grid (frame `t` centred at sample `t * HOP_LENGTH`). The same inputs give
//! bit-identical output on every platform; nothing here touches files or threads.
//!
//! A clip is built in layers, each randomised from the seed so that a classifier trained on
//! the corpus meets many renderings of each raga:
//! 1. a melody from the raga's phrase grammar ([`ragas`](RAGAS): pakad phrases, aroha/avaroha
//!    runs, free alap-like wandering, nyas endings, rests) with the ornaments of its tradition
//!    (meend, andolan, kan for hindustani; kampita, jaru, fast runs for carnatic);
//! 2. a timbre ([`Timbre`]) driven by the continuous F0 contour;
//! 3. a tanpura drone tuned to Sa and Pa (or Ma / Ni);
//! 4. a room: reverb, EQ tilt, noise, gain.
//!
//! ```
//! use raga_synth::{raga, render, RenderOptions, HOP_LENGTH};
//! let yaman = raga("yaman").unwrap();
//! let clip = render(yaman, 7, &RenderOptions { seconds: 2.0, ..RenderOptions::default() }).unwrap();
//! assert_eq!(clip.f0_hz.len(), 1 + clip.samples.len() / HOP_LENGTH);
//! ```

mod drone;
mod melody;
mod notation;
mod ragas;
mod rng;
mod room;
mod timbre;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use ragas::{OrnamentStyle, RAGAS, Raga, Register, raga, raga_index};
pub use timbre::Timbre;

/// Sample rate of every rendered clip, in Hz.
pub const SAMPLE_RATE: u32 = 22050;

/// Hop between F0 truth frames, in samples (frame `t` is centred at sample `t * HOP_LENGTH`).
pub const HOP_LENGTH: usize = 512;

/// Shortest clip [`render`] accepts, in seconds.
pub const MIN_SECONDS: f32 = 1.0;

/// Longest clip [`render`] accepts, in seconds.
pub const MAX_SECONDS: f32 = 600.0;

/// Range the tonic (madhya Sa) is drawn from, in Hz.
pub const TONIC_RANGE_HZ: (f32, f32) = (100.0, 270.0);

/// Default range of the drone level relative to the melody, in dB.
pub const DRONE_DB_RANGE: (f32, f32) = (-24.0, -8.0);

/// Range every voiced F0 truth value lies in, in Hz.
pub const F0_RANGE_HZ: (f32, f32) = (60.0, 1000.0);

/// Number of F0 frames for a clip of `n_samples` samples (librosa's centred frames).
pub const fn frame_count(n_samples: usize) -> usize {
    1 + n_samples / HOP_LENGTH
}

/// The two classical traditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tradition {
    /// North Indian classical music.
    Hindustani,
    /// South Indian classical music.
    Carnatic,
}

impl Tradition {
    /// Lowercase name, as in metadata files: `"hindustani"` or `"carnatic"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tradition::Hindustani => "hindustani",
            Tradition::Carnatic => "carnatic",
        }
    }
}

impl fmt::Display for Tradition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which part of a corpus a clip belongs to; each split draws from its own seed space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training clips.
    Train,
    /// Validation clips.
    Val,
    /// Held-out test clips.
    Test,
}

impl Split {
    /// Lowercase name: `"train"`, `"val"` or `"test"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }

    const fn tag(self) -> u64 {
        match self {
            Split::Train => 1,
            Split::Val => 2,
            Split::Test => 3,
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a split name that is not `train`, `val` or `test`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown split {0:?}, expected train, val or test")]
pub struct ParseSplitError(String);

impl FromStr for Split {
    type Err = ParseSplitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" => Ok(Split::Train),
            "val" | "valid" | "validation" => Ok(Split::Val),
            "test" => Ok(Split::Test),
            _ => Err(ParseSplitError(s.to_owned())),
        }
    }
}

/// The seed of clip `clip_index` of raga `raga_index` in `split`.
///
/// The split sits in the top two bits, the raga index in the next 14 and the clip index in
/// the low 48, XOR-ed with a scrambled `base_seed` and passed through the splitmix64
/// bijection. So for one `base_seed`, no two (split, raga, clip) triples with
/// `raga_index < 2^14` and `clip_index < 2^48` share a seed: train, val and test never
/// overlap.
pub fn clip_seed(base_seed: u64, split: Split, raga_index: usize, clip_index: u64) -> u64 {
    let packed =
        (split.tag() << 62) | (((raga_index as u64) & 0x3FFF) << 48) | (clip_index & 0xFFFF_FFFF_FFFF);
    rng::splitmix64(rng::splitmix64(base_seed) ^ packed)
}

/// Whether a clip has a tanpura drone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DroneMode {
    /// Drawn from the seed: present in about 90% of clips.
    #[default]
    Random,
    /// Always present.
    Always,
    /// Never present.
    Never,
}

/// What to render besides the raga and seed.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// Clip length in seconds, [`MIN_SECONDS`]..=[`MAX_SECONDS`].
    pub seconds: f32,
    /// Tanpura drone presence.
    pub drone: DroneMode,
    /// Range the drone level (RMS, dB relative to the melody while it sounds) is drawn from.
    pub drone_db_range: (f32, f32),
    /// Apply the random room (reverb, EQ tilt, noise); `false` gives a dry, clean mix.
    pub room: bool,
    /// Force a timbre instead of drawing one.
    pub timbre: Option<Timbre>,
    /// Force the tonic (Hz, within [`TONIC_RANGE_HZ`]) instead of drawing one.
    pub tonic_hz: Option<f32>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            seconds: 30.0,
            drone: DroneMode::Random,
            drone_db_range: DRONE_DB_RANGE,
            room: true,
            timbre: None,
            tonic_hz: None,
        }
    }
}

/// A rendered clip and its ground truth.
#[derive(Debug, Clone)]
pub struct Clip {
    /// Mono samples at [`SAMPLE_RATE`], peak-normalised to a random level between -6 and -1 dBFS.
    pub samples: Vec<f32>,
    /// The raga (label).
    pub raga: &'static Raga,
    /// Madhya Sa of the melody and the drone, in Hz.
    pub tonic_hz: f32,
    /// Melody F0 per frame (`1 + samples.len() / HOP_LENGTH` frames): exactly the fundamental
    /// the oscillator was driven with at the frame centre, within [`F0_RANGE_HZ`]; 0.0 where the
    /// melody is silent (rests, attack/release edges, plucks decayed below about -18 dB of a
    /// full note).
    pub f0_hz: Vec<f32>,
    /// Melody instrument.
    pub timbre: Timbre,
    /// Beat rate of the melody (one written beat per `60 / tempo_bpm` seconds).
    pub tempo_bpm: f32,
    /// Drone level relative to the melody in dB (RMS), `None` without a drone.
    pub drone_db: Option<f32>,
    /// Signal-to-noise ratio of the added noise in dB, `None` without a room.
    pub snr_db: Option<f32>,
    /// Reverb time in seconds (0 without a room).
    pub rt60_s: f32,
    /// The seed the clip was rendered from.
    pub seed: u64,
}

impl Clip {
    /// The raga's tradition.
    pub fn tradition(&self) -> Tradition {
        self.raga.tradition
    }

    /// Clip length in seconds.
    pub fn seconds(&self) -> f32 {
        self.samples.len() as f32 / SAMPLE_RATE as f32
    }
}

/// Why a clip could not be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SynthError {
    /// The requested length is not a finite number of seconds in range.
    #[error("clip length must be between {MIN_SECONDS} and {MAX_SECONDS} seconds, got {0}")]
    InvalidSeconds(f32),
    /// The forced tonic is outside [`TONIC_RANGE_HZ`].
    #[error("tonic must be between 100 and 270 hz, got {0}")]
    InvalidTonic(f32),
    /// The drone level range is not finite or runs backwards.
    #[error("drone level range must be finite with low <= high, got {0} to {1} db")]
    InvalidDroneLevel(f32, f32),
}

/// Renders one labelled clip of `raga` from `seed`.
///
/// # Errors
/// [`SynthError::InvalidSeconds`] when `opts.seconds` is not finite or outside
/// [`MIN_SECONDS`]..=[`MAX_SECONDS`]; [`SynthError::InvalidTonic`] for a forced tonic outside
/// [`TONIC_RANGE_HZ`]; [`SynthError::InvalidDroneLevel`] for a bad `drone_db_range`.
pub fn render(raga: &'static Raga, seed: u64, opts: &RenderOptions) -> Result<Clip, SynthError> {
    let seconds = opts.seconds;
    if !seconds.is_finite() || !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
        return Err(SynthError::InvalidSeconds(seconds));
    }
    if let Some(t) = opts.tonic_hz
        && (!t.is_finite() || !(TONIC_RANGE_HZ.0..=TONIC_RANGE_HZ.1).contains(&t))
    {
        return Err(SynthError::InvalidTonic(t));
    }
    let (drone_lo, drone_hi) = opts.drone_db_range;
    if !drone_lo.is_finite() || !drone_hi.is_finite() || drone_lo > drone_hi {
        return Err(SynthError::InvalidDroneLevel(drone_lo, drone_hi));
    }
    let sr = SAMPLE_RATE as f32;
    let n = (f64::from(seconds) * f64::from(SAMPLE_RATE)).round() as usize;

    let mut top = rng::stream(seed, 0);
    let tonic_hz =
        opts.tonic_hz.unwrap_or_else(|| rng::uniform(&mut top, TONIC_RANGE_HZ.0, TONIC_RANGE_HZ.1));
    let timbre = opts.timbre.unwrap_or_else(|| Timbre::ALL[rng::index(&mut top, Timbre::ALL.len())]);

    let voice = timbre::Instrument::random(timbre, &mut rng::stream(seed, 1));
    let melody = melody::generate(raga, tonic_hz, n, &voice.melody_hints(), &mut rng::stream(seed, 2));
    let synth = voice.synthesize(&melody, &mut rng::stream(seed, 3));

    // Ground truth: the oscillator's F0 at each frame centre where the melody sounds.
    let f0_hz: Vec<f32> = (0..frame_count(n))
        .map(|t| {
            let i = (t * HOP_LENGTH).min(n.saturating_sub(1));
            if synth.level.get(i).copied().unwrap_or(0.0) >= timbre::VOICED_LEVEL {
                melody.f0.get(i).copied().unwrap_or(0.0)
            } else {
                0.0
            }
        })
        .collect();

    let mut mix = synth.audio;
    let melody_rms = rms_where(&mix, &synth.level);
    let mut drone_rng = rng::stream(seed, 4);
    let with_drone = match opts.drone {
        DroneMode::Always => true,
        DroneMode::Never => false,
        DroneMode::Random => rng::chance(&mut drone_rng, 0.9),
    };
    let drone_db = if with_drone {
        let db = rng::uniform(&mut drone_rng, drone_lo, drone_hi);
        let drone = drone::render(raga, tonic_hz, n, &mut drone_rng);
        let drone_rms = rms(&drone);
        if drone_rms > 0.0 {
            let g = melody_rms * db_to_gain(db) / drone_rms;
            for (m, d) in mix.iter_mut().zip(&drone) {
                *m += g * d;
            }
        }
        Some(db)
    } else {
        None
    };

    let (snr_db, rt60_s) = if opts.room {
        let room = room::Room::random(&mut rng::stream(seed, 5));
        room.apply(&mut mix, sr, &mut rng::stream(seed, 6));
        (Some(room.snr_db), room.rt60_s)
    } else {
        (None, 0.0)
    };

    let peak = mix.iter().fold(0.0f32, |p, x| p.max(x.abs()));
    if peak > 0.0 {
        let target = db_to_gain(rng::uniform(&mut top, -6.0, -1.0));
        let g = target / peak;
        for x in &mut mix {
            *x *= g;
        }
    }

    Ok(Clip {
        samples: mix,
        raga,
        tonic_hz,
        f0_hz,
        timbre,
        tempo_bpm: melody.tempo_bpm,
        drone_db,
        snr_db,
        rt60_s,
        seed,
    })
}

/// Converts decibels to a linear amplitude gain.
pub(crate) fn db_to_gain(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    let s: f64 = x.iter().map(|v| f64::from(*v) * f64::from(*v)).sum();
    (s / x.len() as f64).sqrt() as f32
}

/// RMS over the samples where the melody sounds (all samples if it never does).
fn rms_where(x: &[f32], level: &[f32]) -> f32 {
    let (mut s, mut c) = (0.0f64, 0usize);
    for (v, l) in x.iter().zip(level) {
        if *l >= timbre::VOICED_LEVEL {
            s += f64::from(*v) * f64::from(*v);
            c += 1;
        }
    }
    if c == 0 { rms(x) } else { (s / c as f64).sqrt() as f32 }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;
