//! The log epoch: a random id created with the database (migration 0007).
//! Event sequence numbers are comparable only within one epoch. Export and
//! import keep it (moving a live log elsewhere); `mpaka backup` gives the
//! copy a new one, because restoring a backup goes back to an older point
//! and reuses sequence numbers clients may already have seen.

use super::{Result, Store};

impl Store {
    /// This database's log epoch.
    ///
    /// # Errors
    /// A database failure.
    pub async fn epoch(&self) -> Result<String> {
        let mut conn = self.reader().await?;
        Ok(
            sqlx::query_scalar("SELECT epoch FROM log_epoch WHERE id = 1")
                .fetch_one(&mut *conn)
                .await?,
        )
    }
}

/// A fresh random epoch: 32 hex digits.
pub(crate) fn new_epoch() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
