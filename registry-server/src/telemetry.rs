//! Browser telemetry: `POST /v1/telemetry` stores batches of classification events sent by
//! the wasm runtime (idempotent on `event_id`), `GET /v1/telemetry` reads them back newest
//! first.
//!
//! Events carry timings, the answer, and summary statistics of the clip — never audio. The
//! whole batch is checked before anything is stored, and stored in one transaction.

use std::collections::BTreeSet;

use crate::sql::Builder;
use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::AppState;
use crate::db::now_ms;
use crate::error::{Error, Result};
use crate::extract::{Msg, opt_i64, opt_string, required};
use crate::registry;
use crate::search;

/// Largest request body of `POST /v1/telemetry`, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most events in one batch.
pub const MAX_EVENTS: usize = 100;
/// Mel bands of the clip statistics.
pub const N_MELS: usize = raga_model::input::N_MELS;
/// Pitch-class histogram bins of the clip statistics.
pub const HIST_BINS: usize = raga_dsp::HIST_BINS;
const MAX_EVENT_ID_LEN: usize = 64;
const MAX_MODEL_LEN: usize = 256;
const MAX_LABEL_LEN: usize = 128;
const MAX_ERROR_LEN: usize = 1000;
const MAX_RUNTIME_LEN: usize = 512;
/// Timings at or above this many milliseconds (~2.8 hours) are not a measurement.
const MAX_TIMING_MS: f64 = 1e7;

/// Routes (absolute paths).
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/telemetry", get(list).post(ingest))
}

// ---- wire format ----

/// Stage timings of one classification, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Feature extraction.
    pub features: f64,
    /// The network.
    pub inference: f64,
    /// End to end.
    pub total: f64,
}

/// Summary statistics of the classified clip: `raga_model::FeatureStats` of one clip, the
/// same shape as a package's training reference, so drift compares like with like. Fields
/// it does not know are dropped, so nothing but these numbers is stored.
pub type InputStats = raga_model::FeatureStats;

/// The wasm runtime that sent an event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    /// Version of the runtime package.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_string")]
    pub package_version: Option<String>,
    /// The browser's user agent string.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_string")]
    pub user_agent: Option<String>,
}

/// One checked event, as stored and as `GET /v1/telemetry` returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Client-generated id, the deduplication key.
    pub event_id: String,
    /// Registered model name.
    pub model: String,
    /// Model version (a string on the wire, as in MLflow).
    #[serde(serialize_with = "as_string")]
    pub version: i64,
    /// `webgpu` or `cpu`.
    pub backend: String,
    /// The client's clock, milliseconds since the Unix epoch.
    pub client_time_ms: i64,
    /// Stage timings.
    pub timings_ms: Timings,
    /// The winning raga; absent when the classification failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_label: Option<String>,
    /// Its probability, 0..=1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// `hindustani`, `carnatic` or `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tradition: Option<String>,
    /// Estimated tonic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tonic_hz: Option<f64>,
    /// Statistics of the clip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<InputStats>,
    /// Why the classification failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Who sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// The server's clock when the event arrived (only on the way out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_ms: Option<i64>,
}

fn as_string<S: Serializer>(value: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// A request body as sent, before the checks that need the event's index in messages.
#[derive(Debug, Deserialize)]
struct Batch {
    #[serde(default)]
    events: Option<Vec<EventIn>>,
}

#[derive(Debug, Deserialize)]
struct EventIn {
    #[serde(default, deserialize_with = "opt_string")]
    event_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    model: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    version: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    backend: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    client_time_ms: Option<i64>,
    timings_ms: Option<Timings>,
    #[serde(default, deserialize_with = "opt_string")]
    top_label: Option<String>,
    confidence: Option<f64>,
    #[serde(default, deserialize_with = "opt_string")]
    tradition: Option<String>,
    tonic_hz: Option<f64>,
    input: Option<InputStats>,
    #[serde(default, deserialize_with = "opt_string")]
    error: Option<String>,
    runtime: Option<Runtime>,
}

// ---- request body ----

/// A JSON body sent as `application/json` or as `text/plain` — what `navigator.sendBeacon`
/// sends for a string, and the only way to post cross-origin without a CORS preflight.
#[derive(Debug)]
pub struct JsonOrText<T>(pub T);

impl<S, T> FromRequest<S> for JsonOrText<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let content_type = req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?"));
        let essence =
            content_type.map(|ct| ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        match essence.as_deref() {
            Some("application/json" | "text/plain") => {}
            _ => {
                let got = content_type.map_or_else(|| "none".to_string(), |ct| format!("'{ct}'"));
                return Err(Error::UnsupportedMediaType(format!(
                    "telemetry must be sent as Content-Type application/json or text/plain (got {got})"
                )));
            }
        }
        let too_large = format!(
            "request body is larger than the {} MiB telemetry limit: send fewer events per request",
            MAX_BODY_BYTES / (1024 * 1024)
        );
        let bytes = crate::extract::read_body(req, state, &too_large).await?;
        decode_json(&bytes).map(Self)
    }
}

