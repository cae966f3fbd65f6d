//! The browser runtime of RagaSense, published to npm as `ragasense`.
//!
//! ```js
//! import init, { RagaSense } from "ragasense";
//! await init();
//! const model = await RagaSense.load({ registry: "https://registry.example.org", ref: "@production" });
//! const result = await model.classify(samples, audioBuffer.sampleRate, { tradition: "hindustani" });
//! console.log(result.raga, result.confidence, result.backend, result.timingsMs);
//! ```
//!
//! Everything numeric is the shared Rust code: features from `raga-dsp`, the model and its
//! windowed inference from `raga-model` — the same as the trainer and the server. This crate
//! only adds what a browser needs: fetching and caching a published package (every file
//! checked against the manifest's sha256), picking WebGPU or the CPU, a streaming classifier
//! for live input, and telemetry.

mod engine;
mod error;
mod loader;
mod net;
mod output;
mod stream;
mod telemetry;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::Promise;
use raga_dsp::Features;
use raga_model::{Manifest, Tradition};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

pub use engine::{BackendChoice, Engines};
pub use error::RuntimeError;
pub use loader::{DEFAULT_MODEL, DEFAULT_REF, LoadOptions, Source};
pub use output::{BackendKind, Classification, ModelRef, PitchTrack, Timings};
pub use stream::{Rolling, StreamOptions, StreamState};
pub use telemetry::{Event, TelemetryOptions};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Where the model comes from and how to run it. */
export interface LoadOptions {
  /** Registry base URL (with `model` and `ref`), e.g. "https://registry.example.org". */
  registry?: string;
  /** Registered model name (default "raga-detector"). */
  model?: string;
  /** Version number ("3"), stage ("Production", "Staging") or alias ("@production", the default). */
  ref?: string;
  /** A manifest URL instead of a registry (static deployments). */
  manifestUrl?: string;
  /** "auto" (default: both timed on the first clip, the faster kept), "webgpu" or "cpu". */
  backend?: "auto" | "webgpu" | "cpu";
  /** false turns telemetry off; default: on, to the registry's /v1/telemetry. `key`: a
   *  publishable telemetry key (rsp_…) for a registry that checks tokens. */
  telemetry?: boolean | { url?: string; key?: string; batchSize?: number; flushMs?: number };
  /** Keep the package in Cache Storage so later loads work offline (default true). */
  cache?: boolean;
}

export interface ClassifyOptions {
  /** Restricts the answer to one tradition's ragas (default "auto"). */
  tradition?: "auto" | "hindustani" | "carnatic";
  /** The performer's Sa in Hz, when known (otherwise estimated). */
  tonicHz?: number;
}

export interface RagaScore { raga: string; p: number; }

export interface Classification {
  predictionId: string;
  raga: string;
  confidence: number;
  topK: RagaScore[];
  tonicHz: number;
  tonicConfidence: number | null;
  pitch: { timesS: number[]; f0Hz: number[]; voicedProb: number[] };
  /** 120 bins of 10 cents, bin 0 on Sa. */
  pitchClassHistogram: number[];
  durationS: number;
  backend: "webgpu" | "cpu";
  timingsMs: { features: number; inference: number; total: number };
  model: { name: string; version: string | null };
}

export interface StreamOptions {
  /** Seconds classified per update (default 10). */
  windowS?: number;
  /** Seconds of new audio between updates (default 2). */
  hopS?: number;
  /** Seconds before the first update (default 4). */
  minS?: number;
  /** Weight of the newest update in the rolling answer, (0, 1] (default 0.4). */
  smoothing?: number;
  tradition?: "auto" | "hindustani" | "carnatic";
}

export interface RollingPrediction {
  raga: string;
  confidence: number;
  topK: RagaScore[];
  updates: number;
  /** The last three updates agree. */
  stable: boolean;
  heardS: number;
  /** The latest update alone. */
  latest: Classification;
}

