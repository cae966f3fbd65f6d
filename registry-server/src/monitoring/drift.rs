//! Input drift: the statistics of live clips (sent with telemetry) against the training
//! set's, which every model package records in `manifest.json` (`reference_stats`).
//!
//! The reference keeps a mean and a standard deviation per quantity, not its histogram, so
//! both sides are compared through the same lens: each quantity's distribution is taken as
//! the normal with its mean and standard deviation, and the population stability index is
//! computed over ten bins that hold a tenth of the reference each. Live data drawn from the
//! training distribution then scores about 0 (only sampling noise remains: a shift of a
//! fifth of a standard deviation scores about 0.04), whatever the true shape; a shift of one
//! standard deviation scores about 1. The usual reading: < 0.1 stable, 0.1–0.2 moderate,
//! > 0.2 drift.
//!
//! Feature groups: log-mel bands in three ranges (each the mean PSI of its bands, pooled over
//! frames as the reference is), the clip level, the voiced fraction and the tonic (one value
//! per clip: compared by their mean at the reference's spread, see [`compare`]). The
//! pitch-class histogram is reported too but left out of the score: it moves with which
//! ragas people play, which is not a change of input conditions.

use std::collections::BTreeMap;

use raga_model::FeatureStats;
use raga_model::stats::MeanStd;
use serde::Serialize;

/// `Φ⁻¹(k/10)` for k = 1..=9: the edges, in reference standard deviations, of ten bins of
/// equal reference probability.
const DECILE_Z: [f64; 9] = [
    -1.281_551_6,
    -0.841_621_2,
    -0.524_400_5,
    -0.253_347_1,
    0.0,
    0.253_347_1,
    0.524_400_5,
    0.841_621_2,
    1.281_551_6,
];
/// Smallest bin share in the PSI sum, so an empty bin costs a finite amount.
const MIN_SHARE: f64 = 1e-4;
/// Log-mel band ranges of the feature groups (128 bands).
pub const MEL_GROUPS: [(&str, std::ops::Range<usize>); 3] =
    [("log_mel_low", 0..32), ("log_mel_mid", 32..80), ("log_mel_high", 80..128)];

/// What [`compare`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    /// Live clips compared.
    pub events: u64,
    /// Clips in the training reference.
    pub reference_clips: u64,
    /// The largest PSI among the scored groups: the drift score.
    pub score: f64,
    /// PSI per feature group.
    pub psi: BTreeMap<&'static str, f64>,
    /// PSI of the mean pitch-class histogram over 12 semitones (not in the score).
    pub pitch_class_psi: f64,
    /// Live mean tonic against the reference's, in cents.
    pub tonic_shift_cents: f64,
    /// Live mean voiced fraction minus the reference's.
    pub voiced_fraction_shift: f64,
    /// Live mean clip level minus the reference's, dB.
    pub level_shift_db: f64,
}

/// Compares live clip statistics with the reference; `None` without live clips.
pub fn compare(reference: &FeatureStats, live: &[FeatureStats]) -> Option<DriftReport> {
    if live.is_empty() {
        return None;
    }
    let mut psi = BTreeMap::new();
    for (name, bands) in MEL_GROUPS {
        let bands: Vec<usize> = bands.filter(|&b| b < reference.log_mel.len()).collect();
        if bands.is_empty() {
            continue;
        }
        let total: f64 = bands
            .iter()
            .map(|&b| {
                let live_band = pooled(live.iter().filter_map(|s| s.log_mel.get(b).map(|m| (s.frames, *m))));
                psi_normal(reference.log_mel[b], live_band, 0.1)
            })
            .sum();
        psi.insert(name, total / bands.len() as f64);
    }
    let per_clip = |get: fn(&FeatureStats) -> MeanStd| pooled(live.iter().map(|s| (s.clips.max(1), get(s))));
    let level = per_clip(|s| s.level_db);
    let voiced = per_clip(|s| s.voiced_fraction);
    let tonic = per_clip(|s| s.tonic_hz);
    // One number per clip: a window holds tens of them, too few to estimate a spread (a
    // sample that misses a heavy tail looks "narrower" and scored up to 0.8 with no shift).
    // These groups compare the mean at the reference's spread.
    let at_reference_spread = |r: MeanStd, l: MeanStd| MeanStd { mean: l.mean, std: r.std };
    psi.insert(
        "level_db",
        psi_normal(reference.level_db, at_reference_spread(reference.level_db, level), 0.1),
    );
    psi.insert(
        "voiced_fraction",
        psi_normal(reference.voiced_fraction, at_reference_spread(reference.voiced_fraction, voiced), 0.01),
    );
    psi.insert(
        "tonic_hz",
        psi_normal(reference.tonic_hz, at_reference_spread(reference.tonic_hz, tonic), 1.0),
    );
    let score = psi.values().copied().fold(0.0, f64::max);
    let hist = live_histogram(live, reference.pitch_class_hist.len());
    Some(DriftReport {
        events: live.len() as u64,
        reference_clips: reference.clips,
        score,
        psi,
        pitch_class_psi: psi_shares(&semitones(&reference.pitch_class_hist), &semitones(&hist)),
        tonic_shift_cents: if tonic.mean > 0.0 && reference.tonic_hz.mean > 0.0 {
            1200.0 * (tonic.mean / reference.tonic_hz.mean).log2()
        } else {
            0.0
        },
        voiced_fraction_shift: voiced.mean - reference.voiced_fraction.mean,
        level_shift_db: level.mean - reference.level_db.mean,
    })
}

