//! The web app at `/`: its files behind the API routes, which keep priority; the API's JSON
//! 404 for anything else; a page saying how to build the app when there is none.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use registry_server::{Settings, app};
use serde_json::Value;
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    content_type: String,
    cache_control: String,
    location: String,
    body: String,
}

/// One request to an app serving `web_dir`.
async fn get(web_dir: Option<std::path::PathBuf>, method: &str, uri: &str) -> Reply {
    request(Settings { web_dir, ..Settings::default() }, method, uri).await
}

/// One request to an app with `settings`.
async fn request(settings: Settings, method: &str, uri: &str) -> Reply {
    let store = tempfile::tempdir().expect("tempdir");
    let state = common::open(store.path(), settings).await;
    let req = Request::builder().method(method).uri(uri).body(Body::empty()).expect("request");
    let resp = app(state).oneshot(req).await.expect("infallible");
    let header =
        |name| resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (status, content_type, cache_control, location) = (
        resp.status(),
        header(header::CONTENT_TYPE),
        header(header::CACHE_CONTROL),
        header(header::LOCATION),
    );
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        content_type,
        cache_control,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn built_app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.html"), "<!doctype html><title>RagaSense</title>").expect("write");
    std::fs::write(dir.path().join("app.js"), "console.log('app')").expect("write");
    // A file named like an API route must not shadow it.
    std::fs::write(dir.path().join("health"), "shadow").expect("write");
    dir
}

fn error_code(reply: &Reply) -> String {
    let v: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    v["error_code"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_app_is_served_at_the_root_behind_the_api() {
    let web = built_app();
    let dir = Some(web.path().to_path_buf());

    let index = get(dir.clone(), "GET", "/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.body.contains("<title>RagaSense</title>"), "{}", index.body);
    assert!(index.content_type.starts_with("text/html"), "{}", index.content_type);
    assert_eq!(index.cache_control, "no-cache", "browsers revalidate files without a content hash");

    let script = get(dir.clone(), "GET", "/app.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.content_type.contains("javascript"), "{}", script.content_type);
    assert_eq!(get(dir.clone(), "HEAD", "/app.js").await.status, StatusCode::OK);

    let health = get(dir.clone(), "GET", "/health").await;
    assert_eq!(health.body, "OK", "API routes keep priority over files");

    for (method, uri) in [("GET", "/missing.js"), ("POST", "/app.js"), ("GET", "/../../etc/passwd")] {
        let reply = get(dir.clone(), method, uri).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {uri}");
        assert_eq!(error_code(&reply), "ENDPOINT_NOT_FOUND", "{method} {uri}: {}", reply.body);
    }
}

#[tokio::test]
async fn without_a_built_app_the_root_says_how_to_build_one() {
    let empty = tempfile::tempdir().expect("tempdir");
    let missing = empty.path().join("dist");
    let root = get(Some(missing.clone()), "GET", "/").await;
    assert_eq!(root.status, StatusCode::NOT_FOUND);
    assert!(root.content_type.starts_with("text/html"), "{}", root.content_type);
    assert!(root.body.contains("scripts/build-web.sh"), "{}", root.body);
    assert!(root.body.contains(&missing.display().to_string()), "names the folder: {}", root.body);

    let none = get(None, "GET", "/").await;
    assert!(none.body.contains("started without a web app directory"), "{}", none.body);

    let other = get(Some(missing), "GET", "/app.js").await;
    assert_eq!(error_code(&other), "ENDPOINT_NOT_FOUND", "{}", other.body);
    assert_eq!(get(None, "GET", "/health").await.body, "OK");
}

/// One GET to an app serving the dashboard from `ui_dir`.
async fn get_ui(ui_dir: Option<std::path::PathBuf>, uri: &str) -> Reply {
    request(Settings { ui_dir, ..Settings::default() }, "GET", uri).await
}

#[tokio::test]
async fn the_dashboard_is_served_at_ui_with_its_index_for_deep_links() {
    let ui = built_app();
    let dir = Some(ui.path().to_path_buf());

    let index = get_ui(dir.clone(), "/ui/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.body.contains("<title>RagaSense</title>"), "{}", index.body);
    assert_eq!(index.cache_control, "no-cache");

    let script = get_ui(dir.clone(), "/ui/app.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.content_type.contains("javascript"), "{}", script.content_type);

    let deep = get_ui(dir.clone(), "/ui/runs/abc").await;
    assert_eq!(deep.status, StatusCode::OK);
    assert!(deep.body.contains("<title>RagaSense</title>"), "{}", deep.body);

    let missing = get_ui(dir.clone(), "/ui/missing.js").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&missing), "ENDPOINT_NOT_FOUND");

    let bare = get_ui(dir.clone(), "/ui").await;
    assert_eq!(bare.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(bare.location, "/ui/");

    // The API keeps its routes beside it.
    assert_eq!(get_ui(dir, "/health").await.body, "OK");
}

#[tokio::test]
async fn without_a_built_dashboard_ui_says_how_to_build_one() {
    let empty = tempfile::tempdir().expect("tempdir");
    let reply = get_ui(Some(empty.path().to_path_buf()), "/ui/").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.content_type.starts_with("text/html"), "{}", reply.content_type);
    assert!(reply.body.contains("scripts/build-dashboard.sh"), "{}", reply.body);
}
