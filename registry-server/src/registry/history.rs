//! RagaSense's additions: the history of every stage/alias change and one-call rollback
//! to the previous Production version.

use super::*;

#[derive(Debug, Deserialize)]
pub(super) struct HistoryReq {
    #[serde(default, deserialize_with = "opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    max_results: Option<i64>,
}

/// Loads the history of a model, newest first.
pub async fn load_history(conn: &mut AnyConnection, name: &str, limit: i64) -> Result<Vec<HistoryEntry>> {
    let rows = sqlx::query(
        "SELECT id, name, kind, version, alias, from_value, to_value, actor, timestamp, comment
         FROM registry_history WHERE name = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(name)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| HistoryEntry {
            id: r.get("id"),
            name: r.get("name"),
            kind: r.get("kind"),
            version: r.get::<Option<i64>, _>("version").map(|v| v.to_string()),
            alias: r.get("alias"),
            from: r.get("from_value"),
            to: r.get("to_value"),
            actor: r.get("actor"),
            timestamp: r.get("timestamp"),
            comment: r.get("comment"),
        })
        .collect())
}

pub(super) async fn history(State(state): State<AppState>, Msg(req): Msg<HistoryReq>) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let limit = search::max_results(req.max_results, 1000, 100_000)?;
    let mut conn = state.db.read.acquire().await?;
    model_row(&mut conn, name).await?;
    let entries = load_history(&mut conn, name, limit).await?;
    Ok(Json(json!({"history": entries})))
}

#[derive(Debug, Deserialize)]
pub(super) struct RollbackReq {
    #[serde(default, deserialize_with = "opt_string")]
    name: Option<String>,
}

pub(super) async fn rollback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Msg(req): Msg<RollbackReq>,
) -> Result<Json<Value>> {
    let name = required(&req.name, "name")?;
    let who = actor(&headers);
    let mut tx = state.db.begin().await?;
    model_row(&mut tx, name).await?;
    let current: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(version) FROM model_versions WHERE name = $1 AND current_stage = 'Production'",
    )
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    // Versions that were promoted to Production, most recent promotion first.
    let promoted: Vec<i64> = sqlx::query_scalar(
        "SELECT version FROM registry_history
         WHERE name = $1 AND kind = 'stage' AND to_value = 'Production' AND version IS NOT NULL
         ORDER BY id DESC",
    )
    .bind(name)
    .fetch_all(&mut *tx)
    .await?;
    let mut target = None;
    for v in promoted {
        if Some(v) == current {
            continue;
        }
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT version FROM model_versions WHERE name = $1 AND version = $2")
                .bind(name)
                .bind(v)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_some() {
            target = Some(v);
            break;
        }
    }
    let Some(target) = target else {
        return Err(Error::InvalidState(format!(
            "Registered model '{name}' has no earlier Production version to roll back to."
        )));
    };
    let comment = match current {
        Some(c) => format!("rollback from version {c}"),
        None => "rollback".to_string(),
    };
    let mv = transition(&mut tx, name, target, "Production", true, &who, Some(&comment)).await?;
    // An alias named after the stage (`@production`, what `ragasense train --promote` sets
    // for browsers) follows the rollback when it pointed at the version rolled back from.
    let alias: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM registered_model_aliases WHERE name = $1 AND alias = 'production'",
    )
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    if alias.is_some() && alias == current {
        set_alias_in(&mut tx, name, "production", target, &who).await?;
    }
    tx.commit().await?;
    Ok(Json(json!({
        "model_version": mv,
        "previous_version": current.map(|c| c.to_string()),
    })))
}
