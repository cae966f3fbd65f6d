//! Telemetry analytics: per model version and backend, over a time range — request count,
//! latency percentiles, error rate, confidence and label distributions, online accuracy —
//! and the same as a time series with the drift score per bucket.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use sqlx::Row;

use super::drift::{self, DriftReport};
use super::rules::Metric;
use super::{Range, RangeQuery, reference, version_string};
use crate::AppState;
use crate::error::{Error, Result};
use crate::extract::Msg;

/// Confidence histogram bins over 0..1.
const CONFIDENCE_BINS: usize = 10;
/// Newest clips with statistics a drift score reads per version and window: plenty for a
/// PSI, and it bounds the work of a busy hour.
pub const DRIFT_SAMPLE: i64 = 2000;
/// Most buckets of one time series.
const MAX_BUCKETS: i64 = 1000;

/// One telemetry event, the columns analytics reads.
#[derive(Debug)]
struct Event {
    version: i64,
    backend: String,
    received_ms: i64,
    total_ms: f64,
    features_ms: f64,
    inference_ms: f64,
    confidence: Option<f64>,
    top_label: Option<String>,
    failed: bool,
}

async fn events(state: &AppState, model: &str, version: Option<i64>, range: Range) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT version, backend, received_ms, total_ms, features_ms, inference_ms, confidence,
                top_label, error IS NOT NULL AS failed
         FROM telemetry_events
         WHERE model = ?1 AND (?2 IS NULL OR version = ?2) AND received_ms >= ?3 AND received_ms < ?4",
    )
    .bind(model)
    .bind(version)
    .bind(range.from_ms)
    .bind(range.to_ms)
    .fetch_all(&state.db.read)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Event {
            version: r.get("version"),
            backend: r.get("backend"),
            received_ms: r.get("received_ms"),
            total_ms: r.get("total_ms"),
            features_ms: r.get("features_ms"),
            inference_ms: r.get("inference_ms"),
            confidence: r.get("confidence"),
            top_label: r.get("top_label"),
            failed: r.get("failed"),
        })
        .collect())
}

/// Feedback answers `(version, received_ms, correct)` in a range.
async fn feedback(
    state: &AppState,
    model: &str,
    version: Option<i64>,
    range: Range,
) -> Result<Vec<(i64, i64, bool)>> {
    let rows = sqlx::query(
        "SELECT version, received_ms, correct FROM feedback
         WHERE model = ?1 AND (?2 IS NULL OR version = ?2) AND received_ms >= ?3 AND received_ms < ?4",
    )
    .bind(model)
    .bind(version)
    .bind(range.from_ms)
    .bind(range.to_ms)
    .fetch_all(&state.db.read)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("version"), r.get("received_ms"), r.get::<i64, _>("correct") != 0))
        .collect())
}

/// Clip statistics `(received_ms, stats)` of one version in a range, newest first, at most
/// `limit`.
async fn inputs(
    state: &AppState,
    model: &str,
    version: i64,
    range: Range,
    limit: i64,
) -> Result<Vec<(i64, raga_model::FeatureStats)>> {
    let rows = sqlx::query(
        "SELECT received_ms, input_json FROM telemetry_events
         WHERE model = ? AND version = ? AND received_ms >= ? AND received_ms < ? AND input_json IS NOT NULL
         ORDER BY received_ms DESC LIMIT ?",
    )
    .bind(model)
    .bind(version)
    .bind(range.from_ms)
    .bind(range.to_ms)
    .bind(limit)
    .fetch_all(&state.db.read)
    .await?;
    rows.iter()
        .map(|r| {
            let text: String = r.get("input_json");
            serde_json::from_str(&text).map(|s| (r.get("received_ms"), s)).map_err(Error::internal)
        })
        .collect()
}

/// Traffic figures of a set of events.
#[derive(Debug, Default)]
struct Traffic {
    requests: u64,
    errors: u64,
    total_ms: Vec<f64>,
    features_ms: Vec<f64>,
    inference_ms: Vec<f64>,
    confidence: Vec<f64>,
    labels: BTreeMap<String, u64>,
}

impl Traffic {
    fn push(&mut self, e: &Event) {
        self.requests += 1;
        self.total_ms.push(e.total_ms);
        self.features_ms.push(e.features_ms);
        self.inference_ms.push(e.inference_ms);
        if e.failed {
            self.errors += 1;
            return;
        }
        if let Some(c) = e.confidence {
            self.confidence.push(c);
        }
        if let Some(label) = &e.top_label {
            *self.labels.entry(label.clone()).or_default() += 1;
        }
    }

    fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    fn mean_confidence(&self) -> Option<f64> {
        mean(&self.confidence)
    }

