//! The backend store: SQLite (the embedded default: one file, WAL, foreign keys) or
//! PostgreSQL (for several replicas), both behind sqlx's `Any` driver; migrations; the
//! store's start-up state; and the few SQL fragments the two dialects spell differently.
//!
//! Every statement of the server is written once, with `$N` parameters (SQLite reads them
//! as numbered parameters, PostgreSQL natively). Where the dialects differ, the statement
//! takes its fragment from [`Backend`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::error::{Error, Result};

/// A connection of either backend.
pub type Conn = sqlx::AnyConnection;
/// A write transaction: see [`Db::begin`].
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Which database a store lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file (the default).
    Sqlite,
    /// A PostgreSQL database (15 or later).
    Postgres,
}

impl Backend {
    /// The backend a connection speaks.
    pub fn of(conn: &Conn) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") { Self::Postgres } else { Self::Sqlite }
    }

    /// A JSON object as text, from `'key', value, …` pairs.
    pub fn json_object(self, pairs: &str) -> String {
        match self {
            Self::Sqlite => format!("json_object({pairs})"),
            Self::Postgres => format!("CAST(json_build_object({pairs}) AS TEXT)"),
        }
    }

    /// A JSON array, as text, of one object per aggregated row, from `'key', value, …` pairs.
    pub fn json_agg_objects(self, pairs: &str) -> String {
        match self {
            Self::Sqlite => format!("json_group_array(json_object({pairs}))"),
            Self::Postgres => format!("CAST(json_agg(json_build_object({pairs})) AS TEXT)"),
        }
    }

    /// The text at `path` (object keys and array indexes) inside the JSON text `doc`, NULL
    /// where there is none. Path elements are fixed by the server, never user input.
    pub fn json_text_at(self, doc: &str, path: &[&str]) -> String {
        match self {
            Self::Sqlite => {
                let mut jsonpath = String::from("$");
                for p in path {
                    if p.bytes().all(|b| b.is_ascii_digit()) {
                        jsonpath.push_str(&format!("[{p}]"));
                    } else {
                        jsonpath.push_str(&format!(".{p}"));
                    }
                }
                format!("json_extract({doc}, '{jsonpath}')")
            }
            Self::Postgres => format!("(CAST({doc} AS JSON) #>> '{{{}}}')", path.join(",")),
        }
    }

    /// The greatest integer not above the non-negative number `expr` (SQLite's `CAST … AS
    /// INTEGER` truncates; PostgreSQL's rounds).
    pub fn floor_int(self, expr: &str) -> String {
        match self {
            Self::Sqlite => format!("CAST({expr} AS INTEGER)"),
            Self::Postgres => format!("CAST(floor({expr}) AS BIGINT)"),
        }
    }

    /// The operator of a case-sensitive `LIKE` with `%` and `_`, and the pattern as that
    /// operator reads it (SQLite's `LIKE` ignores ASCII case, so there it is a `GLOB`).
    pub fn case_sensitive_like(self, pattern: &str) -> (&'static str, String) {
        match self {
            Self::Sqlite => ("GLOB", crate::search::like_to_glob(pattern)),
            Self::Postgres => ("LIKE", pattern.to_string()),
        }
    }
}

/// A parsed `--backend-store-uri`.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUri {
    /// `sqlite:///relative.db` or `sqlite:////absolute.db` (MLflow's spelling).
    Sqlite(PathBuf),
    /// `postgresql://user:password@host:port/database` (or `postgres://`).
    Postgres(String),
}

impl StoreUri {
    /// Parses MLflow's store URIs: `sqlite:///relative.db`, `sqlite:////absolute.db`,
    /// `postgresql://…` / `postgres://…`.
    pub fn parse(uri: &str) -> Result<Self> {
        if uri.starts_with("postgresql://") || uri.starts_with("postgres://") {
            // Validated (and its password kept out of error messages) by the driver's parser.
            AnyConnectOptions::from_str(uri).map_err(|_| {
                Error::invalid(format!(
                    "backend store URI '{}' is not a valid URL: use postgresql://user:password@host:5432/database",
                    redact(uri)
                ))
            })?;
            return Ok(Self::Postgres(uri.to_string()));
        }
        let rest = uri.strip_prefix("sqlite://").ok_or_else(|| {
            Error::invalid(format!(
                "unsupported backend store URI '{}': use sqlite:///path/to/file.db or postgresql://user@host/database",
                redact(uri)
            ))
        })?;
        // "sqlite:///x.db" → rest "/x.db" → relative "x.db"; "sqlite:////abs/x.db" → "/abs/x.db".
        let path = rest.strip_prefix('/').unwrap_or(rest);
        if path.is_empty() {
            return Err(Error::invalid(format!(
                "backend store URI '{uri}' names no file: use sqlite:///path/to/file.db"
            )));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// Shows the URI with any password replaced by `***`.
impl fmt::Display for StoreUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:///{}", path.display()),
            Self::Postgres(uri) => f.write_str(&redact(uri)),
        }
    }
}

