//! `--device wgpu|flex`: the one place the binary picks a burn backend.

use burn::prelude::{Device, DeviceKind};

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    /// wgpu: Vulkan/Metal/DX12 GPU (or Mesa's lavapipe on a CPU-only machine).
    Wgpu,
    /// flex: burn's pure-Rust CPU backend (SIMD + threads).
    Flex,
}

/// The device to use and its name for reports. Without a choice: wgpu when a GPU adapter
/// exists, else flex (a software Vulkan adapter such as lavapipe is slower than flex).
pub fn pick(choice: Option<DeviceChoice>) -> (Device, &'static str) {
    match choice.unwrap_or_else(|| if has_gpu_adapter() { DeviceChoice::Wgpu } else { DeviceChoice::Flex }) {
        DeviceChoice::Wgpu => (Device::wgpu(DeviceKind::DefaultDevice), "wgpu"),
        DeviceChoice::Flex => (Device::flex(), "flex"),
    }
}

/// Whether wgpu sees a hardware (non-CPU) adapter.
fn has_gpu_adapter() -> bool {
    let instance = wgpu::Instance::default();
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters.iter().any(|a| a.get_info().device_type != wgpu::DeviceType::Cpu)
}
