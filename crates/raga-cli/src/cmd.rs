//! Subcommands, one module each.

pub mod classify;
pub mod device;
pub mod evaluate;
pub mod export;
pub mod features;
pub mod models;
pub mod package;
pub mod progress;
pub mod reproduce;
pub mod serve_model;
pub mod synth;
pub mod token;
pub mod track;
pub mod train;

/// Runs an async command on a multi-threaded tokio runtime.
pub fn block_on<T, F: std::future::Future<Output = anyhow::Result<T>>>(future: F) -> anyhow::Result<T> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(future)
}
