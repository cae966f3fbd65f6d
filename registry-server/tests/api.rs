//! End-to-end tests of the HTTP API, in-process (`oneshot`) and over real TCP.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use registry_server::{Settings, app};
use serde_json::{Value, json};
use tower::ServiceExt;

struct TestApp {
    router: Router,
    db: registry_server::db::Db,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    bytes: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

async fn test_app_with(settings: Settings) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = common::open(dir.path(), settings).await;
    TestApp { db: state.db.clone(), router: app(state), _dir: dir }
}

async fn test_app() -> TestApp {
    test_app_with(Settings::default()).await
}

impl TestApp {
    async fn raw(&self, req: Request<Body>) -> Reply {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes().to_vec();
        Reply { status, headers, bytes }
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let reply = self.raw(req.body(body).expect("request")).await;
        (reply.status, reply.json())
    }

    async fn ok(&self, method: &str, uri: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, uri, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {uri}: {v}");
        v
    }

    async fn create_run(&self, exp: &str) -> String {
        let v = self
            .ok(
                "POST",
                "/api/2.0/mlflow/runs/create",
                Some(json!({"experiment_id": exp, "start_time": 1000, "user_id": "me"})),
            )
            .await;
        v["run"]["info"]["run_id"].as_str().expect("run id").to_string()
    }
}

/// Asserts an MLflow error: status, error_code, and a message fragment.
async fn check_error(
    app: &TestApp,
    method: &str,
    uri: &str,
    body: Option<&str>,
    status: u16,
    code: &str,
    fragment: &str,
) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let reply = app
        .raw(req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty)).expect("request"))
        .await;
    let v = reply.json();
    assert_eq!(reply.status.as_u16(), status, "{method} {uri} {body:?}: {v}");
    assert_eq!(v["error_code"], code, "{method} {uri} {body:?}: {v}");
    let message = v["message"].as_str().unwrap_or_default();
    assert!(message.contains(fragment), "{method} {uri}: message {message:?} lacks {fragment:?}");
    assert!(
        !message.to_lowercase().contains("sqlite") && !message.contains("SELECT"),
        "leaks SQL: {message}"
    );
}

#[tokio::test]
async fn fresh_store_has_default_experiment() {
    let app = test_app().await;
    let v = app.ok("GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", None).await;
    assert_eq!(v["experiment"]["name"], "Default");
    assert_eq!(v["experiment"]["artifact_location"], "mlflow-artifacts:/0");
    assert_eq!(v["experiment"]["lifecycle_stage"], "active");
    let v = app.ok("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default", None).await;
    assert_eq!(v["experiment"]["experiment_id"], "0");
}

