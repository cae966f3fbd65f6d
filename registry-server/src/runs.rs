//! `/api/2.0/mlflow/runs/*` and `/metrics/get-history`: runs, params, tags, metrics,
//! batch logging, inputs/outputs, and run search.

use std::collections::HashMap;

use crate::sql::Builder;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, extract::State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;

use crate::AppState;
use crate::db::now_ms;
use crate::error::{Error, Result};
use crate::experiments::{self, parse_experiment_id, view_type_de};
use crate::extract::{KeyValue, Msg, opt_f64, opt_i64, opt_string, required, ser_f64, string_list};
use crate::names;
use crate::search::{self, Comparison, Entity, Op};
use crate::validate;

mod query;
mod render;

pub use render::load;
pub(crate) use render::metric_value;
use render::*;

/// Routes of this module, relative to `/api/2.0/mlflow`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/runs/create", post(create))
        .route("/runs/get", get(get_run))
        .route("/runs/update", post(update))
        .route("/runs/delete", post(delete))
        .route("/runs/restore", post(restore))
        .route("/runs/search", post(query::search).get(query::search))
        .route("/runs/log-metric", post(log_metric))
        .route("/runs/log-parameter", post(log_param))
        .route("/runs/set-tag", post(set_tag))
        .route("/runs/delete-tag", post(delete_tag))
        .route("/runs/log-batch", post(log_batch))
        .route("/runs/log-inputs", post(log_inputs))
        .route("/runs/outputs", post(log_outputs))
        .route("/runs/log-model", post(log_model))
        .route("/metrics/get-history", get(metric_history))
}

/// What writes need to know about a run.
#[derive(Debug, Clone)]
pub struct RunMeta {
    /// Owning experiment.
    pub experiment_id: i64,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Root of the run's artifacts.
    pub artifact_uri: String,
}

/// Looks a run up (any lifecycle stage). Always from the database, one primary-key read: a
/// copy kept in this process would go stale when another replica deletes or restores the run.
pub async fn meta(state: &AppState, run_id: &str) -> Result<RunMeta> {
    let row =
        sqlx::query("SELECT experiment_id, lifecycle_stage, artifact_uri FROM runs WHERE run_uuid = $1")
            .bind(run_id)
            .fetch_optional(&state.db.read)
            .await?
            .ok_or_else(|| Error::not_found(format!("Run with id={run_id} not found")))?;
    Ok(RunMeta {
        experiment_id: row.get("experiment_id"),
        lifecycle_stage: row.get("lifecycle_stage"),
        artifact_uri: row.get("artifact_uri"),
    })
}

/// Looks a run up and fails unless it is active (MLflow's `_check_run_is_active`).
pub async fn active(state: &AppState, run_id: &str) -> Result<RunMeta> {
    let m = meta(state, run_id).await?;
    if m.lifecycle_stage != "active" {
        return Err(Error::InvalidParameter(format!(
            "The run {run_id} must be in the 'active' state. Current state is {}.",
            m.lifecycle_stage
        )));
    }
    Ok(m)
}

// ---- JSON shapes ----

/// `RunInfo` as MLflow serializes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// Same as `run_id` (deprecated field, still sent).
    pub run_uuid: String,
    /// Run id (32 hex digits).
    pub run_id: String,
    /// Display name.
    pub run_name: String,
    /// Owning experiment id.
    pub experiment_id: String,
    /// Who ran it.
    pub user_id: String,
    /// RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.
    pub status: String,
    /// Milliseconds since the epoch.
    pub start_time: i64,
    /// Milliseconds since the epoch, once ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Root URI of the run's artifacts.
    pub artifact_uri: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

/// A metric value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metric {
    /// Name.
    pub key: String,
    /// Value; NaN and infinities are written as "NaN", "Infinity", "-Infinity".
    #[serde(serialize_with = "ser_f64")]
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// Training step.
    pub step: i64,
    /// Dataset name, when logged against one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    /// Dataset digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
    /// Logged model id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// Run id (history responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

