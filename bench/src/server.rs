//! A release registry server started as a child process on a given store, for the load and
//! fault benchmarks: started, killed with SIGKILL, restarted on the same files.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

/// The server binary: `flag` (a `--server` value), else `$RAGASENSE_SERVER_BIN`, else
/// `$CARGO_TARGET_DIR/release/registry-server` (`target/` when unset).
pub fn binary(flag: Option<String>) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    PathBuf::from(
        flag.or_else(|| std::env::var("RAGASENSE_SERVER_BIN").ok())
            .unwrap_or_else(|| format!("{target}/release/registry-server")),
    )
}

/// Where a server keeps its data: the SQLite file (or another database), the artifact
/// folder and the log.
#[derive(Debug, Clone)]
pub struct Store {
    /// `mlruns.db`.
    pub db: PathBuf,
    /// A `--backend-store-uri` to use instead of `db` (e.g. `postgresql://…`).
    pub backend_uri: Option<String>,
    /// The artifact destination.
    pub artifacts: PathBuf,
    /// The server's stderr, appended across restarts.
    pub log: PathBuf,
}

impl Store {
    /// The usual layout inside `dir` (created if missing).
    ///
    /// # Errors
    /// `dir` cannot be created.
    pub fn in_dir(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            db: dir.join("mlruns.db"),
            backend_uri: None,
            artifacts: dir.join("artifacts"),
            log: dir.join("server.log"),
        })
    }
}

/// A running server; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// Starts `bin` on `store` on a free port and waits until it listens.
    ///
    /// # Errors
    /// The binary cannot be started or exits before it listens.
    pub fn start(bin: &Path, store: &Store) -> Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&store.log)
            .with_context(|| format!("opening {}", store.log.display()))?;
        let mut child = Command::new(bin)
            .args(["--port", "0", "--backend-store-uri"])
            .arg(store.backend_uri.clone().unwrap_or_else(|| format!("sqlite:///{}", store.db.display())))
            .arg("--artifacts-destination")
            .arg(&store.artifacts)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| {
                format!("starting {} (build it: cargo build --release -p registry-server)", bin.display())
            })?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut server = Self { child, url: String::new() };
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).context("reading the server's first line")?;
        server.url = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("the server did not start; see {}", store.log.display()))?
            .to_string();
        Ok(server)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL (no shutdown, no flush) and reaps it.
    ///
    /// # Errors
    /// The signal cannot be sent.
    pub fn kill(mut self) -> Result<()> {
        self.child.kill().context("killing the server")?;
        self.child.wait().context("reaping the server")?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
