//! The JavaScript host: `fetch`, Cache Storage, clocks and ids — through the global object,
//! so the same code runs in a page, a worker and Node (which has `fetch` but no caches).

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, CacheStorage, Request, RequestInit, Response};

use crate::error::RuntimeError;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (pages, workers, Node ≥ 18).
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(request: &Request) -> Result<Promise, JsValue>;
}

/// A property of the global object, `None` when it is missing.
pub(crate) fn global(name: &str) -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Milliseconds from `performance.now()` (or the wall clock where there is none).
pub(crate) fn now_ms() -> f64 {
    global("performance")
        .and_then(|p| {
            let now =
                Reflect::get(&p, &JsValue::from_str("now")).ok()?.dyn_into::<js_sys::Function>().ok()?;
            now.call0(&p).ok()?.as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

/// Milliseconds since the epoch.
pub(crate) fn epoch_ms() -> f64 {
    js_sys::Date::now()
}

/// A random id: 32 hex digits (dedup keys, not secrets).
pub(crate) fn random_id() -> String {
    (0..4).map(|_| format!("{:08x}", (js_sys::Math::random() * 4_294_967_296.0) as u32)).collect()
}

/// Resolves `url` against the page's location when it is relative (Node: must be absolute).
pub(crate) fn absolute(url: &str, base: Option<&str>) -> Result<String, RuntimeError> {
    let base = base.map(str::to_string).or_else(|| {
        global("location").and_then(|l| Reflect::get(&l, &JsValue::from_str("href")).ok()?.as_string())
    });
    web_url(url, base.as_deref()).ok_or_else(|| {
        RuntimeError::Options(format!("'{url}' is not a URL (give an absolute http(s) URL outside a page)"))
    })
}

fn web_url(url: &str, base: Option<&str>) -> Option<String> {
    let ctor = global("URL")?.dyn_into::<js_sys::Function>().ok()?;
    let args = js_sys::Array::new();
    args.push(&JsValue::from_str(url));
    if let Some(b) = base {
        args.push(&JsValue::from_str(b));
    }
    let u = Reflect::construct(&ctor, &args).ok()?;
    Reflect::get(&u, &JsValue::from_str("href")).ok()?.as_string()
}

/// An HTTP answer.
pub(crate) struct Fetched {
    pub(crate) bytes: Vec<u8>,
    pub(crate) header: Option<String>,
}

/// GETs `url` (bypassing the HTTP cache when `fresh`); non-2xx is an error naming the status
/// and the server's message. `header` names one response header to return.
pub(crate) async fn get(url: &str, fresh: bool, header: Option<&str>) -> Result<Fetched, RuntimeError> {
    let init = RequestInit::new();
    init.set_method("GET");
    if fresh {
        init.set_cache(web_sys::RequestCache::NoCache);
    }
    let request = Request::new_with_str_and_init(url, &init)
        .map_err(|e| RuntimeError::network(&format!("GET {url}"), &e))?;
    let response = send(&request, url).await?;
    let header = match header {
        Some(h) => response.headers().get(h).ok().flatten(),
        None => None,
    };
    let bytes = body(&response, url).await?;
    Ok(Fetched { bytes, header })
}

/// POSTs a JSON text; `keepalive` lets it outlive the page.
pub(crate) async fn post_json(url: &str, json: &str) -> Result<Vec<u8>, RuntimeError> {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(json));
    // `keepalive` (not in web-sys): the request may outlive the page.
    let _ = Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE);
    let headers = web_sys::Headers::new().map_err(|e| RuntimeError::network("headers", &e))?;
    headers.set("Content-Type", "application/json").map_err(|e| RuntimeError::network("headers", &e))?;
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(url, &init)
        .map_err(|e| RuntimeError::network(&format!("POST {url}"), &e))?;
    let response = send(&request, url).await?;
    // Read the body (also so the connection can be reused).
    body(&response, url).await
}

async fn send(request: &Request, url: &str) -> Result<Response, RuntimeError> {
    let promise = global_fetch(request).map_err(|e| RuntimeError::network(&format!("fetching {url}"), &e))?;
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(|e| RuntimeError::network(&format!("fetching {url}"), &e))?
        .dyn_into()
        .map_err(|_| RuntimeError::Network(format!("fetching {url}: not a Response")))?;
    if !response.ok() {
        let status = response.status();
        let text = JsFuture::from(response.text().map_err(|e| RuntimeError::network(url, &e))?)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| text.chars().take(300).collect());
        return Err(RuntimeError::Network(format!("{url} answered {status}: {message}")));
    }
    Ok(response)
}

async fn body(response: &Response, url: &str) -> Result<Vec<u8>, RuntimeError> {
    let buffer = JsFuture::from(response.array_buffer().map_err(|e| RuntimeError::network(url, &e))?)
        .await
        .map_err(|e| RuntimeError::network(&format!("reading {url}"), &e))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The Cache Storage bucket models are kept in, when the host has one (pages and workers
/// in secure contexts; not Node).
pub(crate) async fn open_cache() -> Option<Cache> {
    let caches: CacheStorage = global("caches")?.dyn_into().ok()?;
    JsFuture::from(caches.open(CACHE_NAME)).await.ok()?.dyn_into().ok()
}

/// Name of the Cache Storage bucket.
pub const CACHE_NAME: &str = "ragasense-models-v1";

/// The cached body of `url`, if any.
pub(crate) async fn cached(cache: &Cache, url: &str) -> Option<Vec<u8>> {
    let hit = JsFuture::from(cache.match_with_str(url)).await.ok()?;
    let response: Response = hit.dyn_into().ok()?;
    body(&response, url).await.ok()
}

/// Stores `bytes` as the answer for `url` (best effort: a full quota only costs the cache).
pub(crate) async fn store(cache: &Cache, url: &str, bytes: &[u8]) {
    let array = Uint8Array::from(bytes);
    let Ok(response) = Response::new_with_opt_buffer_source(Some(&array)) else {
        return;
    };
    let _ = JsFuture::from(cache.put_with_str(url, &response)).await;
}
