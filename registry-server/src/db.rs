//! SQLite connection pools (WAL, foreign keys), migrations, and the store's start-up state.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{Error, Result};

/// Two pools over one SQLite file: a single writer (SQLite serializes writes anyway, and
/// one connection avoids busy retries) and several readers (WAL lets them run alongside).
#[derive(Debug, Clone)]
pub struct Db {
    /// The single-connection pool every write goes through.
    pub write: SqlitePool,
    /// Pool for read-only queries.
    pub read: SqlitePool,
}

/// Resolves MLflow's `sqlite:///relative.db` / `sqlite:////absolute.db` to a file path.
pub fn sqlite_path(uri: &str) -> Result<PathBuf> {
    let rest = uri.strip_prefix("sqlite://").ok_or_else(|| {
        Error::invalid(format!("unsupported backend store URI '{uri}': use sqlite:///path/to/file.db"))
    })?;
    // "sqlite:///x.db" → rest "/x.db" → relative "x.db"; "sqlite:////abs/x.db" → "/abs/x.db".
    let path = rest.strip_prefix('/').unwrap_or(rest);
    if path.is_empty() {
        return Err(Error::invalid(format!(
            "backend store URI '{uri}' names no file: use sqlite:///path/to/file.db"
        )));
    }
    Ok(PathBuf::from(path))
}

/// How every write transaction starts. `BEGIN IMMEDIATE` takes SQLite's write lock at
/// once, waiting up to the busy timeout for it; a deferred `BEGIN` would take it at the first
/// write, and when another process (a second server replica on the same file) has written
/// since the transaction's first read, SQLite fails that upgrade at once with "database is
/// locked" instead of waiting. Inside one process nothing changes: there is one writer.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

impl Db {
    /// Starts a write transaction on the writer connection, with `BEGIN IMMEDIATE` (why: see
    /// `BEGIN_WRITE`). Every write transaction of the server starts here.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.write.begin_with(BEGIN_WRITE).await?)
    }

    /// Opens (creating if needed) the SQLite file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(Error::internal)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory");
        // Page cache per connection (negative: KiB). The writer keeps the hot index pages of
        // ingest; readers stay at SQLite's default 2 MiB each, so eight of them cannot grow
        // the server by 128 MiB — the OS file cache serves what they miss.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone().pragma("cache_size", "-8000"))
            .await?;
        sqlx::migrate!("./migrations")
            .run(&write)
            .await
            .map_err(|e| Error::internal(format!("migrations: {e}")))?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(2)
            .connect_with(options.read_only(true).pragma("cache_size", "-2000"))
            .await?;
        let db = Self { write, read };
        db.ensure_default_experiment().await?;
        Ok(db)
    }

    /// MLflow's fresh store has experiment "0" named "Default".
    async fn ensure_default_experiment(&self) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT OR IGNORE INTO experiments
               (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
             VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', ?, ?)",
        )
        .bind(now)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_uris() {
        let check = |uri: &str, expected: Option<&str>| {
            let got = sqlite_path(uri).ok();
            assert_eq!(got.as_deref(), expected.map(Path::new), "{uri}");
        };
        check("sqlite:///./data/mlruns.db", Some("./data/mlruns.db"));
        check("sqlite:///mlruns.db", Some("mlruns.db"));
        check("sqlite:////tmp/x.db", Some("/tmp/x.db"));
        check("postgresql://x", None);
        check("sqlite:///", None);
    }
}
