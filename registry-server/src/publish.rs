//! Publication for browsers: `GET /v1/models/{name}/{version|stage|@alias}/manifest.json`
//! rewritten with content-addressed file URLs, the files themselves, and
//! `GET /v1/blobs/sha256/{hash}` (immutable, ETag, Range).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::AppState;
use crate::artifacts::{Cache, storage_path};
use crate::error::{Error, Result};
use crate::extract::UrlPath;
use crate::registry::{self, ModelVersion};
use crate::validate;

/// Routes (absolute paths).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/models/{name}/{selector}/manifest.json", get(manifest))
        .route("/v1/models/{name}/{selector}/files/{*path}", get(package_file))
        .route("/v1/blobs/sha256/{hash}", get(blob))
}

/// How a URL names a version.
pub(crate) enum Selector {
    Version(i64),
    Stage(&'static str),
    Alias(String),
}

fn parse_selector(s: &str) -> Result<Selector> {
    if let Some(alias) = s.strip_prefix('@') {
        return Ok(Selector::Alias(alias.to_string()));
    }
    if let Ok(v) = s.parse::<i64>() {
        return Ok(Selector::Version(v));
    }
    registry::canonical_stage(s).map(Selector::Stage).map_err(|_| {
        Error::invalid(format!(
            "'{s}' is not a version number, a stage (Staging, Production, Archived, None) or an @alias"
        ))
    })
}

/// The registered version `selector` names.
pub(crate) async fn resolve(state: &AppState, name: &str, selector: &Selector) -> Result<ModelVersion> {
    let mut conn = state.db.read.acquire().await?;
    let version = match selector {
        Selector::Version(v) => *v,
        Selector::Alias(a) => registry::alias_version(&mut conn, name, a).await.map_err(|e| match e {
            Error::InvalidParameter(_) => Error::not_found(format!("model '{name}' has no alias '{a}'")),
            other => other,
        })?,
        Selector::Stage(stage) => {
            registry::load_model(&mut conn, name).await?;
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT MAX(version) FROM model_versions WHERE name = $1 AND current_stage = $2",
            )
            .bind(name)
            .bind(*stage)
            .fetch_one(&mut *conn)
            .await?
            .ok_or_else(|| Error::not_found(format!("model '{name}' has no version in stage {stage}")))?
        }
    };
    registry::load_version(&mut conn, name, version).await
}

/// Storage path of the package folder of a version.
async fn package_root(state: &AppState, mv: &ModelVersion) -> Result<String> {
    let uri = registry::resolve_source(state, mv).await?;
    storage_path(&uri)
}

/// A file of a version's package folder, as stored.
async fn package_file_bytes(
    state: &AppState,
    mv: &ModelVersion,
    root: &str,
    file: &str,
) -> Result<bytes::Bytes> {
    state.artifacts.get_bytes(&format!("{root}/{file}")).await.map_err(|e| match e {
        Error::NotFound(_) => Error::not_found(format!(
            "model '{}' version {} has no {file} at its source {}",
            mv.name, mv.version, mv.source
        )),
        other => other,
    })
}

/// The `manifest.json` of a version's package, as stored.
pub async fn read_manifest(state: &AppState, mv: &ModelVersion) -> Result<bytes::Bytes> {
    let root = package_root(state, mv).await?;
    package_file_bytes(state, mv, &root, "manifest.json").await
}

/// The package of a version as stored: its `manifest.json` and weights (the bytes
/// `raga_model::Classifier::from_package` checks and loads).
pub(crate) async fn package_bytes(
    state: &AppState,
    mv: &ModelVersion,
) -> Result<(bytes::Bytes, bytes::Bytes)> {
    let root = package_root(state, mv).await?;
    let manifest = package_file_bytes(state, mv, &root, "manifest.json").await?;
    let weights = package_file_bytes(state, mv, &root, raga_model::package::WEIGHTS_FILE).await?;
    Ok((manifest, weights))
}

fn cache_for(selector: &Selector, state: &AppState, etag: String) -> Cache {
    match selector {
        Selector::Version(_) => Cache::Short { max_age: 3600, etag: Some(etag) },
        _ => Cache::Short { max_age: state.settings.moving_max_age, etag: Some(etag) },
    }
}

async fn sha256_of(state: &AppState, path: &str) -> Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let resp = state.artifacts.serve(path, &HeaderMap::new(), Cache::NoCache).await?;
    let mut stream = resp.into_body().into_data_stream();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(Error::internal)?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Adds `url` to every object that names a file and its sha256; records each blob.
