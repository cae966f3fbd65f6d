//! Model serving end to end over real HTTP with the real trained fixture package:
//! `POST /invocations` on the registry (its Production version) and on `ragasense
//! serve-model`, in every MLflow input shape, answers what `ragasense classify` answers for
//! the same clip; a promotion switches the served version without a restart; bad input and
//! a missing Production version get errors that say what to do.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::OnceLock;

use assert_cmd::Command;
use assert_cmd::cargo::CommandCargoExt;
use base64::Engine;
use serde_json::{Value, json};

mod common;
use common::{Server, start_server};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/model-small-int8");

fn ragasense(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("ragasense").expect("binary").args(args).output().expect("runs")
}

fn publish(server: &Server, stage: Option<&str>) {
    let mut args = vec!["models", "publish", FIXTURE, "--tracking-uri", &server.url];
    if let Some(stage) = stage {
        args.extend(["--stage", stage]);
    }
    let out = ragasense(&args);
    assert!(out.status.success(), "publish: {}", String::from_utf8_lossy(&out.stderr));
}

/// Two rendered clips and what `ragasense classify` says of each (rendered and classified
/// once for the whole file).
struct Clips {
    _dir: tempfile::TempDir,
    wavs: Vec<Vec<u8>>,
    expected: Vec<Value>,
}

fn clips() -> &'static Clips {
    static CLIPS: OnceLock<Clips> = OnceLock::new();
    CLIPS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let corpus = dir.path().join("corpus");
        let corpus_arg = corpus.to_str().expect("utf-8");
        let out = ragasense(&[
            "synth",
            "--per-raga",
            "1",
            "--seconds",
            "6",
            "--seed",
            "31",
            "--split",
            "test",
            "--ragas",
            "yaman,mohanam",
            "--out",
            corpus_arg,
        ]);
        assert!(out.status.success(), "synth: {}", String::from_utf8_lossy(&out.stderr));
        let mut files: Vec<PathBuf> = csv_files(&corpus);
        files.sort();
        let mut args = vec!["classify", "--model", FIXTURE, "--device", "flex", "--json"];
        args.extend(files.iter().map(|f| f.to_str().expect("utf-8")));
        let out = ragasense(&args);
        assert!(out.status.success(), "classify: {}", String::from_utf8_lossy(&out.stderr));
        let expected: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(expected.len(), files.len());
        let wavs = files.iter().map(|f| std::fs::read(f).expect("wav")).collect();
        Clips { _dir: dir, wavs, expected }
    })
}

/// The clips `metadata.csv` lists.
fn csv_files(corpus: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(corpus.join("metadata.csv")).expect("metadata.csv");
    text.lines().skip(1).map(|l| corpus.join(l.split(',').next().expect("file column"))).collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Samples of a WAV as `raga-audio` decodes them (what `classify` analyses).
fn samples(wav: &[u8]) -> (Vec<f32>, u32) {
    let decoded = raga_audio::decode(wav, Some("wav")).expect("decodes");
    assert_eq!(decoded.channels, 1);
    (decoded.samples, decoded.sample_rate)
}

/// A clip as precomputed features, as a client running `raga-dsp` itself would send it.
fn features_record(wav: &[u8]) -> Value {
    let manifest = std::fs::read(format!("{FIXTURE}/manifest.json")).expect("manifest");
    let config = raga_model::Manifest::from_json(&manifest).expect("manifest").features;
    let (samples, rate) = samples(wav);
    let f = raga_dsp::extract(&samples, rate, 1, &config).expect("features");
    let mel: Vec<&[f32]> = (0..f.frames).map(|t| f.mel_frame(t)).collect();
    let f0: Vec<[f32; 2]> = f.f0_hz.iter().zip(&f.voiced_prob).map(|(&hz, &p)| [hz, p]).collect();
    json!({"mel_spectrogram": mel, "f0_features": f0, "tonic_candidates": f.tonic_candidates})
}

/// A request's status, `x-model-version` and body (JSON when it parses, else a string).
struct Reply {
    status: u16,
    version: Option<String>,
    body: Value,
}

fn request(method: &str, url: &str, body: Option<(&str, Vec<u8>)>) -> Reply {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut req = client.request(method.parse().expect("method"), url);
        if let Some((content_type, bytes)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let version = resp.headers().get("x-model-version").and_then(|v| v.to_str().ok()).map(str::to_string);
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, version, body }
    })
}

