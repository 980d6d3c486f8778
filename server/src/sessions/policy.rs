//! Whether a session still lets its tokens through: pure functions of the
//! stored row and the clock, unit-tested below.

use super::store::SessionRow;

/// Why a session ended; stored in `sessions.end_reason` and the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The user logged out.
    Logout,
    /// A spent refresh token of the session was presented again: stolen or replayed.
    RefreshReused,
    /// An administrator disabled the account.
    AccountDisabled,
    /// An administrator changed the account's role, country or post.
    RoleChanged,
    /// The password was changed or reset.
    PasswordChanged,
    /// An administrator removed the account's second factor.
    SecondFactorReset,
    /// An administrator ended the session.
    Revoked,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Logout => "logout",
            EndReason::RefreshReused => "refresh_reused",
            EndReason::AccountDisabled => "account_disabled",
            EndReason::RoleChanged => "role_changed",
            EndReason::PasswordChanged => "password_changed",
            EndReason::SecondFactorReset => "second_factor_reset",
            EndReason::Revoked => "revoked",
        }
    }
}

/// Why a session's token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Ended explicitly; the stored reason.
    Ended(String),
    /// Past its absolute lifetime.
    Expired,
    /// Not refreshed within the idle lifetime.
    Idle,
}

/// Checks a session for an access token: ended or past its absolute end.
/// Idleness is not checked here: an access token is shorter-lived than any
/// sensible idle lifetime, and checking it would need a write per request.
///
/// # Errors
/// The [`Refusal`].
pub fn check_access(row: &SessionRow, now_ms: i64) -> Result<(), Refusal> {
    if let Some(reason) = &row.end_reason {
        return Err(Refusal::Ended(reason.clone()));
    }
    if row.ended_at.is_some() {
        return Err(Refusal::Ended("ended".into()));
    }
    if row.expires_at <= now_ms {
        return Err(Refusal::Expired);
    }
    Ok(())
}

/// Checks a session for a refresh: as for access, and not idle longer than
/// `idle_ms` since its last login or refresh.
///
/// # Errors
/// The [`Refusal`].
pub fn check_refresh(row: &SessionRow, now_ms: i64, idle_ms: i64) -> Result<(), Refusal> {
    check_access(row, now_ms)?;
    if now_ms.saturating_sub(row.last_used_at) > idle_ms {
        return Err(Refusal::Idle);
    }
    Ok(())
}

/// When a token issued now for `ttl_ms` must expire: never after its session.
pub fn token_expiry(row_expires_at: i64, now_ms: i64, ttl_ms: i64) -> i64 {
    now_ms.saturating_add(ttl_ms).min(row_expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> SessionRow {
        SessionRow {
            id: "s".into(),
            user_id: 1,
            created_at: 1_000,
            last_used_at: 5_000,
            expires_at: 100_000,
            ended_at: None,
            end_reason: None,
        }
    }

    #[test]
    fn a_live_session_passes_both_checks() {
        assert_eq!(check_access(&row(), 6_000), Ok(()));
        assert_eq!(check_refresh(&row(), 6_000, 10_000), Ok(()));
    }

    #[test]
    fn an_ended_session_refuses_access_and_refresh_with_its_reason() {
        let mut ended = row();
        ended.ended_at = Some(5_500);
        ended.end_reason = Some("logout".into());
        assert_eq!(
            check_access(&ended, 6_000),
            Err(Refusal::Ended("logout".into()))
        );
        assert_eq!(
            check_refresh(&ended, 6_000, 10_000),
            Err(Refusal::Ended("logout".into()))
        );
    }

    #[test]
    fn the_absolute_end_holds_however_active_the_session() {
        assert_eq!(check_access(&row(), 100_000), Err(Refusal::Expired));
        let mut busy = row();
        busy.last_used_at = 99_999;
        assert_eq!(check_refresh(&busy, 100_001, 10_000), Err(Refusal::Expired));
    }

    #[test]
    fn idleness_ends_refresh_but_not_a_current_access_token() {
        assert_eq!(check_refresh(&row(), 15_001, 10_000), Err(Refusal::Idle));
        assert_eq!(check_refresh(&row(), 15_000, 10_000), Ok(()));
        assert_eq!(check_access(&row(), 15_001), Ok(()));
    }

    #[test]
    fn tokens_never_outlive_their_session() {
        assert_eq!(token_expiry(100_000, 1_000, 900), 1_900);
        assert_eq!(token_expiry(100_000, 99_500, 900), 100_000);
    }
}
