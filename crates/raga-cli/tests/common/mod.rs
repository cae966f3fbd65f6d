//! What the end-to-end suites share: a real `ragasense server` on a free port.
#![allow(dead_code)] // each suite uses its part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command as Process, Stdio};

use assert_cmd::cargo::CommandCargoExt;

/// A running server with its own store; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ragasense server --port 0` on a fresh SQLite store and artifact folder; returns once it
/// has printed the address it listens on.
pub fn start_server() -> Server {
    start_server_in(tempfile::tempdir().expect("tempdir"), &[])
}

/// `ragasense server --port 0 EXTRA…` with its store (`db.sqlite`, `artifacts/`) in `dir`.
pub fn start_server_in(dir: tempfile::TempDir, extra: &[&str]) -> Server {
    let mut child = Process::cargo_bin("ragasense")
        .expect("binary")
        .args(["server", "--port", "0", "--backend-store-uri"])
        // SQLAlchemy-style URI: four slashes for an absolute path.
        .arg(format!("sqlite:///{}/db.sqlite", dir.path().display()))
        .arg("--artifacts-destination")
        .arg(dir.path().join("artifacts"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
    let url = line.trim().strip_prefix("listening on ").expect("listening line").to_string();
    Server { child, url, _dir: dir }
}
