//! `ragasense synth`: render a labelled corpus to WAV files, ground-truth F0 and metadata.csv.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use raga_synth::{RAGAS, RenderOptions, Split, clip_seed};
use rayon::prelude::*;

/// Arguments of `ragasense synth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder; clips go to DIR/<raga>/, rows are merged into DIR/metadata.csv.
    #[arg(long)]
    out: PathBuf,
    /// Clips per raga.
    #[arg(long, default_value_t = 10)]
    per_raga: u64,
    /// Seconds per clip.
    #[arg(long, default_value_t = 30.0)]
    seconds: f32,
    /// Base seed; each split draws from its own disjoint seed space.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Which split to render (train, val or test).
    #[arg(long, default_value = "train")]
    split: Split,
    /// Only these ragas (comma-separated ids); all 20 by default.
    #[arg(long, value_delimiter = ',')]
    ragas: Vec<String>,
}

/// One row of metadata.csv.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Row {
    file: String,
    raga: String,
    tradition: String,
    tonic_hz: f32,
    split: String,
    seed: u64,
    timbre: String,
    f0_file: String,
    /// Clip length the clip was rendered at (absent in corpora from before it was recorded):
    /// with `raga` and `seed` it renders the clip again, bit for bit.
    #[serde(default)]
    seconds: Option<f32>,
}

pub fn run(args: Args) -> Result<()> {
    if args.per_raga == 0 {
        bail!("--per-raga must be at least 1");
    }
    let ragas: Vec<(usize, &'static raga_synth::Raga)> = if args.ragas.is_empty() {
        RAGAS.iter().enumerate().collect()
    } else {
        args.ragas
            .iter()
            .map(|id| {
                raga_synth::raga_index(id).map(|i| (i, &RAGAS[i])).with_context(|| {
                    let known: Vec<&str> = RAGAS.iter().map(|r| r.id).collect();
                    format!("unknown raga {id:?}; known ragas: {}", known.join(", "))
                })
            })
            .collect::<Result<_>>()?
    };
    let opts = RenderOptions { seconds: args.seconds, ..RenderOptions::default() };
    // Fail on bad options before creating anything.
    if !args.seconds.is_finite()
        || !(raga_synth::MIN_SECONDS..=raga_synth::MAX_SECONDS).contains(&args.seconds)
    {
        bail!(
            "--seconds must be between {} and {}, got {}",
            raga_synth::MIN_SECONDS,
            raga_synth::MAX_SECONDS,
            args.seconds
        );
    }
    for (_, raga) in &ragas {
        let dir = args.out.join(raga.id);
        std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    let jobs: Vec<(usize, &'static raga_synth::Raga, u64)> =
        ragas.iter().flat_map(|&(i, r)| (0..args.per_raga).map(move |k| (i, r, k))).collect();
    let bar = ProgressBar::new(jobs.len() as u64).with_style(
        ProgressStyle::with_template(
            "{spinner} rendering {pos}/{len} clips [{bar:30}] {elapsed} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let split = args.split.to_string();
    let rows: Vec<Row> = jobs
        .par_iter()
        .map(|&(index, raga, k)| {
            let seed = clip_seed(args.seed, args.split, index, k);
            let name = format!("{}_{split}_{k:04}", raga.id);
            let file = format!("{}/{name}.wav", raga.id);
            let f0_file = format!("{}/{name}.f0.csv", raga.id);
            let clip = render_clip(raga, seed, &opts, &args.out, &file, &f0_file)?;
            bar.inc(1);
            Ok(Row {
                file,
                raga: raga.id.to_string(),
                tradition: clip.tradition().as_str().to_string(),
                tonic_hz: clip.tonic_hz,
                split: split.clone(),
                seed,
                timbre: format!("{:?}", clip.timbre).to_lowercase(),
                f0_file,
                seconds: Some(args.seconds),
            })
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
    let n = rows.len();
    merge_metadata(&args.out.join("metadata.csv"), rows)?;
    eprintln!("wrote {n} clips ({split}) to {}", args.out.display());
    Ok(())
}

/// Renders one clip and writes its WAV and ground-truth F0 under `out`.
fn render_clip(
    raga: &'static raga_synth::Raga,
    seed: u64,
    opts: &RenderOptions,
    out: &Path,
    file: &str,
    f0_file: &str,
) -> Result<raga_synth::Clip> {
    let clip = raga_synth::render(raga, seed, opts)?;
    let wav = raga_audio::encode_wav(&clip.samples, raga_synth::SAMPLE_RATE)?;
    write(&out.join(file), &wav)?;
    write(&out.join(f0_file), f0_csv(&clip.f0_hz).as_bytes())?;
    Ok(clip)
}

/// Renders again, into `out`, every clip a corpus's `metadata.csv` lists (its raga, seed and
/// length), and writes the same metadata.csv: the corpus `ragasense synth` made, bit for
/// bit. Fails on rows that cannot be rendered again (no seed or length: recordings, or a
/// corpus from before lengths were recorded). Returns the number of clips.
pub fn render_corpus(metadata: &[u8], out: &Path) -> Result<usize> {
    let rows: Vec<Row> = csv::Reader::from_reader(metadata)
        .deserialize()
        .collect::<Result<_, _>>()
        .context("the recorded metadata.csv is not one `ragasense synth` wrote")?;
    let bar = ProgressBar::new(rows.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} rendering {pos}/{len} clips again [{bar:30}] {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    rows.par_iter().try_for_each(|row| -> Result<()> {
        let raga = raga_synth::raga(&row.raga)
            .with_context(|| format!("{}: raga {:?} is not one the renderer knows", row.file, row.raga))?;
        let Some(seconds) = row.seconds else {
            bail!(
                "{}: metadata.csv does not record its length; render the corpus with `ragasense synth` again",
                row.file
            )
        };
        let opts = RenderOptions { seconds, ..RenderOptions::default() };
        render_clip(raga, row.seed, &opts, out, &row.file, &row.f0_file)?;
        bar.inc(1);
        Ok(())
    })?;
    bar.finish_and_clear();
    write(&out.join("metadata.csv"), metadata)?;
    Ok(rows.len())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// Ground truth F0 as CSV: frame time (centre) and Hz, 0 where the melody is silent.
fn f0_csv(f0: &[f32]) -> String {
    let hop = raga_synth::HOP_LENGTH as f64 / raga_synth::SAMPLE_RATE as f64;
    let mut out = String::from("time_s,f0_hz\n");
    for (t, f) in f0.iter().enumerate() {
        out.push_str(&format!("{:.6},{f:.3}\n", t as f64 * hop));
    }
    out
}

/// Writes metadata.csv with the new rows, keeping existing rows for other files.
fn merge_metadata(path: &Path, rows: Vec<Row>) -> Result<()> {
    let mut all: BTreeMap<String, Row> = BTreeMap::new();
    if path.exists() {
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("{}: cannot read", path.display()))?;
        for row in reader.deserialize::<Row>() {
            let row = row.with_context(|| format!("{}: not a RagaSense metadata file", path.display()))?;
            all.insert(row.file.clone(), row);
        }
    }
    for row in rows {
        all.insert(row.file.clone(), row);
    }
    let tmp = path.with_extension("csv.tmp");
    {
        let mut writer =
            csv::Writer::from_path(&tmp).with_context(|| format!("{}: cannot write", tmp.display()))?;
        for row in all.values() {
            writer.serialize(row)?;
        }
        writer.flush()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}
