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
