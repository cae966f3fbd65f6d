//! What can go wrong in the runtime, with messages that say what to do.

use raga_model::ModelError;

/// A runtime failure; reaches JavaScript as an `Error` with this message.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The options passed from JavaScript are wrong.
    #[error("bad options: {0}")]
    Options(String),
    /// A network request failed or answered with an error status.
    #[error("{0}")]
    Network(String),
    /// The package is not one this runtime can use, or its files do not match the manifest.
    #[error("model package: {0}")]
    Package(#[from] ModelError),
    /// The audio cannot be featurized.
    #[error("audio: {0}")]
    Audio(#[from] raga_dsp::DspError),
    /// The requested backend is not available here.
    #[error("{0}")]
    Backend(String),
    /// The model was disposed.
    #[error("this RagaSense instance was disposed; load the model again")]
    Disposed,
}

impl RuntimeError {
    /// A network error from a JavaScript exception value.
    pub(crate) fn network(what: &str, err: &wasm_bindgen::JsValue) -> Self {
        Self::Network(format!("{what}: {}", js_message(err)))
    }
}

/// The message of a JavaScript error value (or its string form).
pub(crate) fn js_message(err: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    if let Some(e) = err.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    err.as_string().unwrap_or_else(|| format!("{err:?}"))
}
