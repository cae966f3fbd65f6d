//! The MLOps loop end to end against a real registry server: a tiny training run with
//! tracking → its run, params, metric history and artifacts on the server → the int8 package
//! registered and promoted → `/v1/models/raga-detector/@production/manifest.json` serves it.
//! `ragasense reproduce` retrains it from the server's record to the same metrics, also when
//! the corpus is gone (rendered again from the recorded seeds). Then an
//! outage: the server is down for a second run, comes back on the same store, and
//! `ragasense sync` stores the run exactly as an uninterrupted one (same metric points); its
//! version is promoted, and a rollback serves the first version again. A training killed
//! mid-run leaves its finished epochs on the server (live tracking).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns; a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use registry_server::client::{RegistryClient, Stage};

fn ragasense() -> Command {
    Command::cargo_bin("ragasense").expect("binary built")
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = ragasense().args(args).output().expect("runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (out.status.success(), stdout, stderr)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `ragasense server`, stopped when dropped (also when the test fails).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ragasense server` on `port` with its store in `store`, waits for /health.
fn server(port: u16, store: &Path) -> Server {
    let server = Server(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("ragasense"))
            .args(["server", "--port", &port.to_string(), "--backend-store-uri"])
            .arg(format!("sqlite:///{}", store.join("db.sqlite").display()))
            .arg("--artifacts-destination")
            .arg(store.join("artifacts"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                return server;
            }
        }
        assert!(Instant::now() < deadline, "server did not come up on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn synth(dir: &Path, split: &str, per_raga: &str, seed: &str) {
    let (ok, _, err) = run(&[
        "synth",
        "--out",
        dir.to_str().unwrap(),
        "--per-raga",
        per_raga,
        "--seconds",
        "5",
        "--seed",
        seed,
        "--split",
        split,
        "--ragas",
        "yaman,mohanam,malkauns,hanumatodi",
    ]);
    assert!(ok, "{err}");
}

fn train_args<'a>(data: &'a str, out: &'a str, uri: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--profile",
        "tiny",
        "--device",
        "flex",
        "--seed",
        "5",
        "--epochs",
        "3",
        "--out",
        out,
        "--tracking-uri",
        uri,
    ]
}

fn tracked_run_id(run_dir: &Path) -> String {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("tracking.json")).unwrap()).unwrap();
    state["run_id"].as_str().unwrap().to_string()
}

