//! Inference: a loaded model plus its manifest; clips longer than the model window are cut
//! into half-overlapping windows whose probabilities are averaged.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use raga_dsp::Features;
use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::input::{ClipFrames, Tradition, Window};
use crate::model::{ModelInput, RagaModel};
use crate::package::{Manifest, load_model};
use crate::scale::{self, ScaleProfile, ScaleTemplates, TEMPLATE_TONIC_WEIGHT};

/// Windows per forward pass.
const INFER_BATCH: usize = 8;

/// Weight of the tonic estimator's evidence (its score minus the best candidate's) against
/// the log of the model's tonic check when picking a candidate tonic. On a tuning corpus
/// apart from the acceptance splits (`synth --seed 7331`, 80 clips) any weight from 0.25 to
/// 1.0 picks the true Sa on 77 clips (the estimator alone: 71); 0.5 is the middle, and stayed
/// the best when re-chosen with [`TEMPLATE_TONIC_WEIGHT`] (see there) over twelve candidates.
pub const TONIC_PRIOR_WEIGHT: f32 = 0.5;

/// A raga and its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RagaScore {
    /// Raga id.
    pub raga: String,
    /// Probability.
    pub p: f32,
}

/// The model's answer for one clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The most likely raga.
    pub raga: String,
    /// Its probability.
    pub confidence: f32,
    /// The five most likely ragas, best first.
    pub top_k: Vec<RagaScore>,
    /// Probability of every label, in manifest order.
    pub probabilities: Vec<f32>,
    /// Model windows the clip was cut into.
    pub windows: usize,
    /// The tonic (Sa) the answer is relative to, Hz: the candidate the model's tonic check
    /// chose, else the estimated (or given) one.
    pub tonic_hz: f32,
    /// The model's mean probability that its windows are seen from the true Sa; `None` for
    /// models without the tonic check.
    pub tonic_confidence: Option<f32>,
    /// The candidate tonics the model weighed, best estimator evidence first (those that
    /// could not win are skipped; one entry without the tonic check).
    pub tonic_candidates: Vec<TonicCheck>,
}

/// How one candidate tonic fared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TonicCheck {
    /// The candidate Sa, Hz.
    pub tonic_hz: f32,
    /// The estimator's evidence relative to its best candidate (0 for the best, ≤ 0 else).
    pub prior: f32,
    /// The model's mean probability that the windows are seen from the true Sa.
    pub check: Option<f32>,
    /// How well the clip's scale profile from this Sa fits the best raga's template (see
    /// [`crate::scale`]); absent for packages without templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<f32>,
}

/// A clip seen from one candidate tonic.
#[derive(Debug, Clone, PartialEq)]
pub struct TonicView {
    /// The candidate Sa, Hz.
    pub tonic_hz: f32,
    /// The tonic estimator's score for it minus the best candidate's (0 for the best, ≤ 0 else).
    pub prior: f32,
    /// The windows that cover the clip, pitch relative to this Sa.
    pub windows: Vec<Window>,
    /// The clip's scale profile relative to this Sa.
    pub scale: ScaleProfile,
}

/// The views a clip is classified by, best estimator evidence first: one per tonic candidate
/// of `features` when the model checks tonics, else only the estimated (or given) tonic.
/// Each view's windows are built when the iterator reaches it, so views never run cost
/// nothing.
pub fn tonic_views(
    features: &Features,
    window_frames: usize,
    tonic_check: bool,
) -> impl Iterator<Item = TonicView> + '_ {
    view_plans(features, tonic_check).map(move |plan| plan.build(features, window_frames))
}

/// A view before its windows are built: enough to bound what it could score.
#[derive(Debug, Clone, Copy)]
struct ViewPlan {
    tonic_hz: f32,
    prior: f32,
    scale: ScaleProfile,
}

impl ViewPlan {
    /// The view with its windows (the costly part: every frame's model features).
    fn build(self, features: &Features, window_frames: usize) -> TonicView {
        let shift = features.cents_shift_to(self.tonic_hz);
        TonicView {
            tonic_hz: self.tonic_hz,
            prior: self.prior,
            windows: ClipFrames::new(features, shift).windows(window_frames),
            scale: self.scale,
        }
    }
}

