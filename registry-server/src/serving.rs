//! Model serving in MLflow's scoring-server protocol: `POST /invocations` classifies clips
//! (raw samples, an encoded file, or precomputed features; see [`input`]) and answers
//! `{"predictions": [{"raga", "confidence", "top_k", "tonic_hz", …}, …]}`; `GET /ping`
//! says whether a model is loadable.
//!
//! Two ways in, one implementation:
//! - [`router`]: the registry serves the **Production** version of one registered model
//!   (`--serve-model`, default `raga-detector`). Each request looks the Production version
//!   up (one indexed query) and takes the loaded model from a small cache keyed by name and
//!   version, so a promotion takes effect with the next request, without a restart.
//! - [`model_app`] / [`serve_model`]: one fixed model, like `mlflow models serve`
//!   (`ragasense serve-model`), with `/invocations`, `/ping`, `/health` and `/version`.
//!
//! Features come from `raga-dsp` and inference from `raga_model::Classifier` on burn's
//! `flex` CPU backend; both run off the async runtime: features on the blocking pool (one
//! task per clip), forward passes on one worker thread that batches concurrent clips
//! ([`worker`]).

pub mod input;
pub mod worker;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use raga_model::{Classifier, Prediction, RagaScore};
use serde::Serialize;
use tokio::sync::Mutex;

pub use worker::{Batcher, Batching};

use crate::AppState;
use crate::error::{Error, Result};
use crate::publish::{self, Selector};

/// Largest `/invocations` body: raw audio as JSON numbers is ~10 bytes a sample, so a
/// 30 s clip at 44.1 kHz is ~13 MB.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The registered model the registry serves by default.
pub const DEFAULT_MODEL: &str = "raga-detector";

/// Loaded versions kept per server (the current Production one and a few before it).
const CACHED_MODELS: usize = 3;

/// A loaded model and which registry version (or package) it is.
#[derive(Debug)]
pub struct ServedModel {
    /// Registered model name (or the package's name when served from a folder).
    pub name: String,
    /// Registry version (or `local` for a package folder); sent as `x-model-version`.
    pub version: String,
    /// The checked, loaded model.
    pub classifier: Classifier,
}

impl ServedModel {
    /// Checks and loads a package (manifest + weights bytes) on the CPU (`flex`).
    pub fn load(
        name: impl Into<String>,
        version: impl Into<String>,
        manifest: &[u8],
        weights: Vec<u8>,
    ) -> Result<Self, raga_model::ModelError> {
        let classifier = Classifier::from_package(manifest, weights, &burn::prelude::Device::flex())?;
        Ok(Self { name: name.into(), version: version.into(), classifier })
    }
}

/// Serving state of the registry: which model it serves, the loaded versions, the worker.
#[derive(Debug)]
pub struct Serving {
    model_name: String,
    batcher: Batcher,
    cache: Mutex<Vec<Arc<ServedModel>>>,
}

impl Default for Serving {
    fn default() -> Self {
        Self::new(DEFAULT_MODEL, Batching::default())
    }
}

impl Serving {
    /// Serves the Production version of `model_name`.
    pub fn new(model_name: impl Into<String>, batching: Batching) -> Self {
        Self { model_name: model_name.into(), batcher: Batcher::new(batching), cache: Mutex::default() }
    }

    /// The registered model served.
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// The Production version, loaded (from the cache when it was loaded before).
    pub async fn production(&self, state: &AppState) -> Result<Arc<ServedModel>> {
        let name = &self.model_name;
        let version: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(version) FROM model_versions WHERE name = $1 AND current_stage = 'Production'",
        )
        .bind(name)
        .fetch_one(&state.db.read)
        .await?;
        let Some(version) = version else {
            return Err(self.nothing_to_serve(state).await);
        };
        // Held while loading, so concurrent first requests load a version once.
        let mut cache = self.cache.lock().await;
        if let Some(model) = cache.iter().find(|m| m.name == *name && m.version == version.to_string()) {
            return Ok(model.clone());
        }
        let mv = publish::resolve(state, name, &Selector::Version(version)).await?;
        let (manifest, weights) = publish::package_bytes(state, &mv).await?;
        let (n, v) = (name.clone(), mv.version.clone());
        let model = tokio::task::spawn_blocking(move || ServedModel::load(n, v, &manifest, weights.to_vec()))
            .await
            .map_err(Error::internal)?
            .map_err(|e| {
                Error::InvalidState(format!(
                    "model '{name}' version {version} (Production) cannot be served: {e}; \
                     promote a version whose package loads"
                ))
            })?;
        tracing::info!(model = %name, version, "loaded the Production model for /invocations");
        let model = Arc::new(model);
        cache.insert(0, model.clone());
        cache.truncate(CACHED_MODELS);
        Ok(model)
    }

    /// Why there is no Production version, and what to do.
    async fn nothing_to_serve(&self, state: &AppState) -> Error {
        let name = &self.model_name;
        let exists = sqlx::query_scalar::<_, i64>("SELECT 1 FROM registered_models WHERE name = $1")
            .bind(name)
            .fetch_optional(&state.db.read)
            .await;
        match exists {
            Ok(Some(_)) => Error::not_found(format!(
                "model '{name}' has no version in stage Production to serve: promote one with \
                 `ragasense models promote {name} VERSION --stage production` (or MLflow's transition-stage)"
            )),
            Ok(None) => Error::not_found(format!(
                "there is no registered model '{name}' to serve: publish one with `ragasense models publish \
                 PACKAGE_DIR --name {name} --stage production`, or serve another with --serve-model NAME"
            )),
            Err(err) => err.into(),
        }
    }
}

