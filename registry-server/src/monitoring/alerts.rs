//! The alert evaluator: every `interval_s`, each rule is judged for each model version with
//! recent traffic, feedback or an open alert. A breach opens an alert (stored, logged at
//! WARN, POSTed to the webhook); an open alert whose condition no longer holds — or whose
//! window has too little data to judge — resolves the same way.
//!
//! Webhook payload (one alert per POST, delivered in order, retried 3 times):
//! `{"status": "firing"|"resolved", "alert": {…the alert as `GET /v1/alerts` lists it…}}`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use tokio::sync::mpsc;

use super::analytics::WindowMetrics;
use super::rules::{Metric, Rule};
use super::{Range, version_string};
use crate::AppState;
use crate::db::now_ms;
use crate::error::{Error, Result, is_unique_violation};
use crate::extract::{Msg, opt_i64, opt_string};
use crate::search;

/// Delivery attempts per notification, and the pause before each retry.
const WEBHOOK_RETRIES: [Duration; 3] =
    [Duration::from_millis(0), Duration::from_secs(1), Duration::from_secs(4)];

/// Starts the evaluator (and its webhook sender) on the current runtime. Dropping or
/// aborting the handle stops both.
pub fn spawn_evaluator(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (tx, rx) = mpsc::unbounded_channel();
        let sender = tokio::spawn(deliver(state.clone(), rx));
        let _stop_sender = AbortOnDrop(sender);
        let period = Duration::from_secs_f64(state.monitor.config.interval_s);
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = evaluate(&state, now_ms(), &tx).await {
                tracing::warn!(%err, "alert evaluation failed; retrying at the next interval");
            }
        }
    })
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A state change to announce.
#[derive(Debug)]
struct Notice {
    id: i64,
    status: &'static str,
    alert: Value,
}

/// One pass over every rule and every version that needs judging.
async fn evaluate(state: &AppState, now: i64, notices: &mpsc::UnboundedSender<Notice>) -> Result<()> {
    let rules = &state.monitor.config.rules;
    let Some(longest) = rules.iter().map(|r| r.window_s).reduce(f64::max) else { return Ok(()) };
    let since = now - (longest * 1000.0) as i64;
    let versions: Vec<(String, i64)> = sqlx::query(
        "SELECT model, version FROM telemetry_events WHERE received_ms >= $1
         UNION SELECT model, version FROM feedback WHERE received_ms >= $1
         UNION SELECT model, version FROM alerts WHERE state = 'firing'",
    )
    .bind(since)
    .fetch_all(&state.db.read)
    .await?
    .iter()
    .map(|r| (r.get("model"), r.get("version")))
    .collect();
    for (model, version) in versions {
        // One computation per distinct window, of what that window's rules read.
        let windows: BTreeSet<u64> = rules.iter().map(|r| r.window_s.to_bits()).collect();
        let mut figures = BTreeMap::new();
        for bits in windows {
            let window_s = f64::from_bits(bits);
            let metrics: Vec<Metric> =
                rules.iter().filter(|r| r.window_s.to_bits() == bits).map(|r| r.metric).collect();
            let range = Range { from_ms: now - (window_s * 1000.0) as i64, to_ms: now + 1 };
            figures.insert(bits, WindowMetrics::compute(state, &model, version, range, &metrics).await?);
        }
        for rule in rules.iter().filter(|r| r.model.as_ref().is_none_or(|m| *m == model)) {
            let measured = figures
                .get(&rule.window_s.to_bits())
                .and_then(|f| f.value(rule.metric))
                .filter(|(_, n)| *n >= rule.min_samples);
            judge(state, rule, &model, version, measured, now, notices).await?;
        }
    }
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM alerts WHERE state = 'firing'")
        .fetch_one(&state.db.read)
        .await?;
    state.monitor.metrics.firing.set(open);
    state.monitor.metrics.evaluations.inc();
    Ok(())
}

