//! The training loop: AdamW with linear warmup and cosine decay, label-smoothed
//! cross-entropy, clip-level validation every epoch, checkpoints and early stopping.

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use raga_model::classify::{TonicView, decide, split_views, tonic_views};
use raga_model::package::{Quantization, load_weights, weights_to_bytes};
use raga_model::{ModelInput, RagaModel, RagaModelConfig, ScaleTemplates, Tradition, Window};
use serde::{Deserialize, Serialize};

use crate::data::{AugmentConfig, Batch, EpochPlan, Example, epoch_batches};
use crate::metrics::Confusion;
use crate::{Progress, TrainError};

/// Everything that decides a training run; saved as `config.json` in the run folder.
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Profile name (`full`, `small`, `tiny`).
    pub profile: String,
    /// The network.
    pub model: RagaModelConfig,
    /// Windows per optimizer step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Most epochs to run.
    pub epochs: usize,
    /// Label smoothing of the cross-entropy.
    pub label_smoothing: f32,
    /// Stop after this many epochs without a better validation score.
    #[config(default = 10)]
    pub patience: usize,
    /// Random windows drawn from every training clip per epoch.
    #[config(default = 2)]
    pub windows_per_clip: usize,
    /// Epochs of linear learning-rate warmup.
    #[config(default = 1)]
    pub warmup_epochs: usize,
    /// Gradient norm clip.
    #[config(default = 1.0)]
    pub grad_clip_norm: f32,
    /// Seed of weights, dropout, windows and augmentation.
    #[config(default = 42)]
    pub seed: u64,
    /// Augmentation.
    pub augment: AugmentConfig,
}

impl TrainConfig {
    /// A named profile for `n_classes` ragas:
    /// - `full`: the reference model (d_model 384, 6 heads, 4 layers, 10 s windows; batch 4,
    ///   lr 2e-4, weight decay 1e-4, 50 epochs, label smoothing 0.1) — for a GPU;
    /// - `small`: a narrow, shallow model that trains in minutes on two CPU cores;
    /// - `tiny`: for tests and smoke runs only.
    pub fn profile(name: &str, n_classes: usize) -> Result<Self, TrainError> {
        let base = RagaModelConfig::new(n_classes).with_tonic_check(true);
        let config = match name {
            "full" => Self::new(
                name.into(),
                base.with_window_frames(432),
                4,
                2e-4,
                1e-4,
                50,
                0.1,
                AugmentConfig::new(),
            )
            .with_patience(12),
            "small" => Self::new(
                name.into(),
                base.with_d_model(96).with_n_heads(4).with_n_layers(2).with_d_ff(192).with_window_frames(256),
                16,
                1e-3,
                1e-4,
                30,
                0.1,
                AugmentConfig::new(),
            )
            .with_windows_per_clip(3)
            .with_patience(10),
            "tiny" => Self::new(
                name.into(),
                base.with_d_model(32)
                    .with_n_heads(2)
                    .with_n_layers(1)
                    .with_d_ff(64)
                    .with_window_frames(64)
                    .with_dropout(0.0),
                8,
                3e-3,
                1e-4,
                3,
                0.1,
                AugmentConfig::new(),
            ),
            other => {
                return Err(TrainError::Config(format!(
                    "unknown profile {other:?}; use full, small or tiny"
                )));
            }
        };
        Ok(config)
    }

