//! `POST /v1/feedback`: the true raga of a prediction, named by its id (the telemetry
//! `event_id` the runtime generated, which `classify` returns as `predictionId`).
//!
//! When the prediction's telemetry has arrived, the model, version and predicted raga come
//! from it. Telemetry is batched, so feedback may come first: then the body must name them.
//! A second answer for the same prediction replaces the first.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use super::reference;
use crate::AppState;
use crate::db::now_ms;
use crate::error::{Error, Result};
use crate::extract::{opt_i64, opt_string};
use crate::registry;
use crate::telemetry::JsonOrText;

const MAX_ID_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 128;

/// The body of `POST /v1/feedback`.
#[derive(Debug, Deserialize)]
pub struct FeedbackIn {
    #[serde(default, deserialize_with = "opt_string")]
    prediction_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    true_raga: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    model: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    version: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    predicted: Option<String>,
}

/// Stores one answer; `{"prediction_id", "model", "version", "predicted", "true_raga", "correct"}`.
pub async fn post(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    JsonOrText(body): JsonOrText<FeedbackIn>,
) -> Result<Json<Value>> {
    let id = body.prediction_id.ok_or_else(|| {
        Error::invalid("prediction_id is required: send the predictionId that classify returned")
    })?;
    if !(1..=MAX_ID_LEN).contains(&id.len())
        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::invalid(format!(
            "prediction_id must be 1 to {MAX_ID_LEN} characters of A-Z, a-z, 0-9, '_' and '-'"
        )));
    }
    let truth = body.true_raga.filter(|t| !t.is_empty()).ok_or_else(|| {
        Error::invalid("true_raga is required: the raga the clip really is, as the model names it")
    })?;
    if truth.chars().count() > MAX_LABEL_LEN {
        return Err(Error::invalid(format!("true_raga must be at most {MAX_LABEL_LEN} characters")));
    }
    let event =
        sqlx::query("SELECT model, version, top_label, error FROM telemetry_events WHERE event_id = $1")
            .bind(&id)
            .fetch_optional(&state.db.read)
            .await?;
    let (model, version, predicted) = match event {
        Some(row) => {
            let model: String = row.get("model");
            let version: i64 = row.get("version");
            if body.model.as_ref().is_some_and(|m| *m != model) || body.version.is_some_and(|v| v != version)
            {
                return Err(Error::invalid(format!(
                    "prediction '{id}' was made by model '{model}' version {version}, not the model or \
                     version this feedback names"
                )));
            }
            let predicted: Option<String> = row.get("top_label");
            let predicted = predicted.ok_or_else(|| {
                Error::invalid(format!(
                    "prediction '{id}' failed (it has no answer), so there is nothing to judge"
                ))
            })?;
            (model, version, predicted)
        }
        None => match (body.model, body.version, body.predicted) {
            (Some(m), Some(v), Some(p)) if !m.is_empty() && !p.is_empty() => (m, v, p),
            _ => {
                return Err(Error::not_found(format!(
                    "no prediction '{id}' has reached the server yet (telemetry is batched): send model, \
                     version and predicted with the feedback, or retry after the telemetry is flushed"
                )));
            }
        },
    };
    crate::auth::check_model(&extensions, &model)?;
    {
        let mut conn = state.db.read.acquire().await?;
        registry::load_version(&mut conn, &model, version).await?;
    }
    if let Some(reference) = reference(&state, &model, version).await? {
        for (field, label) in [("true_raga", &truth), ("predicted", &predicted)] {
            if !reference.labels.contains(label) {
                let some: Vec<&str> = reference.labels.iter().take(5).map(String::as_str).collect();
                return Err(Error::invalid(format!(
                    "{field} '{label}' is not a raga of model '{model}' version {version} (its {} labels \
                     include {})",
                    reference.labels.len(),
                    some.join(", ")
                )));
            }
        }
    }
    let correct = predicted == truth;
    sqlx::query(
        "INSERT INTO feedback (prediction_id, model, version, predicted, true_label, correct, received_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (prediction_id) DO UPDATE SET
           true_label = excluded.true_label, correct = excluded.correct, received_ms = excluded.received_ms",
    )
    .bind(&id)
    .bind(&model)
    .bind(version)
    .bind(&predicted)
    .bind(&truth)
    .bind(i64::from(correct))
    .bind(now_ms())
    .execute(&state.db.write)
    .await?;
    state.monitor.metrics.feedback.inc();
    Ok(Json(json!({
        "prediction_id": id,
        "model": model,
        "version": version.to_string(),
        "predicted": predicted,
        "true_raga": truth,
        "correct": correct,
    })))
}
