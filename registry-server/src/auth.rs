//! Who may do what. Every request is classified by route ([`classify`]) as public, read,
//! write, admin or telemetry; the [`guard`] middleware checks the caller's API token against
//! that, rate-limits telemetry per key, and writes every write and admin action to the
//! [`audit`] log.
//!
//! - [`tokens`]: API tokens with scopes (`read`, `write`, `admin`) and publishable
//!   telemetry keys (`telemetry`, optionally limited to named models). Only the SHA-256 of a
//!   token is stored; the token itself is shown once.
//! - Tokens come as `Authorization: Bearer …` (what `MLFLOW_TRACKING_TOKEN` makes the MLflow
//!   client send), as the password of HTTP Basic auth, or — telemetry routes only, because
//!   `navigator.sendBeacon` cannot set headers — as `?key=…`.
//! - Auth is off by default when the server listens on loopback (the demo), on otherwise;
//!   `--auth on|off` overrides that. With auth off, every request acts as `anonymous` with
//!   every right, and writes are still audited.
//! - Published models (`/v1/models/…`, `/v1/blobs/…`), health checks, the OpenAPI document and
//!   the static web app and dashboard are public: browsers fetch them without a token.

pub mod audit;
pub mod forwarded;
pub mod tokens;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::AppState;
use crate::error::{Error, Result};

pub use audit::{AuditEntry, AuditLog};
pub use tokens::{CreatedToken, NewToken, TokenInfo};

/// When the server checks tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMode {
    /// Off when listening on a loopback address, on otherwise.
    #[default]
    Auto,
    /// Every non-public request needs a token with the right scope.
    On,
    /// No token is checked (every caller acts as `anonymous`); writes are still audited.
    Off,
}

impl AuthMode {
    /// Whether tokens are checked for a server bound to `host`.
    pub fn enabled_for(self, host: &str) -> bool {
        match self {
            Self::On => true,
            Self::Off => false,
            Self::Auto => !is_loopback(host),
        }
    }
}

/// `localhost`, `127.0.0.0/8` and `::1`.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Auth settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Whether tokens are checked.
    pub enabled: bool,
    /// Telemetry requests per second allowed per key (per client address without a key);
    /// 0 turns the limit off.
    pub telemetry_rate_per_s: f64,
    /// Requests a key may send at once before the rate applies.
    pub telemetry_burst: f64,
    /// Load balancers whose `X-Forwarded-For` names the client (rate limits, audit log).
    pub trusted_proxies: Vec<forwarded::IpRange>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            telemetry_rate_per_s: 100.0,
            telemetry_burst: 200.0,
            trusted_proxies: Vec::new(),
        }
    }
}

/// What a token may do. `admin` includes `write`, which includes `read`; `telemetry` is
/// separate: a publishable key that can only post telemetry and feedback.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Post telemetry and feedback (for the key's models only, when it names some).
    Telemetry,
    /// Read runs, experiments, models, artifacts, monitoring; call `/invocations`.
    Read,
    /// Read, plus tracking and registry changes.
    Write,
    /// Write, plus deletes, tokens and the audit log.
    Admin,
}

impl Scope {
    /// The scope's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telemetry => "telemetry",
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "telemetry" => Some(Self::Telemetry),
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// What a request needs, decided by its route and method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing: health, OpenAPI, published models, static files, CORS preflight.
    Public,
    /// The `read` scope (or more).
    Read,
    /// The `write` scope (or `admin`).
    Write,
    /// The `admin` scope: deletes, tokens, the audit log.
    Admin,
    /// A telemetry key (or `write`): posting telemetry and feedback.
    Telemetry,
}

impl Access {
    /// The scope this access needs, by name (`none` for public routes).
    pub fn scope(self) -> &'static str {
        match self {
            Self::Public => "none",
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
            Self::Telemetry => "telemetry",
        }
    }
}

/// Route prefixes served without a token whatever the method (the routes there only read).
const PUBLIC_PREFIXES: &[&str] = &["/v1/models/", "/v1/blobs/"];
const PUBLIC_ROUTES: &[&str] = &["/health", "/ready", "/version", "/ping", "/openapi.json"];
/// Everything under these needs a token; any other path is the static web app or dashboard.
const PROTECTED_PREFIXES: &[&str] =
    &["/api/", "/ajax-api/", "/v1/", "/get-artifact", "/metrics", "/invocations"];

