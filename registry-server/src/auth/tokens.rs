//! API tokens: created with scopes, stored as a SHA-256 hash, listed without secrets, revoked.
//!
//! A token reads `rsk_<id>_<secret>` (`rsp_` for a publishable telemetry key): `<id>` names
//! it in lists and the audit log, `<secret>` is 256 bits from the OS's random source. The
//! whole string is hashed; a lookup is one indexed query on the hash.
//!
//! Routes (admin scope): `GET /v1/tokens`, `POST /v1/tokens`, `DELETE /v1/tokens/{id}`.

use axum::extract::{Path, State};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Principal, Scope};
use crate::AppState;
use crate::db::{Db, now_ms};
use crate::error::{Error, Result};
use crate::extract::Msg;

/// What a new token may do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewToken {
    /// Who or what it is for (shown in lists and in the audit log).
    pub name: String,
    /// Its scopes: any of read, write, admin; or telemetry alone.
    pub scopes: Vec<Scope>,
    /// A telemetry key's models (absent: any model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Days until it expires (absent: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
}

/// A stored token, without its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Public id (part of the token).
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// A telemetry key's models (`None`: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Creation time (ms since the epoch).
    pub created_ms: i64,
    /// Who created it.
    pub created_by: String,
    /// Expiry (ms), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
    /// Last use, to the minute (ms), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<i64>,
    /// Revocation time (ms), if revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<i64>,
}

/// A token just created: its secret string is here and nowhere else.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedToken {
    /// The token to hand to its user (shown once).
    pub token: String,
    /// What was stored.
    #[serde(flatten)]
    pub info: TokenInfo,
}

/// Longest token name.
const MAX_NAME: usize = 100;

/// Checks a new token's fields; returns its scopes sorted and deduplicated.
fn check(new: &NewToken) -> Result<Vec<Scope>> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "a token needs a name of 1 to {MAX_NAME} printable characters (who or what it is for)"
        )));
    }
    let mut scopes = new.scopes.clone();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(Error::invalid("a token needs at least one scope: read, write, admin or telemetry"));
    }
    if scopes.contains(&Scope::Telemetry) && scopes.len() > 1 {
        return Err(Error::invalid(
            "the telemetry scope makes a publishable key safe to embed in a web page, so it cannot be \
             combined with read, write or admin: create two tokens",
        ));
    }
    if let Some(models) = &new.models {
        if !scopes.contains(&Scope::Telemetry) {
            return Err(Error::invalid("only a telemetry key can be limited to models"));
        }
        if models.is_empty() || models.iter().any(|m| m.trim().is_empty()) {
            return Err(Error::invalid("'models' must name at least one model, and no empty name"));
        }
    }
    if new.expires_in_days == Some(0) {
        return Err(Error::invalid("'expires_in_days' must be at least 1 (omit it for no expiry)"));
    }
    Ok(scopes)
}

/// 32 bytes from the OS's random source (two v4 UUIDs: 244 random bits).
fn secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token.
fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token; `by` names who asked.
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad name, scopes or models; database errors.
pub async fn create(db: &Db, new: &NewToken, by: &str) -> Result<CreatedToken> {
    let scopes = check(new)?;
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let prefix = if scopes == [Scope::Telemetry] { "rsp" } else { "rsk" };
    let token = format!("{prefix}_{id}_{}", secret());
    let now = now_ms();
    let expires_ms = new.expires_in_days.map(|d| now + i64::from(d) * 86_400_000);
    let models = new.models.as_ref().map(serde_json::to_string).transpose().map_err(Error::internal)?;
    let info = TokenInfo {
        id,
        name: new.name.trim().to_string(),
        scopes,
        models: new.models.clone(),
        created_ms: now,
        created_by: by.to_string(),
        expires_ms,
        last_used_ms: None,
        revoked_ms: None,
    };
    sqlx::query(
        "INSERT INTO api_tokens (id, name, token_hash, scopes, models, created_ms, created_by, expires_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&info.id)
    .bind(&info.name)
    .bind(hash(&token))
    .bind(scope_text(&info.scopes))
    .bind(models)
    .bind(now)
    .bind(by)
    .bind(expires_ms)
    .execute(&db.write)
    .await?;
    Ok(CreatedToken { token, info })
}

fn scope_text(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<TokenInfo> {
    let scopes: String = row.try_get("scopes")?;
    let models: Option<String> = row.try_get("models")?;
    Ok(TokenInfo {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scopes: scopes.split_whitespace().filter_map(Scope::parse).collect(),
        models: models.as_deref().map(serde_json::from_str).transpose().map_err(Error::internal)?,
        created_ms: row.try_get("created_ms")?,
        created_by: row.try_get("created_by")?,
        expires_ms: row.try_get("expires_ms")?,
        last_used_ms: row.try_get("last_used_ms")?,
        revoked_ms: row.try_get("revoked_ms")?,
    })
}

const COLUMNS: &str =
    "id, name, scopes, models, created_ms, created_by, expires_ms, last_used_ms, revoked_ms";

/// The valid (not revoked, not expired) token whose string is `token`.
///
/// # Errors
/// Database errors only; an unknown token is `Ok(None)`.
pub async fn lookup(db: &Db, token: &str) -> Result<Option<TokenInfo>> {
    if token.len() > 200 {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_tokens
          WHERE token_hash = $1 AND revoked_ms IS NULL AND (expires_ms IS NULL OR expires_ms > $2)"
    ))
    .bind(hash(token))
    .bind(now_ms())
    .fetch_optional(&db.read)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records that a token was used now.
///
/// # Errors
/// Database errors.
pub async fn touch(db: &Db, id: &str) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_ms = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&db.write)
        .await?;
    Ok(())
}

