//! The audit log: one row per write, registry change and admin action (and per refused
//! attempt by a known token), with who, when and what.
//!
//! Rows are written by one task in group commits, like single metrics: the request waits
//! until its row is committed, so an acknowledged change always has its audit row, and many
//! concurrent writes share one transaction.
//!
//! Route (admin scope): `GET /v1/audit?actor=&route=&method=&status=&since_ms=&until_ms=&max_results=&page_token=`.

use crate::sql::Builder;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use crate::AppState;
use crate::db::{Backend, Db};
use crate::error::{Error, Result};
use crate::extract::{Msg, opt_i64, opt_string};

/// One audited request.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// When it arrived (ms since the epoch).
    pub time_ms: i64,
    /// The token's name, or `anonymous` when auth is off.
    pub actor: String,
    /// The token's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Route template, e.g. `/api/2.0/mlflow/model-versions/transition-stage`.
    pub route: String,
    /// The path requested.
    pub path: String,
    /// The answer's status.
    pub status: u16,
    /// Identifying fields of the request (name, version, stage, run_id, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// The client's address, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

#[derive(Debug)]
struct Job {
    entry: AuditEntry,
    done: oneshot::Sender<Result<()>>,
}

/// Writer of audit rows (group commit on the write pool).
#[derive(Debug)]
pub struct AuditLog {
    jobs: mpsc::Sender<Job>,
}

/// Most rows per transaction (10 binds each, far below SQLite's 32,766).
const MAX_BATCH: usize = 256;

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db) -> Self {
        let (jobs, mut rx) = mpsc::channel::<Job>(4096);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let outcome = insert(&db, &batch).await;
                for job in batch.drain(..) {
                    let result = match &outcome {
                        Ok(()) => Ok(()),
                        Err(err) => Err(Error::internal(format!("audit log: {err}"))),
                    };
                    let _ = job.done.send(result);
                }
            }
        });
        Self { jobs }
    }

    /// Writes `entry` and waits until it is committed.
    ///
    /// # Errors
    /// The writer is gone or the insert failed.
    pub async fn record(&self, entry: AuditEntry) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.jobs.send(Job { entry, done }).await.map_err(|_| Error::internal("audit writer stopped"))?;
        wait.await.map_err(|_| Error::internal("audit writer stopped"))?
    }

    /// [`record`](Self::record), logging a failure at ERROR instead of returning it: the
    /// request it describes has already been answered by the handler.
    pub async fn record_logged(&self, entry: AuditEntry) {
        let what = format!("{} {} by {}", entry.method, entry.path, entry.actor);
        if let Err(err) = self.record(entry).await {
            tracing::error!(%err, what, "could not write the audit log");
        }
    }
}

async fn insert(db: &Db, batch: &[Job]) -> Result<()> {
    let mut qb = Builder::new(
        db.backend,
        "INSERT INTO audit_log (time_ms, actor, token_id, method, route, path, status, details, remote) ",
    );
    qb.push_values(batch, |mut b, job| {
        let e = &job.entry;
        b.push_bind(e.time_ms)
            .push_bind(&e.actor)
            .push_bind(&e.token_id)
            .push_bind(&e.method)
            .push_bind(&e.route)
            .push_bind(&e.path)
            .push_bind(i64::from(e.status))
            .push_bind(e.details.as_ref().map(Value::to_string))
            .push_bind(&e.remote);
    });
    qb.build()?.execute(&db.write).await?;
    Ok(())
}

/// Filters of `GET /v1/audit`.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// Only this actor (token name or `anonymous`).
    #[serde(default, deserialize_with = "opt_string")]
    pub actor: Option<String>,
    /// Only routes containing this text, e.g. `model-versions`.
    #[serde(default, deserialize_with = "opt_string")]
    pub route: Option<String>,
    /// Only this method.
    #[serde(default, deserialize_with = "opt_string")]
    pub method: Option<String>,
    /// Only this status (e.g. 403 for refused attempts).
    #[serde(default, deserialize_with = "opt_i64")]
    pub status: Option<i64>,
    /// From this time (ms, inclusive).
    #[serde(default, deserialize_with = "opt_i64")]
    pub since_ms: Option<i64>,
    /// Until this time (ms, exclusive).
    #[serde(default, deserialize_with = "opt_i64")]
    pub until_ms: Option<i64>,
    /// Page size (default 100, at most 1000).
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    /// `next_page_token` of the previous page.
    #[serde(default, deserialize_with = "opt_string")]
    pub page_token: Option<String>,
}

/// One page of audit rows, newest first, and the token of the next page.
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad page size or token; database errors.
pub async fn query(db: &Db, q: &AuditQuery) -> Result<(Vec<Value>, Option<String>)> {
    let limit = q.max_results.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid(format!("'max_results' must be 1 to 1000, got {limit}")));
    }
    let before = q
        .page_token
        .as_deref()
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| Error::invalid(format!("'page_token' '{t}' is not one this server gave")))
        })
        .transpose()?;
    let mut qb = Builder::new(
        db.backend,
        "SELECT id, time_ms, actor, token_id, method, route, path, status, details, remote FROM audit_log WHERE 1 = 1",
    );
    if let Some(actor) = &q.actor {
        qb.push(" AND actor = ").push_bind(actor);
    }
    if let Some(route) = &q.route {
        let find = match db.backend {
            Backend::Sqlite => " AND instr(route, ",
            Backend::Postgres => " AND strpos(route, ",
        };
        qb.push(find).push_bind(route).push(") > 0");
    }
    if let Some(method) = &q.method {
        qb.push(" AND method = ").push_bind(method.to_ascii_uppercase());
    }
    if let Some(status) = q.status {
        qb.push(" AND status = ").push_bind(status);
    }
    if let Some(since) = q.since_ms {
        qb.push(" AND time_ms >= ").push_bind(since);
    }
    if let Some(until) = q.until_ms {
        qb.push(" AND time_ms < ").push_bind(until);
    }
    if let Some(before) = before {
        qb.push(" AND id < ").push_bind(before);
    }
    qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
    let rows = qb.build()?.fetch_all(&db.read).await?;
    let mut events = Vec::with_capacity(rows.len());
    let mut last_id = None;
    for row in rows.iter().take(limit as usize) {
        let details: Option<String> = row.try_get("details")?;
        let id: i64 = row.try_get("id")?;
        last_id = Some(id);
        events.push(json!({
            "id": id,
            "time_ms": row.try_get::<i64, _>("time_ms")?,
            "actor": row.try_get::<String, _>("actor")?,
            "token_id": row.try_get::<Option<String>, _>("token_id")?,
            "method": row.try_get::<String, _>("method")?,
            "route": row.try_get::<String, _>("route")?,
            "path": row.try_get::<String, _>("path")?,
            "status": row.try_get::<i64, _>("status")?,
            "details": details.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok()),
            "remote": row.try_get::<Option<String>, _>("remote")?,
        }));
    }
    let next = (rows.len() as i64 > limit).then(|| last_id.map(|id| id.to_string())).flatten();
    Ok((events, next))
}

/// `GET /v1/audit`.
pub async fn handler(State(state): State<AppState>, Msg(q): Msg<AuditQuery>) -> Result<Json<Value>> {
    let (events, next) = query(&state.db, &q).await?;
    let mut answer = json!({ "events": events });
    if let Some(next) = next {
        answer["next_page_token"] = Value::String(next);
    }
    Ok(Json(answer))
}
