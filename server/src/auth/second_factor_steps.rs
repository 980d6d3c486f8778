//! The second factor's steps on [`Auth`]: the code step of a login
//! (TOTP or recovery code), enrolment from a session or a login challenge,
//! and the caller's status. Wrong codes count as failed logins.

use super::second_factor::{self, Purpose};
use super::{hash_token, totp, Auth, Enroller};
use crate::error::{AppError, AppResult};
use crate::store::{now_ms, AuditActor, AuditEntry, User};
use mpaka_protocol::{
    ErrorCode, SecondFactorEnabled, SecondFactorEnrolment, SecondFactorStatus, TokenResponse,
};
use std::net::IpAddr;

impl Auth {
    /// The account and challenge of a login's second step, refused when
    /// the challenge is unknown, expired, spent or not for `purpose`, the
    /// account is disabled, or logins for it are throttled.
    async fn challenged(
        &self,
        challenge: &str,
        purpose: Purpose,
        client: IpAddr,
    ) -> AppResult<(User, String)> {
        let hash = hash_token(challenge);
        let row = {
            let mut conn = self.store.reader().await?;
            second_factor::challenge(&mut conn, &hash, now_ms()).await?
        };
        let Some(row) = row.filter(|r| r.purpose == purpose) else {
            return Err(challenge_expired());
        };
        let user = self
            .store
            .user_by_id(row.user_id)
            .await?
            .ok_or_else(challenge_expired)?;
        if user.disabled {
            return Err(AppError::new(
                ErrorCode::AccountDisabled,
                "this account is disabled",
            ));
        }
        self.throttled(&user.username, client).await?;
        Ok((user, hash))
    }

    /// A wrong second-factor code: counted against the account and the
    /// address like a wrong password.
    async fn wrong_code(&self, username: &str, client: IpAddr, reason: &'static str) -> AppError {
        self.guard.failed_everywhere(username, client, reason).await;
        tracing::info!(username, %client, "second factor refused");
        AppError::new(
            ErrorCode::InvalidSecondFactor,
            "wrong, used or expired code; wait for the next code from the app, or use a recovery code",
        )
    }

    /// The second step of a login that answered `second_factor_required`:
    /// a TOTP code (each time step once, ±1 step) or an unused recovery code.
    ///
    /// # Errors
    /// `challenge_expired`, `too_many_attempts`, `invalid_second_factor`
    /// (counted as a failed login), `account_disabled`, storage failures.
    pub async fn second_factor_login(
        &self,
        challenge: &str,
        code: &str,
        client: IpAddr,
    ) -> AppResult<TokenResponse> {
        let (user, hash) = self.challenged(challenge, Purpose::Verify, client).await?;
        let factor = {
            let mut conn = self.store.reader().await?;
            second_factor::factor(&mut conn, user.id).await?
        };
        let Some(factor) = factor.filter(|f| f.enabled) else {
            return Err(challenge_expired());
        };
        let now = now_ms();
        let now_secs = u64::try_from(now / 1000).unwrap_or(0);
        let mut tx;
        let method = if totp::is_totp_code(code) {
            let Some(step) = totp::matching_step(&factor.secret, code, now_secs, factor.last_step)
            else {
                return Err(self
                    .wrong_code(&user.username, client, "wrong second factor code")
                    .await);
            };
            tx = self.store.write().await?;
            if !second_factor::accept_step(tx.conn(), user.id, step).await? {
                drop(tx);
                return Err(self
                    .wrong_code(&user.username, client, "second factor code replayed")
                    .await);
            }
            "totp"
        } else {
            let code_hash = totp::recovery_hash(code);
            let unused = {
                let mut conn = self.store.reader().await?;
                second_factor::recovery_code_unused(&mut conn, user.id, &code_hash).await?
            };
            if !unused {
                return Err(self
                    .wrong_code(&user.username, client, "wrong recovery code")
                    .await);
            }
            tx = self.store.write().await?;
            if !second_factor::spend_recovery_code(tx.conn(), user.id, &code_hash, now).await? {
                drop(tx);
                return Err(self
                    .wrong_code(&user.username, client, "recovery code reused")
                    .await);
            }
            "recovery_code"
        };
        if !second_factor::spend_challenge(tx.conn(), &hash).await? {
            return Err(challenge_expired());
        }
        let tokens = self
            .open_session(&mut tx, &user, client, Some(method))
            .await?;
        tx.commit().await?;
        self.guard
            .succeeded_everywhere(&user.username, client)
            .await;
        tracing::info!(username = user.username, user_id = user.id, %client, second_factor = method, "login");
        Ok(tokens)
    }

    async fn enroller(
        &self,
        who: Enroller<'_>,
        client: IpAddr,
    ) -> AppResult<(User, Option<String>)> {
        match who {
            Enroller::User(user) => Ok((user.clone(), None)),
            Enroller::Challenge(challenge) => {
                let (user, hash) = self.challenged(challenge, Purpose::Enrol, client).await?;
                Ok((user, Some(hash)))
            }
        }
    }

