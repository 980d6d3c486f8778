//! Authentication: logins, token issue and rotation, and checking a token
//! against the account as it is now (disabled accounts and changed roles
//! invalidate tokens at once through the account's token version).

pub mod jwt;
pub mod password;

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::store::{AuditEntry, RefreshOutcome, Store, User};
use base64::Engine;
use jwt::{TokenError, TokenKeys};
use mpaka_protocol::{ErrorCode, TokenResponse};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Issues and checks tokens. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    store: Store,
    keys: TokenKeys,
    access_ttl_secs: u64,
    refresh_ttl_secs: u64,
}

impl Auth {
    pub fn new(store: Store, secret: &[u8], settings: &Settings) -> Auth {
        Auth {
            store,
            keys: TokenKeys::new(secret),
            access_ttl_secs: settings.auth.access_ttl_secs.get(),
            refresh_ttl_secs: settings.auth.refresh_ttl_secs.get(),
        }
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// Checks a username and password and issues a token pair.
    ///
    /// # Errors
    /// `invalid_credentials` (wrong name or password, indistinguishably),
    /// `account_disabled`, or a storage failure.
    pub async fn login(&self, username: &str, password: String) -> AppResult<TokenResponse> {
        let user = self.store.user_by_name(username).await?;
        let hash = user
            .as_ref()
            .map_or_else(|| password::DECOY_HASH.clone(), |u| u.password_hash.clone());
        let matches = password::verify(password, hash).await;
        let Some(user) = user.filter(|_| matches) else {
            self.audit_failure(username, "wrong username or password")
                .await?;
            tracing::info!(username, "login failed");
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "wrong username or password",
            ));
        };
        if user.disabled {
            self.audit_failure(username, "account disabled").await?;
            return Err(AppError::new(
                ErrorCode::AccountDisabled,
                "this account is disabled",
            ));
        }
        let mut tx = self.store.write().await?;
        let tokens = self
            .issue_pair(&mut tx, &user, &uuid::Uuid::new_v4().to_string())
            .await?;
        tx.audit(AuditEntry::new(
            Some((user.id, &user.username)),
            "auth.login",
            format!("user:{}", user.id),
            serde_json::json!({}),
        ))
        .await?;
        tx.commit().await?;
        tracing::info!(username, user_id = user.id, "login");
        Ok(tokens)
    }

    /// Exchanges a refresh token for a new pair; the old one is spent.
    ///
    /// # Errors
    /// `invalid_token` for an unknown, spent (the family is then revoked)
    /// or expired token; `account_disabled`.
    pub async fn refresh(&self, refresh_token: &str) -> AppResult<TokenResponse> {
        let mut tx = self.store.write().await?;
        let outcome = tx.spend_refresh_token(&hash_token(refresh_token)).await?;
        let (user_id, family) = match outcome {
            RefreshOutcome::Valid { user_id, family } => (user_id, family),
            RefreshOutcome::Reused => {
                // Commit the family's revocation before refusing.
                tx.audit(AuditEntry::new(
                    None,
                    "auth.refresh_reused",
                    "refresh",
                    serde_json::json!({}),
                ))
                .await?;
                tx.commit().await?;
                tracing::warn!("a spent refresh token was presented again; its family is revoked");
                return Err(AppError::new(
                    ErrorCode::InvalidToken,
                    "refresh token is no longer valid",
                ));
            }
            RefreshOutcome::Expired => {
                return Err(AppError::new(
                    ErrorCode::TokenExpired,
                    "refresh token has expired",
                ))
            }
            RefreshOutcome::Unknown => {
                return Err(AppError::new(
                    ErrorCode::InvalidToken,
                    "unknown refresh token",
                ))
            }
        };
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| AppError::new(ErrorCode::InvalidToken, "unknown refresh token"))?;
        if user.disabled {
            return Err(AppError::new(
                ErrorCode::AccountDisabled,
                "this account is disabled",
            ));
        }
        let tokens = self.issue_pair(&mut tx, &user, &family).await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// Revokes the family of a refresh token (logout). Unknown tokens are ignored.
    ///
    /// # Errors
    /// A storage failure.
    pub async fn logout(&self, refresh_token: &str) -> AppResult<()> {
        let mut tx = self.store.write().await?;
        if let RefreshOutcome::Valid { user_id, .. } =
            tx.spend_refresh_token(&hash_token(refresh_token)).await?
        {
            tx.audit(AuditEntry::new(
                None,
                "auth.logout",
                format!("user:{user_id}"),
                serde_json::json!({}),
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Checks an access token and returns the account it belongs to, as it is now.
    ///
    /// # Errors
    /// `token_expired`, `invalid_token` (bad signature or algorithm, unknown
    /// user, revoked by a role change) or `account_disabled`.
    pub async fn authenticate(&self, token: &str) -> AppResult<User> {
        let claims = self.keys.check(token).map_err(|e| match e {
            TokenError::Expired => {
                AppError::new(ErrorCode::TokenExpired, "access token has expired")
            }
            TokenError::Invalid => {
                AppError::new(ErrorCode::InvalidToken, "access token is invalid")
            }
        })?;
        let invalid = || AppError::new(ErrorCode::InvalidToken, "access token is invalid");
        let user_id: i64 = claims.sub.parse().map_err(|_| invalid())?;
        let user = self.store.user_by_id(user_id).await?.ok_or_else(invalid)?;
        if user.disabled {
            return Err(AppError::new(
                ErrorCode::AccountDisabled,
                "this account is disabled",
            ));
        }
        if user.token_version != claims.ver {
            return Err(AppError::new(
                ErrorCode::InvalidToken,
                "access token was revoked; log in again",
            ));
        }
        Ok(user)
    }

    async fn issue_pair(
        &self,
        tx: &mut crate::store::WriteTx,
        user: &User,
        family: &str,
    ) -> AppResult<TokenResponse> {
        let access_token = self
            .keys
            .issue(
                user.id,
                &user.username,
                user.role.as_str(),
                user.token_version,
                self.access_ttl_secs,
            )
            .map_err(|e| anyhow::anyhow!("signing failed: {e}"))?;
        let refresh_token = random_token();
        let ttl_ms = i64::try_from(self.refresh_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        tx.insert_refresh_token(&hash_token(&refresh_token), family, user.id, ttl_ms)
            .await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: self.access_ttl_secs,
            refresh_token,
            user: user.info(),
        })
    }

    async fn audit_failure(&self, username: &str, reason: &str) -> AppResult<()> {
        let mut tx = self.store.write().await?;
        let username: String = username.chars().take(64).collect();
        tx.audit(AuditEntry::new(
            None,
            "auth.login_failed",
            format!("username:{username}"),
            serde_json::json!({ "reason": reason }),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The signing key: from configuration, or generated once into
/// `{data_dir}/jwt.key` readable by the owner only.
///
/// # Errors
/// A configured key shorter than 32 bytes, or an unreadable key file.
pub fn signing_key(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        anyhow::ensure!(
            secret.expose().len() >= 32,
            "jwt_secret must be at least 32 bytes long"
        );
        return Ok(secret.expose().as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt.key");
    if path.exists() {
        let key = std::fs::read_to_string(&path)?;
        return Ok(key.trim().as_bytes().to_vec());
    }
    let key = random_token();
    write_private(&path, key.as_bytes())?;
    Ok(key.into_bytes())
}

/// Writes a file readable and writable by its owner only (mode 0600).
///
/// # Errors
/// The file cannot be created.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