    fn report(&mut self) -> Value {
        for v in [&mut self.total_ms, &mut self.features_ms, &mut self.inference_ms] {
            v.sort_by(f64::total_cmp);
        }
        let mut histogram = [0u64; CONFIDENCE_BINS];
        for c in &self.confidence {
            histogram[((c * CONFIDENCE_BINS as f64) as usize).min(CONFIDENCE_BINS - 1)] += 1;
        }
        let answered: u64 = self.labels.values().sum();
        let mut labels: Vec<(&String, &u64)> = self.labels.iter().collect();
        labels.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        json!({
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate(),
            "latency_ms": {
                "p50": percentile(&self.total_ms, 0.50),
                "p95": percentile(&self.total_ms, 0.95),
                "p99": percentile(&self.total_ms, 0.99),
                "mean": mean(&self.total_ms),
                "max": self.total_ms.last(),
            },
            "features_ms": {"p50": percentile(&self.features_ms, 0.5), "p95": percentile(&self.features_ms, 0.95)},
            "inference_ms": {"p50": percentile(&self.inference_ms, 0.5), "p95": percentile(&self.inference_ms, 0.95)},
            "confidence": {"mean": self.mean_confidence(), "histogram": histogram},
            "labels": labels.iter().map(|(label, n)| json!({
                "label": label,
                "count": n,
                "share": **n as f64 / answered.max(1) as f64,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn accuracy_json(answers: u64, correct: u64) -> Value {
    json!({
        "answers": answers,
        "correct": correct,
        "online_accuracy": (answers > 0).then(|| correct as f64 / answers as f64),
    })
}

/// `GET /v1/monitoring/summary?model=&version=&from_ms=&to_ms=`: per version, all backends
/// together and each backend alone, plus online accuracy from feedback.
pub async fn summary(State(state): State<AppState>, Msg(q): Msg<RangeQuery>) -> Result<Json<Value>> {
    let model = q.model()?;
    let range = q.range()?;
    let events = events(&state, model, q.version, range).await?;
    let answers = feedback(&state, model, q.version, range).await?;
    let mut versions: BTreeMap<i64, (Traffic, BTreeMap<String, Traffic>, u64, u64)> = BTreeMap::new();
    for e in &events {
        let (all, backends, ..) = versions.entry(e.version).or_default();
        all.push(e);
        backends.entry(e.backend.clone()).or_default().push(e);
    }
    for (version, _, correct) in &answers {
        let entry = versions.entry(*version).or_default();
        entry.2 += 1;
        entry.3 += u64::from(*correct);
    }
    let versions: Vec<Value> = versions
        .into_iter()
        .rev()
        .map(|(version, (mut all, backends, n, correct))| {
            let backends: serde_json::Map<String, Value> =
                backends.into_iter().map(|(name, mut t)| (name, t.report())).collect();
            json!({
                "version": version_string(version),
                "all": all.report(),
                "backends": backends,
                "feedback": accuracy_json(n, correct),
            })
        })
        .collect();
    Ok(Json(json!({"model": model, "from_ms": range.from_ms, "to_ms": range.to_ms, "versions": versions})))
}

/// `GET /v1/monitoring/timeseries?model=&version=&from_ms=&to_ms=&bucket_ms=`: one entry
/// per bucket; with a version, each bucket's drift score too.
pub async fn timeseries(State(state): State<AppState>, Msg(q): Msg<RangeQuery>) -> Result<Json<Value>> {
    let model = q.model()?;
    let range = q.range()?;
    let span = range.to_ms - range.from_ms;
    let bucket_ms = q.bucket_ms.unwrap_or_else(|| (span / 60).max(1000));
    if bucket_ms < 1000 || span / bucket_ms > MAX_BUCKETS {
        return Err(Error::invalid(format!(
            "bucket_ms must be at least 1000 and give at most {MAX_BUCKETS} buckets over the range \
             (got {bucket_ms} ms over {span} ms): pass a larger bucket_ms or a shorter range"
        )));
    }
    let n = ((span + bucket_ms - 1) / bucket_ms) as usize;
    let index = |ms: i64| ((ms - range.from_ms) / bucket_ms) as usize;
    let mut traffic: Vec<Traffic> = (0..n).map(|_| Traffic::default()).collect();
    for e in events(&state, model, q.version, range).await? {
        traffic[index(e.received_ms).min(n - 1)].push(&e);
    }
    let mut answers = vec![(0u64, 0u64); n];
    for (_, at, correct) in feedback(&state, model, q.version, range).await? {
        let a = &mut answers[index(at).min(n - 1)];
        a.0 += 1;
        a.1 += u64::from(correct);
    }
    let mut drift_scores: Vec<Option<f64>> = vec![None; n];
    if let Some(version) = q.version
        && let Some(reference) = reference(&state, model, version).await?
    {
        let mut per_bucket: Vec<Vec<raga_model::FeatureStats>> = vec![Vec::new(); n];
        for (at, stats) in inputs(&state, model, version, range, DRIFT_SAMPLE * 10).await? {
            per_bucket[index(at).min(n - 1)].push(stats);
        }
        for (score, live) in drift_scores.iter_mut().zip(&per_bucket) {
            *score = drift::compare(&reference.stats, live).map(|r| r.score);
        }
    }
    let buckets: Vec<Value> = traffic
        .iter_mut()
        .zip(&answers)
        .zip(&drift_scores)
        .enumerate()
        .map(|(i, ((t, &(n, correct)), drift))| {
            t.total_ms.sort_by(f64::total_cmp);
            json!({
                "start_ms": range.from_ms + i as i64 * bucket_ms,
                "requests": t.requests,
                "errors": t.errors,
                "error_rate": t.error_rate(),
                "latency_p50_ms": percentile(&t.total_ms, 0.5),
                "latency_p95_ms": percentile(&t.total_ms, 0.95),
                "mean_confidence": t.mean_confidence(),
                "feedback": n,
                "online_accuracy": (n > 0).then(|| correct as f64 / n as f64),
                "drift_psi": drift,
            })
        })
        .collect();
    Ok(Json(json!({
        "model": model,
        "version": q.version.map(version_string),
        "from_ms": range.from_ms,
        "to_ms": range.to_ms,
        "bucket_ms": bucket_ms,
        "buckets": buckets,
    })))
}

/// Drift of one version over a range, or `None` without a training reference.
pub async fn drift_report(
    state: &AppState,
    model: &str,
    version: i64,
    range: Range,
) -> Result<Option<DriftReport>> {
    let Some(reference) = reference(state, model, version).await? else { return Ok(None) };
    let live: Vec<_> =
        inputs(state, model, version, range, DRIFT_SAMPLE).await?.into_iter().map(|(_, s)| s).collect();
    Ok(drift::compare(&reference.stats, &live))
}

/// `GET /v1/monitoring/drift?model=&version=&from_ms=&to_ms=`.
pub async fn drift(State(state): State<AppState>, Msg(q): Msg<RangeQuery>) -> Result<Json<Value>> {
    let model = q.model()?;
    let version = q.version.ok_or_else(|| crate::extract::missing("version"))?;
    let range = q.range()?;
    if reference(&state, model, version).await?.is_none() {
        return Err(Error::InvalidState(format!(
            "model '{model}' version {version} has no package manifest with reference_stats, so there is \
             nothing to compare live inputs with: register a package made by `ragasense package`"
        )));
    }
    let report = drift_report(&state, model, version, range).await?;
    let mut body = json!({
        "model": model,
        "version": version_string(version),
        "from_ms": range.from_ms,
        "to_ms": range.to_ms,
    });
    match report {
        Some(r) => {
            let mut value = serde_json::to_value(r).map_err(Error::internal)?;
            if let (Value::Object(out), Value::Object(fields)) = (&mut body, &mut value) {
                out.append(fields);
            }
        }
        None => body["events"] = json!(0),
    }
    Ok(Json(body))
}

/// The figures alert rules read, for one version over one window.
#[derive(Debug)]
pub struct WindowMetrics {
    traffic: Traffic,
    feedback: (u64, u64),
    drift: Option<DriftReport>,
}

impl WindowMetrics {
    /// Computes the window's figures (`with_drift`: also the drift score, which reads the clip
    /// statistics).
    pub async fn compute(
        state: &AppState,
        model: &str,
        version: i64,
        range: Range,
        with_drift: bool,
    ) -> Result<Self> {
        let mut traffic = Traffic::default();
        for e in events(state, model, Some(version), range).await? {
            traffic.push(&e);
        }
        traffic.total_ms.sort_by(f64::total_cmp);
        let answers = feedback(state, model, Some(version), range).await?;
        let correct = answers.iter().filter(|a| a.2).count() as u64;
        let drift = if with_drift { drift_report(state, model, version, range).await? } else { None };
        Ok(Self { traffic, feedback: (answers.len() as u64, correct), drift })
    }

    /// The metric's value and the samples behind it; `None` when there is no data.
    pub fn value(&self, metric: Metric) -> Option<(f64, u64)> {
        let t = &self.traffic;
        let n = t.requests;
        match metric {
            Metric::OnlineAccuracy => {
                let (answers, correct) = self.feedback;
                (answers > 0).then(|| (correct as f64 / answers as f64, answers))
            }
            Metric::DriftPsi => self.drift.as_ref().map(|d| (d.score, d.events)),
            Metric::ErrorRate => t.error_rate().map(|r| (r, n)),
            Metric::LatencyP50Ms => percentile(&t.total_ms, 0.50).map(|p| (p, n)),
            Metric::LatencyP95Ms => percentile(&t.total_ms, 0.95).map(|p| (p, n)),
            Metric::LatencyP99Ms => percentile(&t.total_ms, 0.99).map(|p| (p, n)),
            Metric::MeanConfidence => t.mean_confidence().map(|c| (c, t.confidence.len() as u64)),
            Metric::Requests => Some((n as f64, n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.95), Some(95.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
