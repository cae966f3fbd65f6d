//! RagaSense registry server: MLflow REST-compatible tracking, artifact proxy, model
//! registry with stage/alias history, model publication for browsers, and the web app.
//!
//! [`app`] builds the whole router (tests drive it in-process); [`serve`] binds and runs it.

pub mod artifacts;
pub mod auth;
pub mod client;
pub mod config;
pub mod db;
pub mod error;
pub mod experiments;
pub mod extract;
mod gzip;
pub mod health;
pub mod logged_models;
pub mod logging;
pub mod metrics;
pub mod monitoring;
mod names;
pub mod openapi;
pub mod publish;
pub mod registry;
pub mod runs;
pub mod search;
pub mod serving;
pub mod sql;
pub mod telemetry;
pub mod validate;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use config::ServerConfig;
pub use error::Error;

use crate::artifacts::Artifacts;
use crate::db::Db;

/// Limits and switches that shape the HTTP layer.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest JSON request body, in bytes.
    pub max_json_bytes: usize,
    /// Largest artifact upload, in bytes.
    pub max_artifact_bytes: usize,
    /// Origins allowed by CORS on the publication and telemetry routes (`*` allows any).
    pub cors_allow_origins: Vec<String>,
    /// `max-age` for stage/alias manifest URLs.
    pub moving_max_age: u32,
    /// The built web app served at `/` (`None`: `/` says there is none).
    pub web_dir: Option<std::path::PathBuf>,
    /// The built dashboard served at `/ui/` (`None`: `/ui/` says there is none).
    pub ui_dir: Option<std::path::PathBuf>,
    /// Alert rules and webhook.
    pub alerts: monitoring::AlertConfig,
    /// The registered model whose Production version `/invocations` serves.
    pub serve_model: String,
    /// How `/invocations` shares forward passes between clips.
    pub serve_batching: serving::Batching,
    /// Token checks and telemetry rate limits.
    pub auth: auth::AuthSettings,
    /// Longest time an API request (not an artifact transfer) may take before it is answered
    /// with 408.
    pub request_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_json_bytes: 16 * 1024 * 1024,
            max_artifact_bytes: 4 * 1024 * 1024 * 1024,
            cors_allow_origins: vec!["*".into()],
            moving_max_age: 60,
            web_dir: None,
            ui_dir: None,
            alerts: monitoring::AlertConfig::default(),
            serve_model: serving::DEFAULT_MODEL.into(),
            serve_batching: serving::Batching::default(),
            auth: auth::AuthSettings::default(),
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// SQLite pools.
    pub db: Db,
    /// Artifact storage.
    pub artifacts: Arc<Artifacts>,
    /// HTTP limits.
    pub settings: Arc<Settings>,
    /// Held while a background task fills `run_json_cache` (see `runs::render`): one at a time.
    pub cache_fill: Arc<tokio::sync::Mutex<()>>,
    /// Group-commit writer of single metrics.
    pub metric_writer: Arc<runs::MetricWriter>,
    /// Monitoring: alert rules, training references.
    pub monitor: Arc<monitoring::Monitor>,
    /// Prometheus metrics of this app (`GET /metrics`); other modules register theirs here.
    pub metrics: Arc<metrics::Metrics>,
    /// `/invocations`: the served model's loaded versions and the inference worker.
    pub serving: Arc<serving::Serving>,
    /// Tokens, rate limits and the audit log.
    pub auth: Arc<auth::Auth>,
}

impl AppState {
    /// Opens a SQLite store and the artifact destination.
    pub async fn open(db_path: &std::path::Path, artifacts: &str, settings: Settings) -> Result<Self, Error> {
        Self::connect(&db::StoreUri::Sqlite(db_path.to_path_buf()), artifacts, settings).await
    }

    /// Connects to the store (SQLite or PostgreSQL) and opens the artifact destination.
    pub async fn connect(store: &db::StoreUri, artifacts: &str, settings: Settings) -> Result<Self, Error> {
        let db = Db::connect(store).await?;
        let metric_writer = Arc::new(runs::MetricWriter::start(db.clone()));
        let metrics = Arc::new(metrics::Metrics::new());
        metrics.watch_db(&db).map_err(Error::internal)?;
        let serving = Arc::new(serving::Serving::new(&settings.serve_model, settings.serve_batching));
        let auth = Arc::new(auth::Auth::start(settings.auth.clone(), &db));
        Ok(Self {
            auth,
            db,
            artifacts: Arc::new(Artifacts::open(artifacts)?),
            monitor: Arc::new(monitoring::Monitor::new(
                settings.alerts.clone(),
                monitoring::MonitorMetrics::register(&metrics).map_err(Error::internal)?,
            )),
            settings: Arc::new(settings),
            cache_fill: Arc::default(),
            metric_writer,
            metrics,
            serving,
        })
    }
}

