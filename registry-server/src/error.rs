//! The one error type of the server, rendered in MLflow's shape `{"error_code", "message"}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every way a request can fail. Client errors carry a message that says what to fix;
/// internal errors are logged and never shown to the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is missing, malformed, or out of range (`INVALID_PARAMETER_VALUE`, 400).
    #[error("{0}")]
    InvalidParameter(String),
    /// The named experiment, run, model, version or file does not exist
    /// (`RESOURCE_DOES_NOT_EXIST`, 404).
    #[error("{0}")]
    NotFound(String),
    /// A resource with that name already exists (`RESOURCE_ALREADY_EXISTS`, 400 as in MLflow).
    #[error("{0}")]
    AlreadyExists(String),
    /// The resource is in the wrong lifecycle state, e.g. logging to a deleted run
    /// (`INVALID_STATE`; MLflow answers 500, we answer 400 because it is the caller's to fix).
    #[error("{0}")]
    InvalidState(String),
    /// No route matches (`ENDPOINT_NOT_FOUND`, 404).
    #[error("{0}")]
    EndpointNotFound(String),
    /// The route exists but not for this method (`ENDPOINT_NOT_FOUND`, 405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request body is over the limit (`REQUEST_LIMIT_EXCEEDED`, 413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body comes in a content type the route does not read (`INVALID_PARAMETER_VALUE`,
    /// 415: MLflow has no code of its own for it).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No valid API token came with a request that needs one (`UNAUTHENTICATED`, 401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The token lacks the scope the request needs (`PERMISSION_DENIED`, 403).
    #[error("{0}")]
    PermissionDenied(String),
    /// The caller sent more than its rate allows (`REQUEST_LIMIT_EXCEEDED`, 429 with
    /// `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        /// What was exceeded and what to do.
        message: String,
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// A feature this server does not offer yet (`NOT_IMPLEMENTED`, 501).
    #[error("{0}")]
    NotImplemented(String),
    /// The database stayed locked past its busy wait (another process holds it): nothing
    /// was written, the client may retry (`TEMPORARILY_UNAVAILABLE`, 503 with `Retry-After`).
    #[error("{0}")]
    Unavailable(String),
    /// The disk under the artifact store or the database is full: nothing was written
    /// (`RESOURCE_EXHAUSTED`, 507).
    #[error("{0}")]
    InsufficientStorage(String),
    /// Anything else: logged with its cause, reported as `INTERNAL_ERROR` without details.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The result type of handlers and stores.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidParameter(message.into())
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// Wraps an unexpected failure; its text is logged, not sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// MLflow's error code name.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidParameter(_) | Self::UnsupportedMediaType(_) => "INVALID_PARAMETER_VALUE",
            Self::NotFound(_) => "RESOURCE_DOES_NOT_EXIST",
            Self::AlreadyExists(_) => "RESOURCE_ALREADY_EXISTS",
            Self::InvalidState(_) => "INVALID_STATE",
            Self::EndpointNotFound(_) | Self::MethodNotAllowed(_) => "ENDPOINT_NOT_FOUND",
            Self::PayloadTooLarge(_) | Self::TooManyRequests { .. } => "REQUEST_LIMIT_EXCEEDED",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::PermissionDenied(_) => "PERMISSION_DENIED",
            Self::NotImplemented(_) => "NOT_IMPLEMENTED",
            Self::Unavailable(_) => "TEMPORARILY_UNAVAILABLE",
            Self::InsufficientStorage(_) => "RESOURCE_EXHAUSTED",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The HTTP status sent with this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidParameter(_) | Self::AlreadyExists(_) | Self::InvalidState(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::NotFound(_) | Self::EndpointNotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What a client is told when the artifact store's disk is full.
pub const ARTIFACT_STORE_FULL: &str =
    "the artifact store is full: the upload was not stored (free space on the server, then retry)";

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match Busy::of(&err) {
            Some(Busy::Locked) => {
                tracing::warn!(%err, "database busy");
                Self::Unavailable("the database is busy; nothing was written, retry shortly".into())
            }
            Some(Busy::Full) => {
                tracing::error!(%err, "database full");
                Self::InsufficientStorage("the database's disk is full: nothing was written".into())
            }
            None => Self::Internal(format!("database: {err}")),
        }
    }
}

/// The database failures a client should hear about as such (not as a 500).
enum Busy {
    /// Locked, a conflicting transaction, or no connection in time: retry.
    Locked,
    /// No space left for the write.
    Full,
}

