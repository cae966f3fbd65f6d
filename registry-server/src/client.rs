//! A small typed client of the registry API for `ragasense models …`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), registry_server::client::ClientError> {
//! use registry_server::client::{RegistryClient, Stage};
//! let client = RegistryClient::from_env(None)?;
//! for model in client.list_models().await? {
//!     println!("{}", model.name);
//! }
//! client.promote("raga-classifier", 3, Stage::Production, true).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use crate::auth::{CreatedToken, NewToken, Scope, TokenInfo};
pub use crate::registry::{Alias, HistoryEntry, ModelVersion, RegisteredModel};

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The tracking URI is unusable.
    #[error("invalid tracking URI '{0}': use http://host:port")]
    BadUri(String),
    /// The server could not be reached or the connection failed.
    #[error("could not reach the registry at {uri}: {source}")]
    Transport {
        /// Base URI.
        uri: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an MLflow-shaped error.
    #[error("{error_code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// MLflow error code, e.g. RESOURCE_DOES_NOT_EXIST.
        error_code: String,
        /// Server message.
        message: String,
    },
    /// The token cannot be sent in an HTTP header.
    #[error(
        "the API token has characters an HTTP header cannot carry: copy it again from 'ragasense token create'"
    )]
    BadToken,
    /// The response was not what the API promises.
    #[error("unexpected response from the registry: {0}")]
    Decode(String),
}

/// Characters escaped in one path segment (a model name or a version selector such as
/// `@production` stays readable; `/`, `?`, `#` and `%` cannot break the path).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The error of a failed call: MLflow's `{"error_code", "message"}` when the body is one,
/// else the body itself.
fn api_error(status: u16, text: String) -> ClientError {
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    ClientError::Api {
        status,
        error_code: v["error_code"].as_str().unwrap_or("UNKNOWN").to_string(),
        message: v["message"].as_str().map(str::to_string).unwrap_or(text),
    }
}

/// `[{"key": k, "value": v}, …]`, MLflow's shape for tags and params.
fn key_values(pairs: &[(String, String)]) -> Vec<Value> {
    pairs.iter().map(|(k, v)| json!({"key": k, "value": v})).collect()
}

/// A registry stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// No stage.
    None,
    /// Staging.
    Staging,
    /// Production.
    Production,
    /// Archived.
    Archived,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "None",
            Self::Staging => "Staging",
            Self::Production => "Production",
            Self::Archived => "Archived",
        })
    }
}

impl FromStr for Stage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "staging" => Ok(Self::Staging),
            "production" => Ok(Self::Production),
            "archived" => Ok(Self::Archived),
            _ => Err(format!("unknown stage '{s}': use Staging, Production, Archived or None")),
        }
    }
}

/// Everything `ragasense models describe` shows.
#[derive(Debug, Clone)]
pub struct ModelDescription {
    /// The model with its latest versions, tags and aliases.
    pub model: RegisteredModel,
    /// All versions, newest first.
    pub versions: Vec<ModelVersion>,
    /// Stage/alias history, newest first.
    pub history: Vec<HistoryEntry>,
}

/// Result of a rollback.
#[derive(Debug, Clone, Deserialize)]
pub struct Rollback {
    /// The version now in Production.
    pub model_version: ModelVersion,
    /// The version that was in Production before, if any.
    pub previous_version: Option<String>,
}

/// Client of one server.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
    user: Option<String>,
}

impl RegistryClient {
    /// A client for `tracking_uri` (`http://host:port`, trailing slash optional), sending no
    /// token.
    pub fn new(tracking_uri: &str) -> Result<Self, ClientError> {
        Self::with_token(tracking_uri, None)
    }

