//! Idempotency records: the reply to every write request, keyed by user and
//! the request's client-chosen id, so a retry after a lost reply is answered
//! from here instead of being applied twice.

use super::{now_ms, Result, StoreError};
use sqlx::AnyConnection;

pub(super) async fn recall(
    conn: &mut AnyConnection,
    user_id: i64,
    key: &str,
    fingerprint: &str,
) -> Result<Option<serde_json::Value>> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT fingerprint, reply FROM idempotency WHERE user_id = $1 AND key = $2")
            .bind(user_id)
            .bind(key)
            .fetch_optional(conn)
            .await?;
    match row {
        None => Ok(None),
        Some((stored, _)) if stored != fingerprint => Err(StoreError::IdempotencyConflict),
        Some((_, reply)) => serde_json::from_str(&reply)
            .map(Some)
            .map_err(StoreError::corrupt),
    }
}

pub(super) async fn remember(
    conn: &mut AnyConnection,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    reply: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO idempotency (user_id, key, fingerprint, reply, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(key)
    .bind(fingerprint)
    .bind(reply.to_string())
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}
