//! `ragasense token …`: API tokens of the registry (create, list, revoke).
//!
//! Through the server (`--tracking-uri`, with an admin token in `RAGASENSE_TRACKING_TOKEN` or
//! `MLFLOW_TRACKING_TOKEN`; none is needed while the server runs with auth off), or straight
//! in the store with `--backend-store-uri` — how the first admin token of a server with auth
//! on is made, on the server's machine.

use anyhow::{Context, Result};
use clap::Subcommand;
use registry_server::auth::tokens;
use registry_server::client::{CreatedToken, NewToken, RegistryClient, Scope, TokenInfo};
use registry_server::db::{Db, StoreUri};

/// Arguments of `ragasense token`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Registry URL (falls back to RAGASENSE_TRACKING_URI, then MLFLOW_TRACKING_URI, then
    /// http://127.0.0.1:5000).
    #[arg(long, global = true, conflicts_with = "backend_store_uri")]
    tracking_uri: Option<String>,
    /// Work on the store itself (e.g. sqlite:///./ragasense-data/mlruns.db) instead of through
    /// the server: for the first admin token.
    #[arg(long, global = true)]
    backend_store_uri: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a token and print it (it is shown this once).
    Create {
        /// Who or what it is for (shown in lists and in the audit log).
        #[arg(long)]
        name: String,
        /// Scopes: read, write (tracking + registry), admin (tokens, deletes, audit); or
        /// telemetry alone, a publishable key for web pages. Repeat or separate with commas.
        #[arg(long = "scope", value_enum, value_delimiter = ',', required = true)]
        scopes: Vec<Scope>,
        /// Limit a telemetry key to this model (repeatable).
        #[arg(long = "model")]
        models: Vec<String>,
        /// Expire after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List tokens (never their secrets).
    List {
        /// Include revoked tokens.
        #[arg(long)]
        all: bool,
    },
    /// Revoke a token by its id (the second part of `rsk_<id>_…`, shown by `list`).
    Revoke { id: String },
}

/// Runs `ragasense token`.
pub async fn run(args: Args) -> Result<()> {
    let store = match &args.backend_store_uri {
        Some(uri) => {
            let store = StoreUri::parse(uri).context("reading --backend-store-uri")?;
            Some(Db::connect(&store).await.with_context(|| format!("opening the store {store}"))?)
        }
        None => None,
    };
    let client = match store {
        Some(_) => None,
        None => Some(RegistryClient::from_env(args.tracking_uri.as_deref())?),
    };
    match args.command {
        Command::Create { name, scopes, models, expires_in_days } => {
            let new =
                NewToken { name, scopes, models: (!models.is_empty()).then_some(models), expires_in_days };
            let created: CreatedToken = match (&store, &client) {
                (Some(db), _) => tokens::create(db, &new, &local_user()).await?,
                (None, Some(c)) => c.create_token(&new).await.context("creating the token")?,
                (None, None) => unreachable_store()?,
            };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&created)?);
            } else {
                println!("{}", created.token);
                eprintln!(
                    "token '{}' ({}) created with scopes {}: copy it now, it is not shown again",
                    created.info.name,
                    created.info.id,
                    scope_list(&created.info.scopes)
                );
            }
        }
        Command::List { all } => {
            let list: Vec<TokenInfo> = match (&store, &client) {
                (Some(db), _) => tokens::list(db, all).await?,
                (None, Some(c)) => c.list_tokens(all).await.context("listing tokens")?,
                (None, None) => unreachable_store()?,
            };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!("{:<13} {:<24} {:<18} {:<20} STATE", "ID", "NAME", "SCOPES", "LAST USED");
                for t in &list {
                    let state = match (t.revoked_ms, t.expires_ms) {
                        (Some(_), _) => "revoked".to_string(),
                        (None, Some(e)) => format!("expires {}", day(e)),
                        (None, None) => "active".to_string(),
                    };
                    let used = t.last_used_ms.map_or_else(|| "never".to_string(), day);
                    println!(
                        "{:<13} {:<24} {:<18} {:<20} {state}",
                        t.id,
                        t.name,
                        scope_list(&t.scopes),
                        used
                    );
                }
            }
        }
        Command::Revoke { id } => {
            let info = match (&store, &client) {
                (Some(db), _) => tokens::revoke(db, &id).await?,
                (None, Some(c)) => c.revoke_token(&id).await.context("revoking the token")?,
                (None, None) => unreachable_store()?,
            };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                println!("revoked token '{}' ({})", info.name, info.id);
            }
        }
    }
    Ok(())
}

fn unreachable_store<T>() -> Result<T> {
    anyhow::bail!("neither a server nor a store to work on: pass --tracking-uri or --backend-store-uri")
}

fn scope_list(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

/// `YYYY-MM-DD` (UTC) of a time in ms.
fn day(ms: i64) -> String {
    let (y, m, d) = super::track::civil_date(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Who creates a token from the store directly: `local:$USER`.
fn local_user() -> String {
    format!("local:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

#[cfg(test)]
mod tests {
    use super::day;

    #[test]
    fn days_are_civil_dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(1_795_824_000_000), "2026-11-28");
        assert_eq!(day(951_782_400_000), "2000-02-29");
    }
}
