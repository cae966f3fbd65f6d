//! Command-line / environment settings of `ragasense server` and `registry-server`.

use clap::Args;

use crate::Settings;

/// Flags of the server; every flag also reads a `RAGASENSE_…` environment variable.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Tracking and registry database (SQLite only).
    #[arg(long, env = "RAGASENSE_BACKEND_STORE_URI", default_value = "sqlite:///./ragasense-data/mlruns.db")]
    pub backend_store_uri: String,

    /// Directory where artifacts are stored (s3:// is not supported yet).
    #[arg(long, env = "RAGASENSE_ARTIFACTS_DESTINATION", default_value = "./ragasense-data/artifacts")]
    pub artifacts_destination: String,

    /// Address to listen on.
    #[arg(long, env = "RAGASENSE_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "RAGASENSE_PORT", default_value_t = 5000)]
    pub port: u16,

    /// Origins allowed to fetch published models and send telemetry from a browser (`*` for any).
    #[arg(long, env = "RAGASENSE_CORS_ALLOW_ORIGIN", value_delimiter = ',', default_value = "*")]
    pub cors_allow_origin: Vec<String>,

    /// Largest artifact upload in MiB.
    #[arg(long, env = "RAGASENSE_MAX_ARTIFACT_MIB", default_value_t = 4096)]
    pub max_artifact_mib: usize,

    /// The built web app served at `/` (scripts/build-web.sh writes web/dist); when it has no
    /// index.html, `/` says how to build it.
    #[arg(long, env = "RAGASENSE_WEB_DIR", default_value = "web/dist")]
    pub web_dir: std::path::PathBuf,

    /// The registered model whose Production version `POST /invocations` serves.
    #[arg(long, env = "RAGASENSE_SERVE_MODEL", default_value = crate::serving::DEFAULT_MODEL)]
    pub serve_model: String,
}

impl ServerConfig {
    /// HTTP settings derived from the flags.
    pub fn settings(&self) -> Settings {
        Settings {
            max_artifact_bytes: self.max_artifact_mib.saturating_mul(1024 * 1024),
            web_dir: Some(self.web_dir.clone()),
            serve_model: self.serve_model.clone(),
            cors_allow_origins: self.cors_allow_origin.clone(),
            ..Settings::default()
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            backend_store_uri: "sqlite:///./ragasense-data/mlruns.db".into(),
            artifacts_destination: "./ragasense-data/artifacts".into(),
            host: "127.0.0.1".into(),
            port: 5000,
            cors_allow_origin: vec!["*".into()],
            max_artifact_mib: 4096,
            web_dir: "web/dist".into(),
            serve_model: crate::serving::DEFAULT_MODEL.into(),
        }
    }
}