    /// How each epoch draws its windows.
    pub fn epoch_plan(&self) -> EpochPlan<'_> {
        EpochPlan {
            window_frames: self.model.window_frames,
            windows_per_clip: self.windows_per_clip,
            batch_size: self.batch_size,
            off_tonic_label: self.model.tonic_check.then_some(self.model.n_classes),
            augment: &self.augment,
        }
    }

    /// Learning rate at `step` of `total` steps (`warmup` of them warming up).
    pub fn lr_at(&self, step: usize, warmup: usize, total: usize) -> f64 {
        if step < warmup {
            return self.lr * (step + 1) as f64 / warmup as f64;
        }
        let progress = (step - warmup) as f64 / (total.saturating_sub(warmup)).max(1) as f64;
        let floor = 0.05 * self.lr;
        floor + (self.lr - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
    }
}

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean label-smoothed loss over the epoch's training windows.
    pub train_loss: f64,
    /// Window accuracy on the (augmented) training batches.
    pub train_accuracy: f64,
    /// Window macro-F1 on the training batches.
    pub train_macro_f1: f64,
    /// Mean cross-entropy over the validation windows.
    pub val_loss: f64,
    /// Clip accuracy on the validation split.
    pub val_accuracy: f64,
    /// Clip macro-F1 on the validation split.
    pub val_macro_f1: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Wall time of the epoch (training + validation), seconds.
    pub epoch_seconds: f64,
    /// Training windows per second.
    pub windows_per_second: f64,
    /// Peak resident memory of the process so far, bytes (Linux; 0 elsewhere).
    pub peak_memory_bytes: u64,
    /// Bytes the device allocator reserves, where the backend reports it.
    pub device_memory_bytes: Option<u64>,
    /// Whether this epoch is the best so far (and saved as `checkpoints/best.bpk`).
    pub best: bool,
}

impl EpochMetrics {
    /// The epochs of a `metrics.jsonl` text (blank lines skipped).
    pub fn parse_jsonl(text: &str) -> Result<Vec<Self>, serde_json::Error> {
        text.lines().filter(|l| !l.trim().is_empty()).map(serde_json::from_str).collect()
    }
}

/// Clip-level results of a model on a set of examples.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Confusion matrix over clips.
    pub confusion: Confusion,
    /// Mean cross-entropy over windows.
    pub loss: f64,
    /// Per clip: (path, truth, predicted, confidence).
    pub predictions: Vec<(String, usize, usize, f32)>,
}

/// Each raga's scale template: the mean scale profile of its training clips, seen from their
/// true Sa where the corpus gives it (see [`raga_model::scale`]).
pub fn scale_templates(examples: &[Example], labels: usize) -> ScaleTemplates {
    ScaleTemplates::fit(
        labels,
        examples.iter().map(|ex| (ex.label, raga_model::scale::profile(&ex.features, ex.true_shift))),
    )
}

/// Scores `model` (with `templates`, as its package will have them) on `examples` as
/// inference would: clip by clip, every tonic candidate's windows (when the model checks
/// tonics) through [`decide`]. Each clip's tradition (from the corpus metadata, `Unknown`
/// where it has none) is given to the model unless `hide_tradition`. The loss is the
/// cross-entropy of the chosen view's windows.
#[allow(clippy::too_many_arguments)] // one call per use, each argument a different thing
pub fn evaluate(
    model: &RagaModel,
    config: &RagaModelConfig,
    templates: Option<&ScaleTemplates>,
    labels: &[String],
    traditions: &[Tradition],
    examples: &[Example],
    hide_tradition: bool,
    device: &Device,
) -> Result<Evaluation, TrainError> {
    let tradition_of = |ex: &Example| if hide_tradition { Tradition::Unknown } else { ex.tradition };
    let outputs = config.outputs();
    let mut confusion = Confusion::new(labels.len());
    let mut predictions = Vec::with_capacity(examples.len());
    let (mut loss_sum, mut loss_windows) = (0.0f64, 0usize);
    // Windows of several clips share a forward pass.
    let mut pending: Vec<(usize, Vec<TonicView>)> = Vec::new();
    let mut flush = |pending: &mut Vec<(usize, Vec<TonicView>)>| -> Result<(), TrainError> {
        if pending.is_empty() {
            return Ok(());
        }
        let windows: Vec<&Window> =
            pending.iter().flat_map(|(_, v)| v.iter().flat_map(|v| &v.windows)).collect();
        let traditions_in: Vec<Tradition> = pending
            .iter()
            .flat_map(|(i, v)| {
                std::iter::repeat_n(tradition_of(&examples[*i]), v.iter().map(|v| v.windows.len()).sum())
            })
            .collect();
        let probs = softmax(model.forward(ModelInput::from_windows(&windows, &traditions_in, device)), 1)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| TrainError::Device(format!("{e:?}")))?;
        let mut rest = probs.as_slice();
        for (i, views) in pending.drain(..) {
            let ex = &examples[i];
            let clip_len = views.iter().map(|v| v.windows.len()).sum::<usize>() * outputs;
            let (mine, tail) = rest.split_at(clip_len.min(rest.len()));
            rest = tail;
            let parts = split_views(&views, mine, outputs);
            let p = decide(labels, traditions, config.tonic_check, templates, &parts, tradition_of(ex))?;
            let chosen = parts.iter().find(|v| v.tonic_hz == p.tonic_hz).unwrap_or(&parts[0]);
            for row in chosen.probs.chunks_exact(outputs) {
                loss_sum -= f64::from(row[ex.label].max(1e-12)).ln();
                loss_windows += 1;
            }
            let predicted = labels.iter().position(|l| *l == p.raga).unwrap_or(0);
            confusion.add(ex.label, predicted);
            predictions.push((ex.rel.clone(), ex.label, predicted, p.confidence));
        }
        Ok(())
    };
    let mut pending_windows = 0;
    for (i, ex) in examples.iter().enumerate() {
        let views: Vec<TonicView> =
            tonic_views(&ex.features, config.window_frames, config.tonic_check).collect();
        pending_windows += views.iter().map(|v| v.windows.len()).sum::<usize>();
        pending.push((i, views));
        if pending_windows >= 32 {
            flush(&mut pending)?;
            pending_windows = 0;
        }
    }
    flush(&mut pending)?;
    Ok(Evaluation { confusion, loss: loss_sum / loss_windows.max(1) as f64, predictions })
}