// ---- handlers ----

#[derive(Debug, Deserialize)]
struct CreateReq {
    #[serde(default, deserialize_with = "opt_string")]
    experiment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    user_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    run_name: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    start_time: Option<i64>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

const RUN_NAME_TAG: &str = "mlflow.runName";

async fn create(State(state): State<AppState>, Msg(req): Msg<CreateReq>) -> Result<Response> {
    let exp_id = parse_experiment_id(req.experiment_id.as_deref().unwrap_or("0"))?;
    let exp = experiments::load(&state, exp_id).await?;
    if exp.lifecycle_stage != "active" {
        return Err(Error::InvalidParameter(format!(
            "The experiment {exp_id} must be in the 'active' state. Current state is {}.",
            exp.lifecycle_stage
        )));
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    for (i, t) in req.tags.iter().enumerate() {
        let key = validate::name(t.key.as_deref(), &format!("tags[{i}].key"))?;
        let value = t.value.clone().unwrap_or_default();
        validate::max_len(&format!("tags[{i}].value"), &value, validate::MAX_TAG_VALUE_LEN)?;
        tags.retain(|(k, _)| k != &key);
        tags.push((key, value));
    }
    let tag_name = tags.iter().find(|(k, _)| k == RUN_NAME_TAG).map(|(_, v)| v.clone());
    let run_name = req.run_name.clone().filter(|n| !n.is_empty());
    if let (Some(a), Some(b)) = (&run_name, &tag_name)
        && a != b
    {
        return Err(Error::invalid(format!(
            "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='{a}', mlflow.runName='{b}')."
        )));
    }
    let name = run_name.or(tag_name.clone()).unwrap_or_else(names::random_run_name);
    if tag_name.is_none() {
        tags.push((RUN_NAME_TAG.to_string(), name.clone()));
    }
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let artifact_uri = format!("{}/{run_id}/artifacts", exp.artifact_location.trim_end_matches('/'));
    let start_time = req.start_time.unwrap_or_else(now_ms);
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, artifact_uri, lifecycle_stage)
         VALUES ($1, $2, $3, $4, 'RUNNING', $5, $6, 'active')",
    )
    .bind(&run_id)
    .bind(exp_id)
    .bind(&name)
    .bind(req.user_id.clone().unwrap_or_default())
    .bind(start_time)
    .bind(&artifact_uri)
    .execute(&mut *tx)
    .await?;
    for (k, v) in &tags {
        sqlx::query("INSERT INTO tags (run_uuid, key, value) VALUES ($1, $2, $3)")
            .bind(&run_id)
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let (_, run) = load(&state, &run_id).await?;
    Ok(json_text(format!("{{\"run\":{run}}}")))
}

#[derive(Debug, Deserialize)]
struct RunIdReq {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    run_uuid: Option<String>,
}

impl RunIdReq {
    fn id(&self) -> Result<&str> {
        run_id_of(&self.run_id, &self.run_uuid)
    }
}

fn run_id_of<'a>(run_id: &'a Option<String>, run_uuid: &'a Option<String>) -> Result<&'a str> {
    match (run_id.as_deref(), run_uuid.as_deref()) {
        (Some(id), _) if !id.is_empty() => Ok(id),
        (_, Some(id)) if !id.is_empty() => Ok(id),
        _ => required(&None, "run_id"),
    }
}

async fn get_run(State(state): State<AppState>, Msg(req): Msg<RunIdReq>) -> Result<Response> {
    let (_, run) = load(&state, req.id()?).await?;
    Ok(json_text(format!("{{\"run\":{run}}}")))
}

#[derive(Debug, Deserialize)]
struct UpdateReq {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    run_uuid: Option<String>,
    #[serde(default, deserialize_with = "status_de")]
    status: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    end_time: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    run_name: Option<String>,
}

const STATUSES: [&str; 5] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

fn status_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    let s = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i @ 1..=5) => STATUSES[(i - 1) as usize].to_string(),
            _ => String::new(),
        },
        Some(_) => String::new(),
    };
    if STATUSES.contains(&s.as_str()) {
        Ok(Some(s))
    } else {
        Err(serde::de::Error::custom(format!(
            "unknown run status '{s}': use one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"
        )))
    }
}