impl fmt::Debug for StoreUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a file path may not hold unescaped inside a `sqlite://` URL.
const URL_PATH: &AsciiSet = &CONTROLS.add(b' ').add(b'?').add(b'#').add(b'%');

/// `scheme://user:secret@host/…` → `scheme://user:***@host/…`.
fn redact(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else { return uri.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => uri.to_string(),
        },
        None => uri.to_string(),
    }
}

/// Two pools over one store: writers and readers. On SQLite the writer pool is one
/// connection (SQLite serializes writes anyway, and one connection avoids busy retries); on
/// PostgreSQL it has several, and the advisory locks of [`Db::begin`] and
/// [`Db::begin_ingest`] decide what may run side by side.
#[derive(Debug, Clone)]
pub struct Db {
    /// The pool every write goes through.
    pub write: AnyPool,
    /// Pool for read-only queries.
    pub read: AnyPool,
    /// Which dialect the pools speak.
    pub backend: Backend,
}

/// SQLite: how every write transaction starts. `BEGIN IMMEDIATE` takes SQLite's write lock
/// at once, waiting up to the busy timeout for it; a deferred `BEGIN` would take it at the
/// first write, and when another process (a second server replica on the same file) has
/// written since the transaction's first read, SQLite fails that upgrade at once with
/// "database is locked" instead of waiting.
const SQLITE_BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// PostgreSQL: the contract of SQLite's write lock, across every replica, where it matters.
/// A write transaction first takes one transaction-scoped advisory lock (released at COMMIT
/// or ROLLBACK): exclusively for the read-then-write steps of the API (next version number,
/// aliases and stages, lifecycle changes, experiment names), so they see no interleaved
/// writer, exactly as on SQLite; shared for ingest (metrics, params, tags, telemetry), whose
/// statements are single-row upserts PostgreSQL makes atomic by itself — so ingest from many
/// connections and replicas runs in parallel, and never beside an exclusive writer.
/// Reads never take it.
const POSTGRES_WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
/// The shared form of `POSTGRES_WRITE_LOCK`, for ingest.
const POSTGRES_INGEST_LOCK: &str = "SELECT pg_advisory_xact_lock_shared($1)";
/// The key of PostgreSQL's advisory write lock (any constant no other user of the database
/// picks; public for tests that hold or probe it).
pub const POSTGRES_LOCK_KEY: i64 = 7_256_347_110_845;
/// Write connections per server process on PostgreSQL.
const POSTGRES_WRITERS: u32 = 8;

impl Db {
    /// Starts a write transaction that no other write runs beside (see `SQLITE_BEGIN_WRITE`
    /// and `POSTGRES_WRITE_LOCK`). Every write transaction of the server starts here or in
    /// [`Db::begin_ingest`].
    pub async fn begin(&self) -> Result<Tx> {
        self.begin_locked(POSTGRES_WRITE_LOCK).await
    }

    /// Starts an ingest transaction: logging metrics, params and tags to a run, or storing
    /// telemetry — inserts and single-row upserts only, whose checks (the run is active, the
    /// model version exists) other ingest cannot undo. On PostgreSQL these run in parallel
    /// with each other, never beside a [`Db::begin`] transaction; on SQLite they are the same.
    pub async fn begin_ingest(&self) -> Result<Tx> {
        self.begin_locked(POSTGRES_INGEST_LOCK).await
    }

    async fn begin_locked(&self, postgres_lock: &str) -> Result<Tx> {
        match self.backend {
            Backend::Sqlite => Ok(self.write.begin_with(SQLITE_BEGIN_WRITE).await?),
            Backend::Postgres => {
                let mut tx = self.write.begin().await?;
                sqlx::query(postgres_lock).bind(POSTGRES_LOCK_KEY).execute(&mut *tx).await?;
                Ok(tx)
            }
        }
    }