async fn rewrite(
    state: &AppState,
    root: &str,
    value: &mut Value,
    files: &mut Vec<(String, String)>,
) -> Result<()> {
    match value {
        Value::Object(map) => {
            let hash = map.get("sha256").and_then(Value::as_str).map(str::to_ascii_lowercase);
            let path = ["path", "file", "filename", "name"]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str))
                .map(str::to_string);
            if let (Some(hash), Some(path)) = (hash, path)
                && is_sha256(&hash)
            {
                let rel = validate::artifact_path(&path)?;
                files.push((hash.clone(), format!("{root}/{rel}")));
                map.insert("url".into(), Value::String(format!("/v1/blobs/sha256/{hash}")));
            }
            for v in map.values_mut() {
                Box::pin(rewrite(state, root, v, files)).await?;
            }
        }
        Value::Array(items) => {
            for v in items {
                Box::pin(rewrite(state, root, v, files)).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Makes sure each listed file is stored and matches its hash, then indexes it.
async fn index_blobs(state: &AppState, files: &[(String, String)]) -> Result<()> {
    for (hash, path) in files {
        let known: Option<String> = sqlx::query_scalar("SELECT path FROM published_blobs WHERE sha256 = $1")
            .bind(hash)
            .fetch_optional(&state.db.read)
            .await?;
        if known.is_some() {
            continue;
        }
        let (actual, size) = sha256_of(state, path).await.map_err(|e| match e {
            Error::NotFound(_) => Error::InvalidState(format!(
                "the package lists '{path}' but the file is not in the artifact store"
            )),
            other => other,
        })?;
        if &actual != hash {
            return Err(Error::InvalidState(format!(
                "file '{path}' has sha256 {actual}, but the manifest says {hash}: re-upload the package"
            )));
        }
        sqlx::query("INSERT INTO published_blobs (sha256, path, size) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO UPDATE SET path = excluded.path, size = excluded.size")
            .bind(hash)
            .bind(path)
            .bind(size as i64)
            .execute(&state.db.write)
            .await?;
    }
    Ok(())
}

async fn manifest(
    State(state): State<AppState>,
    UrlPath((name, selector)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let selector = parse_selector(&selector)?;
    let mv = resolve(&state, &name, &selector).await?;
    let root = package_root(&state, &mv).await?;
    let raw = package_file_bytes(&state, &mv, &root, "manifest.json").await?;
    let mut doc: Value = serde_json::from_slice(&raw).map_err(|e| {
        Error::InvalidState(format!(
            "manifest.json of '{name}' version {} is not valid JSON: {e}",
            mv.version
        ))
    })?;
    let mut files = Vec::new();
    rewrite(&state, &root, &mut doc, &mut files).await?;
    // Which registry version this is, for clients that cannot read `x-model-version`
    // (and for copies of the manifest saved elsewhere, e.g. an exported static site).
    if let Value::Object(map) = &mut doc {
        map.insert("registry".into(), serde_json::json!({ "model": name, "version": mv.version }));
    }
    index_blobs(&state, &files).await?;
    let body = serde_json::to_vec_pretty(&doc).map_err(Error::internal)?;
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&body)));
    let cache = cache_for(&selector, &state, etag.trim_matches('"').to_string());
    let cache_header = match &cache {
        Cache::Short { max_age, .. } => format!("public, max-age={max_age}, must-revalidate"),
        _ => "no-cache".into(),
    };
    let mut resp = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| inm.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache_header) {
        h.insert(header::CACHE_CONTROL, v);
    }
    if let Ok(v) = HeaderValue::from_str(&mv.version) {
        h.insert("x-model-version", v);
    }
    Ok(resp)
}

async fn package_file(
    State(state): State<AppState>,
    UrlPath((name, selector, path)): UrlPath<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let selector = parse_selector(&selector)?;
    let rel = validate::artifact_path(&path)?;
    let mv = resolve(&state, &name, &selector).await?;
    let root = package_root(&state, &mv).await?;
    let cache = match selector {
        Selector::Version(_) => Cache::Short { max_age: 3600, etag: None },
        _ => Cache::Short { max_age: state.settings.moving_max_age, etag: None },
    };
    state.artifacts.serve(&format!("{root}/{rel}"), &headers, cache).await
}

async fn blob(
    State(state): State<AppState>,
    UrlPath(hash): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let hash = hash.to_ascii_lowercase();
    if !is_sha256(&hash) {
        return Err(Error::invalid(format!("'{hash}' is not a sha256 hex digest (64 hex digits)")));
    }
    let row = sqlx::query("SELECT path FROM published_blobs WHERE sha256 = $1")
        .bind(&hash)
        .fetch_optional(&state.db.read)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "no published file has sha256 {hash}: fetch a model's manifest.json first"
            ))
        })?;
    let path: String = row.get("path");
    state.artifacts.serve(&path, &headers, Cache::Immutable { etag: hash }).await
}
