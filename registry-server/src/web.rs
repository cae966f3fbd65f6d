//! The web app (`web/dist`, built by `scripts/build-web.sh`) served at `/`: plain static
//! files behind every API route, which keep priority. A missing build is a page at `/`
//! saying how to make one, never a failed start; other unknown paths keep the API's JSON 404.
//! The dashboard (`dashboard/dist`, built by `scripts/build-dashboard.sh`) is served the same
//! way at `/ui/`, with its index.html for any path below that is not a file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::Error;

/// The fallback of the whole app: a file of `dir` for GET/HEAD, else the API's 404.
pub fn router(dir: Option<PathBuf>) -> Router {
    Router::new().fallback(serve).layer(crate::compression()).with_state(Arc::new(dir))
}

/// Whether `dir` holds a built app.
pub fn is_built(dir: &Path) -> bool {
    dir.join("index.html").is_file()
}

async fn serve(State(dir): State<Arc<Option<PathBuf>>>, req: Request) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    if method != Method::GET && method != Method::HEAD {
        return not_found(&method, &path);
    }
    let Some(dir) = dir.as_ref().as_ref().filter(|d| is_built(d)) else {
        return if path == "/" || path == "/index.html" {
            (StatusCode::NOT_FOUND, Html(missing_page(dir.as_ref().as_deref()))).into_response()
        } else {
            not_found(&method, &path)
        };
    };
    // ServeDir refuses `..` and answers directories with their index.html.
    let Ok(mut resp) = ServeDir::new(dir).oneshot(req).await;
    if resp.status() == StatusCode::NOT_FOUND {
        return not_found(&method, &path);
    }
    // File names carry no content hash: browsers revalidate (a 304 is cheap); the app's
    // service worker keeps its own copy for offline use.
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp.map(Body::new)
}

/// The dashboard, nested at `/ui`: a file of `dir`, or its index.html for a path that names
/// no file (so deep links survive a reload); `/ui` itself redirects to `/ui/`.
pub fn ui_router(dir: Option<PathBuf>) -> Router {
    Router::new().fallback(serve_ui).layer(crate::compression()).with_state(Arc::new(dir))
}

async fn serve_ui(
    State(dir): State<Arc<Option<PathBuf>>>,
    OriginalUri(uri): OriginalUri,
    req: Request,
) -> Response {
    let method = req.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return not_found(&method, uri.path());
    }
    if uri.path() == "/ui" {
        return Redirect::permanent("/ui/").into_response();
    }
    let Some(dir) = dir.as_ref().as_ref().filter(|d| is_built(d)) else {
        return (StatusCode::NOT_FOUND, Html(missing_ui_page(dir.as_ref().as_deref()))).into_response();
    };
    let names_file = req.uri().path().rsplit('/').next().is_some_and(|last| last.contains('.'));
    let Ok(served) = ServeDir::new(dir).oneshot(req).await;
    let mut resp = if served.status() != StatusCode::NOT_FOUND {
        served.map(Body::new)
    } else if names_file {
        return not_found(&method, uri.path());
    } else {
        let index = axum::http::Request::builder().uri("/").body(Body::empty()).unwrap_or_default();
        let Ok(index) = ServeFile::new(dir.join("index.html")).oneshot(index).await;
        index.map(Body::new)
    };
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// What `/ui/` shows when there is no dashboard to serve.
fn missing_ui_page(dir: Option<&Path>) -> String {
    let why = match dir {
        Some(dir) => format!(
            "The dashboard is not built: there is no <code>index.html</code> in <code>{}</code>.",
            escape(&dir.display().to_string())
        ),
        None => "This server was started without a dashboard directory.".to_string(),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>RagaSense dashboard</title></head>\n\
         <body><h1>RagaSense dashboard</h1>\n<p>{why}</p>\n\
         <p>Build it with <code>scripts/build-dashboard.sh</code> (it writes <code>dashboard/dist</code>), then \
         start the server with <code>--ui-dir dashboard/dist</code> (or <code>RAGASENSE_UI_DIR</code>).</p></body></html>\n"
    )
}

fn not_found(method: &Method, path: &str) -> Response {
    Error::EndpointNotFound(format!(
        "no endpoint {method} {path}: see /openapi.json for the routes this server offers"
    ))
    .into_response()
}

/// What `/` shows when there is no app to serve.
fn missing_page(dir: Option<&Path>) -> String {
    let why = match dir {
        Some(dir) => {
            format!(
                "The web app is not built: there is no <code>index.html</code> in <code>{}</code>.",
                escape(&dir.display().to_string())
            )
        }
        None => "This server was started without a web app directory.".to_string(),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>RagaSense registry</title></head>\n\
         <body><h1>RagaSense registry</h1>\n<p>{why}</p>\n\
         <p>Build it with <code>scripts/build-web.sh</code> (it writes <code>web/dist</code>), then start the \
         server with <code>--web-dir web/dist</code> (or <code>RAGASENSE_WEB_DIR</code>).</p>\n\
         <p>The registry itself is running: the API is described at <a href=\"/openapi.json\">/openapi.json</a>, \
         published models are at <code>/v1/models/NAME/@ALIAS/manifest.json</code>.</p></body></html>\n"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