export interface ModelInfo {
  name: string;
  version: string | null;
  labels: string[];
  traditions: string[];
  quantization: string;
  manifestUrl: string;
  /** The manifest came from the cache because the network failed. */
  offline: boolean;
  /** The backend in use (null until "auto" has timed both). */
  backend: "webgpu" | "cpu" | null;
  webgpuAvailable: boolean;
  webgpuNote: string | null;
  /** Inference ms of [cpu, webgpu] on the first clip, when "auto" timed both. */
  trialMs: [number, number] | null;
  telemetryUrl: string | null;
  /** Where feedback() sends the true raga (null: no registry to send it to). */
  feedbackUrl: string | null;
  /** Whether events are being recorded now (see setTelemetry). */
  telemetryEnabled: boolean;
  telemetrySent: number;
}
"#;

/// `classify` options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClassifyOptions {
    tradition: Option<String>,
    tonic_hz: Option<f32>,
}

fn tradition(s: Option<&str>) -> Result<Tradition, RuntimeError> {
    match s.unwrap_or("auto") {
        "auto" | "unknown" => Ok(Tradition::Unknown),
        other => Tradition::parse(other).ok_or_else(|| {
            RuntimeError::Options(format!("tradition '{other}': use 'auto', 'hindustani' or 'carnatic'"))
        }),
    }
}

/// Reads an options object; `known` lists its keys (serde-wasm-bindgen looks up only the
/// fields it knows, so a misspelt option would pass silently without this check).
fn from_js<T: serde::de::DeserializeOwned + Default>(
    value: JsValue,
    what: &str,
    known: &[&str],
) -> Result<T, RuntimeError> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    if !value.is_object() {
        return Err(RuntimeError::Options(format!("{what} must be an object")));
    }
    let keys = js_sys::Reflect::own_keys(&value).map_err(|e| RuntimeError::Options(error::js_message(&e)))?;
    for key in keys.iter().filter_map(|k| k.as_string()) {
        if !known.contains(&key.as_str()) {
            return Err(RuntimeError::Options(format!(
                "{what}: unknown option `{key}` (known: {})",
                known.join(", ")
            )));
        }
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| RuntimeError::Options(format!("{what}: {e}")))
}

/// A result as a plain JavaScript object: JSON text parsed by the engine in one call.
/// (serde-wasm-bindgen builds objects value by value across the wasm boundary: measured,
/// 1.4 s for one 20 s clip's result with its pitch track, against ~1 ms this way.)
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))?;
    js_sys::JSON::parse(&text)
}

fn js_error(e: RuntimeError) -> JsValue {
    JsValue::from(js_sys::Error::new(&e.to_string()))
}

/// The loaded model and everything around it.
#[derive(Debug)]
struct Runtime {
    engines: RefCell<Option<Rc<Engines>>>,
    manifest: Manifest,
    version: Option<String>,
    source: Source,
    offline: bool,
    telemetry: Option<Rc<telemetry::Telemetry>>,
    /// The latest answers `(prediction id, raga)`, so feedback can name what it corrects.
    recent: RefCell<VecDeque<(String, String)>>,
}

/// Answers `feedback` can still refer to.
const RECENT_PREDICTIONS: usize = 256;

impl Runtime {
    /// The registry's `/v1/feedback`: beside the telemetry endpoint, else on the registry the
    /// model came from.
    fn feedback_url(&self) -> Option<String> {
        let beside_telemetry =
            self.telemetry.as_ref().and_then(|t| t.url().strip_suffix("/v1/telemetry").map(str::to_string));
        beside_telemetry.or_else(|| self.source.registry.clone()).map(|base| format!("{base}/v1/feedback"))
    }

