//! `ragasense serve-model`: one model behind MLflow's scoring-server routes
//! (`/invocations`, `/ping`, `/health`, `/version`), like `mlflow models serve`. The model is
//! a package folder or a registered version fetched from a registry; the routes are the
//! registry server's own (`registry_server::serving`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use raga_model::package::WEIGHTS_FILE;
use registry_server::client::RegistryClient;
use registry_server::serving::{Batching, ServedModel};

use super::export::{FetchedModel, ModelRef, fetch_model};

/// Arguments of `ragasense serve-model`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model: a package folder (manifest.json + model.bpk), or `models:/NAME/VERSION`,
    /// `models:/NAME/STAGE` or `models:/NAME@ALIAS` fetched from --registry.
    #[arg(value_name = "MODEL_REF")]
    model: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "RAGASENSE_SERVE_PORT", default_value_t = 5001)]
    port: u16,
    /// Address to listen on.
    #[arg(long, env = "RAGASENSE_SERVE_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Registry URL for `models:/` references (falls back to RAGASENSE_TRACKING_URI, then
    /// MLFLOW_TRACKING_URI, then http://127.0.0.1:5000).
    #[arg(long)]
    registry: Option<String>,
    /// Most concurrent clips whose windows share forward passes (1: one clip at a time;
    /// default 16 on machines of 4 or more cores, else 1).
    #[arg(long, env = "RAGASENSE_SERVE_MAX_BATCH_CLIPS", default_value_t = Batching::default().max_clips)]
    max_batch_clips: usize,
}

/// `ragasense serve-model`.
pub async fn run(args: Args) -> Result<()> {
    let model = load(&args.model, args.registry.as_deref()).await?;
    eprintln!(
        "serving {} version {} ({} ragas) at POST /invocations",
        model.name,
        model.version,
        model.classifier.manifest().labels.len()
    );
    let batching = Batching { max_clips: args.max_batch_clips.max(1), ..Batching::default() };
    registry_server::serving::serve_model(model, &args.host, args.port, batching).await
}

/// Loads `reference`: a `models:/` URI from the registry, else a package folder.
async fn load(reference: &str, registry: Option<&str>) -> Result<ServedModel> {
    if reference.starts_with("models:/") {
        let model = ModelRef::parse(reference)?;
        let client = RegistryClient::from_env(registry)?;
        let FetchedModel { local, files, at } = fetch_model(&client, &model).await?;
        let weights = files
            .into_iter()
            .find_map(|(path, bytes)| (path == WEIGHTS_FILE).then_some(bytes))
            .with_context(|| format!("the manifest of {at} lists no {WEIGHTS_FILE}"))?;
        let version = local.version.clone().unwrap_or_else(|| model.selector.clone());
        return ServedModel::load(&model.name, version, &local.json, weights)
            .with_context(|| format!("loading {at}"));
    }
    let dir = Path::new(reference);
    if !dir.is_dir() {
        bail!(
            "model '{reference}' is neither a package folder nor a registry reference: give a folder from \
             `ragasense package`, or models:/NAME/VERSION, models:/NAME/STAGE or models:/NAME@ALIAS"
        );
    }
    let (manifest, weights) = raga_train::package::read_package(dir)?;
    let name = raga_model::Manifest::from_json(&manifest)
        .with_context(|| format!("loading model package {}", dir.display()))?
        .name;
    ServedModel::load(name, "local", &manifest, weights)
        .with_context(|| format!("loading model package {}", dir.display()))
}
