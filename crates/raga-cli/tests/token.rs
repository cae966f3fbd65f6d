//! `ragasense token` end to end: the first admin token made in the store, a server with
//! `--auth on` refusing the CLI without a token, tokens created, listed and revoked over
//! HTTP, and the CLI working with `RAGASENSE_TRACKING_TOKEN`.

use std::process::Output;

use assert_cmd::Command;

mod common;
use common::start_server_in;

fn ragasense(args: &[&str], token: Option<&str>) -> Output {
    let mut cmd = Command::cargo_bin("ragasense").expect("binary");
    cmd.args(args).env_remove("RAGASENSE_TRACKING_TOKEN").env_remove("MLFLOW_TRACKING_TOKEN");
    if let Some(t) = token {
        cmd.env("RAGASENSE_TRACKING_TOKEN", t);
    }
    let out = cmd.output().expect("runs");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{out:?}");
    out
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn tokens_from_the_store_and_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = format!("sqlite:///{}/db.sqlite", dir.path().display());
    let admin = stdout(&ragasense(
        &["token", "create", "--name", "admin", "--scope", "admin", "--backend-store-uri", &store],
        None,
    ));
    assert!(admin.starts_with("rsk_"), "{admin}");

    let server = start_server_in(dir, &["--auth", "on"]);
    let url = server.url.as_str();
    let refused = ragasense(&["models", "list", "--tracking-uri", url], None);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("UNAUTHENTICATED") && why.contains("token"), "{why}");

    let viewer = stdout(&ragasense(
        &["token", "create", "--name", "viewer", "--scope", "read", "--tracking-uri", url],
        Some(&admin),
    ));
    let key = stdout(&ragasense(
        &[
            "token",
            "create",
            "--name",
            "site",
            "--scope",
            "telemetry",
            "--model",
            "raga-detector",
            "--tracking-uri",
            url,
        ],
        Some(&admin),
    ));
    assert!(key.starts_with("rsp_"), "{key}");
    stdout(&ragasense(&["models", "list", "--tracking-uri", url], Some(&viewer)));

    let listed = stdout(&ragasense(&["token", "list", "--tracking-uri", url, "--json"], Some(&admin)));
    assert!(!listed.contains(&viewer) && !listed.contains(&admin), "a secret was listed: {listed}");
    let list: serde_json::Value = serde_json::from_str(&listed).expect("json");
    let names: Vec<&str> =
        list.as_array().expect("array").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let viewer_id = viewer.split('_').nth(1).expect("id part");

    // The viewer cannot make tokens; the admin revokes it, and from then on it is refused.
    let weak = ragasense(
        &["token", "create", "--name", "x", "--scope", "admin", "--tracking-uri", url],
        Some(&viewer),
    );
    assert!(String::from_utf8_lossy(&weak.stderr).contains("PERMISSION_DENIED"));
    let revoked = stdout(&ragasense(&["token", "revoke", viewer_id, "--tracking-uri", url], Some(&admin)));
    assert!(revoked.contains("viewer"), "{revoked}");
    let after = ragasense(&["models", "list", "--tracking-uri", url], Some(&viewer));
    assert!(String::from_utf8_lossy(&after.stderr).contains("UNAUTHENTICATED"));
    let table = stdout(&ragasense(&["token", "list", "--all", "--tracking-uri", url], Some(&admin)));
    assert!(table.lines().any(|l| l.contains("viewer") && l.contains("revoked")), "{table}");
    assert!(
        ragasense(&["token", "revoke", "nope", "--tracking-uri", url], Some(&admin)).status.code() == Some(1)
    );
}