    /// Sends the true raga of an earlier answer; the registry's verdict `{correct}`.
    async fn feedback(
        &self,
        prediction_id: &str,
        true_raga: &str,
    ) -> Result<serde_json::Value, RuntimeError> {
        if !self.manifest.labels.iter().any(|l| l == true_raga) {
            return Err(RuntimeError::Options(format!(
                "'{true_raga}' is not a raga of this model: use one of info().labels"
            )));
        }
        let predicted = self
            .recent
            .borrow()
            .iter()
            .find(|(id, _)| id == prediction_id)
            .map(|(_, raga)| raga.clone())
            .ok_or_else(|| {
                RuntimeError::Options(format!(
                    "no answer '{prediction_id}' among the last {RECENT_PREDICTIONS} of this model: pass \
                     the predictionId of a recent classify() result"
                ))
            })?;
        let (Some(url), Some(version)) = (self.feedback_url(), &self.version) else {
            return Err(RuntimeError::Options(
                "this model has no registry to send feedback to: load it from a registry, or with \
                 telemetry: { url } pointing at a registry's /v1/telemetry"
                    .into(),
            ));
        };
        let body = serde_json::json!({
            "prediction_id": prediction_id,
            "true_raga": true_raga,
            "model": self.manifest.name,
            "version": version,
            "predicted": predicted,
        });
        let url = self.telemetry.as_ref().map_or_else(|| url.clone(), |t| t.keyed(&url));
        let reply = net::post_json(&url, &body.to_string()).await?;
        let reply: serde_json::Value = serde_json::from_slice(&reply)
            .map_err(|e| RuntimeError::Network(format!("{url} answered something other than JSON: {e}")))?;
        Ok(serde_json::json!({ "correct": reply.get("correct").and_then(serde_json::Value::as_bool) }))
    }

    fn model_ref(&self) -> ModelRef {
        ModelRef { name: self.manifest.name.clone(), version: self.version.clone() }
    }

    /// Features, then the model; the event goes to telemetry (also for failures).
    async fn classify(
        &self,
        samples: &[f32],
        sample_rate: f64,
        tradition: Tradition,
        tonic_hz: Option<f32>,
    ) -> Result<(Classification, Features), RuntimeError> {
        let engines = self.engines.borrow().clone().ok_or(RuntimeError::Disposed)?;
        let start = net::now_ms();
        let result: Result<(Classification, Features), RuntimeError> = async {
            let mut features =
                raga_dsp::extract(samples, whole_hz(sample_rate)?, 1, &self.manifest.features)?;
            if let Some(hz) = tonic_hz {
                features = features.with_tonic(hz)?;
            }
            let features_ms = net::now_ms() - start;
            let (p, backend, inference_ms) = engines.classify(&features, tradition).await?;
            let timings =
                Timings { features: features_ms, inference: inference_ms, total: net::now_ms() - start };
            let out = Classification::new(net::random_id(), p, &features, backend, timings, self.model_ref());
            {
                let mut recent = self.recent.borrow_mut();
                if recent.len() == RECENT_PREDICTIONS {
                    recent.pop_front();
                }
                recent.push_back((out.prediction_id.clone(), out.raga.clone()));
            }
            Ok((out, features))
        }
        .await;
        if let (Some(t), Some(version)) = (&self.telemetry, &self.version) {
            match &result {
                Ok((out, features)) => t.record(Event::of(out, features, tradition, version)),
                Err(e) => t.record(Event::failure(
                    self.manifest.name.clone(),
                    version.clone(),
                    engines.backend().unwrap_or(BackendKind::Cpu),
                    tradition,
                    net::now_ms() - start,
                    e.to_string(),
                )),
            }
        }
        result
    }
}

/// A loaded raga model (JavaScript class `RagaSense`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct RagaSense {
    rt: Rc<Runtime>,
}

#[wasm_bindgen]
impl RagaSense {
    /// Fetches, verifies and caches a published model package and prepares the backend(s).
    pub async fn load(
        #[wasm_bindgen(unchecked_param_type = "LoadOptions")] options: JsValue,
    ) -> Result<RagaSense, JsValue> {
        #[cfg(target_family = "wasm")]
        console_error_panic_hook::set_once();
        Self::load_inner(options).await.map_err(js_error)
    }

