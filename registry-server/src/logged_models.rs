//! `/api/2.0/mlflow/logged-models*`: MLflow 3's logged models, which `mlflow.<flavor>.log_model`
//! creates, fills with artifacts through the proxy, and finalizes.

use crate::sql::Builder;
use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use crate::AppState;
use crate::db::now_ms;
use crate::error::{Error, Result};
use crate::experiments::{self, parse_experiment_id};
use crate::extract::{KeyValue, Msg, UrlPath, opt_i64, opt_string, required, string_list};
use crate::search::{self, Entity};
use crate::validate;

/// Routes relative to `/api/2.0/mlflow`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logged-models", post(create))
        .route("/logged-models/search", post(search))
        .route("/logged-models/{model_id}", get(get_model).patch(finalize).delete(delete_model))
        .route("/logged-models/{model_id}/tags", axum::routing::patch(set_tags).post(set_tags))
        .route("/logged-models/{model_id}/tags/{tag_key}", delete(delete_tag))
        .route("/logged-models/{model_id}/params", post(log_params))
        .route("/logged-models/{model_id}/artifacts/directories", get(list_artifacts))
}

const STATUSES: [&str; 4] = [
    "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
];

/// Artifact URI of a logged model, if it exists.
pub async fn artifact_uri(state: &AppState, model_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT artifact_uri FROM logged_models WHERE model_id = $1")
        .bind(model_id)
        .fetch_optional(&state.db.read)
        .await?)
}

async fn load(state: &AppState, model_id: &str, allow_deleted: bool) -> Result<Value> {
    let row = sqlx::query(
        "SELECT model_id, experiment_id, name, artifact_uri, status, model_type, source_run_id, status_message,
                lifecycle_stage, creation_time, last_update_time FROM logged_models WHERE model_id = $1",
    )
    .bind(model_id)
    .fetch_optional(&state.db.read)
    .await?
    .filter(|r| allow_deleted || r.get::<&str, _>("lifecycle_stage") == "active")
    .ok_or_else(|| Error::not_found(format!("Logged model with ID '{model_id}' not found.")))?;
    let tags = key_values(state, "logged_model_tags", model_id).await?;
    let params = key_values(state, "logged_model_params", model_id).await?;
    let metrics: Vec<Value> = sqlx::query(
        "SELECT m.run_uuid, m.key, m.value_bits, m.is_nan, m.timestamp, m.step, m.dataset_name, m.dataset_digest
         FROM metrics m WHERE m.model_id = $1 ORDER BY m.key, m.step",
    )
    .bind(model_id)
    .fetch_all(&state.db.read)
    .await?
    .iter()
    .map(|r| {
        let v = crate::runs::metric_value(r);
        let mut m = json!({
            "key": r.get::<String, _>("key"),
            "timestamp": r.get::<i64, _>("timestamp"),
            "step": r.get::<i64, _>("step"),
            "model_id": model_id,
            "run_id": r.get::<String, _>("run_uuid"),
        });
        m["value"] = if v.is_nan() { json!("NaN") } else { json!(v) };
        if let Some(d) = r.get::<Option<String>, _>("dataset_name") {
            m["dataset_name"] = json!(d);
        }
        if let Some(d) = r.get::<Option<String>, _>("dataset_digest") {
            m["dataset_digest"] = json!(d);
        }
        m
    })
    .collect();
    let mut info = json!({
        "model_id": row.get::<String, _>("model_id"),
        "experiment_id": row.get::<i64, _>("experiment_id").to_string(),
        "name": row.get::<String, _>("name"),
        "creation_timestamp_ms": row.get::<i64, _>("creation_time"),
        "last_updated_timestamp_ms": row.get::<i64, _>("last_update_time"),
        "artifact_uri": row.get::<String, _>("artifact_uri"),
        "status": row.get::<String, _>("status"),
    });
    for key in ["model_type", "source_run_id", "status_message"] {
        if let Some(v) = row.get::<Option<String>, _>(key) {
            info[key] = json!(v);
        }
    }
    if !tags.is_empty() {
        info["tags"] = json!(tags);
    }
    let mut data = json!({});
    if !params.is_empty() {
        data["params"] = json!(params);
    }
    if !metrics.is_empty() {
        data["metrics"] = json!(metrics);
    }
    Ok(json!({"info": info, "data": data}))
}

