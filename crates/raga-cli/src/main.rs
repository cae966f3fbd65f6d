//! The `ragasense` command: one binary, one subcommand per job.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Raga detection and the MLOps around it.
#[derive(Debug, Parser)]
#[command(name = "ragasense", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render a labelled synthetic raga corpus (WAV + metadata.csv + ground-truth F0).
    Synth(cmd::synth::Args),
    /// Compute log-mel, F0 and tonic of an audio file.
    Features(cmd::features::Args),
    /// Train the raga model on a corpus folder (writes a run folder).
    Train(cmd::train::Args),
    /// Turn a training run into a model package (manifest + f32/int8/int4 weights).
    Package(cmd::package::Args),
    /// Detect the raga of audio files with a model package.
    Classify(cmd::classify::Args),
    /// Score a model package on a labelled corpus (accuracy, macro-F1, confusion).
    Evaluate(cmd::evaluate::Args),
    /// Run the registry: MLflow-compatible tracking, model registry, publication to browsers.
    Server(registry_server::ServerConfig),
    /// Serve one model over HTTP in MLflow's scoring protocol (POST /invocations), like `mlflow models serve`.
    ServeModel(cmd::serve_model::Args),
    /// Inspect and move registered models (list, describe, versions, promote, alias, rollback).
    Models(cmd::models::Args),
    /// Send a training run folder to the tracking server: whatever it does not have yet.
    Sync(cmd::track::Args),
    /// Retrain a tracked run from its recorded config, seed and corpus; compare the metrics.
    Reproduce(cmd::reproduce::Args),
    /// Write the web app plus a published model into a folder any static host serves.
    Export(cmd::export::Args),
    /// Create, list and revoke the registry's API tokens.
    Token(cmd::token::Args),
}

/// Exits quietly, as a process killed by SIGPIPE would (status 141), when stdout is closed
/// under us (`ragasense evaluate … | head -3`): printing to it would otherwise panic.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("Broken pipe")) {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// Whether `err` is a write to a stdout the reader has closed (see [`quiet_on_closed_stdout`]):
/// a broken pipe under a context that names stdout (a broken connection to a server is an
/// error to report).
fn stdout_closed(err: &anyhow::Error) -> bool {
    format!("{err:#}").contains("stdout")
        && err.chain().any(|e| {
            e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
                || e.downcast_ref::<serde_json::Error>()
                    .is_some_and(|e| e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
        })
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Synth(args) => cmd::synth::run(args),
        Command::Features(args) => cmd::features::run(args),
        Command::Train(args) => cmd::train::run_cmd(args),
        Command::Package(args) => cmd::package::run(args),
        Command::Classify(args) => cmd::classify::run(args),
        Command::Evaluate(args) => cmd::evaluate::run(args),
        Command::Server(config) => cmd::block_on(registry_server::serve(config)),
        Command::ServeModel(args) => cmd::block_on(cmd::serve_model::run(args)),
        Command::Models(args) => cmd::block_on(cmd::models::run(args)),
        Command::Sync(args) => cmd::block_on(cmd::track::run(args)),
        Command::Reproduce(args) => cmd::reproduce::run_cmd(args),
        Command::Export(args) => cmd::block_on(cmd::export::run(args)),
        Command::Token(args) => cmd::block_on(cmd::token::run(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if stdout_closed(&err) => ExitCode::from(141),
        Err(err) => {
            // One line: what was being done and why it failed, outermost first.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
