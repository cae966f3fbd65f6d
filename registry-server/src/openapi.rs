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
    ("get", "/api/2.0/mlflow/runs/search", "runs", "Search runs (query parameters)"),
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
        "post",
        "/api/2.0/mlflow/logged-models/{model_id}/tags",
        "logged-models",
        "Set logged model tags (as PATCH)",
    ),
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
        "post",
        "/api/2.0/mlflow/registered-models/update",
        "registry",
        "Update a registered model's description (as PATCH)",
    ),
    (
        "delete",
        "/api/2.0/mlflow/registered-models/delete",
        "registry",
        "Delete a registered model and its versions",
    ),
    ("post", "/api/2.0/mlflow/registered-models/delete", "registry", "Delete a registered model (as DELETE)"),
    ("get", "/api/2.0/mlflow/registered-models/search", "registry", "Search registered models"),
    ("post", "/api/2.0/mlflow/registered-models/search", "registry", "Search registered models (JSON body)"),
    ("post", "/api/2.0/mlflow/registered-models/get-latest-versions", "registry", "Latest version per stage"),
    (
        "get",
        "/api/2.0/mlflow/registered-models/get-latest-versions",
        "registry",
        "Latest version per stage (query parameters)",
    ),
    ("post", "/api/2.0/mlflow/registered-models/set-tag", "registry", "Set a registered model tag"),
    ("delete", "/api/2.0/mlflow/registered-models/delete-tag", "registry", "Delete a registered model tag"),
    (
        "post",
        "/api/2.0/mlflow/registered-models/delete-tag",
        "registry",
        "Delete a registered model tag (as DELETE)",
    ),
    ("post", "/api/2.0/mlflow/registered-models/alias", "registry", "Point an alias at a version"),
    ("delete", "/api/2.0/mlflow/registered-models/alias", "registry", "Delete an alias"),
    ("get", "/api/2.0/mlflow/registered-models/alias", "registry", "Get the version an alias points at"),
    ("post", "/api/2.0/mlflow/model-versions/create", "registry", "Create a model version"),
    ("get", "/api/2.0/mlflow/model-versions/get", "registry", "Get a model version"),
    ("patch", "/api/2.0/mlflow/model-versions/update", "registry", "Update a version's description"),
    (
        "post",
        "/api/2.0/mlflow/model-versions/update",
        "registry",
        "Update a version's description (as PATCH)",
    ),
    ("delete", "/api/2.0/mlflow/model-versions/delete", "registry", "Delete a model version"),
    ("post", "/api/2.0/mlflow/model-versions/delete", "registry", "Delete a model version (as DELETE)"),
    (
        "post",
        "/api/2.0/mlflow/model-versions/transition-stage",
        "registry",
        "Move a version to a stage (archive_existing_versions)",
    ),
    ("get", "/api/2.0/mlflow/model-versions/search", "registry", "Search model versions"),
    ("post", "/api/2.0/mlflow/model-versions/search", "registry", "Search model versions (JSON body)"),
    ("get", "/api/2.0/mlflow/model-versions/get-download-uri", "registry", "Artifact URI of a version"),
    ("post", "/api/2.0/mlflow/model-versions/set-tag", "registry", "Set a model version tag"),
    ("delete", "/api/2.0/mlflow/model-versions/delete-tag", "registry", "Delete a model version tag"),
    (
        "post",
        "/api/2.0/mlflow/model-versions/delete-tag",
        "registry",
        "Delete a model version tag (as DELETE)",
    ),
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

