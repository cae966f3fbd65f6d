//! Readiness: `GET /ready` answers 200 when the database answers a query and the artifact
//! store is usable, 503 naming the failing check otherwise. (Liveness, `GET /health`, is
//! MLflow's plain `OK` and touches nothing.)

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router, extract::State};
use serde_json::{Value, json};

use crate::AppState;

/// How long one check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /ready`.
pub fn router() -> Router<AppState> {
    Router::new().route("/ready", get(ready))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let (database, artifacts) = tokio::join!(check_database(&state), check_artifacts(&state));
    let ok = database.is_ok() && artifacts.is_ok();
    let body = json!({
        "status": if ok { "ready" } else { "not ready" },
        "checks": {"database": shown(database), "artifacts": shown(artifacts)},
    });
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}

fn shown(check: Result<(), String>) -> Value {
    match check {
        Ok(()) => json!({"status": "ok"}),
        Err(error) => json!({"status": "failing", "error": error}),
    }
}

/// A query on the read pool, and a write pool that is still open (not a query: the one
/// writer may be busy with a long ingest, which is no reason to take the server out).
async fn check_database(state: &AppState) -> Result<(), String> {
    if state.db.write.is_closed() {
        return Err("the write connection pool is closed".into());
    }
    let query = sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&state.db.read);
    match tokio::time::timeout(CHECK_TIMEOUT, query).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(sqlx::Error::PoolClosed)) => Err("the read connection pool is closed".into()),
        Ok(Err(err)) => {
            tracing::warn!(%err, "readiness: database query failed");
            Err("the database did not answer a query; the details are in the server log".into())
        }
        Err(_) => Err(format!("the database did not answer within {} s", CHECK_TIMEOUT.as_secs())),
    }
}

async fn check_artifacts(state: &AppState) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, state.artifacts.probe()).await {
        Ok(result) => result,
        Err(_) => Err(format!("the artifact store did not answer within {} s", CHECK_TIMEOUT.as_secs())),
    }
}
