//! The model on one or two devices: WebGPU when the browser has an adapter, the CPU (flex,
//! wasm SIMD) always as the fallback. `auto` times both on the first clip and keeps the
//! faster: on small models and software WebGPU the CPU often wins.

use std::cell::Cell;

use burn::prelude::Device;
use raga_dsp::Features;
use raga_model::{Classifier, Prediction, Tradition};

use crate::error::RuntimeError;
use crate::loader::Package;
use crate::net::now_ms;
use crate::output::BackendKind;

/// What the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// WebGPU and the CPU, the faster one kept after the first clip.
    Auto,
    /// WebGPU only (an error where there is none).
    Webgpu,
    /// The CPU only.
    Cpu,
}

impl BackendChoice {
    /// Parses `auto` / `webgpu` / `cpu` (default `auto`).
    pub fn parse(s: Option<&str>) -> Result<Self, RuntimeError> {
        match s.unwrap_or("auto") {
            "auto" => Ok(Self::Auto),
            "webgpu" | "gpu" => Ok(Self::Webgpu),
            "cpu" | "flex" => Ok(Self::Cpu),
            other => Err(RuntimeError::Options(format!("backend '{other}': use 'auto', 'webgpu' or 'cpu'"))),
        }
    }
}

/// The loaded model on its device(s).
#[derive(Debug)]
pub struct Engines {
    cpu: Option<Classifier>,
    gpu: Option<Classifier>,
    decided: Cell<Option<BackendKind>>,
    /// Why WebGPU is not in use, when it is not.
    pub webgpu_note: Option<String>,
    /// Inference milliseconds of each backend on the first clip, when `auto` timed both.
    pub trial_ms: Cell<Option<(f64, f64)>>,
}

impl Engines {
    /// Loads the package's model onto the devices `choice` asks for.
    pub async fn new(package: &Package, choice: BackendChoice) -> Result<Self, RuntimeError> {
        let load = |device: &Device| {
            Classifier::from_package(&package.manifest_bytes, package.weights.clone(), device)
        };
        let (gpu, webgpu_note) = match choice {
            BackendChoice::Cpu => (None, Some("the CPU backend was requested".to_string())),
            BackendChoice::Webgpu | BackendChoice::Auto => match webgpu_device().await {
                // burn's WebGPU kernels cannot dequantize int8 (`Q8S`) weights: f32 there.
                Ok(device) => (
                    Some(Classifier::from_package_dequantized(
                        &package.manifest_bytes,
                        package.weights.clone(),
                        &device,
                    )?),
                    None,
                ),
                Err(why) if choice == BackendChoice::Webgpu => {
                    return Err(RuntimeError::Backend(format!(
                        "WebGPU is not available here ({why}); use backend 'cpu' or 'auto'"
                    )));
                }
                Err(why) => (None, Some(why)),
            },
        };
        let cpu = match choice {
            BackendChoice::Webgpu => None,
            _ => Some(load(&Device::flex())?),
        };
        let decided = match (&cpu, &gpu) {
            (Some(_), None) => Some(BackendKind::Cpu),
            (None, Some(_)) => Some(BackendKind::Webgpu),
            _ => None,
        };
        Ok(Self { cpu, gpu, decided: Cell::new(decided), webgpu_note, trial_ms: Cell::new(None) })
    }

    /// The backend in use, `None` while `auto` has not timed both yet.
    pub fn backend(&self) -> Option<BackendKind> {
        self.decided.get()
    }

    /// Whether WebGPU is loaded.
    pub fn has_webgpu(&self) -> bool {
        self.gpu.is_some()
    }

    /// Classifies on the chosen backend (timing both the first time under `auto`); returns
    /// the prediction, the backend that answered and the inference time.
    pub async fn classify(
        &self,
        features: &Features,
        tradition: Tradition,
    ) -> Result<(Prediction, BackendKind, f64), RuntimeError> {
        let on = |kind: BackendKind| match kind {
            BackendKind::Cpu => self.cpu.as_ref(),
            BackendKind::Webgpu => self.gpu.as_ref(),
        };
        if let Some(kind) = self.decided.get()
            && let Some(classifier) = on(kind)
        {
            let t = now_ms();
            let p = classifier.classify_async(features, tradition).await?;
            return Ok((p, kind, now_ms() - t));
        }
        let (Some(cpu), Some(gpu)) = (&self.cpu, &self.gpu) else {
            return Err(RuntimeError::Disposed);
        };
        let t = now_ms();
        let on_cpu = cpu.classify_async(features, tradition).await?;
        let cpu_ms = now_ms() - t;
        let t = now_ms();
        let on_gpu = gpu.classify_async(features, tradition).await;
        let gpu_ms = now_ms() - t;
        self.trial_ms.set(Some((cpu_ms, gpu_ms)));
        match on_gpu {
            Ok(p) if gpu_ms < cpu_ms => {
                self.decided.set(Some(BackendKind::Webgpu));
                Ok((p, BackendKind::Webgpu, gpu_ms))
            }
            _ => {
                self.decided.set(Some(BackendKind::Cpu));
                Ok((on_cpu, BackendKind::Cpu, cpu_ms))
            }
        }
    }
}

/// A WebGPU device, or why there is none.
#[cfg(all(target_family = "wasm", feature = "webgpu"))]
async fn webgpu_device() -> Result<Device, String> {
    let gpu = crate::net::global("navigator").and_then(|n| js_sys::Reflect::get(&n, &"gpu".into()).ok());
    if gpu.is_none_or(|g| g.is_undefined() || g.is_null()) {
        return Err("this browser exposes no navigator.gpu".into());
    }
    raga_webgpu::device().await
}

/// The CPU-only package carries no WebGPU backend.
#[cfg(all(target_family = "wasm", not(feature = "webgpu")))]
async fn webgpu_device() -> Result<Device, String> {
    Err("this is the CPU-only build of ragasense (no WebGPU backend in it)".into())
}

/// Natively there is no browser WebGPU (the native trainer uses wgpu directly).
#[cfg(not(target_family = "wasm"))]
async fn webgpu_device() -> Result<Device, String> {
    Err("WebGPU exists only in a browser build".into())
}