/// Parses a JSON body into `T`; the error names the path of the first bad field.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let what = if inner.is_data() { "invalid" } else { "not valid JSON" };
        if path == "." {
            Error::invalid(format!("request body is {what}: {inner}"))
        } else {
            Error::invalid(format!("request body is {what} at {path}: {inner}"))
        }
    })?;
    de.end().map_err(|err| Error::invalid(format!("request body is not valid JSON: {err}")))?;
    Ok(value)
}

/// Parses and checks the body of `POST /v1/telemetry` exactly as the endpoint does before it
/// looks up the models and stores the events. Every event it returns can be stored: its
/// `input` and `runtime` serialise back to JSON. (The fuzz target `telemetry_parse` drives it.)
pub fn parse_batch(bytes: &[u8]) -> Result<Vec<Event>> {
    check_batch(decode_json(bytes)?)
}

// ---- checks ----

/// Checks a batch: 1..=[`MAX_EVENTS`] events, each valid. The first problem fails it all.
fn check_batch(batch: Batch) -> Result<Vec<Event>> {
    let events =
        batch.events.ok_or_else(|| Error::invalid("events is required: send {\"events\": [...]}"))?;
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(Error::invalid(format!(
            "events must hold 1 to {MAX_EVENTS} events (got {}): split larger batches",
            events.len()
        )));
    }
    events.into_iter().enumerate().map(|(i, e)| check_event(i, e)).collect()
}

fn check_event(i: usize, e: EventIn) -> Result<Event> {
    let at = |field: &str| format!("events[{i}].{field}");
    let need = |field: &str| Error::invalid(format!("events[{i}].{field} is required"));

    let event_id = e.event_id.ok_or_else(|| need("event_id"))?;
    let id_ok = (1..=MAX_EVENT_ID_LEN).contains(&event_id.len())
        && event_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !id_ok {
        return Err(Error::invalid(format!(
            "{} must be 1 to {MAX_EVENT_ID_LEN} characters of A-Z, a-z, 0-9, '_' and '-' (got {})",
            at("event_id"),
            shown(&event_id)
        )));
    }
    let model = e.model.filter(|m| !m.is_empty()).ok_or_else(|| need("model"))?;
    max_chars(&at("model"), &model, MAX_MODEL_LEN)?;
    let version = e.version.ok_or_else(|| need("version"))?;
    if version < 1 {
        return Err(Error::invalid(format!(
            "{} must be a version number, 1 or more (got {version})",
            at("version")
        )));
    }
    let backend = e.backend.ok_or_else(|| need("backend"))?;
    one_of(&at("backend"), &backend, &["webgpu", "cpu"])?;
    let client_time_ms = e.client_time_ms.ok_or_else(|| need("client_time_ms"))?;
    if client_time_ms < 0 {
        return Err(Error::invalid(format!(
            "{} must be milliseconds since the Unix epoch (got {client_time_ms})",
            at("client_time_ms")
        )));
    }
    let timings_ms = e.timings_ms.ok_or_else(|| need("timings_ms"))?;
    for (name, x) in
        [("features", timings_ms.features), ("inference", timings_ms.inference), ("total", timings_ms.total)]
    {
        number(&at(&format!("timings_ms.{name}")), x, (0.0..MAX_TIMING_MS).contains(&x), "0..1e7 ms")?;
    }
    if let Some(error) = &e.error {
        if error.is_empty() {
            return Err(Error::invalid(format!(
                "{} must not be empty: leave it out for a success",
                at("error")
            )));
        }
        max_chars(&at("error"), error, MAX_ERROR_LEN)?;
    } else {
        if e.top_label.is_none() {
            return Err(Error::invalid(format!(
                "{} is required unless the event reports an error",
                at("top_label")
            )));
        }
        if e.confidence.is_none() {
            return Err(Error::invalid(format!(
                "{} is required unless the event reports an error",
                at("confidence")
            )));
        }
    }
    if let Some(label) = &e.top_label {
        if label.is_empty() {
            return Err(Error::invalid(format!("{} must not be empty", at("top_label"))));
        }
        max_chars(&at("top_label"), label, MAX_LABEL_LEN)?;
    }
    if let Some(c) = e.confidence {
        number(&at("confidence"), c, (0.0..=1.0).contains(&c), "0..1")?;
    }
    if let Some(t) = &e.tradition {
        one_of(&at("tradition"), t, &["hindustani", "carnatic", "unknown"])?;
    }
    if let Some(hz) = e.tonic_hz {
        number(&at("tonic_hz"), hz, (20.0..=2000.0).contains(&hz), "20..2000 Hz")?;
    }
    if let Some(stats) = &e.input {
        check_input(&at("input"), stats)?;
    }
    if let Some(runtime) = &e.runtime {
        for (name, value) in
            [("package_version", &runtime.package_version), ("user_agent", &runtime.user_agent)]
        {
            if let Some(value) = value {
                max_chars(&at(&format!("runtime.{name}")), value, MAX_RUNTIME_LEN)?;
            }
        }
    }
    Ok(Event {
        event_id,
        model,
        version,
        backend,
        client_time_ms,
        timings_ms,
        top_label: e.top_label,
        confidence: e.confidence,
        tradition: e.tradition,
        tonic_hz: e.tonic_hz,
        input: e.input,
        error: e.error,
        runtime: e.runtime,
        received_ms: None,
    })
}

