//! `features`: our log-mel and F0 timed against librosa on rendered 30 s clips (run via `bench/features/run.sh`).
//!
//! Three steps share one work folder (default `target/bench/features`):
//! - `features ours [--clips N] [--reps R] [--seconds S] [--base-seed B] [--dir DIR]` renders
//!   the clips, writes each as a 16-bit WAV with its ground-truth F0, then times our side
//!   single-threaded on the samples decoded back from that WAV (so both sides read the very
//!   same samples) and writes `DIR/ours.jsonl`;
//! - `bench/features/librosa_side.py` times librosa on the same WAVs into `DIR/librosa.jsonl`;
//! - `features report [--dir DIR] [--out FILE]` joins both into the table and writes `FILE`
//!   (default `target/bench/features.json`).
//!
//! Every timing is the median over repetitions of one clip, then the median over clips; a
//! ratio compares the two sides on the same clips only.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use raga_dsp::{F0Config, FeatureConfig, MelFilterbank, features_at_rate, log_mel, pyin, suppress_drone};
use raga_synth::{RAGAS, RenderOptions, Split, clip_seed, render};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

const DEFAULT_DIR: &str = "target/bench/features";
const DEFAULT_OUT: &str = "target/bench/features.json";

/// One accuracy row of the report: label, result key, whose results, which clips.
type AccuracySpec<'a> = (&'static str, &'static str, &'a BTreeMap<String, ClipResult>, &'a [String]);

/// One clip of the run, as listed in `DIR/clips.json` for the librosa side.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClipEntry {
    id: String,
    raga: String,
    seed: u64,
    timbre: String,
    drone_db: Option<f32>,
    snr_db: Option<f32>,
    seconds: f32,
    /// WAV file name inside the work folder.
    wav: String,
    /// Ground-truth F0 file name inside the work folder (a JSON array, one value per frame).
    truth: String,
}

/// Raw (RPA) and chroma (RCA) pitch accuracy counts over the frames the truth calls voiced.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Accuracy {
    /// Frames voiced in the ground truth.
    voiced: usize,
    /// Of those, frames estimated within 50 cents.
    correct: usize,
    /// Of those, frames estimated within 50 cents modulo octaves.
    chroma_correct: usize,
}

impl Accuracy {
    /// Counts a track against the truth; an estimate `<= 0` or NaN is unvoiced, so wrong.
    fn of(truth: &[f32], estimate: &[f32]) -> Self {
        let mut acc = Self::default();
        for (&t, &e) in truth.iter().zip(estimate) {
            if t <= 0.0 {
                continue;
            }
            acc.voiced += 1;
            if e.is_nan() || e <= 0.0 {
                continue;
            }
            let cents = 1200.0 * f64::from(e / t).log2();
            if cents.abs() <= 50.0 {
                acc.correct += 1;
            }
            let folded = cents.rem_euclid(1200.0);
            if folded <= 50.0 || folded >= 1150.0 {
                acc.chroma_correct += 1;
            }
        }
        acc
    }

    fn add(self, other: Self) -> Self {
        Self {
            voiced: self.voiced + other.voiced,
            correct: self.correct + other.correct,
            chroma_correct: self.chroma_correct + other.chroma_correct,
        }
    }

    fn rpa(&self) -> f64 {
        self.correct as f64 / self.voiced.max(1) as f64
    }

    fn rca(&self) -> f64 {
        self.chroma_correct as f64 / self.voiced.max(1) as f64
    }
}

/// One clip's measurements from either side (a line of `ours.jsonl` / `librosa.jsonl`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ClipResult {
    side: String,
    clip: String,
    /// Number of samples read from the WAV.
    samples: usize,
    /// Sum of the samples as read, to check both sides decoded the same audio.
    sample_sum: f64,
    /// Milliseconds per repetition, by measure.
    ms: BTreeMap<String, Vec<f64>>,
    /// F0 accuracy against the ground truth, by measure.
    acc: BTreeMap<String, Accuracy>,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, flags)) = args.split_first() else {
        bail!("usage: features ours|report [--flag value]…");
    };
    let flags = Flags::parse(flags)?;
    match command.as_str() {
        "ours" => ours(&flags),
        "report" => report(&flags),
        other => bail!("unknown command {other:?}: expected `ours` or `report`"),
    }
}

