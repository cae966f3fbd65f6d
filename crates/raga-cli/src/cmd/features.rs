//! `ragasense features FILE`: decode, compute features, print them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use raga_dsp::{FeatureConfig, Features};
use serde::Serialize;

/// Arguments of `ragasense features`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Audio file (WAV, FLAC, MP3 or OGG/Vorbis).
    file: PathBuf,
    /// Print every feature as JSON on stdout instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Reads and decodes an audio file, then computes its features; errors name the file.
pub fn features_of_file(path: &Path, config: &FeatureConfig) -> Result<Features> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read file", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str());
    let decoded = raga_audio::decode(&bytes, ext).with_context(|| path.display().to_string())?;
    raga_dsp::extract(&decoded.samples, decoded.sample_rate, decoded.channels, config)
        .with_context(|| path.display().to_string())
}

#[derive(Serialize)]
struct JsonFeatures<'a> {
    sample_rate: u32,
    hop_length: usize,
    n_mels: usize,
    frames: usize,
    log_mel: Vec<&'a [f32]>,
    f0_hz: &'a [f32],
    voiced_prob: &'a [f32],
    tonic_hz: f32,
    tonic_candidates: &'a [raga_dsp::TonicCandidate],
    pitch_class_hist: &'a [f32],
}

pub fn run(args: Args) -> Result<()> {
    let f = features_of_file(&args.file, &FeatureConfig::default())?;
    if args.json {
        let json = JsonFeatures {
            sample_rate: f.sample_rate,
            hop_length: f.hop_length,
            n_mels: f.n_mels,
            frames: f.frames,
            log_mel: (0..f.frames).map(|t| f.mel_frame(t)).collect(),
            f0_hz: &f.f0_hz,
            voiced_prob: &f.voiced_prob,
            tonic_hz: f.tonic_hz,
            tonic_candidates: &f.tonic_candidates,
            pitch_class_hist: &f.pitch_class_hist,
        };
        serde_json::to_writer(std::io::stdout().lock(), &json).context("writing JSON to stdout")?;
        println!();
        return Ok(());
    }
    let voiced = f.f0_hz.iter().filter(|&&x| x > 0.0).count();
    let seconds = f.frames.saturating_sub(1) as f32 * f.hop_length as f32 / f.sample_rate as f32;
    println!("file         {}", args.file.display());
    println!("duration     {seconds:.2} s ({} frames of {} samples)", f.frames, f.hop_length);
    println!("tonic (Sa)   {:.1} Hz", f.tonic_hz);
    let others: Vec<String> = f.tonic_candidates.iter().skip(1).map(|c| format!("{:.1} Hz", c.hz)).collect();
    if !others.is_empty() {
        println!("  else       {}", others.join(", "));
    }
    println!("voiced       {:.0}% of frames", 100.0 * voiced as f32 / f.frames.max(1) as f32);
    println!("pitch classes (share of voiced time, relative to Sa):");
    for (name, cents) in SWARAS {
        let share: f32 =
            (-3..=3).map(|d| f.pitch_class_hist[((cents / 10 + d).rem_euclid(120)) as usize]).sum();
        let bar = "█".repeat((share * 60.0).round() as usize);
        println!("  {name:<3} {:>5.1}% {bar}", share * 100.0);
    }
    Ok(())
}

/// The twelve swaras and their equal-tempered offsets in cents.
const SWARAS: [(&str, i32); 12] = [
    ("S", 0),
    ("r", 100),
    ("R", 200),
    ("g", 300),
    ("G", 400),
    ("m", 500),
    ("M'", 600),
    ("P", 700),
    ("d", 800),
    ("D", 900),
    ("n", 1000),
    ("N", 1100),
];
