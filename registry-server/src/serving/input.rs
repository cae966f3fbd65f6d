//! The body of `POST /invocations`: MLflow's scoring-server input shapes, each record one
//! clip, parsed into [`Clip`]s, and a clip turned into [`Features`] with `raga-dsp`.
//!
//! # Input shapes
//!
//! The body is a JSON object with exactly one of
//! - `{"inputs": [RECORD, …]}` (or `{"inputs": RECORD}` for one clip),
//! - `{"instances": [RECORD, …]}`,
//! - `{"dataframe_records": [RECORD, …]}`,
//! - `{"dataframe_split": {"columns": [NAME, …], "data": [[VALUE, …], …]}}` (each row one
//!   record; `null` cells are absent fields, so clips of different kinds can share a frame);
//!
//! and optionally MLflow's `params` (accepted and ignored).
//!
//! # A record (one clip)
//!
//! Exactly one of:
//! - **raw samples**: `audio` (array of float samples, interleaved when `channels` > 1) with
//!   `sample_rate` (Hz) and optional `channels` (default 1);
//! - **an encoded file**: `audio_base64`, a WAV/FLAC/MP3/OGG file in standard base64 (a
//!   `data:…;base64,` prefix is allowed), decoded with `raga-audio`;
//! - **precomputed features** (what [`raga_dsp::extract`] computes, so a client that runs
//!   the DSP itself sends only the model's inputs):
//!   - `mel_spectrogram`: `frames × n_mels` log-mel power in dB (`n_mels` = 128 for every
//!     model so far: the package's `features.mel.n_mels`), one row per frame on the
//!     features' frame grid (hop 512 at 22050 Hz);
//!   - `f0_features`: `frames × 2`, per frame `[f0_hz, voiced_prob]` (F0 in Hz, 0 where
//!     unvoiced; voicing probability 0..1): the pYIN track. The model's per-frame pitch
//!     values (soft pitch classes relative to Sa, voicing, register, slope) and its window
//!     histograms are functions of this track and the tonic, computed here by `raga-model`
//!     exactly as for audio;
//!   - the tonic, which cannot be estimated without the audio: `tonic_hz` (Sa, Hz), or
//!     `tonic_candidates` (`[{"hz", "score"}, …]`, best first, as `raga_dsp::Features`
//!     serializes them) to let the model's tonic check choose among them, as it does for
//!     audio.
//!
//! Optional for every kind: `tradition` / `tradition_id` — `0`/`1`/`2` (unknown,
//! hindustani, carnatic, as [`Tradition::id`]) or the name; and for audio `tonic_hz`, the
//! performer's Sa when known (like `ragasense classify --tonic`).

use base64::Engine;
use raga_dsp::{FeatureConfig, Features, TonicCandidate};
use raga_model::Tradition;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// What a body must look like, appended to errors about its shape.
const SHAPES: &str = "send a JSON object with exactly one of inputs, instances, dataframe_records or \
                      dataframe_split, each record one clip with audio + sample_rate, audio_base64, or \
                      mel_spectrogram + f0_features + tonic_hz";

/// One clip to classify, checked for everything that does not need the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Where the clip is in the request, e.g. `instances[2]`, for error messages.
    pub at: String,
    /// Its audio or features.
    pub source: Source,
    /// The tradition to restrict the answer to.
    pub tradition: Tradition,
    /// The performer's Sa, when given (audio only; precomputed features carry theirs).
    pub tonic_hz: Option<f32>,
}

/// The clip's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Raw samples, interleaved when `channels` > 1.
    Samples {
        /// The samples.
        samples: Vec<f32>,
        /// Their rate, Hz.
        sample_rate: u32,
        /// Channels interleaved in `samples`.
        channels: usize,
    },
    /// An audio file's bytes.
    Encoded(Vec<u8>),
    /// Precomputed features (see the module docs).
    Features {
        /// `frames` rows of log-mel dB.
        mel: Vec<Vec<f32>>,
        /// `frames` rows of `[f0_hz, voiced_prob]`.
        f0: Vec<[f32; 2]>,
        /// Candidate tonics, best first (one when `tonic_hz` was given).
        tonic_candidates: Vec<TonicCandidate>,
    },
}