/// What training produced.
#[derive(Debug)]
pub struct Trained {
    /// The best model (by validation accuracy, then loss), on the plain (non-autodiff) device.
    pub model: RagaModel,
    /// Its epoch.
    pub best_epoch: usize,
    /// Every epoch's metrics.
    pub history: Vec<EpochMetrics>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Each raga's scale template from the training clips ([`scale_templates`]).
    pub templates: ScaleTemplates,
}

/// The clips a run fits on and validates on.
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    /// Fitted on.
    pub train: &'a [Example],
    /// Scored every epoch (early stopping, best checkpoint).
    pub val: &'a [Example],
}

/// Serializes [`seeded_init`]: burn's random generator is one per backend and process, so
/// two trainings seeding it at once (tests on parallel threads, a server training beside a
/// request) would draw from each other's streams.
static SEEDED_INIT: Mutex<()> = Mutex::new(());

/// Initializes `config`'s model on `device` from `seed`: the same weights whatever other
/// initialization runs in the process at the same time. (Draws outside it, such as dropout
/// in a concurrent training with dropout on, still share the backend's stream.)
pub fn seeded_init(config: &RagaModelConfig, device: &Device, seed: u64) -> RagaModel {
    // A poisoned lock only means another initialization panicked; the guard protects no data.
    let _guard = SEEDED_INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    let model = config.init(device);
    // burn draws a parameter's initial values when it is first read, not in `init`: read
    // them all here, under the lock, or the draws happen in the first forward pass, after
    // another thread may have seeded or drawn.
    model.visit(&mut Materialize);
    model
}

/// Reads every parameter once, so lazily initialized ones draw their values now.
struct Materialize;

