//! What the hub forgets: idempotency records older than the retry window
//! and refresh tokens long expired. Safe to run on every node at once.

use super::{now_ms, Result, Store};

/// How long a write can be retried with the same id and still be recognised.
/// Seven days covers a post that stays dark over a long weekend.
pub const IDEMPOTENCY_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

impl Store {
    /// Deletes expired idempotency records and refresh tokens; returns how
    /// many rows went.
    ///
    /// # Errors
    /// A database failure.
    pub async fn prune(&self) -> Result<u64> {
        let now = now_ms();
        let mut tx = self.write().await?;
        let records = sqlx::query("DELETE FROM idempotency WHERE at < $1")
            .bind(now - IDEMPOTENCY_RETENTION_MS)
            .execute(tx.conn())
            .await?
            .rows_affected();
        let tokens = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
            .bind(now - 24 * 3600 * 1000)
            .execute(tx.conn())
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(records + tokens)
    }
}