    async fn load_inner(options: JsValue) -> Result<RagaSense, RuntimeError> {
        let options: LoadOptions = from_js(
            options,
            "load options",
            &["registry", "model", "ref", "manifestUrl", "backend", "telemetry", "cache"],
        )?;
        let backend = BackendChoice::parse(options.backend.as_deref())?;
        let telemetry_options = TelemetryOptions::from_option(options.telemetry.as_ref())?;
        let source = options.source(None)?;
        let package = loader::load(&source, options.cache.unwrap_or(true)).await?;
        let version = package.version.clone().or_else(|| registry_version(&package.manifest_bytes));
        let engines = Engines::new(&package, backend).await?;
        let telemetry = match telemetry_options {
            Some(t) if version.is_some() => {
                let url = match (&t.url, &source.registry) {
                    (Some(url), _) => Some(net::absolute(url, Some(&source.manifest_url))?),
                    (None, Some(registry)) => Some(format!("{registry}/v1/telemetry")),
                    (None, None) => None,
                };
                url.map(|url| telemetry::Telemetry::new(url, &t)).transpose()?
            }
            _ => None,
        };
        Ok(RagaSense {
            rt: Rc::new(Runtime {
                engines: RefCell::new(Some(Rc::new(engines))),
                manifest: package.manifest,
                version,
                source,
                offline: package.offline,
                telemetry,
                recent: RefCell::default(),
            }),
        })
    }

    /// Classifies mono samples at `sampleRate` (any rate from 8 to 192 kHz).
    #[wasm_bindgen(unchecked_return_type = "Promise<Classification>")]
    pub fn classify(
        &self,
        samples: Vec<f32>,
        #[wasm_bindgen(js_name = sampleRate)] sample_rate: f64,
        #[wasm_bindgen(unchecked_param_type = "ClassifyOptions")] options: JsValue,
    ) -> Promise {
        let rt = Rc::clone(&self.rt);
        future_to_promise(async move {
            let options: ClassifyOptions =
                from_js(options, "classify options", &["tradition", "tonicHz"]).map_err(js_error)?;
            let tradition = tradition(options.tradition.as_deref()).map_err(js_error)?;
            let (out, _) =
                rt.classify(&samples, sample_rate, tradition, options.tonic_hz).await.map_err(js_error)?;
            to_js(&out)
        })
    }