/// Shape of the clip statistics: [`N_MELS`] bands, [`HIST_BINS`] bins, every number finite.
fn check_input(at: &str, s: &InputStats) -> Result<()> {
    if s.log_mel.len() != N_MELS {
        return Err(Error::invalid(format!(
            "{at}.log_mel must have {N_MELS} mel bands (got {})",
            s.log_mel.len()
        )));
    }
    if s.pitch_class_hist.len() != HIST_BINS {
        return Err(Error::invalid(format!(
            "{at}.pitch_class_hist must have {HIST_BINS} bins (got {})",
            s.pitch_class_hist.len()
        )));
    }
    let pairs = s.log_mel.iter().enumerate().map(|(b, m)| (format!("log_mel[{b}]"), m)).chain([
        ("level_db".to_string(), &s.level_db),
        ("voiced_fraction".to_string(), &s.voiced_fraction),
        ("tonic_hz".to_string(), &s.tonic_hz),
        ("seconds".to_string(), &s.seconds),
    ]);
    for (name, m) in pairs {
        if !m.mean.is_finite() || !m.std.is_finite() {
            return Err(Error::invalid(format!("{at}.{name} must hold finite numbers")));
        }
    }
    if let Some(b) = s.pitch_class_hist.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(format!("{at}.pitch_class_hist[{b}] must be a finite number")));
    }
    Ok(())
}

/// Fails unless `x` is finite and `in_range`.
fn number(at: &str, x: f64, in_range: bool, bounds: &str) -> Result<()> {
    if x.is_finite() && in_range {
        Ok(())
    } else {
        Err(Error::invalid(format!("{at} must be within {bounds} (got {x})")))
    }
}

fn max_chars(at: &str, value: &str, limit: usize) -> Result<()> {
    let n = value.chars().count();
    if n > limit {
        return Err(Error::invalid(format!("{at} must be at most {limit} characters (got {n})")));
    }
    Ok(())
}

fn one_of(at: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
    Err(Error::invalid(format!("{at} must be one of {} (got {})", list.join(", "), shown(value))))
}

/// A client's string for an error message: quoted when short, its length when not.
fn shown(value: &str) -> String {
    if value.chars().count() <= MAX_EVENT_ID_LEN {
        serde_json::to_string(value).unwrap_or_default()
    } else {
        format!("a string of {} characters", value.chars().count())
    }
}

// ---- handlers ----

