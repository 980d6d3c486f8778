//! Refresh tokens: stored only as SHA-256 hashes, rotated on every use. A
//! token presented twice means it was stolen or replayed: its whole family
//! (every token descended from the same login) is revoked.

use super::{now_ms, Result, WriteTx};

/// What presenting a refresh token amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Valid and now spent; issue a successor in the same family.
    Valid {
        user_id: i64,
        family: String,
    },
    /// Already spent or revoked: the family has been revoked.
    Reused {
        user_id: i64,
        family: String,
    },
    Expired,
    Unknown,
}

impl WriteTx {
    /// Stores a new refresh token's hash.
    ///
    /// # Errors
    /// A database failure.
    pub async fn insert_refresh_token(
        &mut self,
        token_hash: &str,
        family: &str,
        user_id: i64,
        ttl_ms: i64,
    ) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(family)
        .bind(user_id)
        .bind(now)
        .bind(now.saturating_add(ttl_ms))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Spends a refresh token.
    ///
    /// # Errors
    /// A database failure.
    pub async fn spend_refresh_token(&mut self, token_hash: &str) -> Result<RefreshOutcome> {
        let row: Option<(String, i64, i64, Option<i64>, i64)> = sqlx::query_as(
            "SELECT family, user_id, expires_at, used_at, revoked FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.conn())
        .await?;
        let Some((family, user_id, expires_at, used_at, revoked)) = row else {
            return Ok(RefreshOutcome::Unknown);
        };
        if used_at.is_some() || revoked != 0 {
            sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE family = $1")
                .bind(&family)
                .execute(self.conn())
                .await?;
            return Ok(RefreshOutcome::Reused { user_id, family });
        }
        let now = now_ms();
        if expires_at <= now {
            return Ok(RefreshOutcome::Expired);
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(self.conn())
            .await?;
        Ok(RefreshOutcome::Valid { user_id, family })
    }
}
