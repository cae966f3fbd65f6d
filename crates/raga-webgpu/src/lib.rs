//! The browser's WebGPU device, through burn's `webgpu` backend (cubecl, its kernels and its
//! shader compiler: three quarters of the browser runtime's download).
//!
//! `raga-wasm` depends on this crate only with its `webgpu` feature (on by default), so the
//! CPU-only npm package (`scripts/build-npm.sh --cpu-only`) carries none of it. The crate is
//! empty outside wasm.

/// Asks the browser for a WebGPU adapter and device; the error says why there is none.
#[cfg(target_family = "wasm")]
pub async fn device() -> Result<burn::prelude::Device, String> {
    burn::prelude::Device::wgpu_options().init_async().await.map_err(|e| format!("no WebGPU adapter: {e}"))
}
