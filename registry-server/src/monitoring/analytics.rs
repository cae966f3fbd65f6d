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

/// How events are grouped within a version.
#[derive(Debug, Clone, Copy)]
enum Group {
    /// One group per backend.
    Backend,
    /// One group per time bucket (the key is the bucket's index).
    Bucket { from_ms: i64, bucket_ms: i64 },
    /// One group.
    All,
}

impl Group {
    /// The SQL expression of the group key (TEXT). Only integers are inlined.
    fn key(self) -> String {
        match self {
            Self::Backend => "backend".into(),
            Self::Bucket { from_ms, bucket_ms } => {
                format!("CAST((received_ms - {from_ms}) / {bucket_ms} AS TEXT)")
            }
            Self::All => "''".into(),
        }
    }
}

/// The filter every analytics query shares: `$1` model, `$2` version or NULL, `$3..$4` range
/// (two spellings, so that with a version SQLite walks the whole (model, version, time) index).
fn filter(version: Option<i64>) -> &'static str {
    if version.is_some() {
        "model = $1 AND version = $2 AND received_ms >= $3 AND received_ms < $4"
    } else {
        "model = $1 AND $2 IS NULL AND received_ms >= $3 AND received_ms < $4"
    }
}

/// Percentiles of a column: p50, p95, p99.
#[derive(Debug, Clone, Copy, Default)]
struct Percentiles {
    p50: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
}

/// Traffic figures of one group of events, aggregated by SQLite (a busy hour is millions of
/// rows: only the aggregates cross into Rust).
#[derive(Debug, Default)]
struct Traffic {
    requests: u64,
    errors: u64,
    answered: u64,
    mean_confidence: Option<f64>,
    mean_ms: Option<f64>,
    max_ms: Option<f64>,
    total: Percentiles,
    features: Percentiles,
    inference: Percentiles,
    histogram: [u64; CONFIDENCE_BINS],
    labels: BTreeMap<String, u64>,
}

/// An analytics query with its four shared parameters bound.
type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// `(version, group key)` → figures.
type Groups = BTreeMap<(i64, String), Traffic>;

