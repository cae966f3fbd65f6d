//! F0 and tonic accuracy of `raga-dsp` on rendered clips whose ground truth is known.
//!
//! The seeds here were never used while tuning the tracker (tuning used `bench/features`
//! with its default seed); the acceptance bars are the foundation issue's.

use raga_dsp::{FeatureConfig, features_at_rate};
use raga_synth::{RAGAS, RenderOptions, Split, clip_seed, render};

/// Raw pitch accuracy (within 50 cents on truly voiced frames) and tonic error in cents.
fn measure(raga_index: usize, seed: u64) -> (usize, usize, f32) {
    let clip = render(&RAGAS[raga_index], seed, &RenderOptions { seconds: 12.0, ..RenderOptions::default() })
        .expect("render");
    let f = features_at_rate(&clip.samples, &FeatureConfig::default()).expect("features");
    assert_eq!(f.frames, clip.f0_hz.len(), "F0 grid differs from the truth's");
    let (mut voiced, mut correct) = (0, 0);
    for (&truth, &est) in clip.f0_hz.iter().zip(&f.f0_hz) {
        if truth > 0.0 {
            voiced += 1;
            if est > 0.0 && (1200.0 * (est / truth).log2()).abs() <= 50.0 {
                correct += 1;
            }
        }
    }
    let tonic_cents = 1200.0 * (f.tonic_hz / clip.tonic_hz).log2();
    (voiced, correct, tonic_cents)
}

#[test]
fn f0_and_tonic_meet_the_bar_on_40_unseen_clips() {
    let (mut voiced, mut correct, mut tonic_ok, mut clips) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for k in 0..2u64 {
        for (index, raga) in RAGAS.iter().enumerate() {
            let seed = clip_seed(0x5EED_2026, Split::Test, index, k);
            let (v, c, t) = measure(index, seed);
            voiced += v;
            correct += c;
            clips += 1;
            if t.abs() <= 30.0 {
                tonic_ok += 1;
            } else {
                misses.push(format!("{} seed {seed}: tonic off by {t:.0} cents", raga.id));
            }
        }
    }
    let rpa = correct as f64 / voiced as f64;
    let tonic = tonic_ok as f64 / clips as f64;
    eprintln!(
        "raw pitch accuracy {rpa:.4} over {voiced} voiced frames; tonic within 30 cents on {tonic_ok}/{clips}"
    );
    eprintln!("{}", misses.join("\n"));
    assert!(clips >= 40);
    assert!(rpa >= 0.95, "raw pitch accuracy {rpa:.4} < 0.95");
    assert!(tonic >= 0.95, "tonic accuracy {tonic:.3} < 0.95:\n{}", misses.join("\n"));
}