/// Parses a request body into its clips (at least one).
pub fn parse(body: &[u8]) -> Result<Vec<Clip>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid(format!("the request body is empty: {SHAPES}")));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let request: Body = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if !inner.is_data() {
            Error::invalid(format!("the request body is not valid JSON: {inner}"))
        } else if path == "." {
            Error::invalid(format!("the request body is invalid: {inner}; {SHAPES}"))
        } else {
            Error::invalid(format!("{path}: {inner}"))
        }
    })?;
    let given: Vec<&str> = [
        ("inputs", request.inputs.is_some()),
        ("instances", request.instances.is_some()),
        ("dataframe_records", request.dataframe_records.is_some()),
        ("dataframe_split", request.dataframe_split.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    let records: Vec<(String, Record)> = match (given.as_slice(), request) {
        ([_], Body { inputs: Some(Inputs::One(record)), .. }) => vec![("inputs".into(), *record)],
        ([_], Body { inputs: Some(Inputs::Many(records)), .. }) => numbered("inputs", records),
        ([_], Body { instances: Some(records), .. }) => numbered("instances", records),
        ([_], Body { dataframe_records: Some(records), .. }) => numbered("dataframe_records", records),
        ([_], Body { dataframe_split: Some(split), .. }) => split_records(split)?,
        ([], _) => return Err(Error::invalid(format!("the request body has no input: {SHAPES}"))),
        (many, _) => {
            return Err(Error::invalid(format!("the request body has {}: {SHAPES}", many.join(" and "))));
        }
    };
    if records.is_empty() {
        return Err(Error::invalid(format!("{} is empty: send at least one clip", given.join(""))));
    }
    records.into_iter().map(|(at, record)| record.check(at)).collect()
}

fn numbered(name: &str, records: Vec<Record>) -> Vec<(String, Record)> {
    records.into_iter().enumerate().map(|(i, r)| (format!("{name}[{i}]"), r)).collect()
}

/// Rows of a `dataframe_split` as records.
fn split_records(split: Split) -> Result<Vec<(String, Record)>> {
    let mut records = Vec::with_capacity(split.data.len());
    for (i, row) in split.data.into_iter().enumerate() {
        let at = format!("dataframe_split.data[{i}]");
        if row.len() != split.columns.len() {
            return Err(Error::invalid(format!(
                "{at} has {} values for {} columns ({}): give one value per column",
                row.len(),
                split.columns.len(),
                split.columns.join(", ")
            )));
        }
        let object: Map<String, Value> = split.columns.iter().cloned().zip(row).collect();
        let record = serde_path_to_error::deserialize(Value::Object(object)).map_err(|err| {
            let path = err.path().to_string();
            Error::invalid(format!("{at}.{path}: {}", err.into_inner()))
        })?;
        records.push((at, record));
    }
    Ok(records)
}

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    inputs: Option<Inputs>,
    instances: Option<Vec<Record>>,
    dataframe_records: Option<Vec<Record>>,
    dataframe_split: Option<Split>,
    #[serde(rename = "params")]
    _params: Option<IgnoredAny>,
}

/// `dataframe_split`: pandas' `orient="split"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Split {
    columns: Vec<String>,
    data: Vec<Vec<Value>>,
    #[serde(rename = "index")]
    _index: Option<IgnoredAny>,
}

/// `inputs`: a list of records, or one record. Deserialized without an intermediate
/// `Value`, so a long `audio` array is read once, straight into `f32`s.
#[derive(Debug)]
enum Inputs {
    One(Box<Record>),
    Many(Vec<Record>),
}

impl<'de> Deserialize<'de> for Inputs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InputsVisitor;
        impl<'de> Visitor<'de> for InputsVisitor {
            type Value = Inputs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of records (one per clip) or one record")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inputs, A::Error> {
                let mut records = Vec::new();
                while let Some(record) = seq.next_element()? {
                    records.push(record);
                }
                Ok(Inputs::Many(records))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Inputs, A::Error> {
                Record::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|r| Inputs::One(Box::new(r)))
            }
        }
        deserializer.deserialize_any(InputsVisitor)
    }
}