/// The inputs of an operation, as `name` (an optional string), `name*` (required) and
/// `name:type` (see [`field_schema`]). GET reads them from the query string, other methods
/// from a JSON body (the server reads both for every method, as MLflow does). MLflow routes
/// are given without their `/api/2.0/mlflow` prefix.
fn inputs(method: &str, path: &str) -> &'static str {
    let path = path.strip_prefix("/api/2.0/mlflow").unwrap_or(path);
    match (method, path) {
        ("post", "/experiments/create") => "name*:text artifact_location tags:kvs",
        ("get", "/experiments/get") => "experiment_id*:id",
        ("get", "/experiments/get-by-name") => "experiment_name*:text",
        (_, "/experiments/search") => {
            "max_results:count50k filter order_by:exp_order page_token view_type:view"
        }
        ("post", "/experiments/update") => "experiment_id*:id new_name*:text",
        ("post", "/experiments/delete" | "/experiments/restore") => "experiment_id*:id",
        ("post", "/experiments/set-experiment-tag") => "experiment_id*:id key*:key value:nullable",
        ("post", "/experiments/delete-experiment-tag") => "experiment_id*:id key*:key",
        ("post", "/runs/create") => "experiment_id:id user_id run_name start_time:int tags:kvs",
        ("get", "/runs/get") | ("post", "/runs/delete" | "/runs/restore") => "run_id*",
        ("post", "/runs/update") => "run_id* status:status end_time:ts run_name",
        (_, "/runs/search") => {
            "experiment_ids:ids filter run_view_type:view max_results:count50k order_by:run_order page_token"
        }
        ("post", "/runs/log-metric") => {
            "run_id* key*:key value*:value timestamp*:ts step:int model_id dataset_name dataset_digest"
        }
        ("post", "/runs/log-parameter") => "run_id* key*:key value:param",
        ("post", "/runs/set-tag") => "run_id* key*:key value:tag",
        ("post", "/runs/delete-tag") => "run_id* key*:key",
        ("post", "/runs/log-batch") => "run_id* metrics:metrics params:kvs tags:kvs",
        ("post", "/runs/log-inputs") => "run_id* datasets:datasets models:objs",
        ("post", "/runs/outputs") => "run_id* models*:objs",
        ("post", "/runs/log-model") => "run_id* model_json*:text",
        ("get", "/metrics/get-history") => "run_id* metric_key*:key page_token max_results:positive",
        ("get", "/artifacts/list") => "run_id* path:relpath",
        ("get", "/get-artifact") => "run_id* path*:relpath",
        ("get", "/api/2.0/mlflow-artifacts/artifacts") => "path:relpath",
        ("post", "/logged-models") => "experiment_id*:id name model_type source_run_id params:kvs tags:kvs",
        ("get", "/logged-models/{model_id}") => "allow_deleted:bool",
        ("patch", "/logged-models/{model_id}") => "status*:model_status",
        ("post", "/logged-models/search") => {
            "experiment_ids:ids filter max_results:count order_by:objs page_token"
        }
        (_, "/logged-models/{model_id}/tags") => "tags*:kvs",
        ("post", "/logged-models/{model_id}/params") => "params*:kvs",
        ("get", "/logged-models/{model_id}/artifacts/directories") => "artifact_directory_path:relpath",
        ("post", "/registered-models/create") => "name*:model description tags:kvs",
        ("get", "/registered-models/get") | (_, "/registered-models/delete") => "name*:model",
        ("post", "/registered-models/rename") => "name*:model new_name*:model",
        (_, "/registered-models/update") => "name*:model description",
        (_, "/registered-models/search") => "filter max_results:count order_by:model_order page_token",
        (_, "/model-versions/search") => "filter max_results:count200k order_by:version_order page_token",
        (_, "/registered-models/get-latest-versions") => "name*:model stages:stages",
        ("post", "/registered-models/set-tag") => "name*:model key*:key value:nullable",
        (_, "/registered-models/delete-tag") => "name*:model key*:key",
        ("post", "/registered-models/alias") => "name*:model alias*:alias version*:version",
        (_, "/registered-models/alias") => "name*:model alias*:alias",
        ("post", "/model-versions/create") => {
            "name*:model source*:source run_id tags:kvs run_link description model_id"
        }
        ("get", "/model-versions/get" | "/model-versions/get-download-uri")
        | (_, "/model-versions/delete") => "name*:model version*:version",
        (_, "/model-versions/update") => "name*:model version*:version description",
        ("post", "/model-versions/transition-stage") => {
            "name*:model version*:version stage*:stage archive_existing_versions:bool"
        }
        ("post", "/model-versions/set-tag") => "name*:model version*:version key*:key value:nullable",
        (_, "/model-versions/delete-tag") => "name*:model version*:version key*:key",
        ("get", "/api/2.0/ragasense/registered-models/history") => "name*:model max_results:count100k",
        ("post", "/api/2.0/ragasense/registered-models/rollback") => "name*:model",
        ("post", "/v1/telemetry") => "events*:events",
        ("get", "/v1/telemetry") => "model*:text version:version since_ms:ts max_results:count page_token",
        ("post", "/v1/feedback") => "prediction_id*:text true_raga*:text model version:version predicted",
        ("get", "/v1/monitoring/summary") => "model*:text version:version from_ms:ts to_ms:ts",
        ("get", "/v1/monitoring/timeseries") => {
            "model*:text version:version from_ms:ts to_ms:ts bucket_ms:count"
        }
        ("get", "/v1/monitoring/drift") => "model*:text version*:version from_ms:ts to_ms:ts",
        ("get", "/v1/alerts") => "model version:version state:alert_state max_results:count page_token",
        ("post", "/invocations") => "inputs:any instances:any dataframe_split:obj dataframe_records:any",
        ("get", "/v1/tokens") => "include_revoked:bool",
        ("post", "/v1/tokens") => "name*:text scopes*:scopes models:strs expires_in_days:days",
        ("get", "/v1/audit") => {
            "actor route method status:int since_ms:ts until_ms:ts max_results:count page_token"
        }
        _ => "",
    }
}

