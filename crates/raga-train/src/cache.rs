//! Features computed once per audio file and kept in `DIR/.ragasense-cache/`, keyed by the
//! file's content hash, the feature config, [`raga_dsp::FEATURES_VERSION`] and the number of
//! tonic candidates kept (the training's decoy tonics).

use std::path::{Path, PathBuf};

use raga_dsp::{FeatureConfig, Features, TonicCandidate};
use sha2::{Digest, Sha256};

use crate::TrainError;

/// Format tag; bumped whenever the layout changes (old entries are then recomputed).
const MAGIC: &[u8; 4] = b"RSF2";

/// The cache folder of one corpus and feature config.
#[derive(Debug, Clone)]
pub struct FeatureCache {
    dir: PathBuf,
}

impl FeatureCache {
    /// The cache under `root` for `config`.
    pub fn new(root: &Path, config: &FeatureConfig) -> Self {
        let mut key = serde_json::to_vec(config).unwrap_or_default();
        key.extend_from_slice(&(raga_dsp::TONIC_CANDIDATES as u32).to_le_bytes());
        let tag = &hex::encode(Sha256::digest(&key))[..12];
        Self {
            dir: root
                .join(".ragasense-cache")
                .join(format!("features-v{}-{tag}", raga_dsp::FEATURES_VERSION)),
        }
    }

    /// Features of an audio file: from the cache when present, else computed and stored.
    pub fn features(&self, path: &Path, config: &FeatureConfig) -> Result<Features, TrainError> {
        let bytes = std::fs::read(path)
            .map_err(|e| TrainError::Audio(format!("{}: cannot read file: {e}", path.display())))?;
        let key = hex::encode(Sha256::digest(&bytes));
        let cached = self.dir.join(format!("{key}.bin"));
        if let Ok(stored) = std::fs::read(&cached)
            && let Some(features) = decode(&stored)
        {
            return Ok(features);
        }
        let ext = path.extension().and_then(|e| e.to_str());
        let decoded = raga_audio::decode(&bytes, ext)
            .map_err(|e| TrainError::Audio(format!("{}: {e}", path.display())))?;
        let features = raga_dsp::extract(&decoded.samples, decoded.sample_rate, decoded.channels, config)
            .map_err(|e| TrainError::Audio(format!("{}: {e}", path.display())))?;
        // A cache that cannot be written only costs time next run.
        if std::fs::create_dir_all(&self.dir).is_ok() {
            let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, encode(&features)).is_ok() {
                let _ = std::fs::rename(&tmp, &cached);
            }
        }
        Ok(features)
    }
}

fn encode(f: &Features) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + 4 * (f.log_mel.len() + 4 * f.frames + f.pitch_class_hist.len()));
    out.extend_from_slice(MAGIC);
    for v in [
        f.sample_rate,
        f.hop_length as u32,
        f.n_mels as u32,
        f.frames as u32,
        f.pitch_class_hist.len() as u32,
        f.tonic_candidates.len() as u32,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&f.tonic_hz.to_le_bytes());
    let cents = f.cents.iter().map(|c| c.unwrap_or(f32::NAN));
    for v in f
        .log_mel
        .iter()
        .chain(&f.f0_hz)
        .chain(&f.voiced_prob)
        .copied()
        .chain(cents)
        .chain(f.pitch_class_hist.iter().copied())
        .chain(f.tonic_candidates.iter().flat_map(|c| [c.hz, c.score]))
    {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn decode(bytes: &[u8]) -> Option<Features> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let mut words = rest.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]);
    let mut u = || words.next().map(u32::from_le_bytes);
    let (sample_rate, hop_length, n_mels, frames, hist, candidates) =
        (u()?, u()? as usize, u()? as usize, u()? as usize, u()? as usize, u()? as usize);
    let tonic_hz = f32::from_le_bytes(words.next()?);
    let floats: Vec<f32> = words.map(f32::from_le_bytes).collect();
    if floats.len() != frames * n_mels + 3 * frames + hist + 2 * candidates {
        return None;
    }
    let (log_mel, rest) = floats.split_at(frames * n_mels);
    let (f0_hz, rest) = rest.split_at(frames);
    let (voiced_prob, rest) = rest.split_at(frames);
    let (cents, rest) = rest.split_at(frames);
    let (hist, candidates) = rest.split_at(hist);
    Some(Features {
        sample_rate,
        hop_length,
        n_mels,
        frames,
        log_mel: log_mel.to_vec(),
        f0_hz: f0_hz.to_vec(),
        voiced_prob: voiced_prob.to_vec(),
        tonic_hz,
        tonic_candidates: candidates
            .chunks_exact(2)
            .map(|c| TonicCandidate { hz: c[0], score: c[1] })
            .collect(),
        cents: cents.iter().map(|&c| (!c.is_nan()).then_some(c)).collect(),
        pitch_class_hist: hist.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_truncation() {
        let f = Features {
            sample_rate: 22050,
            hop_length: 512,
            n_mels: 2,
            frames: 3,
            log_mel: vec![-1.0, -2.0, -3.0, -4.0, -5.0, -6.0],
            f0_hz: vec![0.0, 220.0, 221.0],
            voiced_prob: vec![0.0, 0.9, 1.0],
            tonic_hz: 146.8,
            tonic_candidates: vec![
                TonicCandidate { hz: 146.8, score: 2.5 },
                TonicCandidate { hz: 195.7, score: 1.9 },
            ],
            cents: vec![None, Some(700.0), Some(707.9)],
            pitch_class_hist: vec![0.5, 0.5],
        };
        let bytes = encode(&f);
        assert_eq!(decode(&bytes), Some(f));
        assert_eq!(decode(&bytes[..bytes.len() - 4]), None);
        assert_eq!(decode(b"nope"), None);
    }
}
