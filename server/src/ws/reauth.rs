//! `reauth`: an open connection swaps its access token for a fresh one of
//! the same login session, so that a socket outlives one token without
//! reconnecting and resubscribing, and never outlives its session.

use super::session::{deadline, Session};
use crate::error::{AppError, AppResult};
use mpaka_protocol::{ErrorCode, ServerFrame};

impl Session {
    /// Checks `token` as a new connection's would be, and that it belongs to
    /// the same user and login session; then the connection runs until the
    /// new token's expiry.
    pub(super) async fn reauth(
        &mut self,
        id: String,
        token: String,
    ) -> AppResult<Option<ServerFrame>> {
        let checked = self.state.auth.authenticate_session(&token).await?;
        if checked.user.id != self.principal.user_id || *checked.session != *self.login_session {
            tracing::info!("reauth with a token of another session refused");
            return Err(AppError::new(
                ErrorCode::InvalidToken,
                "reauth needs a token of the same login session; reconnect to switch",
            ));
        }
        self.token_expiry
            .as_mut()
            .reset(deadline(checked.expires_at_ms));
        let left = checked.expires_at_ms - crate::store::now_ms();
        Ok(Some(ServerFrame::Reauthed {
            id,
            expires_in: u64::try_from(left / 1000).unwrap_or(0),
        }))
    }
}
