//! Ending sessions inside the caller's write transaction: the row (and the
//! refresh tokens) first, then the `session.ended` event that makes every
//! node close the session's sockets once the transaction commits. Callers
//! write their own audit entry, which names why.

use super::policy::EndReason;
use super::store;
use crate::store::{now_ms, NewEvent, Result, WriteTx};
use mpaka_protocol::EventData;

fn ended(user_id: i64, session: Option<String>) -> NewEvent {
    NewEvent::system(EventData::SessionEnded { user_id, session })
}

/// Ends one session; returns whether it was still live (nothing is
/// announced for a session that had already ended).
///
/// # Errors
/// A database failure.
pub async fn end(tx: &mut WriteTx, user_id: i64, session: &str, reason: EndReason) -> Result<bool> {
    let live = store::end(tx.conn(), session, reason.as_str(), now_ms()).await?;
    if live {
        tx.append(ended(user_id, Some(session.to_owned()))).await?;
    }
    Ok(live)
}

/// Ends every session of a user but `keep`; returns how many ended.
///
/// # Errors
/// A database failure.
pub async fn end_all(
    tx: &mut WriteTx,
    user_id: i64,
    keep: Option<&str>,
    reason: EndReason,
) -> Result<u64> {
    let now = now_ms();
    let count = match keep {
        None => {
            let count = store::end_all(tx.conn(), user_id, None, reason.as_str(), now).await?;
            tx.append(ended(user_id, None)).await?;
            count
        }
        Some(keep) => {
            // Named one by one so that the kept session's sockets stay open.
            let live: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM sessions WHERE user_id = $1 AND ended_at IS NULL AND id <> $2",
            )
            .bind(user_id)
            .bind(keep)
            .fetch_all(&mut *tx.conn())
            .await?;
            let count =
                store::end_all(tx.conn(), user_id, Some(keep), reason.as_str(), now).await?;
            for session in live {
                tx.append(ended(user_id, Some(session))).await?;
            }
            count
        }
    };
    Ok(count)
}