#[test]
fn tracked_training_registers_promotes_deploys_and_survives_an_outage() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("corpus");
    synth(&data, "train", "3", "3");
    synth(&data, "val", "1", "3");
    synth(&data, "test", "1", "3");
    let store = tmp.path().join("store");
    let port = free_port();
    let uri = format!("http://127.0.0.1:{port}");
    let d = data.to_str().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = RegistryClient::new(&uri).unwrap();

    // 1. A tracked run, registered and promoted.
    let srv = server(port, &store);
    let run_a = tmp.path().join("run-a");
    let mut args = train_args(d, run_a.to_str().unwrap(), &uri);
    args.extend(["--promote", "production", "--min-accuracy", "0"]);
    let (ok, out, err) = run(&args);
    assert!(ok, "{err}");
    assert!(out.contains("registered     raga-detector version 1"), "{out}");
    assert!(out.contains("@production/manifest.json serves it"), "{out}");
    let id_a = tracked_run_id(&run_a);
    rt.block_on(async {
        let r = client.get_run(&id_a).await.unwrap();
        assert_eq!(r["info"]["status"], "FINISHED");
        assert!(r["info"]["run_name"].as_str().unwrap().starts_with("raga-detector_"), "{}", r["info"]);
        let params: Vec<&str> =
            r["data"]["params"].as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
        for key in [
            "model.d_model",
            "model.n_heads",
            "model.n_layers",
            "training.batch_size",
            "training.learning_rate",
            "training.weight_decay",
            "training.epochs",
            "training.label_smoothing",
            "audio.sr",
            "audio.n_mels",
            "audio.n_fft",
            "audio.hop_length",
        ] {
            assert!(params.contains(&key), "{key} not logged: {params:?}");
        }
        let tags: Vec<&str> =
            r["data"]["tags"].as_array().unwrap().iter().map(|t| t["key"].as_str().unwrap()).collect();
        for key in ["dataset_fingerprint", "device", "adapter", "profile", "seed", "ragasense_version"] {
            assert!(tags.contains(&key), "{key} not tagged: {tags:?}");
        }
        assert_eq!(client.metric_history(&id_a, "val_loss").await.unwrap().len(), 3);
        assert_eq!(client.metric_history(&id_a, "test_accuracy").await.unwrap().len(), 1);
        assert_eq!(client.metric_history(&id_a, "system/inference_ms_per_clip").await.unwrap().len(), 1);
        let uri = client.run_artifact_uri(&id_a).await.unwrap();
        let log = String::from_utf8(client.download_artifact(&uri, "train.log").await.unwrap()).unwrap();
        assert!(log.contains("epoch   3") && log.contains("test split     accuracy"), "{log}");
        let recipe = client.download_artifact(&uri, "dataset/metadata.csv").await.unwrap();
        assert_eq!(recipe, std::fs::read(data.join("metadata.csv")).unwrap());
        let versions = client.versions("raga-detector").await.unwrap();
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0].current_stage, "Production");
        assert_eq!(versions[0].source, format!("runs:/{id_a}/package/int8"));
        assert_eq!(
            client.published_version("raga-detector", "@production").await.unwrap().as_deref(),
            Some("1")
        );
    });

    // Reproduce it from what the server kept: same config, seed, device and corpus.
    let run_r = tmp.path().join("run-r");
    let (ok, out, err) = run(&["reproduce", &id_a, "--tracking-uri", &uri, "--out", run_r.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("every loss and score matches the original"), "{out}");
    // The corpus is gone: the run recorded its recipe (every clip's raga, seed and length), so
    // it is rendered again, bit for bit (same fingerprint), and the retraining still matches.
    let moved = tmp.path().join("corpus-away");
    std::fs::rename(&data, &moved).unwrap();
    let run_r2 = tmp.path().join("run-r2");
    let (ok, out, err) =
        run(&["reproduce", &id_a, "--tracking-uri", &uri, "--out", run_r2.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("rendered       20 clips again"), "{out}");
    assert!(out.contains("every loss and score matches the original"), "{out}");
    assert!(tmp.path().join("run-r2-corpus/metadata.csv").is_file());
    std::fs::remove_dir_all(tmp.path().join("run-r2-corpus")).unwrap();
    std::fs::rename(&moved, &data).unwrap();

    // 2. The server is down for the whole second run: training still finishes, says how to
    //    send it later, and keeps everything in the run folder.
    drop(srv);
    let run_b = tmp.path().join("run-b");
    let (ok, _, err) = run(&train_args(d, run_b.to_str().unwrap(), &uri));
    assert!(!ok, "tracking against a dead server should fail");
    assert!(err.contains("ragasense sync"), "{err}");
    assert!(run_b.join("summary.json").is_file() && run_b.join("package/int8/manifest.json").is_file());

    // 3. Back up on the same store: one sync sends it all, a second sends nothing.
    let srv = server(port, &store);
    let b = run_b.to_str().unwrap();
    let (ok, out, err) = run(&["sync", b, "--tracking-uri", &uri]);
    assert!(ok, "{err}");
    assert!(out.contains("created, 3 epochs"), "{out}");
    assert!(out.contains("registered as raga-detector version 2"), "{out}");
    let (ok, out, err) = run(&["sync", b, "--tracking-uri", &uri]);
    assert!(ok, "{err}");
    assert!(out.contains(": 0 epochs and 0 files sent, finished"), "{out}");
    let id_b = tracked_run_id(&run_b);
    rt.block_on(async {
        // Same seed, same device: the synced run equals the one that never saw an outage.
        for key in ["train_loss", "val_loss", "val_accuracy", "test_accuracy"] {
            let a: Vec<(i64, f64)> =
                client.metric_history(&id_a, key).await.unwrap().iter().map(|p| (p.0, p.2)).collect();
            let b: Vec<(i64, f64)> =
                client.metric_history(&id_b, key).await.unwrap().iter().map(|p| (p.0, p.2)).collect();
            assert_eq!(a, b, "{key}");
        }
        assert_eq!(client.get_run(&id_b).await.unwrap()["info"]["status"], "FINISHED");

        // 4. Promote version 2, then roll back: browsers get version 1 again.
        client.promote("raga-detector", 2, Stage::Production, true).await.unwrap();
        client.set_alias("raga-detector", "production", 2).await.unwrap();
        assert_eq!(
            client.published_version("raga-detector", "@production").await.unwrap().as_deref(),
            Some("2")
        );
        client.rollback("raga-detector").await.unwrap();
        assert_eq!(
            client.published_version("raga-detector", "@production").await.unwrap().as_deref(),
            Some("1")
        );
        assert_eq!(
            client.published_version("raga-detector", "production").await.unwrap().as_deref(),
            Some("1")
        );
    });
    drop(srv);
}

#[test]
fn a_killed_training_leaves_its_epochs_on_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("corpus");
    synth(&data, "train", "2", "8");
    synth(&data, "val", "1", "8");
    let port = free_port();
    let uri = format!("http://127.0.0.1:{port}");
    let _srv = server(port, &tmp.path().join("store"));
    let run_dir = tmp.path().join("run");
    let mut args = train_args(data.to_str().unwrap(), run_dir.to_str().unwrap(), &uri);
    let epochs = args.iter().position(|a| *a == "--epochs").unwrap() + 1;
    args[epochs] = "500";
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ragasense"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Epoch 1 is sent before epoch 2 trains; kill the trainer once epoch 2 is reported.
    let mut seen = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("epoch   2");
        seen.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let log = seen.join("\n");
    assert!(log.contains("tracking live: run "), "{log}");
    let id = tracked_run_id(&run_dir);
    let client = RegistryClient::new(&uri).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let r = client.get_run(&id).await.unwrap();
        assert_eq!(r["info"]["status"], "RUNNING", "{}", r["info"]);
        let params = r["data"]["params"].as_array().unwrap();
        assert!(params.iter().any(|p| p["key"] == "training.epochs" && p["value"] == "500"), "{params:?}");
        let points = client.metric_history(&id, "val_loss").await.unwrap();
        assert!((1..=2).contains(&points.len()), "{points:?}");
    });
}
