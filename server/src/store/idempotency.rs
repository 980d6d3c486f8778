//! Idempotency records: the reply to every write request, keyed by user and
//! the request's client-chosen id, so a retry after a lost reply is answered
//! from here instead of being applied twice.

use super::{now_ms, Result, StoreError};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// A write request's identity: who sent it, its key, and a fingerprint of
/// its content (to tell a retry from a key reused for something else).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub user_id: i64,
    pub key: &'a str,
    pub fingerprint: &'a str,
}

/// What the records say about a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Recalled {
    /// Never seen: apply it.
    New,
    /// Applied before: this was the reply.
    Replay(serde_json::Value),
    /// The key was used for a request with other content.
    Conflict,
}

/// Looks up every request in one statement per chunk (see `rows`).
pub(super) async fn recall_many(
    conn: &mut AnyConnection,
    requests: &[Request<'_>],
) -> Result<Vec<Recalled>> {
    let mut found: HashMap<(i64, String), (String, String)> = HashMap::new();
    let mut rest = requests;
    for len in super::rows::chunk_lengths(requests.len()) {
        let (chunk, tail) = rest.split_at(len);
        rest = tail;
        // A join from a list of keys, not `(user_id, key) IN (VALUES …)`:
        // SQLite plans the latter as a scan of the whole table.
        let sql = format!(
            "WITH wanted (user_id, key) AS (VALUES {}) \
             SELECT i.user_id, i.key, i.fingerprint, i.reply \
             FROM wanted JOIN idempotency i ON i.user_id = wanted.user_id AND i.key = wanted.key",
            super::rows::placeholders(len, 2)
        );
        let mut query = sqlx::query(&sql);
        for request in chunk {
            query = query.bind(request.user_id).bind(request.key);
        }
        for row in query.fetch_all(&mut *conn).await? {
            found.insert(
                (row.try_get("user_id")?, row.try_get("key")?),
                (row.try_get("fingerprint")?, row.try_get("reply")?),
            );
        }
    }
    requests
        .iter()
        .map(
            |request| match found.get(&(request.user_id, request.key.to_owned())) {
                None => Ok(Recalled::New),
                Some((stored, _)) if stored != request.fingerprint => Ok(Recalled::Conflict),
                Some((_, reply)) => serde_json::from_str(reply)
                    .map(Recalled::Replay)
                    .map_err(StoreError::corrupt),
            },
        )
        .collect()
}

/// Records the reply of one request just applied (REST steps and socket
/// requests other than publishes, which the committer claims in batches
/// with [`claim_many`]).
pub(super) async fn remember(
    conn: &mut AnyConnection,
    request: Request<'_>,
    reply: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO idempotency (user_id, key, fingerprint, reply, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(request.user_id)
    .bind(request.key)
    .bind(request.fingerprint)
    .bind(reply.to_string())
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records the replies of requests applied in this transaction unless their
/// key is already taken, one statement per chunk; returns, in order,
/// whether each request's record was written (false: the key was used
/// before, and its earlier record stands). Keys must be distinct.
///
/// This is what lets a publish cost one statement for its idempotency
/// record instead of a lookup before and an insert after: the common case
/// (a new key) needs nothing else, and only the taken keys are read again.
pub(super) async fn claim_many(
    conn: &mut AnyConnection,
    replies: &[(Request<'_>, String)],
) -> Result<Vec<bool>> {
    let at = now_ms();
    let mut claimed = Vec::with_capacity(replies.len());
    let mut rest = replies;
    for len in super::rows::chunk_lengths(replies.len()) {
        let (chunk, tail) = rest.split_at(len);
        rest = tail;
        let sql = format!(
            "INSERT INTO idempotency (user_id, key, fingerprint, reply, at) VALUES {} \
             ON CONFLICT (user_id, key) DO NOTHING RETURNING user_id, key",
            super::rows::placeholders(len, 5)
        );
        let mut query = sqlx::query(&sql);
        for (request, reply) in chunk {
            query = query
                .bind(request.user_id)
                .bind(request.key)
                .bind(request.fingerprint)
                .bind(reply.as_str())
                .bind(at);
        }
        let rows = query.fetch_all(&mut *conn).await?;
        if rows.len() == len {
            // Every key was new: no need to tell them apart.
            claimed.extend(std::iter::repeat_n(true, len));
            continue;
        }
        let mut written = std::collections::HashSet::with_capacity(rows.len());
        for row in rows {
            written.insert((
                row.try_get::<i64, _>("user_id")?,
                row.try_get::<String, _>("key")?,
            ));
        }
        claimed.extend(
            chunk
                .iter()
                .map(|(request, _)| written.contains(&(request.user_id, request.key.to_owned()))),
        );
    }
    Ok(claimed)
}
