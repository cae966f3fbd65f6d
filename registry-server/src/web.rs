//! The web app (`web/dist`, built by `scripts/build-web.sh`) served at `/`: plain static
//! files behind every API route, which keep priority. A missing build is a page at `/`
//! saying how to make one, never a failed start; other unknown paths keep the API's JSON 404.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeDir;

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