/// The plans of [`tonic_views`], in the same order, each scale profile made when reached.
fn view_plans(features: &Features, tonic_check: bool) -> impl Iterator<Item = ViewPlan> + '_ {
    let best = features.tonic_candidates.first().map_or(0.0, |c| c.score);
    let candidates: Vec<(f32, f32)> = if tonic_check && features.tonic_candidates.len() > 1 {
        features.tonic_candidates.iter().map(|c| (c.hz, c.score - best)).collect()
    } else {
        vec![(features.tonic_hz, 0.0)]
    };
    candidates.into_iter().map(move |(tonic_hz, prior)| ViewPlan {
        tonic_hz,
        prior,
        scale: scale::profile(features, features.cents_shift_to(tonic_hz)),
    })
}

/// Cuts the probabilities of `views`' windows (in order, `outputs` per window, row-major)
/// into one slice per view; views past the end of `probs` (never run) are left out.
pub fn split_views<'a>(views: &[TonicView], probs: &'a [f32], outputs: usize) -> Vec<ViewProbs<'a>> {
    let mut rest = probs;
    views
        .iter()
        .map_while(|v| {
            let len = v.windows.len() * outputs;
            (rest.len() >= len).then(|| {
                let (mine, tail) = rest.split_at(len);
                rest = tail;
                ViewProbs { tonic_hz: v.tonic_hz, prior: v.prior, probs: mine, scale: v.scale }
            })
        })
        .collect()
}

/// One view's model output: softmax rows, `windows × outputs`, row-major.
#[derive(Debug, Clone, Copy)]
pub struct ViewProbs<'a> {
    /// The view's Sa, Hz.
    pub tonic_hz: f32,
    /// See [`TonicView::prior`].
    pub prior: f32,
    /// Softmax rows of its windows.
    pub probs: &'a [f32],
    /// See [`TonicView::scale`].
    pub scale: ScaleProfile,
}

/// A model ready to classify.
#[derive(Debug)]
pub struct Classifier {
    model: RagaModel,
    manifest: Manifest,
    device: Device,
}

impl Classifier {
    /// Wraps a model and the manifest that describes it.
    pub fn new(model: RagaModel, manifest: Manifest, device: Device) -> Self {
        Self { model, manifest, device }
    }

    /// Checks and loads a package from the bytes of its manifest and weights.
    pub fn from_package(manifest: &[u8], weights: Vec<u8>, device: &Device) -> Result<Self, ModelError> {
        let manifest = Manifest::from_json(manifest)?;
        manifest.verify_file(crate::package::WEIGHTS_FILE, &weights)?;
        let model = load_model(&manifest, weights, device)?;
        Ok(Self::new(model, manifest, device.clone()))
    }

    /// Like [`from_package`](Self::from_package), but with f32 weights on `device`: the
    /// package is loaded and dequantized on the CPU, then moved. For backends that cannot run
    /// the package's quantized weights (WebGPU and int8).
    pub fn from_package_dequantized(
        manifest: &[u8],
        weights: Vec<u8>,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let cpu = Self::from_package(manifest, weights, &Device::flex())?;
        let model = crate::package::dequantize(cpu.model).to_device(device);
        Ok(Self::new(model, cpu.manifest, device.clone()))
    }