/// Mean and population standard deviation of the union of groups, each `(count, mean/std)`.
fn pooled(groups: impl Iterator<Item = (u64, MeanStd)>) -> MeanStd {
    let (mut n, mut sum, mut sum_sq) = (0.0, 0.0, 0.0);
    for (count, m) in groups {
        let w = count as f64;
        n += w;
        sum += w * m.mean;
        sum_sq += w * (m.std * m.std + m.mean * m.mean);
    }
    if n == 0.0 {
        return MeanStd::default();
    }
    let mean = sum / n;
    MeanStd { mean, std: (sum_sq / n - mean * mean).max(0.0).sqrt() }
}

/// PSI of `live` against `reference`, both taken as normals; `floor` keeps a degenerate
/// (constant) side from dividing by zero, in the quantity's unit.
fn psi_normal(reference: MeanStd, live: MeanStd, floor: f64) -> f64 {
    let sr = reference.std.max(floor);
    let sl = live.std.max(floor);
    let mut shares = [0.0; 10];
    let mut below = 0.0;
    for (i, share) in shares.iter_mut().enumerate() {
        let upto = DECILE_Z.get(i).map_or(1.0, |z| normal_cdf((reference.mean + z * sr - live.mean) / sl));
        *share = upto - below;
        below = upto;
    }
    psi_shares(&[0.1; 10], &shares)
}

