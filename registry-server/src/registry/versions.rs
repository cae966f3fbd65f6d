//! Model versions (`/model-versions/*`): create, get, update, delete, stage transitions,
//! search, download URI, tags.

use super::*;

#[derive(Debug, Deserialize)]
pub(super) struct VersionReq {
    #[serde(default, deserialize_with = "opt_string")]
    pub(super) name: Option<String>,
    #[serde(default, deserialize_with = "version_de")]
    version: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    source: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValue>,
    #[serde(default, deserialize_with = "opt_string")]
    run_link: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    model_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    stage: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    archive_existing_versions: Option<bool>,
    #[serde(default, deserialize_with = "opt_string")]
    key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    value: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub(super) alias: Option<String>,
}

/// Versions arrive as strings, but accept numbers too.
pub(super) fn version_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!("expected a version number, got {other}")));
        }
    })
}

impl VersionReq {
    pub(super) fn name_version(&self) -> Result<(&str, i64)> {
        let name = required(&self.name, "name")?;
        let version = parse_version(required(&self.version, "version")?)?;
        Ok((name, version))
    }
}

pub(super) async fn create_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?.to_string();
    let source = required(&req.source, "source")?.to_string();
    if source.split(['/', '\\']).any(|seg| seg == "..") || source.contains('\0') {
        return Err(Error::invalid(format!(
            "Invalid model version source: '{source}'. A source may not contain '..' path segments."
        )));
    }
    let tags = registry_tags(&req.tags)?;
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    model_row(&mut tx, &name).await?;
    let version: i64 = sqlx::query_scalar("SELECT next_version FROM registered_models WHERE name = $1")
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("UPDATE registered_models SET next_version = $1, last_update_time = $2 WHERE name = $3")
        .bind(version + 1)
        .bind(now)
        .bind(&name)
        .execute(&mut *tx)
        .await?;
    let user = headers.get("x-ragasense-user").and_then(|v| v.to_str().ok()).map(str::to_string);
    sqlx::query(
        "INSERT INTO model_versions (name, version, creation_time, last_update_time, description, user_id, current_stage, source, run_id, run_link, model_id, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'None', $7, $8, $9, $10, 'READY')",
    )
    .bind(&name)
    .bind(version)
    .bind(now)
    .bind(now)
    .bind(req.description.clone().filter(|d| !d.is_empty()))
    .bind(user)
    .bind(&source)
    .bind(req.run_id.clone().filter(|r| !r.is_empty()))
    .bind(req.run_link.clone().filter(|r| !r.is_empty()))
    .bind(req.model_id.clone().filter(|r| !r.is_empty()))
    .execute(&mut *tx)
    .await?;
    for (k, v) in &tags {
        sqlx::query("INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4)")
            .bind(&name)
            .bind(version)
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
    }
    let mv = load_version(&mut tx, &name, version).await?;
    tx.commit().await?;
    Ok(Json(json!({"model_version": mv})))
}

pub(super) async fn get_version(
    State(state): State<AppState>,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let (name, version) = req.name_version()?;
    let mut conn = state.db.read.acquire().await?;
    let mv = load_version(&mut conn, name, version).await?;
    Ok(Json(json!({"model_version": mv})))
}

pub(super) async fn update_version(
    State(state): State<AppState>,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let (name, version) = req.name_version()?;
    let mut tx = state.db.begin().await?;
    load_version(&mut tx, name, version).await?;
    if let Some(d) = &req.description {
        sqlx::query(
            "UPDATE model_versions SET description = $1, last_update_time = $2 WHERE name = $3 AND version = $4",
        )
        .bind(d)
        .bind(now_ms())
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    }
    let mv = load_version(&mut tx, name, version).await?;
    tx.commit().await?;
    Ok(Json(json!({"model_version": mv})))
}

pub(super) async fn delete_version(
    State(state): State<AppState>,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let (name, version) = req.name_version()?;
    let mut tx = state.db.begin().await?;
    load_version(&mut tx, name, version).await?;
    sqlx::query("DELETE FROM registered_model_aliases WHERE name = $1 AND version = $2")
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM model_versions WHERE name = $1 AND version = $2")
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    touch_model(&mut tx, name, now_ms()).await?;
    tx.commit().await?;
    Ok(Json(json!({})))
}