    /// A client for `tracking_uri` that sends `token` as `Authorization: Bearer` on every
    /// request (a server with auth on needs one; see `ragasense token create`).
    pub fn with_token(tracking_uri: &str, token: Option<&str>) -> Result<Self, ClientError> {
        let base = tracking_uri.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::BadUri(tracking_uri.to_string()));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = token {
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                .map_err(|_| ClientError::BadToken)?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("ragasense/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .build()
            .map_err(|source| ClientError::Transport { uri: base.clone(), source })?;
        Ok(Self { base, http, user: None })
    }

    /// `explicit` (the `--tracking-uri` flag), else `RAGASENSE_TRACKING_URI`, else
    /// `MLFLOW_TRACKING_URI`, else `http://127.0.0.1:5000`; with the token of
    /// `RAGASENSE_TRACKING_TOKEN`, else `MLFLOW_TRACKING_TOKEN`, if either is set.
    pub fn from_env(explicit: Option<&str>) -> Result<Self, ClientError> {
        let uri = Self::configured_uri(explicit).unwrap_or_else(|| "http://127.0.0.1:5000".into());
        Self::with_token(&uri, Self::configured_token().as_deref())
    }

    /// `RAGASENSE_TRACKING_TOKEN`, else `MLFLOW_TRACKING_TOKEN` (empty counts as unset).
    pub fn configured_token() -> Option<String> {
        ["RAGASENSE_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|s| !s.trim().is_empty()))
    }

    /// `explicit`, else `RAGASENSE_TRACKING_URI`, else `MLFLOW_TRACKING_URI` (empty counts as
    /// unset); `None` when the user named no server.
    pub fn configured_uri(explicit: Option<&str>) -> Option<String> {
        explicit
            .map(str::to_string)
            .or_else(|| std::env::var("RAGASENSE_TRACKING_URI").ok().filter(|s| !s.is_empty()))
            .or_else(|| std::env::var("MLFLOW_TRACKING_URI").ok().filter(|s| !s.is_empty()))
    }

    /// Maps a failed connection to [`ClientError::Transport`] naming this server.
    fn transport(&self) -> impl Fn(reqwest::Error) -> ClientError + '_ {
        |source| ClientError::Transport { uri: self.base.clone(), source }
    }

    /// URL of `path` under a run's `artifact_uri` (`mlflow-artifacts:/<exp>/<run>/artifacts`)
    /// on the `mlflow-artifacts` proxy.
    fn proxy_url(&self, artifact_uri: &str, path: &str) -> Result<String, ClientError> {
        let root = artifact_uri
            .strip_prefix("mlflow-artifacts:")
            .ok_or_else(|| {
                ClientError::Decode(format!("artifact URI {artifact_uri} is not served by the proxy"))
            })?
            .trim_start_matches('/');
        Ok(format!("{}/api/2.0/mlflow-artifacts/artifacts/{root}/{path}", self.base))
    }

    /// Names the person acting (recorded in the stage/alias history).
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The server's base URI.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).query(query);
        if let Some(user) = &self.user {
            req = req.header("x-ragasense-user", user);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(self.transport())?;
        let status = resp.status();
        let text = resp.text().await.map_err(self.transport())?;
        if !status.is_success() {
            return Err(api_error(status.as_u16(), text));
        }
        serde_json::from_str(if text.trim().is_empty() { "{}" } else { &text })
            .map_err(|e| ClientError::Decode(format!("{path}: {e}")))
    }

    /// Creates an API token (needs an admin token, or a server with auth off).
    pub async fn create_token(&self, new: &NewToken) -> Result<CreatedToken, ClientError> {
        let body = serde_json::to_value(new).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.call(reqwest::Method::POST, "/v1/tokens", &[], Some(body)).await
    }

    /// The server's API tokens, without secrets (revoked ones too with `revoked`).
    pub async fn list_tokens(&self, revoked: bool) -> Result<Vec<TokenInfo>, ClientError> {
        #[derive(Deserialize)]
        struct R {
            #[serde(default)]
            tokens: Vec<TokenInfo>,
        }
        let q = [("include_revoked", revoked.to_string())];
        Ok(self.call::<R>(reqwest::Method::GET, "/v1/tokens", &q, None).await?.tokens)
    }

    /// Revokes the token `id`.
    pub async fn revoke_token(&self, id: &str) -> Result<TokenInfo, ClientError> {
        #[derive(Deserialize)]
        struct R {
            token: TokenInfo,
        }
        let path = format!("/v1/tokens/{}", percent_encoding::utf8_percent_encode(id, PATH_SEGMENT));
        Ok(self.call::<R>(reqwest::Method::DELETE, &path, &[], None).await?.token)
    }

    /// All registered models, by name.
    pub async fn list_models(&self) -> Result<Vec<RegisteredModel>, ClientError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            registered_models: Vec<RegisteredModel>,
            next_page_token: Option<String>,
        }
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![("max_results", "1000".to_string())];
            if let Some(t) = &token {
                q.push(("page_token", t.clone()));
            }
            let page: Page =
                self.call(reqwest::Method::GET, "/api/2.0/mlflow/registered-models/search", &q, None).await?;
            out.extend(page.registered_models);
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        Ok(out)
    }

    /// One registered model.
    pub async fn get_model(&self, name: &str) -> Result<RegisteredModel, ClientError> {
        #[derive(Deserialize)]
        struct R {
            registered_model: RegisteredModel,
        }
        let r: R = self
            .call(
                reqwest::Method::GET,
                "/api/2.0/mlflow/registered-models/get",
                &[("name", name.to_string())],
                None,
            )
            .await?;
        Ok(r.registered_model)
    }

    /// All versions of a model, newest first.
    pub async fn versions(&self, name: &str) -> Result<Vec<ModelVersion>, ClientError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            model_versions: Vec<ModelVersion>,
            next_page_token: Option<String>,
        }
        let filter = format!("name = '{}'", name.replace('\'', "''"));
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![("filter", filter.clone()), ("order_by", "version_number DESC".to_string())];
            if let Some(t) = &token {
                q.push(("page_token", t.clone()));
            }
            let page: Page =
                self.call(reqwest::Method::GET, "/api/2.0/mlflow/model-versions/search", &q, None).await?;
            out.extend(page.model_versions);
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Model, versions and history together.
    pub async fn describe(&self, name: &str) -> Result<ModelDescription, ClientError> {
        Ok(ModelDescription {
            model: self.get_model(name).await?,
            versions: self.versions(name).await?,
            history: self.history(name).await?,
        })
    }

    /// Moves `version` to `stage`; with `archive_existing`, the versions already in that
    /// stage move to Archived.
    pub async fn promote(
        &self,
        name: &str,
        version: u64,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, ClientError> {
        #[derive(Deserialize)]
        struct R {
            model_version: ModelVersion,
        }
        let body = json!({
            "name": name,
            "version": version.to_string(),
            "stage": stage.to_string(),
            "archive_existing_versions": archive_existing,
        });
        let r: R = self
            .call(reqwest::Method::POST, "/api/2.0/mlflow/model-versions/transition-stage", &[], Some(body))
            .await?;
        Ok(r.model_version)
    }

    /// Points `alias` at `version` and returns that version.
    pub async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<ModelVersion, ClientError> {
        let body = json!({"name": name, "alias": alias, "version": version.to_string()});
        let _: Value = self
            .call(reqwest::Method::POST, "/api/2.0/mlflow/registered-models/alias", &[], Some(body))
            .await?;
        self.version_by_alias(name, alias).await
    }

    /// Removes an alias.
    pub async fn delete_alias(&self, name: &str, alias: &str) -> Result<(), ClientError> {
        let body = json!({"name": name, "alias": alias});
        let _: Value = self
            .call(reqwest::Method::DELETE, "/api/2.0/mlflow/registered-models/alias", &[], Some(body))
            .await?;
        Ok(())
    }

    /// The version an alias points at.
    pub async fn version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion, ClientError> {
        #[derive(Deserialize)]
        struct R {
            model_version: ModelVersion,
        }
        let r: R = self
            .call(
                reqwest::Method::GET,
                "/api/2.0/mlflow/registered-models/alias",
                &[("name", name.to_string()), ("alias", alias.to_string())],
                None,
            )
            .await?;
        Ok(r.model_version)
    }

    /// Stage and alias history, newest first.
    pub async fn history(&self, name: &str) -> Result<Vec<HistoryEntry>, ClientError> {
        #[derive(Deserialize)]
        struct R {
            #[serde(default)]
            history: Vec<HistoryEntry>,
        }
        let r: R = self
            .call(
                reqwest::Method::GET,
                "/api/2.0/ragasense/registered-models/history",
                &[("name", name.to_string())],
                None,
            )
            .await?;
        Ok(r.history)
    }

    /// Restores the previous Production version (the current one is archived).
    pub async fn rollback(&self, name: &str) -> Result<Rollback, ClientError> {
        self.call(
            reqwest::Method::POST,
            "/api/2.0/ragasense/registered-models/rollback",
            &[],
            Some(json!({"name": name})),
        )
        .await
    }

    /// The id of experiment `name`, created when it does not exist yet.
    pub async fn get_or_create_experiment(&self, name: &str) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Exp {
            experiment_id: String,
        }
        #[derive(Deserialize)]
        struct Got {
            experiment: Exp,
        }
        let lookup = || async {
            let q = [("experiment_name", name.to_string())];
            let got: Got =
                self.call(reqwest::Method::GET, "/api/2.0/mlflow/experiments/get-by-name", &q, None).await?;
            Ok::<_, ClientError>(got.experiment.experiment_id)
        };
        match lookup().await {
            Err(ClientError::Api { error_code, .. }) if error_code == "RESOURCE_DOES_NOT_EXIST" => {}
            found => return found,
        }
        let body = json!({"name": name});
        match self
            .call::<Exp>(reqwest::Method::POST, "/api/2.0/mlflow/experiments/create", &[], Some(body))
            .await
        {
            Ok(created) => Ok(created.experiment_id),
            // Created by someone else in between: read it back.
            Err(ClientError::Api { error_code, .. }) if error_code == "RESOURCE_ALREADY_EXISTS" => {
                lookup().await
            }
            Err(e) => Err(e),
        }
    }

    /// Creates a run and returns its id.
    pub async fn create_run(
        &self,
        experiment_id: &str,
        run_name: &str,
        start_time_ms: i64,
        tags: &[(String, String)],
    ) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Info {
            run_id: String,
        }
        #[derive(Deserialize)]
        struct Run {
            info: Info,
        }
        #[derive(Deserialize)]
        struct R {
            run: Run,
        }
        let body = json!({"experiment_id": experiment_id, "run_name": run_name,
                          "start_time": start_time_ms, "tags": key_values(tags)});
        let r: R = self.call(reqwest::Method::POST, "/api/2.0/mlflow/runs/create", &[], Some(body)).await?;
        Ok(r.run.info.run_id)
    }

    /// Whether run `run_id` exists on the server (a store that was wiped forgets it).
    pub async fn run_exists(&self, run_id: &str) -> Result<bool, ClientError> {
        match self.get_run(run_id).await {
            Ok(_) => Ok(true),
            Err(ClientError::Api { error_code, .. }) if error_code == "RESOURCE_DOES_NOT_EXIST" => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `runs/log-batch`: metrics as (key, value, timestamp ms, step), params and tags, in as
    /// many calls as the server's limits need (1000 metrics, 100 params, 100 tags per call).
    /// Logging the same metric point or the same param value again changes nothing.
    pub async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[(String, f64, i64, i64)],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<(), ClientError> {
        let metric = |(k, v, t, s): &(String, f64, i64, i64)| {
            // MLflow's JSON carries NaN and infinities as strings.
            let value = if v.is_finite() { json!(v) } else { json!(v.to_string()) };
            json!({"key": k, "value": value, "timestamp": t, "step": s})
        };
        let (metrics, params, tags) = (metrics.chunks(1000), params.chunks(100), tags.chunks(100));
        let calls = metrics.len().max(params.len()).max(tags.len());
        let (mut metrics, mut params, mut tags) = (metrics, params, tags);
        for _ in 0..calls {
            let body = json!({"run_id": run_id,
                              "metrics": metrics.next().unwrap_or_default().iter().map(metric).collect::<Vec<_>>(),
                              "params": key_values(params.next().unwrap_or_default()),
                              "tags": key_values(tags.next().unwrap_or_default())});
            self.call::<Value>(reqwest::Method::POST, "/api/2.0/mlflow/runs/log-batch", &[], Some(body))
                .await?;
        }
        Ok(())
    }

    /// Marks a run finished (or failed) at `end_time_ms`.
    pub async fn end_run(&self, run_id: &str, status: &str, end_time_ms: i64) -> Result<(), ClientError> {
        let body = json!({"run_id": run_id, "status": status, "end_time": end_time_ms});
        self.call::<Value>(reqwest::Method::POST, "/api/2.0/mlflow/runs/update", &[], Some(body)).await?;
        Ok(())
    }

    /// Uploads one artifact of a run through the `mlflow-artifacts` proxy; `artifact_uri` is
    /// the run's (`mlflow-artifacts:/<exp>/<run>/artifacts`), `path` relative to it.
    pub async fn upload_artifact(
        &self,
        artifact_uri: &str,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<(), ClientError> {
        let url = self.proxy_url(artifact_uri, path)?;
        let resp = self.http.put(&url).body(bytes).send().await.map_err(self.transport())?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            return Err(api_error(status, resp.text().await.unwrap_or_default()));
        }
        Ok(())
    }

    /// The artifact URI of a run.
    pub async fn run_artifact_uri(&self, run_id: &str) -> Result<String, ClientError> {
        self.get_run(run_id).await?["info"]["artifact_uri"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ClientError::Decode("runs/get without artifact_uri".into()))
    }

    /// Registers a new version of model `name` (created when missing) from `source`.
    pub async fn create_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        tags: &[(String, String)],
    ) -> Result<ModelVersion, ClientError> {
        match self
            .call::<Value>(
                reqwest::Method::POST,
                "/api/2.0/mlflow/registered-models/create",
                &[],
                Some(json!({"name": name})),
            )
            .await
        {
            Ok(_) => {}
            Err(ClientError::Api { error_code, .. }) if error_code == "RESOURCE_ALREADY_EXISTS" => {}
            Err(e) => return Err(e),
        }
        #[derive(Deserialize)]
        struct R {
            model_version: ModelVersion,
        }
        let body = json!({"name": name, "source": source, "run_id": run_id, "tags": key_values(tags)});
        let r: R = self
            .call(reqwest::Method::POST, "/api/2.0/mlflow/model-versions/create", &[], Some(body))
            .await?;
        Ok(r.model_version)
    }

    /// The version the browser URL `/v1/models/{name}/{selector}/manifest.json` serves now
    /// (`selector`: a version, a stage such as `production`, or `@alias`); `None` while it
    /// serves nothing.
    pub async fn published_version(&self, name: &str, selector: &str) -> Result<Option<String>, ClientError> {
        let url = format!("{}/v1/models/{name}/{selector}/manifest.json", self.base);
        let resp = self.http.get(&url).send().await.map_err(self.transport())?;
        if !resp.status().is_success() {
            return Ok(None);
        }
        Ok(resp.headers().get("x-model-version").and_then(|v| v.to_str().ok()).map(str::to_string))
    }

    /// The manifest browsers get at `/v1/models/{name}/{selector}/manifest.json` (each file
    /// with its content-addressed `url`, and `registry: {model, version}`), as bytes.
    pub async fn published_manifest(&self, name: &str, selector: &str) -> Result<Vec<u8>, ClientError> {
        let encode = |s: &str| percent_encoding::utf8_percent_encode(s, PATH_SEGMENT).to_string();
        self.get_bytes(&format!("/v1/models/{}/{}/manifest.json", encode(name), encode(selector))).await
    }

    /// A file of the publication routes by its path on this server (the `url` a published
    /// manifest gives, e.g. `/v1/blobs/sha256/…`).
    pub async fn published_file(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        if !path.starts_with("/v1/") {
            return Err(ClientError::Decode(format!("'{path}' is not a publication path (/v1/…)")));
        }
        self.get_bytes(path).await
    }

    async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await.map_err(self.transport())?;
        let status = resp.status();
        if !status.is_success() {
            return Err(api_error(status.as_u16(), resp.text().await.unwrap_or_default()));
        }
        Ok(resp.bytes().await.map_err(self.transport())?.to_vec())
    }

    /// `runs/get`: the run as MLflow renders it (`{"info": …, "data": …}`).
    pub async fn get_run(&self, run_id: &str) -> Result<Value, ClientError> {
        let v: Value = self
            .call(reqwest::Method::GET, "/api/2.0/mlflow/runs/get", &[("run_id", run_id.to_string())], None)
            .await?;
        Ok(v["run"].clone())
    }

    /// Every logged point of one metric of a run as (step, timestamp, value), in step order.
    pub async fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<(i64, i64, f64)>, ClientError> {
        let v: Value = self
            .call(
                reqwest::Method::GET,
                "/api/2.0/mlflow/metrics/get-history",
                &[("run_id", run_id.to_string()), ("metric_key", key.to_string())],
                None,
            )
            .await?;
        let mut points: Vec<(i64, i64, f64)> = v["metrics"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| {
                        (
                            m["step"].as_i64().unwrap_or(0),
                            m["timestamp"].as_i64().unwrap_or(0),
                            m["value"].as_f64().unwrap_or(f64::NAN),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        points.sort_by_key(|p| (p.0, p.1));
        Ok(points)
    }

    /// Downloads one artifact of a run (see [`upload_artifact`](Self::upload_artifact)).
    pub async fn download_artifact(&self, artifact_uri: &str, path: &str) -> Result<Vec<u8>, ClientError> {
        let url = self.proxy_url(artifact_uri, path)?;
        let resp = self.http.get(&url).send().await.map_err(self.transport())?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            return Err(api_error(status, resp.text().await.unwrap_or_default()));
        }
        Ok(resp.bytes().await.map_err(self.transport())?.to_vec())
    }
}