fn invoke(base: &str, body: &Value) -> Reply {
    request("POST", &format!("{base}/invocations"), Some(("application/json", body.to_string().into_bytes())))
}

/// The predictions of a successful call, one per expected answer.
fn predictions(reply: &Reply, n: usize, what: &str) -> Vec<Value> {
    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    let list =
        reply.body["predictions"].as_array().unwrap_or_else(|| panic!("{what}: {}", reply.body)).clone();
    assert_eq!(list.len(), n, "{what}");
    list
}

/// The served answer equals `classify`'s: the raga, and every probability within 1e-4.
fn assert_same(got: &Value, want: &Value, what: &str) {
    assert_eq!(got["raga"], want["raga"], "{what}: {got} vs classify {want}");
    let close = |a: &Value, b: &Value, tol: f64, field: &str| {
        let (a, b) = (a.as_f64().expect(field), b.as_f64().expect(field));
        assert!((a - b).abs() <= tol, "{what}: {field} {a} vs classify {b}");
    };
    close(&got["confidence"], &want["confidence"], 1e-4, "confidence");
    close(&got["tonic_hz"], &want["tonic_hz"], 1e-3, "tonic_hz");
    let (got_k, want_k) = (got["top_k"].as_array().expect("top_k"), want["top_k"].as_array().expect("top_k"));
    assert_eq!(got_k.len(), want_k.len(), "{what}: top_k");
    for (g, w) in got_k.iter().zip(want_k) {
        assert_eq!(g["raga"], w["raga"], "{what}: top_k order");
        close(&g["p"], &w["p"], 1e-4, "top_k p");
    }
}

/// Every input shape, on `base`, against what `classify` said.
fn check_every_shape(base: &str) {
    let clips = clips();
    let [a, b] = [&clips.wavs[0], &clips.wavs[1]];
    let (a_samples, a_rate) = samples(a);
    let bodies = [
        (
            "instances of audio_base64",
            json!({"instances": [{"audio_base64": b64(a)}, {"audio_base64": b64(b)}]}),
            [0, 1],
        ),
        (
            "dataframe_records of raw samples",
            json!({"dataframe_records": [{"audio": a_samples, "sample_rate": a_rate}, {"audio_base64": b64(b)}]}),
            [0, 1],
        ),
        (
            "dataframe_split",
            json!({"dataframe_split": {"columns": ["audio_base64", "tradition_id"], "data": [[b64(b), 0], [b64(a), "unknown"]]}}),
            [1, 0],
        ),
        (
            "inputs of precomputed features",
            json!({"inputs": [features_record(a), features_record(b)]}),
            [0, 1],
        ),
    ];
    for (what, body, order) in bodies {
        let got = predictions(&invoke(base, &body), 2, what);
        for (g, i) in got.iter().zip(order) {
            assert_same(g, &clips.expected[i], what);
        }
    }
    let one = invoke(base, &json!({"inputs": {"audio_base64": b64(b)}}));
    assert_same(&predictions(&one, 1, "one record in inputs")[0], &clips.expected[1], "one record in inputs");
}

/// `ragasense serve-model ARGS --port 0`; returns once it listens.
struct ModelServer {
    child: Child,
    url: String,
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_model(args: &[&str]) -> ModelServer {
    let mut child = Process::cargo_bin("ragasense")
        .expect("binary")
        .arg("serve-model")
        .args(args)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve-model starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("got {line:?}")).to_string();
    ModelServer { child, url }
}

#[test]
fn the_registry_serves_its_production_version_as_classify_answers() {
    let server = start_server();
    publish(&server, Some("production"));
    assert_eq!(request("GET", &format!("{}/ping", server.url), None).status, 200);
    check_every_shape(&server.url);
    let body = json!({"instances": [{"audio_base64": b64(&clips().wavs[0])}]});
    assert_eq!(invoke(&server.url, &body).version.as_deref(), Some("1"));

    // A new Production version answers the next request, without a restart.
    publish(&server, Some("production"));
    let reply = invoke(&server.url, &body);
    assert_eq!(reply.version.as_deref(), Some("2"));
    assert_same(&predictions(&reply, 1, "after promotion")[0], &clips().expected[0], "after promotion");

    // serve-model fetches a registered version from the registry.
    let served = serve_model(&["models:/raga-detector/Production", "--registry", &server.url]);
    let reply = invoke(&served.url, &body);
    assert_eq!(reply.version.as_deref(), Some("2"));
    assert_same(
        &predictions(&reply, 1, "serve-model models:/")[0],
        &clips().expected[0],
        "serve-model models:/",
    );
}

