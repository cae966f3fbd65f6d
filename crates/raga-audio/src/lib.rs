//! Audio codecs on bytes: decode WAV (PCM and float), FLAC, MP3 and OGG/Vorbis with symphonia,
//! encode 16-bit WAV.
//!
//! Only bytes go in and samples come out: reading files is the caller's business, so the
//! same code decodes an upload on the server and a file in the browser.

mod container;

use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use thiserror::Error;

/// Why bytes could not be turned into samples.
#[derive(Debug, Error)]
pub enum AudioError {
    /// Zero bytes.
    #[error("the file is empty (0 bytes)")]
    Empty,
    /// No known container or codec signature.
    #[error("not a recognised audio file (expected WAV, FLAC, MP3 or OGG/Vorbis): {0}")]
    NotAudio(String),
    /// A container with no audio track.
    #[error("the file has no audio track")]
    NoTrack,
    /// A known container holding a codec we cannot decode.
    #[error("unsupported codec: {0}; convert the file to WAV, FLAC, MP3 or OGG/Vorbis")]
    UnsupportedCodec(String),
    /// The stream ended or broke before any audio could be decoded.
    #[error("the audio stream is truncated or corrupt: {0}")]
    Corrupt(String),
    /// Decoded, but there are no samples.
    #[error("the file decodes to no audio samples")]
    NoSamples,
    /// Writing a WAV failed.
    #[error("could not encode WAV: {0}")]
    Encode(String),
}

/// Decoded audio: interleaved samples in −1..1.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Interleaved samples.
    pub samples: Vec<f32>,
    /// Samples per second per channel.
    pub sample_rate: u32,
    /// Number of interleaved channels.
    pub channels: usize,
}

impl Decoded {
    /// Duration in seconds.
    pub fn seconds(&self) -> f32 {
        self.samples.len() as f32 / (self.channels.max(1) as f32 * self.sample_rate.max(1) as f32)
    }
}

/// Decodes a whole audio file held in memory. `extension` (e.g. `"mp3"`) is a hint only.
///
/// Bytes from anywhere are safe here: headers symphonia is known to panic on are refused
/// first ([`container`]), and a panic inside symphonia all the same (a bug not found yet)
/// becomes [`AudioError::Corrupt`] where panics unwind (natively; wasm builds abort).
pub fn decode(bytes: &[u8], extension: Option<&str>) -> Result<Decoded, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    container::check(bytes)?;
    std::panic::catch_unwind(|| decode_checked(bytes, extension)).unwrap_or_else(|_| {
        Err(AudioError::Corrupt("the decoder failed on this file; convert it to 16-bit PCM WAV".into()))
    })
}

fn decode_checked(bytes: &[u8], extension: Option<&str>) -> Result<Decoded, AudioError> {
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(|e| match e {
            // The probe found no container signature at all.
            SymphoniaError::Unsupported(what) if what.contains("no suitable format reader") => {
                AudioError::NotAudio("no known audio format signature in the data".into())
            }
            // A known container whose reader refused what is inside (e.g. an odd WAV codec).
            SymphoniaError::Unsupported(what) => AudioError::UnsupportedCodec(what.to_string()),
            other => AudioError::NotAudio(describe(&other)),
        })?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or(AudioError::NoTrack)?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| match e {
            SymphoniaError::Unsupported(what) => AudioError::UnsupportedCodec(what.to_string()),
            other => AudioError::Corrupt(describe(&other)),
        })?;
    let mut sample_rate = track.codec_params.sample_rate.unwrap_or(0);
    let mut channels = track.codec_params.channels.map_or(0, |c| c.count());
    let mut samples = Vec::new();
    let mut first_error = None;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => {
                first_error.get_or_insert_with(|| describe(&e));
                break;
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buffer) => {
                let spec = *buffer.spec();
                sample_rate = spec.rate;
                channels = spec.channels.count();
                let mut out = SampleBuffer::<f32>::new(buffer.capacity() as u64, spec);
                out.copy_interleaved_ref(buffer);
                samples.extend_from_slice(out.samples());
            }
            // A damaged packet: skip it, as players do, but remember why.
            Err(SymphoniaError::DecodeError(e)) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
            Err(e) => {
                first_error.get_or_insert_with(|| describe(&e));
                break;
            }
        }
    }
    if samples.is_empty() {
        return Err(match first_error {
            Some(why) => AudioError::Corrupt(why),
            None => AudioError::NoSamples,
        });
    }
    if sample_rate == 0 || channels == 0 {
        return Err(AudioError::Corrupt("the stream declares no sample rate or channel layout".into()));
    }
    Ok(Decoded { samples, sample_rate, channels })
}

fn describe(e: &SymphoniaError) -> String {
    match e {
        SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of data (truncated file?)".into()
        }
        other => other.to_string(),
    }
}

/// Encodes mono samples as a 16-bit PCM WAV file.
pub fn encode_wav(samples: &[f32], sample_rate: u32) -> Result<Vec<u8>, AudioError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    {
        let mut writer =
            hound::WavWriter::new(&mut cursor, spec).map_err(|e| AudioError::Encode(e.to_string()))?;
        for s in samples {
            let v = (s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16;
            writer.write_sample(v).map_err(|e| AudioError::Encode(e.to_string()))?;
        }
        writer.finalize().map_err(|e| AudioError::Encode(e.to_string()))?;
    }
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine() -> Vec<f32> {
        (0..22050).map(|i| 0.5 * (i as f32 * 0.05).sin()).collect()
    }

    #[test]
    fn wav_round_trips_within_16_bit_precision() {
        let input = sine();
        let decoded = decode(&encode_wav(&input, 22050).unwrap(), Some("wav")).unwrap();
        assert_eq!((decoded.sample_rate, decoded.channels), (22050, 1));
        assert_eq!(decoded.samples.len(), input.len());
        let err = input.iter().zip(&decoded.samples).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(err < 1e-4, "{err}");
        assert!((decoded.seconds() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn bad_bytes_give_clear_errors() {
        assert!(matches!(decode(&[], None), Err(AudioError::Empty)));
        assert!(matches!(
            decode(b"this is plain text, not audio at all", None),
            Err(AudioError::NotAudio(_))
        ));
        let wav = encode_wav(&sine(), 22050).unwrap();
        // A header cut in half.
        let err = decode(&wav[..20], Some("wav")).unwrap_err();
        assert!(matches!(err, AudioError::Corrupt(_)), "{err}");
        assert!(err.to_string().contains("'fmt ' declares 16 bytes but the file ends first"), "{err}");
        assert!(matches!(decode(&wav[..10], Some("wav")), Err(AudioError::NotAudio(_))));
        // A header with no data after it.
        let err = decode(&wav[..44], Some("wav")).unwrap_err();
        assert!(matches!(err, AudioError::NoSamples | AudioError::Corrupt(_)), "{err}");
    }

    #[test]
    fn truncated_data_keeps_what_decodes() {
        let wav = encode_wav(&sine(), 22050).unwrap();
        let decoded = decode(&wav[..44 + 2000], Some("wav")).unwrap();
        assert_eq!(decoded.samples.len(), 1000);
    }
}