impl burn::module::ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// Trains on `data.train`, validates on `data.val` every epoch, writes `metrics.jsonl` and
/// `checkpoints/` under `run_dir`.
///
/// `devices[0]` is the main device: the model, the optimizer, validation and checkpoints live
/// there. With one device every batch runs there, as it always has. With several, training is
/// synchronous data parallel: each batch is cut into `devices.len()` contiguous shards (empty
/// ones skipped when the batch is smaller), each shard runs forward and backward on its own
/// device with a copy of the model forked there, its loss weighted by
/// `shard_len / batch_len` so the shard gradients sum to the full batch's mean gradient; the
/// gradients come back to the main device, are summed, and one optimizer step follows. The
/// shards run on threads of their own, concurrently. Dropout draws from each device's own
/// random stream, so a run with dropout is not bit-identical to a one-device run.
pub fn train(
    config: &TrainConfig,
    labels: &[String],
    traditions: &[Tradition],
    data: TrainData<'_>,
    devices: &[Device],
    run_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<Trained, TrainError> {
    let TrainData { train, val } = data;
    let Some(device) = devices.first() else {
        return Err(TrainError::Config("no device to train on".into()));
    };
    config.model.validate().map_err(|e| TrainError::Config(e.to_string()))?;
    if train.is_empty() || val.is_empty() {
        return Err(TrainError::Config(format!(
            "need training and validation clips, have {} and {}",
            train.len(),
            val.len()
        )));
    }
    let templates = scale_templates(train, labels.len());
    let checkpoints = run_dir.join("checkpoints");
    std::fs::create_dir_all(&checkpoints).map_err(|e| TrainError::io(&checkpoints, e))?;
    let metrics_path = run_dir.join("metrics.jsonl");
    let mut metrics_file = String::new();

    let ad_device = device.clone().autodiff();
    let mut model = seeded_init(&config.model, &ad_device, config.seed);
    let mut optimizer = AdamWConfig::new()
        .with_weight_decay(config.weight_decay)
        .with_grad_clipping(Some(GradientClippingConfig::Norm(config.grad_clip_norm)))
        .init();
    let loss_fn = CrossEntropyLossConfig::new()
        .with_smoothing((config.label_smoothing > 0.0).then_some(config.label_smoothing))
        .init(&ad_device);

    let steps_per_epoch = (train.len() * config.windows_per_clip).div_ceil(config.batch_size.max(1));
    let total_steps = steps_per_epoch * config.epochs;
    let warmup = (steps_per_epoch * config.warmup_epochs).min(total_steps / 4).max(1);
    let mut step = 0usize;
    let mut history: Vec<EpochMetrics> = Vec::new();
    let mut best: Option<(f64, f64, usize)> = None; // (val acc, -val loss, epoch)
    let mut since_best = 0usize;
    let mut stopped_early = false;

    for epoch in 1..=config.epochs {
        let started = Instant::now();
        let batches = epoch_batches(
            train,
            &config.epoch_plan(),
            config.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64),
        );
        progress.start(&format!("epoch {epoch}/{}", config.epochs), batches.len() as u64);
        let mut confusion = Confusion::new(labels.len());
        let (mut loss_sum, mut windows) = (0.0f64, 0usize);
        let mut lr = config.lr;
        for batch in &batches {
            lr = config.lr_at(step, warmup, total_steps);
            let ShardOut { grads, loss: loss_value, predicted } = if devices.len() == 1 {
                shard_step(&model, batch, &loss_fn, &ad_device, labels.len(), None)?
            } else {
                data_parallel_step(&model, batch, config, devices, labels.len())?
            };
            if !loss_value.is_finite() {
                return Err(TrainError::Diverged { epoch, step });
            }
            model = optimizer.step(lr, model, grads);
            // Raga accuracy of on-tonic windows (an off-tonic window's label is n_classes).
            for (&truth, &p) in batch.labels.iter().zip(&predicted) {
                if truth < labels.len() {
                    confusion.add(truth, p as usize);
                }
            }
            loss_sum += f64::from(loss_value) * batch.labels.len() as f64;
            windows += batch.labels.len();
            step += 1;
            progress.advance(
                1,
                &format!("loss {:.3} acc {:.3}", loss_sum / windows as f64, confusion.accuracy()),
            );
        }
        let train_seconds = started.elapsed().as_secs_f64();

        let valid = model.valid();
        // The network alone picks the checkpoint: the templates are fixed, and with them a
        // barely trained network already scores well, which would stop training at once.
        let eval = evaluate(&valid, &config.model, None, labels, traditions, val, false, device)?;
        let (val_accuracy, val_loss) = (eval.confusion.accuracy(), eval.loss);
        let is_best = best.is_none_or(|(acc, neg_loss, _)| (val_accuracy, -val_loss) > (acc, neg_loss));
        if is_best {
            best = Some((val_accuracy, -val_loss, epoch));
            since_best = 0;
            write_checkpoint(&valid, &checkpoints.join("best.bpk"))?;
        } else {
            since_best += 1;
        }
        write_checkpoint(&valid, &checkpoints.join(format!("epoch-{epoch:03}.bpk")))?;
        if epoch > 2 {
            let _ = std::fs::remove_file(checkpoints.join(format!("epoch-{:03}.bpk", epoch - 2)));
        }

        let metrics = EpochMetrics {
            epoch,
            train_loss: loss_sum / windows.max(1) as f64,
            train_accuracy: confusion.accuracy(),
            train_macro_f1: confusion.macro_f1(),
            val_loss,
            val_accuracy,
            val_macro_f1: eval.confusion.macro_f1(),
            lr,
            epoch_seconds: started.elapsed().as_secs_f64(),
            windows_per_second: windows as f64 / train_seconds.max(1e-9),
            peak_memory_bytes: peak_rss_bytes(),
            device_memory_bytes: device.memory_pool_usage().map(|u| u.bytes_reserved),
            best: is_best,
        };
        metrics_file.push_str(&serde_json::to_string(&metrics).unwrap_or_default());
        metrics_file.push('\n');
        std::fs::write(&metrics_path, &metrics_file).map_err(|e| TrainError::io(&metrics_path, e))?;
        progress.epoch(&metrics);
        history.push(metrics);
        if since_best >= config.patience {
            stopped_early = true;
            progress.note(&format!("early stop: no better validation score for {} epochs", config.patience));
            break;
        }
    }

    let best_epoch = best.map_or(1, |(_, _, e)| e);
    let mut best_model = config.model.init(device);
    let bytes = std::fs::read(checkpoints.join("best.bpk")).map_err(|e| TrainError::io(&checkpoints, e))?;
    load_weights(&mut best_model, bytes, Quantization::F32)
        .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
    Ok(Trained { model: best_model, best_epoch, history, stopped_early, templates })
}

