//! The inference worker: one thread that owns every forward pass, fed by a queue, so
//! concurrent requests are batched.
//!
//! Feature extraction (decoding, resampling, pYIN, tonic) is per clip and runs on tokio's
//! blocking pool, in parallel. The forward pass is where batching pays: each round the
//! worker takes every clip queued (up to [`Batching::max_clips`]), asks each for its next
//! tonic view ([`raga_model::ClipRun`], the same early stop as `Classifier::classify`), and
//! runs the windows of all those views together, [`Batching::max_windows`] per forward
//! pass. Clips that need a second view go round again; the answer of each clip is exactly
//! what `Classifier::classify` gives for it alone (up to float rounding of the batched
//! matrix products).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use raga_dsp::Features;
use raga_model::{Classifier, ModelError, Prediction, TonicView, Tradition, Window};
use tokio::sync::oneshot;

use super::ServedModel;
use crate::error::{Error, Result};

/// How the worker batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Most clips whose windows share forward passes; 1 runs clips one at a time.
    pub max_clips: usize,
    /// Most windows in one forward pass.
    pub max_windows: usize,
}

impl Default for Batching {
    /// Clips share forward passes on machines of 4 or more cores; below that, one clip at a
    /// time. Measured on 2 cores (bench/serving, 8 clients, 30 s clips): sharing gave 0.85×
    /// the throughput and a worse p99, because feature extraction takes most of the CPU and a
    /// batch makes clips wait for each other.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self { max_clips: if cores >= 4 { 16 } else { 1 }, max_windows: 64 }
    }
}

impl Batching {
    /// One clip at a time (each clip's windows still go through in batches).
    pub fn off() -> Self {
        Self { max_clips: 1, max_windows: 64 }
    }
}

/// One clip waiting for the worker.
struct Job {
    model: Arc<ServedModel>,
    features: Features,
    tradition: Tradition,
    reply: oneshot::Sender<Result<Prediction, ModelError>>,
}

/// The queue in front of the worker thread, which starts with the first clip.
#[derive(Debug)]
pub struct Batcher {
    batching: Batching,
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl Batcher {
    /// A batcher whose worker has not started yet.
    pub fn new(batching: Batching) -> Self {
        let batching =
            Batching { max_clips: batching.max_clips.max(1), max_windows: batching.max_windows.max(1) };
        Self { batching, queue: OnceLock::new() }
    }

    /// The batching settings.
    pub fn batching(&self) -> Batching {
        self.batching
    }

    /// Classifies clips with `model`, queued behind whatever else is waiting; answers in order.
    pub async fn classify(
        &self,
        model: &Arc<ServedModel>,
        clips: Vec<(Features, Tradition)>,
    ) -> Result<Vec<Prediction>> {
        let queue = self.queue()?;
        let mut replies = Vec::with_capacity(clips.len());
        for (features, tradition) in clips {
            let (reply, answer) = oneshot::channel();
            queue
                .send(Job { model: model.clone(), features, tradition, reply })
                .map_err(|_| Error::internal("the inference worker has stopped"))?;
            replies.push(answer);
        }
        let mut predictions = Vec::with_capacity(replies.len());
        for answer in replies {
            let prediction = answer
                .await
                .map_err(|_| {
                    Error::internal("the inference worker dropped a clip (it panicked; see the log)")
                })?
                .map_err(|e| Error::internal(format!("inference: {e}")))?;
            predictions.push(prediction);
        }
        Ok(predictions)
    }

    fn queue(&self) -> Result<&mpsc::Sender<Job>> {
        if let Some(queue) = self.queue.get() {
            return Ok(queue);
        }
        let (tx, rx) = mpsc::channel();
        let batching = self.batching;
        std::thread::Builder::new()
            .name("ragasense-inference".into())
            .spawn(move || work(&rx, batching))
            .map_err(|e| Error::internal(format!("starting the inference worker: {e}")))?;
        // Two first requests racing: the loser's worker sees its queue closed and exits.
        Ok(self.queue.get_or_init(|| tx))
    }
}

/// The worker loop: wait for a clip, take whatever else is queued, run them together.
fn work(queue: &mpsc::Receiver<Job>, batching: Batching) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < batching.max_clips {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        tracing::debug!(clips = jobs.len(), "inference batch");
        // A panic drops the batch's reply senders (each request gets a 500) and keeps the
        // worker alive for the next batch.
        if catch_unwind(AssertUnwindSafe(|| run_batch(jobs, batching.max_windows))).is_err() {
            tracing::error!("inference panicked; the clips of that batch were answered with errors");
        }
    }
}

