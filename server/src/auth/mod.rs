//! Authentication: logins, token issue and rotation, and checking a token
//! against the account and its login session as they are now (disabled
//! accounts and changed roles invalidate tokens at once through the
//! account's token version; logout and refresh-token reuse through the
//! session, see `crate::sessions`), and the TOTP second factor: the code
//! step of a login, enrolment and recovery codes (`totp`, `second_factor`).

mod grace;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod second_factor;
mod second_factor_steps;
pub mod strength;
pub mod totp;

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::sessions::{self, EndReason, Refusal};
use crate::store::{now_ms, AuditActor, AuditEntry, RefreshOutcome, Store, User};
use base64::Engine;
use jwt::{TokenError, TokenKeys};
use mpaka_protocol::{ErrorCode, Role, TokenResponse};
use rand::RngCore;
use second_factor::Purpose;
use second_factor_steps::challenge_answer;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Issues and checks tokens. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    store: Store,
    keys: TokenKeys,
    access_ttl_secs: u64,
    refresh_ttl_secs: u64,
    session_max_secs: u64,
    session_idle_secs: u64,
    guard: Arc<crate::logins::guard::LoginGuard>,
    recent: Arc<grace::RecentRefreshes>,
    admission: Arc<password::Admission>,
    second_factor_roles: Vec<Role>,
}

