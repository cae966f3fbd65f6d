//! Prometheus metrics: the per-app [`Metrics`] registry, the middleware that counts and
//! times every request (and writes its access-log line), and `GET /metrics` in the text
//! exposition format 0.0.4.
//!
//! There is no global recorder: each [`crate::AppState`] owns its registry, so several apps
//! in one process (the tests) never share counters.
//!
//! # Adding metrics from another module
//!
//! Register once, when the state is built, keep the handle, and update it on the hot path
//! (an atomic add, no lock):
//!
//! ```
//! # use registry_server::metrics::Metrics;
//! let metrics = Metrics::new();
//! // Exposed as `ragasense_model_cache_hits_total` (the `_total` is added, never doubled).
//! let hits = metrics.register_counter("model_cache_hits", "Model loads served from the cache")?;
//! hits.inc();
//! // Values known only at scrape time: a closure, called on each scrape.
//! metrics.register_gauge_fn("alerts_firing", "Alerts now firing", || 0)?;
//! # Ok::<(), registry_server::metrics::MetricsError>(())
//! ```
//!
//! With labels, use [`Metrics::register`] with a `Family` whose label set derives
//! [`EncodeLabelSet`] (keep label values to a small, fixed set).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};
use tracing::Instrument;

use crate::AppState;
use crate::db::Db;
use crate::error::Error;

/// The prefix of every metric of this server except the standard `process_*` ones.
pub const PREFIX: &str = "ragasense";