    /// Starts enrolling a TOTP second factor: a new secret, pending until
    /// [`Auth::confirm_enrolment`] sees one of its codes.
    ///
    /// # Errors
    /// `invalid_state` when the account already has one enabled;
    /// `challenge_expired`, `too_many_attempts` (by challenge); storage failures.
    pub async fn start_enrolment(
        &self,
        who: Enroller<'_>,
        client: IpAddr,
    ) -> AppResult<SecondFactorEnrolment> {
        let (user, _) = self.enroller(who, client).await?;
        let mut tx = self.store.write().await?;
        if second_factor::factor(tx.conn(), user.id)
            .await?
            .is_some_and(|f| f.enabled)
        {
            return Err(AppError::new(
                ErrorCode::InvalidState,
                "a second factor is already enabled; an administrator can remove it",
            ));
        }
        let secret = totp::new_secret();
        second_factor::set_pending(tx.conn(), user.id, &totp::encode_secret(&secret), now_ms())
            .await?;
        tx.commit().await?;
        tracing::info!(username = user.username, %client, "second factor enrolment started");
        let otpauth_url = totp::otpauth_url(&secret, &user.username);
        Ok(SecondFactorEnrolment {
            secret: totp::encode_secret(&secret),
            qr_svg: totp::qr_svg(&otpauth_url),
            otpauth_url,
        })
    }

    /// Confirms a pending enrolment with a code of its secret: the second
    /// factor is enabled and ten recovery codes are issued (returned this
    /// once, stored as hashes). By challenge, the login then completes.
    ///
    /// # Errors
    /// `invalid_state` (no enrolment started), `invalid_second_factor`
    /// (counted as a failed login), `challenge_expired`,
    /// `too_many_attempts`, storage failures.
    pub async fn confirm_enrolment(
        &self,
        who: Enroller<'_>,
        code: &str,
        client: IpAddr,
    ) -> AppResult<SecondFactorEnabled> {
        let (user, challenge) = self.enroller(who, client).await?;
        if challenge.is_none() {
            self.throttled(&user.username, client).await?;
        }
        let factor = {
            let mut conn = self.store.reader().await?;
            second_factor::factor(&mut conn, user.id).await?
        };
        let Some(factor) = factor.filter(|f| !f.enabled) else {
            return Err(AppError::new(
                ErrorCode::InvalidState,
                "no enrolment is waiting for a code; start one first",
            ));
        };
        let now = now_ms();
        let now_secs = u64::try_from(now / 1000).unwrap_or(0);
        let Some(step) = totp::matching_step(&factor.secret, code, now_secs, 0) else {
            return Err(self
                .wrong_code(
                    &user.username,
                    client,
                    "wrong second factor code at enrolment",
                )
                .await);
        };
        let codes = totp::new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| totp::recovery_hash(c)).collect();
        let mut tx = self.store.write().await?;
        if !second_factor::enable(tx.conn(), user.id, now, step).await? {
            return Err(AppError::new(
                ErrorCode::InvalidState,
                "no enrolment is waiting for a code; start one first",
            ));
        }
        second_factor::replace_recovery_codes(tx.conn(), user.id, &hashes).await?;
        tx.audit(AuditEntry::new(
            AuditActor::from(Some((user.id, user.username.as_str()))).from_client(client),
            "user.second_factor_enabled",
            format!("user:{}", user.id),
            serde_json::json!({ "method": "totp", "recovery_codes": codes.len() }),
        ))
        .await?;
        let tokens = match &challenge {
            Some(hash) => {
                if !second_factor::spend_challenge(tx.conn(), hash).await? {
                    return Err(challenge_expired());
                }
                Some(
                    self.open_session(&mut tx, &user, client, Some("totp"))
                        .await?,
                )
            }
            None => None,
        };
        tx.commit().await?;
        self.guard
            .succeeded_everywhere(&user.username, client)
            .await;
        tracing::info!(username = user.username, %client, "second factor enabled");
        Ok(SecondFactorEnabled {
            recovery_codes: codes,
            tokens,
        })
    }

    /// Whether `user` has a second factor, must have one, and how many
    /// recovery codes are left.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn second_factor_status(&self, user: &User) -> AppResult<SecondFactorStatus> {
        let mut conn = self.store.reader().await?;
        let enabled = second_factor::factor(&mut conn, user.id)
            .await?
            .is_some_and(|f| f.enabled);
        let left = second_factor::recovery_codes_left(&mut conn, user.id).await?;
        Ok(SecondFactorStatus {
            enabled,
            required: self.second_factor_roles.contains(&user.role),
            recovery_codes_left: if enabled { left } else { 0 },
        })
    }
}

/// The answer to a right password whose account needs a second factor.
pub(super) fn challenge_answer(purpose: Purpose, challenge: String) -> AppError {
    let mut body = match purpose {
        Purpose::Verify => mpaka_protocol::ErrorBody::new(
            ErrorCode::SecondFactorRequired,
            "enter the code from your authenticator app (POST /api/v1/auth/second-factor with this challenge)",
        ),
        Purpose::Enrol => mpaka_protocol::ErrorBody::new(
            ErrorCode::SecondFactorEnrolmentRequired,
            "your role requires a second factor: enrol an authenticator app (POST /api/v1/auth/second-factor/enrol with this challenge)",
        ),
    };
    body.challenge = Some(challenge);
    AppError::Client(body)
}

fn challenge_expired() -> AppError {
    AppError::new(
        ErrorCode::ChallengeExpired,
        "this login has expired or was used; log in again with your password",
    )
}
