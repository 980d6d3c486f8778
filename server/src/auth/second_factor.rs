//! The second factor's tables: TOTP secrets (pending until a code confirms
//! them), recovery-code hashes and login challenges. Plain SQL over sqlx's
//! `Any` driver, the same on SQLite and PostgreSQL; writes run inside the
//! caller's `WriteTx`. The steps that use them are in `super` (`Auth`).

use crate::store::Result;
use sqlx::{AnyConnection, Row};

/// How long the challenge of a login that needs a code lives.
pub const VERIFY_CHALLENGE_MS: i64 = 2 * 60 * 1000;
/// How long the challenge of a login that must enrol first lives (time to
/// install an app and scan the code).
pub const ENROL_CHALLENGE_MS: i64 = 10 * 60 * 1000;

/// What a login challenge allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The second step of a login: a TOTP or recovery code.
    Verify,
    /// Only enrolling a second factor (the role requires one), then the login.
    Enrol,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Enrol => "enrol",
        }
    }
}

/// An account's TOTP secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Factor {
    pub secret: Vec<u8>,
    /// Confirmed by a code; a pending enrolment is not.
    pub enabled: bool,
    /// The last time step whose code was accepted.
    pub last_step: u64,
}

impl std::fmt::Debug for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factor")
            .field("enabled", &self.enabled)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// A stored login challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub user_id: i64,
    pub purpose: Purpose,
    pub expires_at: i64,
}

/// The account's secret, enabled or pending.
///
/// # Errors
/// A database failure.
pub async fn factor(conn: &mut AnyConnection, user_id: i64) -> Result<Option<Factor>> {
    let row =
        sqlx::query("SELECT secret, enabled_at, last_step FROM second_factors WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(conn)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let secret: String = row.try_get("secret")?;
    let enabled: Option<i64> = row.try_get("enabled_at")?;
    let last_step: i64 = row.try_get("last_step")?;
    Ok(super::totp::decode_secret(&secret).map(|secret| Factor {
        secret,
        enabled: enabled.is_some(),
        last_step: u64::try_from(last_step).unwrap_or(0),
    }))
}

/// Stores a new secret waiting for its confirming code, replacing any
/// earlier pending one.
///
/// # Errors
/// A database failure.
pub async fn set_pending(
    conn: &mut AnyConnection,
    user_id: i64,
    secret: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO second_factors (user_id, secret, created_at, enabled_at, last_step) \
         VALUES ($1, $2, $3, NULL, 0) \
         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, \
         created_at = excluded.created_at, enabled_at = NULL, last_step = 0",
    )
    .bind(user_id)
    .bind(secret)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Enables the pending secret, whose code of `step` confirmed it.
///
/// # Errors
/// A database failure.
pub async fn enable(
    conn: &mut AnyConnection,
    user_id: i64,
    now_ms: i64,
    step: u64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE second_factors SET enabled_at = $1, last_step = $2 \
         WHERE user_id = $3 AND enabled_at IS NULL",
    )
    .bind(now_ms)
    .bind(i64::try_from(step).unwrap_or(i64::MAX))
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Records that the code of `step` was used; `false` when that step (or a
/// later one) was already used, here or on another node: a replay.
///
/// # Errors
/// A database failure.
pub async fn accept_step(conn: &mut AnyConnection, user_id: i64, step: u64) -> Result<bool> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let done = sqlx::query(
        "UPDATE second_factors SET last_step = $1 \
         WHERE user_id = $2 AND enabled_at IS NOT NULL AND last_step < $1",
    )
    .bind(step)
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Replaces the account's recovery codes by `hashes`.
///
/// # Errors
/// A database failure.
pub async fn replace_recovery_codes(
    conn: &mut AnyConnection,
    user_id: i64,
    hashes: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Whether `hash` is an unused recovery code of the account.
///
/// # Errors
/// A database failure.
pub async fn recovery_code_unused(
    conn: &mut AnyConnection,
    user_id: i64,
    hash: &str,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM recovery_codes \
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Spends a recovery code; `false` when it is unknown or already spent.
///
/// # Errors
/// A database failure.
pub async fn spend_recovery_code(
    conn: &mut AnyConnection,
    user_id: i64,
    hash: &str,
    now_ms: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now_ms)
    .bind(user_id)
    .bind(hash)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Recovery codes of the account not yet used.
///
/// # Errors
/// A database failure.
pub async fn recovery_codes_left(conn: &mut AnyConnection, user_id: i64) -> Result<u32> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok(u32::try_from(n).unwrap_or(0))
}

/// Removes the account's secret, recovery codes and challenges; returns
/// whether it had a secret.
///
/// # Errors
/// A database failure.
pub async fn remove(conn: &mut AnyConnection, user_id: i64) -> Result<bool> {
    let had = sqlx::query("DELETE FROM second_factors WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    for table in ["recovery_codes", "login_challenges"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(had > 0)
}

/// Stores a challenge (by its hash); expired ones are deleted on the way.
///
/// # Errors
/// A database failure.
pub async fn insert_challenge(
    conn: &mut AnyConnection,
    id_hash: &str,
    user_id: i64,
    purpose: Purpose,
    now_ms: i64,
    client: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM login_challenges WHERE expires_at <= $1")
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    let lifetime = match purpose {
        Purpose::Verify => VERIFY_CHALLENGE_MS,
        Purpose::Enrol => ENROL_CHALLENGE_MS,
    };
    sqlx::query(
        "INSERT INTO login_challenges (id_hash, user_id, purpose, expires_at, client_addr) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash)
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(now_ms.saturating_add(lifetime))
    .bind(client)
    .execute(conn)
    .await?;
    Ok(())
}

/// A live challenge by its hash.
///
/// # Errors
/// A database failure.
pub async fn challenge(
    conn: &mut AnyConnection,
    id_hash: &str,
    now_ms: i64,
) -> Result<Option<Challenge>> {
    let row = sqlx::query(
        "SELECT user_id, purpose, expires_at FROM login_challenges \
         WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(id_hash)
    .bind(now_ms)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let purpose: String = row.try_get("purpose")?;
    Ok(Some(Challenge {
        user_id: row.try_get("user_id")?,
        purpose: if purpose == "enrol" {
            Purpose::Enrol
        } else {
            Purpose::Verify
        },
        expires_at: row.try_get("expires_at")?,
    }))
}

/// Spends a challenge; `false` when another request spent it first.
///
/// # Errors
/// A database failure.
pub async fn spend_challenge(conn: &mut AnyConnection, id_hash: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM login_challenges WHERE id_hash = $1")
        .bind(id_hash)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(done == 1)
}