async fn update(State(state): State<AppState>, Msg(req): Msg<UpdateReq>) -> Result<Json<Value>> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?.to_string();
    active(&state, &run_id).await?;
    let mut tx = state.db.begin().await?;
    if let Some(status) = &req.status {
        sqlx::query("UPDATE runs SET status = $1 WHERE run_uuid = $2")
            .bind(status)
            .bind(&run_id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(end) = req.end_time {
        sqlx::query("UPDATE runs SET end_time = $1 WHERE run_uuid = $2")
            .bind(end)
            .bind(&run_id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(name) = req.run_name.as_deref().filter(|n| !n.is_empty()) {
        sqlx::query("UPDATE runs SET name = $1 WHERE run_uuid = $2")
            .bind(name)
            .bind(&run_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO tags (run_uuid, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value")
            .bind(&run_id)
            .bind(RUN_NAME_TAG)
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let (info, _) = load(&state, &run_id).await?;
    Ok(Json(json!({"run_info": info})))
}

async fn set_run_lifecycle(state: &AppState, run_id: &str, to: &str) -> Result<Json<Value>> {
    meta(state, run_id).await?;
    let deleted_time = if to == "deleted" { Some(now_ms()) } else { None };
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE run_uuid = $3")
        .bind(to)
        .bind(deleted_time)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(json!({})))
}

async fn delete(State(state): State<AppState>, Msg(req): Msg<RunIdReq>) -> Result<Json<Value>> {
    set_run_lifecycle(&state, req.id()?, "deleted").await
}

async fn restore(State(state): State<AppState>, Msg(req): Msg<RunIdReq>) -> Result<Json<Value>> {
    set_run_lifecycle(&state, req.id()?, "active").await
}

// ---- logging ----

#[derive(Debug, Deserialize)]
struct MetricReq {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    run_uuid: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    key: Option<String>,
    #[serde(default, deserialize_with = "opt_f64")]
    value: Option<f64>,
    #[serde(default, deserialize_with = "opt_i64")]
    timestamp: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    step: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    model_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    dataset_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    dataset_digest: Option<String>,
}

/// A validated metric ready to insert.
#[derive(Debug)]
pub struct NewMetric {
    key: String,
    value: f64,
    is_nan: bool,
    timestamp: i64,
    step: i64,
    model_id: Option<String>,
    dataset_name: Option<String>,
    dataset_digest: Option<String>,
}

fn check_metric(m: &MetricReq, path: &str) -> Result<NewMetric> {
    let p = |field: &str| if path.is_empty() { field.to_string() } else { format!("{path}.{field}") };
    let key = validate::name(m.key.as_deref(), &p("key"))?;
    let value = m.value.ok_or_else(|| crate::extract::missing(&p("value")))?;
    let timestamp = m.timestamp.ok_or_else(|| crate::extract::missing(&p("timestamp")))?;
    if timestamp < 0 {
        return Err(Error::invalid(format!(
            "Invalid value {timestamp} for parameter '{}' supplied: metric '{key}' (value={value}). Timestamp must be a nonnegative long (64-bit integer) ",
            p("timestamp")
        )));
    }
    let (value, is_nan) = if value.is_nan() {
        (0.0, true)
    } else if value.is_infinite() {
        (if value > 0.0 { f64::MAX } else { f64::MIN }, false)
    } else {
        (value, false)
    };
    Ok(NewMetric {
        key,
        value,
        is_nan,
        timestamp,
        step: m.step.unwrap_or(0),
        model_id: m.model_id.clone().filter(|s| !s.is_empty()),
        dataset_name: m.dataset_name.clone().filter(|s| !s.is_empty()),
        dataset_digest: m.dataset_digest.clone().filter(|s| !s.is_empty()),
    })
}

fn insert_metric<'q>(
    run_id: &'q str,
    m: &'q NewMetric,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(
        "INSERT INTO metrics (run_uuid, key, value, value_bits, is_nan, timestamp, step, model_id, dataset_name, dataset_digest)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
    )
    .bind(run_id)
    .bind(&m.key)
    .bind(m.value)
    .bind(m.value.to_bits() as i64)
    .bind(m.is_nan as i64)
    .bind(m.timestamp)
    .bind(m.step)
    .bind(&m.model_id)
    .bind(&m.dataset_name)
    .bind(&m.dataset_digest)
}

async fn log_metric(State(state): State<AppState>, Msg(req): Msg<MetricReq>) -> Result<Json<Value>> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?.to_string();
    let metric = check_metric(&req, "")?;
    active(&state, &run_id).await?;
    state.metric_writer.write(run_id, metric).await?;
    Ok(Json(json!({})))
}

/// Group commit for single-metric logging: concurrent `log-metric` calls are written in
/// one transaction, so throughput does not stop at one commit per request.
#[derive(Debug)]
pub struct MetricWriter {
    jobs: tokio::sync::mpsc::Sender<MetricJob>,
}

#[derive(Debug)]
struct MetricJob {
    run_id: String,
    metric: NewMetric,
    done: tokio::sync::oneshot::Sender<Result<()>>,
}

impl MetricWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(db: crate::db::Db) -> Self {
        let (jobs, mut rx) = tokio::sync::mpsc::channel::<MetricJob>(4096);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(256);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < 256 {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let outcome = Self::write_batch(&db, &batch).await;
                for job in batch.drain(..) {
                    let result = match &outcome {
                        Ok(()) => Ok(()),
                        // Retry alone so that one bad row does not fail its neighbours.
                        Err(_) => Self::write_one(&db, &job).await,
                    };
                    let _ = job.done.send(result);
                }
            }
        });
        Self { jobs }
    }

    /// One metric on its own. On SQLite a bare statement (its own transaction, serialized by
    /// SQLite's lock); on PostgreSQL inside an ingest transaction, so that it never lands in
    /// the middle of an exclusive one (such as the run-JSON cache fill).
    async fn write_one(db: &crate::db::Db, job: &MetricJob) -> Result<()> {
        if db.backend == crate::db::Backend::Sqlite {
            insert_metric(&job.run_id, &job.metric).execute(&db.write).await?;
            return Ok(());
        }
        let mut tx = db.begin_ingest().await?;
        insert_metric(&job.run_id, &job.metric).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn write_batch(db: &crate::db::Db, batch: &[MetricJob]) -> Result<()> {
        if let [job] = batch {
            return Self::write_one(db, job).await;
        }
        // By run and key, so that batches written side by side (PostgreSQL) take their
        // latest-metric rows in one order and cannot deadlock; a key's points keep theirs.
        let mut order: Vec<&MetricJob> = batch.iter().collect();
        order.sort_by(|a, b| (&a.run_id, &a.metric.key).cmp(&(&b.run_id, &b.metric.key)));
        let mut tx = db.begin_ingest().await?;
        for job in order {
            insert_metric(&job.run_id, &job.metric).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Queues one metric and waits until it is committed.
    pub async fn write(&self, run_id: String, metric: NewMetric) -> Result<()> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.jobs
            .send(MetricJob { run_id, metric, done })
            .await
            .map_err(|_| Error::internal("metric writer stopped"))?;
        wait.await.map_err(|_| Error::internal("metric writer dropped a job"))?
    }
}

#[derive(Debug, Deserialize)]
struct ParamReq {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    run_uuid: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    value: Option<String>,
}

/// Inserts params, refusing to change an existing value (MLflow's rule).
async fn insert_params(
    conn: &mut sqlx::AnyConnection,
    run_id: &str,
    params: &[(String, String)],
) -> Result<()> {
    for (key, value) in params {
        // Insert first, then compare what is stored: two writers logging one key at once
        // (ingest may run side by side on PostgreSQL) cannot both believe they set it.
        let inserted = sqlx::query(
            "INSERT INTO params (run_uuid, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_uuid, key) DO NOTHING",
        )
        .bind(run_id)
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if inserted == 1 {
            continue;
        }
        let old: String = sqlx::query_scalar("SELECT value FROM params WHERE run_uuid = $1 AND key = $2")
            .bind(run_id)
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        if &old != value {
            return Err(Error::invalid(format!(
                "Changing param values is not allowed. Param with key='{key}' was already logged with value='{old}' for run ID='{run_id}'. Attempted logging new value '{value}'."
            )));
        }
    }
    Ok(())
}

async fn log_param(State(state): State<AppState>, Msg(req): Msg<ParamReq>) -> Result<Json<Value>> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?.to_string();
    let key = validate::name(req.key.as_deref(), "key")?;
    let value = req.value.clone().unwrap_or_default();
    validate::max_len("Param value", &value, validate::MAX_PARAM_VALUE_LEN)?;
    active(&state, &run_id).await?;
    let mut tx = state.db.begin_ingest().await?;
    insert_params(&mut tx, &run_id, &[(key, value)]).await?;
    tx.commit().await?;
    Ok(Json(json!({})))
}