    /// The package manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The views (candidate tonics and their windows) a clip is classified by, built lazily;
    /// see [`tonic_views`].
    pub fn views<'a>(&self, features: &'a Features) -> impl Iterator<Item = TonicView> + 'a {
        tonic_views(features, self.manifest.model.window_frames, self.manifest.model.tonic_check)
    }

    /// Softmax probabilities of a batch of windows, `[windows.len(), outputs]`, still on the
    /// device (read it back with `into_data` natively or `into_data_async` in a browser).
    pub fn window_probabilities(&self, windows: &[&Window], tradition: Tradition) -> Tensor<2> {
        let traditions = vec![tradition; windows.len()];
        let input = ModelInput::from_windows(windows, &traditions, &self.device);
        softmax(self.model.forward(input), 1)
    }

    /// Batches of one view's windows for [`window_probabilities`](Self::window_probabilities).
    pub fn batches(view: &TonicView) -> impl Iterator<Item = Vec<&Window>> {
        view.windows.chunks(INFER_BATCH).map(|c| c.iter().collect())
    }

    /// Classifies a clip from its features, reading results back synchronously: on native
    /// devices, and in a browser on the CPU (flex), whose reads complete at once. WebGPU in a
    /// browser cannot block: use [`classify_async`](Self::classify_async) there.
    pub fn classify(&self, features: &Features, tradition: Tradition) -> Result<Prediction, ModelError> {
        burn::tensor::try_read_sync(self.classify_async(features, tradition)).unwrap_or_else(|| {
            Err(ModelError::Device(
                "this device cannot read results back synchronously here (WebGPU in a browser): \
                 use classify_async"
                    .into(),
            ))
        })
    }

    /// Classifies a clip from its features. Views are run best estimator evidence first, and
    /// stop as soon as none left could win ([`worth_checking`]): usually one or two of them,
    /// with the same answer as running all.
    pub async fn classify_async(
        &self,
        features: &Features,
        tradition: Tradition,
    ) -> Result<Prediction, ModelError> {
        let mut run = self.start(features, tradition);
        while let Some(view) = run.next_view() {
            let mut probs = Vec::new();
            for batch in Self::batches(&view) {
                let data = self
                    .window_probabilities(&batch, tradition)
                    .into_data_async()
                    .await
                    .map_err(|e| ModelError::Device(format!("reading results back: {e:?}")))?;
                probs.extend(
                    data.convert::<f32>()
                        .try_to_vec::<f32>()
                        .map_err(|e| ModelError::Device(format!("{e:?}")))?,
                );
            }
            run.record(view, probs);
        }
        run.finish()
    }

    /// Starts classifying a clip one view at a time, for callers that run the windows of
    /// several clips in one forward pass (a server batching concurrent requests): take each
    /// [`ClipRun::next_view`], compute its windows' probabilities however you like, hand them
    /// back with [`ClipRun::record`], then [`ClipRun::finish`]. [`classify_async`]
    /// (Self::classify_async) is this loop with one clip.
    pub fn start<'a>(&'a self, features: &'a Features, tradition: Tradition) -> ClipRun<'a> {
        ClipRun {
            classifier: self,
            tradition,
            features,
            pending: Box::new(view_plans(features, self.manifest.model.tonic_check)),
            views: Vec::new(),
            probs: Vec::new(),
            best: f32::NEG_INFINITY,
            done: false,
        }
    }

    /// Turns the probabilities of the views' windows (in order, `outputs` per window,
    /// row-major; views past the end of `probs` were not run) into one prediction; see
    /// [`decide`].
    pub fn decide(
        &self,
        views: &[TonicView],
        probs: &[f32],
        tradition: Tradition,
    ) -> Result<Prediction, ModelError> {
        let model = &self.manifest.model;
        let parts = split_views(views, probs, model.outputs());
        let m = &self.manifest;
        decide(&m.labels, &m.traditions, model.tonic_check, m.scale_templates.as_ref(), &parts, tradition)
    }

    /// The best template fit of a view's scale profile (see [`TonicCheck::fit`]).
    fn fit(&self, scale: &ScaleProfile, tradition: Tradition) -> Option<f32> {
        let m = &self.manifest;
        m.scale_templates.as_ref().map(|t| t.best_fit(scale, &m.traditions, tradition))
    }
}

/// One clip on its way through its views (see [`Classifier::start`]): the same early stop
/// as [`Classifier::classify_async`], whoever runs the forward passes.
pub struct ClipRun<'a> {
    classifier: &'a Classifier,
    tradition: Tradition,
    features: &'a Features,
    pending: Box<dyn Iterator<Item = ViewPlan> + 'a>,
    views: Vec<TonicView>,
    probs: Vec<f32>,
    best: f32,
    done: bool,
}

