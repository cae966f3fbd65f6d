//! The `ragasense` binary end to end: corpus rendering, features as JSON, and one clear
//! error line (naming the file) for every kind of bad input.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn ragasense() -> Command {
    Command::cargo_bin("ragasense").expect("binary built")
}

fn sine(rate: u32, seconds: f32) -> Vec<f32> {
    (0..(rate as f32 * seconds) as usize)
        .map(|i| 0.4 * (std::f32::consts::TAU * 220.0 * i as f32 / rate as f32).sin())
        .collect()
}

/// Runs `ragasense features FILE` and returns its stderr, asserting failure.
fn failure(path: &Path) -> String {
    let out = ragasense().arg("features").arg(path).output().expect("runs");
    assert!(!out.status.success(), "{}: should fail", path.display());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic on {}: {stderr}", path.display());
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line expected, got: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "error should name the file: {stderr}");
    stderr
}

fn check_error(name: &str, bytes: &[u8], expected: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    let stderr = failure(&path);
    assert!(stderr.contains(expected), "{name}: expected {expected:?} in {stderr:?}");
}

#[test]
fn bad_input_gives_one_clear_line_and_a_nonzero_exit() {
    let good = raga_audio::encode_wav(&sine(22050, 2.0), 22050).expect("encode");
    check_error("notes.wav", b"these are notes, not audio", "not a recognised audio file");
    check_error("empty.wav", b"", "the file is empty");
    check_error("truncated.wav", &good[..30], "the audio stream is truncated or corrupt");
    check_error(
        "short.wav",
        &raga_audio::encode_wav(&sine(22050, 0.5), 22050).expect("encode"),
        "at least 1 s",
    );
    check_error("silent.wav", &raga_audio::encode_wav(&vec![0.0; 44100], 22050).expect("encode"), "silent");
    // A WAV whose format tag names a codec nobody decodes (0x2000 is AC-3 in WAV).
    let mut odd = good.clone();
    odd[20..22].copy_from_slice(&0x2000u16.to_le_bytes());
    check_error("ac3.wav", &odd, "unsupported");

    // 32-bit float WAV with NaN samples.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nan.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22050,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(&path, spec).expect("create");
    for i in 0..44100 {
        writer.write_sample(if i == 5000 { f32::NAN } else { 0.1 }).expect("sample");
    }
    writer.finalize().expect("finalize");
    assert!(failure(&path).contains("NaN"));

    let missing = PathBuf::from("/nonexistent/clip.wav");
    assert!(failure(&missing).contains("cannot read file"));
}

#[test]
fn synth_writes_a_labelled_corpus_and_features_reads_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("corpus");
    ragasense()
        .args(["synth", "--per-raga", "1", "--seconds", "3", "--seed", "4", "--split", "val"])
        .args(["--ragas", "yaman,mohanam", "--out"])
        .arg(&out)
        .assert()
        .success();
    let mut reader = csv::Reader::from_path(out.join("metadata.csv")).expect("metadata.csv");
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(
        &headers.iter().take(5).collect::<Vec<_>>(),
        &["file", "raga", "tradition", "tonic_hz", "split"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((&rows[0][1], &rows[0][2], &rows[0][4]), ("mohanam", "carnatic", "val"));
    assert_eq!((&rows[1][1], &rows[1][2]), ("yaman", "hindustani"));

    // Rendering another split keeps the rows already there.
    ragasense()
        .args(["synth", "--per-raga", "1", "--seconds", "2", "--split", "test", "--ragas", "yaman", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(csv::Reader::from_path(out.join("metadata.csv")).expect("csv").records().count(), 3);

    let clip = out.join(&rows[1][0]);
    let json = ragasense().arg("features").arg(&clip).arg("--json").output().expect("runs");
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    let frames = v["frames"].as_u64().expect("frames") as usize;
    assert_eq!(
        (v["sample_rate"].as_u64(), v["hop_length"].as_u64(), v["n_mels"].as_u64()),
        (Some(22050), Some(512), Some(128))
    );
    assert_eq!(frames, 1 + 3 * 22050 / 512);
    assert_eq!(v["log_mel"].as_array().expect("log_mel").len(), frames);
    assert_eq!(v["log_mel"][0].as_array().expect("row").len(), 128);
    assert_eq!(v["f0_hz"].as_array().expect("f0").len(), frames);
    assert_eq!(v["voiced_prob"].as_array().expect("voicing").len(), frames);
    let tonic = v["tonic_hz"].as_f64().expect("tonic");
    assert!((100.0..=270.0).contains(&tonic), "tonic {tonic}");
}

#[test]
fn synth_rejects_bad_options_before_writing_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("corpus");
    let run =
        |args: &[&str]| ragasense().arg("synth").arg("--out").arg(&out).args(args).output().expect("runs");
    let bad = run(&["--ragas", "yamann"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown raga \"yamann\""));
    let bad = run(&["--seconds", "0.2"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--seconds must be between"));
    assert!(!out.exists());
}

#[test]
fn a_reader_that_stops_early_gets_a_quiet_exit_not_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("a.wav");
    std::fs::write(&wav, raga_audio::encode_wav(&sine(22050, 20.0), 22050).expect("encode")).expect("write");
    // `features --json` prints megabytes; the reader takes a few bytes and hangs up.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ragasense"))
        .args(["features", "--json"])
        .arg(&wav)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut head = [0u8; 16];
    child.stdout.take().expect("stdout").read_exact(&mut head).expect("reads");
    let out = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}
