//! `ragasense train → package → classify → evaluate` end to end on a small rendered corpus,
//! with the tiny profile so it runs in CI: the run folder's contents, the package's size and
//! integrity checks, the classify JSON shape, the same answer on flex and on wgpu (lavapipe),
//! and clear errors for bad packages.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns; a failed unwrap is a failed test

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn ragasense() -> Command {
    Command::cargo_bin("ragasense").expect("binary built")
}

fn run_ok(args: &[&str]) -> String {
    let out = ragasense().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ragasense {args:?} failed: {stderr}");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn run_err(args: &[&str]) -> String {
    let out = ragasense().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "ragasense {args:?} should fail");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

const RAGAS: &str = "yaman,mohanam,malkauns,hanumatodi";

fn synth(dir: &Path, split: &str, per_raga: &str) {
    let d = dir.to_str().unwrap();
    run_ok(&[
        "synth",
        "--out",
        d,
        "--per-raga",
        per_raga,
        "--seconds",
        "6",
        "--seed",
        "3",
        "--split",
        split,
        "--ragas",
        RAGAS,
    ]);
}

#[test]
fn train_package_classify_evaluate() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("corpus");
    synth(&data, "train", "4");
    synth(&data, "val", "1");
    synth(&data, "test", "2");
    let run_dir = tmp.path().join("run");
    let (d, r) = (data.to_str().unwrap(), run_dir.to_str().unwrap());

    let out = run_ok(&[
        "train",
        "--data",
        d,
        "--profile",
        "tiny",
        "--device",
        "flex",
        "--seed",
        "5",
        "--out",
        r,
        "--epochs",
        "3",
    ]);
    assert!(out.contains("test split"), "{out}");
    for file in [
        "config.json",
        "metrics.jsonl",
        "report.json",
        "summary.json",
        "reference_stats.json",
        "checkpoints/best.bpk",
        "plots/training_curves.png",
        "plots/training_curves.svg",
        "plots/confusion_matrix.png",
        "plots/confusion_matrix.svg",
    ] {
        assert!(run_dir.join(file).is_file(), "{file} missing from the run folder");
    }
    let metrics = std::fs::read_to_string(run_dir.join("metrics.jsonl")).unwrap();
    let epochs: Vec<Value> = metrics.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(epochs.len(), 3);
    for key in [
        "train_loss",
        "train_accuracy",
        "train_macro_f1",
        "val_loss",
        "val_accuracy",
        "val_macro_f1",
        "epoch_seconds",
        "peak_memory_bytes",
    ] {
        assert!(epochs[0][key].is_number(), "{key} missing in {}", epochs[0]);
    }
    let report: Value = serde_json::from_slice(&std::fs::read(run_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["split"], "test");
    assert_eq!(report["clips"], 8);
    assert_eq!(report["per_raga"].as_array().unwrap().len(), 4);
    assert_eq!(report["confusion"].as_array().unwrap().len(), 4);

    // Same seed, same device: same metrics (timings aside).
    let again = tmp.path().join("again");
    run_ok(&[
        "train",
        "--data",
        d,
        "--profile",
        "tiny",
        "--device",
        "flex",
        "--seed",
        "5",
        "--out",
        again.to_str().unwrap(),
        "--epochs",
        "3",
    ]);
    let strip = |s: &str| -> Vec<Value> {
        s.lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                for k in ["epoch_seconds", "windows_per_second", "peak_memory_bytes", "device_memory_bytes"] {
                    v.as_object_mut().unwrap().remove(k);
                }
                v
            })
            .collect()
    };
    assert_eq!(strip(&metrics), strip(&std::fs::read_to_string(again.join("metrics.jsonl")).unwrap()));

    // Packages: f32 and int8 side by side.
    let pkg = tmp.path().join("pkg");
    let p = pkg.to_str().unwrap();
    run_ok(&["package", r, "--quant", "f32", "--quant", "int8", "--out", p]);
    let size = |q: &str| std::fs::metadata(pkg.join(q).join("model.bpk")).unwrap().len();
    assert!(size("int8") * 10 <= size("f32") * 5, "int8 {} vs f32 {}", size("int8"), size("f32"));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(pkg.join("f32/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["labels"], serde_json::json!(["yaman", "malkauns", "mohanam", "hanumatodi"]));
    assert_eq!(manifest["quantization"], "f32");
    assert!(manifest["reference_stats"]["clips"].as_u64().unwrap() == 16);
    assert_eq!(manifest["files"][0]["path"], "model.bpk");

    // Classify the test clips on flex and on wgpu (lavapipe in CI): same top-1.
    let mut clips: Vec<String> = std::fs::read_dir(data.join("yaman"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("_test_") && p.extension().is_some_and(|e| e == "wav"))
        .map(|p| p.display().to_string())
        .collect();
    clips.sort();
    assert_eq!(clips.len(), 2);
    let classify = |device: &str| -> Vec<Value> {
        let mut args = vec!["classify", "--model", "pkg/f32", "--device", device, "--json"];
        args.extend(clips.iter().map(String::as_str));
        let out = ragasense().current_dir(tmp.path()).args(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let flex = classify("flex");
    let wgpu = classify("wgpu");
    assert_eq!(flex.len(), 2);
    for (a, b) in flex.iter().zip(&wgpu) {
        assert_eq!(a["raga"], b["raga"], "flex and wgpu disagree: {a} vs {b}");
        assert_eq!(a["top_k"].as_array().unwrap().len(), 4);
        assert!((a["confidence"].as_f64().unwrap() - b["confidence"].as_f64().unwrap()).abs() < 1e-3);
        assert_eq!(a["device"], "flex");
        assert_eq!(b["device"], "wgpu");
        for k in ["decode", "features", "inference"] {
            assert!(a["timings_ms"][k].as_f64().unwrap() >= 0.0);
        }
        assert!(a["tonic_hz"].as_f64().unwrap() > 50.0);
        // The model checked the estimator's candidate tonics that could win, and answers from one.
        let candidates = a["tonic_candidates"].as_array().unwrap();
        assert!((1..=raga_dsp::TONIC_CANDIDATES).contains(&candidates.len()), "{a}");
        assert!(candidates.iter().any(|c| c["tonic_hz"] == a["tonic_hz"]), "{a}");
        assert!(candidates.iter().all(|c| (0.0..=1.0).contains(&c["check"].as_f64().unwrap())), "{a}");
        assert_eq!(
            a["tonic_confidence"],
            candidates.iter().find(|c| c["tonic_hz"] == a["tonic_hz"]).unwrap()["check"]
        );
    }

    // The performer's Sa, when the user knows it, replaces the estimate.
    let out = run_ok(&["classify", "--model", &format!("{p}/int8"), "--tonic", "146.8", "--json", &clips[0]]);
    let given: Value = serde_json::from_str(&out).unwrap();
    assert!((given["tonic_hz"].as_f64().unwrap() - 146.8).abs() < 1e-3, "{given}");
    assert_eq!(given["tonic_candidates"].as_array().unwrap().len(), 1, "{given}");
    let err = run_err(&["classify", "--model", &format!("{p}/int8"), "--tonic", "0", &clips[0]]);
    assert!(err.contains("positive frequency"), "{err}");

    let out = run_ok(&["evaluate", "--model", &format!("{p}/int8"), "--data", d, "--json"]);
    let eval: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(eval["clips"], 8);
    assert!(eval["accuracy"].as_f64().unwrap() >= 0.0);
    assert!(eval["accuracy_tradition_hidden"].as_f64().unwrap() >= 0.0);

    // Bad packages and bad input: one clear error, nothing written elsewhere.
    let model_file = pkg.join("f32/model.bpk");
    let bytes = std::fs::read(&model_file).unwrap();
    std::fs::write(&model_file, &bytes[..bytes.len() / 2]).unwrap();
    let err = run_err(&["classify", "--model", &format!("{p}/f32"), &clips[0]]);
    assert!(err.contains("corrupt or truncated"), "{err}");
    let err = run_err(&["classify", "--model", r, &clips[0]]);
    assert!(err.contains("model package"), "{err}");
    let err = run_err(&["classify", "--model", &format!("{p}/int8"), &format!("{d}/metadata.csv")]);
    assert!(err.contains("metadata.csv"), "{err}");
    let err = run_err(&[
        "train",
        "--data",
        r,
        "--profile",
        "tiny",
        "--out",
        tmp.path().join("x").to_str().unwrap(),
    ]);
    assert!(err.contains("no audio files"), "{err}");
    let err = run_err(&[
        "train",
        "--data",
        d,
        "--profile",
        "huge",
        "--out",
        tmp.path().join("y").to_str().unwrap(),
    ]);
    assert!(err.contains("unknown profile"), "{err}");
}
