//! `/api/2.0/mlflow/experiments/*`: create, get, get-by-name, search, update, delete,
//! restore, and experiment tags.

use crate::sql::Builder;
use axum::routing::{get, post};
use axum::{Json, Router, extract::State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;

use crate::AppState;
use crate::db::now_ms;
use crate::error::{Error, Result, is_unique_violation};
use crate::extract::{KeyValue, Msg, opt_i64, opt_string, required, string_list};
use crate::search::{self, Entity, Op};
use crate::validate;

/// Routes of this module, relative to `/api/2.0/mlflow`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/experiments/create", post(create))
        .route("/experiments/get", get(get_experiment))
        .route("/experiments/get-by-name", get(get_by_name))
        .route("/experiments/search", get(search).post(search))
        .route("/experiments/update", post(update))
        .route("/experiments/delete", post(delete))
        .route("/experiments/restore", post(restore))
        .route("/experiments/set-experiment-tag", post(set_tag))
        .route("/experiments/delete-experiment-tag", post(delete_tag))
}

/// An experiment as MLflow serializes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Experiment {
    /// Numeric id, as a string.
    pub experiment_id: String,
    /// Unique name.
    pub name: String,
    /// Root URI for the artifacts of its runs.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Milliseconds since the epoch.
    pub last_update_time: i64,
    /// Milliseconds since the epoch.
    pub creation_time: i64,
    /// Tags (omitted when empty, as protobuf JSON does).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// A key/value tag.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// Parses an experiment id; MLflow ids are integers.
pub fn parse_experiment_id(id: &str) -> Result<i64> {
    id.trim().parse::<i64>().map_err(|_| {
        Error::invalid(format!("Invalid experiment ID '{id}'. Experiment ID must be a valid integer."))
    })
}

/// Loads one experiment (any lifecycle stage) with its tags.
pub async fn load(state: &AppState, id: i64) -> Result<Experiment> {
    let row = sqlx::query(
        "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time
         FROM experiments WHERE experiment_id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db.read)
    .await?
    .ok_or_else(|| Error::not_found(format!("No Experiment with id={id} exists")))?;
    let mut exp = from_row(&row);
    exp.tags = tags_of(state, id).await?;
    Ok(exp)
}

fn from_row(row: &sqlx::any::AnyRow) -> Experiment {
    Experiment {
        experiment_id: row.get::<i64, _>("experiment_id").to_string(),
        name: row.get("name"),
        artifact_location: row.get("artifact_location"),
        lifecycle_stage: row.get("lifecycle_stage"),
        creation_time: row.get("creation_time"),
        last_update_time: row.get("last_update_time"),
        tags: Vec::new(),
    }
}

async fn tags_of(state: &AppState, id: i64) -> Result<Vec<Tag>> {
    let rows = sqlx::query("SELECT key, value FROM experiment_tags WHERE experiment_id = $1 ORDER BY key")
        .bind(id)
        .fetch_all(&state.db.read)
        .await?;
    Ok(rows.iter().map(|r| Tag { key: r.get("key"), value: r.get("value") }).collect())
}

#[derive(Debug, Deserialize)]
struct CreateReq {
    #[serde(default, deserialize_with = "opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    artifact_location: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

async fn create(State(state): State<AppState>, Msg(req): Msg<CreateReq>) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    if name.chars().count() > 500 {
        return Err(Error::invalid("'name' exceeds the maximum length of 500 characters"));
    }
    let mut tags = Vec::with_capacity(req.tags.len());
    for (i, tag) in req.tags.iter().enumerate() {
        let key = validate::tag_key(tag.key.as_deref(), &format!("tags[{i}].key"))?;
        let value = tag.value.clone().unwrap_or_default();
        validate::max_len("value", &value, 20_000)?;
        tags.push((key.to_string(), value));
    }
    if let Some(loc) = req.artifact_location.as_deref().filter(|l| !l.is_empty())
        && loc.starts_with("runs:")
    {
        return Err(Error::invalid(format!("Artifact location cannot be a runs:/ URI. Given: '{loc}'")));
    }
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
         VALUES ($1, '', 'active', $2, $3) RETURNING experiment_id",
    )
    .bind(name)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match inserted {
        Ok(row) => row.try_get(0)?,
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::AlreadyExists(format!("Experiment(name={name}) already exists.")));
        }
        Err(e) => return Err(e.into()),
    };
    let location = match req.artifact_location.as_deref().filter(|l| !l.is_empty()) {
        Some(loc) => loc.to_string(),
        None => format!("mlflow-artifacts:/{id}"),
    };
    sqlx::query("UPDATE experiments SET artifact_location = $1 WHERE experiment_id = $2")
        .bind(&location)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for (key, value) in &tags {
        sqlx::query("INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value")
            .bind(id)
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Json(json!({"experiment_id": id.to_string()})))
}

#[derive(Debug, Deserialize)]
struct IdReq {
    #[serde(default, deserialize_with = "opt_string")]
    experiment_id: Option<String>,
}

