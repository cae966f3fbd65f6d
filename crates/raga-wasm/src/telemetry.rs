//! Telemetry: one small event per classification — model, backend, timings, the answer and
//! summary statistics of the input (per-band log-mel mean/std, voiced ratio, tonic), never
//! audio — batched to the registry's `POST /v1/telemetry`, and flushed with
//! `navigator.sendBeacon` when the page is hidden. Off with `telemetry: false`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use raga_dsp::Features;
use raga_model::{FeatureStats, StatsAccumulator, Tradition};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::error::RuntimeError;
use crate::net;
use crate::output::{Classification, Timings};

/// Events kept while the endpoint cannot be reached; older ones are dropped beyond this.
pub const MAX_QUEUED: usize = 200;

/// One event, as the registry stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Dedup key (the prediction id).
    pub event_id: String,
    /// Registered model name.
    pub model: String,
    /// Registry version.
    pub version: String,
    /// `webgpu` or `cpu`.
    pub backend: String,
    /// Client clock, ms since the epoch.
    pub client_time_ms: i64,
    /// Time per step.
    pub timings_ms: Timings,
    /// The answer (absent on errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_label: Option<String>,
    /// Its probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// The tradition the caller gave.
    pub tradition: Tradition,
    /// The tonic the answer is relative to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tonic_hz: Option<f32>,
    /// Summary statistics of the input clip (the same as the package's training reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<FeatureStats>,
    /// What went wrong, for failed classifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The runtime.
    pub runtime: RuntimeInfo,
}

/// Which runtime sent an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuntimeInfo {
    /// This package's version.
    pub package_version: String,
}

impl Event {
    /// The event of a successful classification.
    pub fn of(result: &Classification, features: &Features, tradition: Tradition, version: &str) -> Self {
        let mut stats = StatsAccumulator::default();
        stats.push(features);
        Self {
            event_id: result.prediction_id.clone(),
            model: result.model.name.clone(),
            version: version.to_string(),
            backend: result.backend.name().to_string(),
            client_time_ms: net::epoch_ms() as i64,
            timings_ms: result.timings_ms,
            top_label: Some(result.raga.clone()),
            confidence: Some(result.confidence),
            tradition,
            tonic_hz: Some(result.tonic_hz),
            input: Some(stats.finish()),
            error: None,
            runtime: RuntimeInfo { package_version: env!("CARGO_PKG_VERSION").to_string() },
        }
    }
}

impl Event {
    /// The event of a failed classification.
    pub fn failure(
        model: String,
        version: String,
        backend: crate::output::BackendKind,
        tradition: Tradition,
        total_ms: f64,
        error: String,
    ) -> Self {
        Self {
            event_id: net::random_id(),
            model,
            version,
            backend: backend.name().to_string(),
            client_time_ms: net::epoch_ms() as i64,
            timings_ms: Timings { features: 0.0, inference: 0.0, total: total_ms },
            top_label: None,
            confidence: None,
            tradition,
            tonic_hz: None,
            input: None,
            error: Some(error.chars().take(1000).collect()),
            runtime: RuntimeInfo { package_version: env!("CARGO_PKG_VERSION").to_string() },
        }
    }
}

/// Telemetry settings from `load({ telemetry })`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TelemetryOptions {
    /// Endpoint (default: the registry's `/v1/telemetry`).
    pub url: Option<String>,
    /// A publishable telemetry key (`rsp_…`), for a registry that checks tokens. Sent as
    /// `?key=` because `navigator.sendBeacon` cannot set headers.
    pub key: Option<String>,
    /// Send when this many events are queued (default 10).
    pub batch_size: Option<usize>,
    /// …or this many milliseconds after the first queued one (default 5000).
    pub flush_ms: Option<i32>,
}

impl TelemetryOptions {
    /// Reads `telemetry` from the load options: absent → defaults, `false` → off.
    pub fn from_option(value: Option<&serde_json::Value>) -> Result<Option<Self>, RuntimeError> {
        match value {
            None | Some(serde_json::Value::Bool(true)) | Some(serde_json::Value::Null) => {
                Ok(Some(Self::default()))
            }
            Some(serde_json::Value::Bool(false)) => Ok(None),
            Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| {
                RuntimeError::Options(format!(
                    "telemetry: {e} (use false, true or {{ url, key, batchSize, flushMs }})"
                ))
            }),
        }
    }
}