/// `/invocations` and `/ping` of the registry (absolute paths), under their own body limit.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/invocations", post(registry_invocations))
        .route("/ping", get(registry_ping))
        .method_not_allowed_fallback(crate::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

async fn registry_invocations(State(state): State<AppState>, req: Request) -> Result<Response> {
    let model = state.serving.production(&state).await?;
    invoke(&state.serving.batcher, model, req).await
}

async fn registry_ping(State(state): State<AppState>) -> Result<&'static str> {
    state.serving.production(&state).await.map(|_| "\n")
}

/// One fixed model with its worker.
#[derive(Debug)]
struct Fixed {
    model: Arc<ServedModel>,
    batcher: Batcher,
}

/// The whole app of `ragasense serve-model`: `/invocations`, `/ping`, `/health`, `/version`
/// for one model.
pub fn model_app(model: ServedModel, batching: Batching) -> Router {
    let fixed = Arc::new(Fixed { model: Arc::new(model), batcher: Batcher::new(batching) });
    Router::new()
        .route("/invocations", post(fixed_invocations))
        .route("/ping", get(|| async { "\n" }))
        .route("/health", get(|| async { "OK" }))
        .route("/version", get(|| async { env!("CARGO_PKG_VERSION") }))
        .method_not_allowed_fallback(crate::method_not_allowed)
        .fallback(|req: Request| async move {
            Error::EndpointNotFound(format!(
                "no route {}: this server answers POST /invocations, GET /ping, /health and /version",
                req.uri().path()
            ))
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(crate::json_413))
        .with_state(fixed)
}

async fn fixed_invocations(State(fixed): State<Arc<Fixed>>, req: Request) -> Result<Response> {
    invoke(&fixed.batcher, fixed.model.clone(), req).await
}

/// Runs [`model_app`] on `host:port` until Ctrl-C / SIGTERM; prints `listening on
/// http://HOST:PORT` once bound.
pub async fn serve_model(
    model: ServedModel,
    host: &str,
    port: u16,
    batching: Batching,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let _ =
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("RAGASENSE_LOG").unwrap_or_else(
                |_| tracing_subscriber::EnvFilter::new("registry_server=info,tower_http=warn"),
            ))
            .with_writer(std::io::stderr)
            .try_init();
    let shutdown = crate::shutdown_signal();
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("binding {host}:{port}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    println!("listening on http://{addr}");
    tracing::info!(model = %model.name, version = %model.version, ?batching, "serving /invocations");
    axum::serve(listener, model_app(model, batching))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    Ok(())
}

/// One clip's answer.
#[derive(Debug, Serialize)]
struct Answer {
    raga: String,
    confidence: f32,
    top_k: Vec<RagaScore>,
    tonic_hz: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    tonic_confidence: Option<f32>,
    windows: usize,
}

impl From<Prediction> for Answer {
    fn from(p: Prediction) -> Self {
        Self {
            raga: p.raga,
            confidence: p.confidence,
            top_k: p.top_k,
            tonic_hz: p.tonic_hz,
            tonic_confidence: p.tonic_confidence,
            windows: p.windows,
        }
    }
}

/// `/invocations`: body → clips → features (blocking pool, one task per clip) → the worker.
async fn invoke(batcher: &Batcher, model: Arc<ServedModel>, req: Request) -> Result<Response> {
    let body = json_body(req).await?;
    let clips = tokio::task::spawn_blocking(move || input::parse(&body)).await.map_err(Error::internal)??;
    let tasks: Vec<_> = clips
        .into_iter()
        .map(|clip| {
            let model = model.clone();
            tokio::task::spawn_blocking(move || {
                let tradition = clip.tradition;
                clip.features(&model.classifier.manifest().features).map(|f| (f, tradition))
            })
        })
        .collect();
    let mut prepared = Vec::with_capacity(tasks.len());
    for task in tasks {
        prepared.push(task.await.map_err(Error::internal)??);
    }
    let predictions = batcher.classify(&model, prepared).await?;
    let answers: Vec<Answer> = predictions.into_iter().map(Answer::from).collect();
    let mut resp =
        (StatusCode::OK, axum::Json(serde_json::json!({ "predictions": answers }))).into_response();
    if let Ok(v) = HeaderValue::from_str(&model.version) {
        resp.headers_mut().insert("x-model-version", v);
    }
    Ok(resp)
}

/// The request body, when it is JSON (or has no content type).
async fn json_body(req: Request) -> Result<Bytes> {
    let content_type = req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?"));
    let essence = content_type.map(|ct| ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    if let Some(essence) = essence
        && essence != "application/json"
    {
        return Err(Error::UnsupportedMediaType(format!(
            "/invocations reads Content-Type application/json (got '{essence}'); MLflow's CSV input is not supported"
        )));
    }
    let too_large = format!(
        "request body is larger than the {} MiB /invocations limit: send fewer or shorter clips per request",
        MAX_BODY_BYTES / (1024 * 1024)
    );
    crate::extract::read_body(req, &(), &too_large).await
}