async fn get_experiment(State(state): State<AppState>, Msg(req): Msg<IdReq>) -> Result<Json<Value>> {
    let id = parse_experiment_id(required(&req.experiment_id, "experiment_id")?)?;
    let exp = load(&state, id).await?;
    Ok(Json(json!({"experiment": exp})))
}

#[derive(Debug, Deserialize)]
struct ByNameReq {
    #[serde(default, deserialize_with = "opt_string")]
    experiment_name: Option<String>,
}

async fn get_by_name(State(state): State<AppState>, Msg(req): Msg<ByNameReq>) -> Result<Json<Value>> {
    let name = required(&req.experiment_name, "experiment_name")?;
    let id: Option<i64> = sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE name = $1")
        .bind(name)
        .fetch_optional(&state.db.read)
        .await?;
    let id = id.ok_or_else(|| Error::not_found(format!("Could not find experiment with name '{name}'")))?;
    let exp = load(&state, id).await?;
    Ok(Json(json!({"experiment": exp})))
}

/// MLflow's ViewType: ACTIVE_ONLY (1), DELETED_ONLY (2), ALL (3).
pub fn view_type_clause(view: Option<&str>, column: &str) -> Result<String> {
    let v = view.unwrap_or("ACTIVE_ONLY");
    Ok(match v {
        "ACTIVE_ONLY" | "1" | "" => format!("{column} = 'active'"),
        "DELETED_ONLY" | "2" => format!("{column} = 'deleted'"),
        "ALL" | "3" => "1 = 1".to_string(),
        other => {
            return Err(Error::invalid(format!(
                "Invalid view type '{other}': use ACTIVE_ONLY, DELETED_ONLY or ALL"
            )));
        }
    })
}

/// A view type given as an enum name or its number.
pub fn view_type_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected ACTIVE_ONLY, DELETED_ONLY or ALL, got {other}"
            )));
        }
    })
}

#[derive(Debug, Deserialize)]
struct SearchReq {
    #[serde(default, deserialize_with = "opt_i64")]
    max_results: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    page_token: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    filter: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    order_by: Vec<String>,
    #[serde(default, deserialize_with = "view_type_de")]
    view_type: Option<String>,
}

async fn search(State(state): State<AppState>, Msg(req): Msg<SearchReq>) -> Result<Json<Value>> {
    let limit = search::max_results(req.max_results, 1000, 50_000)?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let filters = search::parse_filter(req.filter.as_deref().unwrap_or(""))?;

    let mut qb = Builder::new(
        state.db.backend,
        "SELECT e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time FROM experiments e WHERE ",
    );
    qb.push(view_type_clause(req.view_type.as_deref(), "e.lifecycle_stage")?);
    for f in &filters {
        qb.push(" AND");
        match f.entity {
            Entity::Attribute => match f.key.as_str() {
                "name" => search::push_string_comparison(&mut qb, "e.name", f)?,
                "experiment_id" => {
                    f.expect_ops(&[Op::Eq, Op::Ne, Op::In, Op::NotIn])?;
                    search::push_string_comparison(&mut qb, "CAST(e.experiment_id AS TEXT)", f)?
                }
                "creation_time" | "last_update_time" => {
                    f.expect_ops(&[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge])?;
                    qb.push(format!(" e.{} {} ", f.key, f.op.sql()));
                    qb.push_bind(f.number_value()?);
                }
                other => {
                    return Err(Error::invalid(format!(
                        "Invalid attribute key '{other}' specified. Valid keys are ['creation_time', 'experiment_id', 'last_update_time', 'name']"
                    )));
                }
            },
            Entity::Tag => match f.op {
                Op::IsNull | Op::IsNotNull => {
                    qb.push(if f.op == Op::IsNull { " NOT EXISTS" } else { " EXISTS" });
                    qb.push(" (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.experiment_id AND t.key = ");
                    qb.push_bind(f.key.clone());
                    qb.push(")");
                }
                _ => {
                    f.expect_ops(&[Op::Eq, Op::Ne, Op::Like, Op::ILike])?;
                    qb.push(" EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.experiment_id AND t.key = ");
                    qb.push_bind(f.key.clone());
                    qb.push(" AND");
                    search::push_string_comparison(&mut qb, "t.value", f)?;
                    qb.push(")");
                }
            },
            _ => {
                return Err(Error::invalid(format!(
                    "Invalid entity type for experiments filter: '{}'. Use attributes (name, creation_time, last_update_time, experiment_id) or tags.",
                    f.key
                )));
            }
        }
    }
    qb.push(" ORDER BY ");
    let orders = if req.order_by.is_empty() {
        vec!["creation_time DESC".to_string(), "experiment_id ASC".to_string()]
    } else {
        req.order_by.clone()
    };
    let mut has_id = false;
    for o in &orders {
        let o = search::parse_order_by(o)?;
        if o.entity != Entity::Attribute {
            return Err(Error::invalid(format!("Invalid order_by entity: {:?}", o.entity).to_lowercase()));
        }
        let col = match o.key.as_str() {
            "name" | "creation_time" | "last_update_time" | "experiment_id" => o.key.as_str(),
            other => {
                return Err(Error::invalid(format!(
                    "Invalid attribute key '{other}' specified. Valid keys are ['creation_time', 'experiment_id', 'last_update_time', 'name']"
                )));
            }
        };
        has_id |= col == "experiment_id";
        qb.push(format!("e.{col} {}, ", if o.ascending { "ASC" } else { "DESC" }));
    }
    qb.push(if has_id { "1" } else { "e.experiment_id DESC" });
    qb.push(" LIMIT ");
    qb.push_bind(limit + 1);
    qb.push(" OFFSET ");
    qb.push_bind(offset);

    let rows = qb.build()?.fetch_all(&state.db.read).await?;
    let more = rows.len() as i64 > limit;
    let mut experiments = Vec::new();
    for row in rows.iter().take(limit as usize) {
        let mut exp = from_row(row);
        let id: i64 = row.get("experiment_id");
        exp.tags = tags_of(&state, id).await?;
        experiments.push(exp);
    }
    search::page("experiments", experiments, more.then_some(offset + limit))
}