async fn ingest(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    JsonOrText(batch): JsonOrText<Batch>,
) -> Result<Json<Value>> {
    let events = check_batch(batch)?;
    for e in &events {
        crate::auth::check_model(&extensions, &e.model)?;
    }
    let received_ms = now_ms();
    let mut tx = state.db.begin_ingest().await?;
    // Inside the write transaction, so a version cannot be deleted between check and insert.
    let mut known = BTreeSet::new();
    for (i, e) in events.iter().enumerate() {
        if known.insert((e.model.as_str(), e.version)) {
            registry::load_version(&mut tx, &e.model, e.version).await.map_err(|err| match err {
                Error::NotFound(_) => Error::not_found(format!(
                    "model '{}' has no version {} (events[{i}])",
                    e.model, e.version
                )),
                other => other,
            })?;
        }
    }
    let rows = events
        .iter()
        .map(|e| {
            let input = e.input.as_ref().map(serde_json::to_string).transpose()?;
            let runtime = e.runtime.as_ref().map(serde_json::to_string).transpose()?;
            Ok((e, input, runtime))
        })
        .collect::<std::result::Result<Vec<_>, serde_json::Error>>()
        .map_err(Error::internal)?;
    let mut qb = Builder::new(
        state.db.backend,
        "INSERT INTO telemetry_events (received_ms, event_id, model, version, backend, client_time_ms,
           features_ms, inference_ms, total_ms, top_label, confidence, tradition, tonic_hz, error,
           input_json, runtime_json) ",
    );
    qb.push_values(&rows, |mut b, (e, input, runtime)| {
        b.push_bind(received_ms)
            .push_bind(&e.event_id)
            .push_bind(&e.model)
            .push_bind(e.version)
            .push_bind(&e.backend)
            .push_bind(e.client_time_ms)
            .push_bind(e.timings_ms.features)
            .push_bind(e.timings_ms.inference)
            .push_bind(e.timings_ms.total)
            .push_bind(&e.top_label)
            .push_bind(e.confidence)
            .push_bind(&e.tradition)
            .push_bind(e.tonic_hz)
            .push_bind(&e.error)
            .push_bind(input)
            .push_bind(runtime);
    });
    qb.push(" ON CONFLICT (event_id) DO NOTHING");
    let accepted = qb.build()?.execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    let duplicates = events.len() as u64 - accepted;
    state.metrics.count_telemetry(accepted, duplicates);
    tracing::debug!(accepted, duplicates, "telemetry batch stored");
    Ok(Json(json!({"accepted": accepted, "duplicates": duplicates})))
}

#[derive(Debug, Deserialize)]
struct ListRequest {
    #[serde(default, deserialize_with = "opt_string")]
    model: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    version: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    since_ms: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    max_results: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    page_token: Option<String>,
}

async fn list(State(state): State<AppState>, Msg(req): Msg<ListRequest>) -> Result<Json<Value>> {
    let model = required(&req.model, "model")?;
    let max = search::max_results(req.max_results, 100, 1000)?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let mut qb = Builder::new(
        state.db.backend,
        "SELECT received_ms, event_id, model, version, backend, client_time_ms, features_ms,
           inference_ms, total_ms, top_label, confidence, tradition, tonic_hz, error, input_json,
           runtime_json
         FROM telemetry_events WHERE model = ",
    );
    qb.push_bind(model);
    if let Some(version) = req.version {
        qb.push(" AND version = ").push_bind(version);
    }
    if let Some(since) = req.since_ms {
        qb.push(" AND received_ms >= ").push_bind(since);
    }
    qb.push(" ORDER BY received_ms DESC, id DESC LIMIT ").push_bind(max + 1);
    qb.push(" OFFSET ").push_bind(offset);
    let rows = qb.build()?.fetch_all(&state.db.read).await?;
    let more = rows.len() as i64 > max;
    let events = rows.iter().take(max as usize).map(event_from_row).collect::<Result<Vec<_>>>()?;
    let mut body = json!({"events": events});
    if more {
        body["next_page_token"] = Value::String(search::encode_page_token(offset + max));
    }
    Ok(Json(body))
}

