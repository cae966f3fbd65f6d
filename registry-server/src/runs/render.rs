//! Reading runs back as MLflow JSON: SQLite aggregates each run's metrics, params and tags
//! into one row per run and table, and the text is spliced into the response. Searches keep
//! each run's text in `run_json_cache` (filled here in the background, dropped by triggers
//! on every write that changes it), so a page of cached runs is one short query.

use sqlx::AnyConnection;

use crate::db::Backend;

use super::*;

pub(crate) const RUN_COLUMNS: &str = "r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage";

pub(crate) fn info_from_row(row: &sqlx::any::AnyRow) -> RunInfo {
    let id: String = row.get("run_uuid");
    RunInfo {
        run_uuid: id.clone(),
        run_id: id,
        run_name: row.get("name"),
        experiment_id: row.get::<i64, _>("experiment_id").to_string(),
        user_id: row.get("user_id"),
        status: row.get("status"),
        start_time: row.get("start_time"),
        end_time: row.get("end_time"),
        artifact_uri: row.get("artifact_uri"),
        lifecycle_stage: row.get("lifecycle_stage"),
    }
}

/// A stored metric's value from its `value_bits` and `is_nan` columns: exact, where the REAL
/// column is not (SQLite stores an integral REAL as an integer, so -0.0 reads back as 0.0).
pub(crate) fn metric_value(row: &sqlx::any::AnyRow) -> f64 {
    if row.get::<i64, _>("is_nan") != 0 {
        f64::NAN
    } else {
        f64::from_bits(row.get::<i64, _>("value_bits") as u64)
    }
}

/// Latest metrics, one row per run: records joined by U+001E, fields by U+001F (metric names
/// cannot contain control characters). Values travel as their IEEE-754 bits, so nothing is
/// lost to the database's float formatting; [`metrics_json`] renders them in the shortest
/// form. (`string_agg` is PostgreSQL's and, since 3.44, SQLite's.)
pub(crate) const METRICS_SQL: &str = "SELECT run_uuid, string_agg(key || '\u{1f}'
        || CASE WHEN is_nan = 1 THEN 'NaN' ELSE CAST(value_bits AS TEXT) END
        || '\u{1f}' || CAST(timestamp AS TEXT) || '\u{1f}' || CAST(step AS TEXT), '\u{1e}') AS items
    FROM latest_metrics WHERE run_uuid IN (";

/// Turns [`METRICS_SQL`] records into MLflow's JSON array of metrics.
pub(crate) fn metrics_json(items: &str) -> Result<String> {
    let mut out = String::with_capacity(items.len() + 64);
    out.push('[');
    for (i, rec) in items.split('\u{1e}').enumerate() {
        let mut f = rec.split('\u{1f}');
        let (Some(key), Some(value), Some(ts), Some(step)) = (f.next(), f.next(), f.next(), f.next()) else {
            return Err(Error::internal(format!("malformed metric record {rec:?}")));
        };
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"key\":");
        out.push_str(&serde_json::to_string(key).map_err(Error::internal)?);
        out.push_str(",\"value\":");
        match value.parse::<i64>().map(|bits| f64::from_bits(bits as u64)) {
            Ok(v) if v.is_finite() => out.push_str(&serde_json::to_string(&v).map_err(Error::internal)?),
            _ => out.push_str("\"NaN\""),
        }
        out.push_str(",\"timestamp\":");
        out.push_str(ts);
        out.push_str(",\"step\":");
        out.push_str(step);
        out.push('}');
    }
    out.push(']');
    Ok(out)
}

/// The JSON pieces of runs' data, keyed by run id.
#[derive(Debug, Default)]
pub(crate) struct DataParts {
    metrics: HashMap<String, String>,
    params: HashMap<String, String>,
    tags: HashMap<String, String>,
    inputs: HashMap<String, Vec<(String, String)>>,
}

