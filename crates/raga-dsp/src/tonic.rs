//! Tonic (Sa) estimation: the drone's strings (kharaj Sa, two Sa, and Pa, Ma or Ni) matched
//! as a harmonic template against the steady spectrum, combined with where the melody dwells
//! and rests (Sa, with Pa or Ma a fifth or fourth above), placed in the octave the melody
//! centres on.

use serde::{Deserialize, Serialize};

use crate::{DroneSplit, F0Track};

/// Tonic search settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TonicConfig {
    /// Lowest tonic considered, Hz.
    pub fmin: f32,
    /// Highest tonic considered, Hz.
    pub fmax: f32,
    /// Weight of the drone evidence (a z-score over pitch classes) against the melody's
    /// (normalised to a peak of 1).
    #[serde(default = "default_drone_weight")]
    pub drone_weight: f32,
}

fn default_drone_weight() -> f32 {
    1.2
}

impl Default for TonicConfig {
    fn default() -> Self {
        Self { fmin: 100.0, fmax: 270.0, drone_weight: default_drone_weight() }
    }
}

/// Pitch-class bins of 10 cents.
const BINS: usize = 120;
/// Steps of the absolute tonic grid the drone template is matched on, cents.
const STEP_CENTS: f64 = 5.0;
/// Highest drone partial matched, Hz (jawari keeps upper partials strong).
const MAX_PARTIAL_HZ: f64 = 5000.0;
/// Log level over the local floor counted as a partial being present.
const PRESENCE: f64 = 0.35;
/// Log level above which a partial counts no more (one loud partial is not a drone).
const LEVEL_CAP: f64 = 3.0;
/// Weight of the fourth string's own partials (those not on the kharaj series).
const FOURTH_WEIGHT: f64 = 0.25;
/// Fourth-string tunings relative to Sa: mandra Pa, mandra Ma, mandra Ni.
const FOURTH_STRINGS: [f64; 3] = [0.75, 2.0 / 3.0, 15.0 / 16.0];
/// Bins on either side over which the steady spectrum's local floor is taken.
const FLOOR_HALF_WIDTH: usize = 24;
/// Weight of the fifth (Pa) or fourth (Ma) above a melody tonic candidate.
const FIFTH_WEIGHT: f64 = 0.5;
/// Frames (hop 512 at 22.05 kHz: about 0.19 s) a pitch must hold to count as a held note.
const HELD_FRAMES: usize = 8;
/// How far a held note may stray from its running mean, cents.
const HELD_TOLERANCE_CENTS: f64 = 35.0;
/// Extra weight of a held note that ends a phrase (followed by silence).
const PHRASE_END_WEIGHT: f64 = 2.0;
/// Sa sits this far under the centre of the melody's range (10th–90th percentile).
const SA_UNDER_CENTRE_CENTS: f64 = 250.0;

fn bin_of(cents: f64) -> usize {
    ((cents / 10.0).round() as isize).rem_euclid(BINS as isize) as usize
}

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

fn normalised(v: Vec<f64>) -> Vec<f64> {
    let max = v.iter().copied().fold(0.0, f64::max);
    if max > 0.0 { v.into_iter().map(|x| x / max).collect() } else { v }
}

/// Log level of the steady spectrum over its local floor (a low percentile of nearby bins),
/// per FFT bin: partials stand out of coloured noise whatever its slope.
fn steady_levels(drone: &DroneSplit) -> Vec<f64> {
    let m = &drone.steady_magnitude;
    let n = m.len();
    let mut window = Vec::with_capacity(2 * FLOOR_HALF_WIDTH + 1);
    (0..n)
        .map(|k| {
            window.clear();
            window
                .extend_from_slice(&m[k.saturating_sub(FLOOR_HALF_WIDTH)..(k + FLOOR_HALF_WIDTH + 1).min(n)]);
            let rank = window.len() / 3;
            let floor = *window.select_nth_unstable_by(rank, f32::total_cmp).1 as f64;
            (m[k] as f64 / (floor + 1e-12)).max(1.0).ln()
        })
        .collect()
}