#[derive(Debug, Deserialize)]
struct CreateReq {
    #[serde(default, deserialize_with = "opt_string")]
    experiment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    model_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    source_run_id: Option<String>,
    #[serde(default)]
    params: Vec<KeyValue>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

async fn upsert_kv(
    state: &AppState,
    table: &str,
    model_id: &str,
    items: &[KeyValue],
    what: &str,
) -> Result<()> {
    let mut tx = state.db.begin().await?;
    for (i, kv) in items.iter().enumerate() {
        let key = validate::name(kv.key.as_deref(), &format!("{what}[{i}].key"))?;
        sqlx::query(&format!("INSERT INTO {table} (model_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"))
            .bind(model_id)
            .bind(key)
            .bind(kv.value.clone().unwrap_or_default())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn create(State(state): State<AppState>, Msg(req): Msg<CreateReq>) -> Result<Json<Value>> {
    let exp_id = parse_experiment_id(required(&req.experiment_id, "experiment_id")?)?;
    let exp = experiments::load(&state, exp_id).await?;
    if exp.lifecycle_stage != "active" {
        return Err(Error::InvalidState(format!(
            "The experiment {exp_id} must be in the 'active' state. Current state is {}.",
            exp.lifecycle_stage
        )));
    }
    let model_id = format!("m-{}", uuid::Uuid::new_v4().simple());
    let name = req.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(crate::names::random_run_name);
    if name.contains('/') || name.contains(':') {
        return Err(Error::invalid(format!("Invalid model name '{name}'. Names cannot contain '/' or ':'.")));
    }
    let artifact_uri = format!("{}/models/{model_id}/artifacts", exp.artifact_location.trim_end_matches('/'));
    let now = now_ms();
    sqlx::query(
        "INSERT INTO logged_models (model_id, experiment_id, name, artifact_uri, status, model_type, source_run_id, creation_time, last_update_time)
         VALUES ($1, $2, $3, $4, 'LOGGED_MODEL_PENDING', $5, $6, $7, $8)",
    )
    .bind(&model_id)
    .bind(exp_id)
    .bind(&name)
    .bind(&artifact_uri)
    .bind(req.model_type.clone().filter(|s| !s.is_empty()))
    .bind(req.source_run_id.clone().filter(|s| !s.is_empty()))
    .bind(now)
    .bind(now)
    .execute(&state.db.write)
    .await?;
    upsert_kv(&state, "logged_model_params", &model_id, &req.params, "params").await?;
    upsert_kv(&state, "logged_model_tags", &model_id, &req.tags, "tags").await?;
    Ok(Json(json!({"model": load(&state, &model_id, false).await?})))
}

#[derive(Debug, Deserialize)]
struct GetReq {
    #[serde(default, deserialize_with = "crate::extract::opt_bool")]
    allow_deleted: Option<bool>,
}

async fn get_model(
    State(state): State<AppState>,
    UrlPath(model_id): UrlPath<String>,
    Msg(req): Msg<GetReq>,
) -> Result<Json<Value>> {
    Ok(Json(json!({"model": load(&state, &model_id, req.allow_deleted.unwrap_or(false)).await?})))
}

#[derive(Debug, Deserialize)]
struct FinalizeReq {
    #[serde(default)]
    status: Option<Value>,
}

async fn finalize(
    State(state): State<AppState>,
    UrlPath(model_id): UrlPath<String>,
    Msg(req): Msg<FinalizeReq>,
) -> Result<Json<Value>> {
    load(&state, &model_id, false).await?;
    let status = match req.status {
        Some(Value::String(s)) if STATUSES.contains(&s.as_str()) => s,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|i| i < 4) => {
            STATUSES[n.as_u64().unwrap_or(0) as usize].to_string()
        }
        None => return Err(crate::extract::missing("status")),
        Some(other) => {
            return Err(Error::invalid(format!(
                "Invalid value {other} for parameter 'status' supplied: use one of {STATUSES:?}"
            )));
        }
    };
    sqlx::query("UPDATE logged_models SET status = $1, last_update_time = $2 WHERE model_id = $3")
        .bind(&status)
        .bind(now_ms())
        .bind(&model_id)
        .execute(&state.db.write)
        .await?;
    Ok(Json(json!({"model": load(&state, &model_id, false).await?})))
}

async fn delete_model(
    State(state): State<AppState>,
    UrlPath(model_id): UrlPath<String>,
) -> Result<Json<Value>> {
    load(&state, &model_id, false).await?;
    sqlx::query(
        "UPDATE logged_models SET lifecycle_stage = 'deleted', last_update_time = $1 WHERE model_id = $2",
    )
    .bind(now_ms())
    .bind(&model_id)
    .execute(&state.db.write)
    .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct TagsReq {
    #[serde(default)]
    tags: Vec<KeyValue>,
    #[serde(default)]
    params: Vec<KeyValue>,
}

/// `[{key, value}]` rows of a logged model's tags or params table, by key.
async fn key_values(state: &AppState, table: &str, model_id: &str) -> Result<Vec<Value>> {
    Ok(sqlx::query(&format!("SELECT key, value FROM {table} WHERE model_id = $1 ORDER BY key"))
        .bind(model_id)
        .fetch_all(&state.db.read)
        .await?
        .iter()
        .map(|r| json!({"key": r.get::<String, _>("key"), "value": r.get::<String, _>("value")}))
        .collect())
}

async fn set_tags(
    State(state): State<AppState>,
    UrlPath(model_id): UrlPath<String>,
    Msg(req): Msg<TagsReq>,
) -> Result<Json<Value>> {
    load(&state, &model_id, false).await?;
    upsert_kv(&state, "logged_model_tags", &model_id, &req.tags, "tags").await?;
    Ok(Json(json!({})))
}

async fn log_params(
    State(state): State<AppState>,
    UrlPath(model_id): UrlPath<String>,
    Msg(req): Msg<TagsReq>,
) -> Result<Json<Value>> {
    load(&state, &model_id, false).await?;
    upsert_kv(&state, "logged_model_params", &model_id, &req.params, "params").await?;
    Ok(Json(json!({})))
}

async fn delete_tag(
    State(state): State<AppState>,
    UrlPath((model_id, key)): UrlPath<(String, String)>,
) -> Result<Json<Value>> {
    load(&state, &model_id, false).await?;
    let done = sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND key = $2")
        .bind(&model_id)
        .bind(&key)
        .execute(&state.db.write)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!(
            "No tag with key '{key}' found for model with ID '{model_id}'."
        )));
    }
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct ListReq {
    #[serde(default, deserialize_with = "opt_string")]
    artifact_directory_path: Option<String>,
}

async fn list_artifacts(
    State(state): State<AppState>,
    UrlPath(model_id): UrlPath<String>,
    Msg(req): Msg<ListReq>,
) -> Result<Json<Value>> {
    let uri = artifact_uri(&state, &model_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("Logged model with ID '{model_id}' not found.")))?;
    let rel = validate::artifact_path(req.artifact_directory_path.as_deref().unwrap_or(""))?;
    let root = crate::artifacts::storage_path(&uri)?;
    let dir = if rel.is_empty() { root } else { format!("{root}/{rel}") };
    let files: Vec<Value> = state
        .artifacts
        .list(&dir)
        .await?
        .into_iter()
        .map(|f| {
            let path = if rel.is_empty() { f.path } else { format!("{rel}/{}", f.path) };
            let mut v = json!({"path": path, "is_dir": f.is_dir});
            if let Some(s) = f.file_size {
                v["file_size"] = json!(s);
            }
            v
        })
        .collect();
    Ok(Json(if files.is_empty() { json!({}) } else { json!({"files": files}) }))
}