/// Loads metrics, params, tags and inputs of runs, as JSON text built by SQLite: one row
/// per run and table, whatever the number of values.
pub(crate) async fn load_parts(conn: &mut AnyConnection, ids: &[String]) -> Result<DataParts> {
    let mut parts = DataParts::default();
    let backend = Backend::of(conn);
    let (params_sql, tags_sql) = (kv_sql(backend, "params"), kv_sql(backend, "tags"));
    // The four tables are read one after the other: concurrent readers only contend for
    // SQLite's allocator mutex and the two cores (measured: slower, not faster). Ids go in
    // chunks of 200, where SQLite's IN lookups are cheapest per id.
    let metrics = grouped(conn, METRICS_SQL, ids).await?;
    let params = grouped(conn, &params_sql, ids).await?;
    let tags = grouped(conn, &tags_sql, ids).await?;
    let mut inputs = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let mut qb = Builder::new(backend, "SELECT run_uuid, kind, body FROM run_inputs WHERE run_uuid IN (");
        push_list(&mut qb, chunk);
        qb.push(") ORDER BY run_uuid, position");
        inputs.extend(qb.build()?.fetch_all(&mut *conn).await?);
    }
    for (id, items) in metrics {
        parts.metrics.insert(id, metrics_json(&items)?);
    }
    parts.params.extend(params);
    parts.tags.extend(tags);
    for row in inputs {
        parts.inputs.entry(row.get("run_uuid")).or_default().push((row.get("kind"), row.get("body")));
    }
    Ok(parts)
}

/// Ids per `IN (…)` list.
pub(crate) const IN_CHUNK: usize = 200;

pub(crate) fn kv_sql(backend: Backend, table: &str) -> String {
    format!(
        "SELECT run_uuid, {} AS items FROM {table} WHERE run_uuid IN (",
        backend.json_agg_objects("'key', key, 'value', value")
    )
}

/// Runs a `SELECT run_uuid, … AS items … IN (<ids>) GROUP BY run_uuid` query in chunks.
///
/// Each chunk comes back as one row — its `(run_uuid, items)` pairs packed into one string
/// with the ASCII file/group separators (neither can occur in a run id, in a metric key, or
/// in JSON text) — because sqlx hands every row from SQLite's worker thread to ours through
/// a channel, and those hand-offs, not the query, dominated a 1000-run search.
pub(crate) async fn grouped(
    conn: &mut AnyConnection,
    head: &str,
    ids: &[String],
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_CHUNK) {
        let mut qb = Builder::new(
            Backend::of(conn),
            "SELECT string_agg(run_uuid || '\u{1d}' || items, '\u{1c}') AS packed FROM (",
        );
        qb.push(head);
        push_list(&mut qb, chunk);
        qb.push(") GROUP BY run_uuid) AS g");
        let packed: Option<String> = qb.build()?.fetch_one(&mut *conn).await?.get("packed");
        for record in packed.iter().flat_map(|p| p.split('\u{1c}')) {
            let (id, items) = record
                .split_once('\u{1d}')
                .ok_or_else(|| Error::internal(format!("malformed grouped record {record:?}")))?;
            out.push((id.to_string(), items.to_string()));
        }
    }
    Ok(out)
}

pub(crate) fn push_list(qb: &mut Builder<'_>, ids: &[String]) {
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(id.clone());
    }
}

/// `RunInfo` rendered by the database, field for field what [`RunInfo`] serializes to.
pub(crate) fn info_json_sql(backend: Backend) -> String {
    let head = "'run_uuid', r.run_uuid, 'run_id', r.run_uuid, 'run_name', r.name, \
        'experiment_id', CAST(r.experiment_id AS TEXT), 'user_id', r.user_id, 'status', r.status, 'start_time', r.start_time";
    let tail = "'artifact_uri', r.artifact_uri, 'lifecycle_stage', r.lifecycle_stage";
    format!(
        "CASE WHEN r.end_time IS NULL THEN {} ELSE {} END",
        backend.json_object(&format!("{head}, {tail}")),
        backend.json_object(&format!("{head}, 'end_time', r.end_time, {tail}"))
    )
}

/// Appends `{"info":…,"data":{…},"inputs":{…},"outputs":{…}}` for one run.
pub(crate) fn render_run(out: &mut String, id: &str, info_json: &str, parts: &DataParts) {
    out.push_str("{\"info\":");
    out.push_str(info_json);
    out.push(',');
    render_body(out, id, parts);
    out.push('}');
}

