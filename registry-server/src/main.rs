//! `registry-server`: the server alone, for tests and benchmarks (`ragasense server` is the
//! same thing inside the full CLI).

use clap::Parser;
use registry_server::ServerConfig;

#[derive(Debug, Parser)]
#[command(name = "registry-server", about = "MLflow-compatible registry server of RagaSense")]
struct Cli {
    #[command(flatten)]
    server: ServerConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    registry_server::serve(cli.server).await
}
