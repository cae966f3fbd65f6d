//! Model registry: registered models, model versions, stages, tags, aliases
//! (`/api/2.0/mlflow/registered-models/*`, `/model-versions/*`), plus RagaSense's
//! history of every stage/alias change and one-call rollback (`/api/2.0/ragasense/*`).

use crate::sql::Builder;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router, extract::State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use crate::AppState;
use crate::db::now_ms;
use crate::error::{Error, Result, is_unique_violation};
use crate::extract::{KeyValue, Msg, opt_bool, opt_i64, opt_string, required, string_list};
use crate::search::{self, Entity, Op};
use crate::validate;

mod aliases;
mod history;
mod versions;

use aliases::*;
pub use aliases::{alias_version, set_alias_in};
pub use history::load_history;
use history::*;
use versions::*;
pub use versions::{resolve_source, transition};

/// Routes relative to `/api/2.0/mlflow`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/registered-models/create", post(create_model))
        .route("/registered-models/get", get(get_model))
        .route("/registered-models/rename", post(rename_model))
        .route("/registered-models/update", axum::routing::patch(update_model).post(update_model))
        .route("/registered-models/delete", axum::routing::delete(delete_model).post(delete_model))
        .route("/registered-models/search", get(search_models).post(search_models))
        .route("/registered-models/get-latest-versions", post(latest_versions).get(latest_versions))
        .route("/registered-models/set-tag", post(set_model_tag))
        .route(
            "/registered-models/delete-tag",
            axum::routing::delete(delete_model_tag).post(delete_model_tag),
        )
        .route("/registered-models/alias", post(set_alias).delete(delete_alias).get(get_by_alias))
        .route("/model-versions/create", post(create_version))
        .route("/model-versions/get", get(get_version))
        .route("/model-versions/update", axum::routing::patch(update_version).post(update_version))
        .route("/model-versions/delete", axum::routing::delete(delete_version).post(delete_version))
        .route("/model-versions/transition-stage", post(transition_stage))
        .route("/model-versions/search", get(search_versions).post(search_versions))
        .route("/model-versions/get-download-uri", get(download_uri))
        .route("/model-versions/set-tag", post(set_version_tag))
        .route(
            "/model-versions/delete-tag",
            axum::routing::delete(delete_version_tag).post(delete_version_tag),
        )
}

/// RagaSense's own registry routes (absolute paths).
pub fn ragasense_router() -> Router<AppState> {
    Router::new()
        .route("/api/2.0/ragasense/registered-models/history", get(history))
        .route("/api/2.0/ragasense/registered-models/rollback", post(rollback))
}

/// The four stages, canonical spelling.
pub const STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];

/// Canonical stage name for any casing, or MLflow's error.
pub fn canonical_stage(stage: &str) -> Result<&'static str> {
    STAGES.iter().find(|s| s.eq_ignore_ascii_case(stage.trim())).copied().ok_or_else(|| {
        Error::invalid(format!(
            "Invalid Model Version stage: {stage}. Value must be one of None, Staging, Production, Archived."
        ))
    })
}

// ---- JSON shapes ----

/// A model version as MLflow serializes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelVersion {
    /// Registered model name.
    pub name: String,
    /// Version number, as a string.
    pub version: String,
    /// Milliseconds since the epoch.
    pub creation_timestamp: i64,
    /// Milliseconds since the epoch.
    pub last_updated_timestamp: i64,
    /// Who created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// None, Staging, Production or Archived.
    pub current_stage: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Artifact location of the model.
    pub source: String,
    /// Run that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// READY (registration is synchronous here).
    pub status: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<crate::experiments::Tag>,
    /// Link to the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_link: Option<String>,
    /// Aliases pointing at this version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// MLflow 3 logged model id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

/// An alias → version pair.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Alias {
    /// Alias name.
    pub alias: String,
    /// Version number, as a string.
    pub version: String,
}