impl std::fmt::Debug for ClipRun<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipRun")
            .field("tradition", &self.tradition)
            .field("views_run", &self.views.len())
            .field("best", &self.best)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ClipRun<'_> {
    /// The tradition the clip is classified under (the one its windows are run with).
    pub fn tradition(&self) -> Tradition {
        self.tradition
    }

    /// The next view worth running, or `None` once no view left could change the answer.
    pub fn next_view(&mut self) -> Option<TonicView> {
        if self.done {
            return None;
        }
        let templates = self.classifier.manifest.scale_templates.is_some();
        // Only views worth running get their windows built.
        for v in self.pending.by_ref() {
            let fit = self.classifier.fit(&v.scale, self.tradition);
            if self.views.is_empty() || worth_checking(v.prior, fit, self.best) {
                return Some(v.build(self.features, self.classifier.manifest.model.window_frames));
            }
            // Without templates the views come in falling order of their bound: none left can win.
            if !templates {
                break;
            }
        }
        self.done = true;
        None
    }

    /// Hands back the softmax rows of `view`'s windows (in order, `outputs` per window,
    /// row-major), as [`Classifier::window_probabilities`] computes them.
    pub fn record(&mut self, view: TonicView, probs: Vec<f32>) {
        let manifest = &self.classifier.manifest;
        let checked = TonicCheck {
            tonic_hz: view.tonic_hz,
            prior: view.prior,
            check: on_tonic(&probs, manifest.labels.len(), manifest.model.tonic_check),
            fit: self.classifier.fit(&view.scale, self.tradition),
        };
        self.best = self.best.max(checked.score());
        self.probs.extend(probs);
        self.views.push(view);
    }

    /// The prediction from the views run so far; see [`decide`].
    pub fn finish(self) -> Result<Prediction, ModelError> {
        self.classifier.decide(&self.views, &self.probs, self.tradition)
    }
}

impl TonicCheck {
    /// How a view ranks: `ln P(on tonic) + TONIC_PRIOR_WEIGHT × prior + TEMPLATE_TONIC_WEIGHT ×
    /// fit` (the check and the fit count 0 where the package has neither).
    pub fn score(&self) -> f32 {
        self.check.map_or(0.0, |p| p.max(1e-6).ln())
            + TONIC_PRIOR_WEIGHT * self.prior
            + TEMPLATE_TONIC_WEIGHT * self.fit.unwrap_or(0.0)
    }
}

/// Whether a view with estimator evidence `prior` and template fit `fit` could still beat the
/// best score so far: its check is at most 1, so its score is at most `TONIC_PRIOR_WEIGHT ×
/// prior + TEMPLATE_TONIC_WEIGHT × fit`.
pub fn worth_checking(prior: f32, fit: Option<f32>, best_score: f32) -> bool {
    TONIC_PRIOR_WEIGHT * prior + TEMPLATE_TONIC_WEIGHT * fit.unwrap_or(0.0) > best_score
}

/// Mean probability over windows (`n + 1` outputs per row) that they are on tonic; `None`
/// without the tonic check (or without rows).
fn on_tonic(probs: &[f32], n: usize, tonic_check: bool) -> Option<f32> {
    if !tonic_check {
        return None;
    }
    let rows = probs.len() / (n + 1);
    (rows > 0).then(|| probs.chunks_exact(n + 1).map(|r| 1.0 - r[n]).sum::<f32>() / rows as f32)
}

