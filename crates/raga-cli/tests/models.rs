//! `ragasense server` and `ragasense models` end to end: a real server on a free port,
//! versions registered over the MLflow REST API, then promoted, aliased and rolled back
//! from the command line.

use std::io::{Read, Write};
use std::net::TcpStream;

use assert_cmd::Command;

mod common;
use common::{Server, start_server};

/// A minimal HTTP/1.1 POST with a JSON body; returns (status, body).
fn post(url: &str, path: &str, body: &str) -> (u16, String) {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read");
    let status = reply.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, reply.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}

fn models(server: &Server, args: &[&str]) -> String {
    let out = Command::cargo_bin("ragasense")
        .expect("binary")
        .arg("models")
        .args(args)
        .args(["--tracking-uri", &server.url, "--user", "tester"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "models {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn promote_alias_and_rollback_from_the_command_line() {
    let server = start_server();
    let api = "/api/2.0/mlflow";
    assert_eq!(
        post(&server.url, &format!("{api}/registered-models/create"), r#"{"name":"raga-detector"}"#).0,
        200
    );
    for _ in 0..2 {
        let (status, body) = post(
            &server.url,
            &format!("{api}/model-versions/create"),
            r#"{"name":"raga-detector","source":"mlflow-artifacts:/0/run/artifacts/package"}"#,
        );
        assert_eq!(status, 200, "{body}");
    }

    let out = models(&server, &["promote", "raga-detector", "1", "--stage", "Production"]);
    assert!(out.contains("version 1 is now in Production"), "{out}");
    let out = models(&server, &["promote", "raga-detector", "2", "--stage", "Production"]);
    assert!(out.contains("version 2 is now in Production"), "{out}");
    models(&server, &["alias", "raga-detector", "champion", "2"]);

    let list = models(&server, &["list"]);
    assert!(list.lines().any(|l| l.starts_with("raga-detector") && l.contains(" 2 ")), "{list}");

    let out = models(&server, &["rollback", "raga-detector"]);
    assert!(out.contains("Production is version 1 again (was 2)"), "{out}");

    let described: serde_json::Value =
        serde_json::from_str(&models(&server, &["describe", "raga-detector", "--json"])).expect("JSON");
    let stages: Vec<(&str, &str)> = described["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| (v["version"].as_str().unwrap_or(""), v["current_stage"].as_str().unwrap_or("")))
        .collect();
    assert!(stages.contains(&("1", "Production")) && stages.contains(&("2", "Archived")), "{stages:?}");
    let history = described["history"].as_array().expect("history");
    assert!(history.len() >= 4, "stage and alias changes are all kept: {history:?}");
    assert!(history.iter().all(|h| h["actor"] == "tester"));

    // A wrong name is a clear error, not a crash.
    let out = Command::cargo_bin("ragasense")
        .expect("binary")
        .args(["models", "describe", "nope", "--tracking-uri", &server.url])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: ") && stderr.contains("RESOURCE_DOES_NOT_EXIST"), "{stderr}");
}