fn event_from_row(row: &AnyRow) -> Result<Event> {
    fn parse<T: DeserializeOwned>(text: Option<String>) -> Result<Option<T>> {
        text.map(|t| serde_json::from_str(&t)).transpose().map_err(Error::internal)
    }
    Ok(Event {
        event_id: row.get("event_id"),
        model: row.get("model"),
        version: row.get("version"),
        backend: row.get("backend"),
        client_time_ms: row.get("client_time_ms"),
        timings_ms: Timings {
            features: row.get("features_ms"),
            inference: row.get("inference_ms"),
            total: row.get("total_ms"),
        },
        top_label: row.get("top_label"),
        confidence: row.get("confidence"),
        tradition: row.get("tradition"),
        tonic_hz: row.get("tonic_hz"),
        input: parse(row.get("input_json"))?,
        error: row.get("error"),
        runtime: parse(row.get("runtime_json"))?,
        received_ms: Some(row.get("received_ms")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Value {
        json!({
            "event_id": "e-1",
            "model": "raga-detector",
            "version": "3",
            "backend": "webgpu",
            "client_time_ms": 1_764_000_000_000_i64,
            "timings_ms": {"features": 81.2, "inference": 23.0, "total": 110.0},
            "top_label": "yaman",
            "confidence": 0.93,
        })
    }

    /// Runs the checks on `valid()` with `patch` merged in (a null removes a field).
    fn check(patch: Value, expected: std::result::Result<(), &str>) {
        let mut event = valid();
        if let (Some(event), Some(patch)) = (event.as_object_mut(), patch.as_object()) {
            for (k, v) in patch {
                if v.is_null() {
                    event.remove(k);
                } else {
                    event.insert(k.clone(), v.clone());
                }
            }
        }
        let got = serde_json::from_value::<EventIn>(event.clone())
            .map_err(Error::internal)
            .and_then(|e| check_event(0, e));
        match (got, expected) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(fragment)) => assert!(e.to_string().contains(fragment), "{event}: {e}"),
            (got, expected) => panic!("{event}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn event_checks() {
        check(json!({}), Ok(()));
        check(json!({"version": 3, "tradition": "carnatic", "tonic_hz": 20.0}), Ok(()));
        check(json!({"top_label": null, "confidence": null, "error": "no audio"}), Ok(()));
        check(json!({"event_id": null}), Err("events[0].event_id is required"));
        check(json!({"event_id": ""}), Err("events[0].event_id must be 1 to 64"));
        check(json!({"event_id": "a b"}), Err("(got \"a b\")"));
        check(json!({"event_id": "x".repeat(65)}), Err("a string of 65 characters"));
        check(json!({"model": ""}), Err("events[0].model is required"));
        check(json!({"version": "0"}), Err("events[0].version must be a version number"));
        check(
            json!({"backend": "gpu"}),
            Err("events[0].backend must be one of \"webgpu\", \"cpu\" (got \"gpu\")"),
        );
        check(json!({"client_time_ms": -1}), Err("events[0].client_time_ms"));
        check(
            json!({"timings_ms": {"features": 1, "inference": -2, "total": 3}}),
            Err("events[0].timings_ms.inference must be within 0..1e7 ms (got -2)"),
        );
        check(json!({"timings_ms": {"features": 1, "inference": 2, "total": 1e7}}), Err("timings_ms.total"));
        check(json!({"top_label": null}), Err("events[0].top_label is required unless"));
        check(json!({"confidence": null}), Err("events[0].confidence is required unless"));
        check(json!({"confidence": 1.7}), Err("events[0].confidence must be within 0..1 (got 1.7)"));
        check(
            json!({"top_label": "y".repeat(129)}),
            Err("events[0].top_label must be at most 128 characters (got 129)"),
        );
        check(json!({"error": ""}), Err("events[0].error must not be empty"));
        check(json!({"error": "e".repeat(1001)}), Err("events[0].error must be at most 1000"));
        check(json!({"tradition": "western"}), Err("events[0].tradition must be one of"));
        check(json!({"tonic_hz": 19.9}), Err("events[0].tonic_hz must be within 20..2000 Hz (got 19.9)"));
        check(
            json!({"runtime": {"user_agent": "u".repeat(513)}}),
            Err("events[0].runtime.user_agent must be at most 512"),
        );
    }

    #[test]
    fn input_shape_checks() {
        let stats = |bands: usize, bins: usize| InputStats {
            clips: 1,
            frames: 10,
            log_mel: vec![raga_model::stats::MeanStd { mean: -40.0, std: 3.0 }; bands],
            level_db: raga_model::stats::MeanStd { mean: -30.0, std: 0.0 },
            voiced_fraction: raga_model::stats::MeanStd { mean: 0.8, std: 0.0 },
            tonic_hz: raga_model::stats::MeanStd { mean: 146.8, std: 0.0 },
            seconds: raga_model::stats::MeanStd { mean: 10.0, std: 0.0 },
            pitch_class_hist: vec![1.0 / 120.0; bins],
        };
        assert!(check_input("input", &stats(N_MELS, HIST_BINS)).is_ok());
        let message = |s: &InputStats| check_input("input", s).err().map(|e| e.to_string());
        assert_eq!(
            message(&stats(64, HIST_BINS)).as_deref(),
            Some("input.log_mel must have 128 mel bands (got 64)")
        );
        assert_eq!(
            message(&stats(N_MELS, 12)).as_deref(),
            Some("input.pitch_class_hist must have 120 bins (got 12)")
        );
        let mut s = stats(N_MELS, HIST_BINS);
        s.log_mel[5].std = f64::NAN;
        assert_eq!(message(&s).as_deref(), Some("input.log_mel[5] must hold finite numbers"));
        let mut s = stats(N_MELS, HIST_BINS);
        s.pitch_class_hist[7] = f64::INFINITY;
        assert_eq!(message(&s).as_deref(), Some("input.pitch_class_hist[7] must be a finite number"));
    }
}
