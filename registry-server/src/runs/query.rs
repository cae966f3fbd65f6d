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

fn push_run_filter(qb: &mut QueryBuilder<'_, Sqlite>, f: &Comparison) -> Result<()> {
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
            let field = match f.key.as_str() {
                "name" => "$.dataset.name",
                "digest" => "$.dataset.digest",
                "context" => "$.tags[0].value",
                other => {
                    return Err(Error::invalid(format!(
                        "Invalid dataset key '{other}' specified. Valid keys are '{{'name', 'digest', 'context'}}'"
                    )));
                }
            };
            qb.push(" EXISTS (SELECT 1 FROM run_inputs i WHERE i.run_uuid = r.run_uuid AND i.kind = 'dataset' AND");
            search::push_string_comparison(qb, &format!("json_extract(i.body, '{field}')"), f)?;
            qb.push(")");
        }
    }
    Ok(())
}

pub(super) async fn search(State(state): State<AppState>, Msg(req): Msg<SearchReq>) -> Result<Response> {
    let limit = search::max_results(req.max_results, 1000, 50_000)?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let filters = search::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let exp_ids =
        req.experiment_ids.iter().map(|id| parse_experiment_id(id)).collect::<Result<Vec<i64>>>()?;
    let orders = req.order_by.iter().map(|o| search::parse_order_by(o)).collect::<Result<Vec<_>>>()?;

    let mut qb: QueryBuilder<'_, Sqlite> =
        QueryBuilder::new(format!("SELECT r.run_uuid, {INFO_JSON_SQL} AS info FROM runs r"));
    // Joins for ordering come first so that their binds precede the WHERE binds.
    let mut order_sql = Vec::new();
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
                qb.push(format!(" LEFT JOIN {table} o{i} ON o{i}.run_uuid = r.run_uuid AND o{i}.key = "));
                qb.push_bind(o.key.clone());
                if o.entity == Entity::Metric {
                    order_sql.push(format!(
                        "(CASE WHEN o{i}.run_uuid IS NULL THEN 2 WHEN o{i}.is_nan = 1 THEN 1 ELSE 0 END), o{i}.value {dir}"
                    ));
                } else {
                    order_sql.push(format!("(o{i}.run_uuid IS NULL), o{i}.value {dir}"));
                }
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
                    order_sql.push(format!("({column} IS NULL), {column} {dir}"));
                } else {
                    order_sql.push(format!("{column} {dir}"));
                }
            }
            Entity::Dataset => return Err(Error::invalid("Ordering by dataset is not supported")),
        }
    }
    let by_start = orders.iter().any(|o| {
        o.entity == Entity::Attribute && matches!(o.key.as_str(), "start_time" | "created" | "Created")
    });
    if !by_start {
        order_sql.push("r.start_time DESC".into());
    }
    order_sql.push("r.run_uuid ASC".into());

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
    qb.push(" ORDER BY ");
    qb.push(order_sql.join(", "));
    qb.push(" LIMIT ");
    qb.push_bind(limit + 1);
    qb.push(" OFFSET ");
    qb.push_bind(offset);
    let started = std::time::Instant::now();
    let rows = qb.build().fetch_all(&state.db.read).await?;
    let more = rows.len() as i64 > limit;
    let infos: Vec<(String, String)> =
        rows.iter().take(limit as usize).map(|r| (r.get("run_uuid"), r.get("info"))).collect();
    let ids: Vec<String> = infos.iter().map(|(id, _)| id.clone()).collect();
    let runs_ms = started.elapsed().as_secs_f64() * 1e3;
    let parts = load_parts(&state, &ids).await?;
    let data_ms = started.elapsed().as_secs_f64() * 1e3 - runs_ms;
    let mut out = String::with_capacity(64 + infos.len() * 600);
    out.push('{');
    if !infos.is_empty() {
        out.push_str("\"runs\":[");
        for (i, (id, info)) in infos.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            render_run(&mut out, id, info, &parts)?;
        }
        out.push(']');
    }
    if more {
        if !infos.is_empty() {
            out.push(',');
        }
        out.push_str("\"next_page_token\":\"");
        out.push_str(&search::encode_page_token(offset + limit));
        out.push('"');
    }
    out.push('}');
    tracing::debug!(
        runs = ids.len(),
        runs_ms,
        data_ms,
        total_ms = started.elapsed().as_secs_f64() * 1e3,
        "search runs"
    );
    Ok(json_text(out))
}