    /// A streaming classifier for live input at `sampleRate` (e.g. an AudioContext's).
    pub fn stream(
        &self,
        #[wasm_bindgen(js_name = sampleRate)] sample_rate: f64,
        #[wasm_bindgen(unchecked_param_type = "StreamOptions")] options: JsValue,
    ) -> Result<StreamingClassifier, JsValue> {
        #[derive(Default, Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Opts {
            window_s: Option<f32>,
            hop_s: Option<f32>,
            min_s: Option<f32>,
            smoothing: Option<f32>,
            tradition: Option<String>,
        }
        let o: Opts =
            from_js(options, "stream options", &["windowS", "hopS", "minS", "smoothing", "tradition"])
                .map_err(js_error)?;
        let d = StreamOptions::default();
        let opts = StreamOptions {
            window_s: o.window_s.unwrap_or(d.window_s),
            hop_s: o.hop_s.unwrap_or(d.hop_s),
            min_s: o.min_s.unwrap_or(d.min_s),
            smoothing: o.smoothing.unwrap_or(d.smoothing),
        };
        let tradition = tradition(o.tradition.as_deref()).map_err(js_error)?;
        let state =
            StreamState::new(opts, sample_rate as f32).map_err(|e| js_error(RuntimeError::Options(e)))?;
        Ok(StreamingClassifier {
            rt: Rc::clone(&self.rt),
            state: Rc::new(RefCell::new(state)),
            busy: Rc::new(std::cell::Cell::new(false)),
            tradition,
        })
    }

    /// The model, its source and the backend in use.
    #[wasm_bindgen(unchecked_return_type = "ModelInfo")]
    pub fn info(&self) -> Result<JsValue, JsValue> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Info<'a> {
            name: &'a str,
            version: Option<&'a str>,
            labels: &'a [String],
            traditions: &'a [Tradition],
            quantization: String,
            manifest_url: &'a str,
            offline: bool,
            backend: Option<&'static str>,
            webgpu_available: bool,
            webgpu_note: Option<String>,
            trial_ms: Option<(f64, f64)>,
            telemetry_url: Option<&'a str>,
            feedback_url: Option<String>,
            telemetry_enabled: bool,
            telemetry_sent: u32,
        }
        let rt = &self.rt;
        let engines = rt.engines.borrow().clone();
        to_js(&Info {
            name: &rt.manifest.name,
            version: rt.version.as_deref(),
            labels: &rt.manifest.labels,
            traditions: &rt.manifest.traditions,
            quantization: format!("{:?}", rt.manifest.quantization).to_lowercase(),
            manifest_url: &rt.source.manifest_url,
            offline: rt.offline,
            backend: engines.as_ref().and_then(|e| e.backend()).map(BackendKind::name),
            webgpu_available: engines.as_ref().is_some_and(|e| e.has_webgpu()),
            webgpu_note: engines.as_ref().and_then(|e| e.webgpu_note.clone()),
            trial_ms: engines.as_ref().and_then(|e| e.trial_ms.get()),
            telemetry_url: rt.telemetry.as_ref().map(|t| t.url()),
            feedback_url: rt.feedback_url(),
            telemetry_enabled: rt.telemetry.as_ref().is_some_and(|t| t.enabled()),
            telemetry_sent: rt.telemetry.as_ref().map_or(0, |t| t.sent()),
        })
    }

    /// Tells the registry the true raga of an earlier answer (`predictionId` of a `classify`
    /// result or of a rolling prediction's `latest`, among this instance's last 256); resolves
    /// to `{ correct }`. The registry turns this into the model's online accuracy (and alerts
    /// when it falls). Sent even while telemetry is switched off: it is the visitor's act.
    #[wasm_bindgen(unchecked_return_type = "Promise<{ correct: boolean }>")]
    pub fn feedback(
        &self,
        #[wasm_bindgen(js_name = predictionId)] prediction_id: String,
        #[wasm_bindgen(js_name = trueRaga)] true_raga: String,
    ) -> Promise {
        let rt = Rc::clone(&self.rt);
        future_to_promise(async move {
            let verdict = rt.feedback(&prediction_id, &true_raga).await.map_err(js_error)?;
            to_js(&verdict)
        })
    }

    /// Sends queued telemetry now; resolves to the number of events sent.
    #[wasm_bindgen(js_name = flushTelemetry, unchecked_return_type = "Promise<number>")]
    pub fn flush_telemetry(&self) -> Promise {
        let rt = Rc::clone(&self.rt);
        future_to_promise(async move {
            match &rt.telemetry {
                Some(t) => t.flush_now().await.map(JsValue::from).map_err(js_error),
                None => Ok(JsValue::from(0)),
            }
        })
    }

    /// Switches telemetry on or off at run time (a visitor's choice); off also drops the
    /// events queued and not yet sent. Throws when the model was loaded with
    /// `telemetry: false`, which leaves no endpoint to switch back on to.
    #[wasm_bindgen(js_name = setTelemetry)]
    pub fn set_telemetry(&self, enabled: bool) -> Result<(), JsValue> {
        match (&self.rt.telemetry, enabled) {
            (Some(t), _) => {
                t.set_enabled(enabled);
                Ok(())
            }
            (None, false) => Ok(()),
            (None, true) => Err(js_error(RuntimeError::Options(
                "telemetry was turned off when the model was loaded (telemetry: false): load it \
                 with telemetry to switch it at run time"
                    .into(),
            ))),
        }
    }

    /// Frees the model's memory (and sends what telemetry is queued); the instance cannot
    /// classify afterwards.
    pub fn dispose(&self) {
        self.rt.engines.borrow_mut().take();
        if let Some(t) = &self.rt.telemetry {
            t.close();
        }
    }
}

