//! Artifact storage behind `object_store` (local filesystem now, S3 later) and the
//! `mlflow-artifacts` proxy routes: upload, download, list, delete.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectStore, WriteMultipart};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{Error, Result};
use crate::extract::{Msg, UrlPath, opt_string};
use crate::runs;
use crate::validate;

/// Where artifacts live. Wraps any [`ObjectStore`]; `local` is what `serve` uses today.
#[derive(Debug, Clone)]
pub struct Artifacts {
    store: Arc<dyn ObjectStore>,
    description: String,
    /// Set for a local directory: downloads then read the file directly in large chunks.
    local_root: Option<PathBuf>,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileInfo {
    /// Path (basename for the proxy listing, run-relative for `artifacts/list`).
    pub path: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Size in bytes (files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<i64>,
}

impl Artifacts {
    /// Opens the artifact destination: a local directory (created if missing), or
    /// `s3://BUCKET[/PREFIX]` with credentials, region and endpoint from the usual AWS
    /// variables (see [`Self::open_s3`]). Other schemes are refused with a clear message.
    pub fn open(destination: &str) -> Result<Self> {
        if let Some(location) = destination.strip_prefix("s3://") {
            return Self::open_s3(location);
        }
        if destination.contains("://") && !destination.starts_with("file://") {
            return Err(Error::NotImplemented(format!(
                "artifact destination '{destination}' is not supported: use a local directory or s3://bucket/prefix"
            )));
        }
        let dir = PathBuf::from(destination.trim_start_matches("file://"));
        std::fs::create_dir_all(&dir)?;
        let dir = dir.canonicalize()?;
        let store = LocalFileSystem::new_with_prefix(&dir).map_err(Error::from)?;
        Ok(Self { store: Arc::new(store), description: dir.display().to_string(), local_root: Some(dir) })
    }

    /// An S3 bucket, or any S3-compatible service, as `BUCKET[/PREFIX]`. Everything else comes
    /// from the environment through `AmazonS3Builder::from_env`: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_DEFAULT_REGION`, and for a service
    /// other than AWS `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`); plain `http://` is allowed when
    /// the endpoint says so. Nothing is contacted here: `/ready` probes the bucket.
    fn open_s3(location: &str) -> Result<Self> {
        use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        let prefix = prefix.trim_matches('/');
        if bucket.is_empty() {
            return Err(Error::invalid(format!(
                "artifact destination 's3://{location}' names no bucket: use s3://bucket/prefix"
            )));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if builder.get_config_value(&AmazonS3ConfigKey::Endpoint).is_none()
            && let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL")
        {
            builder = builder.with_endpoint(endpoint);
        }
        let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
        if endpoint.as_deref().is_some_and(|e| e.starts_with("http://")) {
            builder = builder.with_allow_http(true);
        }
        let s3 = builder
            .build()
            .map_err(|e| Error::invalid(format!("cannot use artifact destination 's3://{location}': {e}")))?;
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
        };
        let at = endpoint.map(|e| format!(" at {e}")).unwrap_or_default();
        Ok(Self::with_store(store, format!("s3://{location}{at}")))
    }

    /// Wraps an arbitrary object store (tests, S3).
    pub fn with_store(store: Arc<dyn ObjectStore>, description: impl Into<String>) -> Self {
        Self { store, description: description.into(), local_root: None }
    }

    /// Removes the temporary files of uploads that a crash (`kill -9`, power loss) cut off:
    /// [`Staged`] files older than `older_than` (a younger one may belong to an upload still
    /// running, here or on another server sharing the folder). Only a local directory has
    /// them; object stores clean up their own. Returns how many went. Blocking: call it off
    /// the async runtime.
    pub fn sweep_staged(&self, older_than: std::time::Duration) -> usize {
        let Some(root) = &self.local_root else {
            return 0;
        };
        let cutoff = std::time::SystemTime::now().checked_sub(older_than);
        let mut removed = 0;
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else { continue };
                let path = entry.path();
                if kind.is_dir() {
                    dirs.push(path);
                } else if kind.is_file()
                    && is_staged_name(&entry.file_name().to_string_lossy())
                    && entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|m| cutoff.is_some_and(|c| m < c))
                    && std::fs::remove_file(&path).is_ok()
                {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Where the artifacts are, for logs.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the store can be used, for readiness: a local directory must exist, be a
    /// directory and not be read-only; another store must list its root. The error says
    /// what is wrong in words fit for a client (no paths).
    pub async fn probe(&self) -> std::result::Result<(), String> {
        if let Some(root) = &self.local_root {
            return match tokio::fs::metadata(root).await {
                Ok(meta) if !meta.is_dir() => Err("the artifact root is not a directory".into()),
                Ok(meta) if meta.permissions().readonly() => {
                    Err("the artifact directory is read-only".into())
                }
                Ok(_) => Ok(()),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    Err("the artifact directory does not exist".into())
                }
                Err(err) => Err(format!("the artifact directory cannot be read ({})", err.kind())),
            };
        }
        match self.store.list_with_delimiter(None).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => {
                tracing::warn!(%err, "artifact store probe failed");
                Err("the artifact store does not answer".into())
            }
        }
    }

    fn key(path: &str) -> Result<StorePath> {
        StorePath::parse(path).map_err(|_| Error::invalid(format!("Invalid path '{path}'")))
    }

    /// Streams a body into `path`. The store writes a temporary file and renames it on
    /// completion, so readers never see a partial artifact; a local directory also flushes
    /// it to disk first (see [`write_local`]).
    pub async fn put_stream(&self, path: &str, body: Body) -> Result<u64> {
        let key = Self::key(path)?;
        self.check_writable(path).await?;
        if let Some(root) = &self.local_root {
            return write_local(root, &root.join(key.as_ref()), body).await;
        }
        let upload = self.store.put_multipart(&key).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, 8 * 1024 * 1024);
        let mut stream = body.into_data_stream();
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(body_error(e));
                }
            };
            total += chunk.len() as u64;
            writer.write(&chunk);
        }
        writer.finish().await?;
        Ok(total)
    }

    /// Refuses to write where a directory is, or below an existing file.
    async fn check_writable(&self, path: &str) -> Result<()> {
        let segments: Vec<&str> = path.split('/').collect();
        for end in 1..segments.len() {
            let parent = segments[..end].join("/");
            match self.store.head(&Self::key(&parent)?).await {
                Ok(_) => {
                    return Err(Error::invalid(format!(
                        "'{parent}' is a file, so '{path}' cannot be created below it"
                    )));
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !self.list(path).await?.is_empty() {
            return Err(Error::invalid(format!("'{path}' is a directory: upload to a file path inside it")));
        }
        Ok(())
    }

    /// Writes bytes to `path` atomically.
    pub async fn put_bytes(&self, path: &str, bytes: bytes::Bytes) -> Result<()> {
        self.store.put(&Self::key(path)?, bytes.into()).await?;
        Ok(())
    }

    /// Reads a whole object.
    pub async fn get_bytes(&self, path: &str) -> Result<bytes::Bytes> {
        Ok(self.store.get(&Self::key(path)?).await?.bytes().await?)
    }

    /// Lists the direct children of `path` (empty when it does not exist).
    pub async fn list(&self, path: &str) -> Result<Vec<FileInfo>> {
        let prefix = if path.is_empty() { None } else { Some(Self::key(path)?) };
        let listing = match self.store.list_with_delimiter(prefix.as_ref()).await {
            Ok(l) => l,
            Err(e) => match Error::from(e) {
                Error::NotFound(_) => return Ok(Vec::new()),
                other => return Err(other),
            },
        };
        let mut out: Vec<FileInfo> = listing
            .common_prefixes
            .iter()
            .map(|p| FileInfo {
                path: p.filename().unwrap_or_default().to_string(),
                is_dir: true,
                file_size: None,
            })
            .chain(listing.objects.iter().map(|o| FileInfo {
                path: o.location.filename().unwrap_or_default().to_string(),
                is_dir: false,
                file_size: Some(o.size as i64),
            }))
            .filter(|f| !f.path.is_empty() && !f.path.starts_with('#'))
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Deletes a file or everything under a directory.
    pub async fn delete(&self, path: &str) -> Result<()> {
        let key = Self::key(path)?;
        let mut found = false;
        let mut children = self.store.list(Some(&key));
        let mut keys = Vec::new();
        while let Some(meta) = children.next().await {
            keys.push(meta?.location);
        }
        for k in keys {
            self.store.delete(&k).await?;
            found = true;
        }
        match self.store.delete(&key).await {
            Ok(()) => found = true,
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if !found {
            return Err(Error::not_found(format!("artifact '{path}' does not exist")));
        }
        Ok(())
    }

    /// Serves an object with ETag, conditional GET and single-range support.
    pub async fn serve(&self, path: &str, headers: &HeaderMap, cache: Cache) -> Result<Response> {
        let key = Self::key(path)?;
        let meta = match self.store.head(&key).await {
            Ok(m) => m,
            Err(object_store::Error::NotFound { .. }) => {
                let is_dir = !self.list(path).await?.is_empty();
                return Err(Error::not_found(if is_dir {
                    format!(
                        "'{path}' is a directory; list it with /api/2.0/mlflow-artifacts/artifacts?path={path}"
                    )
                } else {
                    format!("artifact '{path}' does not exist")
                }));
            }
            Err(e) => return Err(e.into()),
        };
        let size = meta.size;
        let etag = match &cache {
            Cache::Immutable { etag } | Cache::Short { etag: Some(etag), .. } => format!("\"{etag}\""),
            _ => format!(
                "\"{}\"",
                meta.e_tag
                    .clone()
                    .unwrap_or_else(|| format!("{size:x}-{}", meta.last_modified.timestamp_millis()))
            ),
        };
        let mut builder = Response::builder()
            .header(header::ETAG, &etag)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::CACHE_CONTROL, cache.header());
        if let Some(mime) = content_type(path) {
            builder = builder.header(header::CONTENT_TYPE, mime);
        }
        if let Some(inm) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok())
            && inm.split(',').any(|t| t.trim() == etag || t.trim() == "*")
        {
            return builder.status(StatusCode::NOT_MODIFIED).body(Body::empty()).map_err(Error::internal);
        }
        let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
            Some(r) if if_range_ok(headers, &etag) => match parse_range(r, size) {
                RangeReq::Satisfiable(start, end) => Some((start, end)),
                RangeReq::Unsatisfiable => {
                    return builder
                        .status(StatusCode::RANGE_NOT_SATISFIABLE)
                        .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                        .body(Body::empty())
                        .map_err(Error::internal);
                }
                RangeReq::Ignore => None,
            },
            _ => None,
        };
        let mut opts = GetOptions::default();
        if let Some((start, end)) = range {
            opts.range = Some(GetRange::Bounded(start..end + 1));
            builder = builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"))
                .header(header::CONTENT_LENGTH, end + 1 - start);
        } else {
            builder = builder.status(StatusCode::OK).header(header::CONTENT_LENGTH, size);
        }
        if let Some(root) = &self.local_root {
            // object_store streams local files 8 KiB at a time; read big chunks instead.
            use tokio::io::{AsyncReadExt, AsyncSeekExt};
            let (start, len) = match range {
                Some((start, end)) => (start, end + 1 - start),
                None => (0, size),
            };
            let mut file = tokio::fs::File::open(root.join(key.as_ref())).await?;
            file.seek(std::io::SeekFrom::Start(start)).await?;
            let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024);
            return builder.body(Body::from_stream(stream)).map_err(Error::internal);
        }
        let result = self.store.get_opts(&key, opts).await?;
        let stream = result.into_stream().map(|r| r.map_err(std::io::Error::other));
        builder.body(Body::from_stream(stream)).map_err(Error::internal)
    }
}