/// A registered model as MLflow serializes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegisteredModel {
    /// Unique name.
    pub name: String,
    /// Milliseconds since the epoch.
    pub creation_timestamp: i64,
    /// Milliseconds since the epoch.
    pub last_updated_timestamp: i64,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Highest version in each stage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latest_versions: Vec<ModelVersion>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<crate::experiments::Tag>,
    /// Aliases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Alias>,
}

/// One recorded stage or alias change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistoryEntry {
    /// Monotonic id.
    pub id: i64,
    /// Registered model name.
    pub name: String,
    /// `stage` or `alias`.
    pub kind: String,
    /// Version that moved (stage) or the alias' target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Alias name (alias changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Previous stage / previous alias target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// New stage / new alias target (absent when an alias was deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Who did it (`X-RagaSense-User` header, else `anonymous`).
    pub actor: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// Why, when known (e.g. `rollback`, `archived by transition of version 3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

fn actor(headers: &HeaderMap) -> String {
    ["x-ragasense-user", "x-mlflow-user"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(|s| s.trim().chars().take(200).collect::<String>())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "anonymous".into())
}

fn parse_version(v: &str) -> Result<i64> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid(format!("Parameter 'version' must be an integer, got '{v}'.")))
}

fn check_model_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(crate::extract::missing("name"));
    }
    if name.contains('/') || name.contains(':') {
        return Err(Error::invalid(format!("Invalid model name '{name}'. Names cannot contain '/' or ':'.")));
    }
    if name == "." || name == ".." || name.chars().any(char::is_control) {
        return Err(Error::invalid(format!("Invalid model name '{name}'.")));
    }
    validate::max_len("name", name, 256)
}

// ---- loading ----

