//! Monitoring of published models in the field, from the telemetry browsers send:
//!
//! - [`analytics`]: traffic, latency percentiles, error rate, confidence and label
//!   distributions per version and backend, over a time range or as a time series;
//! - [`drift`]: live input statistics against the package's training reference (PSI);
//! - [`feedback`]: the true raga of a prediction → online accuracy;
//! - [`alerts`]: rules ([`rules`]) evaluated continuously; firing alerts are stored, logged,
//!   listed and POSTed to a webhook, and resolve when their condition clears.
//!
//! Routes: `GET /v1/monitoring/{summary,timeseries,drift}`, `POST /v1/feedback`,
//! `GET /v1/alerts`, `GET /v1/alerts/rules`.

pub mod alerts;
pub mod analytics;
pub mod drift;
pub mod feedback;
pub mod rules;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use raga_model::FeatureStats;
use serde::Deserialize;
use serde_json::Value;

pub use alerts::spawn_evaluator;
pub use rules::AlertConfig;

use crate::AppState;
use crate::db::now_ms;
use crate::error::{Error, Result};
use crate::extract::{opt_i64, opt_string};
use crate::metrics::{Metrics, MetricsError};
use crate::{publish, registry};

/// Longest time range one query may cover (90 days).
const MAX_RANGE_MS: i64 = 90 * 86_400_000;
/// The range of a query that names none: the last hour.
const DEFAULT_RANGE_MS: i64 = 3_600_000;

/// Routes of the dashboard-facing monitoring API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/monitoring/summary", get(analytics::summary))
        .route("/v1/monitoring/timeseries", get(analytics::timeseries))
        .route("/v1/monitoring/drift", get(analytics::drift))
        .route("/v1/alerts", get(alerts::list))
        .route("/v1/alerts/rules", get(alerts::rules))
}

/// `POST /v1/feedback`: posted from pages like telemetry (same CORS and body limit).
pub fn feedback_router() -> Router<AppState> {
    Router::new().route("/v1/feedback", post(feedback::post))
}

/// Prometheus metrics of monitoring (`ragasense_alerts_*`, `ragasense_feedback_total`).
#[derive(Debug, Clone)]
pub struct MonitorMetrics {
    /// Alerts opened.
    pub fired: Counter,
    /// Alerts resolved.
    pub resolved: Counter,
    /// Alerts open after the last evaluation.
    pub firing: Gauge,
    /// Evaluation passes finished.
    pub evaluations: Counter,
    /// Webhook notifications that failed after every retry.
    pub webhook_failures: Counter,
    /// Feedback answers stored.
    pub feedback: Counter,
}

impl MonitorMetrics {
    /// Registers them in `metrics`.
    ///
    /// # Errors
    /// A name is taken (registered twice in one app).
    pub fn register(metrics: &Metrics) -> std::result::Result<Self, MetricsError> {
        Ok(Self {
            fired: metrics.register_counter("alerts_fired", "Alerts opened by the rules")?,
            resolved: metrics
                .register_counter("alerts_resolved", "Alerts resolved when their condition cleared")?,
            firing: metrics.register_gauge("alerts_firing", "Alerts open after the last evaluation")?,
            evaluations: metrics.register_counter("alert_evaluations", "Passes of the alert evaluator")?,
            webhook_failures: metrics.register_counter(
                "alert_webhook_failures",
                "Alert notifications not delivered after 3 tries",
            )?,
            feedback: metrics.register_counter("feedback", "Feedback answers stored (POST /v1/feedback)")?,
        })
    }
}

/// What the monitoring code keeps between requests.
#[derive(Debug)]
pub struct Monitor {
    /// The alert rules and webhook.
    pub config: AlertConfig,
    /// Its Prometheus metrics.
    pub metrics: MonitorMetrics,
    /// Training references by (model, version): package manifests never change.
    references: Mutex<HashMap<(String, i64), Arc<Reference>>>,
    /// Client of the webhook.
    pub(crate) http: reqwest::Client,
}

/// What monitoring needs of a version's package manifest.
#[derive(Debug)]
pub struct Reference {
    /// The model's labels.
    pub labels: Vec<String>,
    /// Feature statistics of the training set.
    pub stats: FeatureStats,
}

impl Monitor {
    /// A monitor with these rules.
    pub fn new(config: AlertConfig, metrics: MonitorMetrics) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { config, metrics, references: Mutex::default(), http }
    }
}

/// The training reference of a model version, from its package's `manifest.json`; `None`
/// when the version's source holds no readable RagaSense package (nothing to compare with).
pub async fn reference(state: &AppState, model: &str, version: i64) -> Result<Option<Arc<Reference>>> {
    let key = (model.to_string(), version);
    if let Some(hit) = state.monitor.references.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(Some(hit));
    }
    let mv = {
        let mut conn = state.db.read.acquire().await?;
        registry::load_version(&mut conn, model, version).await?
    };
    let raw = match publish::read_manifest(state, &mv).await {
        Ok(raw) => raw,
        Err(Error::NotFound(_) | Error::InvalidParameter(_) | Error::InvalidState(_)) => return Ok(None),
        Err(other) => return Err(other),
    };
    #[derive(Deserialize)]
    struct Parts {
        labels: Vec<String>,
        reference_stats: FeatureStats,
    }
    let Ok(parts) = serde_json::from_slice::<Parts>(&raw) else { return Ok(None) };
    let found = Arc::new(Reference { labels: parts.labels, stats: parts.reference_stats });
    if let Ok(mut map) = state.monitor.references.lock() {
        map.insert(key, found.clone());
    }
    Ok(Some(found))
}

/// Query parameters shared by the monitoring routes.
#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    /// Registered model name (required).
    #[serde(default, deserialize_with = "opt_string")]
    pub model: Option<String>,
    /// Only this version.
    #[serde(default, deserialize_with = "opt_i64")]
    pub version: Option<i64>,
    /// Start, ms since the epoch (default: an hour before `to_ms`).
    #[serde(default, deserialize_with = "opt_i64")]
    pub from_ms: Option<i64>,
    /// End, ms since the epoch (default: now).
    #[serde(default, deserialize_with = "opt_i64")]
    pub to_ms: Option<i64>,
    /// Time-series bucket length, ms.
    #[serde(default, deserialize_with = "opt_i64")]
    pub bucket_ms: Option<i64>,
}

/// A checked time range `[from_ms, to_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Inclusive start.
    pub from_ms: i64,
    /// Exclusive end.
    pub to_ms: i64,
}

impl RangeQuery {
    /// The model name, or the error that asks for it.
    pub fn model(&self) -> Result<&str> {
        crate::extract::required(&self.model, "model")
    }

    /// The range, checked: start before end, at most 90 days.
    pub fn range(&self) -> Result<Range> {
        let to_ms = self.to_ms.unwrap_or_else(|| now_ms() + 1);
        let from_ms = self.from_ms.unwrap_or(to_ms - DEFAULT_RANGE_MS);
        if from_ms >= to_ms {
            return Err(Error::invalid(format!(
                "from_ms ({from_ms}) must be before to_ms ({to_ms}): both are milliseconds since the Unix epoch"
            )));
        }
        if to_ms - from_ms > MAX_RANGE_MS {
            return Err(Error::invalid(format!(
                "the range from_ms..to_ms spans {} days; at most 90 days can be queried at once",
                (to_ms - from_ms) / 86_400_000
            )));
        }
        Ok(Range { from_ms, to_ms })
    }
}

/// `version` as MLflow writes it: a string.
fn version_string(v: i64) -> Value {
    Value::String(v.to_string())
}