/// Log-mel spectrogram in dB with librosa's defaults (128 mels, n_fft 2048, hop 512 at
/// 22050 Hz): `frames × 128`, row-major, of mono samples at `sampleRate` (resampled first).
/// The same code the model's features use; for display and benchmarks.
#[wasm_bindgen(js_name = logMel)]
pub fn log_mel(
    samples: Vec<f32>,
    #[wasm_bindgen(js_name = sampleRate)] sample_rate: f64,
) -> Result<Vec<f32>, JsValue> {
    let config = raga_dsp::FeatureConfig::default();
    let run = || -> Result<Vec<f32>, RuntimeError> {
        let audio = raga_dsp::resample(&samples, whole_hz(sample_rate)?, config.sample_rate)?;
        let bank = raga_dsp::MelFilterbank::new(config.sample_rate, &config.mel)?;
        Ok(raga_dsp::log_mel(&audio, &bank, &config.mel))
    };
    run().map_err(js_error)
}

/// A JavaScript sample rate as whole Hz (what `AudioBuffer.sampleRate` gives); one check
/// for `classify` and `logMel`.
fn whole_hz(sample_rate: f64) -> Result<u32, RuntimeError> {
    if sample_rate.is_finite() && sample_rate >= 1.0 && sample_rate.fract() == 0.0 {
        Ok(sample_rate as u32)
    } else {
        Err(RuntimeError::Options(format!(
            "sampleRate {sample_rate} must be a whole number of Hz (e.g. AudioBuffer.sampleRate)"
        )))
    }
}

/// The version a registry recorded in a manifest it published or exported, if any.
fn registry_version(manifest: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(manifest).ok()?;
    let v = doc.get("registry")?.get("version")?;
    v.as_str().map(str::to_string).or_else(|| v.as_i64().map(|n| n.to_string()))
}

/// Rolling classification of a live stream (JavaScript class `StreamingClassifier`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct StreamingClassifier {
    rt: Rc<Runtime>,
    state: Rc<RefCell<StreamState>>,
    busy: Rc<std::cell::Cell<bool>>,
    tradition: Tradition,
}

#[wasm_bindgen]
impl StreamingClassifier {
    /// Adds samples; resolves to a rolling prediction when an update was due, else `null`
    /// (also while the previous update is still running: the samples are kept).
    #[wasm_bindgen(unchecked_return_type = "Promise<RollingPrediction | null>")]
    pub fn push(&self, samples: Vec<f32>) -> Promise {
        let window = self.state.borrow_mut().push(&samples);
        let (rt, state, busy, tradition) =
            (Rc::clone(&self.rt), Rc::clone(&self.state), Rc::clone(&self.busy), self.tradition);
        future_to_promise(async move {
            let Some(window) = window.filter(|_| !busy.get()) else {
                return Ok(JsValue::NULL);
            };
            busy.set(true);
            let rate = state.borrow().sample_rate();
            let result = rt.classify(&window, f64::from(rate), tradition, None).await;
            busy.set(false);
            let (latest, _) = result.map_err(js_error)?;
            let heard = window.len() as f32 / rate;
            let rolling = state.borrow_mut().update(&rt.manifest.labels, &latest.probabilities, heard);
            #[derive(Serialize)]
            struct Out<'a> {
                #[serde(flatten)]
                rolling: &'a Rolling,
                latest: &'a Classification,
            }
            to_js(&Out { rolling: &rolling, latest: &latest })
        })
    }

    /// Forgets the audio and the rolling answer.
    pub fn reset(&self) {
        let mut s = self.state.borrow_mut();
        if let Ok(fresh) = StreamState::new(s.options(), s.sample_rate()) {
            *s = fresh;
        }
    }
}
