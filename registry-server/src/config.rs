//! Command-line / environment settings of `ragasense server` and `registry-server`.

use clap::Args;

use crate::Settings;
use crate::auth::{AuthMode, AuthSettings};
use crate::logging::LogFormat;

/// Flags of the server; every flag also reads a `RAGASENSE_…` environment variable.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Tracking and registry database (SQLite only).
    #[arg(long, env = "RAGASENSE_BACKEND_STORE_URI", default_value = "sqlite:///./ragasense-data/mlruns.db")]
    pub backend_store_uri: String,

    /// Where artifacts are stored: a directory, or s3://bucket/prefix (credentials, region and
    /// endpoint from the AWS_* variables; see docs/deploy.md).
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

    /// The built dashboard served at `/ui/` (scripts/build-dashboard.sh writes dashboard/dist);
    /// when it has no index.html, `/ui/` says how to build it.
    #[arg(long, env = "RAGASENSE_UI_DIR", default_value = "dashboard/dist")]
    pub ui_dir: std::path::PathBuf,

    /// Alert rules (TOML: `interval_s`, `webhook`, `[[rules]]`; see docs/monitoring.md); the
    /// defaults when absent: online accuracy < 0.87, drift PSI > 0.2, errors > 5%, p95 > 3 s.
    #[arg(long, env = "RAGASENSE_ALERT_RULES")]
    pub alert_rules: Option<std::path::PathBuf>,

    /// URL each firing and resolved alert is POSTed to (overrides the rules file's `webhook`).
    #[arg(long, env = "RAGASENSE_ALERT_WEBHOOK")]
    pub alert_webhook: Option<String>,

    /// Seconds between two evaluations of the alert rules (overrides the rules file's).
    #[arg(long, env = "RAGASENSE_ALERT_INTERVAL_S")]
    pub alert_interval_s: Option<f64>,
    /// Log lines on stderr as text or as JSON objects, one per line (`RAGASENSE_LOG` filters
    /// them, e.g. `registry_server=debug`).
    #[arg(long, env = "RAGASENSE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The registered model whose Production version `POST /invocations` serves.
    #[arg(long, env = "RAGASENSE_SERVE_MODEL", default_value = crate::serving::DEFAULT_MODEL)]
    pub serve_model: String,
    /// Most clips whose windows share the forward passes of `/invocations` (1: one clip at a
    /// time); default 16 on machines of 4 or more cores, else 1.
    #[arg(long, env = "RAGASENSE_SERVE_MAX_BATCH_CLIPS")]
    pub serve_max_batch_clips: Option<usize>,
    /// Check API tokens: `auto` checks them unless the server listens on loopback only.
    #[arg(long, env = "RAGASENSE_AUTH", value_enum, default_value_t = AuthMode::Auto)]
    pub auth: AuthMode,
    /// Telemetry and feedback requests per second allowed per key (per client address when
    /// no key is sent); 0 for no limit. Bursts of twice as many pass.
    #[arg(long, env = "RAGASENSE_TELEMETRY_RATE_LIMIT", default_value_t = 100.0)]
    pub telemetry_rate_limit: f64,
    /// Load balancers in front of this server (addresses or ranges: 10.0.0.5, 10.0.0.0/8,
    /// fd00::/8). Their `X-Forwarded-For` names the client for rate limits and the audit log;
    /// from anyone else the header is ignored.
    #[arg(long, env = "RAGASENSE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::auth::forwarded::IpRange>,
    /// Seconds an API request may take before the server answers 408 (artifact transfers
    /// have no limit).
    #[arg(long, env = "RAGASENSE_REQUEST_TIMEOUT_S", default_value_t = 120)]
    pub request_timeout_s: u64,
}

impl ServerConfig {
    /// The alert rules: the file's (or the defaults), with the flags' overrides, checked.
    ///
    /// # Errors
    /// The file cannot be read or is not a valid rules file.
    pub fn alert_config(&self) -> anyhow::Result<crate::monitoring::AlertConfig> {
        use anyhow::Context;
        let mut config = match &self.alert_rules {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the alert rules {}", path.display()))?;
                crate::monitoring::AlertConfig::from_toml(&text)
                    .map_err(|e| anyhow::anyhow!("{e}"))
                    .with_context(|| format!("alert rules {} are not valid", path.display()))?
            }
            None => crate::monitoring::AlertConfig::default(),
        };
        if let Some(url) = &self.alert_webhook {
            config.webhook = Some(url.clone());
        }
        if let Some(interval) = self.alert_interval_s {
            config.interval_s = interval;
        }
        config.validate().map_err(|e| anyhow::anyhow!("alert settings are not valid: {e}"))?;
        Ok(config)
    }

    /// HTTP settings derived from the flags.
    pub fn settings(&self) -> Settings {
        Settings {
            max_artifact_bytes: self.max_artifact_mib.saturating_mul(1024 * 1024),
            web_dir: Some(self.web_dir.clone()),
            serve_model: self.serve_model.clone(),
            serve_batching: match self.serve_max_batch_clips {
                Some(n) => {
                    crate::serving::Batching { max_clips: n.max(1), ..crate::serving::Batching::default() }
                }
                None => crate::serving::Batching::default(),
            },
            ui_dir: Some(self.ui_dir.clone()),
            cors_allow_origins: self.cors_allow_origin.clone(),
            auth: AuthSettings {
                enabled: self.auth.enabled_for(&self.host),
                telemetry_rate_per_s: self.telemetry_rate_limit.max(0.0),
                telemetry_burst: (2.0 * self.telemetry_rate_limit).max(1.0),
                trusted_proxies: self.trusted_proxies.clone(),
            },
            request_timeout: std::time::Duration::from_secs(self.request_timeout_s.max(1)),
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
            ui_dir: "dashboard/dist".into(),
            alert_rules: None,
            alert_webhook: None,
            alert_interval_s: None,
            log_format: LogFormat::Text,
            serve_model: crate::serving::DEFAULT_MODEL.into(),
            serve_max_batch_clips: None,
            auth: AuthMode::Auto,
            telemetry_rate_limit: 100.0,
            trusted_proxies: Vec::new(),
            request_timeout_s: 120,
        }
    }
}