/// What `method` on `route` (the route template when one matched, else the raw path) needs.
pub fn classify(method: &Method, route: &str) -> Access {
    if method == Method::OPTIONS
        || PUBLIC_ROUTES.contains(&route)
        || PUBLIC_PREFIXES.iter().any(|p| route.starts_with(p))
    {
        return Access::Public;
    }
    if !PROTECTED_PREFIXES.iter().any(|p| route.starts_with(p) || route == p.trim_end_matches('/')) {
        return Access::Public;
    }
    if route.starts_with("/v1/tokens") || route.starts_with("/v1/audit") {
        return Access::Admin;
    }
    if route == "/v1/telemetry" || route == "/v1/feedback" {
        return if method == Method::POST { Access::Telemetry } else { Access::Read };
    }
    if method == Method::GET || method == Method::HEAD {
        return Access::Read;
    }
    // MLflow reads that are POSTs.
    if method == Method::POST
        && (route.ends_with("/search") || route.ends_with("/get-latest-versions") || route == "/invocations")
    {
        return Access::Read;
    }
    // Deleting experiments, runs, models, versions and stored files.
    if route.ends_with("/delete")
        || (method == Method::DELETE && route.starts_with("/api/2.0/mlflow-artifacts/artifacts"))
    {
        return Access::Admin;
    }
    Access::Write
}

/// The caller of a request, put in the request's extensions by [`guard`].
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's id (`None`: auth is off).
    pub token_id: Option<String>,
    /// The token's name, or `anonymous`.
    pub name: String,
    scopes: Vec<Scope>,
    models: Option<Vec<String>>,
}

impl Principal {
    /// The caller when auth is off: every right.
    pub fn anonymous() -> Self {
        Self { token_id: None, name: "anonymous".into(), scopes: vec![Scope::Admin], models: None }
    }

    fn from_token(info: &TokenInfo) -> Self {
        Self {
            token_id: Some(info.id.clone()),
            name: info.name.clone(),
            scopes: info.scopes.clone(),
            models: info.models.clone(),
        }
    }

    /// Whether this caller may do what `access` needs.
    pub fn allows(&self, access: Access) -> bool {
        let has = |s: Scope| self.scopes.contains(&s);
        match access {
            Access::Public => true,
            Access::Read => has(Scope::Read) || has(Scope::Write) || has(Scope::Admin),
            Access::Write => has(Scope::Write) || has(Scope::Admin),
            Access::Admin => has(Scope::Admin),
            Access::Telemetry => has(Scope::Telemetry) || has(Scope::Write) || has(Scope::Admin),
        }
    }

    /// Checks that this caller may post telemetry or feedback about `model`.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] when the caller is a telemetry key for other models.
    pub fn check_model(&self, model: &str) -> Result<()> {
        match &self.models {
            Some(models) if !models.iter().any(|m| m == model) => Err(Error::PermissionDenied(format!(
                "telemetry key '{}' may only post for the models {}, not '{model}'",
                self.name,
                models.join(", ")
            ))),
            _ => Ok(()),
        }
    }
}

/// Checks `model` against the caller put in `extensions` by the guard (a request that did not
/// go through it — a test driving a handler — has every right).
pub fn check_model(extensions: &axum::http::Extensions, model: &str) -> Result<()> {
    extensions.get::<Principal>().map_or(Ok(()), |p| p.check_model(model))
}

/// Per-app auth state: the settings, the audit writer, the telemetry rate limiter, and when
/// each token's `last_used_ms` was last written.
#[derive(Debug)]
pub struct Auth {
    /// Settings.
    pub settings: AuthSettings,
    /// The audit log writer.
    pub audit: AuditLog,
    limiter: RateLimiter,
    last_used: Mutex<HashMap<String, Instant>>,
}

/// A token's `last_used_ms` is written at most this often.
const LAST_USED_EVERY: Duration = Duration::from_secs(60);

impl Auth {
    /// Starts the audit writer on the current runtime.
    pub fn start(settings: AuthSettings, db: &crate::db::Db) -> Self {
        Self {
            limiter: RateLimiter::new(settings.telemetry_rate_per_s, settings.telemetry_burst),
            settings,
            audit: AuditLog::start(db.clone()),
            last_used: Mutex::default(),
        }
    }

    /// Whether `last_used_ms` of `token_id` is due for a write (and marks it written).
    fn last_used_due(&self, token_id: &str) -> bool {
        let Ok(mut map) = self.last_used.lock() else { return false };
        let now = Instant::now();
        match map.get(token_id) {
            Some(t) if now.duration_since(*t) < LAST_USED_EVERY => false,
            _ => {
                map.insert(token_id.to_string(), now);
                true
            }
        }
    }
}

