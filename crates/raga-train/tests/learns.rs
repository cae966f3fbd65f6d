//! A tiny model learns on both backends: a few optimizer steps on rendered clips lower the
//! loss on flex (CPU) and on wgpu (a GPU, or Mesa's lavapipe in CI).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns; a failed unwrap is a failed test

use std::sync::Arc;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use raga_dsp::FeatureConfig;
use raga_model::Tradition;
use raga_synth::{RenderOptions, Split, clip_seed};
use raga_train::TrainConfig;
use raga_train::data::{AugmentConfig, EpochPlan, Example, epoch_batches};

fn examples() -> Vec<Example> {
    let opts = RenderOptions { seconds: 4.0, ..RenderOptions::default() };
    ["yaman", "malkauns", "mohanam"]
        .iter()
        .enumerate()
        .flat_map(|(label, id)| {
            let raga = raga_synth::raga(id).unwrap();
            let index = raga_synth::raga_index(id).unwrap();
            let opts = opts.clone();
            (0..2).map(move |k| {
                let clip = raga_synth::render(raga, clip_seed(11, Split::Train, index, k), &opts).unwrap();
                let f =
                    raga_dsp::extract(&clip.samples, raga_synth::SAMPLE_RATE, 1, &FeatureConfig::default())
                        .unwrap();
                Example::new(Arc::new(f), label, Tradition::Unknown, format!("{id}/{k}"), Some(clip.tonic_hz))
            })
        })
        .collect()
}

/// Loss of the first and of the last of `steps` steps of `profile`'s model on one fixed batch
/// of the profile's batch size, at learning rate `lr`.
fn first_and_last_loss(
    profile: &str,
    lr: f64,
    device: &Device,
    examples: &[Example],
    steps: usize,
) -> (f32, f32) {
    let mut config = TrainConfig::profile(profile, 3).unwrap();
    // No dropout, so the losses of one fixed batch compare step to step.
    config.model.dropout = 0.0;
    let none = AugmentConfig::none();
    let plan = EpochPlan { windows_per_clip: 1, augment: &none, ..config.epoch_plan() };
    let batch = &epoch_batches(examples, &plan, 1)[0];
    let ad = device.clone().autodiff();
    let mut model = raga_train::train::seeded_init(&config.model, &ad, 1);
    let mut optim = AdamWConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let mut losses = Vec::new();
    for _ in 0..steps {
        let (input, targets) = batch.to_device(&ad);
        let loss = loss_fn.forward(model.forward(input), targets);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        losses.push(loss.into_data().try_to_vec::<f32>().unwrap()[0]);
        model = optim.step(lr, model, grads);
    }
    (losses[0], *losses.last().unwrap())
}

#[test]
fn loss_falls_on_flex_and_on_wgpu() {
    let examples = examples();
    for (name, device) in [("flex", Device::flex()), ("wgpu", Device::wgpu(DeviceKind::DefaultDevice))] {
        let (first, last) = first_and_last_loss("tiny", 3e-3, &device, &examples, 12);
        assert!(first.is_finite() && last.is_finite(), "{name}: {first} → {last}");
        assert!(last < 0.5 * first, "{name}: loss should fall by half in 12 steps, {first} → {last}");
    }
}

/// The reference model (d_model 384, 6 heads, 4 layers, 432-frame windows, batch 4) takes
/// real optimizer steps on the CPU: a full run needs a GPU, but its shapes and its
/// backward pass are checked here.
#[test]
fn full_profile_takes_steps_on_flex() {
    let examples = examples();
    let config = TrainConfig::profile("full", 3).unwrap();
    assert_eq!((config.model.d_model, config.model.n_heads, config.model.n_layers), (384, 6, 4));
    let (first, last) = first_and_last_loss("full", config.lr, &Device::flex(), &examples, 6);
    assert!(first.is_finite() && last.is_finite(), "{first} → {last}");
    assert!(last < first, "six steps on one batch should lower its loss: {first} → {last}");
}

/// Per-epoch training losses of `train` on `devices` (tiny profile, no dropout or
/// augmentation, so only the device split can change them).
fn train_losses(devices: &[Device], examples: &[Example]) -> Vec<f64> {
    let mut config = TrainConfig::profile("tiny", 3).unwrap().with_windows_per_clip(4);
    config.epochs = 4;
    config.augment = AugmentConfig::none();
    config.model.dropout = 0.0;
    let labels: Vec<String> = ["yaman", "malkauns", "mohanam"].iter().map(|s| s.to_string()).collect();
    let dir = tempfile::tempdir().unwrap();
    let trained = raga_train::train::train(
        &config,
        &labels,
        &[Tradition::Unknown; 3],
        raga_train::train::TrainData { train: examples, val: examples },
        devices,
        dir.path(),
        &mut raga_train::Quiet,
    )
    .unwrap();
    trained.history.iter().map(|m| m.train_loss).collect()
}

/// Data parallel over two shards on the same CPU device: the summed shard gradients are the
/// full batch's gradient, so the run follows the one-device run up to float rounding.
#[test]
fn data_parallel_matches_one_device() {
    let examples = examples();
    let single = train_losses(&[Device::flex()], &examples);
    let split = train_losses(&[Device::flex(), Device::flex()], &examples);
    let mixed = train_losses(&[Device::flex(), Device::wgpu(DeviceKind::DefaultDevice)], &examples);
    eprintln!("train loss per epoch: one device {single:?}, [flex, flex] {split:?}, [flex, wgpu] {mixed:?}");
    assert!(split.last().unwrap() < &split[0], "data-parallel loss should fall: {split:?}");
    for (tolerance, other) in [(1e-3, &split), (1e-2, &mixed)] {
        assert_eq!(single.len(), other.len());
        for (a, b) in single.iter().zip(other) {
            assert!((a - b).abs() <= tolerance * a.abs().max(1.0), "{single:?} vs {other:?}");
        }
    }
}
