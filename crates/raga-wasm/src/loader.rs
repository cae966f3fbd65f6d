//! Finding, fetching, verifying and caching a model package.
//!
//! The manifest is asked of the network first (a stage or alias can move to another
//! version) and the cached copy is used only when the network fails, so a page that loaded
//! a model once works offline. The weights are cached by URL and checked against the
//! manifest's sha256 every time, from the network or the cache.

use raga_model::Manifest;
use raga_model::package::WEIGHTS_FILE;
use serde::Deserialize;

use crate::error::RuntimeError;
use crate::net;

/// Where a model comes from, as given to `RagaSense.load`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadOptions {
    /// Registry base URL, e.g. `https://registry.example.org`.
    pub registry: Option<String>,
    /// Registered model name (default `raga-detector`).
    pub model: Option<String>,
    /// Version number, stage (`Production`, `Staging`) or `@alias` (default `@production`).
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// A manifest URL instead of a registry (static deployments).
    pub manifest_url: Option<String>,
    /// `auto` (default), `webgpu` or `cpu`.
    pub backend: Option<String>,
    /// `false` turns telemetry off; an object configures it.
    pub telemetry: Option<serde_json::Value>,
    /// Keep the package in Cache Storage (default true).
    pub cache: Option<bool>,
}

/// Default registered-model name.
pub const DEFAULT_MODEL: &str = "raga-detector";
/// Default reference: the version the `production` alias points at.
pub const DEFAULT_REF: &str = "@production";

/// A resolved source.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Absolute manifest URL.
    pub manifest_url: String,
    /// Registry base URL (no trailing slash), when loading from a registry.
    pub registry: Option<String>,
}

impl LoadOptions {
    /// Where to fetch the manifest; `base` resolves relative URLs (the page's location).
    pub fn source(&self, base: Option<&str>) -> Result<Source, RuntimeError> {
        match (&self.manifest_url, &self.registry) {
            (Some(_), Some(_)) => {
                Err(RuntimeError::Options("give either `registry` or `manifestUrl`, not both".into()))
            }
            (Some(url), None) => Ok(Source { manifest_url: net::absolute(url, base)?, registry: None }),
            (None, Some(registry)) => {
                let registry = net::absolute(registry, base)?.trim_end_matches('/').to_string();
                let model = self.model.as_deref().unwrap_or(DEFAULT_MODEL);
                let reference = self.reference.as_deref().unwrap_or(DEFAULT_REF);
                if model.is_empty() || reference.is_empty() {
                    return Err(RuntimeError::Options("`model` and `ref` must not be empty".into()));
                }
                Ok(Source {
                    manifest_url: format!(
                        "{registry}/v1/models/{}/{}/manifest.json",
                        encode(model),
                        encode(reference)
                    ),
                    registry: Some(registry),
                })
            }
            (None, None) => Err(RuntimeError::Options(
                "give `registry` (with optional `model` and `ref`) or `manifestUrl`".into(),
            )),
        }
    }
}

fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// A package ready to load onto a device.
#[derive(Debug)]
pub struct Package {
    /// The checked manifest.
    pub manifest: Manifest,
    /// Its bytes.
    pub manifest_bytes: Vec<u8>,
    /// The verified weights.
    pub weights: Vec<u8>,
    /// The registry version (from the registry's `x-model-version` header), if known.
    pub version: Option<String>,
    /// Whether the manifest came from the cache because the network failed.
    pub offline: bool,
}

/// Fetches (or takes from the cache) and verifies the package at `source`.
pub async fn load(source: &Source, use_cache: bool) -> Result<Package, RuntimeError> {
    let cache = if use_cache { net::open_cache().await } else { None };
    let url = &source.manifest_url;
    let version_key = format!("{url}.x-model-version");
    let (manifest_bytes, version, offline) = match net::get(url, true, Some("x-model-version")).await {
        Ok(fetched) => {
            if let Some(cache) = &cache {
                net::store(cache, url, &fetched.bytes).await;
                if let Some(v) = &fetched.header {
                    net::store(cache, &version_key, v.as_bytes()).await;
                }
            }
            (fetched.bytes, fetched.header, false)
        }
        Err(err) => {
            let Some(cache) = &cache else { return Err(err) };
            let Some(bytes) = net::cached(cache, url).await else {
                return Err(RuntimeError::Network(format!(
                    "{err} (and no cached copy to work offline with)"
                )));
            };
            let version = net::cached(cache, &version_key).await.and_then(|v| String::from_utf8(v).ok());
            (bytes, version, true)
        }
    };
    let manifest = Manifest::from_json(&manifest_bytes)?;
    let weights_url = file_url(&manifest_bytes, WEIGHTS_FILE, url)?;
    let weights = fetch_verified(&manifest, WEIGHTS_FILE, &weights_url, cache.as_ref()).await?;
    Ok(Package { manifest, manifest_bytes, weights, version, offline })
}

/// The URL of a listed file: the `url` the registry adds to each entry (content-addressed),
/// else its path relative to the manifest.
fn file_url(manifest: &[u8], path: &str, manifest_url: &str) -> Result<String, RuntimeError> {
    let doc: serde_json::Value =
        serde_json::from_slice(manifest).map_err(|e| RuntimeError::Options(format!("manifest: {e}")))?;
    let listed = doc
        .get("files")
        .and_then(|f| f.as_array())
        .and_then(|files| files.iter().find(|f| f.get("path").and_then(|p| p.as_str()) == Some(path)));
    let relative = listed.and_then(|f| f.get("url")).and_then(|u| u.as_str()).unwrap_or(path);
    net::absolute(relative, Some(manifest_url))
}

/// The bytes of `path`, from the cache when they still match the manifest, else from `url`.
async fn fetch_verified(
    manifest: &Manifest,
    path: &str,
    url: &str,
    cache: Option<&web_sys::Cache>,
) -> Result<Vec<u8>, RuntimeError> {
    if let Some(cache) = cache
        && let Some(bytes) = net::cached(cache, url).await
        && manifest.verify_file(path, &bytes).is_ok()
    {
        return Ok(bytes);
    }
    let fetched = net::get(url, false, None).await?;
    manifest.verify_file(path, &fetched.bytes)?;
    if let Some(cache) = cache {
        net::store(cache, url, &fetched.bytes).await;
    }
    Ok(fetched.bytes)
}