/// A temporary file beside an artifact being uploaded, named `NAME#DIGITS`: object_store's
/// listings skip such names (its own staging files) and artifact paths may not contain `#`,
/// so it is never visible. Removed when dropped unless kept, so an upload that fails or is
/// abandoned (the client goes away and the request is dropped) leaves nothing behind.
struct Staged {
    path: PathBuf,
    kept: bool,
}

impl Staged {
    /// Creates the temporary file for `dest`, and `dest`'s folders.
    async fn create(dest: &std::path::Path) -> Result<(Self, tokio::fs::File)> {
        let dir = dest.parent().ok_or_else(|| Error::internal("artifact path without a folder"))?;
        let name = dest.file_name().ok_or_else(|| Error::internal("artifact path without a name"))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            tokio::fs::create_dir_all(dir).await.map_err(store_error)?;
            let mut staged_name = name.to_os_string();
            staged_name.push(format!("#{}", uuid::Uuid::new_v4().as_u64_pair().0));
            let path = dir.join(staged_name);
            match tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await {
                Ok(file) => return Ok((Self { path, kept: false }, file)),
                // A failed upload removed the empty folder meanwhile, or the name is taken.
                Err(e)
                    if attempt < 3
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::AlreadyExists
                        ) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
    }
}

/// Whether a file name is a [`Staged`] one: `NAME#DIGITS`.
fn is_staged_name(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(stem, digits)| {
        !stem.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `body` to `dest` below the local artifact `root`: into a [`Staged`] file beside it,
/// `fsync`ed and renamed over `dest`, then the folder is synced, so `dest` is the old file
/// or the whole new one even across a crash or power loss. On any failure the temporary
/// file goes, so do folders the upload left empty, and the rest of the body is read (and
/// dropped) so that the client receives the error rather than a reset connection. A full
/// disk is [`Error::InsufficientStorage`].
async fn write_local(root: &std::path::Path, dest: &std::path::Path, body: Body) -> Result<u64> {
    use tokio::io::AsyncWriteExt;
    let mut stream = body.into_data_stream();
    let written: Result<(Staged, u64)> = async {
        let (staged, mut file) = Staged::create(dest).await?;
        let mut total = 0u64;
        // Writes in pieces of up to 1 MiB: one blocking-pool trip each, not one per frame.
        let mut pending = bytes::BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(body_error)?;
            total += chunk.len() as u64;
            pending.extend_from_slice(&chunk);
            if pending.len() >= 1024 * 1024 {
                file.write_all(&pending.split()).await.map_err(store_error)?;
            }
        }
        file.write_all(&pending).await.map_err(store_error)?;
        file.flush().await.map_err(store_error)?;
        file.sync_all().await.map_err(store_error)?;
        Ok((staged, total))
    }
    .await;
    let result = match written {
        Ok((mut staged, total)) => match tokio::fs::rename(&staged.path, dest).await {
            Ok(()) => {
                staged.kept = true;
                if let Some(dir) = dest.parent()
                    && let Ok(dir) = tokio::fs::File::open(dir).await
                {
                    let _ = dir.sync_all().await;
                }
                return Ok(total);
            }
            Err(e) => Err(store_error(e)),
        },
        Err(e) => Err(e),
    };
    // Failed: the temporary file is gone (dropped); so go the folders it created, if empty.
    let mut dir = dest.parent();
    while let Some(d) = dir.filter(|d| d.starts_with(root) && *d != root) {
        if tokio::fs::remove_dir(d).await.is_err() {
            break;
        }
        dir = d.parent();
    }
    if matches!(result, Err(Error::InsufficientStorage(_))) {
        while let Some(Ok(_)) = stream.next().await {}
    }
    result
}

/// An I/O error of the artifact store: a full disk in words for the client, anything else
/// internal (logged, never shown: its text may name a path).
fn store_error(e: std::io::Error) -> Error {
    if crate::error::is_storage_full(&e) {
        tracing::error!(err = %e, "artifact store full");
        Error::InsufficientStorage(crate::error::ARTIFACT_STORE_FULL.into())
    } else {
        Error::internal(format!("artifact store: {e}"))
    }
}

fn body_error(e: axum::Error) -> Error {
    let text = e.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return Error::PayloadTooLarge("upload is larger than the server accepts".into());
        }
        source = s.source();
    }
    if text.contains("length limit") {
        return Error::PayloadTooLarge("upload is larger than the server accepts".into());
    }
    Error::invalid(format!("could not read the upload body: {text}"))
}

