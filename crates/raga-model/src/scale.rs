//! A second, renderer-independent expert: which notes of the octave a clip dwells on.
//!
//! The network reads everything a clip offers — timbre, ornaments, phrasing — and so also
//! learns the habits of the audio it was trained on. On clips from a renderer it has never
//! seen it was measured right on 72 of 100 given the true Sa, while the plainest description
//! of a raga, the share of time on each of the 12 notes relative to Sa compared with each
//! raga's average ("scale template"), was right on 86 (`bench/unseen`). So a package carries
//! each raga's template, and inference weighs two experts: the network and the template fit
//! ([`combine`]). The fit also helps choose among candidate tonics: only from the true Sa does
//! a clip's profile look like some raga's.

pub use raga_dsp::NOTES;
use raga_dsp::{Features, folded_histogram};
use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::input::Tradition;

/// Share of voiced time on each of the 12 notes relative to Sa (sums to 1, or all 0).
pub type ScaleProfile = [f32; NOTES];

/// Weight of the template expert against the network in the product of experts
/// (`p ∝ p_net^(1-w) · p_template^w`).
pub const TEMPLATE_WEIGHT: f32 = 0.5;
/// Sharpness of the template expert: its probabilities are `softmax(SHARPNESS × fit)`, fit
/// being a cosine in 0..1 (a raga whose fit is 0.05 lower is e^-2 as likely).
pub const TEMPLATE_SHARPNESS: f32 = 40.0;
/// Weight of the best template fit in a candidate tonic's score (next to the network's tonic
/// check and the estimator's evidence; see [`crate::classify::TonicCheck::score`]). Chosen with
/// the tonic's other weights on tuning sets apart from every test split (`synth` val splits of
/// seeds 2026, 7331 and 9001 plus `bench/unseen` seed 1, 460 clips): 30 picked the most right
/// ragas there (425, against 421 at 10); 15–40 are within 2 clips.
pub const TEMPLATE_TONIC_WEIGHT: f32 = 30.0;

/// The scale profile of `features` seen from a Sa `cents_shift` cents below the estimated one
/// (as [`crate::ClipFrames::new`] shifts pitch): each voiced frame counts its voicing
/// probability on its nearest note, folded into one octave.
pub fn profile(features: &Features, cents_shift: f32) -> ScaleProfile {
    let cents: Vec<Option<f32>> = features.cents.iter().map(|c| c.map(|c| c + cents_shift)).collect();
    let mut p = [0.0f32; NOTES];
    p.copy_from_slice(&folded_histogram(&cents, &features.voiced_prob, NOTES));
    p
}

/// How alike two profiles are: the cosine of their square roots (the Bhattacharyya
/// coefficient for normalised profiles), 0 (no note in common) to 1 (the same).
pub fn similarity(a: &ScaleProfile, b: &ScaleProfile) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.max(0.0).sqrt(), y.max(0.0).sqrt());
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na > 0.0 && nb > 0.0 { dot / (na * nb).sqrt() } else { 0.0 }
}

/// Each raga's mean profile over its training clips (seen from their true Sa), in label
/// order. Stored in the package manifest (`scale_templates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScaleTemplates(pub Vec<ScaleProfile>);

impl ScaleTemplates {
    /// The mean profile of each of `labels` ragas over `(label, profile)` pairs (all zero for a
    /// raga without clips).
    pub fn fit(labels: usize, clips: impl IntoIterator<Item = (usize, ScaleProfile)>) -> Self {
        let mut sums = vec![[0.0f32; NOTES]; labels];
        let mut counts = vec![0usize; labels];
        for (label, p) in clips {
            if let (Some(sum), Some(count)) = (sums.get_mut(label), counts.get_mut(label)) {
                sum.iter_mut().zip(p).for_each(|(s, v)| *s += v);
                *count += 1;
            }
        }
        for (sum, count) in sums.iter_mut().zip(counts) {
            if count > 0 {
                sum.iter_mut().for_each(|s| *s /= count as f32);
            }
        }
        Self(sums)
    }

    /// Checks the templates belong to a model of `labels` ragas and hold finite shares.
    pub fn validate(&self, labels: usize) -> Result<(), ModelError> {
        if self.0.len() != labels {
            return Err(ModelError::Manifest(format!(
                "scale_templates has {} profiles for {labels} labels",
                self.0.len()
            )));
        }
        if self.0.iter().flatten().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(ModelError::Manifest("scale_templates holds a negative or non-finite share".into()));
        }
        Ok(())
    }

    /// The fit of `profile` to every raga (label order); ragas outside `tradition` (when it is
    /// known and among `traditions`) get `None`.
    pub fn fits(
        &self,
        profile: &ScaleProfile,
        traditions: &[Tradition],
        tradition: Tradition,
    ) -> Vec<Option<f32>> {
        let restrict = tradition != Tradition::Unknown && traditions.contains(&tradition);
        self.0
            .iter()
            .zip(traditions.iter().copied().chain(std::iter::repeat(Tradition::Unknown)))
            .map(|(t, own)| (!restrict || own == tradition).then(|| similarity(profile, t)))
            .collect()
    }

    /// The best fit of `profile` over the ragas `tradition` allows (0 when none).
    pub fn best_fit(&self, profile: &ScaleProfile, traditions: &[Tradition], tradition: Tradition) -> f32 {
        self.fits(profile, traditions, tradition).into_iter().flatten().fold(0.0, f32::max)
    }
}