/// Opens, updates or resolves the alert of one rule and version.
async fn judge(
    state: &AppState,
    rule: &Rule,
    model: &str,
    version: i64,
    measured: Option<(f64, u64)>,
    now: i64,
    notices: &mpsc::UnboundedSender<Notice>,
) -> Result<()> {
    let open: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM alerts WHERE rule = $1 AND model = $2 AND version = $3 AND state = 'firing'",
    )
    .bind(&rule.name)
    .bind(model)
    .bind(version)
    .fetch_optional(&state.db.read)
    .await?;
    let breach = measured.filter(|(value, _)| rule.op.breached(*value, rule.threshold));
    match (open, breach) {
        (None, Some((value, samples))) => {
            let message = format!(
                "{} of model '{model}' version {version} is {} ({} {} {}) over the last {}s ({samples} samples)",
                rule.metric.name(),
                short(value),
                short(value),
                rule.op.symbol(),
                short(rule.threshold),
                rule.window_s
            );
            let inserted = sqlx::query(
                "INSERT INTO alerts (rule, model, version, metric, op, threshold, window_s, state, value,
                   last_value, samples, fired_ms, last_eval_ms, message)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'firing', $8, $9, $10, $11, $12, $13) RETURNING id",
            )
            .bind(&rule.name)
            .bind(model)
            .bind(version)
            .bind(rule.metric.name())
            .bind(rule.op.symbol())
            .bind(rule.threshold)
            .bind(rule.window_s)
            .bind(value)
            .bind(value)
            .bind(samples as i64)
            .bind(now)
            .bind(now)
            .bind(&message)
            .fetch_one(&state.db.write)
            .await;
            let id: i64 = match inserted {
                Ok(row) => row.get("id"),
                // Another evaluator (a replica) opened it first: it notifies.
                Err(err) if is_unique_violation(&err) => return Ok(()),
                Err(err) => return Err(err.into()),
            };
            tracing::warn!(alert = id, rule = %rule.name, model, version, value, "alert firing: {message}");
            state.monitor.metrics.fired.inc();
            announce(state, id, "firing", notices).await
        }
        (Some(id), Some((value, samples))) => {
            sqlx::query("UPDATE alerts SET last_value = $1, samples = $2, last_eval_ms = $3 WHERE id = $4")
                .bind(value)
                .bind(samples as i64)
                .bind(now)
                .bind(id)
                .execute(&state.db.write)
                .await?;
            Ok(())
        }
        (Some(id), None) => {
            let resolved = sqlx::query(
                "UPDATE alerts SET state = 'resolved', resolved_ms = $1, last_eval_ms = $2, last_value = $3
                 WHERE id = $4 AND state = 'firing'",
            )
            .bind(now)
            .bind(now)
            .bind(measured.map(|(v, _)| v))
            .bind(id)
            .execute(&state.db.write)
            .await?
            .rows_affected();
            if resolved == 0 {
                return Ok(());
            }
            tracing::info!(alert = id, rule = %rule.name, model, version, "alert resolved");
            state.monitor.metrics.resolved.inc();
            announce(state, id, "resolved", notices).await
        }
        (None, None) => Ok(()),
    }
}

/// Queues the webhook notification of an alert's new state.
async fn announce(
    state: &AppState,
    id: i64,
    status: &'static str,
    notices: &mpsc::UnboundedSender<Notice>,
) -> Result<()> {
    if state.monitor.config.webhook.is_none() {
        return Ok(());
    }
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM alerts WHERE id = $1"))
        .bind(id)
        .fetch_one(&state.db.write)
        .await?;
    // The receiver lives as long as the evaluator that owns the sender.
    let _ = notices.send(Notice { id, status, alert: alert_json(&row) });
    Ok(())
}

