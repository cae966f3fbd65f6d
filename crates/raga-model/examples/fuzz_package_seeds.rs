//! Writes small model packages, framed as the `package_load` fuzz target reads them (a 4-byte
//! little-endian manifest length, the manifest, the weights), into a folder: seeds a few KiB
//! long, so the fuzzer mutates every byte of a package at thousands of inputs per second
//! instead of a real 340 KiB one. Every quantization, with and without the tonic check.
//!
//!   cargo run -p raga-model --example fuzz_package_seeds -- fuzz/corpus/package_load

use std::path::PathBuf;

use burn::prelude::Device;
use raga_dsp::FeatureConfig;
use raga_model::package::weights_to_bytes;
use raga_model::{Manifest, Quantization, RagaModelConfig, Tradition};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: fuzz_package_seeds OUT_DIR")?);
    std::fs::create_dir_all(&out)?;
    let device = Device::flex();
    for tonic_check in [false, true] {
        let config = RagaModelConfig::new(2)
            .with_d_model(4)
            .with_n_heads(2)
            .with_n_layers(1)
            .with_d_ff(4)
            .with_window_frames(16)
            .with_tonic_check(tonic_check);
        let model = config.init(&device);
        for quantization in [Quantization::F32, Quantization::Int8, Quantization::Int4] {
            let weights = weights_to_bytes(&model, quantization)?;
            let mut manifest = Manifest::new(
                "seed",
                vec!["yaman".into(), "mohanam".into()],
                vec![Tradition::Hindustani, Tradition::Carnatic],
                config.clone(),
                FeatureConfig::default(),
                quantization,
                &weights,
            );
            manifest.training = serde_json::json!({"accuracy": 0.5});
            let manifest = manifest.to_json();
            let mut framed = u32::try_from(manifest.len())?.to_le_bytes().to_vec();
            framed.extend_from_slice(&manifest);
            framed.extend_from_slice(&weights);
            let name =
                format!("seed-tiny-{}{}", quantization.as_str(), if tonic_check { "-tonic" } else { "" });
            std::fs::write(out.join(&name), &framed)?;
            println!("{name}: {} bytes ({} of weights)", framed.len(), weights.len());
        }
    }
    Ok(())
}
