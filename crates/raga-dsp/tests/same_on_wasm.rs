//! The same features on every target: this suite runs natively and on
//! `wasm32-unknown-unknown` (under Node, via wasm-bindgen-test), on the same fixture clips.
//! Both must match librosa's log-mel within 0.01 dB and the native F0/tonic snapshot
//! committed in `tests/fixtures/*.features.json`, so wasm and native agree with each other.
//!
//! Regenerate the snapshots natively with `RAGASENSE_BLESS=1 cargo test -p raga-dsp --test same_on_wasm`.

use raga_dsp::{FeatureConfig, Features, features_at_rate};
use serde::{Deserialize, Serialize};

#[cfg(target_family = "wasm")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The part of [`Features`] we snapshot: pitch, voicing and tonic.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    f0_hz: Vec<f32>,
    voiced_prob: Vec<f32>,
    tonic_hz: f32,
}

struct Fixture {
    name: &'static str,
    wav: &'static [u8],
    librosa: &'static [u8],
    snapshot: &'static str,
}

macro_rules! fixture {
    ($name:literal) => {
        Fixture {
            name: $name,
            wav: include_bytes!(concat!("../../../tests/fixtures/", $name, ".wav")),
            librosa: include_bytes!(concat!("../../../tests/fixtures/", $name, ".librosa-logmel.f32")),
            snapshot: include_str!(concat!("../../../tests/fixtures/", $name, ".features.json")),
        }
    };
}

fn fixtures() -> [Fixture; 3] {
    [fixture!("speech"), fixture!("pluck_chord"), fixture!("glide")]
}

fn features(fx: &Fixture) -> Features {
    let decoded = raga_audio::decode(fx.wav, Some("wav")).expect("fixture decodes");
    features_at_rate(&decoded.samples, &FeatureConfig::default()).expect("features")
}

fn check(fx: &Fixture) {
    let f = features(fx);
    let librosa: Vec<f32> =
        fx.librosa.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(f.log_mel.len(), librosa.len(), "{}: frame count", fx.name);
    let err = f.log_mel.iter().zip(&librosa).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(err <= 0.01, "{}: log-mel differs from librosa by {err} dB", fx.name);

    #[cfg(not(target_family = "wasm"))]
    if std::env::var_os("RAGASENSE_BLESS").is_some() {
        let snap =
            Snapshot { f0_hz: f.f0_hz.clone(), voiced_prob: f.voiced_prob.clone(), tonic_hz: f.tonic_hz };
        let path = format!("{}/../../tests/fixtures/{}.features.json", env!("CARGO_MANIFEST_DIR"), fx.name);
        std::fs::write(path, serde_json::to_string(&snap).expect("json")).expect("write snapshot");
        return;
    }
    let snap: Snapshot = serde_json::from_str(fx.snapshot).expect("snapshot parses");
    assert_eq!(snap.f0_hz.len(), f.f0_hz.len(), "{}: frames", fx.name);
    let cents = |a: f32, b: f32| (1200.0 * (a / b).log2()).abs();
    let mut disagreements = 0;
    for (t, (&a, &b)) in f.f0_hz.iter().zip(&snap.f0_hz).enumerate() {
        let same = (a == 0.0 && b == 0.0) || (a > 0.0 && b > 0.0 && cents(a, b) < 1.0);
        if !same {
            disagreements += 1;
            assert!(disagreements <= f.frames / 100, "{}: F0 differs at frame {t}: {a} vs {b}", fx.name);
        }
        assert!((f.voiced_prob[t] - snap.voiced_prob[t]).abs() < 1e-3, "{}: voicing at {t}", fx.name);
    }
    let tonic_diff = if snap.tonic_hz == 0.0 { f.tonic_hz } else { cents(f.tonic_hz, snap.tonic_hz) };
    assert!(tonic_diff < 1.0, "{}: tonic {} vs {}", fx.name, f.tonic_hz, snap.tonic_hz);
}

#[test]
fn speech_features_match_librosa_and_the_native_snapshot() {
    check(&fixtures()[0]);
}

#[test]
fn pluck_chord_features_match_librosa_and_the_native_snapshot() {
    check(&fixtures()[1]);
}

#[test]
fn glide_features_match_librosa_and_the_native_snapshot() {
    check(&fixtures()[2]);
}