/// Drone-template score per candidate tonic on an absolute grid from `fmin` up in
/// [`STEP_CENTS`] steps. A tanpura's lowest string is the kharaj Sa (Sa / 2), whose harmonic
/// series holds the two Sa strings too; the fourth string (Pa, Ma or Ni under Sa, whichever
/// fits best) adds its own partials. Every predicted partial adds its level minus a presence
/// threshold, so a candidate whose kharaj would predict absent partials (Pa or Ma taken for
/// Sa) loses to the one that explains the partials with fewer gaps.
fn drone_scores(levels: &[f64], hz_per_bin: f64, fmin: f64, fmax: f64) -> Vec<f64> {
    let level = |hz: f64| -> f64 {
        let x = hz / hz_per_bin;
        let i = x.floor() as usize;
        if i + 1 >= levels.len() {
            return 0.0;
        }
        let frac = x - i as f64;
        (levels[i] * (1.0 - frac) + levels[i + 1] * frac).min(LEVEL_CAP)
    };
    let steps = (1200.0 * (fmax / fmin).log2() / STEP_CENTS).floor() as usize + 1;
    (0..steps)
        .map(|s| {
            let sa = fmin * 2f64.powf(s as f64 * STEP_CENTS / 1200.0);
            let kharaj = sa / 2.0;
            let series = |f0: f64, skip: &dyn Fn(f64) -> bool| -> f64 {
                (1..)
                    .map(|k| k as f64 * f0)
                    .take_while(|&f| f <= MAX_PARTIAL_HZ)
                    .filter(|&f| !skip(f))
                    .map(|f| level(f) - PRESENCE)
                    .sum()
            };
            let on_kharaj = |f: f64| (f - (f / kharaj).round() * kharaj).abs() <= 1.5 * hz_per_bin;
            let fourth = FOURTH_STRINGS.iter().map(|r| series(r * sa, &on_kharaj)).fold(f64::MIN, f64::max);
            series(kharaj, &|_| false) + FOURTH_WEIGHT * fourth
        })
        .collect()
}

/// Pitch-class histogram (relative to `fmin`) of held notes, weighted by how long they are
/// held, phrase-final notes counted extra: melodies hold and rest on Sa (and a few nyas notes).
fn resting_notes(track: &F0Track, fmin: f64) -> Vec<f64> {
    let cents: Vec<Option<f64>> =
        track.f0_hz.iter().map(|&f| (f > 0.0).then(|| 1200.0 * (f as f64 / fmin).log2())).collect();
    let n = cents.len();
    let mut out = vec![0f64; BINS];
    let mut t = 0;
    while t < n {
        let Some(first) = cents[t] else {
            t += 1;
            continue;
        };
        // Grow the note while the pitch stays near its running mean.
        let (mut sum, mut len) = (first, 1usize);
        let mut u = t + 1;
        while let Some(Some(c)) = cents.get(u) {
            if (c - sum / len as f64).abs() > HELD_TOLERANCE_CENTS {
                break;
            }
            sum += c;
            len += 1;
            u += 1;
        }
        if len >= HELD_FRAMES {
            let phrase_end = u < n && cents[u..(u + 6).min(n)].iter().all(Option::is_none);
            out[bin_of(sum / len as f64)] += len as f64 * if phrase_end { PHRASE_END_WEIGHT } else { 1.0 };
        }
        t = u;
    }
    out
}

/// A possible tonic and how well it explains the clip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TonicCandidate {
    /// Frequency of Sa, Hz.
    pub hz: f32,
    /// Evidence for it: melody (dwelling and resting on Sa, with Pa or Ma above; peak 1 plus
    /// half the fifth's) plus the drone's z-score weighted by [`TonicConfig::drone_weight`].
    /// Only differences between the candidates of one clip mean anything.
    pub score: f32,
}

/// Candidates kept per clip: one per semitone of the octave, best evidence first. A downstream
/// check (the classifier's own tonic check and scale templates) can pick another than the
/// first; keeping all twelve lets it recover a Sa the estimator ranked low (no drone, or a
/// melody resting on Ma or Pa), and the classifier's bound skips those that cannot win.
pub const TONIC_CANDIDATES: usize = 12;

/// Bins (of 10 cents) on either side of a semitone step searched for a candidate's peak.
const REFINE_BINS: usize = 3;

/// Estimates the tonic in Hz from the melody's pitch track and the steady (drone)
/// spectrum; returns 0 when nothing is voiced.
pub fn estimate_tonic(track: &F0Track, drone: &DroneSplit, sample_rate: u32, config: &TonicConfig) -> f32 {
    tonic_candidates(track, drone, sample_rate, config, 1).first().map_or(0.0, |c| c.hz)
}