/// Sends notifications one at a time, in order, so "resolved" never overtakes "firing".
async fn deliver(state: AppState, mut notices: mpsc::UnboundedReceiver<Notice>) {
    let Some(url) = state.monitor.config.webhook.clone() else { return };
    while let Some(notice) = notices.recv().await {
        let body = json!({"status": notice.status, "alert": notice.alert});
        let mut outcome = String::new();
        for pause in WEBHOOK_RETRIES {
            tokio::time::sleep(pause).await;
            match state.monitor.http.post(&url).json(&body).send().await {
                Ok(resp) if resp.status().is_success() => {
                    outcome = format!("{} delivered (HTTP {})", notice.status, resp.status().as_u16());
                    break;
                }
                Ok(resp) => {
                    outcome = format!("{} not delivered: HTTP {}", notice.status, resp.status().as_u16())
                }
                Err(err) => outcome = format!("{} not delivered: {}", notice.status, without_url(&err)),
            }
        }
        if !outcome.contains("delivered (") {
            tracing::warn!(alert = notice.id, %outcome, "alert webhook failed");
            state.monitor.metrics.webhook_failures.inc();
        }
        if let Err(err) = sqlx::query("UPDATE alerts SET webhook_status = $1 WHERE id = $2")
            .bind(&outcome)
            .bind(notice.id)
            .execute(&state.db.write)
            .await
        {
            tracing::warn!(%err, "could not record the webhook outcome");
        }
    }
}

/// A reqwest error's kind without the URL (which may hold a token).
fn without_url(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "could not connect".into()
    } else {
        "request failed".into()
    }
}

/// A number for a message: 4 significant digits.
fn short(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

const COLUMNS: &str = "id, rule, model, version, metric, op, threshold, window_s, state, value, last_value, \
                       samples, fired_ms, last_eval_ms, resolved_ms, message, webhook_status";

fn alert_json(r: &AnyRow) -> Value {
    json!({
        "id": r.get::<i64, _>("id").to_string(),
        "rule": r.get::<String, _>("rule"),
        "model": r.get::<String, _>("model"),
        "version": version_string(r.get("version")),
        "metric": r.get::<String, _>("metric"),
        "op": r.get::<String, _>("op"),
        "threshold": r.get::<f64, _>("threshold"),
        "window_s": r.get::<f64, _>("window_s"),
        "state": r.get::<String, _>("state"),
        "value": r.get::<f64, _>("value"),
        "last_value": r.get::<Option<f64>, _>("last_value"),
        "samples": r.get::<i64, _>("samples"),
        "fired_ms": r.get::<i64, _>("fired_ms"),
        "last_eval_ms": r.get::<i64, _>("last_eval_ms"),
        "resolved_ms": r.get::<Option<i64>, _>("resolved_ms"),
        "message": r.get::<String, _>("message"),
        "webhook_status": r.get::<Option<String>, _>("webhook_status"),
    })
}

/// Query of `GET /v1/alerts`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "opt_string")]
    model: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    version: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    state: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    max_results: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    page_token: Option<String>,
}

/// `GET /v1/alerts?model=&version=&state=firing|resolved|all`: newest first.
pub async fn list(State(state): State<AppState>, Msg(q): Msg<ListQuery>) -> Result<Json<Value>> {
    let wanted = match q.state.as_deref().unwrap_or("all") {
        "all" => None,
        s @ ("firing" | "resolved") => Some(s.to_string()),
        other => {
            return Err(Error::invalid(format!("state must be firing, resolved or all (got '{other}')")));
        }
    };
    let max = search::max_results(q.max_results, 100, 1000)?;
    let offset = search::decode_page_token(q.page_token.as_deref())?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM alerts
         WHERE ($1 IS NULL OR model = $1) AND ($2 IS NULL OR version = $2) AND ($3 IS NULL OR state = $3)
         ORDER BY fired_ms DESC, id DESC LIMIT $4 OFFSET $5"
    ))
    .bind(&q.model)
    .bind(q.version)
    .bind(&wanted)
    .bind(max + 1)
    .bind(offset)
    .fetch_all(&state.db.read)
    .await?;
    let alerts: Vec<Value> = rows.iter().take(max as usize).map(alert_json).collect();
    let mut body = json!({"alerts": alerts});
    if rows.len() as i64 > max {
        body["next_page_token"] = Value::String(search::encode_page_token(offset + max));
    }
    Ok(Json(body))
}

/// `GET /v1/alerts/rules`: the rules in force (the webhook's address is not shown).
pub async fn rules(State(state): State<AppState>) -> Json<Value> {
    let config = &state.monitor.config;
    Json(json!({
        "interval_s": config.interval_s,
        "webhook_configured": config.webhook.is_some(),
        "rules": config.rules,
    }))
}