#[tokio::test]
async fn experiment_lifecycle() {
    let app = test_app().await;
    let v = app
        .ok(
            "POST",
            "/api/2.0/mlflow/experiments/create",
            Some(json!({"name": "ragas", "tags": [{"key": "team", "value": "dsp"}]})),
        )
        .await;
    let id = v["experiment_id"].as_str().expect("id").to_string();
    assert_eq!(id, "1");
    check_error(
        &app,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        Some(r#"{"name":"ragas"}"#),
        400,
        "RESOURCE_ALREADY_EXISTS",
        "already exists",
    )
    .await;
    let v = app.ok("GET", &format!("/api/2.0/mlflow/experiments/get?experiment_id={id}"), None).await;
    assert_eq!(v["experiment"]["tags"], json!([{"key": "team", "value": "dsp"}]));
    assert_eq!(v["experiment"]["artifact_location"], "mlflow-artifacts:/1");

    app.ok(
        "POST",
        "/api/2.0/mlflow/experiments/update",
        Some(json!({"experiment_id": id, "new_name": "ragas2"})),
    )
    .await;
    let v = app
        .ok(
            "POST",
            "/api/2.0/mlflow/experiments/search",
            Some(json!({"filter": "name LIKE 'raga%'", "max_results": 10})),
        )
        .await;
    assert_eq!(v["experiments"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["experiments"][0]["name"], "ragas2");

    app.ok("POST", "/api/2.0/mlflow/experiments/delete", Some(json!({"experiment_id": id}))).await;
    let v = app.ok("GET", "/api/2.0/mlflow/experiments/search?view_type=ACTIVE_ONLY", None).await;
    assert_eq!(v["experiments"].as_array().map(Vec::len), Some(1));
    let v = app.ok("GET", "/api/2.0/mlflow/experiments/search?view_type=DELETED_ONLY", None).await;
    assert_eq!(v["experiments"][0]["lifecycle_stage"], "deleted");
    app.ok("POST", "/api/2.0/mlflow/experiments/restore", Some(json!({"experiment_id": id}))).await;

    // Paging: 3 experiments with max_results 2 → a token, then the rest.
    app.ok("POST", "/api/2.0/mlflow/experiments/create", Some(json!({"name": "third"}))).await;
    let v = app.ok("POST", "/api/2.0/mlflow/experiments/search", Some(json!({"max_results": 2}))).await;
    let token = v["next_page_token"].as_str().expect("token").to_string();
    assert_eq!(token, "eyJvZmZzZXQiOiAyfQ==");
    let v = app
        .ok(
            "POST",
            "/api/2.0/mlflow/experiments/search",
            Some(json!({"max_results": 2, "page_token": token})),
        )
        .await;
    assert_eq!(v["experiments"].as_array().map(Vec::len), Some(1));
    assert!(v.get("next_page_token").is_none());
}

#[tokio::test]
async fn run_logging_round_trip() {
    let app = test_app().await;
    let run = app.create_run("0").await;
    let base = "/api/2.0/mlflow/runs";
    app.ok(
        "POST",
        &format!("{base}/log-metric"),
        Some(json!({"run_id": run, "key": "loss", "value": 0.5, "timestamp": 10, "step": 1})),
    )
    .await;
    app.ok(
        "POST",
        &format!("{base}/log-metric"),
        Some(json!({"run_id": run, "key": "loss", "value": 0.25, "timestamp": 20, "step": 2})),
    )
    .await;
    app.ok(
        "POST",
        &format!("{base}/log-metric"),
        Some(json!({"run_id": run, "key": "nan", "value": "NaN", "timestamp": 20})),
    )
    .await;
    app.ok(
        "POST",
        &format!("{base}/log-metric"),
        Some(json!({"run_id": run, "key": "inf", "value": "Infinity", "timestamp": 20})),
    )
    .await;
    app.ok(
        "POST",
        &format!("{base}/log-parameter"),
        Some(json!({"run_id": run, "key": "lr", "value": "0.1"})),
    )
    .await;
    app.ok(
        "POST",
        &format!("{base}/log-parameter"),
        Some(json!({"run_id": run, "key": "lr", "value": "0.1"})),
    )
    .await;
    check_error(
        &app,
        "POST",
        &format!("{base}/log-parameter"),
        Some(&json!({"run_id": run, "key": "lr", "value": "0.2"}).to_string()),
        400,
        "INVALID_PARAMETER_VALUE",
        "Changing param values is not allowed",
    )
    .await;
    app.ok("POST", &format!("{base}/set-tag"), Some(json!({"run_id": run, "key": "raga", "value": "yaman"})))
        .await;
    app.ok(
        "POST",
        &format!("{base}/log-batch"),
        Some(json!({"run_id": run, "metrics": [{"key": "acc", "value": 0.9, "timestamp": 5, "step": 0}], "params": [{"key": "bs", "value": "4"}], "tags": [{"key": "t", "value": "v"}]})),
    )
    .await;

    let v = app.ok("GET", &format!("{base}/get?run_id={run}"), None).await;
    let info = &v["run"]["info"];
    assert_eq!(info["run_uuid"], info["run_id"]);
    assert_eq!(info["status"], "RUNNING");
    assert_eq!(info["artifact_uri"], format!("mlflow-artifacts:/0/{run}/artifacts"));
    let metrics = v["run"]["data"]["metrics"].as_array().expect("metrics").clone();
    let value_of = |k: &str| metrics.iter().find(|m| m["key"] == k).map(|m| m["value"].clone());
    assert_eq!(value_of("loss"), Some(json!(0.25)));
    assert_eq!(value_of("nan"), Some(json!("NaN")));
    assert_eq!(value_of("inf"), Some(json!(1.7976931348623157e308)));
    assert_eq!(value_of("acc"), Some(json!(0.9)));
    let tags = v["run"]["data"]["tags"].as_array().expect("tags");
    assert!(tags.iter().any(|t| t["key"] == "mlflow.runName"));

    let v = app
        .ok("GET", &format!("/api/2.0/mlflow/metrics/get-history?run_id={run}&metric_key=loss"), None)
        .await;
    let values: Vec<f64> =
        v["metrics"].as_array().expect("history").iter().filter_map(|m| m["value"].as_f64()).collect();
    assert_eq!(values, [0.5, 0.25]);

    let v = app
        .ok(
            "POST",
            &format!("{base}/update"),
            Some(json!({"run_id": run, "status": "FINISHED", "end_time": 99})),
        )
        .await;
    assert_eq!(v["run_info"]["status"], "FINISHED");
    assert_eq!(v["run_info"]["end_time"], 99);

    app.ok("POST", &format!("{base}/delete"), Some(json!({"run_id": run}))).await;
    check_error(
        &app,
        "POST",
        &format!("{base}/log-metric"),
        Some(&json!({"run_id": run, "key": "x", "value": 1, "timestamp": 1}).to_string()),
        400,
        "INVALID_PARAMETER_VALUE",
        "must be in the 'active' state",
    )
    .await;
    app.ok("POST", &format!("{base}/restore"), Some(json!({"run_id": run}))).await;
    app.ok("POST", &format!("{base}/delete-tag"), Some(json!({"run_id": run, "key": "raga"}))).await;
    check_error(
        &app,
        "POST",
        &format!("{base}/delete-tag"),
        Some(&json!({"run_id": run, "key": "raga"}).to_string()),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "No tag",
    )
    .await;
}

#[tokio::test]
async fn run_search_filters_order_and_pages() {
    let app = test_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let run = app.create_run("0").await;
        app.ok(
            "POST",
            "/api/2.0/mlflow/runs/log-metric",
            Some(json!({"run_id": run, "key": "acc", "value": i as f64 / 10.0, "timestamp": 1})),
        )
        .await;
        app.ok(
            "POST",
            "/api/2.0/mlflow/runs/log-parameter",
            Some(json!({"run_id": run, "key": "fold", "value": format!("f{}", i % 2)})),
        )
        .await;
        ids.push(run);
    }
    let search = |filter: &str, order: Value, max: i64, token: Option<String>| {
        let mut body =
            json!({"experiment_ids": ["0"], "filter": filter, "order_by": order, "max_results": max});
        if let Some(t) = token {
            body["page_token"] = json!(t);
        }
        body
    };
    let accs = |v: &Value| -> Vec<f64> {
        v["runs"]
            .as_array()
            .map(|runs| runs.iter().filter_map(|r| r["data"]["metrics"][0]["value"].as_f64()).collect())
            .unwrap_or_default()
    };
    let v = app
        .ok(
            "POST",
            "/api/2.0/mlflow/runs/search",
            Some(search("metrics.acc >= 0.2 AND params.fold = 'f0'", json!(["metrics.acc DESC"]), 10, None)),
        )
        .await;
    assert_eq!(accs(&v), [0.4, 0.2]);
    let v = app
        .ok("POST", "/api/2.0/mlflow/runs/search", Some(search("", json!(["metrics.acc ASC"]), 2, None)))
        .await;
    assert_eq!(accs(&v), [0.0, 0.1]);
    let token = v["next_page_token"].as_str().map(str::to_string);
    let v = app
        .ok("POST", "/api/2.0/mlflow/runs/search", Some(search("", json!(["metrics.acc ASC"]), 2, token)))
        .await;
    assert_eq!(accs(&v), [0.2, 0.3]);
    let filter = format!("attributes.run_id IN ('{}', '{}')", ids[0], ids[1]);
    let v = app.ok("POST", "/api/2.0/mlflow/runs/search", Some(search(&filter, json!([]), 10, None))).await;
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(2));
    let v = app
        .ok(
            "POST",
            "/api/2.0/mlflow/runs/search",
            Some(search("tags.`mlflow.runName` LIKE '%-%'", json!([]), 10, None)),
        )
        .await;
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(5));
    check_error(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/search",
        Some(r#"{"experiment_ids":["0"],"filter":"metrics.acc > 1 OR metrics.acc < 0"}"#),
        400,
        "INVALID_PARAMETER_VALUE",
        "OR",
    )
    .await;
    check_error(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/search",
        Some(r#"{"experiment_ids":["0"],"page_token":"garbage!"}"#),
        400,
        "INVALID_PARAMETER_VALUE",
        "page token",
    )
    .await;
}

/// Rows in the search cache (`run_json_cache`), read straight from the store.
async fn cached_runs(db: &registry_server::db::Db) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM run_json_cache").fetch_one(&db.read).await.expect("count")
}