    /// Opens (creating if needed) a SQLite store and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        Self::connect(&StoreUri::Sqlite(path.to_path_buf())).await
    }

    /// Connects to the store, applies pending migrations and makes sure the default
    /// experiment exists.
    pub async fn connect(store: &StoreUri) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let db = match store {
            StoreUri::Sqlite(path) => Self::open_sqlite(path).await?,
            StoreUri::Postgres(uri) => Self::open_postgres(uri).await?,
        };
        db.ensure_default_experiment().await?;
        Ok(db)
    }

    async fn open_sqlite(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let url = |mode: &str| -> Result<AnyConnectOptions> {
            let path = std::path::absolute(path)?;
            let path = path.to_str().ok_or_else(|| {
                Error::invalid(format!(
                    "the store path '{}' is not valid UTF-8: choose another path",
                    path.display()
                ))
            })?;
            let url = format!("sqlite://{}?mode={mode}", utf8_percent_encode(path, URL_PATH));
            Ok(AnyConnectOptions::from_str(&url)?.disable_statement_logging())
        };
        // Per connection: foreign keys, a 10 s wait for the write lock, temporary tables in
        // memory, and a page cache (negative: KiB). The writer keeps the hot index pages of
        // ingest; readers stay at SQLite's default 2 MiB each, so eight of them cannot grow
        // the server by 128 MiB — the OS file cache serves what they miss. The writer also
        // puts the file in WAL mode (a read-only connection cannot).
        let pragmas = |cache_kib: i64| {
            format!(
                "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                 PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{cache_kib};"
            )
        };
        let write =
            sqlite_pool(1, 1, format!("PRAGMA journal_mode = WAL; {}", pragmas(8000)), url("rwc")?).await?;
        sqlx::migrate!("./migrations")
            .run(&write)
            .await
            .map_err(|e| Error::internal(format!("migrations: {e}")))?;
        let read = sqlite_pool(8, 2, pragmas(2000), url("ro")?).await?;
        Ok(Self { write, read, backend: Backend::Sqlite })
    }

    async fn open_postgres(uri: &str) -> Result<Self> {
        let options = AnyConnectOptions::from_str(uri)?.disable_statement_logging();
        let write = AnyPoolOptions::new()
            .max_connections(POSTGRES_WRITERS)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        // Two replicas starting together must not both create the tables: the migrator
        // takes PostgreSQL's advisory lock itself.
        sqlx::migrate!("./migrations-postgres")
            .run(&write)
            .await
            .map_err(|e| Error::internal(format!("migrations: {e}")))?;
        let read = AnyPoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").await.map(|_| ())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self { write, read, backend: Backend::Postgres })
    }

    /// MLflow's fresh store has experiment "0" named "Default".
    async fn ensure_default_experiment(&self) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO experiments
               (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
             VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', $1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A pool of SQLite connections, each set up by the `pragmas` statements when it opens.
async fn sqlite_pool(max: u32, min: u32, pragmas: String, options: AnyConnectOptions) -> Result<AnyPool> {
    Ok(AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(min)
        .after_connect(move |conn, _| {
            let sql = pragmas.clone();
            Box::pin(async move { conn.execute(sql.as_str()).await.map(|_| ()) })
        })
        .connect_with(options)
        .await?)
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
    fn store_uris() {
        let check = |uri: &str, expected: Option<&str>| {
            let got = match StoreUri::parse(uri) {
                Ok(StoreUri::Sqlite(path)) => Some(path),
                _ => None,
            };
            assert_eq!(got.as_deref(), expected.map(Path::new), "{uri}");
        };
        check("sqlite:///./data/mlruns.db", Some("./data/mlruns.db"));
        check("sqlite:///mlruns.db", Some("mlruns.db"));
        check("sqlite:////tmp/x.db", Some("/tmp/x.db"));
        check("mysql://x", None);
        check("sqlite:///", None);
        let pg = StoreUri::parse("postgresql://alice:s3cret@db.example:5432/mlflow").expect("postgres uri");
        assert!(matches!(pg, StoreUri::Postgres(_)));
        assert_eq!(pg.to_string(), "postgresql://alice:***@db.example:5432/mlflow");
        assert!(StoreUri::parse("postgres://db/mlflow").is_ok());
        let err = StoreUri::parse("mysql://bob:hunter2@h/db").expect_err("unsupported");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