/// `Σ (a − e) ln(a / e)` over bins, each share at least [`MIN_SHARE`]; both sides are
/// normalised to sum 1 first.
fn psi_shares(expected: &[f64], actual: &[f64]) -> f64 {
    let (te, ta): (f64, f64) = (expected.iter().sum(), actual.iter().sum());
    if te <= 0.0 || ta <= 0.0 || expected.len() != actual.len() {
        return 0.0;
    }
    expected
        .iter()
        .zip(actual)
        .map(|(e, a)| {
            let (e, a) = ((e / te).max(MIN_SHARE), (a / ta).max(MIN_SHARE));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// Mean pitch-class histogram of the live clips.
fn live_histogram(live: &[FeatureStats], bins: usize) -> Vec<f64> {
    let mut hist = vec![0.0; bins];
    for s in live {
        for (h, x) in hist.iter_mut().zip(&s.pitch_class_hist) {
            *h += x;
        }
    }
    hist
}

/// A fine pitch-class histogram (bin 0 centred on Sa) folded into 12 semitones, each
/// centred on its note.
fn semitones(hist: &[f64]) -> Vec<f64> {
    let n = hist.len();
    if n == 0 || !n.is_multiple_of(12) {
        return hist.to_vec();
    }
    let per = n / 12;
    let mut out = vec![0.0; 12];
    for (i, x) in hist.iter().enumerate() {
        out[((i + per / 2) / per) % 12] += x;
    }
    out
}

/// The standard normal CDF, `Φ(x) = erfc(−x/√2) / 2`.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(mean: f64, std: f64) -> MeanStd {
        MeanStd { mean, std }
    }

    fn stats(level: f64, tonic: f64, voiced: f64, frames: u64) -> FeatureStats {
        FeatureStats {
            clips: 1,
            frames,
            log_mel: (0..128).map(|b| ms(level - b as f64 * 0.1, 8.0)).collect(),
            level_db: ms(level, 0.0),
            voiced_fraction: ms(voiced, 0.0),
            tonic_hz: ms(tonic, 0.0),
            seconds: ms(10.0, 0.0),
            pitch_class_hist: vec![1.0 / 120.0; 120],
        }
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        for (x, p) in [(0.0, 0.5), (1.0, 0.841_344_746), (-1.959_963_985, 0.025), (3.0, 0.998_650_102)] {
            assert!((normal_cdf(x) - p).abs() < 1e-6, "Φ({x}) = {} not {p}", normal_cdf(x));
        }
        for (k, z) in DECILE_Z.iter().enumerate() {
            assert!((normal_cdf(*z) - (k + 1) as f64 / 10.0).abs() < 1e-6);
        }
    }

    #[test]
    fn psi_of_normals_grows_with_the_shift() {
        assert!(psi_normal(ms(0.0, 1.0), ms(0.0, 1.0), 0.1) < 1e-9);
        let small = psi_normal(ms(0.0, 1.0), ms(0.2, 1.0), 0.1);
        let one = psi_normal(ms(0.0, 1.0), ms(1.0, 1.0), 0.1);
        let wider = psi_normal(ms(0.0, 1.0), ms(0.0, 2.0), 0.1);
        assert!(small > 0.0 && small < 0.1, "{small}");
        assert!(one > 0.7 && one < 1.5, "{one}");
        assert!(wider > 0.2, "{wider}");
    }

    #[test]
    fn pooling_follows_the_law_of_total_variance() {
        let p = pooled([(1, ms(0.0, 1.0)), (1, ms(2.0, 1.0))].into_iter());
        assert!((p.mean - 1.0).abs() < 1e-12);
        assert!((p.std - 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn same_population_scores_low_and_a_shift_scores_high() {
        // Reference: clips whose level spreads ±4 dB and tonic 100–270 Hz.
        let clips: Vec<FeatureStats> = (0..200)
            .map(|i| {
                let u = f64::from(i) / 199.0;
                stats(-12.0 + 8.0 * (u - 0.5), 100.0 + 170.0 * ((u * 7.0) % 1.0), 0.8, 600)
            })
            .collect();
        let reference = FeatureStats {
            clips: 200,
            frames: 200 * 600,
            log_mel: (0..128).map(|b| pooled(clips.iter().map(|c| (c.frames, c.log_mel[b])))).collect(),
            level_db: pooled(clips.iter().map(|c| (1, c.level_db))),
            voiced_fraction: pooled(clips.iter().map(|c| (1, c.voiced_fraction))),
            tonic_hz: pooled(clips.iter().map(|c| (1, c.tonic_hz))),
            seconds: ms(10.0, 0.0),
            pitch_class_hist: vec![1.0 / 120.0; 120],
        };
        // Every fifth clip: a sample spread over the population.
        let sample: Vec<FeatureStats> = clips.iter().step_by(5).cloned().collect();
        let same = compare(&reference, &sample);
        let same = same.map(|r| r.score).unwrap_or(f64::NAN);
        assert!(same < 0.2, "in-distribution score {same}");
        let moved: Vec<FeatureStats> =
            sample.iter().map(|c| stats(c.level_db.mean, 260.0, 0.8, 600)).collect();
        let report = compare(&reference, &moved).expect("report");
        assert!(report.psi["tonic_hz"] > 1.0, "{report:?}");
        assert!(report.tonic_shift_cents > 500.0, "{report:?}");
        let noisy: Vec<FeatureStats> =
            sample.iter().map(|c| stats(c.level_db.mean + 10.0, c.tonic_hz.mean, 0.5, 600)).collect();
        let report = compare(&reference, &noisy).expect("report");
        assert!(report.score > 1.0 && report.psi["log_mel_high"] > 1.0, "{report:?}");
        assert!(report.voiced_fraction_shift < -0.25);
        assert!(compare(&reference, &[]).is_none());
    }

    #[test]
    fn semitones_fold_around_each_note() {
        let mut hist = vec![0.0; 120];
        hist[119] = 1.0; // 10 cents below Sa: still Sa
        hist[4] = 1.0; // 40 cents above Sa: Sa
        hist[5] = 1.0; // 50 cents: the next semitone
        let s = semitones(&hist);
        assert_eq!(s[0], 2.0);
        assert_eq!(s[1], 1.0);
    }
}
