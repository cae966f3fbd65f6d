//! The properties the fuzz targets check, one function per target. Each takes one input and
//! panics when the code under test breaks a property; an error returned for bad input is the
//! expected outcome, not a failure.
//!
//! The libFuzzer targets (`fuzz/fuzz_targets/`) call these, and so does the replay test
//! (`tests/tests/fuzz_corpus.rs`), which runs the committed corpus on every CI run, so an
//! input that once found a bug stays a regression test.

use std::sync::OnceLock;

use burn::prelude::Device;
use raga_dsp::{FeatureConfig, Features};
use raga_model::{Classifier, Manifest};
use registry_server::telemetry::parse_batch;

/// Feature extraction costs about the clip's length; longer decoded clips are decoded only,
/// so one input stays in the milliseconds.
pub const MAX_ANALYSED_SECONDS: f32 = 1.5;

/// The path an uploaded audio file takes, on the server (`/invocations` with
/// `audio_base64`), in the CLI and in the browser: `raga_audio::decode` on bytes nobody
/// checked, then `raga_dsp::extract` (mono mix, resampling, log-mel, pYIN, tonic).
///
/// Broken: a panic, or a successful decode or extraction whose result breaks its contract
/// (an empty layout, non-finite features).
pub fn audio_decode(data: &[u8]) {
    let Ok(decoded) = raga_audio::decode(data, None) else {
        return;
    };
    assert!(decoded.sample_rate > 0 && decoded.channels > 0, "decode returned an empty layout");
    assert!(!decoded.samples.is_empty(), "decode returned no samples without an error");
    if decoded.seconds() > MAX_ANALYSED_SECONDS {
        return;
    }
    let config = FeatureConfig::default();
    let Ok(features) = raga_dsp::extract(&decoded.samples, decoded.sample_rate, decoded.channels, &config)
    else {
        return;
    };
    assert_eq!(features.log_mel.len(), features.frames * features.n_mels, "log-mel shape");
    assert_eq!(features.f0_hz.len(), features.frames, "F0 track length");
    assert!(features.log_mel.iter().all(|x| x.is_finite()), "non-finite log-mel");
    assert!(features.f0_hz.iter().all(|x| x.is_finite() && *x >= 0.0), "negative or non-finite F0");
    assert!(features.voiced_prob.iter().all(|p| (0.0..=1.0).contains(p)), "voicing outside 0..1");
    // 0 Hz means no tonic was found (nothing voiced): then there are no candidates either.
    assert!(features.tonic_hz.is_finite() && features.tonic_hz >= 0.0, "bad tonic");
    assert_eq!(features.tonic_hz == 0.0, features.tonic_candidates.is_empty(), "tonic vs candidates");
}

/// The model package loader, as the browser runtime, `ragasense classify`, the registry's
/// serving and `ragasense export` use it: `Classifier::from_package` on a manifest and
/// weights from the network.
///
/// Input: a 4-byte little-endian manifest length, the manifest, then the weights. Besides
/// the full path (which checks the sha256 first), the weights are loaded without that check
/// too: whoever writes a hostile package also writes matching hashes, so the burnpack reader
/// and the shape checks must stand on their own.
///
/// Broken: a panic, allocating without bound (libFuzzer's memory limit), or a package that
/// loads but cannot classify a tone into one of its labels.
pub fn package_load(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (manifest, weights) = rest.split_at(len);
    let device = Device::flex();
    if let Ok(classifier) = Classifier::from_package(manifest, weights.to_vec(), &device) {
        classify_probe(&classifier);
    }
    if let Ok(parsed) = Manifest::from_json(manifest) {
        assert!(parsed.model.parameters() <= raga_model::MAX_PARAMETERS, "oversized config accepted");
        if let Ok(model) = raga_model::package::load_model(&parsed, weights.to_vec(), &device) {
            classify_probe(&Classifier::new(model, parsed, device));
        }
    }
}

/// A package that loads must classify: a 2 s tone, whose answer must be one of its labels
/// with probabilities that are probabilities.
fn classify_probe(classifier: &Classifier) {
    static PROBE: OnceLock<Option<Features>> = OnceLock::new();
    let probe = PROBE.get_or_init(|| {
        let rate = raga_dsp::SAMPLE_RATE;
        let tone: Vec<f32> = (0..2 * rate)
            .map(|i| 0.3 * (std::f32::consts::TAU * 220.0 * i as f32 / rate as f32).sin())
            .collect();
        raga_dsp::extract(&tone, rate, 1, &FeatureConfig::default()).ok()
    });
    let Some(features) = probe else { return };
    if classifier.manifest().features != FeatureConfig::default() {
        return;
    }
    let Ok(prediction) = classifier.classify(features, raga_model::Tradition::Unknown) else {
        return;
    };
    let labels = &classifier.manifest().labels;
    assert!(labels.contains(&prediction.raga), "answer {} is not a label", prediction.raga);
    assert!((0.0..=1.0).contains(&prediction.confidence), "confidence {}", prediction.confidence);
    assert!(prediction.probabilities.iter().all(|p| p.is_finite() && *p >= 0.0), "bad probabilities");
}

/// The body of `POST /v1/telemetry`, which any web page may send with a publishable key:
/// `registry_server::telemetry::parse_batch`, the JSON decoding and every check the endpoint
/// makes before it touches the database.
///
/// Broken: a panic, an accepted event that cannot be serialised for storage or holds a
/// number outside its range, or a rejection that is not a 4xx with a message.
pub fn telemetry_parse(data: &[u8]) {
    match parse_batch(data) {
        Ok(events) => {
            assert!(!events.is_empty(), "an accepted batch with no events");
            for event in &events {
                serde_json::to_string(event).expect("an accepted event serialises");
                let t = event.timings_ms;
                for ms in [t.features, t.inference, t.total] {
                    assert!(ms.is_finite() && ms >= 0.0, "timing {ms} accepted");
                }
                assert!(event.confidence.is_none_or(|p| (0.0..=1.0).contains(&p)), "confidence accepted");
                assert!(event.tonic_hz.is_none_or(|hz| hz.is_finite() && hz > 0.0), "tonic accepted");
            }
        }
        Err(error) => {
            assert!(error.status().is_client_error(), "{error} answered {}", error.status());
            assert!(!error.to_string().is_empty(), "an error with no message");
        }
    }
}

/// The targets by name, for tools that walk the corpus.
pub const TARGETS: [(&str, fn(&[u8])); 3] =
    [("audio_decode", audio_decode), ("package_load", package_load), ("telemetry_parse", telemetry_parse)];
