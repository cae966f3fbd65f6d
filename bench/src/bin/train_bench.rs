//! Training throughput (windows/s) and inference latency (ms per 30 s clip) of the raga
//! model, per device, measured in one run: `train_bench [--profile small] [--devices flex,wgpu]`.
//!
//! Clips are rendered by raga-synth; features are computed once up front and not timed in
//! training (the trainer caches them) but are reported separately for inference.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use raga_dsp::FeatureConfig;
use raga_model::package::{Manifest, Quantization, weights_to_bytes};
use raga_model::{Classifier, Tradition};
use raga_synth::{RAGAS, RenderOptions, Split, clip_seed};
use raga_train::TrainConfig;
use raga_train::data::{EpochPlan, Example, epoch_batches};
use serde::Serialize;

#[derive(Serialize)]
struct Row {
    device: String,
    profile: String,
    params: usize,
    train_windows_per_s: f64,
    train_clip_seconds_per_s: f64,
    infer_ms_per_30s_clip: f64,
    features_ms_per_30s_clip: f64,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let profile = flag("--profile", "small");
    let devices = flag("--devices", "flex,wgpu");
    let steps: usize = flag("--steps", "20").parse().context("--steps")?;
    let config = TrainConfig::profile(&profile, RAGAS.len())?;

    eprintln!("rendering and featurizing clips …");
    let features_config = FeatureConfig::default();
    let opts = RenderOptions { seconds: 30.0, ..RenderOptions::default() };
    let mut examples = Vec::new();
    let mut feature_ms = Vec::new();
    for (i, raga) in RAGAS.iter().enumerate().take(8) {
        let clip = raga_synth::render(raga, clip_seed(77, Split::Val, i, 0), &opts)?;
        let t = Instant::now();
        let f = raga_dsp::extract(&clip.samples, raga_synth::SAMPLE_RATE, 1, &features_config)?;
        feature_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        examples.push(Example::new(Arc::new(f), i, Tradition::Unknown, raga.id.into(), Some(clip.tonic_hz)));
    }
    let features_ms = median(&mut feature_ms);

    let mut rows = Vec::new();
    for name in devices.split(',') {
        let device = match name {
            "flex" => Device::flex(),
            "wgpu" => Device::wgpu(DeviceKind::DefaultDevice),
            other => bail!("unknown device {other}; use flex or wgpu"),
        };
        // Training: `steps` optimizer steps after two warm-up steps.
        let ad = device.clone().autodiff();
        let mut model = raga_train::train::seeded_init(&config.model, &ad, 1);
        let params = model.num_params();
        let mut optim = AdamWConfig::new().with_weight_decay(config.weight_decay).init();
        let loss_fn = CrossEntropyLossConfig::new().with_smoothing(Some(0.1)).init(&ad);
        let batches = epoch_batches(&examples, &EpochPlan { windows_per_clip: 64, ..config.epoch_plan() }, 3);
        let mut timed_windows = 0usize;
        let mut started = Instant::now();
        for (k, batch) in batches.iter().take(steps + 2).enumerate() {
            if k == 2 {
                device.sync().ok();
                started = Instant::now();
            }
            let (input, targets) = batch.to_device(&ad);
            let loss = loss_fn.forward(model.forward(input), targets);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.lr, model, grads);
            if k >= 2 {
                timed_windows += batch.labels.len();
            }
        }
        let _ = model.valid().num_params();
        device.sync().ok();
        let train_s = started.elapsed().as_secs_f64();
        let windows_per_s = timed_windows as f64 / train_s;
        let window_seconds = config.model.window_frames as f64 * 512.0 / 22050.0;

        // Inference on 30 s clips through the same path as `ragasense classify`.
        let model = config.model.init(&device);
        let weights = weights_to_bytes(&model, Quantization::F32)?;
        let manifest = Manifest::new(
            "bench",
            RAGAS.iter().map(|r| r.id.to_string()).collect(),
            vec![Tradition::Unknown; RAGAS.len()],
            config.model.clone(),
            features_config.clone(),
            Quantization::F32,
            &weights,
        );
        let classifier = Classifier::from_package(&manifest.to_json(), weights, &device)?;
        classifier.classify(&examples[0].features, Tradition::Unknown)?; // warm-up (shader compilation)
        let mut infer_ms = Vec::new();
        for ex in &examples {
            let t = Instant::now();
            classifier.classify(&ex.features, Tradition::Unknown)?;
            infer_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        rows.push(Row {
            device: name.to_string(),
            profile: profile.clone(),
            params,
            train_windows_per_s: windows_per_s,
            train_clip_seconds_per_s: windows_per_s * window_seconds,
            infer_ms_per_30s_clip: median(&mut infer_ms),
            features_ms_per_30s_clip: features_ms,
        });
    }

    println!(
        "profile {profile}: {} parameters, window {} frames, batch {}",
        rows[0].params, config.model.window_frames, config.batch_size
    );
    println!(
        "{:<6} {:>16} {:>22} {:>18} {:>20}",
        "device", "train windows/s", "train audio-s per s", "infer ms / 30 s", "features ms / 30 s"
    );
    for r in &rows {
        println!(
            "{:<6} {:>16.1} {:>22.1} {:>18.1} {:>20.1}",
            r.device,
            r.train_windows_per_s,
            r.train_clip_seconds_per_s,
            r.infer_ms_per_30s_clip,
            r.features_ms_per_30s_clip
        );
    }
    if rows.len() == 2 {
        println!(
            "ratio {}/{}: training {:.2}x, inference {:.2}x",
            rows[1].device,
            rows[0].device,
            rows[1].train_windows_per_s / rows[0].train_windows_per_s,
            rows[0].infer_ms_per_30s_clip / rows[1].infer_ms_per_30s_clip
        );
    }
    std::fs::create_dir_all("target/bench").ok();
    std::fs::write("target/bench/train.json", serde_json::to_vec_pretty(&rows)?)
        .context("writing target/bench/train.json")?;
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