impl Busy {
    fn of(err: &sqlx::Error) -> Option<Self> {
        let db = match err {
            sqlx::Error::PoolTimedOut => return Some(Self::Locked),
            sqlx::Error::Database(db) => db,
            _ => return None,
        };
        let code = db.code()?;
        if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
            // SQLSTATEs: serialization failure, deadlock, lock not available, cannot
            // connect now (the server is starting or shutting down); disk full.
            return match code.as_ref() {
                "40001" | "40P01" | "55P03" | "57P03" => Some(Self::Locked),
                "53100" => Some(Self::Full),
                _ => None,
            };
        }
        // SQLite's primary result code is the low byte of the extended one:
        // SQLITE_BUSY / SQLITE_LOCKED after the busy timeout; SQLITE_FULL.
        match code.parse::<i32>().ok()? & 0xff {
            5 | 6 => Some(Self::Locked),
            13 => Some(Self::Full),
            _ => None,
        }
    }
}

/// True when an I/O error means the disk (or the quota) is full.
pub fn is_storage_full(err: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(err.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge)
}

impl From<object_store::Error> for Error {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { path, .. } => {
                Self::NotFound(format!("artifact '{}' does not exist", strip_root(&path)))
            }
            other => {
                // A path that walks through a file ("a.txt/b") is simply not there.
                let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&other);
                while let Some(s) = source {
                    if let Some(io) = s.downcast_ref::<std::io::Error>() {
                        if matches!(
                            io.kind(),
                            std::io::ErrorKind::NotADirectory | std::io::ErrorKind::NotFound
                        ) {
                            return Self::NotFound("artifact does not exist".into());
                        }
                        if is_storage_full(io) {
                            tracing::error!(err = %other, "artifact store full");
                            return Self::InsufficientStorage(ARTIFACT_STORE_FULL.into());
                        }
                    }
                    source = s.source();
                }
                Self::Internal(format!("artifact store: {other}"))
            }
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self::Internal(format!("io: {err}"))
    }
}

/// Removes an absolute filesystem prefix from a path before it is shown to a client.
fn strip_root(path: &str) -> String {
    match path.find("/artifacts/") {
        Some(i) if path.starts_with('/') => path[i + "/artifacts/".len()..].to_string(),
        _ => path.to_string(),
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal server error; the details are in the server log".to_string()
            }
            other => other.to_string(),
        };
        let mut response =
            (status, Json(json!({"error_code": self.code(), "message": message}))).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthenticated(_) => {
                headers
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"ragasense\""));
            }
            Self::TooManyRequests { retry_after_s, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
            }
            Self::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

/// Returns true when a sqlx error is a UNIQUE or PRIMARY KEY violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::ConnectOptions;
    use sqlx::sqlite::SqliteConnectOptions;

    use super::*;

    fn check(err: Error, status: u16, code: &str, fragment: &str) {
        assert_eq!(err.status().as_u16(), status, "{err:?}");
        assert_eq!(err.code(), code, "{err:?}");
        let message = err.to_string();
        assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
        assert!(!message.contains("SQLITE") && !message.contains("INSERT"), "leaks SQL: {message}");
    }

    async fn connect(path: &std::path::Path) -> sqlx::SqliteConnection {
        SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .expect("options")
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::ZERO)
            .connect()
            .await
            .expect("connect")
    }

    #[tokio::test]
    async fn a_locked_database_is_503_never_500() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.db");
        let mut holder = connect(&path).await;
        let mut other = connect(&path).await;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut holder).await.expect("lock");
        let err = sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.expect_err("busy");
        check(Error::from(err), 503, "TEMPORARILY_UNAVAILABLE", "retry");
        let resp = Error::Unavailable("x".into()).into_response();
        assert_eq!(resp.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()), Some(&b"1"[..]));
        check(Error::from(sqlx::Error::PoolTimedOut), 503, "TEMPORARILY_UNAVAILABLE", "busy");
    }

    #[tokio::test]
    async fn a_full_database_is_507() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = connect(&dir.path().join("x.db")).await;
        sqlx::query("PRAGMA max_page_count = 16").execute(&mut conn).await.expect("pragma");
        sqlx::query("CREATE TABLE t (b BLOB)").execute(&mut conn).await.expect("create");
        let err = sqlx::query("INSERT INTO t VALUES (zeroblob(1000000))")
            .execute(&mut conn)
            .await
            .expect_err("full");
        check(Error::from(err), 507, "RESOURCE_EXHAUSTED", "disk is full");
    }

    #[test]
    fn a_full_artifact_store_is_507_without_paths() {
        let enospc = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from_raw_os_error(28)),
        };
        check(Error::from(enospc), 507, "RESOURCE_EXHAUSTED", "artifact store is full");
        assert!(is_storage_full(&std::io::Error::from_raw_os_error(122))); // EDQUOT
    }
}