async fn upsert_tag(conn: &mut sqlx::AnyConnection, run_id: &str, key: &str, value: &str) -> Result<()> {
    sqlx::query("INSERT INTO tags (run_uuid, key, value) VALUES ($1, $2, $3) ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value")
        .bind(run_id)
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    if key == RUN_NAME_TAG {
        sqlx::query("UPDATE runs SET name = $1 WHERE run_uuid = $2")
            .bind(value)
            .bind(run_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn set_tag(State(state): State<AppState>, Msg(req): Msg<ParamReq>) -> Result<Json<Value>> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?.to_string();
    let key = validate::name(req.key.as_deref(), "key")?;
    let value = req.value.clone().unwrap_or_default();
    validate::max_len("value", &value, validate::MAX_TAG_VALUE_LEN)?;
    active(&state, &run_id).await?;
    let mut tx = state.db.begin_ingest().await?;
    upsert_tag(&mut tx, &run_id, &key, &value).await?;
    tx.commit().await?;
    Ok(Json(json!({})))
}

async fn delete_tag(State(state): State<AppState>, Msg(req): Msg<ParamReq>) -> Result<Json<Value>> {
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?.to_string();
    let key = required(&req.key, "key")?;
    active(&state, &run_id).await?;
    let mut tx = state.db.begin_ingest().await?;
    let done = sqlx::query("DELETE FROM tags WHERE run_uuid = $1 AND key = $2")
        .bind(&run_id)
        .bind(key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!("No tag with name: {key} in run with id {run_id}")));
    }
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct BatchReq {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default)]
    metrics: Vec<MetricReq>,
    #[serde(default)]
    params: Vec<KeyValue>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

