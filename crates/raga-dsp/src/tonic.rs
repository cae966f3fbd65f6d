//! Tonic (Sa) estimation from the pitch track: the pitch class that best explains the
//! melody as a raga over a drone (Sa and Pa/Ma stable and frequent), placed in the octave
//! the melody centres on.

use serde::{Deserialize, Serialize};

use crate::{DroneSplit, F0Track};

/// Tonic search settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TonicConfig {
    /// Lowest tonic considered, Hz.
    pub fmin: f32,
    /// Highest tonic considered, Hz.
    pub fmax: f32,
}

impl Default for TonicConfig {
    fn default() -> Self {
        Self { fmin: 100.0, fmax: 270.0 }
    }
}

const BINS: usize = 120;

/// Peak-to-mean ratio of the steady salience above which a drone is taken to be present.
const DRONE_PEAKINESS: f64 = 1.3;

fn smooth_circular(hist: &[f64], sigma_bins: f64) -> Vec<f64> {
    let radius = (3.0 * sigma_bins).ceil() as isize;
    let kernel: Vec<f64> =
        (-radius..=radius).map(|k| (-(k as f64).powi(2) / (2.0 * sigma_bins * sigma_bins)).exp()).collect();
    (0..BINS)
        .map(|i| {
            kernel
                .iter()
                .enumerate()
                .map(|(k, w)| w * hist[(i as isize + k as isize - radius).rem_euclid(BINS as isize) as usize])
                .sum()
        })
        .collect()
}

/// Harmonic-sum salience of the steady spectrum, folded to pitch classes relative to `fmin`.
fn drone_salience(drone: &DroneSplit, sample_rate: u32, fmin: f64) -> Vec<f64> {
    let hz_per_bin = sample_rate as f64 / drone.n_fft as f64;
    let mags = &drone.steady_magnitude;
    // Compress dynamics so a few loud partials do not dominate.
    let floor = {
        let mut sorted: Vec<f32> = mags.clone();
        let mid = sorted.len() / 2;
        *sorted.select_nth_unstable_by(mid, f32::total_cmp).1 as f64
    };
    let level = |hz: f64| -> f64 {
        let x = hz / hz_per_bin;
        let i = x.floor() as usize;
        if i + 1 >= mags.len() {
            return 0.0;
        }
        let frac = x - i as f64;
        let m = mags[i] as f64 * (1.0 - frac) + mags[i + 1] as f64 * frac;
        (m / (floor + 1e-12)).max(1.0).ln()
    };
    let mut folded = vec![0f64; BINS];
    // Candidate roots from the kharaj (an octave under the lowest tonic) up to the highest
    // tonic: the root whose harmonics explain the drone's partials best.
    let steps = (1200.0 * (1.0 + config_fmax_ratio()) / 10.0) as usize;
    for step in 0..steps {
        let f = fmin / 2.0 * 2f64.powf(step as f64 * 10.0 / 1200.0);
        let s: f64 = (1..=12).map(|h| 0.9f64.powi(h - 1) * level(h as f64 * f)).sum();
        let pc = step % BINS; // fmin/2 is pitch class 0 too
        folded[pc] = folded[pc].max(s);
    }
    folded
}

/// Pitch classes (relative to `fmin`) of the steady spectral peaks between `fmin / 2` and
/// `fmax`, where the drone strings' fundamentals lie, weighted by level.
fn fundamental_classes(drone: &DroneSplit, sample_rate: u32, fmin: f64, fmax: f64) -> Vec<f64> {
    let hz_per_bin = sample_rate as f64 / drone.n_fft as f64;
    let m = &drone.steady_magnitude;
    let mut classes = vec![0f64; BINS];
    let lo = ((fmin / 2.0 / hz_per_bin).floor() as usize).max(1);
    let hi = ((fmax / hz_per_bin).ceil() as usize).min(m.len().saturating_sub(2));
    let loudest = m[lo..=hi].iter().copied().fold(0f32, f32::max) as f64;
    for k in lo..=hi {
        let (l, c, r) = (m[k - 1] as f64, m[k] as f64, m[k + 1] as f64);
        if c > l && c >= r && c > 0.1 * loudest {
            let denom = l - 2.0 * c + r;
            let shift = if denom.abs() > 1e-12 { 0.5 * (l - r) / denom } else { 0.0 };
            let hz = (k as f64 + shift) * hz_per_bin;
            let cents = 1200.0 * (hz / fmin).log2();
            classes[((cents / 10.0).round() as isize).rem_euclid(BINS as isize) as usize] += c / loudest;
        }
    }
    classes
}

