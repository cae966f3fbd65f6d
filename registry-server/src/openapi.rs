//! `/openapi.json`: a hand-assembled OpenAPI 3.1 document listing every route.

use axum::Json;
use axum::http::Method;
use serde_json::{Map, Value, json};

use crate::auth::{self, Access};

/// (method, path, tag, summary) of every route the server offers.
pub const ROUTES: &[(&str, &str, &str, &str)] = &[
    ("post", "/api/2.0/mlflow/experiments/create", "experiments", "Create an experiment"),
    ("get", "/api/2.0/mlflow/experiments/get", "experiments", "Get an experiment by id"),
    ("get", "/api/2.0/mlflow/experiments/get-by-name", "experiments", "Get an experiment by name"),
    (
        "post",
        "/api/2.0/mlflow/experiments/search",
        "experiments",
        "Search experiments (filter, order_by, paging)",
    ),
    ("get", "/api/2.0/mlflow/experiments/search", "experiments", "Search experiments (query parameters)"),
    ("post", "/api/2.0/mlflow/experiments/update", "experiments", "Rename an experiment"),
    ("post", "/api/2.0/mlflow/experiments/delete", "experiments", "Mark an experiment and its runs deleted"),
    (
        "post",
        "/api/2.0/mlflow/experiments/restore",
        "experiments",
        "Restore a deleted experiment and its runs",
    ),
    ("post", "/api/2.0/mlflow/experiments/set-experiment-tag", "experiments", "Set an experiment tag"),
    ("post", "/api/2.0/mlflow/experiments/delete-experiment-tag", "experiments", "Delete an experiment tag"),
    ("post", "/api/2.0/mlflow/runs/create", "runs", "Create a run"),
    ("get", "/api/2.0/mlflow/runs/get", "runs", "Get a run with its latest metrics, params and tags"),
    ("post", "/api/2.0/mlflow/runs/update", "runs", "Update status, end time or name of a run"),
    ("post", "/api/2.0/mlflow/runs/delete", "runs", "Mark a run deleted"),
    ("post", "/api/2.0/mlflow/runs/restore", "runs", "Restore a deleted run"),
    ("post", "/api/2.0/mlflow/runs/search", "runs", "Search runs (filter grammar, order_by, page_token)"),
    ("post", "/api/2.0/mlflow/runs/log-metric", "runs", "Log one metric value"),
    ("post", "/api/2.0/mlflow/runs/log-parameter", "runs", "Log a param (values are immutable)"),
    ("post", "/api/2.0/mlflow/runs/set-tag", "runs", "Set a run tag"),
    ("post", "/api/2.0/mlflow/runs/delete-tag", "runs", "Delete a run tag"),
    ("post", "/api/2.0/mlflow/runs/log-batch", "runs", "Log up to 1000 metrics, 100 params and 100 tags"),
    ("post", "/api/2.0/mlflow/runs/log-inputs", "runs", "Log dataset and model inputs"),
    ("post", "/api/2.0/mlflow/runs/outputs", "runs", "Log model outputs"),
    ("post", "/api/2.0/mlflow/runs/log-model", "runs", "Record a logged model in the run's history tag"),
    ("get", "/api/2.0/mlflow/metrics/get-history", "runs", "All values of one metric of a run"),
    ("get", "/api/2.0/mlflow/artifacts/list", "artifacts", "List a run's artifacts"),
    ("get", "/get-artifact", "artifacts", "Download a run artifact (run_id, path)"),
    ("get", "/api/2.0/mlflow-artifacts/artifacts", "artifacts", "List artifacts under ?path="),
    ("get", "/api/2.0/mlflow-artifacts/artifacts/{path}", "artifacts", "Download an artifact (Range, ETag)"),
    ("put", "/api/2.0/mlflow-artifacts/artifacts/{path}", "artifacts", "Upload an artifact (atomic)"),
    ("delete", "/api/2.0/mlflow-artifacts/artifacts/{path}", "artifacts", "Delete an artifact or folder"),
    ("post", "/api/2.0/mlflow/logged-models", "logged-models", "Create a logged model (MLflow 3)"),
    ("get", "/api/2.0/mlflow/logged-models/{model_id}", "logged-models", "Get a logged model"),
    ("patch", "/api/2.0/mlflow/logged-models/{model_id}", "logged-models", "Finalize a logged model"),
    ("delete", "/api/2.0/mlflow/logged-models/{model_id}", "logged-models", "Delete a logged model"),
    ("post", "/api/2.0/mlflow/logged-models/search", "logged-models", "Search logged models"),
    ("patch", "/api/2.0/mlflow/logged-models/{model_id}/tags", "logged-models", "Set logged model tags"),
    (
        "delete",
        "/api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}",
        "logged-models",
        "Delete a logged model tag",
    ),
    ("post", "/api/2.0/mlflow/logged-models/{model_id}/params", "logged-models", "Log logged model params"),
    (
        "get",
        "/api/2.0/mlflow/logged-models/{model_id}/artifacts/directories",
        "logged-models",
        "List a logged model's artifacts",
    ),
    ("post", "/api/2.0/mlflow/registered-models/create", "registry", "Create a registered model"),
    ("get", "/api/2.0/mlflow/registered-models/get", "registry", "Get a registered model"),
    ("post", "/api/2.0/mlflow/registered-models/rename", "registry", "Rename a registered model"),
    (
        "patch",
        "/api/2.0/mlflow/registered-models/update",
        "registry",
        "Update a registered model's description",
    ),
    (
        "delete",
        "/api/2.0/mlflow/registered-models/delete",
        "registry",
        "Delete a registered model and its versions",
    ),
    ("get", "/api/2.0/mlflow/registered-models/search", "registry", "Search registered models"),
    ("post", "/api/2.0/mlflow/registered-models/get-latest-versions", "registry", "Latest version per stage"),
    ("post", "/api/2.0/mlflow/registered-models/set-tag", "registry", "Set a registered model tag"),
    ("delete", "/api/2.0/mlflow/registered-models/delete-tag", "registry", "Delete a registered model tag"),
    ("post", "/api/2.0/mlflow/registered-models/alias", "registry", "Point an alias at a version"),
    ("delete", "/api/2.0/mlflow/registered-models/alias", "registry", "Delete an alias"),
    ("get", "/api/2.0/mlflow/registered-models/alias", "registry", "Get the version an alias points at"),
    ("post", "/api/2.0/mlflow/model-versions/create", "registry", "Create a model version"),
    ("get", "/api/2.0/mlflow/model-versions/get", "registry", "Get a model version"),
    ("patch", "/api/2.0/mlflow/model-versions/update", "registry", "Update a version's description"),
    ("delete", "/api/2.0/mlflow/model-versions/delete", "registry", "Delete a model version"),
    (
        "post",
        "/api/2.0/mlflow/model-versions/transition-stage",
        "registry",
        "Move a version to a stage (archive_existing_versions)",
    ),
    ("get", "/api/2.0/mlflow/model-versions/search", "registry", "Search model versions"),
    ("get", "/api/2.0/mlflow/model-versions/get-download-uri", "registry", "Artifact URI of a version"),
    ("post", "/api/2.0/mlflow/model-versions/set-tag", "registry", "Set a model version tag"),
    ("delete", "/api/2.0/mlflow/model-versions/delete-tag", "registry", "Delete a model version tag"),
    (
        "get",
        "/api/2.0/ragasense/registered-models/history",
        "ragasense",
        "Every stage and alias change of a model (who, when, from, to)",
    ),
    (
        "post",
        "/api/2.0/ragasense/registered-models/rollback",
        "ragasense",
        "Restore the previous Production version",
    ),
    (
        "get",
        "/v1/models/{name}/{selector}/manifest.json",
        "publication",
        "Package manifest of a version, stage or @alias, with content-addressed file URLs",
    ),
    (
        "get",
        "/v1/models/{name}/{selector}/files/{path}",
        "publication",
        "A file of a version's package (Range, ETag)",
    ),
    ("get", "/v1/blobs/sha256/{hash}", "publication", "A published file by content hash (immutable, Range)"),
    (
        "post",
        "/v1/telemetry",
        "telemetry",
        "Store 1 to 100 browser classification events (JSON or text/plain, 1 MiB, idempotent on event_id)",
    ),
    (
        "get",
        "/v1/telemetry",
        "telemetry",
        "Telemetry events of a model, newest first (model, version, since_ms, paging)",
    ),
    (
        "post",
        "/v1/feedback",
        "monitoring",
        "The true raga of a prediction (prediction_id, true_raga; model, version, predicted if its telemetry is not in yet)",
    ),
    (
        "get",
        "/v1/monitoring/summary",
        "monitoring",
        "Per version and backend: requests, latency percentiles, error rate, confidence and labels, online accuracy",
    ),
    (
        "get",
        "/v1/monitoring/timeseries",
        "monitoring",
        "The same per time bucket (bucket_ms), with the drift score when a version is named",
    ),
    (
        "get",
        "/v1/monitoring/drift",
        "monitoring",
        "Input drift of a version against its training reference: PSI per feature group, tonic and voicing shifts",
    ),
    (
        "get",
        "/v1/alerts",
        "monitoring",
        "Alerts, newest first (model, version, state=firing|resolved|all, paging)",
    ),
    ("get", "/v1/alerts/rules", "monitoring", "The alert rules in force"),
    (
        "post",
        "/invocations",
        "serving",
        "Classify clips with the Production model (MLflow scoring protocol: inputs, instances, dataframe_split, dataframe_records; features or audio)",
    ),
    ("get", "/ping", "serving", "200 when the served model can be loaded (MLflow scoring server)"),
    ("get", "/health", "server", "Liveness: plain OK, as MLflow answers"),
    (
        "get",
        "/ready",
        "server",
        "Readiness: 200 when the database and the artifact store answer, 503 naming the failing check",
    ),
    ("get", "/metrics", "server", "Prometheus metrics, text exposition format 0.0.4"),
    ("get", "/version", "server", "Server version"),
    ("get", "/v1/tokens", "admin", "API tokens (without their secrets); include_revoked=true for all"),
    (
        "post",
        "/v1/tokens",
        "admin",
        "Create an API token: name, scopes (read, write, admin; or telemetry alone), models, expires_in_days. The token is in this answer only",
    ),
    ("delete", "/v1/tokens/{id}", "admin", "Revoke an API token"),
    (
        "get",
        "/v1/audit",
        "admin",
        "The audit log of writes and admin actions, newest first (actor, route, method, status, since_ms, until_ms, paging)",
    ),
    ("get", "/openapi.json", "server", "This document"),
];