/// One prediction from a clip's views: with the tonic check, the view whose windows the model
/// most believes are seen from the true Sa (weighed with the estimator's own evidence,
/// [`TONIC_PRIOR_WEIGHT`], and with `templates` how well the view's scale fits a raga,
/// [`TEMPLATE_TONIC_WEIGHT`]) is chosen; then its windows' raga probabilities are averaged
/// and, with `templates`, blended with the template expert's ([`scale::combine`]). A known
/// tradition restricts the answer to that tradition's ragas.
pub fn decide(
    labels: &[String],
    traditions: &[Tradition],
    tonic_check: bool,
    templates: Option<&ScaleTemplates>,
    views: &[ViewProbs<'_>],
    tradition: Tradition,
) -> Result<Prediction, ModelError> {
    let n = labels.len();
    let outputs = n + usize::from(tonic_check);
    let bad = |v: &ViewProbs<'_>| v.probs.is_empty() || !v.probs.len().is_multiple_of(outputs);
    if n == 0 || views.is_empty() || views.iter().any(bad) {
        let sizes: Vec<usize> = views.iter().map(|v| v.probs.len()).collect();
        return Err(ModelError::EmptyInput(format!(
            "probabilities {sizes:?} for {outputs} outputs per window"
        )));
    }
    let checks: Vec<TonicCheck> = views
        .iter()
        .map(|v| TonicCheck {
            tonic_hz: v.tonic_hz,
            prior: v.prior,
            check: on_tonic(v.probs, n, tonic_check),
            fit: templates.map(|t| t.best_fit(&v.scale, traditions, tradition)),
        })
        .collect();
    let best = (0..views.len()).max_by(|&a, &b| checks[a].score().total_cmp(&checks[b].score())).unwrap_or(0);
    let chosen = &views[best];
    let windows = chosen.probs.len() / outputs;
    let mut mean = vec![0.0f32; n];
    for row in chosen.probs.chunks_exact(outputs) {
        // Raga probabilities given the window is on tonic.
        let on: f32 = row[..n].iter().sum();
        for (m, p) in mean.iter_mut().zip(&row[..n]) {
            *m += p / on.max(1e-12) / windows as f32;
        }
    }
    if tradition != Tradition::Unknown && traditions.contains(&tradition) {
        for (m, t) in mean.iter_mut().zip(traditions) {
            if *t != tradition {
                *m = 0.0;
            }
        }
    }
    let total: f32 = mean.iter().sum();
    if !(total.is_finite() && total > 0.0) {
        return Err(ModelError::Device(format!("the model produced invalid probabilities (sum {total})")));
    }
    mean.iter_mut().for_each(|m| *m /= total);
    if let Some(t) = templates {
        mean = scale::combine(&mean, &t.fits(&chosen.scale, traditions, tradition));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]).then(a.cmp(&b)));
    let top_k: Vec<RagaScore> =
        order.iter().take(5).map(|&i| RagaScore { raga: labels[i].clone(), p: mean[i] }).collect();
    Ok(Prediction {
        raga: top_k[0].raga.clone(),
        confidence: top_k[0].p,
        top_k,
        probabilities: mean,
        windows,
        tonic_hz: chosen.tonic_hz,
        tonic_confidence: checks[best].check,
        tonic_candidates: checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> (Vec<String>, [Tradition; 3]) {
        (
            ["yaman", "kalyani", "mohanam"].map(String::from).to_vec(),
            [Tradition::Hindustani, Tradition::Carnatic, Tradition::Carnatic],
        )
    }

    #[test]
    fn decide_averages_and_restricts_to_tradition() {
        let (labels, traditions) = labels();
        let probs = [0.6, 0.3, 0.1, 0.4, 0.5, 0.1];
        let view = [ViewProbs { tonic_hz: 150.0, prior: 0.0, probs: &probs, scale: [0.0; 12] }];
        let p = decide(&labels, &traditions, false, None, &view, Tradition::Unknown).unwrap();
        assert_eq!(p.raga, "yaman");
        assert_eq!(p.windows, 2);
        assert_eq!((p.tonic_hz, p.tonic_confidence), (150.0, None));
        assert!((p.confidence - 0.5).abs() < 1e-6);
        let p = decide(&labels, &traditions, false, None, &view, Tradition::Carnatic).unwrap();
        assert_eq!(p.raga, "kalyani");
        assert!((p.confidence - 0.8).abs() < 1e-6);
        assert_eq!(p.top_k.len(), 3);
        let empty = [ViewProbs { tonic_hz: 150.0, prior: 0.0, probs: &[], scale: [0.0; 12] }];
        assert!(decide(&labels, &traditions, false, None, &empty, Tradition::Unknown).is_err());
        assert!(
            decide(&labels, &traditions, true, None, &view, Tradition::Unknown).is_err(),
            "6 values, 4 outputs"
        );
    }

    #[test]
    fn the_tonic_check_picks_the_view_seen_from_sa() {
        let (labels, traditions) = labels();
        // The estimator's favourite reads as mohanam but the model says it is off tonic.
        let wrong = [0.0, 0.1, 0.3, 0.6];
        let right = [0.7, 0.1, 0.0, 0.2];
        let views = [
            ViewProbs { tonic_hz: 200.0, prior: 0.0, probs: &wrong, scale: [0.0; 12] },
            ViewProbs { tonic_hz: 150.0, prior: -0.3, probs: &right, scale: [0.0; 12] },
        ];
        let p = decide(&labels, &traditions, true, None, &views, Tradition::Unknown).unwrap();
        assert_eq!((p.raga.as_str(), p.tonic_hz), ("yaman", 150.0));
        assert!((p.confidence - 0.875).abs() < 1e-6, "{p:?}");
        assert!((p.tonic_confidence.unwrap() - 0.8).abs() < 1e-6);
        // Far weaker estimator evidence outweighs a slightly better check.
        let views = [
            ViewProbs { tonic_hz: 200.0, prior: 0.0, probs: &[0.0, 0.1, 0.6, 0.3], scale: [0.0; 12] },
            ViewProbs { tonic_hz: 150.0, prior: -3.0, probs: &right, scale: [0.0; 12] },
        ];
        let p = decide(&labels, &traditions, true, None, &views, Tradition::Unknown).unwrap();
        assert_eq!((p.raga.as_str(), p.tonic_hz), ("mohanam", 200.0));
    }

    #[test]
    fn templates_pick_the_sa_a_scale_fits_and_tip_a_close_call() {
        let (labels, traditions) = labels();
        let (mut yaman, mut mohanam) = ([0.0f32; 12], [0.0f32; 12]);
        for (note, share) in [(0, 0.2), (2, 0.15), (4, 0.2), (6, 0.1), (7, 0.15), (9, 0.1), (11, 0.1)] {
            yaman[note] = share;
        }
        for (note, share) in [(0, 0.3), (2, 0.15), (4, 0.2), (7, 0.2), (9, 0.15)] {
            mohanam[note] = share;
        }
        let templates = ScaleTemplates(vec![yaman, yaman, mohanam]);
        // Seen from a wrong Sa (a fifth up) the profile fits no raga.
        let mut rotated = [0.0f32; 12];
        for (k, v) in mohanam.iter().enumerate() {
            rotated[(k + 5) % 12] = *v;
        }
        let even = [0.35, 0.35, 0.25, 0.05];
        let views = [
            ViewProbs { tonic_hz: 200.0, prior: 0.0, probs: &even, scale: rotated },
            ViewProbs { tonic_hz: 150.0, prior: -0.2, probs: &even, scale: mohanam },
        ];
        let p = decide(&labels, &traditions, true, Some(&templates), &views, Tradition::Carnatic).unwrap();
        assert_eq!(p.tonic_hz, 150.0, "{p:?}");
        // The network is torn between kalyani and mohanam; the scale has no Ma or Ni.
        assert_eq!(p.raga, "mohanam", "{p:?}");
        assert_eq!(p.probabilities[0], 0.0, "another tradition");
        assert!(p.tonic_candidates.iter().all(|c| c.fit.is_some()));
        // Without templates the estimator's favourite and the network's pick stand.
        let p = decide(&labels, &traditions, true, None, &views, Tradition::Carnatic).unwrap();
        assert_eq!((p.tonic_hz, p.raga.as_str()), (200.0, "kalyani"));
    }

    #[test]
    fn probabilities_are_cut_per_view_and_views_not_run_left_out() {
        let window = Window { values: Vec::new(), mask: Vec::new(), hist: Vec::new() };
        let view = |hz: f32, windows: usize| TonicView {
            tonic_hz: hz,
            prior: 0.0,
            windows: vec![window.clone(); windows],
            scale: [0.0; 12],
        };
        let views = [view(150.0, 2), view(200.0, 1), view(225.0, 2)];
        let probs: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let parts = split_views(&views, &probs, 4);
        assert_eq!(parts.len(), 2, "the third view was not run");
        assert_eq!((parts[0].tonic_hz, parts[0].probs), (150.0, &probs[..8]));
        assert_eq!((parts[1].tonic_hz, parts[1].probs), (200.0, &probs[8..]));
    }

    #[test]
    fn a_view_is_checked_only_while_it_could_still_win() {
        let best = TonicCheck { tonic_hz: 150.0, prior: 0.0, check: Some(0.95), fit: None }.score();
        assert!(worth_checking(-0.05, None, best));
        assert!(!worth_checking(-0.2, None, best));
        assert!(worth_checking(-0.2, Some(0.9), best + 8.0), "a good fit keeps a view in the running");
        assert!(worth_checking(-3.0, None, f32::NEG_INFINITY));
    }
}