#[derive(Debug, Deserialize)]
struct UpdateReq {
    #[serde(default, deserialize_with = "opt_string")]
    experiment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    new_name: Option<String>,
}

async fn update(State(state): State<AppState>, Msg(req): Msg<UpdateReq>) -> Result<Json<Value>> {
    let id = parse_experiment_id(required(&req.experiment_id, "experiment_id")?)?;
    let new_name = required(&req.new_name, "new_name")?;
    let exp = load(&state, id).await?;
    if exp.lifecycle_stage != "active" {
        return Err(Error::InvalidState("Cannot rename a non-active experiment.".into()));
    }
    let done =
        sqlx::query("UPDATE experiments SET name = $1, last_update_time = $2 WHERE experiment_id = $3")
            .bind(new_name)
            .bind(now_ms())
            .bind(id)
            .execute(&state.db.write)
            .await;
    match done {
        Ok(_) => Ok(Json(json!({}))),
        Err(e) if is_unique_violation(&e) => {
            Err(Error::AlreadyExists(format!("Experiment(name={new_name}) already exists.")))
        }
        Err(e) => Err(e.into()),
    }
}

async fn set_lifecycle(state: &AppState, req: IdReq, to: &str) -> Result<Json<Value>> {
    let id = parse_experiment_id(required(&req.experiment_id, "experiment_id")?)?;
    let exp = load(state, id).await?;
    if to == "active" && exp.lifecycle_stage == "active" {
        return Err(Error::InvalidState(format!(
            "Cannot restore an active experiment. Experiment {id} is active."
        )));
    }
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE experiments SET lifecycle_stage = $1, last_update_time = $2 WHERE experiment_id = $3",
    )
    .bind(to)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let deleted_time = if to == "deleted" { Some(now) } else { None };
    let from = if to == "deleted" { "active" } else { "deleted" };
    sqlx::query("UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE experiment_id = $3 AND lifecycle_stage = $4")
        .bind(to)
        .bind(deleted_time)
        .bind(id)
        .bind(from)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(json!({})))
}

async fn delete(State(state): State<AppState>, Msg(req): Msg<IdReq>) -> Result<Json<Value>> {
    set_lifecycle(&state, req, "deleted").await
}

async fn restore(State(state): State<AppState>, Msg(req): Msg<IdReq>) -> Result<Json<Value>> {
    set_lifecycle(&state, req, "active").await
}

#[derive(Debug, Deserialize)]
struct SetTagReq {
    #[serde(default, deserialize_with = "opt_string")]
    experiment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    value: Option<String>,
}

async fn set_tag(State(state): State<AppState>, Msg(req): Msg<SetTagReq>) -> Result<Json<Value>> {
    let id = parse_experiment_id(required(&req.experiment_id, "experiment_id")?)?;
    let key = required(&req.key, "key")?;
    validate::tag_key(Some(key), "key")?;
    let value = req.value.clone().unwrap_or_default();
    validate::max_len("value", &value, 20_000)?;
    let exp = load(&state, id).await?;
    if exp.lifecycle_stage != "active" {
        return Err(Error::InvalidState(format!(
            "The experiment {id} must be in the 'active' state. Current state is {}.",
            exp.lifecycle_stage
        )));
    }
    sqlx::query("INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value")
        .bind(id)
        .bind(key)
        .bind(value)
        .execute(&state.db.write)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct DeleteTagReq {
    #[serde(default, deserialize_with = "opt_string")]
    experiment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    key: Option<String>,
}

async fn delete_tag(State(state): State<AppState>, Msg(req): Msg<DeleteTagReq>) -> Result<Json<Value>> {
    let id = parse_experiment_id(required(&req.experiment_id, "experiment_id")?)?;
    let key = required(&req.key, "key")?;
    let exp = load(&state, id).await?;
    if exp.lifecycle_stage != "active" {
        return Err(Error::InvalidState(format!(
            "The experiment {id} must be in the 'active' state. Current state is {}.",
            exp.lifecycle_stage
        )));
    }
    let done = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = $1 AND key = $2")
        .bind(id)
        .bind(key)
        .execute(&state.db.write)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!("No tag with name: {key} in experiment with id {id}")));
    }
    Ok(Json(json!({})))
}