async fn model_row(conn: &mut AnyConnection, name: &str) -> Result<sqlx::any::AnyRow> {
    sqlx::query(
        "SELECT name, creation_time, last_update_time, description FROM registered_models WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found(format!("Registered Model with name={name} not found")))
}

fn version_from_row(row: &sqlx::any::AnyRow) -> ModelVersion {
    ModelVersion {
        name: row.get("name"),
        version: row.get::<i64, _>("version").to_string(),
        creation_timestamp: row.get("creation_time"),
        last_updated_timestamp: row.get("last_update_time"),
        user_id: row.get("user_id"),
        current_stage: row.get("current_stage"),
        description: row.get("description"),
        source: row.get("source"),
        run_id: row.get("run_id"),
        status: row.get("status"),
        tags: Vec::new(),
        run_link: row.get("run_link"),
        aliases: Vec::new(),
        model_id: row.get("model_id"),
    }
}

const MV_COLUMNS: &str = "v.name, v.version, v.creation_time, v.last_update_time, v.description, v.user_id, v.current_stage, v.source, v.run_id, v.run_link, v.model_id, v.status";

/// Fills tags and aliases of versions.
async fn decorate(conn: &mut AnyConnection, versions: &mut [ModelVersion]) -> Result<()> {
    for v in versions.iter_mut() {
        let n: i64 = v.version.parse().unwrap_or(0);
        let rows = sqlx::query(
            "SELECT key, value FROM model_version_tags WHERE name = $1 AND version = $2 ORDER BY key",
        )
        .bind(&v.name)
        .bind(n)
        .fetch_all(&mut *conn)
        .await?;
        v.tags = rows
            .iter()
            .map(|r| crate::experiments::Tag { key: r.get("key"), value: r.get("value") })
            .collect();
        v.aliases = sqlx::query_scalar(
            "SELECT alias FROM registered_model_aliases WHERE name = $1 AND version = $2 ORDER BY alias",
        )
        .bind(&v.name)
        .bind(n)
        .fetch_all(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Loads one version with tags and aliases.
pub async fn load_version(conn: &mut AnyConnection, name: &str, version: i64) -> Result<ModelVersion> {
    let row = sqlx::query(&format!(
        "SELECT {MV_COLUMNS} FROM model_versions v WHERE v.name = $1 AND v.version = $2"
    ))
    .bind(name)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found(format!("Model Version (name={name}, version={version}) not found")))?;
    let mut v = [version_from_row(&row)];
    decorate(conn, &mut v).await?;
    let [v] = v;
    Ok(v)
}

async fn latest_per_stage(
    conn: &mut AnyConnection,
    name: &str,
    stages: &[&str],
) -> Result<Vec<ModelVersion>> {
    let mut out = Vec::new();
    for stage in stages {
        let row = sqlx::query(&format!(
            "SELECT {MV_COLUMNS} FROM model_versions v WHERE v.name = $1 AND v.current_stage = $2 ORDER BY v.version DESC LIMIT 1"
        ))
        .bind(name)
        .bind(*stage)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = row {
            out.push(version_from_row(&row));
        }
    }
    out.sort_by_key(|v| v.version.parse::<i64>().unwrap_or(0));
    decorate(conn, &mut out).await?;
    Ok(out)
}

/// Loads a registered model with latest versions, tags and aliases.
pub async fn load_model(conn: &mut AnyConnection, name: &str) -> Result<RegisteredModel> {
    let row = model_row(conn, name).await?;
    let name: String = row.get("name");
    let tags = sqlx::query("SELECT key, value FROM registered_model_tags WHERE name = $1 ORDER BY key")
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| crate::experiments::Tag { key: r.get("key"), value: r.get("value") })
        .collect();
    let aliases =
        sqlx::query("SELECT alias, version FROM registered_model_aliases WHERE name = $1 ORDER BY alias")
            .bind(&name)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Alias { alias: r.get("alias"), version: r.get::<i64, _>("version").to_string() })
            .collect();
    let latest_versions = latest_per_stage(conn, &name, &STAGES).await?;
    Ok(RegisteredModel {
        name,
        creation_timestamp: row.get("creation_time"),
        last_updated_timestamp: row.get("last_update_time"),
        description: row.get("description"),
        latest_versions,
        tags,
        aliases,
    })
}

async fn touch_model(conn: &mut AnyConnection, name: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE registered_models SET last_update_time = $1 WHERE name = $2")
        .bind(now)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn record(
    conn: &mut AnyConnection,
    name: &str,
    kind: &str,
    version: Option<i64>,
    alias: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    actor: &str,
    comment: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO registry_history (name, kind, version, alias, from_value, to_value, actor, timestamp, comment)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(name)
    .bind(kind)
    .bind(version)
    .bind(alias)
    .bind(from)
    .bind(to)
    .bind(actor)
    .bind(now_ms())
    .bind(comment)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---- registered models ----

#[derive(Debug, Deserialize)]
struct NameReq {
    #[serde(default, deserialize_with = "opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    new_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValue>,
    #[serde(default, deserialize_with = "opt_string")]
    key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    value: Option<String>,
}

fn registry_tags(tags: &[KeyValue]) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        let key = validate::name(t.key.as_deref(), &format!("tags[{i}].key"))?;
        let value = t.value.clone().unwrap_or_default();
        validate::max_len("value", &value, 100_000)?;
        out.retain(|(k, _)| k != &key);
        out.push((key, value));
    }
    Ok(out)
}

async fn create_model(State(state): State<AppState>, Msg(req): Msg<NameReq>) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    check_model_name(name)?;
    let tags = registry_tags(&req.tags)?;
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO registered_models (name, creation_time, last_update_time, description) VALUES ($1, $2, $3, $4)",
    )
    .bind(name)
    .bind(now)
    .bind(now)
    .bind(&req.description)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::AlreadyExists(format!("Registered Model (name={name}) already exists.")));
        }
        Err(e) => return Err(e.into()),
    }
    for (k, v) in &tags {
        sqlx::query("INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
    }
    let model = load_model(&mut tx, name).await?;
    tx.commit().await?;
    Ok(Json(json!({"registered_model": model})))
}