/// `Content-Type` of `GET /metrics`.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the request latency histogram, in seconds (1 ms to 10 s).
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Why a metric could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The name is not `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("metric name '{0}' must be letters, digits and '_', not starting with a digit")]
    BadName(String),
    /// Another metric already has this name.
    #[error("metric '{0}' is already registered")]
    Duplicate(String),
    /// The text format 0.0.4 has only counters, gauges and histograms (and summaries).
    #[error("metric '{0}' is of a type the text format 0.0.4 cannot show: use a counter, gauge or histogram")]
    Unsupported(String),
}

/// Labels of the request counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route template (`/api/2.0/mlflow-artifacts/artifacts/{*path}`), never the URI.
    route: Arc<str>,
    /// `2xx`, `4xx`, …
    status: &'static str,
}

/// Labels of the latency histogram.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Arc<str>,
}

/// Labels of the artifact byte counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

/// The metrics of one app: a registry plus the handles the server itself updates.
///
/// Cheap to share (`Arc<Metrics>` in [`AppState`]); every handle is an atomic.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    names: Mutex<BTreeSet<String>>,
    http_requests: Family<RequestLabels, Counter>,
    http_latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    telemetry_accepted: Counter,
    telemetry_duplicates: Counter,
    artifact_bytes: Family<DirectionLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with the server's own metrics, build info and process start time.
    pub fn new() -> Self {
        let metrics = Self {
            registry: Mutex::new(Registry::default()),
            names: Mutex::default(),
            http_requests: Family::default(),
            http_latency: Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS)),
            telemetry_accepted: Counter::default(),
            telemetry_duplicates: Counter::default(),
            artifact_bytes: Family::default(),
        };
        // The names are fixed and distinct, so registration cannot fail; if it did, the
        // metric would only be left out.
        let builtins = [
            metrics.add(
                "http_requests",
                "HTTP requests by method, route template and status class",
                metrics.http_requests.clone(),
            ),
            metrics.add(
                "http_request_duration_seconds",
                "Time to the response head, by method and route template",
                metrics.http_latency.clone(),
            ),
            metrics.add(
                "telemetry_events_accepted",
                "Browser telemetry events stored",
                metrics.telemetry_accepted.clone(),
            ),
            metrics.add(
                "telemetry_events_duplicate",
                "Browser telemetry events not stored because their event_id was already stored",
                metrics.telemetry_duplicates.clone(),
            ),
            metrics.add(
                "artifact_bytes",
                "Artifact bytes through the artifact proxy, by direction (upload, download)",
                metrics.artifact_bytes.clone(),
            ),
        ];
        for err in builtins.into_iter().filter_map(Result::err) {
            tracing::error!(%err, "built-in metric left out");
        }
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        metrics.collect(Box::new(ProcessCollector { started }));
        metrics
    }

    /// Registers `metric` as `ragasense_<name>` and returns it (handles are clones of one
    /// atomic). Counters get `_total` appended; a `name` that already ends in `_total` is
    /// trimmed first. Only counters, gauges and histograms (and families of them) are allowed.
    pub fn register<M: Metric + Clone>(&self, name: &str, help: &str, metric: M) -> Result<M, MetricsError> {
        self.add(name, help, metric.clone())?;
        Ok(metric)
    }

    /// Registers and returns a counter without labels (`ragasense_<name>_total`).
    pub fn register_counter(&self, name: &str, help: &str) -> Result<Counter, MetricsError> {
        self.register(name, help, Counter::default())
    }

    /// Registers and returns a gauge without labels (`ragasense_<name>`).
    pub fn register_gauge(&self, name: &str, help: &str) -> Result<Gauge, MetricsError> {
        self.register(name, help, Gauge::default())
    }

    /// Registers and returns a histogram with these bucket upper bounds (`+Inf` is implied).
    pub fn register_histogram(
        &self,
        name: &str,
        help: &str,
        buckets: impl IntoIterator<Item = f64>,
    ) -> Result<Histogram, MetricsError> {
        self.register(name, help, Histogram::new(buckets))
    }

    /// Registers a gauge whose value `read` computes on each scrape (keep it cheap and
    /// non-blocking: it runs inside the `/metrics` handler).
    pub fn register_gauge_fn(
        &self,
        name: &str,
        help: &str,
        read: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Result<(), MetricsError> {
        let full = self.claim(name, MetricType::Gauge)?;
        self.collect(Box::new(GaugeFn { name: full, help: help.to_string(), read: Box::new(read) }));
        Ok(())
    }

    /// Adds the read and write pools' `size` and `idle` gauges, read at scrape time.
    pub fn watch_db(&self, db: &Db) -> Result<(), MetricsError> {
        self.claim("db_pool_connections", MetricType::Gauge)?;
        self.claim("db_pool_idle_connections", MetricType::Gauge)?;
        self.collect(Box::new(PoolCollector { db: db.clone() }));
        Ok(())
    }

    /// Counts a stored telemetry batch: events stored and events already there.
    pub fn count_telemetry(&self, accepted: u64, duplicates: u64) {
        self.telemetry_accepted.inc_by(accepted);
        self.telemetry_duplicates.inc_by(duplicates);
    }

    /// Counts artifact bytes received by the proxy.
    pub fn artifact_uploaded(&self, bytes: u64) {
        self.artifact_bytes.get_or_create(&DirectionLabels { direction: "upload" }).inc_by(bytes);
    }

    /// A counter of artifact bytes sent by the proxy (for a body stream to update).
    pub fn artifact_download_counter(&self) -> Counter {
        self.artifact_bytes.get_or_create_owned(&DirectionLabels { direction: "download" })
    }

    /// Counts one finished request.
    fn observe(&self, method: &'static str, route: Arc<str>, status: u16, seconds: f64) {
        let status = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.http_requests.get_or_create(&RequestLabels { method, route: route.clone(), status }).inc();
        self.http_latency.get_or_create(&RouteLabels { method, route }).observe(seconds);
    }

    /// Everything registered, in the text exposition format 0.0.4.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut open_metrics = String::with_capacity(8 * 1024);
        {
            let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
            prometheus_client::encoding::text::encode_registry(&mut open_metrics, &registry)?;
        }
        Ok(to_text_format(&open_metrics))
    }

    fn add(&self, name: &str, help: &str, metric: impl Metric) -> Result<(), MetricsError> {
        let full = self.claim(name, metric.metric_type())?;
        let name = full.strip_suffix("_total").unwrap_or(&full).to_string();
        self.registry.lock().unwrap_or_else(PoisonError::into_inner).register(name, help, metric);
        Ok(())
    }

    /// Checks the name and type, reserves `ragasense_<name>` and returns it (with `_total`
    /// for a counter).
    fn claim(&self, name: &str, kind: MetricType) -> Result<String, MetricsError> {
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(MetricsError::BadName(name.to_string()));
        }
        let base = name.strip_suffix("_total").unwrap_or(name);
        let full = match kind {
            MetricType::Counter => format!("{PREFIX}_{base}_total"),
            MetricType::Gauge | MetricType::Histogram => format!("{PREFIX}_{name}"),
            _ => return Err(MetricsError::Unsupported(name.to_string())),
        };
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        // Reserve the base too, so `x` (gauge) and `x` (counter → x_total) cannot both exist
        // with clashing histogram-style suffixes.
        if !names.insert(format!("{PREFIX}_{base}")) {
            return Err(MetricsError::Duplicate(name.to_string()));
        }
        Ok(full)
    }

    fn collect(&self, collector: Box<dyn Collector>) {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner).register_collector(collector);
    }
}

/// Rewrites prometheus-client's OpenMetrics text into the format 0.0.4: a counter family is
/// named with its `_total` suffix (as its samples are), `# UNIT` and `# EOF` lines go.
fn to_text_format(open_metrics: &str) -> String {
    let mut out = String::with_capacity(open_metrics.len());
    let mut help: Option<&str> = None;
    for line in open_metrics.lines() {
        if line.starts_with("# HELP ") {
            help = Some(line);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.rsplit_once(' ').unwrap_or((rest, "untyped"));
            let renamed = if kind == "counter" && !name.ends_with("_total") {
                format!("{name}_total")
            } else {
                name.to_string()
            };
            if let Some(help) = help.take() {
                let text = help.strip_prefix("# HELP ").and_then(|h| h.strip_prefix(name)).unwrap_or("");
                let _ = writeln!(out, "# HELP {renamed}{text}");
            }
            let _ = writeln!(out, "# TYPE {renamed} {kind}");
            continue;
        }
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `process_start_time_seconds` and `ragasense_build_info`.
#[derive(Debug)]
struct ProcessCollector {
    started: f64,
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::result::Result<(), std::fmt::Error> {
        let start = ConstGauge::new(self.started);
        start.encode(encoder.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds",
            None,
            start.metric_type(),
        )?)?;
        let info = ConstGauge::new(1_i64);
        let mut family = encoder.encode_descriptor(
            "ragasense_build_info",
            "Always 1; the labels say which server build runs",
            None,
            info.metric_type(),
        )?;
        info.encode(family.encode_family(&[("version", env!("CARGO_PKG_VERSION"))])?)?;
        Ok(())
    }
}

/// A gauge computed on each scrape.
struct GaugeFn {
    name: String,
    help: String,
    read: Box<dyn Fn() -> i64 + Send + Sync>,
}

impl std::fmt::Debug for GaugeFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GaugeFn").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Collector for GaugeFn {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::result::Result<(), std::fmt::Error> {
        let gauge = ConstGauge::new((self.read)());
        gauge.encode(encoder.encode_descriptor(&self.name, &self.help, None, gauge.metric_type())?)
    }
}