/// Caching policy of a served object.
#[derive(Debug, Clone)]
pub enum Cache {
    /// Plain artifact download: revalidate every time.
    NoCache,
    /// Content-addressed: cache forever.
    Immutable {
        /// The content hash used as ETag.
        etag: String,
    },
    /// A moving name (stage or alias): cache briefly.
    Short {
        /// Max age in seconds.
        max_age: u32,
        /// ETag override.
        etag: Option<String>,
    },
}

impl Cache {
    fn header(&self) -> String {
        match self {
            Self::NoCache => "no-cache".into(),
            Self::Immutable { .. } => "public, max-age=31536000, immutable".into(),
            Self::Short { max_age, .. } => format!("public, max-age={max_age}, must-revalidate"),
        }
    }
}

enum RangeReq {
    Satisfiable(u64, u64),
    Unsatisfiable,
    Ignore,
}

/// Parses a single `bytes=` range; multi-range requests are answered in full.
fn parse_range(value: &str, size: u64) -> RangeReq {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return RangeReq::Ignore };
    if spec.contains(',') {
        return RangeReq::Ignore;
    }
    let Some((a, b)) = spec.split_once('-') else { return RangeReq::Ignore };
    let (a, b) = (a.trim(), b.trim());
    let parsed = if a.is_empty() {
        match b.parse::<u64>() {
            Ok(0) => return RangeReq::Unsatisfiable,
            Ok(n) => Some((size.saturating_sub(n), size.saturating_sub(1))),
            Err(_) => None,
        }
    } else {
        match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(s), Ok(e)) if s <= e => Some((s, e.min(size.saturating_sub(1)))),
            (Ok(_), Ok(_)) => return RangeReq::Ignore,
            (Ok(s), Err(_)) if b.is_empty() => Some((s, size.saturating_sub(1))),
            _ => None,
        }
    };
    match parsed {
        Some((s, e)) if size > 0 && s < size && s <= e => RangeReq::Satisfiable(s, e),
        Some(_) => RangeReq::Unsatisfiable,
        None => RangeReq::Ignore,
    }
}

