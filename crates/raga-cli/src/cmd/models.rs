//! `ragasense models …`: the model registry from the command line.

use anyhow::{Context, Result};
use clap::Subcommand;
use registry_server::client::{ModelVersion, RegistryClient, Stage};

/// Arguments of `ragasense models`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry URL (falls back to RAGASENSE_TRACKING_URI, then MLFLOW_TRACKING_URI,
    /// then http://127.0.0.1:5000).
    #[arg(long, global = true)]
    tracking_uri: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Name recorded in the stage/alias history (default: $USER).
    #[arg(long, global = true, env = "RAGASENSE_USER")]
    user: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Registered models with their latest versions.
    List,
    /// One model: its versions, aliases and stage/alias history.
    Describe { name: String },
    /// All versions of a model, newest first.
    Versions { name: String },
    /// Move a version to a stage (archiving the versions already there).
    Promote {
        name: String,
        #[arg(value_name = "VERSION")]
        number: u64,
        #[arg(long, value_enum, ignore_case = true)]
        stage: Stage,
        /// Keep other versions in the target stage instead of archiving them.
        #[arg(long)]
        keep_existing: bool,
    },
    /// Point an alias (e.g. `champion`) at a version.
    Alias {
        name: String,
        alias: String,
        #[arg(value_name = "VERSION")]
        number: u64,
    },
    /// Restore the previous Production version.
    Rollback { name: String },
    /// Register a model package folder (from `ragasense package`) as a new version: a run
    /// holds its files as artifacts, the version points at them; optionally promoted.
    Publish {
        /// Package folder: manifest.json + model.bpk.
        package: std::path::PathBuf,
        /// Registered model name (default: the manifest's name).
        #[arg(long)]
        name: Option<String>,
        /// Move the new version to this stage (archiving the versions already there).
        #[arg(long, value_enum, ignore_case = true)]
        stage: Option<Stage>,
        /// Point this alias (e.g. `production`) at the new version.
        #[arg(long)]
        alias: Option<String>,
    },
}

pub async fn run(args: Args) -> Result<()> {
    let mut client = RegistryClient::from_env(args.tracking_uri.as_deref())?;
    if let Some(user) = args.user.clone().or_else(|| std::env::var("USER").ok()) {
        client = client.with_user(user);
    }
    let at = || format!("registry at {}", client.base());
    match args.command {
        Command::List => {
            let models = client.list_models().await.with_context(at)?;
            if args.json {
                return print_json(&models);
            }
            println!("{:<28} {:>8}  {:<12} {:<12}", "NAME", "VERSIONS", "PRODUCTION", "STAGING");
            for m in &models {
                let in_stage = |s: &str| {
                    m.latest_versions
                        .iter()
                        .find(|v| v.current_stage == s)
                        .map_or("-".into(), |v| v.version.clone())
                };
                let newest = m
                    .latest_versions
                    .iter()
                    .map(|v| v.version.parse::<u64>().unwrap_or(0))
                    .max()
                    .unwrap_or(0);
                println!(
                    "{:<28} {:>8}  {:<12} {:<12}",
                    m.name,
                    newest,
                    in_stage("Production"),
                    in_stage("Staging")
                );
            }
            if models.is_empty() {
                println!("(no registered models)");
            }
        }
        Command::Describe { name } => {
            let d = client.describe(&name).await.with_context(at)?;
            if args.json {
                return print_json(
                    &serde_json::json!({"model": d.model, "versions": d.versions, "history": d.history}),
                );
            }
            println!("{}", d.model.name);
            if let Some(text) = d.model.description.as_deref().filter(|t| !t.is_empty()) {
                println!("  {text}");
            }
            print_versions(&d.versions);
            println!("\nhistory (newest first):");
            for h in &d.history {
                let what = match &h.alias {
                    Some(alias) => format!("alias @{alias}"),
                    None => format!("version {}", h.version.as_deref().unwrap_or("?")),
                };
                println!(
                    "  {}  {:<10} {what}: {} → {}{}",
                    h.timestamp,
                    h.actor,
                    h.from.as_deref().unwrap_or("-"),
                    h.to.as_deref().unwrap_or("-"),
                    h.comment.as_deref().map(|c| format!("  ({c})")).unwrap_or_default()
                );
            }
        }
        Command::Versions { name } => {
            let versions = client.versions(&name).await.with_context(at)?;
            if args.json {
                return print_json(&versions);
            }
            print_versions(&versions);
        }
        Command::Promote { name, number, stage, keep_existing } => {
            let v = client.promote(&name, number, stage, !keep_existing).await.with_context(at)?;
            if args.json {
                return print_json(&v);
            }
            println!("{name} version {} is now in {}", v.version, v.current_stage);
        }
        Command::Alias { name, alias, number } => {
            client.set_alias(&name, &alias, number).await.with_context(at)?;
            println!("{name}@{alias} → version {number}");
        }
        Command::Publish { package, name, stage, alias } => {
            let v = publish(&client, &package, name.as_deref()).await.with_context(at)?;
            let number: u64 = v.version.parse().context("the registry answered a non-numeric version")?;
            if let Some(stage) = stage {
                client.promote(&v.name, number, stage, true).await.with_context(at)?;
            }
            if let Some(alias) = &alias {
                client.set_alias(&v.name, alias, number).await.with_context(at)?;
            }
            if args.json {
                return print_json(
                    &client
                        .versions(&v.name)
                        .await
                        .with_context(at)?
                        .into_iter()
                        .find(|x| x.version == v.version),
                );
            }
            println!("published {} as {} version {number}", package.display(), v.name);
            let selector = alias.map(|a| format!("@{a}")).unwrap_or_else(|| number.to_string());
            println!("browsers load {}/v1/models/{}/{selector}/manifest.json", client.base(), v.name);
        }
        Command::Rollback { name } => {
            let r = client.rollback(&name).await.with_context(at)?;
            if args.json {
                return print_json(&r.model_version);
            }
            println!(
                "{name}: Production is version {} again (was {})",
                r.model_version.version,
                r.previous_version.as_deref().unwrap_or("none")
            );
        }
    }
    Ok(())
}