/// Blends the network's raga probabilities `net` (label order, summing to 1 over the allowed
/// ragas, 0 elsewhere) with the template expert's — `softmax(TEMPLATE_SHARPNESS × fit)` over the
/// ragas `fits` allows — as a product of experts, `net^(1-w) · template^w` renormalised, w =
/// [`TEMPLATE_WEIGHT`]. Ragas the fits leave out (another tradition) keep probability 0.
pub fn combine(net: &[f32], fits: &[Option<f32>]) -> Vec<f32> {
    let best = fits.iter().flatten().copied().fold(f32::NEG_INFINITY, f32::max);
    if !best.is_finite() || fits.len() != net.len() {
        return net.to_vec();
    }
    let mut out: Vec<f32> = net
        .iter()
        .zip(fits)
        .map(|(&p, fit)| match fit {
            // Logs of both experts; the template's normaliser cancels on renormalising.
            Some(fit) => ((1.0 - TEMPLATE_WEIGHT) * p.max(1e-6).ln()
                + TEMPLATE_WEIGHT * TEMPLATE_SHARPNESS * (fit - best))
                .exp(),
            None => 0.0,
        })
        .collect();
    let total: f32 = out.iter().sum();
    if total > 0.0 && total.is_finite() {
        out.iter_mut().for_each(|v| *v /= total);
        out
    } else {
        net.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(cents: &[f32]) -> Features {
        let frames = cents.len();
        Features {
            sample_rate: 22050,
            hop_length: 512,
            n_mels: 1,
            frames,
            log_mel: vec![0.0; frames],
            f0_hz: vec![200.0; frames],
            voiced_prob: vec![1.0; frames],
            tonic_hz: 200.0,
            tonic_candidates: Vec::new(),
            cents: cents.iter().map(|&c| Some(c)).collect(),
            pitch_class_hist: vec![0.0; raga_dsp::HIST_BINS],
        }
    }

    #[test]
    fn a_profile_counts_notes_folded_and_shifted() {
        let f = features(&[0.0, 1200.0, 690.0, 410.0]);
        let p = profile(&f, 0.0);
        assert_eq!(p[0], 0.5); // Sa in two octaves
        assert_eq!(p[7], 0.25); // Pa, 10 cents flat
        assert_eq!(p[4], 0.25);
        // Seen from a Sa a fifth lower (shift +700): Sa becomes Pa.
        assert_eq!(profile(&f, 700.0)[7], 0.5);
        assert_eq!(profile(&features(&[]), 0.0), [0.0; NOTES]);
    }

    #[test]
    fn similarity_is_one_for_the_same_shape_and_zero_for_disjoint() {
        let mut a = [0.0; NOTES];
        a[0] = 0.5;
        a[7] = 0.5;
        let mut b = [0.0; NOTES];
        b[1] = 1.0;
        assert!((similarity(&a, &a) - 1.0).abs() < 1e-6);
        assert_eq!(similarity(&a, &b), 0.0);
        assert_eq!(similarity(&a, &[0.0; NOTES]), 0.0);
    }

    #[test]
    fn templates_average_and_pick_the_raga_of_the_scale() {
        let (mut sa_pa, mut sa_ma) = ([0.0; NOTES], [0.0; NOTES]);
        sa_pa[0] = 0.6;
        sa_pa[7] = 0.4;
        sa_ma[0] = 0.6;
        sa_ma[5] = 0.4;
        let t = ScaleTemplates::fit(3, [(0, sa_pa), (0, sa_pa), (1, sa_ma), (7, sa_ma)]);
        assert_eq!(t.0[0], sa_pa);
        assert_eq!(t.0[2], [0.0; NOTES], "no clips, no template");
        assert!(t.validate(3).is_ok());
        assert!(t.validate(4).is_err());
        let traditions = [Tradition::Hindustani, Tradition::Carnatic, Tradition::Carnatic];
        let fits = t.fits(&sa_pa, &traditions, Tradition::Unknown);
        assert!(fits[0] > fits[1]);
        // The network is unsure; the template expert tips it to the raga of the scale.
        let p = combine(&[0.4, 0.6, 0.0], &fits);
        assert!(p[0] > p[1], "{p:?}");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // A known tradition leaves the other one out.
        let carnatic = t.fits(&sa_pa, &traditions, Tradition::Carnatic);
        assert_eq!(carnatic[0], None);
        assert_eq!(combine(&[0.0, 1.0, 0.0], &carnatic)[0], 0.0);
        assert!((t.best_fit(&sa_pa, &traditions, Tradition::Hindustani) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(ScaleTemplates(vec![[f32::NAN; NOTES]]).validate(1).is_err());
        assert!(ScaleTemplates(vec![[-1.0; NOTES]]).validate(1).is_err());
    }
}
