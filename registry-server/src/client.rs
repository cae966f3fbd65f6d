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
    /// The response was not what the API promises.
    #[error("unexpected response from the registry: {0}")]
    Decode(String),
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
    /// A client for `tracking_uri` (`http://host:port`, trailing slash optional).
    pub fn new(tracking_uri: &str) -> Result<Self, ClientError> {
        let base = tracking_uri.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::BadUri(tracking_uri.to_string()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("ragasense/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ClientError::Transport { uri: base.clone(), source })?;
        Ok(Self { base, http, user: None })
    }

    /// `explicit` (the `--tracking-uri` flag), else `RAGASENSE_TRACKING_URI`, else
    /// `MLFLOW_TRACKING_URI`, else `http://127.0.0.1:5000`.
    pub fn from_env(explicit: Option<&str>) -> Result<Self, ClientError> {
        let uri = explicit
            .map(str::to_string)
            .or_else(|| std::env::var("RAGASENSE_TRACKING_URI").ok().filter(|s| !s.is_empty()))
            .or_else(|| std::env::var("MLFLOW_TRACKING_URI").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "http://127.0.0.1:5000".into());
        Self::new(&uri)
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
        let resp =
            req.send().await.map_err(|source| ClientError::Transport { uri: self.base.clone(), source })?;
        let status = resp.status();
        let text =
            resp.text().await.map_err(|source| ClientError::Transport { uri: self.base.clone(), source })?;
        if !status.is_success() {
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Err(ClientError::Api {
                status: status.as_u16(),
                error_code: v["error_code"].as_str().unwrap_or("UNKNOWN").to_string(),
                message: v["message"].as_str().map(str::to_string).unwrap_or(text),
            });
        }
        serde_json::from_str(if text.trim().is_empty() { "{}" } else { &text })
            .map_err(|e| ClientError::Decode(format!("{path}: {e}")))
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
}
