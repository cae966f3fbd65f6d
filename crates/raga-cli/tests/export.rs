//! `ragasense export` end to end: a real server with the fixture package published in
//! Production, exported with a stand-in web build; and the one-line errors for a bad model
//! reference, a missing web build, an unreachable registry and a folder that is not ours.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/model-small-int8");

mod common;
use common::{Server, start_server};

/// `ragasense server` on a free port with the fixture model published as version 1, in
/// Production and under the alias `production`.
fn registry_with_model() -> Server {
    let server = start_server();
    let out = ragasense(&[
        "models",
        "publish",
        FIXTURE,
        "--tracking-uri",
        &server.url,
        "--stage",
        "production",
        "--alias",
        "production",
    ]);
    assert!(out.status.success(), "publish: {}", String::from_utf8_lossy(&out.stderr));
    server
}

fn ragasense(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("ragasense").expect("binary").args(args).output().expect("runs")
}

/// A stand-in for web/dist: what scripts/build-web.sh writes, in miniature.
fn web_build(dir: &Path) -> PathBuf {
    let web = dir.join("dist");
    std::fs::create_dir_all(&web).expect("mkdir");
    std::fs::write(web.join("index.html"), "<!doctype html><title>RagaSense</title>").expect("write");
    std::fs::write(web.join("app.js"), "import './worker.js'").expect("write");
    std::fs::write(web.join("config.json"), r#"{"registry": "/", "ref": "@production", "backend": "auto"}"#)
        .expect("write");
    web
}

fn export(server_url: &str, web: &Path, out: &Path, model: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "export",
        "--model",
        model,
        "--out",
        out.to_str().expect("utf-8"),
        "--tracking-uri",
        server_url,
        "--web-dir",
        web.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    ragasense(&args)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

#[test]
fn exports_the_app_and_the_production_model_into_one_folder() {
    let server = registry_with_model();
    let tmp = tempfile::tempdir().expect("tempdir");
    let web = web_build(tmp.path());
    let out = tmp.path().join("site");

    let done = export(&server.url, &web, &out, "raga-detector@production", &[]);
    assert!(done.status.success(), "{}", stderr(&done));
    let printed = String::from_utf8_lossy(&done.stdout);
    assert!(printed.contains("exported raga-detector version 1 (raga-detector@production)"), "{printed}");
    assert!(printed.contains(&format!("telemetry: {}/v1/telemetry", server.url)), "{printed}");

    assert!(out.join("index.html").is_file() && out.join("app.js").is_file());
    let config = json(&out.join("config.json"));
    assert_eq!(
        config,
        serde_json::json!({
            "backend": "auto",
            "manifestUrl": "model/manifest.json",
            "telemetry": {"url": format!("{}/v1/telemetry", server.url)},
        })
    );
    // The local manifest: the package's own, plus the version, with no registry URLs left.
    let manifest = json(&out.join("model/manifest.json"));
    assert_eq!(manifest["registry"]["version"], "1");
    let text = manifest.to_string();
    assert!(!text.contains("/v1/blobs"), "{text}");
    let original = json(&Path::new(FIXTURE).join("manifest.json"));
    assert_eq!(manifest["files"], original["files"]);
    assert_eq!(
        std::fs::read(out.join("model/model.bpk")).expect("weights"),
        std::fs::read(Path::new(FIXTURE).join("model.bpk")).expect("fixture weights")
    );
    assert_eq!(json(&out.join("ragasense-export.json"))["version"], "1");

    // Again, by version number and without telemetry: the earlier export is replaced.
    let again = export(&server.url, &web, &out, "raga-detector/1", &["--no-telemetry"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(json(&out.join("config.json"))["telemetry"], false);
}

#[test]
fn failures_say_what_is_wrong_in_one_line() {
    let server = registry_with_model();
    let tmp = tempfile::tempdir().expect("tempdir");
    let web = web_build(tmp.path());
    let out = tmp.path().join("site");
    let check = |out_: std::process::Output, parts: &[&str]| {
        assert!(!out_.status.success());
        let err = stderr(&out_);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        for part in parts {
            assert!(err.contains(part), "expected {part:?} in: {err}");
        }
    };

    check(
        export(&server.url, &web, &out, "raga-detector@nightly", &[]),
        &["error: fetching the manifest of raga-detector@nightly", "has no alias 'nightly'"],
    );
    check(export(&server.url, &web, &out, "raga-detector/7", &[]), &["RESOURCE_DOES_NOT_EXIST"]);
    check(export(&server.url, &web, &out, "raga-detector", &[]), &["names no version"]);
    check(
        export(&server.url, &tmp.path().join("nowhere"), &out, "raga-detector@production", &[]),
        &["no built web app", "run scripts/build-web.sh"],
    );
    check(
        export("http://127.0.0.1:9", &web, &out, "raga-detector@production", &[]),
        &["could not reach the registry at http://127.0.0.1:9"],
    );
    check(
        export(
            &server.url,
            &web,
            &out,
            "raga-detector@production",
            &["--telemetry-url", "telemetry.example"],
        ),
        &["must be an absolute http(s) URL"],
    );
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir_all(&theirs).expect("mkdir");
    std::fs::write(theirs.join("notes.txt"), "keep me").expect("write");
    check(
        export(&server.url, &web, &theirs, "raga-detector@production", &[]),
        &["refusing to write into", "not an earlier `ragasense export`"],
    );
    assert_eq!(std::fs::read_to_string(theirs.join("notes.txt")).expect("kept"), "keep me");
    assert!(!out.exists(), "no failed export left a folder behind");
}
