//! Tonic-normalised pitch features: cents relative to Sa and the folded pitch-class histogram.

/// Bins of the folded pitch-class histogram: 10 cents each.
pub const HIST_BINS: usize = 120;

/// Cents of each voiced frame relative to `tonic_hz` (unfolded); `None` where unvoiced.
pub fn cents_from_tonic(f0_hz: &[f32], tonic_hz: f32) -> Vec<Option<f32>> {
    f0_hz.iter().map(|&f| (f > 0.0 && tonic_hz > 0.0).then(|| 1200.0 * (f / tonic_hz).log2())).collect()
}

/// Histogram of cents folded into one octave, [`HIST_BINS`] bins of 10 cents with bin 0
/// centred on Sa, weighted by voicing probability and normalised to sum to 1.
pub fn pitch_class_histogram(cents: &[Option<f32>], weights: &[f32]) -> Vec<f32> {
    let mut hist = vec![0f32; HIST_BINS];
    for (c, w) in cents.iter().zip(weights) {
        if let Some(c) = c {
            let bin = (c / 10.0).round().rem_euclid(HIST_BINS as f32) as usize % HIST_BINS;
            hist[bin] += w.max(1e-3);
        }
    }
    let total: f32 = hist.iter().sum();
    if total > 0.0 {
        hist.iter_mut().for_each(|h| *h /= total);
    }
    hist
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octaves_fold_onto_sa_and_pa_lands_on_bin_70() {
        let f0 = [200.0, 400.0, 100.0, 300.0, 0.0];
        let cents = cents_from_tonic(&f0, 200.0);
        assert_eq!(cents[0], Some(0.0));
        assert_eq!(cents[4], None);
        let hist = pitch_class_histogram(&cents, &[1.0; 5]);
        assert!((hist[0] - 0.75).abs() < 1e-6);
        assert!((hist[70] - 0.25).abs() < 1e-6, "pure fifth is 702 cents → bin 70");
        assert!((hist.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn nothing_voiced_gives_an_empty_histogram() {
        let hist = pitch_class_histogram(&[None, None], &[0.0, 0.0]);
        assert!(hist.iter().all(|h| *h == 0.0));
    }
}