/// The `k` most likely tonics, best first, one per semitone step from the best (so at least
/// 40 cents apart); empty when nothing is voiced. The first is [`estimate_tonic`]'s answer.
pub fn tonic_candidates(
    track: &F0Track,
    drone: &DroneSplit,
    sample_rate: u32,
    config: &TonicConfig,
    k: usize,
) -> Vec<TonicCandidate> {
    let fmin = config.fmin as f64;
    // Pitch-class histogram of the melody relative to fmin, 10-cent bins.
    let mut hist = vec![0f64; BINS];
    let mut logs = Vec::new();
    for (&f, &p) in track.f0_hz.iter().zip(&track.voiced_prob) {
        if f > 0.0 {
            let cents = 1200.0 * (f as f64 / fmin).log2();
            hist[bin_of(cents)] += p.max(1e-3) as f64;
            logs.push(cents);
        }
    }
    if logs.is_empty() {
        return Vec::new();
    }
    // Where the melody dwells, plus where it holds and rests.
    let rests = resting_notes(track, fmin);
    let (hs, rs) = (hist.iter().sum::<f64>().max(1e-9), rests.iter().sum::<f64>().max(1e-9));
    let hist: Vec<f64> = hist.iter().zip(&rests).map(|(h, r)| h / hs + r / rs).collect();
    let melody = normalised(smooth_circular(&hist, 1.5));
    let m = |i: usize, offset: usize| melody[(i + offset) % BINS];
    // Drone evidence per pitch class (best octave), as a z-score over pitch classes, so a
    // flat spectrum (no drone) weighs little against the melody.
    let hz_per_bin = sample_rate as f64 / drone.n_fft as f64;
    let scores = drone_scores(&steady_levels(drone), hz_per_bin, fmin, config.fmax as f64);
    let mut folded = vec![f64::MIN; BINS];
    for (s, v) in scores.iter().enumerate() {
        let pc = bin_of(s as f64 * STEP_CENTS);
        folded[pc] = folded[pc].max(*v);
    }
    let mean = folded.iter().sum::<f64>() / BINS as f64;
    let sd = (folded.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / BINS as f64).sqrt().max(1e-9);
    // Melody: Sa is where it dwells and rests, with Pa or Ma a fifth or fourth above.
    let score: Vec<f64> = (0..BINS)
        .map(|i| {
            m(i, 0)
                + FIFTH_WEIGHT * m(i, 70).max(m(i, 50))
                + config.drone_weight as f64 * (folded[i] - mean) / sd
        })
        .collect();
    // The best pitch class, then the best bin near each other semitone from it: estimates
    // go wrong by whole notes of the scale (Ma or Pa taken for Sa), not by odd cents.
    let best = (0..BINS).max_by(|&a, &b| score[a].total_cmp(&score[b])).unwrap_or(0);
    let mut picked: Vec<usize> = (0..12)
        .map(|semitone| {
            let centre = BINS + best + 10 * semitone;
            (centre - REFINE_BINS..=centre + REFINE_BINS)
                .map(|b| b % BINS)
                .max_by(|&a, &b| score[a].total_cmp(&score[b]))
                .unwrap_or(centre % BINS)
        })
        .collect();
    picked.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    picked.truncate(k);
    // Place each pitch class in the octave whose Sa sits just under the melody's centre.
    logs.sort_by(f64::total_cmp);
    let q = |f: f64| logs[((logs.len() - 1) as f64 * f).round() as usize];
    let target = 0.5 * (q(0.1) + q(0.9)) - SA_UNDER_CENTRE_CENTS;
    let top = 1200.0 * (config.fmax as f64 / fmin).log2();
    picked
        .into_iter()
        .map(|bin| {
            let pc = bin as f64 * 10.0;
            let chosen = (-3..=3)
                .map(|k| pc + 1200.0 * k as f64)
                .filter(|c| (-1e-9..=top + 1e-9).contains(c))
                .min_by(|a, b| (a - target).abs().total_cmp(&(b - target).abs()))
                .unwrap_or(pc);
            TonicCandidate { hz: (fmin * 2f64.powf(chosen / 1200.0)) as f32, score: score[bin] as f32 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = 22050;
    const N_FFT: usize = 2048;

    /// A steady spectrum: a flat floor plus the partials of strings at `ratios` of `sa`.
    fn drone(sa: f64, ratios: &[f64]) -> DroneSplit {
        let hz_per_bin = SR as f64 / N_FFT as f64;
        let mut mags = vec![1e-3f32; N_FFT / 2 + 1];
        for r in ratios {
            for k in 1..=40 {
                let x = k as f64 * r * sa / hz_per_bin;
                let i = x.round() as usize;
                for j in i.saturating_sub(1)..=(i + 1).min(mags.len() - 1) {
                    let d = (j as f64 - x).abs();
                    mags[j] += (0.05 * (1.0 - d / 2.0).max(0.0) / k as f64) as f32;
                }
            }
        }
        DroneSplit { melody: Vec::new(), steady_magnitude: mags, n_fft: N_FFT }
    }

    /// A melody of held notes (semitones above `sa`), each followed by a short rest.
    fn melody(sa: f64, notes: &[i32]) -> F0Track {
        let mut f0 = Vec::new();
        for &n in notes.iter().cycle().take(notes.len() * 6) {
            f0.extend(std::iter::repeat_n((sa * 2f64.powf(n as f64 / 12.0)) as f32, 20));
            f0.extend(std::iter::repeat_n(0.0, 8));
        }
        let voiced = f0.iter().map(|&f| f > 0.0).collect();
        let voiced_prob = f0.iter().map(|&f| if f > 0.0 { 0.9 } else { 0.0 }).collect();
        F0Track { f0_hz: f0, voiced_prob, voiced }
    }

    fn cents_off(est: f32, sa: f64) -> f64 {
        1200.0 * (est as f64 / sa).log2()
    }

    #[test]
    fn a_sa_pa_drone_gives_sa_not_pa() {
        let sa = 146.8;
        // A melody that dwells on Pa as much as on Sa.
        let track = melody(sa, &[0, 7, 4, 7, 2, 7, 0, 9, 11, 12]);
        let est = estimate_tonic(&track, &drone(sa, &[0.5, 1.0, 1.0, 0.75]), SR, &TonicConfig::default());
        assert!(cents_off(est, sa).abs() < 30.0, "{est}");
    }

    #[test]
    fn a_sa_ma_drone_gives_sa_not_ma() {
        let sa = 190.0;
        let track = melody(sa, &[0, 3, 5, 8, 10, 12, 5, 3, 0]);
        let est =
            estimate_tonic(&track, &drone(sa, &[0.5, 1.0, 1.0, 2.0 / 3.0]), SR, &TonicConfig::default());
        assert!(cents_off(est, sa).abs() < 30.0, "{est}");
    }

    #[test]
    fn without_a_drone_the_melody_rests_on_sa() {
        let sa = 123.0;
        let track = melody(sa, &[0, 2, 4, 0, 7, 9, 7, 0, 4, 2, 0]);
        let est = estimate_tonic(&track, &drone(sa, &[]), SR, &TonicConfig::default());
        assert!(cents_off(est, sa).abs() < 30.0, "{est}");
    }

    #[test]
    fn candidates_are_distinct_pitch_classes_best_first() {
        // 100 Hz is `fmin`: the best bin is 0 and the search wraps around the octave.
        for sa in [146.8, 100.0] {
            let track = melody(sa, &[0, 7, 4, 7, 2, 7, 0, 9, 11, 12]);
            let split = drone(sa, &[0.5, 1.0, 1.0, 0.75]);
            let config = TonicConfig::default();
            let c = tonic_candidates(&track, &split, SR, &config, TONIC_CANDIDATES);
            assert_eq!(c.len(), TONIC_CANDIDATES);
            assert_eq!(c[0].hz, estimate_tonic(&track, &split, SR, &config));
            assert!(cents_off(c[0].hz, sa).abs() < 30.0, "{c:?}");
            for (i, a) in c.iter().enumerate() {
                for b in &c[i + 1..] {
                    assert!(a.score >= b.score);
                    let d = cents_off(a.hz, b.hz as f64).rem_euclid(1200.0);
                    assert!(d.min(1200.0 - d) >= 35.0, "{a:?} {b:?}");
                }
            }
        }
    }

    #[test]
    fn nothing_voiced_gives_zero() {
        let track = F0Track { f0_hz: vec![0.0; 50], voiced_prob: vec![0.0; 50], voiced: vec![false; 50] };
        assert_eq!(estimate_tonic(&track, &drone(150.0, &[0.5, 1.0]), SR, &TonicConfig::default()), 0.0);
    }
}