/// Builds the document.
pub fn document() -> Value {
    let error = json!({
        "description": "MLflow-shaped error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    });
    let mut paths: Map<String, Value> = Map::new();
    for (method, path, tag, summary) in ROUTES {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "tags": [tag],
            "summary": summary,
            "operationId": format!("{method} {path}"),
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": error.clone(),
                "404": error.clone(),
            }
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        let access = auth::classify(&method.to_ascii_uppercase().parse().unwrap_or(Method::GET), path);
        if access != Access::Public {
            op["security"] = json!([{"bearer": [access.scope()]}, {"basic": []}]);
            op["responses"]["401"] = error.clone();
            op["responses"]["403"] = error.clone();
        }
        if matches!(*method, "post" | "patch" | "put" | "delete") && !path.contains("mlflow-artifacts") {
            op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object"}}}});
        }
        if matches!(*path, "/v1/telemetry" | "/v1/feedback") && *method == "post" {
            // navigator.sendBeacon sends a string as text/plain.
            op["requestBody"]["content"]["text/plain"] = json!({"schema": {"type": "string"}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "RagaSense registry server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "MLflow REST API 2.0 compatible tracking, artifacts and model registry, plus model publication for browsers."
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": {
                "type": "object",
                "required": ["error_code", "message"],
                "properties": {"error_code": {"type": "string", "example": "RESOURCE_DOES_NOT_EXIST"}, "message": {"type": "string"}}
            }},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token (ragasense token create); checked when the server runs with auth on"},
                "basic": {"type": "http", "scheme": "basic", "description": "The API token as the password"}
            }
        }
    })
}

/// Serves the document.
pub async fn handler() -> Json<Value> {
    Json(document())
}