/// The JSON schema of an input type of [`inputs`]; any value for a type it does not know.
fn schema(kind: &str) -> Value {
    field_schema(kind).unwrap_or_else(|| json!({}))
}

/// The JSON schema of an input type of [`inputs`], if it is one.
fn field_schema(kind: &str) -> Option<Value> {
    Some(match kind {
        "" => json!({"type": "string"}),
        "nullable" => json!({"type": ["string", "null"]}),
        "text" => json!({"type": "string", "minLength": 1}),
        "ids" => json!({"type": "array", "items": schema("id")}),
        // `order_by` clauses: a key the search sorts on, then ASC or DESC.
        "exp_order" => order_by("(name|experiment_id|creation_time|last_update_time)"),
        "run_order" => order_by(
            "((metrics|params|tags)\\.[A-Za-z_][A-Za-z0-9_]{0,39}|attributes\\.(start_time|end_time|run_name|status))",
        ),
        "model_order" => order_by("(name|timestamp|creation_timestamp|last_updated_timestamp)"),
        "version_order" => order_by("(name|version_number|creation_timestamp|last_updated_timestamp)"),
        // MLflow's rule for metric, param and tag names (a subset: no path tricks).
        "key" => json!({"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9_. :-]{0,199}$"}),
        "model" => json!({"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9_ .-]{0,199}$"}),
        "alias" => json!({"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]{0,63}$"}),
        "id" => json!({"type": "string", "pattern": "^[0-9]{1,15}$"}),
        "version" => json!({"type": "string", "pattern": "^[1-9][0-9]{0,8}$"}),
        // Relative, '/'-separated, no '..' segment, no '\\', '#' or control characters (and no
        // ':', which the server refuses as the second character: a Windows drive).
        "relpath" => {
            let c = "[^/#:\\\\\\x00-\\x1f\\x7f-\\x9f]";
            let segment = format!("(\\.?[^./#:\\\\\\x00-\\x1f\\x7f-\\x9f]{c}*|\\.\\.{c}+)");
            json!({"type": "string", "pattern": format!("^{segment}(/{segment})*$")})
        }
        "source" => {
            json!({"type": "string", "pattern": "^mlflow-artifacts:/[0-9]+/[a-z0-9]+/artifacts(/[a-z0-9_-]+)*$"})
        }
        "param" => json!({"type": "string", "maxLength": 6000}),
        "tag" => json!({"type": "string", "maxLength": 8000}),
        "int" => json!({"type": "integer", "format": "int64"}),
        "ts" => json!({"type": "integer", "format": "int64", "minimum": 0}),
        // Page sizes: each search has its own ceiling.
        "count" => json!({"type": "integer", "minimum": 1, "maximum": 1000}),
        "count50k" => json!({"type": "integer", "minimum": 1, "maximum": 50_000}),
        "count100k" => json!({"type": "integer", "minimum": 1, "maximum": 100_000}),
        "count200k" => json!({"type": "integer", "minimum": 1, "maximum": 200_000}),
        "positive" => json!({"type": "integer", "format": "int64", "minimum": 1}),
        "bool" => json!({"type": "boolean"}),
        "scopes" => {
            json!({"type": "array", "minItems": 1, "items": {"enum": ["read", "write", "admin", "telemetry"]}})
        }
        "days" => json!({"type": "integer", "minimum": 1, "maximum": 36_500}),
        // Doubles travel as numbers, or as proto JSON's "NaN" / "Infinity" / "-Infinity".
        "value" => json!({"anyOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]}),
        "strs" => json!({"type": "array", "items": {"type": "string"}}),
        "objs" => json!({"type": "array", "items": {"type": "object"}}),
        "obj" => json!({"type": "object"}),
        "any" => json!({}),
        "kvs" => json!({"type": "array", "maxItems": 100, "items": {
            "type": "object",
            "required": ["key"],
            "properties": {"key": schema("key"), "value": schema("nullable")}
        }}),
        "metrics" => json!({"type": "array", "maxItems": 1000, "items": {
            "type": "object",
            "required": ["key", "value", "timestamp"],
            "properties": {
                "key": schema("key"), "value": schema("value"),
                "timestamp": schema("ts"), "step": schema("int"),
            }
        }}),
        "datasets" => json!({"type": "array", "items": {
            "type": "object",
            "required": ["dataset"],
            "properties": {"dataset": {
                "type": "object",
                "required": ["name", "digest"],
                "properties": {"name": {"type": "string"}, "digest": {"type": "string"}}
            }, "tags": schema("kvs")}
        }}),
        "events" => json!({"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "object"}}),
        "view" => json!({"enum": ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]}),
        "status" => json!({"enum": ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]}),
        "stage" => json!({"enum": ["None", "Staging", "Production", "Archived"]}),
        "stages" => json!({"type": "array", "items": schema("stage")}),
        "model_status" => json!({"enum": [
            "LOGGED_MODEL_STATUS_UNSPECIFIED", "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"
        ]}),
        "alert_state" => json!({"enum": ["firing", "resolved", "all"]}),
        _ => return None,
    })
}

/// An `order_by` list whose clauses sort on `keys` (a regex alternative).
fn order_by(keys: &str) -> Value {
    json!({"type": "array", "items": {"type": "string", "pattern": format!("^{keys}( (ASC|DESC))?$")}})
}

/// Parameters of a path template (`{name}` segments; `{path}` is the rest of the URL).
fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = match name {
                "path" => schema("relpath"),
                "hash" => json!({"type": "string", "pattern": "^[0-9a-f]{64}$"}),
                "name" => schema("model"),
                "selector" => json!({"anyOf": [
                    schema("version"),
                    {"enum": ["None", "Staging", "Production", "Archived", "production", "staging"]},
                    {"type": "string", "pattern": "^@[A-Za-z_][A-Za-z0-9_-]{0,63}$"}
                ]}),
                _ => json!({"type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_-]+$"}),
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect()
}

/// The responses of an operation: JSON objects for the API, with MLflow's error shape for
/// every other status; plain text, metrics and file downloads where the route sends those.
fn responses(method: &str, path: &str) -> Value {
    let error = json!({
        "description": "MLflow-shaped error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    });
    let text = |media: &str| json!({"description": "OK", "content": {media: {"schema": {"type": "string"}}}});
    let download = json!({
        "200": {"description": "The file", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
        "206": {"description": "The requested byte range", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
        "304": {"description": "Not modified (If-None-Match)"},
        "416": {"description": "Range not satisfiable"},
        "default": error,
    });
    match (method, path) {
        ("get", "/health" | "/version") => json!({"200": text("text/plain"), "default": error}),
        ("get", "/metrics") => json!({"200": text("text/plain"), "default": error}),
        ("get", "/api/2.0/mlflow-artifacts/artifacts/{path}" | "/get-artifact")
        | ("get", "/v1/models/{name}/{selector}/files/{path}" | "/v1/blobs/sha256/{hash}") => download,
        ("get", "/v1/models/{name}/{selector}/manifest.json") => json!({
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            "304": {"description": "Not modified (If-None-Match)"},
            "default": error,
        }),
        _ => json!({
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            "default": error,
        }),
    }
}

/// Builds the document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (method, path, tag, summary) in ROUTES {
        let mut params = path_parameters(path);
        let mut body = Map::new();
        let mut required = Vec::new();
        for spec in inputs(method, path).split_whitespace() {
            let (name, kind) = spec.split_once(':').unwrap_or((spec, ""));
            let (name, needed) = match name.strip_suffix('*') {
                Some(n) => (n, true),
                None => (name, false),
            };
            // A required plain string must not be empty either.
            let schema = schema(if needed && kind.is_empty() { "text" } else { kind });
            if *method == "get" {
                let array = schema["type"] == "array";
                let mut p = json!({"name": name, "in": "query", "required": needed, "schema": schema});
                if array {
                    p["style"] = json!("form");
                    p["explode"] = json!(true);
                }
                params.push(p);
            } else if needed {
                required.push(json!(name));
                body.insert(name.to_string(), schema);
            } else if schema["type"] == "array" {
                body.insert(name.to_string(), schema);
            } else {
                // Proto JSON: an optional scalar may also be `null`, which means absent.
                body.insert(name.to_string(), json!({"anyOf": [schema, {"type": "null"}]}));
            }
        }
        let mut op = json!({
            "tags": [tag],
            "summary": summary,
            "operationId": format!("{method} {path}"),
            "responses": responses(method, path),
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        let access = auth::classify(&method.to_ascii_uppercase().parse().unwrap_or(Method::GET), path);
        if access != Access::Public {
            op["security"] = json!([{"bearer": [access.scope()]}, {"basic": []}]);
            let error = op["responses"]["default"].clone();
            op["responses"]["401"] = error.clone();
            op["responses"]["403"] = error;
        }
        if *method == "put" && path.contains("mlflow-artifacts") {
            // An empty body is an empty file.
            op["requestBody"] = json!({"required": false, "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }});
        } else if *method != "get" && !path.contains("mlflow-artifacts") {
            // A `null` body counts as `{}`, as in MLflow's server.
            let kinds = if required.is_empty() { json!(["object", "null"]) } else { json!("object") };
            let schema = json!({"type": kinds, "required": required, "properties": body});
            op["requestBody"] = json!({"required": !required.is_empty(), "content": {"application/json": {"schema": schema}}});
            if matches!(*path, "/v1/telemetry" | "/v1/feedback") {
                // navigator.sendBeacon sends the JSON as text/plain.
                op["requestBody"]["content"]["text/plain"] = json!({"schema": {"type": "string"}});
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_type_is_known_and_every_operation_unique() {
        let mut seen = std::collections::HashSet::new();
        for (method, path, _, _) in ROUTES {
            assert!(seen.insert((method, path)), "{method} {path} is listed twice");
            for spec in inputs(method, path).split_whitespace() {
                let kind = spec.split_once(':').map_or("", |(_, k)| k);
                assert!(field_schema(kind).is_some(), "{method} {path}: {spec}");
            }
        }
    }
}
