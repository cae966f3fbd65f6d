//! `ragasense package`: a run folder → model package(s) (manifest.json + model.bpk).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use raga_model::Quantization;
use raga_train::package::package_run;

use super::device::{DeviceChoice, pick};

/// Arguments of `ragasense package`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder written by `ragasense train`.
    run_dir: PathBuf,
    /// Weight format: f32, int8 or int4. Repeat for several packages (then each goes to
    /// OUT/<quant>/).
    #[arg(long = "quant", default_value = "f32", value_parser = parse_quant)]
    quant: Vec<Quantization>,
    /// Package folder to write.
    #[arg(long)]
    out: PathBuf,
    /// Model name recorded in the manifest (the registry's model name).
    #[arg(long, default_value = "raga-detector")]
    name: String,
    /// Backend used to load and quantize the weights.
    #[arg(long, value_enum, default_value = "flex")]
    device: DeviceChoice,
}

fn parse_quant(s: &str) -> Result<Quantization, String> {
    Quantization::parse(s).ok_or_else(|| format!("unknown quantization {s:?}; use f32, int8 or int4"))
}

pub fn run(args: Args) -> Result<()> {
    let mut quants = args.quant.clone();
    quants.dedup();
    if quants.is_empty() {
        bail!("give at least one --quant");
    }
    let (device, _) = pick(Some(args.device));
    for &q in &quants {
        let out = if quants.len() == 1 { args.out.clone() } else { args.out.join(q.as_str()) };
        let manifest = package_run(&args.run_dir, q, &args.name, &out, &device)
            .with_context(|| format!("packaging {} as {}", args.run_dir.display(), q.as_str()))?;
        let size: u64 = manifest.files.iter().map(|f| f.size).sum();
        println!("{}  {:>5}  {:>9} bytes  {} ragas", out.display(), q.as_str(), size, manifest.labels.len());
    }
    Ok(())
}
