//! `runs/search`: the filter grammar compiled to SQL over runs, params, tags, latest
//! metrics and dataset inputs; ordering with nulls last; offset page tokens.

use super::*;

#[derive(Debug, Deserialize)]
pub(super) struct SearchReq {
    #[serde(default, deserialize_with = "string_list")]
    experiment_ids: Vec<String>,
    #[serde(default, deserialize_with = "opt_string")]
    filter: Option<String>,
    #[serde(default, deserialize_with = "view_type_de")]
    run_view_type: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    max_results: Option<i64>,
    #[serde(default, deserialize_with = "string_list")]
    order_by: Vec<String>,
    #[serde(default, deserialize_with = "opt_string")]
    page_token: Option<String>,
}

/// Maps a run attribute name (with MLflow's aliases) to its column.
fn run_column(key: &str) -> Option<(&'static str, bool)> {
    // (column, numeric)
    Some(match key {
        "run_id" => ("r.run_uuid", false),
        "run_name" | "run name" | "Run name" | "Run Name" => ("r.name", false),
        "status" => ("r.status", false),
        "user_id" => ("r.user_id", false),
        "artifact_uri" => ("r.artifact_uri", false),
        "lifecycle_stage" => ("r.lifecycle_stage", false),
        "start_time" | "created" | "Created" => ("r.start_time", true),
        "end_time" => ("r.end_time", true),
        _ => return None,
    })
}

const RUN_ATTRS: &str =
    "['artifact_uri', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id']";

fn push_run_filter(qb: &mut Builder<'_>, f: &Comparison) -> Result<()> {
    match f.entity {
        Entity::Metric => {
            f.expect_ops(&[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge])?;
            let v = f.number_value()?;
            qb.push(" EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_uuid = r.run_uuid AND m.key = ");
            qb.push_bind(f.key.clone());
            qb.push(format!(" AND m.is_nan = 0 AND m.value {} ", f.op.sql()));
            qb.push_bind(v);
            qb.push(")");
        }
        Entity::Param | Entity::Tag => {
            let table = if f.entity == Entity::Param { "params" } else { "tags" };
            search::push_key_value_filter(qb, table, "t.run_uuid = r.run_uuid", f)?;
        }
        Entity::Attribute => {
            let Some((column, numeric)) = run_column(&f.key) else {
                return Err(Error::invalid(format!(
                    "Invalid attribute key '{}' specified. Valid keys are '{RUN_ATTRS}'",
                    f.key
                )));
            };
            if numeric {
                f.expect_ops(&[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge])?;
                qb.push(format!(" {column} {} ", f.op.sql()));
                qb.push_bind(f.number_value()?);
            } else {
                if matches!(f.op, Op::In | Op::NotIn) && column != "r.run_uuid" {
                    return Err(Error::invalid(
                        "Only ['run_id'] attributes support comparison with a list of quoted string values.",
                    ));
                }
                f.expect_ops(&[Op::Eq, Op::Ne, Op::Like, Op::ILike, Op::In, Op::NotIn])?;
                search::push_string_comparison(qb, column, f)?;
            }
        }
        Entity::Dataset => {
            f.expect_ops(&[Op::Eq, Op::Ne, Op::Like, Op::ILike, Op::In, Op::NotIn])?;
            let field: &[&str] = match f.key.as_str() {
                "name" => &["dataset", "name"],
                "digest" => &["dataset", "digest"],
                "context" => &["tags", "0", "value"],
                other => {
                    return Err(Error::invalid(format!(
                        "Invalid dataset key '{other}' specified. Valid keys are '{{'name', 'digest', 'context'}}'"
                    )));
                }
            };
            qb.push(" EXISTS (SELECT 1 FROM run_inputs i WHERE i.run_uuid = r.run_uuid AND i.kind = 'dataset' AND");
            let column = qb.backend().json_text_at("i.body", field);
            search::push_string_comparison(qb, &column, f)?;
            qb.push(")");
        }
    }
    Ok(())
}