/// A search's answer is cached per run; after every kind of write, each run it returns must
/// still be exactly what `runs/get` says — no stale data from the cache.
#[tokio::test]
async fn search_stays_current_after_every_kind_of_write() {
    let app = test_app().await;
    let base = "/api/2.0/mlflow/runs";
    let runs = [app.create_run("0").await, app.create_run("0").await];
    let (a, b) = (&runs[0], &runs[1]);
    app.ok(
        "POST",
        &format!("{base}/log-metric"),
        Some(json!({"run_id": a, "key": "acc", "value": 0.5, "timestamp": 1})),
    )
    .await;
    let writes: Vec<(&str, Value)> = vec![
        ("log-metric", json!({"run_id": a, "key": "acc", "value": 0.75, "timestamp": 2, "step": 1})),
        ("log-metric", json!({"run_id": a, "key": "acc", "value": 0.1, "timestamp": 1, "step": 0})), // older: no change
        ("log-parameter", json!({"run_id": a, "key": "lr", "value": "0.1"})),
        ("set-tag", json!({"run_id": b, "key": "raga", "value": "yaman"})),
        ("set-tag", json!({"run_id": b, "key": "raga", "value": "bhairav"})),
        ("delete-tag", json!({"run_id": b, "key": "raga"})),
        ("update", json!({"run_id": a, "status": "FINISHED", "end_time": 5000, "run_name": "renamed"})),
        (
            "log-batch",
            json!({"run_id": b, "metrics": [{"key": "loss", "value": 1.5, "timestamp": 3}],
            "params": [{"key": "epochs", "value": "50"}], "tags": [{"key": "fold", "value": "2"}]}),
        ),
        (
            "log-inputs",
            json!({"run_id": b, "datasets": [{"dataset": {"name": "corpus", "digest": "abc",
            "source_type": "local", "source": "/data"}, "tags": [{"key": "mlflow.data.context", "value": "train"}]}]}),
        ),
        ("delete", json!({"run_id": b})),
        ("restore", json!({"run_id": b})),
    ];
    let mut used_cache = false;
    for (route, body) in writes {
        // Search until the background fill has cached both runs, so the write below must
        // invalidate a cached row to stay correct.
        for _ in 0..200 {
            app.ok("POST", &format!("{base}/search"), Some(json!({"experiment_ids": ["0"]}))).await;
            if cached_runs(&app.db).await == 2 {
                used_cache = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        app.ok("POST", &format!("{base}/{route}"), Some(body.clone())).await;
        let found = app.ok("POST", &format!("{base}/search"), Some(json!({"experiment_ids": ["0"]}))).await;
        let found = found["runs"].as_array().cloned().unwrap_or_default();
        let active: Vec<&String> = if route == "delete" { vec![a] } else { runs.iter().collect() };
        assert_eq!(found.len(), active.len(), "after {route} {body}: {found:?}");
        for run in found {
            let id = run["info"]["run_id"].as_str().expect("run id");
            let got = app.ok("GET", &format!("{base}/get?run_id={id}"), None).await;
            assert_eq!(run, got["run"], "after {route} {body}: search and runs/get differ");
        }
    }
    assert!(used_cache, "the search cache was never filled");
}

#[tokio::test]
async fn bad_input_is_a_json_error_never_a_500() {
    let app = test_app().await;
    let run = app.create_run("0").await;
    // (method, uri, body, status, error_code, message fragment)
    type Case = (&'static str, String, Option<String>, u16, &'static str, &'static str);
    let cases: Vec<Case> = vec![
        ("POST", "/api/2.0/mlflow/experiments/create".into(), Some("{not json".into()), 400, "INVALID_PARAMETER_VALUE", "Malformed JSON"),
        ("POST", "/api/2.0/mlflow/experiments/create".into(), Some("[1,2]".into()), 400, "INVALID_PARAMETER_VALUE", "JSON object"),
        ("POST", "/api/2.0/mlflow/experiments/create".into(), Some(r#"{"name": 5}"#.into()), 400, "INVALID_PARAMETER_VALUE", "'name'"),
        ("POST", "/api/2.0/mlflow/experiments/create".into(), Some("{}".into()), 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'"),
        ("GET", "/api/2.0/mlflow/experiments/get?experiment_id=42".into(), None, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=42"),
        ("GET", "/api/2.0/mlflow/experiments/get?experiment_id=abc".into(), None, 400, "INVALID_PARAMETER_VALUE", "must be a valid integer"),
        ("GET", "/api/2.0/mlflow/runs/get?run_id=nope".into(), None, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found"),
        ("POST", "/api/2.0/mlflow/runs/log-metric".into(), Some(json!({"run_id": run, "key": "x", "value": "abc", "timestamp": 1}).to_string()), 400, "INVALID_PARAMETER_VALUE", "'value'"),
        ("POST", "/api/2.0/mlflow/runs/log-metric".into(), Some(json!({"run_id": run, "key": "x", "value": 1}).to_string()), 400, "INVALID_PARAMETER_VALUE", "'timestamp'"),
        ("POST", "/api/2.0/mlflow/runs/log-metric".into(), Some(json!({"run_id": run, "key": "../x", "value": 1, "timestamp": 1}).to_string()), 400, "INVALID_PARAMETER_VALUE", "resolve"),
        ("POST", "/api/2.0/mlflow/runs/log-batch".into(), Some(json!({"run_id": run, "params": (0..101).map(|i| json!({"key": format!("p{i}"), "value": "v"})).collect::<Vec<_>>()}).to_string()), 400, "INVALID_PARAMETER_VALUE", "at most 100 params"),
        ("POST", "/api/2.0/mlflow/runs/log-batch".into(), Some(json!({"run_id": run, "params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}).to_string()), 400, "INVALID_PARAMETER_VALUE", "Duplicate parameter keys"),
        ("POST", "/api/2.0/mlflow/runs/update".into(), Some(json!({"run_id": run, "status": "DONE"}).to_string()), 400, "INVALID_PARAMETER_VALUE", "status"),
        ("GET", "/api/2.0/mlflow/no-such-endpoint".into(), None, 404, "ENDPOINT_NOT_FOUND", "no endpoint"),
        ("DELETE", "/api/2.0/mlflow/runs/create".into(), None, 405, "ENDPOINT_NOT_FOUND", "not allowed"),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/../../etc/passwd".into(), Some("x".into()), 400, "INVALID_PARAMETER_VALUE", "Invalid path"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts?path=../x".into(), None, 400, "INVALID_PARAMETER_VALUE", "Invalid path"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts/0/missing.txt".into(), None, 404, "RESOURCE_DOES_NOT_EXIST", "does not exist"),
        ("GET", "/api/2.0/mlflow/registered-models/get?name=ghost".into(), None, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=ghost not found"),
        ("GET", "/api/2.0/mlflow/model-versions/get?name=ghost&version=x".into(), None, 400, "INVALID_PARAMETER_VALUE", "must be an integer"),
        ("GET", "/v1/blobs/sha256/xyz".into(), None, 400, "INVALID_PARAMETER_VALUE", "sha256"),
    ];
    for (method, uri, body, status, code, fragment) in cases {
        check_error(&app, method, &uri, body.as_deref(), status, code, fragment).await;
    }
}

#[tokio::test]
async fn oversize_bodies_are_rejected() {
    let app =
        test_app_with(Settings { max_json_bytes: 1024, max_artifact_bytes: 2048, ..Settings::default() })
            .await;
    let big = json!({"name": "x".repeat(4000)}).to_string();
    check_error(
        &app,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        Some(&big),
        413,
        "REQUEST_LIMIT_EXCEEDED",
        "larger",
    )
    .await;
    let upload = "y".repeat(5000);
    check_error(
        &app,
        "PUT",
        "/api/2.0/mlflow-artifacts/artifacts/0/big.bin",
        Some(&upload),
        413,
        "REQUEST_LIMIT_EXCEEDED",
        "larger",
    )
    .await;
    // Nothing partial is left behind.
    let (status, v) = app.call("GET", "/api/2.0/mlflow-artifacts/artifacts?path=0", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(v.get("files").is_none(), "{v}");
}

#[tokio::test]
async fn artifacts_upload_list_download_range() {
    let app = test_app().await;
    let run = app.create_run("0").await;
    let root = format!("/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts");
    let put = |path: String, data: &'static str| {
        Request::builder().method("PUT").uri(path).body(Body::from(data)).expect("req")
    };
    assert_eq!(app.raw(put(format!("{root}/model/weights.bin"), "0123456789")).await.status, StatusCode::OK);
    assert_eq!(app.raw(put(format!("{root}/notes.txt"), "hello")).await.status, StatusCode::OK);
    let v = app.ok("GET", &format!("/api/2.0/mlflow-artifacts/artifacts?path=0/{run}/artifacts"), None).await;
    assert_eq!(
        v["files"],
        json!([{"path": "model", "is_dir": true}, {"path": "notes.txt", "is_dir": false, "file_size": 5}])
    );
    let v = app.ok("GET", &format!("/api/2.0/mlflow/artifacts/list?run_id={run}&path=model"), None).await;
    assert_eq!(v["files"], json!([{"path": "model/weights.bin", "is_dir": false, "file_size": 10}]));
    assert_eq!(v["root_uri"], format!("mlflow-artifacts:/0/{run}/artifacts"));
    let reply = app
        .raw(
            Request::get(format!("{root}/model/weights.bin"))
                .header("range", "bytes=2-4")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.bytes, b"234");
    assert_eq!(reply.headers[header::CONTENT_RANGE], "bytes 2-4/10");
    let reply = app
        .raw(
            Request::get(format!("/get-artifact?run_id={run}&path=notes.txt"))
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(reply.bytes, b"hello");
    // A file cannot become a folder, nor a folder a file.
    for (path, fragment) in
        [(format!("{root}/notes.txt/inner"), "is a file"), (format!("{root}/model"), "is a directory")]
    {
        check_error(&app, "PUT", &path, Some("z"), 400, "INVALID_PARAMETER_VALUE", fragment).await;
    }
    check_error(
        &app,
        "GET",
        &format!("{root}/notes.txt/inner"),
        None,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "does not exist",
    )
    .await;
    let v = app
        .ok("GET", &format!("/api/2.0/mlflow-artifacts/artifacts?path=0/{run}/artifacts/notes.txt/x"), None)
        .await;
    assert_eq!(v, json!({}));
}

/// Files below `dir` on disk, relative, sorted (temporary files included).
fn files_on_disk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_failed_upload_leaves_nothing_behind() {
    let app = test_app().await;
    let root = app._dir.path().join("artifacts");
    let uri = "/api/2.0/mlflow-artifacts/artifacts/0/abc/artifacts/deep/folder/model.bin";
    let ok = Request::put("/api/2.0/mlflow-artifacts/artifacts/0/abc/artifacts/kept.txt")
        .body(Body::from("kept"))
        .expect("req");
    assert_eq!(app.raw(ok).await.status, StatusCode::OK);
    // The client goes away after 3 MiB: the body fails mid-stream.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(vec![7u8; 1024 * 1024]),
        Ok(vec![8u8; 2 * 1024 * 1024]),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client gone")),
    ];
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    let reply = app.raw(Request::put(uri).body(body).expect("req")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&reply.bytes));
    // No partial file, no temporary file, no folder left by the failed upload.
    assert_eq!(files_on_disk(&root), ["0/abc/artifacts/kept.txt"]);
    assert!(!root.join("0/abc/artifacts/deep").exists());
    let v = app.ok("GET", "/api/2.0/mlflow-artifacts/artifacts?path=0/abc/artifacts", None).await;
    assert_eq!(v["files"], json!([{"path": "kept.txt", "is_dir": false, "file_size": 4}]));
    // A complete upload there works afterwards, and only the file itself is on disk.
    let reply = app.raw(Request::put(uri).body(Body::from(vec![1u8; 3 << 20])).expect("req")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(files_on_disk(&root), ["0/abc/artifacts/deep/folder/model.bin", "0/abc/artifacts/kept.txt"]);
    let reply = app.raw(Request::get(uri).body(Body::empty()).expect("req")).await;
    assert_eq!(reply.bytes.len(), 3 << 20);
}

async fn publish_package(app: &TestApp, run: &str) -> (String, String) {
    let weights = b"fake weights \x00\x01\x02 for a raga model".repeat(50);
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&weights))
    };
    let manifest = json!({
        "name": "raga-classifier",
        "labels": ["yaman", "bhairav"],
        "files": [{"path": "weights.bpk", "sha256": hash, "size": weights.len()}],
    });
    let root = format!("/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/package");
    for (name, body) in
        [("weights.bpk", weights.clone()), ("manifest.json", manifest.to_string().into_bytes())]
    {
        let reply =
            app.raw(Request::put(format!("{root}/{name}")).body(Body::from(body)).expect("req")).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    (hash, String::from_utf8_lossy(&weights).into_owned())
}

#[tokio::test]
async fn registry_stages_aliases_history_rollback() {
    let app = test_app().await;
    let run = app.create_run("0").await;
    let m = "/api/2.0/mlflow";
    app.ok(
        "POST",
        &format!("{m}/registered-models/create"),
        Some(json!({"name": "raga", "description": "d"})),
    )
    .await;
    check_error(
        &app,
        "POST",
        &format!("{m}/registered-models/create"),
        Some(r#"{"name":"raga"}"#),
        400,
        "RESOURCE_ALREADY_EXISTS",
        "already exists",
    )
    .await;
    for _ in 0..3 {
        let v = app
            .ok("POST", &format!("{m}/model-versions/create"), Some(json!({"name": "raga", "source": format!("mlflow-artifacts:/0/{run}/artifacts/package"), "run_id": run})))
            .await;
        assert_eq!(v["model_version"]["current_stage"], "None");
        assert_eq!(v["model_version"]["status"], "READY");
    }
    let promote = |v: &str, archive: bool| json!({"name": "raga", "version": v, "stage": "production", "archive_existing_versions": archive});
    app.ok("POST", &format!("{m}/model-versions/transition-stage"), Some(promote("1", false))).await;
    let v = app.ok("POST", &format!("{m}/model-versions/transition-stage"), Some(promote("2", true))).await;
    assert_eq!(v["model_version"]["current_stage"], "Production");
    let v = app.ok("GET", &format!("{m}/model-versions/get?name=raga&version=1"), None).await;
    assert_eq!(v["model_version"]["current_stage"], "Archived");
    let v = app
        .ok(
            "POST",
            &format!("{m}/registered-models/get-latest-versions"),
            Some(json!({"name": "raga", "stages": ["Production"]})),
        )
        .await;
    assert_eq!(v["model_versions"][0]["version"], "2");

    app.ok(
        "POST",
        &format!("{m}/registered-models/alias"),
        Some(json!({"name": "raga", "alias": "champion", "version": "3"})),
    )
    .await;
    let v = app.ok("GET", &format!("{m}/registered-models/alias?name=raga&alias=champion"), None).await;
    assert_eq!(v["model_version"]["version"], "3");
    assert_eq!(v["model_version"]["aliases"], json!(["champion"]));
    check_error(
        &app,
        "POST",
        &format!("{m}/registered-models/alias"),
        Some(r#"{"name":"raga","alias":"latest","version":"1"}"#),
        400,
        "INVALID_PARAMETER_VALUE",
        "reserved",
    )
    .await;

    let reply = app
        .raw(
            Request::post("/api/2.0/ragasense/registered-models/rollback")
                .header("x-ragasense-user", "asha")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"name":"raga"}"#))
                .expect("req"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    assert_eq!(reply.json()["model_version"]["version"], "1");
    assert_eq!(reply.json()["previous_version"], "2");
    let v = app.ok("GET", "/api/2.0/ragasense/registered-models/history?name=raga", None).await;
    let h = v["history"].as_array().expect("history");
    assert_eq!(h[0]["kind"], "stage");
    assert_eq!(h[0]["version"], "1");
    assert_eq!(h[0]["from"], "Archived");
    assert_eq!(h[0]["to"], "Production");
    assert_eq!(h[0]["actor"], "asha");
    assert!(h.iter().any(|e| e["kind"] == "alias" && e["alias"] == "champion" && e["actor"] == "anonymous"));

    let v = app.ok("GET", &format!("{m}/registered-models/get?name=raga"), None).await;
    assert_eq!(v["registered_model"]["aliases"], json!([{"alias": "champion", "version": "3"}]));
    let v = app
        .ok("GET", &format!("{m}/model-versions/search?filter=name%3D%27raga%27&max_results=2"), None)
        .await;
    assert_eq!(v["model_versions"].as_array().map(Vec::len), Some(2));
    assert!(v["next_page_token"].is_string());
    let v = app.ok("GET", &format!("{m}/model-versions/get-download-uri?name=raga&version=1"), None).await;
    assert_eq!(v["artifact_uri"], format!("mlflow-artifacts:/0/{run}/artifacts/package"));
    app.ok("DELETE", &format!("{m}/model-versions/delete"), Some(json!({"name": "raga", "version": "3"})))
        .await;
    check_error(
        &app,
        "GET",
        &format!("{m}/registered-models/alias?name=raga&alias=champion"),
        None,
        400,
        "INVALID_PARAMETER_VALUE",
        "alias champion not found",
    )
    .await;
}

#[tokio::test]
async fn publication_manifest_blobs_cache_range_cors() {
    let app = test_app().await;
    let run = app.create_run("0").await;
    let (hash, weights) = publish_package(&app, &run).await;
    let m = "/api/2.0/mlflow";
    app.ok("POST", &format!("{m}/registered-models/create"), Some(json!({"name": "raga"}))).await;
    app.ok(
        "POST",
        &format!("{m}/model-versions/create"),
        Some(json!({"name": "raga", "source": format!("mlflow-artifacts:/0/{run}/artifacts/package")})),
    )
    .await;
    app.ok(
        "POST",
        &format!("{m}/model-versions/transition-stage"),
        Some(json!({"name": "raga", "version": "1", "stage": "Production"})),
    )
    .await;
    app.ok(
        "POST",
        &format!("{m}/registered-models/alias"),
        Some(json!({"name": "raga", "alias": "web", "version": "1"})),
    )
    .await;

    let mut etags = Vec::new();
    for sel in ["1", "Production", "@web"] {
        let reply = app
            .raw(
                Request::get(format!("/v1/models/raga/{sel}/manifest.json"))
                    .header("origin", "https://app.example")
                    .body(Body::empty())
                    .expect("req"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{sel}: {}", String::from_utf8_lossy(&reply.bytes));
        let v = reply.json();
        assert_eq!(v["files"][0]["url"], format!("/v1/blobs/sha256/{hash}"));
        assert_eq!(v["labels"], json!(["yaman", "bhairav"]));
        assert_eq!(reply.headers["access-control-allow-origin"], "*");
        etags.push(reply.headers[header::ETAG].to_str().expect("etag").to_string());
    }
    assert!(etags.windows(2).all(|w| w[0] == w[1]));
    let reply = app
        .raw(
            Request::get("/v1/models/raga/Production/manifest.json")
                .header("if-none-match", &etags[0])
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);

    let blob = format!("/v1/blobs/sha256/{hash}");
    let reply = app.raw(Request::get(&blob).body(Body::empty()).expect("req")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.bytes, weights.as_bytes());
    assert_eq!(reply.headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(reply.headers[header::ETAG], format!("\"{hash}\""));
    let reply = app
        .raw(
            Request::get(&blob)
                .header("if-none-match", format!("\"{hash}\""))
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    let reply =
        app.raw(Request::get(&blob).header("range", "bytes=0-3").body(Body::empty()).expect("req")).await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.bytes, b"fake");
    let reply = app
        .raw(Request::get(&blob).header("accept-encoding", "gzip").body(Body::empty()).expect("req"))
        .await;
    assert_eq!(reply.headers[header::CONTENT_ENCODING], "gzip");

    check_error(
        &app,
        "GET",
        "/v1/models/raga/Staging/manifest.json",
        None,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "no version in stage Staging",
    )
    .await;
    check_error(
        &app,
        "GET",
        "/v1/models/raga/@nope/manifest.json",
        None,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "no alias",
    )
    .await;
}

/// Clip statistics as the wasm runtime sends them (`raga_model::FeatureStats` of one clip).
fn clip_stats(bands: usize) -> Value {
    json!({
        "clips": 1,
        "frames": 431,
        "log_mel": (0..bands).map(|b| json!({"mean": -60.0 + b as f64 * 0.375, "std": 6.25})).collect::<Vec<_>>(),
        "level_db": {"mean": -31.5, "std": 0.0},
        "voiced_fraction": {"mean": 0.82, "std": 0.0},
        "tonic_hz": {"mean": 146.8, "std": 0.0},
        "seconds": {"mean": 10.0, "std": 0.0},
        "pitch_class_hist": (0..120).map(|i| (i % 12) as f64 / 660.0).collect::<Vec<_>>(),
    })
}

/// A successful classification of `raga-detector` `version`.
fn telemetry_event(id: &str, version: &str) -> Value {
    json!({
        "event_id": id,
        "model": "raga-detector",
        "version": version,
        "backend": "webgpu",
        "client_time_ms": 1_764_000_000_000_i64,
        "timings_ms": {"features": 81.2, "inference": 23.0, "total": 110.0},
        "top_label": "yaman",
        "confidence": 0.93,
        "tradition": "hindustani",
        "tonic_hz": 146.8,
        "input": clip_stats(128),
        "runtime": {"package_version": "0.1.0", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"},
    })
}

impl TestApp {
    /// Registers `raga-detector` with versions 1..=`versions`.
    async fn register_detector(&self, versions: usize) {
        let m = "/api/2.0/mlflow";
        self.ok("POST", &format!("{m}/registered-models/create"), Some(json!({"name": "raga-detector"})))
            .await;
        for _ in 0..versions {
            self.ok(
                "POST",
                &format!("{m}/model-versions/create"),
                Some(json!({"name": "raga-detector", "source": "mlflow-artifacts:/0/x/artifacts/package"})),
            )
            .await;
        }
    }

    async fn post_telemetry(&self, content_type: &str, body: String) -> Reply {
        self.raw(
            Request::post("/v1/telemetry")
                .header(header::CONTENT_TYPE, content_type)
                .header("origin", "https://app.example")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    async fn telemetry_ids(&self, query: &str) -> (Vec<String>, Value) {
        let v = self.ok("GET", &format!("/v1/telemetry?model=raga-detector{query}"), None).await;
        let ids = v["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["event_id"].as_str().unwrap_or_default().to_string())
            .collect();
        (ids, v)
    }
}

#[tokio::test]
async fn telemetry_is_stored_once_and_read_back() {
    let app = test_app().await;
    app.register_detector(2).await;
    let failed = json!({
        "event_id": "e2",
        "model": "raga-detector",
        "version": 1,
        "backend": "cpu",
        "client_time_ms": 1_764_000_000_500_i64,
        "timings_ms": {"features": 0.0, "inference": 0.0, "total": 4.5},
        "error": "microphone permission denied",
        "sent_by": "a future runtime",
    });
    let batch =
        json!({"events": [telemetry_event("e1", "1"), failed, telemetry_event("e3", "2")]}).to_string();
    let reply = app.post_telemetry("application/json", batch.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    assert_eq!(reply.json(), json!({"accepted": 3, "duplicates": 0}));
    assert_eq!(reply.headers["access-control-allow-origin"], "*");
    // A retried batch is not counted twice.
    let reply = app.post_telemetry("application/json", batch).await;
    assert_eq!(reply.json(), json!({"accepted": 0, "duplicates": 3}));
    // What navigator.sendBeacon sends for a string.
    let beacon = json!({"events": [telemetry_event("e1", "1"), telemetry_event("e4", "1")]}).to_string();
    let reply = app.post_telemetry("text/plain;charset=UTF-8", beacon).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    assert_eq!(reply.json(), json!({"accepted": 1, "duplicates": 1}));

    let (ids, v) = app.telemetry_ids("").await;
    assert_eq!(ids, ["e4", "e3", "e2", "e1"]);
    assert!(v.get("next_page_token").is_none(), "{v}");
    let events = v["events"].as_array().expect("events");
    let received = events[0]["received_ms"].as_i64().expect("received_ms");
    assert!((received - registry_server::db::now_ms()).abs() < 60_000, "{received}");
    // Each event comes back as sent, plus the server's clock; unknown fields are not kept.
    let mut expected = telemetry_event("e1", "1");
    expected["received_ms"] = events[3]["received_ms"].clone();
    assert_eq!(events[3], expected);
    assert_eq!(
        events[2],
        json!({
            "event_id": "e2",
            "model": "raga-detector",
            "version": "1",
            "backend": "cpu",
            "client_time_ms": 1_764_000_000_500_i64,
            "timings_ms": {"features": 0.0, "inference": 0.0, "total": 4.5},
            "error": "microphone permission denied",
            "received_ms": events[2]["received_ms"],
        })
    );

    assert_eq!(app.telemetry_ids("&version=2").await.0, ["e3"]);
    let (ids, v) = app.telemetry_ids("&max_results=3").await;
    assert_eq!(ids, ["e4", "e3", "e2"]);
    let token = v["next_page_token"].as_str().expect("token");
    let (ids, v) = app.telemetry_ids(&format!("&max_results=3&page_token={token}")).await;
    assert_eq!(ids, ["e1"]);
    assert!(v.get("next_page_token").is_none(), "{v}");
    let (ids, v) = app.telemetry_ids(&format!("&since_ms={}", received + 1)).await;
    assert!(ids.is_empty());
    assert_eq!(v, json!({"events": []}));
    check_error(&app, "GET", "/v1/telemetry?version=1", None, 400, "INVALID_PARAMETER_VALUE", "'model'")
        .await;
    check_error(
        &app,
        "GET",
        "/v1/telemetry?model=raga-detector&max_results=1001",
        None,
        400,
        "INVALID_PARAMETER_VALUE",
        "at most 1000",
    )
    .await;
}

#[tokio::test]
async fn telemetry_rejects_a_bad_batch_whole() {
    let app = test_app().await;
    app.register_detector(1).await;
    let ok = telemetry_event("first-is-fine", "1");
    // A batch whose event 1 is `ok` changed by `patch`.
    let second = |patch: Value| {
        let mut bad = telemetry_event("second", "1");
        for (k, v) in patch.as_object().into_iter().flatten() {
            bad[k] = v.clone();
        }
        json!({"events": [ok, bad]}).to_string()
    };
    let json_ct = "application/json";
    // (content type, body, status, error_code, message fragment)
    let cases: Vec<(&str, String, u16, &str, &str)> = vec![
        (
            json_ct,
            r#"{"events": []}"#.into(),
            400,
            "INVALID_PARAMETER_VALUE",
            "events must hold 1 to 100 events (got 0)",
        ),
        (
            json_ct,
            json!({"events": vec![ok.clone(); 101]}).to_string(),
            400,
            "INVALID_PARAMETER_VALUE",
            "(got 101)",
        ),
        (json_ct, "{}".into(), 400, "INVALID_PARAMETER_VALUE", "events is required"),
        (
            json_ct,
            second(json!({"confidence": 1.7})),
            400,
            "INVALID_PARAMETER_VALUE",
            "events[1].confidence must be within 0..1 (got 1.7)",
        ),
        (
            json_ct,
            second(json!({"timings_ms": {"features": 1.0, "inference": -3.0, "total": 5.0}})),
            400,
            "INVALID_PARAMETER_VALUE",
            "events[1].timings_ms.inference must be within 0..1e7 ms (got -3)",
        ),
        (
            json_ct,
            second(json!({"timings_ms": {"features": 1.0, "inference": 3.0, "total": "NaN"}})),
            400,
            "INVALID_PARAMETER_VALUE",
            "events[1].timings_ms.total: invalid type: string \"NaN\"",
        ),
        (
            json_ct,
            second(json!({"confidence": 0.123456789})).replace("0.123456789", "1e999"),
            400,
            "INVALID_PARAMETER_VALUE",
            "events[1].confidence: number out of range",
        ),
        (
            json_ct,
            second(json!({"tonic_hz": 5000.0})),
            400,
            "INVALID_PARAMETER_VALUE",
            "events[1].tonic_hz must be within 20..2000 Hz (got 5000)",
        ),
        (
            json_ct,
            second(json!({"input": clip_stats(64)})),
            400,
            "INVALID_PARAMETER_VALUE",
            "events[1].input.log_mel must have 128 mel bands (got 64)",
        ),
        (
            json_ct,
            second(json!({"top_label": null})),
            400,
            "INVALID_PARAMETER_VALUE",
            "events[1].top_label is required unless the event reports an error",
        ),
        (
            json_ct,
            second(json!({"event_id": "has space"})),
            400,
            "INVALID_PARAMETER_VALUE",
            "events[1].event_id must be 1 to 64 characters",
        ),
        (
            json_ct,
            second(json!({"backend": "webgl"})),
            400,
            "INVALID_PARAMETER_VALUE",
            "events[1].backend must be one of \"webgpu\", \"cpu\" (got \"webgl\")",
        ),
        (
            json_ct,
            second(json!({"version": "7"})),
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "model 'raga-detector' has no version 7 (events[1])",
        ),
        (
            json_ct,
            second(json!({"model": "ghost"})),
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "model 'ghost' has no version 1",
        ),
        (
            json_ct,
            json!({"events": [ok], "padding": "x".repeat(1 << 20)}).to_string(),
            413,
            "REQUEST_LIMIT_EXCEEDED",
            "larger than the 1 MiB telemetry limit",
        ),
        (
            "text/plain",
            "{\"events\": [".into(),
            400,
            "INVALID_PARAMETER_VALUE",
            "request body is not valid JSON",
        ),
        (
            "application/x-www-form-urlencoded",
            second(json!({})),
            415,
            "INVALID_PARAMETER_VALUE",
            "application/json or text/plain (got 'application/x-www-form-urlencoded')",
        ),
    ];
    for (content_type, body, status, code, fragment) in cases {
        let reply = app.post_telemetry(content_type, body).await;
        let v = reply.json();
        assert_eq!(reply.status.as_u16(), status, "{fragment}: {v}");
        assert_eq!(v["error_code"], code, "{fragment}: {v}");
        let message = v["message"].as_str().unwrap_or_default();
        assert!(message.contains(fragment), "message {message:?} lacks {fragment:?}");
    }
    // Nothing of a rejected batch was stored, not even its valid events.
    assert_eq!(app.telemetry_ids("").await.0, Vec::<String>::new());
    let reply = app.post_telemetry(json_ct, json!({"events": [ok]}).to_string()).await;
    assert_eq!(reply.json(), json!({"accepted": 1, "duplicates": 0}));
}

#[tokio::test]
async fn telemetry_cors_allows_posts_from_listed_origins() {
    let app = test_app_with(Settings {
        cors_allow_origins: vec!["https://app.example".into()],
        ..Settings::default()
    })
    .await;
    let preflight = |uri: &str, origin: &str, method: &str| {
        Request::options(uri)
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .expect("request")
    };
    let reply = app.raw(preflight("/v1/telemetry", "https://app.example", "POST")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let header_text = |reply: &Reply, name: &str| {
        reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase()
    };
    assert_eq!(header_text(&reply, "access-control-allow-origin"), "https://app.example");
    assert!(header_text(&reply, "access-control-allow-methods").contains("post"), "{:?}", reply.headers);
    assert!(
        header_text(&reply, "access-control-allow-headers").contains("content-type"),
        "{:?}",
        reply.headers
    );
    let reply = app.raw(preflight("/v1/telemetry", "https://elsewhere.example", "POST")).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);
    // Publication stays read-only.
    let reply = app
        .raw(preflight(&format!("/v1/blobs/sha256/{}", "a".repeat(64)), "https://app.example", "GET"))
        .await;
    assert!(!header_text(&reply, "access-control-allow-methods").contains("post"), "{:?}", reply.headers);
}

#[tokio::test]
async fn openapi_lists_routes() {
    let app = test_app().await;
    let v = app.ok("GET", "/openapi.json", None).await;
    assert_eq!(v["openapi"], "3.1.0");
    for path in [
        "/api/2.0/mlflow/runs/search",
        "/api/2.0/ragasense/registered-models/rollback",
        "/v1/blobs/sha256/{hash}",
        "/v1/telemetry",
    ] {
        assert!(v["paths"].get(path).is_some(), "{path}");
    }
}

#[tokio::test]
async fn openapi_lists_exactly_the_methods_each_route_answers() {
    let app = test_app().await;
    let mut documented: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (method, path, _, _) in registry_server::openapi::ROUTES {
        documented.entry(*path).or_default().push(method);
    }
    let doc = app.ok("GET", "/openapi.json", None).await;
    for (path, methods) in &documented {
        let uri = path
            .replace("{path}", "0/x/y.txt")
            .replace("{model_id}", "m-ghost")
            .replace("{tag_key}", "k")
            .replace("{name}", "ghost")
            .replace("{selector}", "1")
            .replace("{hash}", &"a".repeat(64));
        for method in ["get", "post", "put", "patch", "delete"] {
            let req = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .expect("request");
            let status = app.raw(req).await.status;
            let listed = methods.contains(&method);
            assert_eq!(status == StatusCode::METHOD_NOT_ALLOWED, !listed, "{method} {uri}: {status}");
            assert_eq!(doc["paths"][*path].get(method).is_some(), listed, "{method} {path} in /openapi.json");
        }
    }
}

#[tokio::test]
async fn malformed_urls_and_queries_get_json_errors() {
    let app = test_app().await;
    for uri in [
        "/api/2.0/mlflow-artifacts/artifacts/%FF",
        "/api/2.0/mlflow-artifacts/artifacts?path=a&path=b",
        "/api/2.0/mlflow/logged-models/%FF",
        "/v1/models/%FF/1/manifest.json",
        "/v1/models/m/1/files/%C3%28",
        "/v1/blobs/sha256/%FF",
    ] {
        check_error(&app, "GET", uri, None, 400, "INVALID_PARAMETER_VALUE", "").await;
    }
}

#[tokio::test]
async fn over_tcp_with_the_typed_client() {
    use registry_server::client::{RegistryClient, Stage};
    let dir = tempfile::tempdir().expect("tempdir");
    let state = common::open(dir.path(), Settings::default()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app(state)).await });
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    http.post(format!("{base}/api/2.0/mlflow/registered-models/create"))
        .json(&json!({"name": "m"}))
        .send()
        .await
        .expect("create");
    for _ in 0..2 {
        http.post(format!("{base}/api/2.0/mlflow/model-versions/create"))
            .json(&json!({"name": "m", "source": "mlflow-artifacts:/0/x"}))
            .send()
            .await
            .expect("version");
    }
    let client = RegistryClient::new(&base).expect("client").with_user("ci");
    client.promote("m", 1, Stage::Production, true).await.expect("promote 1");
    let mv = client.promote("m", 2, Stage::Production, true).await.expect("promote 2");
    assert_eq!(mv.current_stage, "Production");
    let mv = client.set_alias("m", "champion", 2).await.expect("alias");
    assert_eq!(mv.aliases, ["champion"]);
    let back = client.rollback("m").await.expect("rollback");
    assert_eq!(back.model_version.version, "1");
    let d = client.describe("m").await.expect("describe");
    assert_eq!(d.versions.len(), 2);
    assert_eq!(d.history[0].actor, "ci");
    assert_eq!(client.list_models().await.expect("list").len(), 1);
    match client.get_model("ghost").await {
        Err(registry_server::client::ClientError::Api { status: 404, error_code, .. }) => {
            assert_eq!(error_code, "RESOURCE_DOES_NOT_EXIST")
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    server.abort();
}

#[tokio::test]
async fn no_route_answers_500_to_junk() {
    let app = test_app().await;
    let run = app.create_run("0").await;
    let bodies = [
        String::new(),
        "{}".to_string(),
        "{bad".to_string(),
        "null".to_string(),
        "\"double-encoded\"".to_string(),
        json!({"name": 1, "experiment_id": [], "run_id": {}, "version": true, "key": 5, "value": [1], "stage": 3, "max_results": "many", "filter": 7, "order_by": {"a": 1}, "page_token": 1}).to_string(),
        json!({"name": "ghost", "experiment_id": "999", "run_id": "ghost", "version": "7", "key": "k", "value": "v", "alias": "a", "stage": "Production", "source": "x", "metric_key": "m", "new_name": "n"}).to_string(),
        json!({"run_id": run, "key": "k", "value": 1, "timestamp": -5, "filter": "metrics.x <", "order_by": ["metrics.x sideways"], "page_token": "eyJvZmZzZXQiOiAiYSJ9"}).to_string(),
    ];
    for (method, path, _, _) in registry_server::openapi::ROUTES {
        let path = path
            .replace("{path}", "0/x/../y")
            .replace("{model_id}", "m-ghost")
            .replace("{tag_key}", "k")
            .replace("{name}", "ghost")
            .replace("{selector}", "@nope")
            .replace("{hash}", &"a".repeat(64));
        for body in &bodies {
            for query in
                ["", "?name=ghost&version=x&run_id=ghost&experiment_id=a&path=../../etc&max_results=-1"]
            {
                let uri = format!("{path}{query}");
                let req = Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&uri)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.clone()))
                    .expect("request");
                let reply = app.raw(req).await;
                assert!(
                    reply.status.as_u16() < 500,
                    "{method} {uri} {body}: {} {}",
                    reply.status,
                    String::from_utf8_lossy(&reply.bytes)
                );
                if !reply.status.is_success() && reply.status != StatusCode::NOT_MODIFIED {
                    let v = reply.json();
                    assert!(v["error_code"].is_string() && v["message"].is_string(), "{method} {uri}: {v}");
                }
            }
        }
    }
}

#[tokio::test]
async fn metric_values_round_trip_exactly() {
    let app = test_app().await;
    let run = app.create_run("0").await;
    // (logged value as JSON, expected text in the response)
    let cases = [
        (json!(0.9), "0.9"),
        (json!(2.0), "2.0"),
        (json!(0.1 + 0.2), "0.30000000000000004"),
        (json!(1e-7), "1e-7"),
        (json!(123_456_789.123_456_79), "123456789.12345679"),
        (json!(-3), "-3.0"),
        (json!("NaN"), "\"NaN\""),
        (json!("-Infinity"), "-1.7976931348623157e+308"),
    ];
    for (i, (value, _)) in cases.iter().enumerate() {
        app.ok(
            "POST",
            "/api/2.0/mlflow/runs/log-metric",
            Some(json!({"run_id": run, "key": format!("m{i}"), "value": value, "timestamp": 1})),
        )
        .await;
    }
    let reply = app
        .raw(Request::get(format!("/api/2.0/mlflow/runs/get?run_id={run}")).body(Body::empty()).expect("req"))
        .await;
    let text = String::from_utf8_lossy(&reply.bytes).into_owned();
    let v = reply.json();
    for (i, (value, expected_text)) in cases.iter().enumerate() {
        assert!(text.contains(&format!("\"key\":\"m{i}\",\"value\":{expected_text},")), "m{i}: {text}");
        let got = v["run"]["data"]["metrics"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["key"] == format!("m{i}")))
            .map(|m| m["value"].clone());
        if let Some(x) = value.as_f64() {
            assert_eq!(got.and_then(|g| g.as_f64()), Some(x), "m{i}");
        }
    }
}

#[tokio::test]
async fn metric_history_returns_the_bits_that_were_logged() {
    let app = test_app().await;
    let run = app.create_run("0").await;
    // SQLite stores an integral REAL as an integer: -0.0 used to come back as 0.0.
    let values = [-0.0, 0.0, 5e-324, f64::MAX, -1.0, 1e-300, f64::NAN];
    for (step, value) in values.iter().enumerate() {
        let value = if value.is_nan() { json!("NaN") } else { json!(value) };
        app.ok(
            "POST",
            "/api/2.0/mlflow/runs/log-batch",
            Some(json!({"run_id": run, "metrics": [{"key": "x", "value": value, "timestamp": 7, "step": step}]})),
        )
        .await;
    }
    let v =
        app.ok("GET", &format!("/api/2.0/mlflow/metrics/get-history?run_id={run}&metric_key=x"), None).await;
    let got: Vec<f64> = v["metrics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|m| if m["value"] == "NaN" { f64::NAN } else { m["value"].as_f64().unwrap_or(1.5) })
        .collect();
    assert_eq!(got.len(), values.len(), "{v}");
    for (sent, got) in values.iter().zip(&got) {
        assert!(
            sent.to_bits() == got.to_bits() || (sent.is_nan() && got.is_nan()),
            "sent {sent:?}, got {got:?}"
        );
    }
}

#[tokio::test]
async fn concurrent_metrics_are_all_committed() {
    let app = std::sync::Arc::new(test_app().await);
    let run = app.create_run("0").await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let app = app.clone();
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            app.ok(
                "POST",
                "/api/2.0/mlflow/runs/log-metric",
                Some(json!({"run_id": run, "key": "x", "value": i, "timestamp": i, "step": i})),
            )
            .await;
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let v =
        app.ok("GET", &format!("/api/2.0/mlflow/metrics/get-history?run_id={run}&metric_key=x"), None).await;
    assert_eq!(v["metrics"].as_array().map(Vec::len), Some(200));
    let v = app.ok("GET", &format!("/api/2.0/mlflow/runs/get?run_id={run}"), None).await;
    assert_eq!(v["run"]["data"]["metrics"][0]["value"], json!(199.0));
}

#[test]
fn binary_prints_its_url_and_stops_on_sigint() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_registry-server"))
        .args(["--port", "0", "--backend-store-uri"])
        .arg(format!("sqlite:///{}", dir.path().join("db.sqlite").display()))
        .arg("--artifacts-destination")
        .arg(dir.path().join("artifacts"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn registry-server");
    let started = std::time::Instant::now();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "start-up took {:?}", started.elapsed());
    let url = line.trim().strip_prefix("listening on ").expect("listening line").to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let status =
        std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn search_and_get_render_runs_identically() {
    let app = test_app().await;
    let run = app.create_run("0").await;
    app.ok("POST", "/api/2.0/mlflow/runs/log-batch", Some(json!({"run_id": run, "metrics": [{"key": "a", "value": 1.5, "timestamp": 1}], "params": [{"key": "p", "value": "q\"uote"}], "tags": [{"key": "t", "value": "ünï\n"}]}))).await;
    app.ok(
        "POST",
        "/api/2.0/mlflow/runs/update",
        Some(json!({"run_id": run, "status": "FAILED", "end_time": 5})),
    )
    .await;
    let got = app.ok("GET", &format!("/api/2.0/mlflow/runs/get?run_id={run}"), None).await;
    let found = app.ok("POST", "/api/2.0/mlflow/runs/search", Some(json!({"experiment_ids": ["0"]}))).await;
    assert_eq!(found["runs"][0], got["run"]);
    assert_eq!(got["run"]["info"]["end_time"], 5);
    assert_eq!(got["run"]["data"]["params"], json!([{"key": "p", "value": "q\"uote"}]));
}

/// Writers racing on one run — as they may on PostgreSQL, where ingest from several
/// connections and replicas runs side by side: the first value of a param wins and every
/// other writer is told so (400, never a 500), overlapping batches lose no point, and the
/// latest value of each metric is the greatest (step, timestamp, value).
#[tokio::test]
async fn concurrent_writers_on_one_run() {
    let app = std::sync::Arc::new(test_app().await);
    let run = app.create_run("0").await;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..16_i64 {
        let (app, run) = (app.clone(), run.clone());
        tasks.spawn(async move {
            let param = app
                .call(
                    "POST",
                    "/api/2.0/mlflow/runs/log-parameter",
                    Some(json!({"run_id": run, "key": "seed", "value": w.to_string()})),
                )
                .await;
            // Every writer logs both keys, in opposite orders on alternate writers.
            let mut metrics: Vec<Value> = (0..10_i64)
                .flat_map(|i| {
                    ["a", "b"].map(|key| json!({"key": key, "value": (w * 10 + i) as f64, "timestamp": 1, "step": w * 10 + i}))
                })
                .collect();
            if w % 2 == 1 {
                metrics.reverse();
            }
            let batch =
                app.call("POST", "/api/2.0/mlflow/runs/log-batch", Some(json!({"run_id": run, "metrics": metrics}))).await;
            (param, batch)
        });
    }
    let mut accepted = 0;
    while let Some(joined) = tasks.join_next().await {
        let ((param_status, param_body), (batch_status, batch_body)) = joined.expect("task");
        assert_eq!(batch_status, StatusCode::OK, "log-batch: {batch_body}");
        match param_status {
            StatusCode::OK => accepted += 1,
            StatusCode::BAD_REQUEST => {
                assert!(
                    param_body["message"].as_str().is_some_and(|m| m.contains("Changing param values")),
                    "{param_body}"
                )
            }
            other => panic!("log-parameter answered {other}: {param_body}"),
        }
    }
    // Writers that chose the winning value also get 200 (logging the same value again is fine).
    assert!(accepted >= 1);
    let v = app.ok("GET", &format!("/api/2.0/mlflow/runs/get?run_id={run}"), None).await;
    let params = v["run"]["data"]["params"].as_array().expect("params");
    assert_eq!(params.len(), 1, "{params:?}");
    let latest = v["run"]["data"]["metrics"].as_array().expect("metrics");
    assert_eq!(latest.len(), 2);
    assert!(latest.iter().all(|m| m["value"] == json!(159.0) && m["step"] == json!(159)), "{latest:?}");
    for key in ["a", "b"] {
        let uri = format!("/api/2.0/mlflow/metrics/get-history?run_id={run}&metric_key={key}");
        let history = app.ok("GET", &uri, None).await;
        assert_eq!(history["metrics"].as_array().map(Vec::len), Some(160), "{key}");
    }
}
