//! Aliases of registered models (`/registered-models/alias`): set, delete, resolve; every
//! change is recorded in the history.

use super::*;

pub(super) fn check_alias(alias: &str) -> Result<()> {
    if alias.is_empty() {
        return Err(Error::invalid("Registered model alias name cannot be empty."));
    }
    if !alias.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::invalid(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )));
    }
    validate::max_len("Registered model alias name", alias, 255)?;
    if alias.eq_ignore_ascii_case("latest") {
        return Err(Error::invalid("'latest' alias name (case insensitive) is reserved."));
    }
    let b = alias.as_bytes();
    if b.len() > 1 && (b[0] == b'v' || b[0] == b'V') && b[1..].iter().all(u8::is_ascii_digit) {
        return Err(Error::invalid(format!("Version alias name '{alias}' is reserved.")));
    }
    Ok(())
}

/// Points `alias` at `version`, recording the change.
pub async fn set_alias_in(
    conn: &mut AnyConnection,
    name: &str,
    alias: &str,
    version: i64,
    actor: &str,
) -> Result<()> {
    check_alias(alias)?;
    load_version(conn, name, version).await?;
    let old: Option<i64> =
        sqlx::query_scalar("SELECT version FROM registered_model_aliases WHERE name = $1 AND alias = $2")
            .bind(name)
            .bind(alias)
            .fetch_optional(&mut *conn)
            .await?;
    sqlx::query("INSERT INTO registered_model_aliases (name, alias, version) VALUES ($1, $2, $3) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version")
        .bind(name)
        .bind(alias)
        .bind(version)
        .execute(&mut *conn)
        .await?;
    touch_model(conn, name, now_ms()).await?;
    let old = old.map(|v| v.to_string());
    let new = version.to_string();
    record(conn, name, "alias", Some(version), Some(alias), old.as_deref(), Some(&new), actor, None).await
}

pub(super) async fn set_alias(
    State(state): State<AppState>,
    headers: HeaderMap,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let (name, version) = req.name_version()?;
    let alias = required(&req.alias, "alias")?;
    let mut tx = state.db.begin().await?;
    model_row(&mut tx, name).await?;
    set_alias_in(&mut tx, name, alias, version, &actor(&headers)).await?;
    tx.commit().await?;
    Ok(Json(json!({})))
}

pub(super) async fn delete_alias(
    State(state): State<AppState>,
    headers: HeaderMap,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let alias = required(&req.alias, "alias")?;
    let mut tx = state.db.begin().await?;
    model_row(&mut tx, name).await?;
    let old: Option<i64> =
        sqlx::query_scalar("SELECT version FROM registered_model_aliases WHERE name = $1 AND alias = $2")
            .bind(name)
            .bind(alias)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(old) = old {
        sqlx::query("DELETE FROM registered_model_aliases WHERE name = $1 AND alias = $2")
            .bind(name)
            .bind(alias)
            .execute(&mut *tx)
            .await?;
        let old = old.to_string();
        record(&mut tx, name, "alias", None, Some(alias), Some(&old), None, &actor(&headers), None).await?;
    }
    tx.commit().await?;
    Ok(Json(json!({})))
}

/// Resolves an alias to its version number.
pub async fn alias_version(conn: &mut AnyConnection, name: &str, alias: &str) -> Result<i64> {
    model_row(conn, name).await?;
    sqlx::query_scalar("SELECT version FROM registered_model_aliases WHERE name = $1 AND alias = $2")
        .bind(name)
        .bind(alias)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::invalid(format!("Registered model alias {alias} not found.")))
}

pub(super) async fn get_by_alias(
    State(state): State<AppState>,
    Msg(req): Msg<VersionReq>,
) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let alias = required(&req.alias, "alias")?;
    let mut conn = state.db.read.acquire().await?;
    let version = alias_version(&mut conn, name, alias).await?;
    let mv = load_version(&mut conn, name, version).await?;
    Ok(Json(json!({"model_version": mv})))
}