/// Appends `"data":{…},"inputs":{…},"outputs":{…}` for one run.
fn render_body(out: &mut String, id: &str, parts: &DataParts) {
    out.push_str("\"data\":{");
    let mut first = true;
    for (name, map) in [("metrics", &parts.metrics), ("params", &parts.params), ("tags", &parts.tags)] {
        if let Some(items) = map.get(id) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            out.push_str(items);
        }
    }
    out.push('}');
    let io = parts.inputs.get(id).map(Vec::as_slice).unwrap_or_default();
    for (field, groups) in [
        ("inputs", &[("dataset", "dataset_inputs"), ("model", "model_inputs")][..]),
        ("outputs", &[("output", "model_outputs")][..]),
    ] {
        out.push_str(",\"");
        out.push_str(field);
        out.push_str("\":{");
        let mut first_group = true;
        for (kind, name) in groups {
            let bodies: Vec<&str> = io.iter().filter(|(k, _)| k == kind).map(|(_, b)| b.as_str()).collect();
            if bodies.is_empty() {
                continue;
            }
            if !first_group {
                out.push(',');
            }
            first_group = false;
            out.push('"');
            out.push_str(name);
            out.push_str("\":[");
            out.push_str(&bodies.join(","));
            out.push(']');
        }
        out.push('}');
    }
}

/// Loads one run and renders it as JSON text (`Run` in MLflow's protocol).
pub async fn load(state: &AppState, run_id: &str) -> Result<(RunInfo, String)> {
    let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_uuid = $1"))
        .bind(run_id)
        .fetch_optional(&state.db.read)
        .await?
        .ok_or_else(|| Error::not_found(format!("Run with id={run_id} not found")))?;
    let info = info_from_row(&row);
    let parts = load_parts(&mut *state.db.read.acquire().await?, &[run_id.to_string()]).await?;
    let mut out = String::with_capacity(1024);
    render_run(&mut out, run_id, &serde_json::to_string(&info).map_err(Error::internal)?, &parts);
    Ok((info, out))
}

/// A response whose body is already JSON text.
pub(crate) fn json_text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Fills `run_json_cache` (migration 0004) for runs a search had to render from the tables,
/// in the background: one write transaction per chunk, so the text is rendered from the
/// tables as they are when it is stored and no write slips in between (the migration's
/// triggers drop a row whenever a later write changes what it renders). One fill at a time;
/// a search that finds one running leaves its runs to the next search.
pub(crate) fn spawn_cache_fill(state: &AppState, ids: Vec<String>) {
    let Ok(guard) = state.cache_fill.clone().try_lock_owned() else { return };
    let db = state.db.clone();
    tokio::spawn(async move {
        let _guard = guard;
        for chunk in ids.chunks(IN_CHUNK) {
            if let Err(e) = fill_chunk(&db, chunk).await {
                tracing::warn!(error = %e, "filling the run JSON cache failed (searches still work, slower)");
                return;
            }
        }
    });
}

async fn fill_chunk(db: &crate::db::Db, ids: &[String]) -> Result<()> {
    let mut tx = db.begin().await?;
    // Runs deleted since the search are simply not found here.
    let mut qb = Builder::new(
        db.backend,
        format!("SELECT r.run_uuid, {} AS info FROM runs r WHERE r.run_uuid IN (", info_json_sql(db.backend)),
    );
    push_list(&mut qb, ids);
    qb.push(")");
    let infos: Vec<(String, String)> =
        qb.build()?.fetch_all(&mut *tx).await?.iter().map(|r| (r.get("run_uuid"), r.get("info"))).collect();
    if infos.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = infos.iter().map(|(id, _)| id.clone()).collect();
    let parts = load_parts(&mut tx, &ids).await?;
    let mut qb = Builder::new(db.backend, "INSERT INTO run_json_cache (run_uuid, json) VALUES ");
    let mut rows = qb.separated(", ");
    for (id, info) in &infos {
        let mut json = String::with_capacity(512);
        render_run(&mut json, id, info, &parts);
        rows.push("(");
        rows.push_bind_unseparated(id.clone());
        rows.push_unseparated(", ");
        rows.push_bind_unseparated(json);
        rows.push_unseparated(")");
    }
    qb.push(" ON CONFLICT (run_uuid) DO UPDATE SET json = excluded.json");
    qb.build()?.execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