/// Connections of the SQLite pools, by pool (`read`, `write`).
#[derive(Debug)]
struct PoolCollector {
    db: Db,
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::result::Result<(), std::fmt::Error> {
        fn size(pool: &sqlx::AnyPool) -> i64 {
            i64::from(pool.size())
        }
        fn idle(pool: &sqlx::AnyPool) -> i64 {
            i64::try_from(pool.num_idle()).unwrap_or(i64::MAX)
        }
        let pools = [("read", &self.db.read), ("write", &self.db.write)];
        type Read = fn(&sqlx::AnyPool) -> i64;
        let gauges: [(&str, &str, Read); 2] = [
            ("ragasense_db_pool_connections", "Open connections of the SQLite pool (busy + idle)", size),
            ("ragasense_db_pool_idle_connections", "Idle connections of the SQLite pool", idle),
        ];
        for (name, help, read) in gauges {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (pool, p) in pools {
                ConstGauge::new(read(p)).encode(family.encode_family(&[("pool", pool)])?)?;
            }
        }
        Ok(())
    }
}

/// `GET /metrics`.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(state): State<AppState>) -> Result<Response, Error> {
    let body = state.metrics.render().map_err(Error::internal)?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], body).into_response())
}

/// Middleware of the whole app (add with `Router::layer`, so it runs after routing and
/// sees the route template): counts and times the request, runs it inside an `info` span
/// `request{method, route}` so every log line of the handler carries both, and writes one
/// access-log line (target `registry_server::access`) with the status and latency.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let route: Arc<str> = match req.extensions().get::<MatchedPath>() {
        Some(path) => Arc::from(path.as_str()),
        // The web app's files and unknown paths: one label, whatever the URI.
        None => Arc::from("fallback"),
    };
    let span = tracing::info_span!("request", method, route = &*route);
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state.metrics.observe(method, route, status, seconds);
    span.in_scope(|| {
        tracing::info!(target: "registry_server::access", status, latency_ms = seconds * 1000.0, "request");
    });
    response
}

/// The method as a label: the standard ones, anything else `OTHER` (bounded cardinality).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_types_and_duplicates() {
        let m = Metrics::new();
        assert!(m.register_counter("model_cache_hits_total", "hits").is_ok());
        assert!(matches!(m.register_counter("model_cache_hits", "again"), Err(MetricsError::Duplicate(_))));
        assert!(matches!(m.register_gauge("9lives", "x"), Err(MetricsError::BadName(_))));
        assert!(matches!(m.register_gauge("a-b", "x"), Err(MetricsError::BadName(_))));
        assert!(matches!(m.register_gauge("http_requests", "x"), Err(MetricsError::Duplicate(_))));
        let info = prometheus_client::metrics::info::Info::new([("a", "b")]);
        assert!(matches!(m.add("info", "x", info), Err(MetricsError::Unsupported(_))));
        m.register_gauge_fn("alerts_firing", "Alerts now firing", || 3).ok();
        let text = m.render().unwrap_or_default();
        assert!(text.contains("# TYPE ragasense_model_cache_hits_total counter\n"), "{text}");
        assert!(text.contains("\nragasense_model_cache_hits_total 0\n"), "{text}");
        assert!(text.contains("\nragasense_alerts_firing 3\n"), "{text}");
        assert!(text.contains("ragasense_build_info{version=\""), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
        assert!(!text.contains("_total_total"), "{text}");
    }
}