/// Builds the whole application.
pub fn app(state: AppState) -> Router {
    let settings = state.settings.clone();
    let observed = state.clone();
    let mlflow = Router::new()
        .merge(experiments::router())
        .merge(runs::router())
        .merge(logged_models::router())
        .merge(registry::router());
    let api = Router::new()
        .nest("/api/2.0/mlflow", mlflow.clone())
        .nest("/ajax-api/2.0/mlflow", mlflow)
        .merge(registry::ragasense_router())
        .merge(monitoring::router())
        .route("/health", get(|| async { "OK" }))
        .route("/version", get(|| async { env!("CARGO_PKG_VERSION") }))
        .route("/openapi.json", get(openapi::handler))
        .merge(auth::tokens::router())
        .route("/v1/audit", get(auth::audit::handler))
        .layer(DefaultBodyLimit::max(settings.max_json_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, settings.request_timeout))
        .layer(axum::middleware::from_fn(gzip::json_gzip))
        .layer(compression());
    let uploads = artifacts::router()
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(settings.max_artifact_bytes));
    // The CORS layer must wrap the 405 fallback too, or preflight OPTIONS never reaches it.
    let public = publish::router()
        .method_not_allowed_fallback(method_not_allowed)
        .layer(compression())
        .layer(cors_layer(&settings.cors_allow_origins));
    // Browsers post here from the pages that run the model: its own CORS (POST, JSON) and
    // its own body limit, far below the API's.
    let telemetry = telemetry::router()
        .merge(monitoring::feedback_router())
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(telemetry::MAX_BODY_BYTES))
        .layer(compression())
        .layer(telemetry_cors_layer(&settings.cors_allow_origins));
    Router::new()
        .merge(api.method_not_allowed_fallback(method_not_allowed))
        .merge(uploads.method_not_allowed_fallback(method_not_allowed))
        .merge(public)
        .merge(telemetry)
        .merge(metrics::router().merge(health::router()))
        .merge(serving::router())
        .nest_service("/ui", web::ui_router(settings.ui_dir.clone()))
        // Everything else: a file of the web app, or the API's 404.
        .fallback_service(web::router(settings.web_dir.clone()))
        .layer(axum::middleware::map_response(json_413))
        // Before the handler, after routing: who calls, may they, and the audit of writes.
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::guard))
        // After routing (it sees the route template), around everything but tracing.
        .layer(axum::middleware::from_fn_with_state(observed, metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &Request<_>| tracing::debug_span!("request", method = %req.method(), uri = %req.uri()),
        ))
        .with_state(state)
}

/// gzip/br for API answers and published models. Not for the artifact proxy: MLflow's
/// client always asks for gzip, and compressing large binary artifacts on the fly costs
/// far more time than it saves bytes on a local network. The fastest level: a 1000-run
/// search answer (0.5 MB of JSON) took ~15 ms to gzip at the default level, the query itself
/// less; level 1 still shrinks JSON several-fold.
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .gzip(true)
        .br(true)
        .quality(CompressionLevel::Fastest)
        .compress_when(DefaultPredicate::new().and(NotPartial))
}

/// CORS of the publication routes: read-only, with the headers of cached, ranged downloads.
fn cors_layer(origins: &[String]) -> CorsLayer {
    CorsLayer::new()
        .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers([header::RANGE, header::IF_NONE_MATCH, header::CONTENT_TYPE])
        .expose_headers([
            header::ETAG,
            header::CONTENT_RANGE,
            header::CONTENT_LENGTH,
            header::ACCEPT_RANGES,
            header::HeaderName::from_static("x-model-version"),
        ])
        .max_age(Duration::from_secs(3600))
        .allow_origin(allowed_origins(origins))
}

/// CORS of `/v1/telemetry`: JSON posts (a `text/plain` beacon needs no preflight) and reads.
fn telemetry_cors_layer(origins: &[String]) -> CorsLayer {
    CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600))
        .allow_origin(allowed_origins(origins))
}

fn allowed_origins(origins: &[String]) -> AllowOrigin {
    if origins.iter().any(|o| o == "*") || origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    }
}