/// Moves a version to a stage, optionally archiving the others in that stage, and records
/// every move in the history. Returns the updated version.
pub async fn transition(
    conn: &mut AnyConnection,
    name: &str,
    version: i64,
    stage: &str,
    archive_existing: bool,
    actor: &str,
    comment: Option<&str>,
) -> Result<ModelVersion> {
    let stage = canonical_stage(stage)?;
    if archive_existing && !matches!(stage, "Staging" | "Production") {
        return Err(Error::invalid(format!(
            "Model version transition cannot archive existing model versions because '{stage}' is not an Active stage. Valid stages are ['Staging', 'Production']"
        )));
    }
    let current = load_version(conn, name, version).await?;
    let now = now_ms();
    if archive_existing {
        let others: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM model_versions WHERE name = $1 AND version != $2 AND current_stage = $3",
        )
        .bind(name)
        .bind(version)
        .bind(stage)
        .fetch_all(&mut *conn)
        .await?;
        for other in others {
            sqlx::query("UPDATE model_versions SET current_stage = 'Archived', last_update_time = $1 WHERE name = $2 AND version = $3")
                .bind(now)
                .bind(name)
                .bind(other)
                .execute(&mut *conn)
                .await?;
            let why = format!("archived by the transition of version {version} to {stage}");
            record(conn, name, "stage", Some(other), None, Some(stage), Some("Archived"), actor, Some(&why))
                .await?;
        }
    }
    sqlx::query(
        "UPDATE model_versions SET current_stage = $1, last_update_time = $2 WHERE name = $3 AND version = $4",
    )
    .bind(stage)
    .bind(now)
    .bind(name)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    touch_model(conn, name, now).await?;
    record(
        conn,
        name,
        "stage",
        Some(version),
        None,
        Some(&current.current_stage),
        Some(stage),
        actor,
        comment,
    )
    .await?;
    load_version(conn, name, version).await
}

pub(super) async fn transition_stage(
    State(state): State<AppState>,
    headers: HeaderMap,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let (name, version) = req.name_version()?;
    let stage = required(&req.stage, "stage")?;
    let mut tx = state.db.begin().await?;
    let mv = transition(
        &mut tx,
        name,
        version,
        stage,
        req.archive_existing_versions.unwrap_or(false),
        &actor(&headers),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({"model_version": mv})))
}

