//! Log-mel parity with librosa on real clips: our features of each fixture WAV must equal
//! the librosa output committed beside it (made by `tests/reference/make_fixtures.sh`)
//! within 0.01 dB everywhere.

use std::path::PathBuf;

use raga_dsp::{FeatureConfig, MelFilterbank, log_mel};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Max |ours − librosa| in dB over every frame and band of one fixture.
fn max_db_error(name: &str) -> f32 {
    let dir = fixtures();
    let wav = std::fs::read(dir.join(format!("{name}.wav"))).expect("fixture wav");
    let decoded = raga_audio::decode(&wav, Some("wav")).expect("decode");
    assert_eq!((decoded.sample_rate, decoded.channels), (22050, 1));
    let reference: Vec<f32> = std::fs::read(dir.join(format!("{name}.librosa-logmel.f32")))
        .expect("fixture reference")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let config = FeatureConfig::default();
    let bank = MelFilterbank::new(22050, &config.mel).expect("filterbank");
    let ours = log_mel(&decoded.samples, &bank, &config.mel);
    assert_eq!(ours.len(), reference.len(), "{name}: frame count differs from librosa's");
    ours.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

#[test]
fn log_mel_matches_librosa_within_a_hundredth_of_a_db() {
    for name in ["speech", "pluck_chord", "glide"] {
        let err = max_db_error(name);
        eprintln!("{name}: max |Δ| = {err:.2e} dB");
        assert!(err <= 0.01, "{name}: log-mel differs from librosa by {err} dB");
    }
}