#[derive(Debug, Deserialize)]
struct SearchReq {
    #[serde(default, deserialize_with = "string_list")]
    experiment_ids: Vec<String>,
    #[serde(default, deserialize_with = "opt_string")]
    filter: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    max_results: Option<i64>,
    #[serde(default)]
    order_by: Vec<Value>,
    #[serde(default, deserialize_with = "opt_string")]
    page_token: Option<String>,
}

async fn search(State(state): State<AppState>, Msg(req): Msg<SearchReq>) -> Result<Json<Value>> {
    let limit = search::max_results(req.max_results, 100, 1000)?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let filters = search::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let ids = req.experiment_ids.iter().map(|i| parse_experiment_id(i)).collect::<Result<Vec<_>>>()?;
    let mut qb = Builder::new(
        state.db.backend,
        "SELECT model_id FROM logged_models WHERE lifecycle_stage = 'active' AND experiment_id IN (",
    );
    if ids.is_empty() {
        qb.push("NULL");
    } else {
        let mut sep = qb.separated(", ");
        for id in &ids {
            sep.push_bind(*id);
        }
    }
    qb.push(")");
    for f in &filters {
        let column = match (f.entity, f.key.as_str()) {
            (Entity::Attribute, "name") => "name",
            (Entity::Attribute, "model_id") => "model_id",
            (Entity::Attribute, "model_type") => "model_type",
            (Entity::Attribute, "status") => "status",
            (Entity::Attribute, "source_run_id") => "source_run_id",
            (_, key) => {
                return Err(Error::invalid(format!(
                    "Filtering logged models by '{key}' is not supported: use name, model_id, model_type, status or source_run_id"
                )));
            }
        };
        qb.push(" AND");
        search::push_string_comparison(&mut qb, column, f)?;
    }
    if !req.order_by.is_empty() {
        tracing::debug!("logged-model order_by ignored; newest first");
    }
    qb.push(" ORDER BY creation_time DESC, model_id LIMIT ");
    qb.push_bind(limit + 1);
    qb.push(" OFFSET ");
    qb.push_bind(offset);
    let found: Vec<String> = qb.build_query_scalar()?.fetch_all(&state.db.read).await?;
    let more = found.len() as i64 > limit;
    let mut models = Vec::new();
    for id in found.iter().take(limit as usize) {
        models.push(load(&state, id, false).await?);
    }
    let mut body = json!({});
    if !models.is_empty() {
        body["models"] = json!(models);
    }
    if more {
        body["next_page_token"] = json!(search::encode_page_token(offset + limit));
    }
    Ok(Json(body))
}
