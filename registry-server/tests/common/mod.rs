//! The store each integration test opens: a SQLite file in the test's own folder, or — when
//! `RAGASENSE_TEST_POSTGRES` names a PostgreSQL server (e.g. the URI that
//! `tests/postgres-loopback.sh start` prints) — a fresh database of the test's own there.
//! `scripts/test.sh` runs these suites both ways.

use std::path::Path;

use registry_server::db::StoreUri;
use registry_server::{AppState, Settings};
use sqlx::Connection;

/// The environment variable naming a PostgreSQL server to test against.
pub const POSTGRES_ENV: &str = "RAGASENSE_TEST_POSTGRES";

/// A new, empty store for a test whose files live in `dir`.
pub async fn store(dir: &Path) -> StoreUri {
    let Some(base) = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty()) else {
        return StoreUri::Sqlite(dir.join("mlruns.db"));
    };
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base).await.unwrap_or_else(|e| panic!("{POSTGRES_ENV}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
    let (server, _) = base.rsplit_once('/').expect("a URI ending in /database");
    StoreUri::parse(&format!("{server}/{name}")).expect("store uri")
}

/// An app state on a new store, artifacts in `dir/artifacts`.
pub async fn open(dir: &Path, settings: Settings) -> AppState {
    // The server's log, shown for failing tests (a 500's details are only there).
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let artifacts = dir.join("artifacts");
    AppState::connect(&store(dir).await, artifacts.to_str().expect("utf-8 path"), settings)
        .await
        .expect("open state")
}