/// Every token, newest first (revoked ones too when `revoked`).
///
/// # Errors
/// Database errors.
pub async fn list(db: &Db, revoked: bool) -> Result<Vec<TokenInfo>> {
    let filter = if revoked { "" } else { "WHERE revoked_ms IS NULL" };
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens {filter} ORDER BY created_ms DESC, id"))
            .fetch_all(&db.read)
            .await?;
    rows.iter().map(from_row).collect()
}

/// Revokes the token `id` (from then on it authenticates nothing). Revoking twice is fine.
///
/// # Errors
/// [`Error::NotFound`] when no token has that id; database errors.
pub async fn revoke(db: &Db, id: &str) -> Result<TokenInfo> {
    sqlx::query("UPDATE api_tokens SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL")
        .bind(now_ms())
        .bind(id)
        .execute(&db.write)
        .await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.write)
        .await?
        .ok_or_else(|| Error::not_found(format!("no token has the id '{id}' (see GET /v1/tokens)")))?;
    from_row(&row)
}

/// Whether the store has a valid admin token (the server warns at start-up when auth is on
/// and none exists).
///
/// # Errors
/// Database errors.
pub async fn has_admin(db: &Db) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_tokens WHERE revoked_ms IS NULL AND (expires_ms IS NULL OR expires_ms > $1)
           AND (' ' || scopes || ' ') LIKE '% admin %'",
    )
    .bind(now_ms())
    .fetch_one(&db.read)
    .await?;
    Ok(n > 0)
}

/// Routes of token administration.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/tokens", get(list_handler).post(create_handler))
        .route("/v1/tokens/{id}", delete(revoke_handler))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "crate::extract::opt_bool")]
    include_revoked: Option<bool>,
}

async fn list_handler(State(state): State<AppState>, Msg(q): Msg<ListQuery>) -> Result<Json<Value>> {
    let tokens = list(&state.db, q.include_revoked.unwrap_or(false)).await?;
    Ok(Json(json!({ "tokens": tokens })))
}

async fn create_handler(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    Msg(new): Msg<NewToken>,
) -> Result<Json<CreatedToken>> {
    let by = principal.map_or_else(|| "anonymous".to_string(), |p| p.name.clone());
    Ok(Json(create(&state.db, &new, &by).await?))
}

async fn revoke_handler(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(json!({ "token": revoke(&state.db, &id).await? })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, scopes: Vec<Scope>) -> NewToken {
        NewToken { name: name.into(), scopes, models: None, expires_in_days: None }
    }

    #[test]
    fn bad_tokens_are_refused_with_a_reason() {
        assert!(check(&new("", vec![Scope::Read])).is_err());
        assert!(check(&new("ci", vec![])).is_err());
        assert!(check(&new("site", vec![Scope::Telemetry, Scope::Read])).is_err());
        let mut limited = new("ci", vec![Scope::Write]);
        limited.models = Some(vec!["raga".into()]);
        assert!(check(&limited).is_err());
        assert_eq!(
            check(&new("ci", vec![Scope::Write, Scope::Read, Scope::Write])).ok(),
            Some(vec![Scope::Read, Scope::Write])
        );
    }

    #[tokio::test]
    async fn create_lookup_revoke() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("db.sqlite")).await.expect("open");
        assert!(!has_admin(&db).await.expect("has_admin"));
        let admin = create(&db, &new("root", vec![Scope::Admin]), "test").await.expect("create");
        assert!(admin.token.starts_with("rsk_") && admin.token.len() > 50);
        assert!(has_admin(&db).await.expect("has_admin"));
        let mut key = new("site", vec![Scope::Telemetry]);
        key.models = Some(vec!["raga".into()]);
        let key = create(&db, &key, "root").await.expect("create key");
        assert!(key.token.starts_with("rsp_"));
        let found = lookup(&db, &key.token).await.expect("lookup").expect("valid");
        assert_eq!(found.models.as_deref(), Some(&["raga".to_string()][..]));
        assert!(lookup(&db, "rsk_nope_nope").await.expect("lookup").is_none());
        // The secret is not stored: nothing in the table contains it.
        let stored: Vec<String> =
            sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_all(&db.read).await.expect("rows");
        assert!(stored.iter().all(|h| !h.contains(&admin.token) && h.len() == 64));
        let revoked = revoke(&db, &admin.info.id).await.expect("revoke");
        assert!(revoked.revoked_ms.is_some());
        assert!(lookup(&db, &admin.token).await.expect("lookup").is_none());
        assert!(matches!(revoke(&db, "missing").await, Err(Error::NotFound(_))));
        assert_eq!(list(&db, false).await.expect("list").len(), 1);
        assert_eq!(list(&db, true).await.expect("list").len(), 2);
    }
}
