//! Subcommands, one module each.

pub mod features;
pub mod models;
pub mod synth;

/// Runs an async command on a multi-threaded tokio runtime.
pub fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(future: F) -> anyhow::Result<()> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(future)
}