/// The figures of each group; `full`: also labels, the confidence histogram and latency
/// percentiles (one sort per timing column), which alert rules mostly do not need.
async fn traffic(
    state: &AppState,
    model: &str,
    version: Option<i64>,
    range: Range,
    group: Group,
    full: bool,
) -> Result<Groups> {
    let key = group.key();
    let filter = filter(version);
    fn bind<'q>(sql: &'q str, model: &str, version: Option<i64>, range: Range) -> Query<'q> {
        sqlx::query(sql).bind(model.to_string()).bind(version).bind(range.from_ms).bind(range.to_ms)
    }
    let mut groups = Groups::new();
    for r in bind(
        &format!(
            "SELECT version, {key} AS k, count(*) AS n,
                CAST(sum(CASE WHEN error IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS errors,
                CAST(sum(CASE WHEN error IS NULL AND confidence IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS answered,
                CAST(avg(CASE WHEN error IS NULL THEN confidence END) AS DOUBLE PRECISION) AS conf,
                CAST(avg(total_ms) AS DOUBLE PRECISION) AS mean_ms,
                CAST(max(total_ms) AS DOUBLE PRECISION) AS max_ms
         FROM telemetry_events WHERE {filter} GROUP BY version, k"
        ),
        model,
        version,
        range,
    )
    .fetch_all(&state.db.read)
    .await?
    {
        let t = groups.entry((r.get("version"), r.get("k"))).or_default();
        t.requests = r.get::<i64, _>("n") as u64;
        t.errors = r.get::<i64, _>("errors") as u64;
        t.answered = r.get::<i64, _>("answered") as u64;
        t.mean_confidence = r.get("conf");
        t.mean_ms = r.get("mean_ms");
        t.max_ms = r.get("max_ms");
    }
    if groups.is_empty() || !full {
        return Ok(groups);
    }
    for r in bind(
        &format!(
            "SELECT version, {key} AS k, top_label, count(*) AS n FROM telemetry_events
         WHERE {filter} AND error IS NULL AND top_label IS NOT NULL GROUP BY version, k, top_label"
        ),
        model,
        version,
        range,
    )
    .fetch_all(&state.db.read)
    .await?
    {
        if let Some(t) = groups.get_mut(&(r.get("version"), r.get("k"))) {
            t.labels.insert(r.get("top_label"), r.get::<i64, _>("n") as u64);
        }
    }
    for r in bind(
        &format!(
            "SELECT version, {key} AS k, {bin} AS bin, count(*) AS n
         FROM telemetry_events WHERE {filter} AND error IS NULL AND confidence IS NOT NULL
         GROUP BY version, k, bin",
            bin = state.db.backend.floor_int(&format!("confidence * {CONFIDENCE_BINS}")),
        ),
        model,
        version,
        range,
    )
    .fetch_all(&state.db.read)
    .await?
    {
        // A confidence of exactly 1 lands in bin 10: the last bin holds it.
        let bin = r.get::<i64, _>("bin").clamp(0, CONFIDENCE_BINS as i64 - 1) as usize;
        if let Some(t) = groups.get_mut(&(r.get("version"), r.get("k"))) {
            t.histogram[bin] += r.get::<i64, _>("n") as u64;
        }
    }
    for column in ["total_ms", "features_ms", "inference_ms"] {
        // Nearest rank: the ⌈n·q⌉-th smallest, in integer arithmetic.
        for r in bind(
            &format!(
                "SELECT version, k, r, n, v FROM (
               SELECT version, {key} AS k, {column} AS v,
                      row_number() OVER (PARTITION BY version, {key} ORDER BY {column}) AS r,
                      count(*) OVER (PARTITION BY version, {key}) AS n
               FROM telemetry_events WHERE {filter}) AS ranked
             WHERE r IN ((n * 50 + 99) / 100, (n * 95 + 99) / 100, (n * 99 + 99) / 100)"
            ),
            model,
            version,
            range,
        )
        .fetch_all(&state.db.read)
        .await?
        {
            let Some(t) = groups.get_mut(&(r.get("version"), r.get("k"))) else { continue };
            let p = match column {
                "total_ms" => &mut t.total,
                "features_ms" => &mut t.features,
                _ => &mut t.inference,
            };
            let (rank, n, v): (i64, i64, f64) = (r.get("r"), r.get("n"), r.get("v"));
            for (q, slot) in [(50, &mut p.p50), (95, &mut p.p95), (99, &mut p.p99)] {
                if rank == (n * q + 99) / 100 {
                    *slot = Some(v);
                }
            }
        }
    }
    Ok(groups)
}

/// The `q`-th percentile (nearest rank) of `total_ms` over one version's `n` events: SQLite
/// keeps a heap of ⌈n·q⌉ values instead of the rows crossing into Rust.
async fn nth_total_ms(
    state: &AppState,
    model: &str,
    version: i64,
    range: Range,
    n: u64,
    q: u64,
) -> Result<Option<f64>> {
    let rank = (n * q).div_ceil(100).max(1);
    let sql = format!(
        "SELECT total_ms FROM telemetry_events WHERE {} ORDER BY total_ms LIMIT 1 OFFSET $5",
        filter(Some(version))
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(model)
        .bind(version)
        .bind(range.from_ms)
        .bind(range.to_ms)
        .bind((rank - 1) as i64)
        .fetch_optional(&state.db.read)
        .await?)
}

/// Feedback `(version, group key)` → (answers, correct).
async fn feedback(
    state: &AppState,
    model: &str,
    version: Option<i64>,
    range: Range,
    group: Group,
) -> Result<BTreeMap<(i64, String), (u64, u64)>> {
    let key = group.key();
    let filter = filter(version);
    let sql = format!(
        "SELECT version, {key} AS k, count(*) AS n, CAST(sum(correct) AS BIGINT) AS correct FROM feedback WHERE {filter}
         GROUP BY version, k"
    );
    let rows = sqlx::query(&sql)
        .bind(model)
        .bind(version)
        .bind(range.from_ms)
        .bind(range.to_ms)
        .fetch_all(&state.db.read)
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            ((r.get("version"), r.get("k")), (r.get::<i64, _>("n") as u64, r.get::<i64, _>("correct") as u64))
        })
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
         WHERE model = $1 AND version = $2 AND received_ms >= $3 AND received_ms < $4 AND input_json IS NOT NULL
         ORDER BY received_ms DESC LIMIT $5",
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

impl Traffic {
    fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    fn report(&self) -> Value {
        let mut labels: Vec<(&String, &u64)> = self.labels.iter().collect();
        labels.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let answered: u64 = self.labels.values().sum();
        json!({
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate(),
            "latency_ms": {
                "p50": self.total.p50,
                "p95": self.total.p95,
                "p99": self.total.p99,
                "mean": self.mean_ms,
                "max": self.max_ms,
            },
            "features_ms": {"p50": self.features.p50, "p95": self.features.p95},
            "inference_ms": {"p50": self.inference.p50, "p95": self.inference.p95},
            "confidence": {"mean": self.mean_confidence, "histogram": self.histogram},
            "labels": labels.iter().map(|(label, n)| json!({
                "label": label,
                "count": n,
                "share": **n as f64 / answered.max(1) as f64,
            })).collect::<Vec<_>>(),
        })
    }
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
    let all = traffic(&state, model, q.version, range, Group::All, true).await?;
    let mut backends = traffic(&state, model, q.version, range, Group::Backend, true).await?;
    let answers = feedback(&state, model, q.version, range, Group::All).await?;
    let mut versions: Vec<i64> = all.keys().chain(answers.keys()).map(|(v, _)| *v).collect();
    versions.sort_unstable_by(|a, b| b.cmp(a));
    versions.dedup();
    let versions: Vec<Value> = versions
        .into_iter()
        .map(|version| {
            let key = (version, String::new());
            let per_backend: serde_json::Map<String, Value> = backends
                .extract_if(.., |(v, _), _| *v == version)
                .map(|((_, backend), t)| (backend, t.report()))
                .collect();
            let (n, correct) = answers.get(&key).copied().unwrap_or_default();
            json!({
                "version": version_string(version),
                "all": all.get(&key).map_or_else(|| Traffic::default().report(), Traffic::report),
                "backends": per_backend,
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
    let group = Group::Bucket { from_ms: range.from_ms, bucket_ms };
    // Buckets of every version together: re-key by bucket.
    let mut traffic_by_bucket: Vec<Traffic> = (0..n).map(|_| Traffic::default()).collect();
    let mut versions_seen = std::collections::BTreeSet::new();
    for ((version, key), t) in traffic(&state, model, q.version, range, group, true).await? {
        versions_seen.insert(version);
        if let Some(slot) = key.parse::<usize>().ok().and_then(|i| traffic_by_bucket.get_mut(i)) {
            if slot.requests == 0 {
                *slot = t;
            } else {
                // Several versions in one bucket: counts add up, percentiles are not shown.
                slot.requests += t.requests;
                slot.errors += t.errors;
                slot.total = Percentiles::default();
                slot.mean_confidence = None;
            }
        }
    }
    let mut answers = vec![(0u64, 0u64); n];
    for ((_, key), (count, correct)) in feedback(&state, model, q.version, range, group).await? {
        if let Some(a) = key.parse::<usize>().ok().and_then(|i| answers.get_mut(i)) {
            a.0 += count;
            a.1 += correct;
        }
    }
    let mut drift_scores: Vec<Option<f64>> = vec![None; n];
    if let Some(version) = q.version
        && let Some(reference) = reference(&state, model, version).await?
    {
        let mut per_bucket: Vec<Vec<raga_model::FeatureStats>> = vec![Vec::new(); n];
        for (at, stats) in inputs(&state, model, version, range, DRIFT_SAMPLE * 10).await? {
            per_bucket[(((at - range.from_ms) / bucket_ms) as usize).min(n - 1)].push(stats);
        }
        for (score, live) in drift_scores.iter_mut().zip(&per_bucket) {
            *score = drift::compare(&reference.stats, live).map(|r| r.score);
        }
    }
    let buckets: Vec<Value> = traffic_by_bucket
        .iter()
        .zip(&answers)
        .zip(&drift_scores)
        .enumerate()
        .map(|(i, ((t, &(n, correct)), drift))| {
            json!({
                "start_ms": range.from_ms + i as i64 * bucket_ms,
                "requests": t.requests,
                "errors": t.errors,
                "error_rate": t.error_rate(),
                "latency_p50_ms": t.total.p50,
                "latency_p95_ms": t.total.p95,
                "mean_confidence": t.mean_confidence,
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
    /// Computes what `metrics` need over the window: counts always, latency percentiles and
    /// the drift score (which reads the clip statistics) only when asked for.
    pub async fn compute(
        state: &AppState,
        model: &str,
        version: i64,
        range: Range,
        metrics: &[Metric],
    ) -> Result<Self> {
        let key = (version, String::new());
        let mut traffic = traffic(state, model, Some(version), range, Group::All, false)
            .await?
            .remove(&key)
            .unwrap_or_default();
        for (metric, q) in
            [(Metric::LatencyP50Ms, 50), (Metric::LatencyP95Ms, 95), (Metric::LatencyP99Ms, 99)]
        {
            if metrics.contains(&metric) && traffic.requests > 0 {
                let value = nth_total_ms(state, model, version, range, traffic.requests, q).await?;
                match q {
                    50 => traffic.total.p50 = value,
                    95 => traffic.total.p95 = value,
                    _ => traffic.total.p99 = value,
                }
            }
        }
        let feedback =
            feedback(state, model, Some(version), range, Group::All).await?.remove(&key).unwrap_or_default();
        let drift = if metrics.contains(&Metric::DriftPsi) {
            drift_report(state, model, version, range).await?
        } else {
            None
        };
        Ok(Self { traffic, feedback, drift })
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
            Metric::LatencyP50Ms => t.total.p50.map(|p| (p, n)),
            Metric::LatencyP95Ms => t.total.p95.map(|p| (p, n)),
            Metric::LatencyP99Ms => t.total.p99.map(|p| (p, n)),
            Metric::MeanConfidence => t.mean_confidence.map(|c| (c, t.answered)),
            Metric::Requests => Some((n as f64, n)),
        }
    }
}