fn batch_limit(what: &str, limit: usize, n: usize) -> Result<()> {
    if n > limit {
        return Err(Error::invalid(format!(
            "A batch logging request can contain at most {limit} {what}. Got {n} {what}. Please split up {what} across multiple requests and try again."
        )));
    }
    Ok(())
}

async fn log_batch(State(state): State<AppState>, Msg(req): Msg<BatchReq>) -> Result<Json<Value>> {
    let run_id = required(&req.run_id, "run_id")?.to_string();
    batch_limit("metrics", 1000, req.metrics.len())?;
    batch_limit("params", 100, req.params.len())?;
    batch_limit("tags", 100, req.tags.len())?;
    batch_limit("metrics, params, and tags", 1000, req.metrics.len() + req.params.len() + req.tags.len())?;
    let metrics = req
        .metrics
        .iter()
        .enumerate()
        .map(|(i, m)| check_metric(m, &format!("metrics[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    let mut params: Vec<(String, String)> = Vec::new();
    let mut dupes = Vec::new();
    for (i, p) in req.params.iter().enumerate() {
        let key = validate::name(p.key.as_deref(), &format!("params[{i}].key"))?;
        let value = p.value.clone().unwrap_or_default();
        validate::max_len("Param value", &value, validate::MAX_PARAM_VALUE_LEN)?;
        if params.iter().any(|(k, _)| k == &key) {
            dupes.push(key.clone());
        }
        params.push((key, value));
    }
    if !dupes.is_empty() {
        return Err(Error::invalid(format!(
            "Duplicate parameter keys have been submitted: {dupes:?}. Please ensure the request contains only one param value per param key."
        )));
    }
    let mut tags = Vec::new();
    for (i, t) in req.tags.iter().enumerate() {
        let key = validate::name(t.key.as_deref(), &format!("tags[{i}].key"))?;
        let value = t.value.clone().unwrap_or_default();
        validate::max_len(&format!("tags[{i}].value"), &value, validate::MAX_TAG_VALUE_LEN)?;
        tags.push((key, value));
    }
    active(&state, &run_id).await?;
    // By key, so two batches to one run take their latest-metric rows in the same order (on
    // PostgreSQL they may run side by side); a key's points keep their order.
    let mut metrics = metrics;
    metrics.sort_by(|a, b| a.key.cmp(&b.key));
    let mut tx = state.db.begin_ingest().await?;
    insert_params(&mut tx, &run_id, &params).await?;
    for m in &metrics {
        insert_metric(&run_id, m).execute(&mut *tx).await?;
    }
    for (k, v) in &tags {
        upsert_tag(&mut tx, &run_id, k, v).await?;
    }
    tx.commit().await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct InputsReq {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default)]
    datasets: Vec<Value>,
    #[serde(default)]
    models: Vec<Value>,
}

async fn append_io(state: &AppState, run_id: &str, items: Vec<(&str, Value)>) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let start: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(position), -1) + 1 FROM run_inputs WHERE run_uuid = $1")
            .bind(run_id)
            .fetch_one(&mut *tx)
            .await?;
    for (i, (kind, body)) in items.into_iter().enumerate() {
        sqlx::query("INSERT INTO run_inputs (run_uuid, position, kind, body) VALUES ($1, $2, $3, $4)")
            .bind(run_id)
            .bind(start + i as i64)
            .bind(kind)
            .bind(body.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn log_inputs(State(state): State<AppState>, Msg(req): Msg<InputsReq>) -> Result<Json<Value>> {
    let run_id = required(&req.run_id, "run_id")?.to_string();
    for (i, d) in req.datasets.iter().enumerate() {
        let ok = d.get("dataset").and_then(|ds| ds.get("name")).is_some_and(Value::is_string);
        if !ok {
            return Err(Error::invalid(format!(
                "Invalid value for parameter 'datasets[{i}]': each dataset input needs dataset.name"
            )));
        }
    }
    active(&state, &run_id).await?;
    let items = req
        .datasets
        .into_iter()
        .map(|d| ("dataset", d))
        .chain(req.models.into_iter().map(|m| ("model", m)))
        .collect();
    append_io(&state, &run_id, items).await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct OutputsReq {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default)]
    models: Option<Vec<Value>>,
}

async fn log_outputs(State(state): State<AppState>, Msg(req): Msg<OutputsReq>) -> Result<Json<Value>> {
    let run_id = required(&req.run_id, "run_id")?.to_string();
    let models = req.models.ok_or_else(|| crate::extract::missing("models"))?;
    active(&state, &run_id).await?;
    append_io(&state, &run_id, models.into_iter().map(|m| ("output", m)).collect()).await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct LogModelReq {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    model_json: Option<String>,
}

async fn log_model(State(state): State<AppState>, Msg(req): Msg<LogModelReq>) -> Result<Json<Value>> {
    let run_id = required(&req.run_id, "run_id")?.to_string();
    let model_json = required(&req.model_json, "model_json")?;
    let model: Value = serde_json::from_str(model_json).map_err(|_| {
        Error::invalid(format!("Malformed model info. \n {model_json} \n is not a valid JSON."))
    })?;
    let missing: Vec<&str> = ["artifact_path", "flavors", "utc_time_created", "run_id"]
        .into_iter()
        .filter(|k| model.get(k).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(format!("Model json is missing mandatory fields: {missing:?}")));
    }
    active(&state, &run_id).await?;
    // MLflow appends the model to the run's `mlflow.log-model.history` tag: read, then
    // write, with no other writer between.
    let mut conn = state.db.begin().await?;
    let old: Option<String> =
        sqlx::query_scalar("SELECT value FROM tags WHERE run_uuid = $1 AND key = 'mlflow.log-model.history'")
            .bind(&run_id)
            .fetch_optional(&mut *conn)
            .await?;
    let mut history: Vec<Value> = old.and_then(|o| serde_json::from_str(&o).ok()).unwrap_or_default();
    history.push(model);
    let value = Value::Array(history).to_string();
    upsert_tag(&mut conn, &run_id, "mlflow.log-model.history", &value).await?;
    conn.commit().await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct HistoryReq {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    run_uuid: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    metric_key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    page_token: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    max_results: Option<i64>,
}

/// Streams the rows into the JSON text one by one: a history of 100 000 points used to be
/// held three times over (rows, structs, a `serde_json::Value` tree: ~80 MB at the peak),
/// now only the text is (~8 MB).
async fn metric_history(State(state): State<AppState>, Msg(req): Msg<HistoryReq>) -> Result<Response> {
    use futures_util::TryStreamExt;
    let run_id = run_id_of(&req.run_id, &req.run_uuid)?.to_string();
    let key = required(&req.metric_key, "metric_key")?.to_string();
    if let Some(n) = req.max_results
        && n <= 0
    {
        return Err(Error::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer."
        )));
    }
    meta(&state, &run_id).await?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let limit = req.max_results.unwrap_or(i64::MAX / 2);
    let mut rows = sqlx::query(
        "SELECT key, value_bits, is_nan, timestamp, step, model_id, dataset_name, dataset_digest FROM metrics
         WHERE run_uuid = $1 AND key = $2 ORDER BY step, timestamp, rowid LIMIT $3 OFFSET $4",
    )
    .bind(&run_id)
    .bind(&key)
    .bind(limit.saturating_add(1))
    .bind(offset)
    .fetch(&state.db.read);
    let mut out = b"{".to_vec();
    let mut count = 0i64;
    while let Some(row) = rows.try_next().await? {
        if count == limit {
            count += 1;
            break;
        }
        out.extend_from_slice(if count == 0 { b"\"metrics\":[" } else { b"," });
        count += 1;
        let metric = Metric {
            key: row.get("key"),
            value: metric_value(&row),
            timestamp: row.get("timestamp"),
            step: row.get("step"),
            model_id: row.get("model_id"),
            dataset_name: row.get("dataset_name"),
            dataset_digest: row.get("dataset_digest"),
            run_id: Some(run_id.clone()),
        };
        serde_json::to_writer(&mut out, &metric).map_err(Error::internal)?;
    }
    drop(rows);
    if count > 0 {
        out.push(b']');
    }
    if count > limit {
        // `count > limit ≥ 1`: metrics precede the token.
        out.extend_from_slice(b",\"next_page_token\":\"");
        out.extend_from_slice(search::encode_page_token(offset + limit).as_bytes());
        out.push(b'"');
    }
    out.push(b'}');
    Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response())
}