#[test]
fn serve_model_serves_a_package_folder_as_classify_answers() {
    let served = serve_model(&[FIXTURE, "--max-batch-clips", "1"]);
    for (route, body) in [("/ping", "\n"), ("/health", "OK"), ("/version", env!("CARGO_PKG_VERSION"))] {
        let reply = request("GET", &format!("{}{route}", served.url), None);
        assert_eq!((reply.status, reply.body.as_str()), (200, Some(body)), "{route}");
    }
    check_every_shape(&served.url);
    let body = json!({"instances": [{"audio_base64": b64(&clips().wavs[0])}]});
    assert_eq!(invoke(&served.url, &body).version.as_deref(), Some("local"));
}

/// A failed call: its status, MLflow's error code, and a message naming what to fix.
fn check_error(reply: Reply, status: u16, code: &str, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["error_code"], code, "{}", reply.body);
    let got = reply.body["message"].as_str().unwrap_or_default();
    assert!(got.contains(message), "message {got:?} lacks {message:?}");
}

#[test]
fn bad_input_gets_a_client_error_that_says_what_to_fix() {
    let served = serve_model(&[FIXTURE]);
    let url = format!("{}/invocations", served.url);
    let post = |body: &str| request("POST", &url, Some(("application/json", body.as_bytes().to_vec())));
    let invalid = "INVALID_PARAMETER_VALUE";
    check_error(post(""), 400, invalid, "the request body is empty");
    check_error(
        post("{}"),
        400,
        invalid,
        "exactly one of inputs, instances, dataframe_records or dataframe_split",
    );
    check_error(post(r#"{"instances": []}"#), 400, invalid, "instances is empty");
    check_error(
        post(r#"{"instances": [{"mel_spectrogram": [[1, 2]], "f0_features": [[220, 1]], "tonic_hz": 220}]}"#),
        400,
        invalid,
        "instances[0].mel_spectrogram[0] has 2 values; the model reads 128 log-mel bands",
    );
    check_error(
        post(r#"{"instances": [{"mel_spectrogram": [[1]], "f0_features": [[220]], "tonic_hz": 220}]}"#),
        400,
        invalid,
        "instances[0].f0_features[0] has 1 values: send frames × 2, [f0_hz, voiced_prob] per frame",
    );
    check_error(post(r#"{"instances": [{"audio_base64": "%%%"}]}"#), 400, invalid, "is not valid base64");
    check_error(
        post(&json!({"instances": [{"audio_base64": b64(b"hello, this is not audio")}]}).to_string()),
        400,
        invalid,
        "instances[0].audio_base64: not a recognised audio file",
    );
    check_error(
        post(r#"{"inputs": {"audio": [0.5, -0.5], "sample_rate": 22050}}"#),
        400,
        invalid,
        "inputs.audio: audio is 0.00 s long; at least 1 s is needed",
    );
    check_error(
        request("POST", &url, Some(("text/csv", b"audio\n1".to_vec()))),
        415,
        invalid,
        "reads Content-Type application/json",
    );
    check_error(request("GET", &url, None), 405, "ENDPOINT_NOT_FOUND", "GET is not allowed on /invocations");
    check_error(
        request("GET", &format!("{}/nope", served.url), None),
        404,
        "ENDPOINT_NOT_FOUND",
        "POST /invocations",
    );

    let out = ragasense(&["serve-model", "no-such-folder"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("neither a package folder nor a registry reference")
    );
}

#[test]
fn without_a_production_version_the_registry_says_how_to_promote_one() {
    let server = start_server();
    let url = format!("{}/invocations", server.url);
    let body = json!({"instances": [{"audio": [0.1], "sample_rate": 22050}]}).to_string().into_bytes();
    let post = || request("POST", &url, Some(("application/json", body.clone())));
    check_error(
        post(),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "there is no registered model 'raga-detector' to serve",
    );
    publish(&server, None);
    check_error(
        post(),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "model 'raga-detector' has no version in stage Production to serve: promote one with \
         `ragasense models promote raga-detector VERSION --stage production`",
    );
    let ping = request("GET", &format!("{}/ping", server.url), None);
    assert_eq!(ping.status, 404);
}
