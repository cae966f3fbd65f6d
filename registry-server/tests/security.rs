//! Security: with auth on, every route of the OpenAPI document refuses a missing, invalid,
//! revoked or too weak token (and a telemetry key anywhere but telemetry); telemetry keys are
//! held to their models and rate-limited; the audit log records writes and refusals; path
//! traversal and oversized uploads are refused; and no error body ever shows SQL, a file
//! path or a stack trace.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use registry_server::auth::{self, Access, NewToken, Scope, tokens};
use registry_server::{AppState, Settings, app, openapi};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Secured {
    router: Router,
    dir: tempfile::TempDir,
    admin: String,
    write: String,
    read: String,
    key: String,
    revoked: String,
    expired: String,
}

async fn token(state: &AppState, name: &str, scopes: &[Scope], models: Option<&[&str]>) -> String {
    let new = NewToken {
        name: name.into(),
        scopes: scopes.to_vec(),
        models: models.map(|m| m.iter().map(|s| s.to_string()).collect()),
        expires_in_days: None,
    };
    tokens::create(&state.db, &new, "test").await.expect("create token").token
}

async fn secured(tune: impl FnOnce(&mut Settings)) -> Secured {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::default();
    settings.auth.enabled = true;
    tune(&mut settings);
    let state = common::open(dir.path(), settings).await;
    let revoked = tokens::create(
        &state.db,
        &NewToken { name: "gone".into(), scopes: vec![Scope::Admin], models: None, expires_in_days: None },
        "test",
    )
    .await
    .expect("create");
    tokens::revoke(&state.db, &revoked.info.id).await.expect("revoke");
    let expired = tokens::create(
        &state.db,
        &NewToken { name: "old".into(), scopes: vec![Scope::Admin], models: None, expires_in_days: Some(1) },
        "test",
    )
    .await
    .expect("create");
    sqlx::query("UPDATE api_tokens SET expires_ms = 1 WHERE id = $1")
        .bind(&expired.info.id)
        .execute(&state.db.write)
        .await
        .expect("expire");
    Secured {
        router: app(state.clone()),
        admin: token(&state, "root", &[Scope::Admin], None).await,
        write: token(&state, "trainer", &[Scope::Write], None).await,
        read: token(&state, "viewer", &[Scope::Read], None).await,
        key: token(&state, "site", &[Scope::Telemetry], Some(&["raga-a"])).await,
        revoked: revoked.token,
        expired: expired.token,
        dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Secured {
    async fn send(&self, method: &Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut req = Request::builder().method(method.clone()).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let sent = format!("{uri} {}", body.as_ref().map(Value::to_string).unwrap_or_default());
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let resp = self.router.clone().oneshot(req.body(body).expect("request")).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.expect("body").to_bytes().to_vec();
        let answer = Answer { status, headers, body };
        if !status.is_success() {
            self.assert_no_leak(uri, &sent, &answer);
        }
        answer
    }

    /// An error body is MLflow-shaped JSON and names no SQL, file path or code location (that
    /// the request itself did not contain: messages may quote the bad input).
    fn assert_no_leak(&self, uri: &str, sent: &str, answer: &Answer) {
        let text = String::from_utf8_lossy(&answer.body).to_string();
        let store = self.dir.path().to_string_lossy().to_string();
        let needles = [
            "SELECT",
            "INSERT",
            "FROM",
            "sqlite",
            "SQLITE",
            "sqlx",
            "panicked",
            ".rs:",
            "/tmp/",
            "stack backtrace",
        ];
        for needle in needles.into_iter().filter(|n| !sent.contains(n)) {
            assert!(!text.contains(needle), "{uri}: error body shows '{needle}': {text}");
        }
        assert!(!text.contains(&store), "{uri}: error body shows the store path: {text}");
        if answer.status != StatusCode::NOT_FOUND || uri.starts_with("/api") {
            let v = answer.json();
            assert!(
                v["error_code"].is_string() && v["message"].is_string(),
                "{uri}: not an MLflow error: {text}"
            );
        }
    }
}

/// A concrete path for an OpenAPI template (`{name}` → `x`).
fn concrete(template: &str) -> String {
    template.split('/').map(|seg| if seg.starts_with('{') { "x" } else { seg }).collect::<Vec<_>>().join("/")
}

#[tokio::test]
async fn every_route_checks_its_scope() {
    let s = secured(|_| {}).await;
    let mut checked = 0;
    for (method, path, _, _) in openapi::ROUTES {
        let method: Method = method.to_ascii_uppercase().parse().expect("method");
        let access = auth::classify(&method, path);
        let uri = concrete(path);
        let body = (method != Method::GET).then(|| json!({}));
        if access == Access::Public {
            let a = s.send(&method, &uri, None, body).await;
            assert!(
                a.status != StatusCode::UNAUTHORIZED && a.status != StatusCode::FORBIDDEN,
                "{method} {path} is public but answered {}",
                a.status
            );
            continue;
        }
        checked += 1;
        for (what, token) in [
            ("no", None),
            ("a forged", Some("rsk_0123456789ab_forged")),
            ("a revoked", Some(s.revoked.as_str())),
            ("an expired", Some(s.expired.as_str())),
        ] {
            let a = s.send(&method, &uri, token, body.clone()).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{method} {path} with {what} token");
            assert_eq!(a.json()["error_code"], "UNAUTHENTICATED", "{method} {path}");
            assert!(a.headers.contains_key(header::WWW_AUTHENTICATE), "{method} {path}");
        }
        // Each token: refused exactly when its scope is too weak.
        let weak: &[(&str, &str)] = match access {
            Access::Read => &[("key", &s.key)],
            Access::Write => &[("read", &s.read), ("key", &s.key)],
            Access::Admin => &[("read", &s.read), ("write", &s.write), ("key", &s.key)],
            Access::Telemetry => &[("read", &s.read)],
            Access::Public => &[],
        };
        for (name, t) in weak {
            let a = s.send(&method, &uri, Some(t), body.clone()).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{method} {path} with the {name} token");
            let message = a.json()["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains(access.scope()) || message.contains("telemetry key"), "{message}");
        }
        let a = s.send(&method, &uri, Some(&s.admin), body.clone()).await;
        assert!(
            a.status != StatusCode::UNAUTHORIZED && a.status != StatusCode::FORBIDDEN,
            "{method} {path}: the admin token was refused ({})",
            a.status
        );
    }
    assert!(checked > 60, "only {checked} protected routes in the OpenAPI document");
    // Tokens also come as HTTP Basic (the password), the MLflow client's other way.
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("user:{}", s.read));
    let req = Request::get("/api/2.0/mlflow/experiments/search?max_results=1")
        .header(header::AUTHORIZATION, format!("Basic {basic}"))
        .body(Body::empty())
        .expect("request");
    assert_eq!(s.router.clone().oneshot(req).await.expect("infallible").status(), StatusCode::OK);
}

#[tokio::test]
async fn telemetry_keys_post_only_for_their_models_and_are_rate_limited() {
    let s = secured(|settings| {
        settings.auth.telemetry_rate_per_s = 1.0;
        settings.auth.telemetry_burst = 3.0;
    })
    .await;
    let event = |model: &str| {
        json!({"events": [{"event_id": format!("e-{model}"), "model": model, "version": 1, "backend": "cpu", "client_time_ms": 1_700_000_000_000i64,
            "timings_ms": {"features": 1.0, "inference": 1.0, "total": 2.0}, "top_label": "yaman", "confidence": 0.9}]})
    };
    // The key's own model passes the auth check (the version does not exist: 404).
    let own = s.send(&Method::POST, "/v1/telemetry", Some(&s.key), Some(event("raga-a"))).await;
    assert_eq!(own.status, StatusCode::NOT_FOUND, "{}", String::from_utf8_lossy(&own.body));
    let other = s.send(&Method::POST, "/v1/telemetry", Some(&s.key), Some(event("raga-b"))).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert!(other.json()["message"].as_str().unwrap_or_default().contains("raga-a"));
    // `?key=` for navigator.sendBeacon, which cannot set headers.
    let beacon =
        s.send(&Method::POST, &format!("/v1/telemetry?key={}", s.key), None, Some(event("raga-a"))).await;
    assert_eq!(beacon.status, StatusCode::NOT_FOUND);
    // The key cannot read anything, not even through the query.
    let read = s.send(&Method::GET, &format!("/v1/monitoring/summary?key={}", s.key), None, None).await;
    assert_eq!(read.status, StatusCode::UNAUTHORIZED);
    // Three requests were the burst: the fourth waits.
    let limited = s.send(&Method::POST, "/v1/telemetry", Some(&s.key), Some(event("raga-a"))).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.json()["error_code"], "REQUEST_LIMIT_EXCEEDED");
    assert_eq!(limited.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("1"));
    // Another key has its own bucket.
    let write = s.send(&Method::POST, "/v1/telemetry", Some(&s.write), Some(event("raga-b"))).await;
    assert_eq!(write.status, StatusCode::NOT_FOUND);
}

/// Anonymous telemetry is limited per client address; behind a trusted balancer that address
/// comes from `X-Forwarded-For`, from anyone else the header changes nothing.
#[tokio::test]
async fn rate_limits_follow_forwarded_clients_only_behind_trusted_proxies() {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let post = |router: Router, peer: &str, forwarded: &str| {
        let peer: SocketAddr = peer.parse().expect("peer");
        let event = json!({"events": [{"event_id": "e-1", "model": "raga-a", "version": 1, "backend": "cpu",
            "client_time_ms": 1_700_000_000_000i64, "timings_ms": {"features": 1.0, "inference": 1.0, "total": 2.0},
            "top_label": "yaman", "confidence": 0.9}]});
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/v1/telemetry")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-forwarded-for", forwarded)
            .body(Body::from(event.to_string()))
            .expect("request");
        req.extensions_mut().insert(ConnectInfo(peer));
        async move { router.oneshot(req).await.expect("infallible").status() }
    };
    for trusted in [true, false] {
        let s = secured(|settings| {
            settings.auth.enabled = false;
            settings.auth.telemetry_rate_per_s = 0.01;
            settings.auth.telemetry_burst = 1.0;
            if trusted {
                settings.auth.trusted_proxies = vec!["127.0.0.0/8".parse().expect("range")];
            }
        })
        .await;
        let lb = "127.0.0.1:40000";
        // First request of a client: through the limiter (then 404: no such model version).
        assert_eq!(post(s.router.clone(), lb, "203.0.113.1").await, StatusCode::NOT_FOUND);
        assert_eq!(post(s.router.clone(), lb, "203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);
        // Another client behind the same balancer: its own bucket only when the balancer is trusted.
        let other = post(s.router.clone(), lb, "203.0.113.2").await;
        let expected = if trusted { StatusCode::NOT_FOUND } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(other, expected, "trusted balancer: {trusted}");
        // A client talking to us directly cannot pick a bucket by writing the header itself.
        assert_eq!(post(s.router.clone(), "198.51.100.7:5555", "203.0.113.9").await, StatusCode::NOT_FOUND);
        assert_eq!(
            post(s.router.clone(), "198.51.100.7:5555", "203.0.113.10").await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}

#[tokio::test]
async fn the_audit_log_names_who_did_what() {
    let s = secured(|_| {}).await;
    let created = s
        .send(
            &Method::POST,
            "/api/2.0/mlflow/registered-models/create",
            Some(&s.write),
            Some(json!({"name": "raga-x"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let refused = s
        .send(
            &Method::POST,
            "/api/2.0/mlflow/registered-models/delete",
            Some(&s.write),
            Some(json!({"name": "raga-x"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Reads are not audited; a token created over HTTP is, without its secret.
    s.send(&Method::GET, "/api/2.0/mlflow/registered-models/get?name=raga-x", Some(&s.read), None).await;
    let made = s
        .send(&Method::POST, "/v1/tokens", Some(&s.admin), Some(json!({"name": "ci", "scopes": ["write"]})))
        .await;
    assert_eq!(made.status, StatusCode::OK);
    let secret = made.json()["token"].as_str().expect("token").to_string();
    assert!(secret.starts_with("rsk_"));
    let bad = s
        .send(
            &Method::POST,
            "/v1/tokens",
            Some(&s.admin),
            Some(json!({"name": "x", "scopes": ["telemetry", "read"]})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let audit = s.send(&Method::GET, "/v1/audit", Some(&s.admin), None).await;
    assert_eq!(audit.status, StatusCode::OK);
    let events = audit.json()["events"].as_array().cloned().expect("events");
    let text = Value::Array(events.clone()).to_string();
    assert!(!text.contains(&secret) && !text.contains(&s.write), "a token leaked into the audit log");
    let find = |route: &str, status: i64| {
        events.iter().find(|e| e["route"] == route && e["status"] == status).cloned().unwrap_or(Value::Null)
    };
    let create = find("/api/2.0/mlflow/registered-models/create", 200);
    assert_eq!(create["actor"], "trainer");
    assert_eq!(create["details"]["name"], "raga-x");
    assert!(create["time_ms"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(find("/api/2.0/mlflow/registered-models/delete", 403)["actor"], "trainer");
    assert_eq!(find("/v1/tokens", 200)["details"]["name"], "ci");
    assert_eq!(find("/v1/tokens", 200)["actor"], "root");
    assert!(
        events
            .iter()
            .all(|e| e["method"] != "GET" || e["route"] == "/v1/audit" || e["route"] == "/v1/tokens")
    );
    // Filters and paging.
    let mine =
        s.send(&Method::GET, "/v1/audit?actor=trainer&max_results=1", Some(&s.admin), None).await.json();
    assert_eq!(mine["events"].as_array().map(Vec::len), Some(1));
    let next = mine["next_page_token"].as_str().expect("a second page");
    let page2 = s
        .send(
            &Method::GET,
            &format!("/v1/audit?actor=trainer&max_results=1&page_token={next}"),
            Some(&s.admin),
            None,
        )
        .await
        .json();
    assert_eq!(page2["events"][0]["actor"], "trainer");
    assert_ne!(page2["events"][0]["id"], mine["events"][0]["id"]);
    // The audit log itself is for admins only.
    assert_eq!(s.send(&Method::GET, "/v1/audit", Some(&s.write), None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn traversal_and_oversized_uploads_are_refused() {
    let s = secured(|settings| {
        settings.max_artifact_bytes = 4096;
        settings.max_json_bytes = 8192;
    })
    .await;
    let put = |uri: String, bytes: Vec<u8>| {
        let req = Request::put(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", s.write))
            .body(Body::from(bytes));
        s.router.clone().oneshot(req.expect("request"))
    };
    for evil in
        ["../../etc/passwd", "a/../../escape.txt", "%2e%2e/%2e%2e/escape.txt", "a/..%2f..%2fescape.txt"]
    {
        let resp = put(format!("/api/2.0/mlflow-artifacts/artifacts/0/{evil}"), b"x".to_vec())
            .await
            .expect("infallible");
        assert!(resp.status().is_client_error(), "{evil}: {}", resp.status());
    }
    assert!(!s.dir.path().parent().expect("parent").join("escape.txt").exists());
    let big = put("/api/2.0/mlflow-artifacts/artifacts/0/big.bin".into(), vec![0u8; 8192])
        .await
        .expect("infallible");
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = big.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("json")["error_code"], "REQUEST_LIMIT_EXCEEDED");
    // Nothing half-written is visible.
    let listed =
        s.send(&Method::GET, "/api/2.0/mlflow-artifacts/artifacts?path=0", Some(&s.read), None).await.json();
    assert!(listed["files"].as_array().is_none_or(|f| f.is_empty()), "{listed}");
    let json = s
        .send(
            &Method::POST,
            "/api/2.0/mlflow/experiments/create",
            Some(&s.write),
            Some(json!({"name": "x".repeat(10_000)})),
        )
        .await;
    assert_eq!(json.status, StatusCode::PAYLOAD_TOO_LARGE);
    // The static sites do not serve files outside their folders.
    for evil in
        ["/../Cargo.toml", "/ui/../../Cargo.toml", "/%2e%2e/Cargo.toml", "/ui/%2e%2e/%2e%2e/Cargo.toml"]
    {
        let a = s.send(&Method::GET, evil, None, None).await;
        assert!(
            !String::from_utf8_lossy(&a.body).contains("[workspace]"),
            "{evil} served a file outside the site"
        );
    }
}

#[tokio::test]
async fn bad_input_never_shows_internals() {
    let s = secured(|_| {}).await;
    let cases: Vec<(Method, &str, Value)> = vec![
        (
            Method::POST,
            "/api/2.0/mlflow/runs/search",
            json!({"filter": "metrics.acc >>> 1 OR 1=1; DROP TABLE runs --"}),
        ),
        (Method::POST, "/api/2.0/mlflow/runs/search", json!({"filter": "params.x = 'unterminated"})),
        (Method::POST, "/api/2.0/mlflow/runs/search", json!({"order_by": ["metrics.`x` DESC; SELECT 1"]})),
        (Method::POST, "/api/2.0/mlflow/experiments/search", json!({"filter": "name LIKE '%' UNION SELECT"})),
        (
            Method::POST,
            "/api/2.0/mlflow/registered-models/create",
            json!({"name": "a'); DROP TABLE registered_models; --", "tags": "nope"}),
        ),
        (
            Method::POST,
            "/api/2.0/mlflow/runs/log-batch",
            json!({"run_id": "' OR '1'='1", "metrics": [{"key": "a", "value": "NaN?"}]}),
        ),
        (Method::GET, "/api/2.0/mlflow/runs/get?run_id=%27%20OR%201%3D1", Value::Null),
        (Method::GET, "/api/2.0/mlflow-artifacts/artifacts/0/missing/file.txt", Value::Null),
        (Method::POST, "/v1/telemetry", json!({"events": "not a list"})),
        (Method::GET, "/v1/monitoring/summary?model=x&from_ms=abc", Value::Null),
        (Method::GET, "/v1/audit?page_token=1;DROP", Value::Null),
    ];
    for (method, uri, body) in cases {
        let body = (!body.is_null()).then_some(body);
        let a = s.send(&method, uri, Some(&s.admin), body).await;
        assert!(
            a.status.is_client_error(),
            "{method} {uri}: {} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        );
    }
    // The tables are still there.
    let ok = s.send(&Method::GET, "/api/2.0/mlflow/registered-models/search", Some(&s.read), None).await;
    assert_eq!(ok.status, StatusCode::OK);
}