/// What a forward and backward pass gives back: of one shard, or of a whole batch across
/// devices.
struct ShardOut {
    /// Gradients of the (weighted) loss, on the shard's device (the first, for a batch).
    grads: GradientsParams,
    /// The shard's unweighted mean loss.
    loss: f32,
    /// Predicted raga of every window of the shard.
    predicted: Vec<i64>,
}

/// Forward and backward of `batch` through `model` on `ad_device`; with `weight` the loss is
/// multiplied by it before the backward pass (the reported loss is not).
fn shard_step(
    model: &RagaModel,
    batch: &Batch,
    loss_fn: &CrossEntropyLoss,
    ad_device: &Device,
    n_labels: usize,
    weight: Option<f32>,
) -> Result<ShardOut, TrainError> {
    let (input, targets) = batch.to_device(ad_device);
    let logits = model.forward(input);
    let loss = loss_fn.forward(logits.clone(), targets);
    let predicted = logits
        .narrow(1, 0, n_labels)
        .argmax(1)
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .map_err(|e| TrainError::Device(format!("{e:?}")))?;
    let grads = match weight {
        Some(w) => loss.clone().mul_scalar(w).backward(),
        None => loss.backward(),
    };
    let loss = loss.into_data().try_to_vec::<f32>().map_err(|e| TrainError::Device(format!("{e:?}")))?;
    let loss = *loss.first().ok_or_else(|| TrainError::Device("empty loss tensor".into()))?;
    Ok(ShardOut { grads: GradientsParams::from_grads(grads, model), loss, predicted })
}

/// `n` items cut into at most `k` contiguous, non-empty ranges whose lengths differ by at most
/// one (the first ones longer).
pub fn shard_ranges(n: usize, k: usize) -> Vec<std::ops::Range<usize>> {
    let k = k.max(1).min(n);
    let mut ranges = Vec::with_capacity(k);
    let mut start = 0;
    for i in 0..k {
        let len = n / k + usize::from(i < n % k);
        ranges.push(start..start + len);
        start += len;
    }
    ranges
}