/// The token a request carries: `Authorization: Bearer`, HTTP Basic (the password, or the
/// user when the password is empty), or `?key=` where `query_key` allows it.
fn presented_token(headers: &HeaderMap, query: Option<&str>, query_key: bool) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Some((scheme, rest)) = value.split_once(' ') {
            let rest = rest.trim();
            if scheme.eq_ignore_ascii_case("bearer") {
                return Some(rest.to_string());
            }
            if scheme.eq_ignore_ascii_case("basic") {
                use base64::Engine;
                let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
                let text = String::from_utf8(decoded).ok()?;
                let (user, pass) = text.split_once(':').unwrap_or((&text, ""));
                return Some(if pass.is_empty() { user } else { pass }.to_string());
            }
        }
        // An unknown scheme: hand the whole value on, so the caller hears "invalid token".
        return Some(value.to_string());
    }
    if query_key {
        return form_urlencoded::parse(query?.as_bytes())
            .find(|(k, _)| k == "key")
            .map(|(_, v)| v.into_owned());
    }
    None
}

/// Middleware of the whole app (added with `Router::layer`, so it sees the route template):
/// authenticates and authorizes the request, rate-limits telemetry, and audits writes.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let route = route.unwrap_or_else(|| req.uri().path().to_string());
    let access = classify(req.method(), &route);
    if access == Access::Public {
        return next.run(req).await;
    }
    match authorize(&state, req, access, route, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn authorize(
    state: &AppState,
    req: Request,
    access: Access,
    route: String,
    next: Next,
) -> std::result::Result<Response, Response> {
    let auth = &state.auth;
    let remote = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| forwarded::client_ip(c.0.ip(), req.headers(), &auth.settings.trusted_proxies).to_string());
    let principal = if auth.settings.enabled {
        let presented = presented_token(req.headers(), req.uri().query(), access == Access::Telemetry);
        let Some(token) = presented else {
            return Err(Error::Unauthenticated(format!(
                "{} {} needs an API token with the {} scope: send it as 'Authorization: Bearer <token>' \
                 (MLFLOW_TRACKING_TOKEN for the MLflow client); an admin creates one with \
                 'ragasense token create --name NAME --scope {}'",
                req.method(),
                req.uri().path(),
                access.scope(),
                access.scope()
            ))
            .into_response());
        };
        let info = tokens::lookup(&state.db, &token).await.map_err(IntoResponse::into_response)?;
        let Some(info) = info else {
            tracing::info!(route = %route, "request with an unknown, revoked or expired token");
            return Err(Error::Unauthenticated(
                "the API token is not valid: it is unknown, revoked or expired; ask an admin for a new one"
                    .into(),
            )
            .into_response());
        };
        if auth.last_used_due(&info.id) {
            let db = state.db.clone();
            let id = info.id.clone();
            tokio::spawn(async move {
                if let Err(err) = tokens::touch(&db, &id).await {
                    tracing::warn!(%err, "could not record when a token was last used");
                }
            });
        }
        Principal::from_token(&info)
    } else {
        Principal::anonymous()
    };
    let audited = matches!(access, Access::Write | Access::Admin);
    let (parts, body) = req.into_parts();
    let mut entry = AuditEntry {
        time_ms: crate::db::now_ms(),
        actor: principal.name.clone(),
        token_id: principal.token_id.clone(),
        method: parts.method.to_string(),
        route: route.clone(),
        path: parts.uri.path().chars().take(1000).collect(),
        status: 0,
        details: None,
        remote,
    };
    if !principal.allows(access) {
        let message = if principal.scopes == [Scope::Telemetry] {
            format!(
                "token '{}' is a telemetry key: it can only post telemetry and feedback, not {} {}",
                principal.name,
                parts.method,
                parts.uri.path()
            )
        } else {
            format!(
                "token '{}' lacks the {} scope that {} {} needs (it has: {}); ask an admin for a token with it",
                principal.name,
                access.scope(),
                parts.method,
                parts.uri.path(),
                principal.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )
        };
        let response = Error::PermissionDenied(message).into_response();
        if audited {
            entry.status = response.status().as_u16();
            auth.audit.record_logged(entry).await;
        }
        return Err(response);
    }
    if access == Access::Telemetry {
        let key = principal.token_id.clone().or_else(|| entry.remote.clone()).unwrap_or_default();
        if let Err(retry_after_s) = auth.limiter.take(&key) {
            return Err(Error::TooManyRequests {
                message: format!(
                    "too many telemetry requests for this key: at most {} per second; batch events and retry after {retry_after_s} s",
                    auth.settings.telemetry_rate_per_s
                ),
                retry_after_s,
            }
            .into_response());
        }
    }
    let mut req = Request::from_parts(parts, body);
    if audited {
        let (details, rebuilt) = request_details(req, state.settings.max_json_bytes).await;
        req = rebuilt;
        entry.details = details;
    }
    // Who acts, for the registry's stage and alias history: the token's name, not a header
    // the caller chose.
    if principal.token_id.is_some() {
        let headers = req.headers_mut();
        headers.remove("x-mlflow-user");
        if let Ok(name) = HeaderValue::from_str(&principal.name) {
            headers.insert("x-ragasense-user", name);
        }
    }
    req.extensions_mut().insert(principal);
    let response = next.run(req).await;
    if audited {
        entry.status = response.status().as_u16();
        auth.audit.record_logged(entry).await;
    }
    Ok(response)
}

