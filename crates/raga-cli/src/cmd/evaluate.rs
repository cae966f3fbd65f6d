//! `ragasense evaluate`: accuracy, macro-F1 and confusion of a model package on a corpus.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::device::{DeviceChoice, pick};
use super::progress::Bars;

/// Arguments of `ragasense evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model package folder.
    #[arg(long)]
    model: PathBuf,
    /// Corpus folder (its test split when metadata.csv marks one, else every clip).
    #[arg(long)]
    data: PathBuf,
    /// Backend (default: wgpu when a GPU adapter exists, else flex).
    #[arg(long, value_enum)]
    device: Option<DeviceChoice>,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let (device, _) = pick(args.device);
    let classifier = super::classify::load(&args.model, &device)?;
    let report = raga_train::evaluate_package(&classifier, &args.data, &mut Bars::default())
        .with_context(|| format!("evaluating on {}", args.data.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).context("writing JSON")?);
        return Ok(());
    }
    println!(
        "{} clips ({} split): accuracy {:.3}, macro-F1 {:.3}",
        report.clips, report.split, report.accuracy, report.macro_f1
    );
    if let Some(hidden) = report.accuracy_tradition_hidden {
        println!("accuracy with the tradition withheld: {hidden:.3}");
    }
    println!("{:<18} {:>9} {:>6} {:>6} {:>7}", "raga", "precision", "recall", "f1", "clips");
    for s in &report.per_raga {
        println!("{:<18} {:>9.3} {:>6.3} {:>6.3} {:>7}", s.label, s.precision, s.recall, s.f1, s.support);
    }
    println!("confusion (row = truth, column = predicted, in label order):");
    for (label, row) in report.labels.iter().zip(&report.confusion) {
        let cells: Vec<String> =
            row.iter().map(|c| if *c == 0 { ".".into() } else { c.to_string() }).collect();
        println!("{label:<18} {}", cells.join(" "));
    }
    Ok(())
}