/// One clip as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    audio: Option<Vec<f32>>,
    sample_rate: Option<u32>,
    channels: Option<usize>,
    audio_base64: Option<String>,
    mel_spectrogram: Option<Vec<Vec<f32>>>,
    f0_features: Option<Vec<Vec<f32>>>,
    tonic_hz: Option<f32>,
    tonic_candidates: Option<Vec<TonicCandidate>>,
    tradition: Option<TraditionValue>,
    tradition_id: Option<TraditionValue>,
}

/// A tradition as an id (0, 1, 2) or a name.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TraditionValue {
    Id(i64),
    Name(String),
}

impl TraditionValue {
    fn parse(&self, at: &str) -> Result<Tradition> {
        let tradition = match self {
            Self::Id(0) => Some(Tradition::Unknown),
            Self::Id(1) => Some(Tradition::Hindustani),
            Self::Id(2) => Some(Tradition::Carnatic),
            Self::Id(_) => None,
            Self::Name(name) => Tradition::parse(name),
        };
        tradition.ok_or_else(|| {
            let got = match self {
                Self::Id(id) => id.to_string(),
                Self::Name(name) => format!("'{name}'"),
            };
            Error::invalid(format!("{at}: tradition {got} is not one of 0/unknown, 1/hindustani, 2/carnatic"))
        })
    }
}