/// One data-parallel step: `batch` cut into shards over `devices`, forward and backward of
/// each on its device (concurrently), the gradients summed on `devices[0]`. Gives the summed
/// gradients, the batch's mean loss and every window's prediction, in batch order.
fn data_parallel_step(
    model: &RagaModel,
    batch: &Batch,
    config: &TrainConfig,
    devices: &[Device],
    n_labels: usize,
) -> Result<ShardOut, TrainError> {
    let main = &devices[0];
    let n = batch.labels.len();
    let shards: Vec<(Batch, &Device)> = shard_ranges(n, devices.len())
        .into_iter()
        .zip(devices)
        .map(|(r, d)| {
            let shard = Batch {
                windows: batch.windows[r.clone()].to_vec(),
                traditions: batch.traditions[r.clone()].to_vec(),
                labels: batch.labels[r].to_vec(),
            };
            (shard, d)
        })
        .collect();
    let smoothing = (config.label_smoothing > 0.0).then_some(config.label_smoothing);
    let results: Vec<Result<ShardOut, TrainError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shards
            .iter()
            .map(|(shard, device)| {
                let replica = model.clone();
                scope.spawn(move || {
                    let ad = (*device).clone().autodiff();
                    let replica = replica.fork(&ad);
                    let loss_fn = CrossEntropyLossConfig::new().with_smoothing(smoothing).init(&ad);
                    let weight = shard.labels.len() as f32 / n as f32;
                    shard_step(&replica, shard, &loss_fn, &ad, n_labels, Some(weight))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(TrainError::Device("a training shard panicked".into()))))
            .collect()
    });
    let mut summed = GradientsAccumulator::<RagaModel>::new();
    let (mut loss_sum, mut predicted) = (0.0f64, Vec::with_capacity(n));
    for (result, (shard, _)) in results.into_iter().zip(&shards) {
        let out = result?;
        summed.accumulate(model, out.grads.to_device(main, model));
        loss_sum += f64::from(out.loss) * shard.labels.len() as f64;
        predicted.extend(out.predicted);
    }
    Ok(ShardOut { grads: summed.grads(), loss: (loss_sum / n.max(1) as f64) as f32, predicted })
}

fn write_checkpoint(model: &RagaModel, path: &Path) -> Result<(), TrainError> {
    let bytes = weights_to_bytes(model, Quantization::F32).map_err(|e| TrainError::Device(e.to_string()))?;
    crate::write_atomic(path, &bytes)
}

/// Peak resident set size of this process (VmHWM), 0 where unknown.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_match_the_reference_hyperparameters() {
        let full = TrainConfig::profile("full", 20).unwrap();
        assert_eq!((full.model.d_model, full.model.n_heads, full.model.n_layers), (384, 6, 4));
        assert_eq!((full.batch_size, full.epochs), (4, 50));
        assert_eq!((full.lr, full.weight_decay, full.label_smoothing), (2e-4, 1e-4, 0.1));
        assert!(TrainConfig::profile("small", 20).unwrap().model.validate().is_ok());
        assert!(TrainConfig::profile("huge", 20).unwrap_err().to_string().contains("unknown profile"));
    }

    #[test]
    fn shards_are_contiguous_and_never_empty() {
        assert_eq!(shard_ranges(8, 1), vec![0..8]);
        assert_eq!(shard_ranges(8, 3), vec![0..3, 3..6, 6..8]);
        assert_eq!(shard_ranges(2, 4), vec![0..1, 1..2]);
        assert!(shard_ranges(0, 2).is_empty());
    }

    #[test]
    fn lr_warms_up_then_decays() {
        let c = TrainConfig::profile("small", 20).unwrap();
        assert!(c.lr_at(0, 10, 100) < c.lr_at(9, 10, 100));
        assert!((c.lr_at(9, 10, 100) - c.lr).abs() < 1e-12);
        assert!(c.lr_at(50, 10, 100) < c.lr);
        assert!((c.lr_at(100, 10, 100) - 0.05 * c.lr).abs() < 1e-9);
    }
}