/// Runs one batch of clips, grouped by model.
fn run_batch(mut jobs: Vec<Job>, max_windows: usize) {
    while let Some(first) = jobs.first() {
        let model = first.model.clone();
        let (group, rest): (Vec<Job>, Vec<Job>) =
            jobs.into_iter().partition(|j| Arc::ptr_eq(&j.model, &model));
        jobs = rest;
        let mut replies = Vec::with_capacity(group.len());
        let mut clips = Vec::with_capacity(group.len());
        for job in group {
            replies.push(job.reply);
            clips.push((job.features, job.tradition));
        }
        let answers = classify_together(&model.classifier, &clips, max_windows);
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The request may have gone away; nothing to do then.
            let _ = reply.send(answer);
        }
    }
}

/// Classifies clips with one model, running the windows of all their current views in
/// shared forward passes; one answer per clip, in order.
pub fn classify_together(
    classifier: &Classifier,
    clips: &[(Features, Tradition)],
    max_windows: usize,
) -> Vec<Result<Prediction, ModelError>> {
    let mut runs: Vec<_> = clips.iter().map(|(f, t)| classifier.start(f, *t)).collect();
    loop {
        let round: Vec<(usize, TonicView)> =
            runs.iter_mut().enumerate().filter_map(|(i, run)| run.next_view().map(|v| (i, v))).collect();
        if round.is_empty() {
            break;
        }
        let traditions: Vec<Tradition> = round.iter().map(|(i, _)| runs[*i].tradition()).collect();
        match forward(classifier, &round, &traditions, max_windows) {
            Ok(probs) => {
                for ((i, view), p) in round.into_iter().zip(probs) {
                    runs[i].record(view, p);
                }
            }
            Err(err) => {
                let message = err.to_string();
                return clips.iter().map(|_| Err(ModelError::Device(message.clone()))).collect();
            }
        }
    }
    runs.into_iter().map(raga_model::ClipRun::finish).collect()
}

/// Softmax rows of every view's windows (one `Vec` per view, in order), the windows of one
/// tradition stacked into forward passes of at most `max_windows`.
fn forward(
    classifier: &Classifier,
    views: &[(usize, TonicView)],
    traditions: &[Tradition],
    max_windows: usize,
) -> Result<Vec<Vec<f32>>, ModelError> {
    let outputs = classifier.manifest().model.outputs();
    let mut probs: Vec<Vec<f32>> =
        views.iter().map(|(_, v)| Vec::with_capacity(v.windows.len() * outputs)).collect();
    for tradition in [Tradition::Unknown, Tradition::Hindustani, Tradition::Carnatic] {
        let windows: Vec<(usize, &Window)> = views
            .iter()
            .enumerate()
            .filter(|(k, _)| traditions[*k] == tradition)
            .flat_map(|(k, (_, view))| view.windows.iter().map(move |w| (k, w)))
            .collect();
        for chunk in windows.chunks(max_windows) {
            let batch: Vec<&Window> = chunk.iter().map(|(_, w)| *w).collect();
            let rows = classifier
                .window_probabilities(&batch, tradition)
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| ModelError::Device(format!("reading results back: {e:?}")))?;
            for ((k, _), row) in chunk.iter().zip(rows.chunks_exact(outputs)) {
                probs[*k].extend_from_slice(row);
            }
        }
    }
    Ok(probs)
}