/// A run of a search page as the page query returns it.
enum PageDoc<'a> {
    /// The whole run's JSON, from `run_json_cache`.
    Cached(&'a str),
    /// Only its info: the data is read from the tables.
    Info(&'a str),
}

pub(super) async fn search(State(state): State<AppState>, Msg(req): Msg<SearchReq>) -> Result<Response> {
    let limit = search::max_results(req.max_results, 1000, 50_000)?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let filters = search::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let exp_ids =
        req.experiment_ids.iter().map(|id| parse_experiment_id(id)).collect::<Result<Vec<i64>>>()?;
    let orders = req.order_by.iter().map(|o| search::parse_order_by(o)).collect::<Result<Vec<_>>>()?;

    // The page is read as one row: SQLite takes each run's JSON from `run_json_cache` (or
    // renders its info where the cache lacks it) and packs the runs, in page order, into one
    // string — every row sqlx hands from SQLite's thread to ours
    // costs more than SQLite's own work per run. The inner query exposes the sort keys so
    // the outer `group_concat` can keep the page's order.
    let mut keys: Vec<(String, &str)> = Vec::new();
    let mut joins: Vec<(usize, &str, &str)> = Vec::new(); // (alias number, table, key)
    let mut seen = Vec::new();
    for (i, o) in orders.iter().enumerate() {
        if seen.contains(&(o.entity, o.key.clone())) {
            return Err(Error::invalid(format!("`order_by` contains duplicate fields: {:?}", req.order_by)));
        }
        seen.push((o.entity, o.key.clone()));
        let dir = if o.ascending { "ASC" } else { "DESC" };
        match o.entity {
            Entity::Metric | Entity::Param | Entity::Tag => {
                let table = match o.entity {
                    Entity::Metric => "latest_metrics",
                    Entity::Param => "params",
                    _ => "tags",
                };
                joins.push((i, table, o.key.as_str()));
                if o.entity == Entity::Metric {
                    keys.push((
                        format!(
                            "CASE WHEN o{i}.run_uuid IS NULL THEN 2 WHEN o{i}.is_nan = 1 THEN 1 ELSE 0 END"
                        ),
                        "ASC",
                    ));
                } else {
                    keys.push((format!("(o{i}.run_uuid IS NULL)"), "ASC"));
                }
                keys.push((format!("o{i}.value"), dir));
            }
            Entity::Attribute => {
                let column = match o.key.as_str() {
                    "experiment_id" => "r.experiment_id",
                    key => match run_column(key) {
                        Some((c, _)) => c,
                        None => {
                            return Err(Error::invalid(format!(
                                "Invalid attribute key '{key}' specified. Valid keys are '{RUN_ATTRS}'"
                            )));
                        }
                    },
                };
                // NULLs last; only `end_time` can be NULL, and leaving the term out for the
                // others lets SQLite walk `runs_by_experiment` in order instead of sorting
                // every run of the experiment (a page of 100 of 1000: 2 ms → 0.4 ms).
                if column == "r.end_time" {
                    keys.push((format!("({column} IS NULL)"), "ASC"));
                }
                keys.push((column.to_string(), dir));
            }
            Entity::Dataset => return Err(Error::invalid("Ordering by dataset is not supported")),
        }
    }
    let by_start = orders.iter().any(|o| {
        o.entity == Entity::Attribute && matches!(o.key.as_str(), "start_time" | "created" | "Created")
    });
    if !by_start {
        keys.push(("r.start_time".into(), "DESC"));
    }
    keys.push(("r.run_uuid".into(), "ASC"));

    // Two levels: the page's ids and sort keys come from the index walk alone (a deep
    // OFFSET skips rows before touching the runs table or the cache), then only the page's
    // rows are joined to their info and cached data.
    let outer_order: Vec<String> = (0..keys.len()).map(|j| format!("p.k{j} {}", keys[j].1)).collect();
    let backend = state.db.backend;
    let mut qb = Builder::new(
        backend,
        format!(
            "SELECT count(*) AS n, string_agg(p.id || '\u{1d}' || coalesce(c.json, '\u{1e}' || {}), \
             '\u{1c}' ORDER BY {}) AS packed FROM (SELECT r.run_uuid AS id",
            info_json_sql(backend),
            outer_order.join(", ")
        ),
    );
    for (j, (expr, _)) in keys.iter().enumerate() {
        qb.push(format!(", {expr} AS k{j}"));
    }
    qb.push(" FROM runs r");
    // The joins' binds come before the WHERE binds, as in the text.
    for (i, table, key) in joins {
        qb.push(format!(" LEFT JOIN {table} o{i} ON o{i}.run_uuid = r.run_uuid AND o{i}.key = "));
        qb.push_bind(key.to_string());
    }
    qb.push(" WHERE r.experiment_id IN (");
    if exp_ids.is_empty() {
        qb.push("NULL");
    } else {
        let mut sep = qb.separated(", ");
        for id in &exp_ids {
            sep.push_bind(*id);
        }
    }
    qb.push(") AND ");
    qb.push(experiments::view_type_clause(req.run_view_type.as_deref(), "r.lifecycle_stage")?);
    for f in &filters {
        qb.push(" AND");
        push_run_filter(&mut qb, f)?;
    }
    let inner_order: Vec<String> = keys.iter().map(|(expr, dir)| format!("{expr} {dir}")).collect();
    qb.push(" ORDER BY ");
    qb.push(inner_order.join(", "));
    qb.push(" LIMIT ");
    qb.push_bind(limit + 1);
    qb.push(" OFFSET ");
    qb.push_bind(offset);
    qb.push(") p JOIN runs r ON r.run_uuid = p.id LEFT JOIN run_json_cache c ON c.run_uuid = p.id");
    let started = std::time::Instant::now();
    let mut conn = state.db.read.acquire().await?;
    let row = qb.build()?.fetch_one(&mut *conn).await?;
    let n: i64 = row.get("n");
    let packed: Option<String> = row.get("packed");
    let more = n > limit;
    // Each record: the id, then the run's cached JSON, or U+001E and its info alone.
    let mut page = Vec::with_capacity(n.min(limit) as usize);
    for record in packed.iter().flat_map(|p| p.split('\u{1c}')).take(limit as usize) {
        let (id, doc) = record
            .split_once('\u{1d}')
            .ok_or_else(|| Error::internal(format!("malformed search record {record:?}")))?;
        page.push(match doc.strip_prefix('\u{1e}') {
            Some(info) => (id, PageDoc::Info(info)),
            None => (id, PageDoc::Cached(doc)),
        });
    }
    let page_ms = started.elapsed().as_secs_f64() * 1e3;
    // Runs the cache lacks (new, or changed since): rendered from the tables here, and
    // cached in the background for the next search.
    let missing: Vec<String> =
        page.iter().filter(|r| matches!(r.1, PageDoc::Info(_))).map(|r| r.0.to_string()).collect();
    let parts =
        if missing.is_empty() { DataParts::default() } else { load_parts(&mut conn, &missing).await? };
    drop(conn);
    let data_ms = started.elapsed().as_secs_f64() * 1e3 - page_ms;
    let mut out = String::with_capacity(64 + packed.as_ref().map_or(0, String::len) + missing.len() * 400);
    out.push('{');
    if !page.is_empty() {
        out.push_str("\"runs\":[");
        for (i, (id, doc)) in page.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match doc {
                PageDoc::Cached(json) => out.push_str(json),
                PageDoc::Info(info) => render_run(&mut out, id, info, &parts),
            }
        }
        out.push(']');
    }
    if more {
        if !page.is_empty() {
            out.push(',');
        }
        out.push_str("\"next_page_token\":\"");
        out.push_str(&search::encode_page_token(offset + limit));
        out.push('"');
    }
    out.push('}');
    tracing::debug!(
        runs = page.len(),
        uncached = missing.len(),
        page_ms,
        data_ms,
        total_ms = started.elapsed().as_secs_f64() * 1e3,
        "search runs"
    );
    if !missing.is_empty() {
        spawn_cache_fill(&state, missing);
    }
    Ok(json_text(out))
}