/// Uploads a package folder as the artifacts of a new run of `RagaSense_<model>` and registers
/// it as a version of the model (named by the manifest unless `name` is given).
async fn publish(client: &RegistryClient, dir: &std::path::Path, name: Option<&str>) -> Result<ModelVersion> {
    let (manifest_bytes, weights) = raga_train::package::read_package(dir)?;
    // The same checks a loader makes: a broken package is refused before anything is stored.
    let manifest = raga_model::Manifest::from_json(&manifest_bytes)
        .with_context(|| format!("{}/manifest.json", dir.display()))?;
    manifest
        .verify_file(raga_model::package::WEIGHTS_FILE, &weights)
        .with_context(|| format!("{}", dir.display()))?;
    let name = name.unwrap_or(&manifest.name).to_string();
    let experiment = client.get_or_create_experiment(&format!("RagaSense_{name}")).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let tags = vec![
        ("mlflow.source.type".to_string(), "LOCAL".to_string()),
        ("ragasense.published_from".to_string(), dir.display().to_string()),
    ];
    let run_id = client.create_run(&experiment, &format!("publish_{name}"), now, &tags).await?;
    let artifact_uri = client.run_artifact_uri(&run_id).await?;
    client.upload_artifact(&artifact_uri, "package/manifest.json", manifest_bytes).await?;
    client
        .upload_artifact(&artifact_uri, &format!("package/{}", raga_model::package::WEIGHTS_FILE), weights)
        .await?;
    client.end_run(&run_id, "FINISHED", now).await?;
    let tags = vec![
        ("quantization".to_string(), format!("{:?}", manifest.quantization).to_lowercase()),
        ("features_version".to_string(), manifest.features_version.to_string()),
    ];
    Ok(client.create_version(&name, &format!("runs:/{run_id}/package"), &run_id, &tags).await?)
}

fn print_versions(versions: &[ModelVersion]) {
    println!("{:>8}  {:<11} {:<24} SOURCE", "VERSION", "STAGE", "ALIASES");
    for v in versions {
        println!("{:>8}  {:<11} {:<24} {}", v.version, v.current_stage, v.aliases.join(","), v.source);
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value).context("encoding JSON")?);
    Ok(())
}