impl Record {
    /// Checks the fields that do not depend on the model.
    fn check(self, at: String) -> Result<Clip> {
        let tradition = match (&self.tradition, &self.tradition_id) {
            (None, None) => Tradition::Unknown,
            (Some(t), None) => t.parse(&format!("{at}.tradition"))?,
            (None, Some(t)) => t.parse(&format!("{at}.tradition_id"))?,
            (Some(a), Some(b)) => {
                let (a, b) = (a.parse(&format!("{at}.tradition"))?, b.parse(&format!("{at}.tradition_id"))?);
                if a != b {
                    return Err(Error::invalid(format!(
                        "{at}: tradition '{}' and tradition_id '{}' disagree: give one of them",
                        a.as_str(),
                        b.as_str()
                    )));
                }
                a
            }
        };
        if let Some(hz) = self.tonic_hz
            && !(hz.is_finite() && hz > 0.0)
        {
            return Err(Error::invalid(format!("{at}.tonic_hz: {hz} is not a positive frequency in Hz")));
        }
        let kinds: Vec<&str> = [
            ("audio", self.audio.is_some()),
            ("audio_base64", self.audio_base64.is_some()),
            ("mel_spectrogram", self.mel_spectrogram.is_some() || self.f0_features.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect();
        let only = |field: &str, given: bool, with: &str| {
            if given { Err(Error::invalid(format!("{at}.{field} is only read with {with}"))) } else { Ok(()) }
        };
        let source = match kinds.as_slice() {
            ["audio"] => {
                only("tonic_candidates", self.tonic_candidates.is_some(), "mel_spectrogram")?;
                let samples = self.audio.unwrap_or_default();
                let sample_rate = self.sample_rate.ok_or_else(|| {
                    Error::invalid(format!(
                        "{at}.sample_rate is missing: give the rate of the audio samples in Hz"
                    ))
                })?;
                let channels = self.channels.unwrap_or(1);
                if channels == 0 {
                    return Err(Error::invalid(format!("{at}.channels must be at least 1")));
                }
                if samples.is_empty() {
                    return Err(Error::invalid(format!("{at}.audio is empty: send the clip's samples")));
                }
                Source::Samples { samples, sample_rate, channels }
            }
            ["audio_base64"] => {
                only("sample_rate", self.sample_rate.is_some(), "audio (the file says its rate)")?;
                only("channels", self.channels.is_some(), "audio (the file says its channels)")?;
                only("tonic_candidates", self.tonic_candidates.is_some(), "mel_spectrogram")?;
                Source::Encoded(decode_base64(self.audio_base64.as_deref().unwrap_or_default(), &at)?)
            }
            ["mel_spectrogram"] => {
                only("sample_rate", self.sample_rate.is_some(), "audio")?;
                only("channels", self.channels.is_some(), "audio")?;
                let mel = self.mel_spectrogram.ok_or_else(|| {
                    Error::invalid(format!(
                        "{at}.mel_spectrogram is missing: f0_features comes with mel_spectrogram (frames × 128 log-mel dB)"
                    ))
                })?;
                let f0 = self.f0_features.ok_or_else(|| {
                    Error::invalid(format!(
                        "{at}.f0_features is missing: mel_spectrogram comes with f0_features (frames × 2: [f0_hz, voiced_prob])"
                    ))
                })?;
                let f0 = f0
                    .into_iter()
                    .enumerate()
                    .map(|(t, row)| {
                        <[f32; 2]>::try_from(row.as_slice()).map_err(|_| {
                            Error::invalid(format!(
                                "{at}.f0_features[{t}] has {} values: send frames × 2, [f0_hz, voiced_prob] per frame",
                                row.len()
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let tonic_candidates = match (self.tonic_hz, self.tonic_candidates) {
                    (Some(hz), _) => vec![TonicCandidate { hz, score: 0.0 }],
                    (None, Some(candidates)) if !candidates.is_empty() => candidates,
                    _ => {
                        return Err(Error::invalid(format!(
                            "{at}: precomputed features need tonic_hz (the performer's Sa in Hz) or \
                             tonic_candidates ([{{\"hz\", \"score\"}}, …], best first): the tonic cannot be \
                             estimated without the audio"
                        )));
                    }
                };
                if let Some(bad) =
                    tonic_candidates.iter().find(|c| !(c.hz.is_finite() && c.hz > 0.0 && c.score.is_finite()))
                {
                    return Err(Error::invalid(format!(
                        "{at}.tonic_candidates: {{hz: {}, score: {}}} is not a positive frequency with a finite score",
                        bad.hz, bad.score
                    )));
                }
                Source::Features { mel, f0, tonic_candidates }
            }
            [] => {
                return Err(Error::invalid(format!(
                    "{at} has no clip: give audio + sample_rate, audio_base64, or mel_spectrogram + f0_features + tonic_hz"
                )));
            }
            many => {
                return Err(Error::invalid(format!(
                    "{at} has {}: give exactly one of audio, audio_base64 or mel_spectrogram per clip",
                    many.join(" and ")
                )));
            }
        };
        Ok(Clip { at, source, tradition, tonic_hz: self.tonic_hz })
    }
}

/// Standard base64 (padding optional, whitespace and a `data:…;base64,` prefix allowed).
fn decode_base64(text: &str, at: &str) -> Result<Vec<u8>> {
    let text = match text.strip_prefix("data:") {
        Some(rest) => rest.split_once(',').map_or(rest, |(_, data)| data),
        None => text,
    };
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(compact.as_bytes()).map_err(|e| {
        Error::invalid(format!(
            "{at}.audio_base64 is not valid base64 ({e}): encode the audio file's bytes with standard base64"
        ))
    })?;
    if bytes.is_empty() {
        return Err(Error::invalid(format!("{at}.audio_base64 is empty: send a WAV, FLAC, MP3 or OGG file")));
    }
    Ok(bytes)
}

impl Clip {
    /// The clip's features under `config` (the model's feature settings): audio is decoded
    /// and analysed by `raga-dsp`; precomputed features are checked against the shapes the
    /// model reads. CPU-heavy for audio: call it off the async runtime.
    pub fn features(self, config: &FeatureConfig) -> Result<Features> {
        let at = self.at;
        let features = match self.source {
            Source::Samples { samples, sample_rate, channels } => {
                raga_dsp::extract(&samples, sample_rate, channels, config)
                    .map_err(|e| Error::invalid(format!("{at}.audio: {e}")))?
            }
            Source::Encoded(bytes) => {
                let decoded = raga_audio::decode(&bytes, None)
                    .map_err(|e| Error::invalid(format!("{at}.audio_base64: {e}")))?;
                raga_dsp::extract(&decoded.samples, decoded.sample_rate, decoded.channels, config)
                    .map_err(|e| Error::invalid(format!("{at}.audio_base64: {e}")))?
            }
            Source::Features { mel, f0, tonic_candidates } => {
                return precomputed(&at, mel, f0, tonic_candidates, config);
            }
        };
        match self.tonic_hz {
            Some(hz) => features.with_tonic(hz).map_err(|e| Error::invalid(format!("{at}.tonic_hz: {e}"))),
            None => Ok(features),
        }
    }
}

/// [`Features`] from a client's log-mel and F0 track, on the model's frame grid.
fn precomputed(
    at: &str,
    mel: Vec<Vec<f32>>,
    f0: Vec<[f32; 2]>,
    tonic_candidates: Vec<TonicCandidate>,
    config: &FeatureConfig,
) -> Result<Features> {
    let n_mels = config.mel.n_mels;
    let frames = mel.len();
    if frames == 0 {
        return Err(Error::invalid(format!(
            "{at}.mel_spectrogram is empty: send frames × {n_mels} log-mel values in dB"
        )));
    }
    if f0.len() != frames {
        return Err(Error::invalid(format!(
            "{at}: mel_spectrogram has {frames} frames but f0_features has {}: both need one row per frame",
            f0.len()
        )));
    }
    let mut log_mel = Vec::with_capacity(frames * n_mels);
    for (t, row) in mel.into_iter().enumerate() {
        if row.len() != n_mels {
            return Err(Error::invalid(format!(
                "{at}.mel_spectrogram[{t}] has {} values; the model reads {n_mels} log-mel bands (dB) per frame: send frames × {n_mels}",
                row.len()
            )));
        }
        if let Some(v) = row.iter().find(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "{at}.mel_spectrogram[{t}] holds {v}: values must be finite dB"
            )));
        }
        log_mel.extend(row);
    }
    let mut f0_hz = Vec::with_capacity(frames);
    let mut voiced_prob = Vec::with_capacity(frames);
    for (t, [hz, p]) in f0.into_iter().enumerate() {
        if !(hz.is_finite() && hz >= 0.0) {
            return Err(Error::invalid(format!(
                "{at}.f0_features[{t}][0] is {hz}: F0 must be a frequency in Hz ≥ 0 (0 where unvoiced)"
            )));
        }
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid(format!(
                "{at}.f0_features[{t}][1] is {p}: the voicing probability must be within 0..1"
            )));
        }
        f0_hz.push(hz);
        voiced_prob.push(p);
    }
    let tonic_hz = tonic_candidates.first().map_or(0.0, |c| c.hz);
    let features = Features {
        sample_rate: config.sample_rate,
        hop_length: config.mel.hop_length,
        n_mels,
        frames,
        log_mel,
        f0_hz,
        voiced_prob,
        tonic_hz,
        tonic_candidates: Vec::new(),
        cents: Vec::new(),
        pitch_class_hist: Vec::new(),
    };
    // Cents and the pitch-class histogram relative to the best candidate, by raga-dsp.
    let mut features = features.with_tonic(tonic_hz).map_err(|e| Error::invalid(format!("{at}: {e}")))?;
    features.tonic_candidates = tonic_candidates;
    Ok(features)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `body`; `Ok` lists each clip as `at kind tradition`, `Err` the message.
    fn check(body: &str, expected: Result<&[&str], &str>) {
        let got = parse(body.as_bytes()).map(|clips| {
            clips
                .iter()
                .map(|c| {
                    let kind = match &c.source {
                        Source::Samples { samples, sample_rate, channels } => {
                            format!("samples {}x{channels}@{sample_rate}", samples.len())
                        }
                        Source::Encoded(bytes) => format!("encoded {}", bytes.len()),
                        Source::Features { mel, tonic_candidates, .. } => {
                            format!("features {} tonic {}", mel.len(), tonic_candidates[0].hz)
                        }
                    };
                    format!("{} {kind} {}", c.at, c.tradition.as_str())
                })
                .collect::<Vec<_>>()
        });
        match (got, expected) {
            (Ok(clips), Ok(want)) => assert_eq!(clips, want, "{body}"),
            (Err(err), Err(part)) => {
                assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST, "{body}");
                assert!(err.to_string().contains(part), "{body}\n  got: {err}\n  want: …{part}…");
            }
            (got, want) => panic!("{body}\n  got: {got:?}\n  want: {want:?}"),
        }
    }

    #[test]
    fn every_mlflow_input_shape_gives_its_clips() {
        check(
            r#"{"inputs": [{"audio": [0.1, 0.2], "sample_rate": 8000}, {"audio_base64": "UklGRg=="}]}"#,
            Ok(&["inputs[0] samples 2x1@8000 unknown", "inputs[1] encoded 4 unknown"]),
        );
        check(
            r#"{"inputs": {"audio": [0.1, 0.2, 0.3, 0.4], "sample_rate": 44100, "channels": 2}}"#,
            Ok(&["inputs samples 4x2@44100 unknown"]),
        );
        check(
            r#"{"instances": [{"audio_base64": "data:audio/wav;base64,UklG Rg", "tradition": "Carnatic"}]}"#,
            Ok(&["instances[0] encoded 4 carnatic"]),
        );
        check(
            r#"{"dataframe_records": [{"mel_spectrogram": [[-10.0]], "f0_features": [[220, 0.9]], "tonic_hz": 146.8, "tradition_id": 1}]}"#,
            Ok(&["dataframe_records[0] features 1 tonic 146.8 hindustani"]),
        );
        check(
            r#"{"dataframe_split": {"columns": ["audio", "sample_rate", "audio_base64", "tradition_id"],
                "data": [[[0.5], 16000, null, "hindustani"], [null, null, "UklGRg==", 2]]}, "params": {"k": 1}}"#,
            Ok(&[
                "dataframe_split.data[0] samples 1x1@16000 hindustani",
                "dataframe_split.data[1] encoded 4 carnatic",
            ]),
        );
        check(
            r#"{"instances": [{"mel_spectrogram": [[0]], "f0_features": [[0, 0]],
                "tonic_candidates": [{"hz": 150, "score": 2}, {"hz": 200, "score": 1}]}]}"#,
            Ok(&["instances[0] features 1 tonic 150 unknown"]),
        );
    }

    #[test]
    fn bad_bodies_say_what_to_send() {
        check("", Err("the request body is empty"));
        check("{}", Err("has no input: send a JSON object with exactly one of inputs"));
        check("42", Err("the request body is invalid: invalid type: integer `42`"));
        check("{\"instances\": [", Err("not valid JSON"));
        check(r#"{"rows": []}"#, Err("unknown field `rows`"));
        check(r#"{"instances": [], "inputs": []}"#, Err("has inputs and instances"));
        check(r#"{"instances": []}"#, Err("instances is empty: send at least one clip"));
        check(r#"{"instances": [{}]}"#, Err("instances[0] has no clip: give audio + sample_rate"));
        check(
            r#"{"instances": [{"audio": [1], "audio_base64": "AA=="}]}"#,
            Err("has audio and audio_base64"),
        );
        check(r#"{"instances": [{"audio": [1]}]}"#, Err("instances[0].sample_rate is missing"));
        check(r#"{"instances": [{"audio": [], "sample_rate": 8000}]}"#, Err("instances[0].audio is empty"));
        check(
            r#"{"instances": [{"audio": ["a"], "sample_rate": 8000}]}"#,
            Err("instances[0].audio[0]: invalid type"),
        );
        check(r#"{"instances": [{"audo": [1]}]}"#, Err("unknown field `audo`, expected one of"));
        check(
            r#"{"instances": [{"audio_base64": "@@@"}]}"#,
            Err("instances[0].audio_base64 is not valid base64"),
        );
        check(r#"{"instances": [{"audio_base64": ""}]}"#, Err("instances[0].audio_base64 is empty"));
        check(
            r#"{"instances": [{"audio_base64": "AA==", "sample_rate": 8000}]}"#,
            Err("sample_rate is only read with audio"),
        );
        check(
            r#"{"instances": [{"audio": [1], "sample_rate": 8000, "tradition": "jazz"}]}"#,
            Err("instances[0].tradition: tradition 'jazz' is not one of 0/unknown, 1/hindustani, 2/carnatic"),
        );
        check(
            r#"{"instances": [{"audio": [1], "sample_rate": 8000, "tradition_id": 7}]}"#,
            Err("tradition 7 is not one of"),
        );
        check(
            r#"{"instances": [{"audio": [1], "sample_rate": 8000, "tradition": 1, "tradition_id": 2}]}"#,
            Err("disagree"),
        );
        check(
            r#"{"instances": [{"mel_spectrogram": [[0]], "tonic_hz": 150}]}"#,
            Err("instances[0].f0_features is missing"),
        );
        check(
            r#"{"instances": [{"mel_spectrogram": [[0]], "f0_features": [[0, 0]]}]}"#,
            Err("precomputed features need tonic_hz"),
        );
        check(
            r#"{"instances": [{"mel_spectrogram": [[0]], "f0_features": [[0, 0, 1]], "tonic_hz": 150}]}"#,
            Err("instances[0].f0_features[0] has 3 values: send frames × 2, [f0_hz, voiced_prob] per frame"),
        );
        check(
            r#"{"instances": [{"audio": [1], "sample_rate": 8000, "tonic_hz": -3}]}"#,
            Err("tonic_hz: -3 is not a positive"),
        );
        check(
            r#"{"dataframe_split": {"columns": ["audio", "sample_rate"], "data": [[[1]]]}}"#,
            Err("dataframe_split.data[0] has 1 values for 2 columns (audio, sample_rate)"),
        );
        check(
            r#"{"dataframe_split": {"columns": ["audio", "sample_rate"], "data": [[[1], "fast"]]}}"#,
            Err("dataframe_split.data[0].sample_rate: invalid type: string \"fast\""),
        );
    }

    fn features_of(body: &str) -> Result<Features> {
        let clip = parse(body.as_bytes())?.into_iter().next().ok_or_else(|| Error::invalid("no clip"))?;
        clip.features(&FeatureConfig::default())
    }

    #[test]
    fn precomputed_features_are_checked_against_the_model_shapes() {
        let rows = |frames: usize, bands: usize| {
            serde_json::to_string(&vec![vec![-20.0f32; bands]; frames]).unwrap_or_default()
        };
        let f0 = |frames: usize| serde_json::to_string(&vec![[220.0f32, 0.9]; frames]).unwrap_or_default();
        let body = |mel: String, f0: String| {
            format!(
                r#"{{"instances": [{{"mel_spectrogram": {mel}, "f0_features": {f0}, "tonic_hz": 220}}]}}"#
            )
        };
        let features = features_of(&body(rows(5, 128), f0(5))).expect("valid features");
        assert_eq!((features.frames, features.log_mel.len(), features.tonic_hz), (5, 640, 220.0));
        assert_eq!(features.cents[0], Some(0.0), "pitch is relative to the given Sa");
        let err = |body: String| features_of(&body).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err(body(rows(5, 64), f0(5))).contains("mel_spectrogram[0] has 64 values; the model reads 128")
        );
        assert!(
            err(body(rows(5, 128), f0(4))).contains("mel_spectrogram has 5 frames but f0_features has 4")
        );
        assert!(err(body(rows(0, 128), f0(0))).contains("mel_spectrogram is empty"));
        assert!(
            err(body(rows(1, 128), "[[220, 1.5]]".into()))
                .contains("f0_features[0][1] is 1.5: the voicing probability")
        );
    }

    #[test]
    fn audio_that_cannot_be_analysed_is_a_client_error() {
        let wav = base64::engine::general_purpose::STANDARD.encode(b"not a wav file at all");
        let err = features_of(&format!(r#"{{"instances": [{{"audio_base64": "{wav}"}}]}}"#)).err();
        assert!(err.is_some_and(|e| {
            e.to_string().contains("instances[0].audio_base64: not a recognised audio file")
        }));
        let err = features_of(r#"{"instances": [{"audio": [0.1, 0.2], "sample_rate": 22050}]}"#).err();
        assert!(err.is_some_and(|e| e.to_string().contains("instances[0].audio: audio is 0.00 s long")));
        let err = features_of(r#"{"instances": [{"audio": [0.1], "sample_rate": 5}]}"#).err();
        assert!(err.is_some_and(|e| e.to_string().contains("sample rate 5 Hz is not supported")));
    }
}