async fn get_model(State(state): State<AppState>, Msg(req): Msg<NameReq>) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let mut conn = state.db.read.acquire().await?;
    let model = load_model(&mut conn, name).await?;
    Ok(Json(json!({"registered_model": model})))
}

async fn rename_model(State(state): State<AppState>, Msg(req): Msg<NameReq>) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let new_name = required(&req.new_name, "new_name")?;
    check_model_name(new_name)?;
    let mut tx = state.db.begin().await?;
    model_row(&mut tx, name).await?;
    let done = sqlx::query("UPDATE registered_models SET name = $1, last_update_time = $2 WHERE name = $3")
        .bind(new_name)
        .bind(now_ms())
        .bind(name)
        .execute(&mut *tx)
        .await;
    match done {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::AlreadyExists(format!("Registered Model (name={new_name}) already exists.")));
        }
        Err(e) => return Err(e.into()),
    }
    sqlx::query("UPDATE registry_history SET name = $1 WHERE name = $2")
        .bind(new_name)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let model = load_model(&mut tx, new_name).await?;
    tx.commit().await?;
    Ok(Json(json!({"registered_model": model})))
}

async fn update_model(State(state): State<AppState>, Msg(req): Msg<NameReq>) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let mut tx = state.db.begin().await?;
    model_row(&mut tx, name).await?;
    if let Some(d) = &req.description {
        sqlx::query("UPDATE registered_models SET description = $1, last_update_time = $2 WHERE name = $3")
            .bind(d)
            .bind(now_ms())
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    let model = load_model(&mut tx, name).await?;
    tx.commit().await?;
    Ok(Json(json!({"registered_model": model})))
}

async fn delete_model(State(state): State<AppState>, Msg(req): Msg<NameReq>) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let mut tx = state.db.begin().await?;
    model_row(&mut tx, name).await?;
    sqlx::query("DELETE FROM registered_models WHERE name = $1").bind(name).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM registry_history WHERE name = $1").bind(name).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Json(json!({})))
}

async fn set_model_tag(State(state): State<AppState>, Msg(req): Msg<NameReq>) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let key = validate::name(req.key.as_deref(), "key")?;
    let value = req.value.clone().unwrap_or_default();
    validate::max_len("value", &value, 100_000)?;
    let mut tx = state.db.begin().await?;
    model_row(&mut tx, name).await?;
    sqlx::query("INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value")
        .bind(name)
        .bind(&key)
        .bind(&value)
        .execute(&mut *tx)
        .await?;
    touch_model(&mut tx, name, now_ms()).await?;
    tx.commit().await?;
    Ok(Json(json!({})))
}

async fn delete_model_tag(State(state): State<AppState>, Msg(req): Msg<NameReq>) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let key = required(&req.key, "key")?;
    let mut tx = state.db.begin().await?;
    model_row(&mut tx, name).await?;
    let done = sqlx::query("DELETE FROM registered_model_tags WHERE name = $1 AND key = $2")
        .bind(name)
        .bind(key)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!("No tag with key '{key}' on registered model '{name}'")));
    }
    tx.commit().await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct SearchReq {
    #[serde(default, deserialize_with = "opt_string")]
    filter: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    max_results: Option<i64>,
    #[serde(default, deserialize_with = "string_list")]
    order_by: Vec<String>,
    #[serde(default, deserialize_with = "opt_string")]
    page_token: Option<String>,
}

/// MLflow keeps prompts (tag `mlflow.prompt.is_prompt` = 'true') out of model searches
/// unless the filter asks for them; returns the remaining filters and the SQL clause.
fn prompt_split(
    filters: Vec<search::Comparison>,
    tags_table: &str,
    join: &str,
) -> (Vec<search::Comparison>, String) {
    const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
    let mut querying_prompts = false;
    let rest = filters
        .into_iter()
        .filter(|f| {
            if f.entity == Entity::Tag && f.key == PROMPT_TAG {
                let v = match &f.value {
                    search::Literal::Str(s) => s.to_ascii_lowercase(),
                    _ => String::new(),
                };
                querying_prompts |= (f.op == Op::Eq && v == "true") || (f.op == Op::Ne && v == "false");
                false
            } else {
                true
            }
        })
        .collect();
    let exists = format!(
        "EXISTS (SELECT 1 FROM {tags_table} pt WHERE {join} AND pt.key = '{PROMPT_TAG}' AND pt.value = 'true')"
    );
    let clause = if querying_prompts { format!(" AND {exists}") } else { format!(" AND NOT {exists}") };
    (rest, clause)
}