/// Octaves spanned by the default tonic range (100–270 Hz).
fn config_fmax_ratio() -> f64 {
    (270.0f64 / 100.0).log2()
}

fn normalised(v: Vec<f64>) -> Vec<f64> {
    let max = v.iter().copied().fold(0.0, f64::max);
    if max > 0.0 { v.into_iter().map(|x| x / max).collect() } else { v }
}

/// Estimates the tonic in Hz from the melody's pitch track and the steady (drone)
/// spectrum; returns 0 when nothing is voiced.
pub fn estimate_tonic(track: &F0Track, drone: &DroneSplit, sample_rate: u32, config: &TonicConfig) -> f32 {
    let fmin = config.fmin as f64;
    // Pitch-class histogram of the melody relative to fmin, 10-cent bins.
    let mut hist = vec![0f64; BINS];
    let mut logs = Vec::new();
    for (&f, &p) in track.f0_hz.iter().zip(&track.voiced_prob) {
        if f > 0.0 {
            let cents = 1200.0 * (f as f64 / fmin).log2();
            hist[((cents / 10.0).round() as isize).rem_euclid(BINS as isize) as usize] += p.max(1e-3) as f64;
            logs.push(cents);
        }
    }
    if logs.is_empty() {
        return 0.0;
    }
    let melody = normalised(smooth_circular(&hist, 1.5));
    let salience = smooth_circular(&drone_salience(drone, sample_rate, fmin), 1.0);
    let mean = salience.iter().sum::<f64>() / BINS as f64;
    let peak = salience.iter().copied().fold(0.0, f64::max);
    let m = |i: usize, offset: usize| melody[(i + offset) % BINS];
    let best = if peak > DRONE_PEAKINESS * mean {
        // A drone: three of its four strings (two Sa, kharaj Sa) sound Sa, whatever the
        // fourth is tuned to, so Sa owns most of the energy among the strings' fundamentals.
        // Coarse pitch class from those fundamentals, refined by the harmonic salience.
        let coarse = smooth_circular(&fundamental_classes(drone, sample_rate, fmin, config.fmax as f64), 5.0);
        let centre = (0..BINS).max_by(|&a, &b| coarse[a].total_cmp(&coarse[b])).unwrap_or(0);
        (0..=20)
            .map(|d| (centre + BINS - 10 + d) % BINS)
            .max_by(|&a, &b| salience[a].total_cmp(&salience[b]))
            .unwrap_or(centre)
    } else {
        let score = |i: usize| m(i, 0) + 0.5 * m(i, 70).max(m(i, 50));
        (0..BINS).max_by(|&a, &b| score(a).total_cmp(&score(b))).unwrap_or(0)
    };
    // Place the pitch class in the octave whose Sa sits just under the melody's centre.
    logs.sort_by(f64::total_cmp);
    let median = logs[logs.len() / 2];
    let pc = best as f64 * 10.0;
    let top = 1200.0 * (config.fmax as f64 / fmin).log2();
    let target = median - 500.0;
    let chosen = (-3..=3)
        .map(|k| pc + 1200.0 * k as f64)
        .filter(|c| (-1e-9..=top + 1e-9).contains(c))
        .min_by(|a, b| (a - target).abs().total_cmp(&(b - target).abs()))
        .unwrap_or(pc);
    (fmin * 2f64.powf(chosen / 1200.0)) as f32
}
