//! `ragasense train`: train the raga model on a corpus folder and write a run folder.

use std::path::PathBuf;

use anyhow::{Context, Result};
use raga_train::{RunOptions, run};

use super::device::{DeviceChoice, pick};
use super::progress::Bars;

/// Arguments of `ragasense train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Corpus folder: DIR/<raga>/*.{wav,flac,mp3,ogg}, optional DIR/metadata.csv
    /// (file,raga,tradition,split), e.g. from `ragasense synth`.
    #[arg(long)]
    data: PathBuf,
    /// Model and schedule: `small` trains in minutes on a CPU, `full` is the reference model.
    #[arg(long, default_value = "small")]
    profile: String,
    /// Backend (default: wgpu when a GPU adapter exists, else flex).
    #[arg(long, value_enum)]
    device: Option<DeviceChoice>,
    /// Seed of weights, windows and augmentation; same seed and device give the same metrics.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Run folder to write (config, checkpoints, metrics.jsonl, report.json, plots).
    #[arg(long)]
    out: PathBuf,
    /// Override the profile's number of epochs.
    #[arg(long)]
    epochs: Option<usize>,
}

pub fn run_cmd(args: Args) -> Result<()> {
    let (device, device_name) = pick(args.device);
    let options = RunOptions {
        data: args.data.clone(),
        profile: args.profile.clone(),
        seed: args.seed,
        out: args.out.clone(),
        epochs: args.epochs,
        device_name: device_name.to_string(),
    };
    eprintln!(
        "training profile {} on {device_name}, data {}, run folder {}",
        args.profile,
        args.data.display(),
        args.out.display()
    );
    let summary = run(&options, &device, &mut Bars::default())
        .with_context(|| format!("training on {}", args.data.display()))?;
    let r = &summary.report;
    println!("run folder     {}", summary.run_dir);
    println!(
        "best epoch     {} of {} (val accuracy {:.3})",
        summary.best_epoch, summary.epochs_run, summary.val_accuracy
    );
    println!(
        "{:<14} accuracy {:.3}, macro-F1 {:.3} over {} clips",
        format!("{} split", r.split),
        r.accuracy,
        r.macro_f1,
        r.clips
    );
    if let Some(hidden) = r.accuracy_tradition_hidden {
        println!("{:<14} accuracy {hidden:.3} with the tradition withheld", "");
    }
    println!(
        "time           features {:.0} s, training {:.0} s",
        summary.feature_seconds, summary.train_seconds
    );
    Ok(())
}
