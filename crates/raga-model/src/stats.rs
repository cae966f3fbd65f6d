//! Summary statistics of clip features: recorded over the training set into every model
//! package, and computed the same way over live traffic, so drift can be measured.

use raga_dsp::{Features, HIST_BINS};
use serde::{Deserialize, Serialize};

use crate::input::N_MELS;

/// Mean and standard deviation of one quantity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
}

/// Feature statistics of a set of clips.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStats {
    /// Clips summarised.
    pub clips: u64,
    /// Frames summarised.
    pub frames: u64,
    /// Per mel band, over all frames: log-mel dB.
    pub log_mel: Vec<MeanStd>,
    /// Per clip: mean log-mel dB over bands and frames (overall level).
    pub level_db: MeanStd,
    /// Per clip: fraction of frames voiced (probability > 0.5).
    pub voiced_fraction: MeanStd,
    /// Per clip: tonic in Hz.
    pub tonic_hz: MeanStd,
    /// Per clip: seconds.
    pub seconds: MeanStd,
    /// Mean folded pitch-class histogram (120 bins of 10 cents, bin 0 on Sa).
    pub pitch_class_hist: Vec<f64>,
}

/// Streaming accumulator for [`FeatureStats`] (Welford's algorithm, so one pass and stable).
#[derive(Debug, Clone)]
pub struct StatsAccumulator {
    clips: u64,
    frames: u64,
    mel: Vec<Welford>,
    level: Welford,
    voiced: Welford,
    tonic: Welford,
    seconds: Welford,
    hist: Vec<f64>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Welford {
    fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    fn finish(&self) -> MeanStd {
        let var = if self.n > 0 { self.m2 / self.n as f64 } else { 0.0 };
        MeanStd { mean: self.mean, std: var.max(0.0).sqrt() }
    }
}

impl Default for StatsAccumulator {
    fn default() -> Self {
        Self {
            clips: 0,
            frames: 0,
            mel: vec![Welford::default(); N_MELS],
            level: Welford::default(),
            voiced: Welford::default(),
            tonic: Welford::default(),
            seconds: Welford::default(),
            hist: vec![0.0; HIST_BINS],
        }
    }
}

impl StatsAccumulator {
    /// Adds one clip.
    pub fn push(&mut self, features: &Features) {
        if features.frames == 0 {
            return;
        }
        self.clips += 1;
        self.frames += features.frames as u64;
        let mut level = 0.0f64;
        for t in 0..features.frames {
            for (acc, &db) in self.mel.iter_mut().zip(features.mel_frame(t)) {
                acc.push(f64::from(db));
                level += f64::from(db);
            }
        }
        self.level.push(level / (features.frames * features.n_mels.max(1)) as f64);
        let voiced = features.voiced_prob.iter().filter(|&&p| p > 0.5).count();
        self.voiced.push(voiced as f64 / features.frames as f64);
        self.tonic.push(f64::from(features.tonic_hz));
        self.seconds.push(
            (features.frames.saturating_sub(1) * features.hop_length) as f64
                / f64::from(features.sample_rate),
        );
        for (acc, &p) in self.hist.iter_mut().zip(&features.pitch_class_hist) {
            *acc += f64::from(p);
        }
    }

    /// Merges another accumulator (for parallel passes).
    pub fn merge(&mut self, other: &Self) {
        fn combine(a: &mut Welford, b: &Welford) {
            if b.n == 0 {
                return;
            }
            let n = a.n + b.n;
            let d = b.mean - a.mean;
            a.mean += d * b.n as f64 / n as f64;
            a.m2 += b.m2 + d * d * a.n as f64 * b.n as f64 / n as f64;
            a.n = n;
        }
        self.clips += other.clips;
        self.frames += other.frames;
        for (a, b) in self.mel.iter_mut().zip(&other.mel) {
            combine(a, b);
        }
        combine(&mut self.level, &other.level);
        combine(&mut self.voiced, &other.voiced);
        combine(&mut self.tonic, &other.tonic);
        combine(&mut self.seconds, &other.seconds);
        for (a, b) in self.hist.iter_mut().zip(&other.hist) {
            *a += b;
        }
    }

    /// The statistics so far.
    pub fn finish(&self) -> FeatureStats {
        let clips = self.clips.max(1) as f64;
        FeatureStats {
            clips: self.clips,
            frames: self.frames,
            log_mel: self.mel.iter().map(Welford::finish).collect(),
            level_db: self.level.finish(),
            voiced_fraction: self.voiced.finish(),
            tonic_hz: self.tonic.finish(),
            seconds: self.seconds.finish(),
            pitch_class_hist: self.hist.iter().map(|h| h / clips).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(level: f32, tonic: f32) -> Features {
        Features {
            sample_rate: 22050,
            hop_length: 512,
            n_mels: N_MELS,
            frames: 4,
            log_mel: vec![level; 4 * N_MELS],
            f0_hz: vec![0.0; 4],
            voiced_prob: vec![1.0, 1.0, 0.0, 0.0],
            tonic_hz: tonic,
            tonic_candidates: Vec::new(),
            cents: vec![None; 4],
            pitch_class_hist: vec![1.0 / HIST_BINS as f32; HIST_BINS],
        }
    }

    #[test]
    fn merge_equals_one_pass() {
        let clips = [clip(-10.0, 100.0), clip(-30.0, 200.0), clip(-20.0, 150.0)];
        let mut one = StatsAccumulator::default();
        clips.iter().for_each(|c| one.push(c));
        let (mut a, mut b) = (StatsAccumulator::default(), StatsAccumulator::default());
        a.push(&clips[0]);
        b.push(&clips[1]);
        b.push(&clips[2]);
        a.merge(&b);
        let (x, y) = (one.finish(), a.finish());
        assert_eq!(x.clips, 3);
        assert!((x.tonic_hz.mean - 150.0).abs() < 1e-9);
        assert!((x.tonic_hz.std - y.tonic_hz.std).abs() < 1e-9);
        assert!((x.level_db.mean + 20.0).abs() < 1e-9);
        assert!((x.voiced_fraction.mean - 0.5).abs() < 1e-9);
        assert!((x.log_mel[0].std - y.log_mel[0].std).abs() < 1e-9);
    }
}