pub(super) async fn search_versions(
    State(state): State<AppState>,
    Msg(req): Msg<SearchReq>,
) -> Result<Json<Value>> {
    let limit = search::max_results(req.max_results, 10_000, 200_000)?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let filters = search::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let (filters, prompt_clause) =
        prompt_split(filters, "model_version_tags", "pt.name = v.name AND pt.version = v.version");
    let mut qb: Builder<'_> =
        Builder::new(state.db.backend, format!("SELECT {MV_COLUMNS} FROM model_versions v WHERE 1 = 1"));
    qb.push(prompt_clause);
    for f in &filters {
        qb.push(" AND");
        match (f.entity, f.key.as_str()) {
            (Entity::Attribute, "name") => search::push_string_comparison(&mut qb, "v.name", f)?,
            (Entity::Attribute, "run_id") => search::push_string_comparison(&mut qb, "v.run_id", f)?,
            (Entity::Attribute, "source_path") => search::push_string_comparison(&mut qb, "v.source", f)?,
            (Entity::Attribute, "version_number") => {
                f.expect_ops(&[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge])?;
                qb.push(format!(" v.version {} ", f.op.sql()));
                qb.push_bind(f.number_value()?);
            }
            (Entity::Tag, _) => search::push_key_value_filter(
                &mut qb,
                "model_version_tags",
                "t.name = v.name AND t.version = v.version",
                f,
            )?,
            (_, key) => {
                return Err(Error::invalid(format!(
                    "Invalid attribute key '{key}' specified. Valid keys are '{{'name', 'run_id', 'source_path', 'version_number'}}' and tags.<key>"
                )));
            }
        }
    }
    qb.push(" ORDER BY ");
    let (mut has_name, mut has_version) = (false, false);
    for o in &req.order_by {
        let o = search::parse_order_by(o)?;
        let col = match (o.entity, o.key.as_str()) {
            (Entity::Attribute, "name") => {
                has_name = true;
                "v.name"
            }
            (Entity::Attribute, "version_number") => {
                has_version = true;
                "v.version"
            }
            (Entity::Attribute, "timestamp" | "creation_timestamp") => "v.creation_time",
            (Entity::Attribute, "last_updated_timestamp") => "v.last_update_time",
            (_, key) => {
                return Err(Error::invalid(format!(
                    "Invalid order by key '{key}' specified. Valid keys are {{'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'}}"
                )));
            }
        };
        qb.push(format!("{col} {}, ", if o.ascending { "ASC" } else { "DESC" }));
    }
    if !has_name {
        qb.push("v.name ASC, ");
    }
    qb.push(if has_version { "1" } else { "v.version DESC" });
    qb.push(" LIMIT ");
    qb.push_bind(limit + 1);
    qb.push(" OFFSET ");
    qb.push_bind(offset);
    let mut conn = state.db.read.acquire().await?;
    let rows = qb.build()?.fetch_all(&mut *conn).await?;
    let more = rows.len() as i64 > limit;
    let mut versions: Vec<ModelVersion> = rows.iter().take(limit as usize).map(version_from_row).collect();
    decorate(&mut conn, &mut versions).await?;
    search::page("model_versions", versions, more.then_some(offset + limit))
}

/// The artifact URI a version's `source` points at (resolving `runs:/` and `models:/`).
pub async fn resolve_source(state: &AppState, mv: &ModelVersion) -> Result<String> {
    let source = mv.source.as_str();
    if let Some(rest) = source.strip_prefix("runs:/") {
        let rest = rest.trim_start_matches('/');
        let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
        let run = crate::runs::meta(state, run_id).await?;
        return Ok(if path.is_empty() { run.artifact_uri } else { format!("{}/{path}", run.artifact_uri) });
    }
    if let Some(rest) = source.strip_prefix("models:/") {
        let id = mv.model_id.clone().unwrap_or_else(|| rest.trim_start_matches('/').to_string());
        if let Some(uri) = crate::logged_models::artifact_uri(state, &id).await? {
            return Ok(uri);
        }
    }
    Ok(source.to_string())
}

pub(super) async fn download_uri(
    State(state): State<AppState>,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let (name, version) = req.name_version()?;
    let mv = {
        let mut conn = state.db.read.acquire().await?;
        load_version(&mut conn, name, version).await?
    };
    let uri = resolve_source(&state, &mv).await?;
    Ok(Json(json!({"artifact_uri": uri})))
}

pub(super) async fn set_version_tag(
    State(state): State<AppState>,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let (name, version) = req.name_version()?;
    let key = validate::name(req.key.as_deref(), "key")?;
    let value = req.value.clone().unwrap_or_default();
    validate::max_len("value", &value, 100_000)?;
    let mut tx = state.db.begin().await?;
    load_version(&mut tx, name, version).await?;
    sqlx::query("INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value")
        .bind(name)
        .bind(version)
        .bind(&key)
        .bind(&value)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(json!({})))
}

pub(super) async fn delete_version_tag(
    State(state): State<AppState>,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let (name, version) = req.name_version()?;
    let key = required(&req.key, "key")?;
    let mut tx = state.db.begin().await?;
    load_version(&mut tx, name, version).await?;
    let done = sqlx::query("DELETE FROM model_version_tags WHERE name = $1 AND version = $2 AND key = $3")
        .bind(name)
        .bind(version)
        .bind(key)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!(
            "No tag with key '{key}' on model version (name={name}, version={version})"
        )));
    }
    tx.commit().await?;
    Ok(Json(json!({})))
}