/// The queue and its sender.
#[derive(Debug)]
pub struct Telemetry {
    url: String,
    /// The publishable key, if any (checked: URL-safe characters only).
    key: Option<String>,
    batch_size: usize,
    flush_ms: i32,
    queue: RefCell<Vec<Event>>,
    /// The pending `setTimeout` handle (a number in pages, an object in Node).
    timer: RefCell<Option<JsValue>>,
    sent: Cell<u32>,
    /// Switched at run time by `setTelemetry`; off records nothing.
    enabled: Cell<bool>,
    on_hide: RefCell<Option<Closure<dyn FnMut()>>>,
    flush_tick: RefCell<Option<Closure<dyn FnMut()>>>,
}

impl Telemetry {
    /// A sender to `url`; listens for the page being hidden to flush with a beacon.
    pub fn new(url: String, options: &TelemetryOptions) -> Result<Rc<Self>, RuntimeError> {
        let key = options.key.clone().filter(|k| !k.is_empty());
        if key
            .as_deref()
            .is_some_and(|k| !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(RuntimeError::Options(
                "telemetry.key is not a telemetry key: copy the rsp_… key 'ragasense token create --scope telemetry' printed".into(),
            ));
        }
        let t = Rc::new(Self {
            url,
            key,
            batch_size: options.batch_size.unwrap_or(10).clamp(1, 100),
            flush_ms: options.flush_ms.unwrap_or(5000).max(0),
            queue: RefCell::new(Vec::new()),
            timer: RefCell::new(None),
            sent: Cell::new(0),
            enabled: Cell::new(true),
            on_hide: RefCell::new(None),
            flush_tick: RefCell::new(None),
        });
        let weak = Rc::downgrade(&t);
        let hide = Closure::<dyn FnMut()>::new(move || {
            if let Some(t) = weak.upgrade() {
                let hidden = net::global("document")
                    .and_then(|d| js_sys::Reflect::get(&d, &"visibilityState".into()).ok())
                    .and_then(|v| v.as_string())
                    .is_none_or(|s| s == "hidden");
                if hidden {
                    t.beacon();
                }
            }
        });
        for (target, event) in [("window", "pagehide"), ("document", "visibilitychange")] {
            if let Some(target) = net::global(target) {
                let target: web_sys::EventTarget = target.unchecked_into();
                let _ = target.add_event_listener_with_callback(event, hide.as_ref().unchecked_ref());
            }
        }
        *t.on_hide.borrow_mut() = Some(hide);
        let weak = Rc::downgrade(&t);
        *t.flush_tick.borrow_mut() = Some(Closure::<dyn FnMut()>::new(move || {
            if let Some(t) = weak.upgrade() {
                t.timer.borrow_mut().take();
                t.flush();
            }
        }));
        Ok(t)
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `url` with this sender's key as `?key=` (as is without one).
    pub fn keyed(&self, url: &str) -> String {
        match &self.key {
            Some(key) => format!("{url}{}key={key}", if url.contains('?') { '&' } else { '?' }),
            None => url.to_string(),
        }
    }

    /// Events sent so far.
    pub fn sent(&self) -> u32 {
        self.sent.get()
    }

    /// Whether events are being recorded.
    pub fn enabled(&self) -> bool {
        self.enabled.get()
    }

    /// Switches recording on or off; off also drops what is queued and not yet sent (the
    /// visitor said no: nothing more leaves the page, not even the last few seconds').
    pub fn set_enabled(&self, on: bool) {
        self.enabled.set(on);
        if !on {
            self.queue.borrow_mut().clear();
            self.cancel_timer();
        }
    }

    /// Queues an event; sends when the batch is full, else within `flush_ms`.
    pub fn record(self: &Rc<Self>, event: Event) {
        if !self.enabled.get() {
            return;
        }
        {
            let mut q = self.queue.borrow_mut();
            q.push(event);
            let excess = q.len().saturating_sub(MAX_QUEUED);
            q.drain(..excess);
        }
        if self.queue.borrow().len() >= self.batch_size {
            self.flush();
        } else if self.timer.borrow().is_none() {
            self.schedule();
        }
    }

    fn schedule(&self) {
        let Some(set_timeout) = net::global("setTimeout").and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        else {
            return;
        };
        if let Some(tick) = self.flush_tick.borrow().as_ref() {
            let id = set_timeout.call2(&JsValue::NULL, tick.as_ref(), &JsValue::from(self.flush_ms));
            *self.timer.borrow_mut() = id.ok();
        }
    }

    /// Sends everything queued now (in the background); failed events go back in the queue.
    pub fn flush(self: &Rc<Self>) {
        let events = std::mem::take(&mut *self.queue.borrow_mut());
        if events.is_empty() {
            return;
        }
        let this = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = this.send(events).await;
        });
    }

    /// Sends everything queued now and waits for the answer.
    pub async fn flush_now(&self) -> Result<u32, RuntimeError> {
        let events = std::mem::take(&mut *self.queue.borrow_mut());
        let n = events.len() as u32;
        if n > 0 {
            self.send(events).await?;
        }
        Ok(n)
    }

    async fn send(&self, events: Vec<Event>) -> Result<(), RuntimeError> {
        let body = serde_json::json!({ "events": &events }).to_string();
        match net::post_json(&self.keyed(&self.url), &body).await {
            Ok(_) => {
                self.sent.set(self.sent.get() + events.len() as u32);
                Ok(())
            }
            Err(e) if !e.to_string().contains(" answered 4") || e.to_string().contains(" answered 429") => {
                // Unreachable, a server error or rate-limited: keep them for the next flush.
                let mut q = self.queue.borrow_mut();
                let mut back = events;
                back.append(&mut q);
                *q = back;
                let excess = q.len().saturating_sub(MAX_QUEUED);
                q.drain(..excess);
                Err(e)
            }
            // The server refused them (4xx): sending again would not help.
            Err(e) => Err(e),
        }
    }

    /// Hands what is queued to `navigator.sendBeacon` (survives the page going away). Where
    /// there is none (a Web Worker, Node) or it refuses the batch, a `keepalive` fetch takes it.
    fn beacon(self: &Rc<Self>) {
        let events = std::mem::take(&mut *self.queue.borrow_mut());
        if events.is_empty() {
            return;
        }
        let body = serde_json::json!({ "events": &events }).to_string();
        let sent = net::global("navigator").and_then(|nav| {
            let f =
                js_sys::Reflect::get(&nav, &"sendBeacon".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
            f.call2(&nav, &JsValue::from_str(&self.keyed(&self.url)), &JsValue::from_str(&body))
                .ok()?
                .as_bool()
        });
        if sent == Some(true) {
            self.sent.set(self.sent.get() + events.len() as u32);
        } else {
            let this = Rc::clone(self);
            wasm_bindgen_futures::spawn_local(async move {
                let _ = this.send(events).await;
            });
        }
    }

    fn cancel_timer(&self) {
        let pending = self.timer.borrow_mut().take();
        if let (Some(id), Some(clear)) =
            (pending, net::global("clearTimeout").and_then(|f| f.dyn_into::<js_sys::Function>().ok()))
        {
            let _ = clear.call1(&JsValue::NULL, &id);
        }
    }

    /// Stops listening; what is queued is sent by beacon.
    pub fn close(self: &Rc<Self>) {
        self.beacon();
        if let Some(hide) = self.on_hide.borrow_mut().take() {
            for (target, event) in [("window", "pagehide"), ("document", "visibilitychange")] {
                if let Some(target) = net::global(target) {
                    let target: web_sys::EventTarget = target.unchecked_into();
                    let _ = target.remove_event_listener_with_callback(event, hide.as_ref().unchecked_ref());
                }
            }
        }
        self.cancel_timer();
    }
}
