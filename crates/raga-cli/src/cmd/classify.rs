//! `ragasense classify`: the raga of audio files, with a model package.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use raga_model::{Classifier, RagaScore, TonicCheck, Tradition};
use serde::Serialize;

use super::device::{DeviceChoice, pick};

/// Arguments of `ragasense classify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Audio files (WAV, FLAC, MP3 or OGG/Vorbis).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Model package folder (from `ragasense package`).
    #[arg(long)]
    model: PathBuf,
    /// The clips' tradition, when known: restricts the answer to its ragas.
    #[arg(long, value_parser = parse_tradition)]
    tradition: Option<Tradition>,
    /// The performer's Sa in Hz, when known: used instead of the estimated tonic.
    #[arg(long)]
    tonic: Option<f32>,
    /// Backend (default: wgpu when a GPU adapter exists, else flex).
    #[arg(long, value_enum)]
    device: Option<DeviceChoice>,
    /// One JSON object per file on stdout.
    #[arg(long)]
    json: bool,
}

pub fn parse_tradition(s: &str) -> Result<Tradition, String> {
    Tradition::parse(s).ok_or_else(|| format!("unknown tradition {s:?}; use hindustani or carnatic"))
}

#[derive(Debug, Serialize)]
struct Timings {
    decode: f64,
    features: f64,
    inference: f64,
}

#[derive(Debug, Serialize)]
struct Answer<'a> {
    file: String,
    raga: String,
    confidence: f32,
    top_k: Vec<RagaScore>,
    tonic_hz: f32,
    /// The model's confidence that `tonic_hz` is the performer's Sa (models with the tonic check).
    #[serde(skip_serializing_if = "Option::is_none")]
    tonic_confidence: Option<f32>,
    /// The candidate tonics weighed (estimator evidence and the model's check).
    tonic_candidates: Vec<TonicCheck>,
    device: &'a str,
    timings_ms: Timings,
}

/// Loads and checks a package folder onto `device`.
pub fn load(dir: &Path, device: &burn::prelude::Device) -> Result<Classifier> {
    let (manifest, weights) = raga_train::package::read_package(dir)?;
    Classifier::from_package(&manifest, weights, device)
        .with_context(|| format!("loading model package {}", dir.display()))
}

pub fn run(args: Args) -> Result<()> {
    let (device, device_name) = pick(args.device);
    let classifier = load(&args.model, &device)?;
    let tradition = args.tradition.unwrap_or_default();
    let mut failed = 0;
    for file in &args.files {
        match classify_file(&classifier, file, tradition, args.tonic, device_name) {
            Ok(answer) if args.json => {
                println!("{}", serde_json::to_string(&answer).context("writing JSON")?);
            }
            Ok(a) => {
                let others: Vec<String> =
                    a.top_k.iter().skip(1).map(|s| format!("{} {:.2}", s.raga, s.p)).collect();
                println!(
                    "{}: {} ({:.2})  Sa {:.1} Hz  [then {}]  {:.0} ms",
                    a.file,
                    a.raga,
                    a.confidence,
                    a.tonic_hz,
                    others.join(", "),
                    a.timings_ms.decode + a.timings_ms.features + a.timings_ms.inference
                );
            }
            Err(err) => {
                failed += 1;
                eprintln!("error: {err:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} files could not be classified", args.files.len());
    }
    Ok(())
}

fn classify_file<'a>(
    classifier: &Classifier,
    file: &Path,
    tradition: Tradition,
    tonic: Option<f32>,
    device: &'a str,
) -> Result<Answer<'a>> {
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read file", file.display()))?;
    let ext = file.extension().and_then(|e| e.to_str());
    let decoded = raga_audio::decode(&bytes, ext).with_context(|| file.display().to_string())?;
    let decode = ms(t);
    let t = Instant::now();
    let features = raga_dsp::extract(
        &decoded.samples,
        decoded.sample_rate,
        decoded.channels,
        &classifier.manifest().features,
    )
    .with_context(|| file.display().to_string())?;
    let features = match tonic {
        Some(hz) => features.with_tonic(hz).context("--tonic")?,
        None => features,
    };
    let features_ms = ms(t);
    let t = Instant::now();
    let p = classifier.classify(&features, tradition).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let inference = ms(t);
    Ok(Answer {
        file: file.display().to_string(),
        raga: p.raga,
        confidence: p.confidence,
        top_k: p.top_k,
        tonic_hz: p.tonic_hz,
        tonic_confidence: p.tonic_confidence,
        tonic_candidates: p.tonic_candidates,
        device,
        timings_ms: Timings { decode, features: features_ms, inference },
    })
}
