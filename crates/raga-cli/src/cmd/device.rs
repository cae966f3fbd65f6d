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

/// The devices of `--devices`, a comma list of `flex`, `wgpu` (burn's default wgpu adapter),
/// `wgpu:N` (the N-th discrete GPU wgpu finds) and `wgpu:cpu` (a software adapter such as
/// lavapipe). Gives the devices (the first is the main one) and each one's name as written.
pub fn parse_devices(list: &str) -> Result<(Vec<Device>, Vec<String>), String> {
    let mut devices = Vec::new();
    let mut names = Vec::new();
    for spec in list.split(',').map(str::trim) {
        let device = match spec {
            "flex" => Device::flex(),
            "wgpu" => Device::wgpu(DeviceKind::DefaultDevice),
            "wgpu:cpu" => Device::wgpu(DeviceKind::Cpu),
            _ => match spec.strip_prefix("wgpu:").map(str::parse::<usize>) {
                Some(Ok(n)) => Device::wgpu(DeviceKind::DiscreteGpu(n)),
                _ => {
                    return Err(format!(
                        "bad device {spec:?} in --devices {list:?}: use a comma list of flex, wgpu, \
                         wgpu:N (the N-th discrete GPU) or wgpu:cpu, e.g. wgpu:0,wgpu:1"
                    ));
                }
            },
        };
        devices.push(device);
        names.push(spec.to_string());
    }
    Ok((devices, names))
}

/// What wgpu offers on this machine.
fn adapters() -> Vec<wgpu::AdapterInfo> {
    let instance = wgpu::Instance::default();
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(|a| a.get_info())
        .collect()
}

/// Whether wgpu sees a hardware (non-CPU) adapter.
fn has_gpu_adapter() -> bool {
    adapters().iter().any(|a| a.device_type != wgpu::DeviceType::Cpu)
}

/// The hardware behind a device name, for run tags: for wgpu the best adapter it offers
/// (discrete GPU, else integrated, else virtual, else CPU — the order burn's default device
/// picks in), for flex the CPU model and its threads.
pub fn adapter(device_name: &str) -> String {
    if device_name == "wgpu" {
        let rank = |t: wgpu::DeviceType| match t {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Cpu => 3,
            wgpu::DeviceType::Other => 4,
        };
        return adapters().into_iter().min_by_key(|i| rank(i.device_type)).map_or_else(
            || "no wgpu adapter".into(),
            |i| format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type),
        );
    }
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    format!("{model} ({threads} threads)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lists_parse_and_bad_specs_are_named() {
        let (devices, names) = parse_devices("flex, flex").unwrap();
        assert_eq!((devices.len(), names), (2, vec!["flex".to_string(), "flex".to_string()]));
        assert_eq!(parse_devices("wgpu:0,wgpu:1,wgpu,wgpu:cpu").unwrap().0.len(), 4);
        for bad in ["", "cuda:0", "wgpu:x", "flex,,flex", "wgpu:-1"] {
            let err = parse_devices(bad).unwrap_err();
            assert!(err.contains("bad device"), "{bad}: {err}");
        }
    }
}