fn if_range_ok(headers: &HeaderMap, etag: &str) -> bool {
    match headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) => v.trim() == etag,
    }
}

fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit('.').next()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "json" => "application/json",
        "txt" | "log" | "md" | "yaml" | "yml" | "mlmodel" => "text/plain; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "csv" => "text/csv",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript",
        _ => "application/octet-stream",
    })
}

/// Storage path inside the artifact destination for an `mlflow-artifacts:` URI (or an
/// http(s) URL of this proxy). Other schemes are not served by this server.
pub fn storage_path(uri: &str) -> Result<String> {
    let rest = if let Some(r) = uri.strip_prefix("mlflow-artifacts:") {
        // mlflow-artifacts:/x, mlflow-artifacts:///x, mlflow-artifacts://host:port/x
        let r = r.trim_start_matches('/');
        if uri.starts_with("mlflow-artifacts://") && !uri.starts_with("mlflow-artifacts:///") {
            r.split_once('/').map(|(_, p)| p).unwrap_or("")
        } else {
            r
        }
    } else if let Some(i) = uri.find("/api/2.0/mlflow-artifacts/artifacts") {
        uri[i + "/api/2.0/mlflow-artifacts/artifacts".len()..].trim_start_matches('/')
    } else {
        return Err(Error::NotImplemented(format!(
            "artifact location '{uri}' is not served by this server (only mlflow-artifacts:/ locations are)"
        )));
    };
    validate::artifact_path(&percent_encoding::percent_decode_str(rest).decode_utf8_lossy())
}