async fn search_models(State(state): State<AppState>, Msg(req): Msg<SearchReq>) -> Result<Json<Value>> {
    let limit = search::max_results(req.max_results, 100, 1000)?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let filters = search::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let (filters, prompt_clause) = prompt_split(filters, "registered_model_tags", "pt.name = m.name");
    let mut qb: Builder<'_> =
        Builder::new(state.db.backend, "SELECT m.name FROM registered_models m WHERE 1 = 1");
    qb.push(prompt_clause);
    for f in &filters {
        qb.push(" AND");
        match (f.entity, f.key.as_str()) {
            (Entity::Attribute, "name") => {
                f.expect_ops(&[Op::Eq, Op::Ne, Op::Like, Op::ILike, Op::In, Op::NotIn])?;
                search::push_string_comparison(&mut qb, "m.name", f)?;
            }
            (Entity::Tag, _) => {
                search::push_key_value_filter(&mut qb, "registered_model_tags", "t.name = m.name", f)?
            }
            (_, key) => {
                return Err(Error::invalid(format!(
                    "Invalid attribute key '{key}' specified. Valid keys are '{{'name'}}' and tags.<key>"
                )));
            }
        }
    }
    qb.push(" ORDER BY ");
    let mut has_name = false;
    for o in &req.order_by {
        let o = search::parse_order_by(o)?;
        let col = match (o.entity, o.key.as_str()) {
            (Entity::Attribute, "name") => {
                has_name = true;
                "m.name"
            }
            (Entity::Attribute, "timestamp" | "creation_timestamp") => "m.creation_time",
            (Entity::Attribute, "last_updated_timestamp") => "m.last_update_time",
            (_, key) => {
                return Err(Error::invalid(format!(
                    "Invalid order by key '{key}' specified. Valid keys are '{{'name', 'timestamp', 'last_updated_timestamp'}}'"
                )));
            }
        };
        qb.push(format!("{col} {}, ", if o.ascending { "ASC" } else { "DESC" }));
    }
    qb.push(if has_name { "1" } else { "m.name ASC" });
    qb.push(" LIMIT ");
    qb.push_bind(limit + 1);
    qb.push(" OFFSET ");
    qb.push_bind(offset);
    let mut conn = state.db.read.acquire().await?;
    let names: Vec<String> = qb.build_query_scalar()?.fetch_all(&mut *conn).await?;
    let more = names.len() as i64 > limit;
    let mut models = Vec::new();
    for n in names.iter().take(limit as usize) {
        models.push(load_model(&mut conn, n).await?);
    }
    search::page("registered_models", models, more.then_some(offset + limit))
}

#[derive(Debug, Deserialize)]
struct LatestReq {
    #[serde(default, deserialize_with = "opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    stages: Vec<String>,
}

async fn latest_versions(State(state): State<AppState>, Msg(req): Msg<LatestReq>) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let stages: Vec<&str> = if req.stages.is_empty() {
        STAGES.to_vec()
    } else {
        req.stages.iter().map(|s| canonical_stage(s)).collect::<Result<Vec<_>>>()?
    };
    let mut conn = state.db.read.acquire().await?;
    model_row(&mut conn, name).await?;
    let versions = latest_per_stage(&mut conn, name, &stages).await?;
    Ok(Json(if versions.is_empty() { json!({}) } else { json!({"model_versions": versions}) }))
}