/// `--name value` pairs.
#[derive(Debug)]
struct Flags(BTreeMap<String, String>);

impl Flags {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut map = BTreeMap::new();
        let mut it = args.iter();
        while let Some(name) = it.next() {
            let Some(key) = name.strip_prefix("--") else { bail!("expected a --flag, got {name:?}") };
            let value = it.next().with_context(|| format!("--{key} needs a value"))?;
            map.insert(key.to_owned(), value.clone());
        }
        Ok(Self(map))
    }

    fn get<T: std::str::FromStr>(&self, key: &str, default: T) -> anyhow::Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| anyhow::anyhow!("--{key} {v:?}: {e}")),
        }
    }
}

/// Renders the clips, writes them, and times our side.
fn ours(flags: &Flags) -> anyhow::Result<()> {
    let clips: usize = flags.get("clips", 5)?;
    let reps: usize = flags.get("reps", 5)?;
    let seconds: f32 = flags.get("seconds", 30.0)?;
    let base: u64 = flags.get("base-seed", 1)?;
    let dir = PathBuf::from(flags.get("dir", DEFAULT_DIR.to_owned())?);
    if clips == 0 || reps == 0 {
        bail!("--clips and --reps must be positive");
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    // Rendering is not timed, so it may use both cores.
    let spread = |i: usize| i * RAGAS.len() / clips.max(1) % RAGAS.len();
    let entries: Vec<ClipEntry> = (0..clips)
        .into_par_iter()
        .map(|i| -> anyhow::Result<ClipEntry> {
            let raga_index = spread(i);
            let seed = clip_seed(base, Split::Test, raga_index, i as u64);
            let clip =
                render(&RAGAS[raga_index], seed, &RenderOptions { seconds, ..RenderOptions::default() })
                    .with_context(|| format!("rendering clip {i}"))?;
            let id = format!("clip{i:02}");
            let entry = ClipEntry {
                wav: format!("{id}.wav"),
                truth: format!("{id}.f0.json"),
                id,
                raga: RAGAS[raga_index].id.to_owned(),
                seed,
                timbre: clip.timbre.as_str().to_owned(),
                drone_db: clip.drone_db,
                snr_db: clip.snr_db,
                seconds: clip.seconds(),
            };
            let wav = raga_audio::encode_wav(&clip.samples, raga_synth::SAMPLE_RATE)?;
            std::fs::write(dir.join(&entry.wav), wav).context("writing the WAV")?;
            std::fs::write(dir.join(&entry.truth), serde_json::to_vec(&clip.f0_hz)?)
                .context("writing the ground truth")?;
            Ok(entry)
        })
        .collect::<anyhow::Result<_>>()?;
    std::fs::write(dir.join("clips.json"), serde_json::to_vec_pretty(&entries)?)
        .context("writing clips.json")?;

    let out_path = dir.join("ours.jsonl");
    let mut out =
        std::fs::File::create(&out_path).with_context(|| format!("creating {}", out_path.display()))?;
    let loadavg_start = loadavg();
    let mut lines = Vec::new();
    for entry in &entries {
        let result = time_ours(&dir, entry, reps).with_context(|| format!("timing {}", entry.id))?;
        let line = serde_json::to_string(&result)?;
        println!("{line}");
        lines.push(line);
    }
    let header = serde_json::json!({
        "side": "ours",
        "threads": 1,
        "reps": reps,
        "loadavg_start": loadavg_start,
        "loadavg_end": loadavg(),
    });
    println!("{header}");
    writeln!(out, "{header}")?;
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The machine's 1-minute load average, when the OS tells it (timings on a loaded machine are slower).
fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// Times one clip: every measure once per repetition, interleaved so load spikes hit all alike.
fn time_ours(dir: &Path, entry: &ClipEntry, reps: usize) -> anyhow::Result<ClipResult> {
    let bytes = std::fs::read(dir.join(&entry.wav))?;
    let decoded = raga_audio::decode(&bytes, Some("wav"))?;
    if decoded.channels != 1 || decoded.sample_rate != raga_dsp::SAMPLE_RATE {
        bail!(
            "expected mono {} Hz, got {} ch {} Hz",
            raga_dsp::SAMPLE_RATE,
            decoded.channels,
            decoded.sample_rate
        );
    }
    let audio = decoded.samples;
    let truth: Vec<f32> = serde_json::from_slice(&std::fs::read(dir.join(&entry.truth))?)?;
    let config = FeatureConfig::default();
    // librosa.pyin's parameters: the raw signal, frame_length 2048 (our default is 1024). The
    // difference function still differs: ours correlates over frame/2 (librosa <= 0.10), 0.11's
    // over the whole frame.
    let f0_librosa_settings = F0Config { frame_length: 2048, ..config.f0.clone() };
    let warm_bank = MelFilterbank::new(config.sample_rate, &config.mel)?;

    let mut ms: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut record = |name: &str, start: Instant| {
        ms.entry(name.to_owned()).or_default().push(start.elapsed().as_secs_f64() * 1e3);
    };
    let mut f0_path = Vec::new();
    let mut f0_librosa = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        black_box(MelFilterbank::new(config.sample_rate, &config.mel)?);
        record("filterbank", t);

        let t = Instant::now();
        let bank = MelFilterbank::new(config.sample_rate, &config.mel)?;
        black_box(log_mel(black_box(&audio), &bank, &config.mel));
        record("mel_cold", t);

        let t = Instant::now();
        black_box(log_mel(black_box(&audio), &warm_bank, &config.mel));
        record("mel_warm", t);

        // The F0 path of `features_at_rate`: drone suppression, then pYIN on what is left.
        let t = Instant::now();
        let split = suppress_drone(
            black_box(&audio),
            config.mel.n_fft,
            config.mel.hop_length,
            config.drone_suppression,
        );
        record("drone", t);
        let t = Instant::now();
        let track = pyin(&split.melody, config.sample_rate, &config.f0)?;
        record("pyin", t);
        let t = Instant::now();
        let split = suppress_drone(
            black_box(&audio),
            config.mel.n_fft,
            config.mel.hop_length,
            config.drone_suppression,
        );
        let track_again = pyin(&split.melody, config.sample_rate, &config.f0)?;
        record("f0_path", t);
        debug_assert_eq!(track, track_again);
        f0_path = track.f0_hz;

        let t = Instant::now();
        let track = pyin(black_box(&audio), config.sample_rate, &f0_librosa_settings)?;
        record("pyin_raw_fl2048", t);
        f0_librosa = track.f0_hz;

        let t = Instant::now();
        black_box(features_at_rate(black_box(&audio), &config)?);
        record("features_at_rate", t);
    }
    if f0_path.len() != truth.len() {
        bail!("{} F0 frames against {} ground-truth frames", f0_path.len(), truth.len());
    }
    let acc = BTreeMap::from([
        ("f0_path".to_owned(), Accuracy::of(&truth, &f0_path)),
        ("pyin_raw_fl2048".to_owned(), Accuracy::of(&truth, &f0_librosa)),
    ]);
    Ok(ClipResult {
        side: "ours".into(),
        clip: entry.id.clone(),
        samples: audio.len(),
        sample_sum: audio.iter().map(|&s| f64::from(s)).sum(),
        ms,
        acc,
    })
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

/// Median over `clips` of each clip's median for `measure`; `None` if any clip lacks it.
fn median_of_medians(results: &BTreeMap<String, ClipResult>, clips: &[String], measure: &str) -> Option<f64> {
    let mut per_clip = Vec::new();
    for clip in clips {
        let mut reps = results.get(clip)?.ms.get(measure)?.clone();
        per_clip.push(median(&mut reps)?);
    }
    median(&mut per_clip)
}

fn read_results(path: &Path) -> anyhow::Result<(Vec<serde_json::Value>, BTreeMap<String, ClipResult>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (mut headers, mut clips) = (Vec::new(), BTreeMap::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("parsing {line:?}"))?;
        if value.get("clip").is_some() {
            let result: ClipResult = serde_json::from_value(value)?;
            clips.insert(result.clip.clone(), result);
        } else {
            headers.push(value);
        }
    }
    Ok((headers, clips))
}

/// One row of the table: our measure against librosa's, with its goal.
#[derive(Debug, Serialize)]
struct Row {
    measure: &'static str,
    ours_key: &'static str,
    librosa_key: &'static str,
    clips: Vec<String>,
    ours_ms: Option<f64>,
    librosa_ms: Option<f64>,
    ratio: Option<f64>,
    goal: f64,
    met: Option<bool>,
}

/// An accuracy line: whose track, on which clips, with which counts.
#[derive(Debug, Serialize)]
struct AccuracyRow {
    tracker: &'static str,
    key: &'static str,
    clips: Vec<String>,
    #[serde(flatten)]
    counts: Accuracy,
    rpa: f64,
    rca: f64,
}

/// Joins both sides into the table and `--out`.
fn report(flags: &Flags) -> anyhow::Result<()> {
    let dir = PathBuf::from(flags.get("dir", DEFAULT_DIR.to_owned())?);
    let out = PathBuf::from(flags.get("out", DEFAULT_OUT.to_owned())?);
    let entries: Vec<ClipEntry> =
        serde_json::from_slice(&std::fs::read(dir.join("clips.json")).context("reading clips.json")?)?;
    let (ours_env, ours) = read_results(&dir.join("ours.jsonl"))?;
    let (librosa_env, librosa) = read_results(&dir.join("librosa.jsonl"))?;

    // Both sides must have read the same audio.
    for (id, o) in &ours {
        if let Some(l) = librosa.get(id)
            && (o.samples != l.samples || (o.sample_sum - l.sample_sum).abs() > 1e-6 * o.samples as f64)
        {
            bail!(
                "{id}: the two sides decoded different audio ({} vs {} samples, sums {} vs {})",
                o.samples,
                l.samples,
                o.sample_sum,
                l.sample_sum
            );
        }
    }
    // The clips on which one side measured `key` (a timing or an accuracy).
    let with = |results: &BTreeMap<String, ClipResult>, key: &str| -> Vec<String> {
        entries
            .iter()
            .map(|e| e.id.clone())
            .filter(|id| results.get(id).is_some_and(|r| r.ms.contains_key(key) || r.acc.contains_key(key)))
            .collect()
    };
    let both = |ours_key: &str, librosa_key: &str| -> Vec<String> {
        let l = with(&librosa, librosa_key);
        with(&ours, ours_key).into_iter().filter(|id| l.contains(id)).collect()
    };
    let spec: [(&'static str, &'static str, &'static str, f64); 4] = [
        ("log-mel, filterbank built once", "mel_warm", "mel", 5.0),
        ("log-mel, incl. filterbank", "mel_cold", "mel", 5.0),
        ("F0: drone suppr. + pYIN (as extract)", "f0_path", "pyin", 50.0),
        ("F0: pYIN only, raw, frame 2048", "pyin_raw_fl2048", "pyin", 50.0),
    ];
    let rows: Vec<Row> = spec
        .iter()
        .map(|&(measure, ours_key, librosa_key, goal)| {
            let clips = both(ours_key, librosa_key);
            let ours_ms = median_of_medians(&ours, &clips, ours_key);
            let librosa_ms = median_of_medians(&librosa, &clips, librosa_key);
            let ratio = ours_ms.zip(librosa_ms).map(|(o, l)| l / o);
            Row {
                measure,
                ours_key,
                librosa_key,
                clips,
                ours_ms,
                librosa_ms,
                ratio,
                goal,
                met: ratio.map(|r| r >= goal),
            }
        })
        .collect();
    let pooled = |results: &BTreeMap<String, ClipResult>, key: &str, clips: &[String]| -> Accuracy {
        clips
            .iter()
            .filter_map(|c| results.get(c)?.acc.get(key).copied())
            .fold(Accuracy::default(), Accuracy::add)
    };
    let pyin_clips = both("f0_path", "pyin");
    let all_clips: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
    let mut acc_spec: Vec<AccuracySpec<'_>> = vec![
        ("ours: drone suppr. + pYIN (as extract)", "f0_path", &ours, &pyin_clips),
        ("ours: pYIN only, raw, frame 2048", "pyin_raw_fl2048", &ours, &pyin_clips),
        ("librosa.pyin (NaN = wrong)", "pyin", &librosa, &pyin_clips),
    ];
    // librosa.pyin may have run on fewer clips than ours.
    if all_clips != pyin_clips {
        acc_spec.push(("ours: drone suppr. + pYIN, every clip", "f0_path", &ours, &all_clips));
    }
    let accuracy: Vec<AccuracyRow> = acc_spec
        .iter()
        .map(|&(tracker, key, results, clips)| {
            let counts = pooled(results, key, clips);
            AccuracyRow { tracker, key, clips: clips.to_vec(), counts, rpa: counts.rpa(), rca: counts.rca() }
        })
        .collect();
    let info: BTreeMap<&str, Option<f64>> = [
        ("ours_filterbank_ms", median_of_medians(&ours, &all_clips, "filterbank")),
        ("ours_drone_ms", median_of_medians(&ours, &all_clips, "drone")),
        ("ours_pyin_after_drone_ms", median_of_medians(&ours, &all_clips, "pyin")),
        ("ours_features_at_rate_ms", median_of_medians(&ours, &all_clips, "features_at_rate")),
        (
            "librosa_mel_default_blas_threads_ms",
            median_of_medians(&librosa, &with(&librosa, "mel_default_threads"), "mel_default_threads"),
        ),
    ]
    .into_iter()
    .collect();

    let fmt = |v: Option<f64>, unit: &str| v.map_or("-".to_owned(), |v| format!("{v:.1}{unit}"));
    println!();
    println!(
        "{:<38} | {:>10} | {:>10} | {:>8} | {:>5} | met?",
        "measure (30 s clip, 1 thread)", "ours", "librosa", "ratio", "goal"
    );
    println!("{}", "-".repeat(90));
    for r in &rows {
        println!(
            "{:<38} | {:>10} | {:>10} | {:>8} | {:>5} | {}",
            r.measure,
            fmt(r.ours_ms, " ms"),
            fmt(r.librosa_ms, " ms"),
            fmt(r.ratio, "×"),
            format!("≥{}×", r.goal),
            match r.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            }
        );
    }
    println!(
        "  (ms = median over clips of each clip's median over reps; clips per row: {})",
        rows.iter().map(|r| format!("{}={}", r.ours_key, r.clips.len())).collect::<Vec<_>>().join(", ")
    );
    println!();
    println!("{:<38} | {:>7} | {:>7} | {:>6} | clips", "F0 accuracy vs ground truth", "RPA", "RCA", "frames");
    println!("{}", "-".repeat(74));
    for a in &accuracy {
        println!(
            "{:<38} | {:>6.1}% | {:>6.1}% | {:>6} | {}",
            a.tracker,
            100.0 * a.rpa,
            100.0 * a.rca,
            a.counts.voiced,
            a.clips.len()
        );
    }
    println!(
        "  (RPA/RCA: share of truth-voiced frames within 50 cents / within 50 cents modulo octaves; unvoiced estimate = wrong)"
    );
    println!();
    for (k, v) in &info {
        println!("  {k}: {}", fmt(*v, " ms"));
    }
    for h in &ours_env {
        for key in ["loadavg_start", "loadavg_end"] {
            if let Some(v) = h.get(key) {
                println!("  ours side {key}: {v}");
            }
        }
    }
    for h in &librosa_env {
        for key in [
            "librosa_version",
            "numpy_version",
            "openblas_env",
            "blas",
            "mel_blas_threads",
            "first_call_ms",
            "loadavg_start",
            "loadavg_end",
        ] {
            if let Some(v) = h.get(key) {
                println!("  librosa side {key}: {v}");
            }
        }
    }
    println!("  librosa's log-mel builds its mel basis on every call (its cache is off by default), so it");
    println!("  compares with both of our rows; librosa runs after a warm-up call (numba JIT, FFT caches).");

    let json = serde_json::json!({
        "clips": entries,
        "rows": rows,
        "accuracy": accuracy,
        "info": info,
        "ours_env": ours_env,
        "librosa_env": librosa_env,
        "ours": ours,
        "librosa": librosa,
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, serde_json::to_vec_pretty(&json)?)
        .with_context(|| format!("writing {}", out.display()))?;
    println!("\nwrote {}", out.display());
    Ok(())
}