/// Routes of this module (absolute paths).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/2.0/mlflow-artifacts/artifacts", get(list_proxy))
        .route(
            "/api/2.0/mlflow-artifacts/artifacts/{*path}",
            get(download).put(upload).delete(delete_artifact),
        )
        .route("/api/2.0/mlflow/artifacts/list", get(list_run_artifacts))
        .route("/get-artifact", get(get_run_artifact))
        .route("/ajax-api/2.0/mlflow/get-artifact", get(get_run_artifact))
}

/// Validates the artifact path from the URL (already percent-decoded by axum).
fn checked(path: &str) -> Result<String> {
    let p = validate::artifact_path(path)?;
    if p.is_empty() {
        return Err(Error::invalid("Invalid path '': name a file under the artifact root"));
    }
    Ok(p)
}

async fn download(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let path = checked(&path)?;
    let sent = state.metrics.artifact_download_counter();
    let mut resp = state.artifacts.serve(&path, &headers, Cache::NoCache).await?.map(|body| {
        Body::from_stream(body.into_data_stream().inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                sent.inc_by(chunk.len() as u64);
            }
        }))
    });
    if let Some(name) = path.rsplit('/').next()
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", name.replace('"', "")))
    {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

async fn upload(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
    body: Body,
) -> Result<Json<Value>> {
    let path = checked(&path)?;
    let bytes = state.artifacts.put_stream(&path, body).await?;
    state.metrics.artifact_uploaded(bytes);
    Ok(Json(json!({})))
}

async fn delete_artifact(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
) -> Result<Json<Value>> {
    let path = checked(&path)?;
    state.artifacts.delete(&path).await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct ListReq {
    #[serde(default, deserialize_with = "opt_string")]
    path: Option<String>,
}

async fn list_proxy(State(state): State<AppState>, Msg(req): Msg<ListReq>) -> Result<Json<Value>> {
    let path = validate::artifact_path(req.path.as_deref().unwrap_or(""))?;
    let files = state.artifacts.list(&path).await?;
    Ok(Json(if files.is_empty() { json!({}) } else { json!({"files": files}) }))
}

#[derive(Debug, Deserialize)]
struct RunArtifactReq {
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    run_uuid: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    path: Option<String>,
}

impl RunArtifactReq {
    fn run_id(&self) -> Result<&str> {
        self.run_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.run_uuid.as_deref().filter(|s| !s.is_empty()))
            .ok_or_else(|| crate::extract::missing("run_id"))
    }
}

async fn list_run_artifacts(
    State(state): State<AppState>,
    Msg(req): Msg<RunArtifactReq>,
) -> Result<Json<Value>> {
    let run = runs::meta(&state, req.run_id()?).await?;
    let rel = validate::artifact_path(req.path.as_deref().unwrap_or(""))?;
    let root = storage_path(&run.artifact_uri)?;
    let dir = if rel.is_empty() { root } else { format!("{root}/{rel}") };
    let files: Vec<FileInfo> = state
        .artifacts
        .list(&dir)
        .await?
        .into_iter()
        .map(|f| FileInfo { path: if rel.is_empty() { f.path } else { format!("{rel}/{}", f.path) }, ..f })
        .collect();
    let mut body = json!({"root_uri": run.artifact_uri});
    if !files.is_empty() {
        body["files"] = serde_json::to_value(files).map_err(Error::internal)?;
    }
    Ok(Json(body))
}

async fn get_run_artifact(
    State(state): State<AppState>,
    headers: HeaderMap,
    Msg(req): Msg<RunArtifactReq>,
) -> Result<Response> {
    let run = runs::meta(&state, req.run_id()?).await?;
    let rel = checked(req.path.as_deref().unwrap_or(""))?;
    let root = storage_path(&run.artifact_uri)?;
    Ok(state.artifacts.serve(&format!("{root}/{rel}"), &headers, Cache::NoCache).await?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_destinations_name_a_bucket_and_unknown_schemes_are_refused() {
        let err = Artifacts::open("s3://").unwrap_err().to_string();
        assert!(err.contains("names no bucket"), "{err}");
        let err = Artifacts::open("gs://bucket/x").unwrap_err().to_string();
        assert!(err.contains("use a local directory or s3://bucket/prefix"), "{err}");
        // Building the client contacts nothing; the description names bucket and prefix.
        let s3 = Artifacts::open("s3://bucket/some/prefix/").expect("an S3 store");
        assert!(s3.description().starts_with("s3://bucket/some/prefix/"), "{}", s3.description());
        assert_eq!(s3.sweep_staged(std::time::Duration::ZERO), 0);
    }

    #[test]
    fn the_sweep_removes_only_old_staging_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let artifacts = Artifacts::open(dir.path().to_str().expect("utf-8")).expect("opens");
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        let file = |rel: &str, old: bool| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            let f = std::fs::File::create(&path).expect("create");
            if old {
                f.set_modified(hour_ago).expect("mtime");
            }
            path
        };
        let orphan = file("1/abc/artifacts/model.bpk#1234567", true);
        let running = file("1/abc/artifacts/big.bin#42", false);
        let kept = [
            file("1/abc/artifacts/model.bpk", true),
            file("1/abc/artifacts/notes#draft", true),
            file("#123", true),
        ];
        assert_eq!(artifacts.sweep_staged(std::time::Duration::from_secs(3600)), 1);
        assert!(!orphan.exists());
        assert!(running.exists(), "a young staging file may be an upload in progress");
        assert!(kept.iter().all(|p| p.exists()));
    }

    #[test]
    fn ranges() {
        let check = |spec: &str, size: u64, want: Option<(u64, u64)>| {
            let got = match parse_range(spec, size) {
                RangeReq::Satisfiable(s, e) => Some((s, e)),
                _ => None,
            };
            assert_eq!(got, want, "{spec}");
        };
        check("bytes=0-9", 100, Some((0, 9)));
        check("bytes=90-", 100, Some((90, 99)));
        check("bytes=-10", 100, Some((90, 99)));
        check("bytes=50-500", 100, Some((50, 99)));
        check("bytes=100-", 100, None);
        assert!(matches!(parse_range("bytes=100-", 100), RangeReq::Unsatisfiable));
        assert!(matches!(parse_range("items=1-2", 100), RangeReq::Ignore));
    }

    #[test]
    fn a_full_disk_is_a_clear_error() {
        let full = store_error(std::io::Error::from_raw_os_error(28)); // ENOSPC
        assert_eq!(full.status().as_u16(), 507);
        assert_eq!(full.code(), "RESOURCE_EXHAUSTED");
        assert!(full.to_string().contains("artifact store is full"), "{full}");
        let other = store_error(std::io::Error::other("disk on fire at /srv/artifacts"));
        assert_eq!(other.status().as_u16(), 500);
    }

    #[test]
    fn uris() {
        assert_eq!(
            storage_path("mlflow-artifacts:/0/abc/artifacts").ok().as_deref(),
            Some("0/abc/artifacts")
        );
        assert_eq!(storage_path("mlflow-artifacts://host:5000/1/x").ok().as_deref(), Some("1/x"));
        assert_eq!(
            storage_path("http://h/api/2.0/mlflow-artifacts/artifacts/2/y").ok().as_deref(),
            Some("2/y")
        );
        assert!(storage_path("s3://bucket/x").is_err());
        assert!(storage_path("mlflow-artifacts:/../etc").is_err());
    }
}