/// Request fields worth keeping in the audit log.
const DETAIL_FIELDS: &[&str] = &[
    "name",
    "new_name",
    "version",
    "stage",
    "alias",
    "run_id",
    "experiment_id",
    "model_id",
    "key",
    "archive_existing_versions",
    "run_name",
    "scopes",
    "models",
];
/// JSON bodies at most this long are read for the audit details (larger ones, e.g. big
/// metric batches, are logged by route and path only).
const MAX_DETAIL_BODY: u64 = 64 * 1024;

/// The identifying fields of a write (query string and small JSON body), and the request
/// rebuilt with its body.
async fn request_details(req: Request, max_json: usize) -> (Option<Value>, Request) {
    let mut details = Map::new();
    if let Some(query) = req.uri().query() {
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if DETAIL_FIELDS.contains(&k.as_ref()) {
                details.insert(k.into_owned(), Value::String(v.chars().take(200).collect()));
            }
        }
    }
    let small_json = req.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.to_str().is_ok_and(|s| s.starts_with("application/json") || s.starts_with("text/plain"))
    }) && !req.headers().contains_key(header::CONTENT_ENCODING)
        && {
            use axum::body::HttpBody as _;
            let declared =
                req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            declared
                .or_else(|| req.body().size_hint().exact())
                .is_some_and(|n| n <= MAX_DETAIL_BODY.min(max_json as u64))
        };
    let req = if small_json {
        let (parts, body) = req.into_parts();
        match axum::body::to_bytes(body, MAX_DETAIL_BODY as usize).await {
            Ok(bytes) => {
                if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&bytes) {
                    for (k, v) in object {
                        match v {
                            Value::Array(items) if matches!(k.as_str(), "metrics" | "params" | "tags") => {
                                details.insert(k, Value::from(items.len()));
                            }
                            v if DETAIL_FIELDS.contains(&k.as_str()) => {
                                details.insert(k, short(v));
                            }
                            _ => {}
                        }
                    }
                }
                Request::from_parts(parts, Body::from(bytes))
            }
            // The body could not be read (a client gone): the handler sees an empty body and
            // answers as it would to one.
            Err(_) => Request::from_parts(parts, Body::empty()),
        }
    } else {
        req
    };
    ((!details.is_empty()).then_some(Value::Object(details)), req)
}

/// A value cut to a size fit for the audit log.
fn short(v: Value) -> Value {
    match v {
        Value::String(s) if s.len() > 200 => Value::String(s.chars().take(200).collect()),
        Value::Array(items) => Value::Array(items.into_iter().take(20).map(short).collect()),
        Value::Object(_) => Value::String("{…}".into()),
        other => other,
    }
}

/// Token buckets per key: `rate` requests per second, bursts of `burst`.
#[derive(Debug)]
struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets idle this long are dropped when the map grows large.
const IDLE_BUCKET: Duration = Duration::from_secs(120);

impl RateLimiter {
    fn new(rate: f64, burst: f64) -> Self {
        Self { rate, burst: burst.max(1.0), buckets: Mutex::default() }
    }