async fn method_not_allowed(req: Request<axum::body::Body>) -> Error {
    Error::MethodNotAllowed(format!(
        "{} is not allowed on {}: see /openapi.json for the methods of each route",
        req.method(),
        req.uri().path()
    ))
}

/// Never compress partial content: byte ranges refer to the identity encoding.
#[derive(Debug, Clone, Copy)]
struct NotPartial;

impl Predicate for NotPartial {
    fn should_compress<B>(&self, response: &axum::http::Response<B>) -> bool
    where
        B: axum::body::HttpBody,
    {
        response.status() != StatusCode::PARTIAL_CONTENT
            && !response.headers().contains_key(header::CONTENT_RANGE)
    }
}

/// Turns bare 413 responses from the body-limit layer into MLflow-shaped JSON errors.
async fn json_413(resp: Response) -> Response {
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE
        && resp.headers().get(header::CONTENT_TYPE).is_none_or(|v| v != "application/json")
    {
        return Error::PayloadTooLarge("request body is larger than the server accepts".into())
            .into_response();
    }
    resp
}

/// Starts the server described by `config` and runs it until Ctrl-C / SIGTERM.
///
/// Prints `listening on http://HOST:PORT` on stdout once the socket is bound.
pub async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    use anyhow::Context;
    logging::init(config.log_format);
    let store = db::StoreUri::parse(&config.backend_store_uri).context("reading --backend-store-uri")?;
    let mut settings = config.settings();
    settings.alerts = config.alert_config()?;
    let state =
        AppState::connect(&store, &config.artifacts_destination, settings).await.with_context(|| {
            format!("opening the store {store} and artifacts {}", config.artifacts_destination)
        })?;
    let shutdown = shutdown_signal();
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
        .await
        .with_context(|| format!("binding {}:{}", config.host, config.port))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    println!("listening on http://{addr}");
    tracing::info!(%store, artifacts = %state.artifacts.description(), "registry server ready");
    match &state.settings.web_dir {
        Some(dir) if web::is_built(dir) => tracing::info!(dir = %dir.display(), "serving the web app at /"),
        Some(dir) => tracing::warn!(
            dir = %dir.display(),
            "no web app to serve (no index.html there): / says how to build it (scripts/build-web.sh)"
        ),
        None => {}
    }
    // Nagle's algorithm holds back the tail of a response written in pieces (a compressed
    // body comes as 4 KiB chunks) until the client ACKs, and clients delay their ACKs by up
    // to 40 ms: measured, a 1000-run search took 64 ms to reach Python's requests instead
    // of 20 ms.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(%err, "could not set TCP_NODELAY");
        }
    });
    auth_notice(&state, &store).await;
    // Uploads cut off by a crash leave their temporary files; an hour old, nobody owns them.
    let artifacts = state.artifacts.clone();
    tokio::task::spawn_blocking(move || {
        let removed = artifacts.sweep_staged(std::time::Duration::from_secs(3600));
        if removed > 0 {
            tracing::info!(removed, "removed temporary files of interrupted uploads");
        }
    });
    let rules = state.monitor.config.rules.len();
    let _evaluator = monitoring::spawn_evaluator(state.clone());
    tracing::info!(
        rules,
        webhook = state.monitor.config.webhook.is_some(),
        "alert rules evaluated every {}s",
        state.monitor.config.interval_s
    );
    let app = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await.context("serving HTTP")?;
    Ok(())
}

/// Says at start-up whether tokens are checked, and how to get a first admin token when
/// they are and the store has none.
async fn auth_notice(state: &AppState, store: &db::StoreUri) {
    if !state.settings.auth.enabled {
        tracing::info!(
            "auth is off (listening on loopback): every caller acts as 'anonymous'; --auth on checks tokens"
        );
        return;
    }
    match auth::tokens::has_admin(&state.db).await {
        Ok(true) => tracing::info!("auth is on: requests need an API token (Authorization: Bearer …)"),
        Ok(false) => tracing::warn!(
            "auth is on and the store has no admin token yet: create one on this machine with \
             'ragasense token create --name admin --scope admin --backend-store-uri {}'",
            store
        ),
        Err(err) => tracing::warn!(%err, "could not check the store's tokens"),
    }
}

/// Listens for Ctrl-C (and SIGTERM on Unix). The handlers are installed when this is
/// built, so a signal that arrives right after start-up is not lost.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            match (int, term) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {},
                        _ = term.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            tracing::info!("shutting down");
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        }
    }
}
