//! The `sessions` table: plain SQL over sqlx's `Any` driver, the same on
//! SQLite and PostgreSQL. Writes run inside the caller's `WriteTx`.

use crate::store::{Result, Store};
use sqlx::{AnyConnection, Row};

/// A session as stored (times in Unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub user_id: i64,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
}

const COLUMNS: &str = "id, user_id, created_at, last_used_at, expires_at, ended_at, end_reason";

fn decode(row: &sqlx::any::AnyRow) -> Result<SessionRow> {
    Ok(SessionRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        ended_at: row.try_get("ended_at")?,
        end_reason: row.try_get("end_reason")?,
    })
}

/// Creates a session at login.
///
/// # Errors
/// A database failure.
pub async fn insert(
    conn: &mut AnyConnection,
    id: &str,
    user_id: i64,
    now_ms: i64,
    expires_at: i64,
    client_addr: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, client_addr) \
         VALUES ($1, $2, $3, $3, $4, $5)",
    )
    .bind(id)
    .bind(user_id)
    .bind(now_ms)
    .bind(expires_at)
    .bind(client_addr)
    .execute(conn)
    .await?;
    Ok(())
}

/// One session, inside a write transaction.
///
/// # Errors
/// A database failure.
pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<SessionRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sessions WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Records a refresh: the idle lifetime starts again.
///
/// # Errors
/// A database failure.
pub async fn touch(conn: &mut AnyConnection, id: &str, now_ms: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends one session and revokes its refresh tokens; returns whether it was
/// still live.
///
/// # Errors
/// A database failure.
pub async fn end(conn: &mut AnyConnection, id: &str, reason: &str, now_ms: i64) -> Result<bool> {
    let ended = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
    )
    .bind(now_ms)
    .bind(reason)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE family = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(ended > 0)
}

/// Ends every live session of a user and revokes their refresh tokens,
/// except `keep` (a password change keeps the session that made it);
/// returns how many ended.
///
/// # Errors
/// A database failure.
pub async fn end_all(
    conn: &mut AnyConnection,
    user_id: i64,
    keep: Option<&str>,
    reason: &str,
    now_ms: i64,
) -> Result<u64> {
    let keep = keep.unwrap_or("");
    let ended = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2 \
         WHERE user_id = $3 AND ended_at IS NULL AND id <> $4",
    )
    .bind(now_ms)
    .bind(reason)
    .bind(user_id)
    .bind(keep)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE user_id = $1 AND family <> $2")
        .bind(user_id)
        .bind(keep)
        .execute(conn)
        .await?;
    Ok(ended)
}

impl Store {
    /// One session, read outside any write (every token check).
    ///
    /// # Errors
    /// A database failure.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>> {
        let mut conn = self.reader().await?;
        get(&mut conn, id).await
    }

    /// The live sessions of a user, newest first.
    ///
    /// # Errors
    /// A database failure.
    pub async fn live_sessions(&self, user_id: i64) -> Result<Vec<SessionRow>> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND ended_at IS NULL \
             AND expires_at > $2 ORDER BY created_at DESC"
        ))
        .bind(user_id)
        .bind(crate::store::now_ms())
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(decode).collect()
    }
}