    /// Takes one request from `key`'s bucket; `Err(seconds)` to wait when it is empty.
    fn take(&self, key: &str) -> std::result::Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let now = Instant::now();
        if buckets.len() > 10_000 {
            buckets.retain(|_, (_, t)| now.duration_since(*t) < IDLE_BUCKET);
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_classified() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(classify(&get, "/health"), Access::Public);
        assert_eq!(classify(&get, "/v1/models/{name}/{selector}/manifest.json"), Access::Public);
        assert_eq!(classify(&get, "/"), Access::Public);
        assert_eq!(classify(&get, "/ui/index.html"), Access::Public);
        assert_eq!(classify(&Method::OPTIONS, "/v1/telemetry"), Access::Public);
        assert_eq!(classify(&get, "/api/2.0/mlflow/runs/get"), Access::Read);
        assert_eq!(classify(&post, "/api/2.0/mlflow/runs/search"), Access::Read);
        assert_eq!(classify(&post, "/ajax-api/2.0/mlflow/runs/search"), Access::Read);
        assert_eq!(classify(&post, "/api/2.0/mlflow/registered-models/get-latest-versions"), Access::Read);
        assert_eq!(classify(&post, "/invocations"), Access::Read);
        assert_eq!(classify(&get, "/metrics"), Access::Read);
        assert_eq!(classify(&post, "/api/2.0/mlflow/runs/log-batch"), Access::Write);
        assert_eq!(classify(&post, "/api/2.0/mlflow/model-versions/transition-stage"), Access::Write);
        assert_eq!(classify(&Method::DELETE, "/api/2.0/mlflow/registered-models/alias"), Access::Write);
        assert_eq!(classify(&Method::PUT, "/api/2.0/mlflow-artifacts/artifacts/{*path}"), Access::Write);
        assert_eq!(classify(&post, "/api/2.0/mlflow/runs/delete"), Access::Admin);
        assert_eq!(classify(&Method::DELETE, "/api/2.0/mlflow/registered-models/delete"), Access::Admin);
        assert_eq!(classify(&Method::DELETE, "/api/2.0/mlflow-artifacts/artifacts/{*path}"), Access::Admin);
        assert_eq!(classify(&get, "/v1/tokens"), Access::Admin);
        assert_eq!(classify(&get, "/v1/audit"), Access::Admin);
        assert_eq!(classify(&post, "/v1/telemetry"), Access::Telemetry);
        assert_eq!(classify(&post, "/v1/feedback"), Access::Telemetry);
        assert_eq!(classify(&get, "/v1/telemetry"), Access::Read);
        assert_eq!(classify(&get, "/v1/monitoring/summary"), Access::Read);
    }

    #[test]
    fn scopes_nest() {
        let p = |scopes: Vec<Scope>| Principal {
            token_id: Some("x".into()),
            name: "t".into(),
            scopes,
            models: None,
        };
        let read = p(vec![Scope::Read]);
        assert!(read.allows(Access::Read) && !read.allows(Access::Write) && !read.allows(Access::Telemetry));
        let write = p(vec![Scope::Write]);
        assert!(write.allows(Access::Read) && write.allows(Access::Write) && write.allows(Access::Telemetry));
        assert!(!write.allows(Access::Admin));
        assert!(p(vec![Scope::Admin]).allows(Access::Admin));
        let key = p(vec![Scope::Telemetry]);
        assert!(key.allows(Access::Telemetry) && !key.allows(Access::Read));
    }

    #[test]
    fn telemetry_keys_are_limited_to_their_models() {
        let key = Principal {
            token_id: Some("k".into()),
            name: "site".into(),
            scopes: vec![Scope::Telemetry],
            models: Some(vec!["raga".into()]),
        };
        assert!(key.check_model("raga").is_ok());
        assert!(matches!(key.check_model("other"), Err(Error::PermissionDenied(_))));
        assert!(Principal::anonymous().check_model("other").is_ok());
    }

    #[test]
    fn tokens_are_read_from_headers_and_the_query() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_token(&h, Some("key=abc"), true).as_deref(), Some("abc"));
        assert_eq!(presented_token(&h, Some("key=abc"), false), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer rsk_1_x"));
        assert_eq!(presented_token(&h, None, false).as_deref(), Some("rsk_1_x"));
        // "user:rsk_2" and ":rsk_3" → the password, "rsk_4:" → the user.
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpyc2tfMg=="));
        assert_eq!(presented_token(&h, None, false).as_deref(), Some("rsk_2"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic cnNrXzQ6"));
        assert_eq!(presented_token(&h, None, false).as_deref(), Some("rsk_4"));
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && is_loopback("::1"));
        assert!(!is_loopback("0.0.0.0") && !is_loopback("10.1.2.3") && !is_loopback("example.org"));
        assert!(!AuthMode::Auto.enabled_for("127.0.0.1") && AuthMode::Auto.enabled_for("0.0.0.0"));
        assert!(AuthMode::On.enabled_for("127.0.0.1") && !AuthMode::Off.enabled_for("0.0.0.0"));
    }

    #[test]
    fn rate_limit_refills() {
        let limiter = RateLimiter::new(10.0, 2.0);
        assert!(limiter.take("k").is_ok() && limiter.take("k").is_ok());
        assert_eq!(limiter.take("k"), Err(1));
        assert!(limiter.take("other").is_ok());
        std::thread::sleep(Duration::from_millis(120));
        assert!(limiter.take("k").is_ok());
        assert!(RateLimiter::new(0.0, 1.0).take("k").is_ok());
    }
}