/// Who enrols a second factor: a logged-in user, or a login whose role
/// requires one (by its challenge).
#[derive(Clone, Copy)]
pub enum Enroller<'a> {
    User(&'a User),
    Challenge(&'a str),
}

/// A checked access token: the account as it is now and the login session
/// the token belongs to.
#[derive(Debug, Clone)]
pub struct SessionToken {
    pub user: User,
    /// The session (refresh family) id, the token's `sid`.
    pub session: String,
    /// When the token expires, in Unix ms.
    pub expires_at_ms: i64,
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

fn session_ended() -> AppError {
    AppError::new(
        ErrorCode::InvalidToken,
        "the session has ended; log in again",
    )
}

impl Auth {
    pub fn new(store: Store, keys: &keys::KeyRing, settings: &Settings) -> Auth {
        let shared = crate::logins::shared::SharedCounts::on(&store);
        Auth {
            store,
            keys: TokenKeys::from_ring(keys),
            access_ttl_secs: settings.auth.access_ttl_secs.get(),
            refresh_ttl_secs: settings.auth.refresh_ttl_secs.get(),
            session_max_secs: settings.auth.session_max_secs.get(),
            session_idle_secs: settings.auth.session_idle_secs.get(),
            guard: Arc::new(
                crate::logins::guard::LoginGuard::new(
                    crate::logins::policy::Backoff {
                        free: settings.auth.login_free_failures_per_account,
                        base: Duration::from_secs(1),
                        max: settings.auth.login_backoff_max_secs.duration(),
                    },
                    crate::logins::policy::Backoff {
                        free: settings.auth.login_free_failures_per_address,
                        base: Duration::from_secs(1),
                        max: settings.auth.login_backoff_max_secs.duration(),
                    },
                )
                .sharing(shared),
            ),
            admission: Arc::new(password::Admission::new()),
            recent: Arc::new(grace::RecentRefreshes::new(Duration::from_secs(
                settings.auth.refresh_grace_secs,
            ))),
            second_factor_roles: settings.auth.second_factor_roles.clone(),
        }
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// The login throttle (this node's counters, and the cluster's on
    /// PostgreSQL).
    pub fn guard(&self) -> &Arc<crate::logins::guard::LoginGuard> {
        &self.guard
    }

    /// The account if `password` is its password, `None` for a wrong name
    /// or password. Throttled first; an unknown name is hashed against a
    /// decoy so that both take the same time. A full hashing queue is a
    /// fast `unavailable` rather than a wait.
    async fn check_password(
        &self,
        username: &str,
        password: String,
        client: IpAddr,
    ) -> AppResult<Option<User>> {
        self.throttled(username, client).await?;
        let user = self.store.user_by_name(username).await?;
        let hash = user
            .as_ref()
            .map_or_else(|| password::DECOY_HASH.clone(), |u| u.password_hash.clone());
        let Ok(matches) = password::verify(&self.admission, password, hash).await else {
            tracing::warn!(%client, "password check refused: the password hashing queue is full");
            let mut body = mpaka_protocol::ErrorBody::new(
                ErrorCode::Unavailable,
                "too many logins at once; try again in a moment",
            );
            body.retry_after_ms = Some(1000);
            return Err(AppError::Client(body));
        };
        Ok(user.filter(|_| matches))
    }

    /// Checks a username and password from `client` and issues a token pair.
    ///
    /// # Errors
    /// `too_many_attempts` (with `retry_after_ms`) while the account or the
    /// address is throttled, whatever the password; `invalid_credentials`
    /// (wrong name or password, indistinguishably); `account_disabled`;
    /// `password_change_required`; with the right password,
    /// `second_factor_required` or `second_factor_enrolment_required`
    /// carrying a new login challenge (see [`Auth::second_factor_login`],
    /// [`Auth::start_enrolment`]); or a storage failure.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        client: IpAddr,
    ) -> AppResult<TokenResponse> {
        let Some(user) = self.check_password(username, password, client).await? else {
            // Counted and queued for the audit trail: no write here.
            self.guard
                .failed_everywhere(username, client, "wrong username or password")
                .await;
            tracing::info!(username, %client, "login failed");
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "wrong username or password",
            ));
        };
        if user.disabled {
            self.guard
                .failed_everywhere(username, client, "account disabled")
                .await;
            return Err(AppError::new(
                ErrorCode::AccountDisabled,
                "this account is disabled",
            ));
        }
        if user.must_change_password {
            tracing::info!(username, %client, "login refused until the password is changed");
            return Err(password_change_required());
        }
        let factor = {
            let mut conn = self.store.reader().await?;
            second_factor::factor(&mut conn, user.id).await?
        };
        let enabled = factor.as_ref().is_some_and(|f| f.enabled);
        if enabled || self.second_factor_roles.contains(&user.role) {
            let purpose = if enabled {
                Purpose::Verify
            } else {
                Purpose::Enrol
            };
            let challenge = random_token();
            let mut tx = self.store.write().await?;
            second_factor::insert_challenge(
                tx.conn(),
                &hash_token(&challenge),
                user.id,
                purpose,
                now_ms(),
                &client.to_string(),
            )
            .await?;
            tx.commit().await?;
            tracing::info!(username, %client, purpose = purpose.as_str(), "login waits for a second factor");
            return Err(challenge_answer(purpose, challenge));
        }
        let mut tx = self.store.write().await?;
        let tokens = self.open_session(&mut tx, &user, client, None).await?;
        tx.commit().await?;
        self.guard.succeeded_everywhere(username, client).await;
        tracing::info!(username, user_id = user.id, %client, "login");
        Ok(tokens)
    }

    /// Starts a login session for `user` inside `tx`: the session row, a
    /// token pair and the `auth.login` audit entry (naming the second
    /// factor used, if any).
    async fn open_session(
        &self,
        tx: &mut crate::store::WriteTx,
        user: &User,
        client: IpAddr,
        second_factor: Option<&str>,
    ) -> AppResult<TokenResponse> {
        let session = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        let session_end = now.saturating_add(secs_to_ms(self.session_max_secs));
        let client_text = client.to_string();
        sessions::store::insert(
            tx.conn(),
            &session,
            user.id,
            now,
            session_end,
            Some(&client_text),
        )
        .await?;
        let tokens = self.issue_pair(tx, user, &session, session_end).await?;
        let mut detail = serde_json::json!({ "session": session, "client": client_text });
        if let Some(method) = second_factor {
            detail["second_factor"] = serde_json::json!(method);
        }
        tx.audit(AuditEntry::new(
            AuditActor::from(Some((user.id, user.username.as_str()))).from_client(client),
            "auth.login",
            format!("user:{}", user.id),
            detail,
        ))
        .await?;
        Ok(tokens)
    }

    async fn throttled(&self, username: &str, client: IpAddr) -> AppResult<()> {
        self.guard
            .check_everywhere(username, client)
            .await
            .map_err(|wait| {
                tracing::info!(username, %client, wait_ms = wait.as_millis(), "login throttled");
                AppError::too_many_attempts(
                    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
                )
            })
    }

    /// Changes `username`'s password after checking the current one (as a
    /// login would: throttled, counted when wrong). Every session of the
    /// account but `keep` ends, on every node; an administrator's reset
    /// flag is cleared.
    ///
    /// # Errors
    /// `too_many_attempts`, `invalid_credentials`, `account_disabled`,
    /// `weak_password` (also when the new password is the current one),
    /// `unavailable` when the hashing pool is full, `forbidden` when
    /// `tokenless` (the password is the only proof) and the account has a
    /// second factor and no administrator's reset, storage failures.
    pub async fn change_password(
        &self,
        username: &str,
        current: String,
        new: String,
        client: IpAddr,
        keep: Option<&str>,
        tokenless: bool,
    ) -> AppResult<()> {
        let unchanged = current == new;
        let Some(user) = self.check_password(username, current, client).await? else {
            self.guard
                .failed_everywhere(username, client, "wrong current password")
                .await;
            tracing::info!(username, %client, "password change refused: wrong current password");
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "wrong username or current password",
            ));
        };
        if user.disabled {
            return Err(AppError::new(
                ErrorCode::AccountDisabled,
                "this account is disabled",
            ));
        }
        if tokenless && !user.must_change_password {
            // The password alone must not replace a password the second
            // factor guards: only after an administrator's reset.
            let mut conn = self.store.reader().await?;
            if second_factor::factor(&mut conn, user.id)
                .await?
                .is_some_and(|f| f.enabled)
            {
                return Err(AppError::forbidden(
                    "this account has a second factor: log in with it, then change the password (POST /api/v1/me/password)",
                ));
            }
        }
        if unchanged {
            return Err(AppError::new(
                ErrorCode::WeakPassword,
                "the new password must differ from the current one",
            ));
        }
        strength::check(&new, &[&user.username, &user.display_name])?;
        let hash = password::hash(new).await?;
        let mut tx = self.store.write().await?;
        tx.set_user_password(user.id, &hash, false).await?;
        let ended =
            sessions::steps::end_all(&mut tx, user.id, keep, EndReason::PasswordChanged).await?;
        tx.audit(AuditEntry::new(
            AuditActor::from(Some((user.id, user.username.as_str()))).from_client(client),
            "user.password_changed",
            format!("user:{}", user.id),
            serde_json::json!({ "sessions_ended": ended }),
        ))
        .await?;
        tx.commit().await?;
        self.guard.succeeded_everywhere(username, client).await;
        tracing::info!(username, %client, sessions_ended = ended, "password changed");
        Ok(())
    }

    /// Exchanges a refresh token for a new pair; the old one is spent.
    ///
    /// # Errors
    /// `invalid_token` for an unknown token or one of an ended session; a
    /// spent token presented again ends its session everywhere (theft or
    /// replay) and gets `invalid_token`, unless it comes from `client`, the
    /// address that spent it, within `auth.refresh_grace_secs` of that: then
    /// it gets the same new pair (see `grace`); `token_expired` for an expired
    /// token or session (absolute or idle lifetime); `account_disabled`.
    pub async fn refresh(&self, refresh_token: &str, client: IpAddr) -> AppResult<TokenResponse> {
        let spent = hash_token(refresh_token);
        let mut tx = self.store.write().await?;
        // Presented again within the grace (two tabs, a lost reply): the
        // pair its first use received, while the session lives.
        if let Some((family, tokens)) = self.recent.replay(&spent, client, now_ms()) {
            let row = sessions::store::get(tx.conn(), &family).await?;
            if row.is_some_and(|r| r.ended_at.is_none()) {
                tracing::info!(session = family, "refresh token repeated within the grace");
                return Ok(tokens);
            }
        }
        let outcome = tx.spend_refresh_token(&spent).await?;
        let (user_id, family) = match outcome {
            RefreshOutcome::Valid { user_id, family } => (user_id, family),
            RefreshOutcome::Reused { user_id, family } => {
                // A disabled account's tokens were revoked with it: that is
                // no theft, and the answer says what happened.
                let user = self.store.user_by_id(user_id).await?;
                if user.as_ref().is_some_and(|u| u.disabled) {
                    return Err(AppError::new(
                        ErrorCode::AccountDisabled,
                        "this account is disabled",
                    ));
                }
                let row = sessions::store::get(tx.conn(), &family).await?;
                if row.as_ref().is_some_and(|r| r.ended_at.is_some()) {
                    // The session already ended (logout, an account change):
                    // its tokens are dead anyway; nothing more to end.
                    tx.commit().await?;
                    return Err(session_ended());
                }
                sessions::steps::end(&mut tx, user_id, &family, EndReason::RefreshReused).await?;
                let actor = user.as_ref().map(|u| (u.id, u.username.as_str()));
                tx.audit(AuditEntry::new(
                    AuditActor::from(actor).from_client(client),
                    "auth.refresh_reused",
                    format!("user:{user_id}"),
                    serde_json::json!({ "session": family }),
                ))
                .await?;
                tx.commit().await?;
                tracing::warn!(
                    user_id,
                    session = family,
                    "a spent refresh token was presented again; its session is ended"
                );
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
        let now = now_ms();
        let row = sessions::store::get(tx.conn(), &family)
            .await?
            .ok_or_else(session_ended)?;
        match sessions::policy::check_refresh(&row, now, secs_to_ms(self.session_idle_secs)) {
            Ok(()) => {}
            Err(Refusal::Ended(_)) => return Err(session_ended()),
            Err(refusal) => {
                let reason = if refusal == Refusal::Idle {
                    "idle"
                } else {
                    "expired"
                };
                sessions::store::end(tx.conn(), &family, reason, now).await?;
                tx.commit().await?;
                return Err(AppError::new(
                    ErrorCode::TokenExpired,
                    "the session has expired; log in again",
                ));
            }
        }
        sessions::store::touch(tx.conn(), &family, now).await?;
        let tokens = self
            .issue_pair(&mut tx, &user, &family, row.expires_at)
            .await?;
        tx.commit().await?;
        self.recent.remember(spent, client, &family, &tokens, now);
        Ok(tokens)
    }

    /// Ends the session of a refresh token (logout): its access tokens are
    /// refused and its sockets closed on every node. Unknown tokens are ignored.
    ///
    /// # Errors
    /// A storage failure.
    pub async fn logout(&self, refresh_token: &str, client: IpAddr) -> AppResult<()> {
        let mut tx = self.store.write().await?;
        if let RefreshOutcome::Valid { user_id, family } =
            tx.spend_refresh_token(&hash_token(refresh_token)).await?
        {
            sessions::steps::end(&mut tx, user_id, &family, EndReason::Logout).await?;
            tx.audit(AuditEntry::new(
                AuditActor::default().from_client(client),
                "auth.logout",
                format!("user:{user_id}"),
                serde_json::json!({ "session": family }),
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Checks an access token and returns the account it belongs to, as it is now.
    ///
    /// # Errors
    /// As [`Auth::authenticate_session`].
    pub async fn authenticate(&self, token: &str) -> AppResult<User> {
        self.authenticate_session(token).await.map(|t| t.user)
    }

    /// Checks an access token against the account and its session as they
    /// are now.
    ///
    /// # Errors
    /// `token_expired` (the token or its session), `invalid_token` (bad
    /// signature or algorithm, not yet valid, unknown user, revoked by a role
    /// change, no session or an ended one) or `account_disabled`.
    pub async fn authenticate_session(&self, token: &str) -> AppResult<SessionToken> {
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
        if claims.sid.is_empty() {
            return Err(AppError::new(
                ErrorCode::InvalidToken,
                "access token names no session; refresh or log in again",
            ));
        }
        let row = self
            .store
            .session(&claims.sid)
            .await?
            .filter(|row| row.user_id == user.id)
            .ok_or_else(invalid)?;
        match sessions::policy::check_access(&row, now_ms()) {
            Ok(()) => {}
            Err(Refusal::Ended(_)) => return Err(session_ended()),
            Err(_) => {
                return Err(AppError::new(
                    ErrorCode::TokenExpired,
                    "the session has expired; log in again",
                ))
            }
        }
        Ok(SessionToken {
            user,
            session: claims.sid,
            expires_at_ms: claims.exp.saturating_mul(1000),
        })
    }

    /// A new pair in session `family`, neither outliving `session_end` (ms).
    async fn issue_pair(
        &self,
        tx: &mut crate::store::WriteTx,
        user: &User,
        family: &str,
        session_end: i64,
    ) -> AppResult<TokenResponse> {
        let now = now_ms();
        let access_exp =
            sessions::policy::token_expiry(session_end, now, secs_to_ms(self.access_ttl_secs));
        let access_token = self
            .keys
            .issue(
                user.id,
                &user.username,
                user.role.as_str(),
                user.token_version,
                family,
                access_exp / 1000,
            )
            .map_err(|e| anyhow::anyhow!("signing failed: {e}"))?;
        let refresh_token = random_token();
        let refresh_exp =
            sessions::policy::token_expiry(session_end, now, secs_to_ms(self.refresh_ttl_secs));
        tx.insert_refresh_token(
            &hash_token(&refresh_token),
            family,
            user.id,
            refresh_exp - now,
        )
        .await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            // The token's `exp` is in whole seconds, rounded down: count
            // from that, so a client never believes in a later expiry.
            expires_in: u64::try_from(((access_exp / 1000) * 1000 - now) / 1000).unwrap_or(0),
            refresh_token,
            user: user.info(),
        })
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

/// The answer to a right password whose account must change it first.
fn password_change_required() -> AppError {
    AppError::new(
        ErrorCode::PasswordChangeRequired,
        "an administrator reset this password: choose a new one (POST /api/v1/auth/password), then log in",
    )
}
