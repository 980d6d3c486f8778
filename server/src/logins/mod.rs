//! Login throttling against password guessing and spraying. Failed logins
//! are counted in memory per account and per client address; past a few
//! free failures each further one blocks logins for that key for an
//! exponentially growing time (capped), during which even the right password
//! gets `too_many_attempts` with `retry_after_ms` — a back-off an attacker
//! cannot turn into a permanent lock, since every block ends by itself.
//! Blocked attempts cost no password hash and no write. Failed logins are
//! audited in batches (one transaction every `FLUSH_EVERY`), never with an
//! fsync per attempt. An admin can see and clear the current blocks.
//!
//! On PostgreSQL the counters are shared by every node through an
//! UNLOGGED table ([`shared`]): a guesser spreading attempts over the nodes
//! behind a load balancer gets no more tries than against one. On SQLite
//! (one node) they live in memory only.

pub mod guard;
pub mod http;
pub mod policy;
pub mod shared;

pub use crate::client_addr::{client_addr, ClientAddr};
pub use guard::{FailedLogin, LoginGuard};

use crate::state::AppState;
use crate::store::{AuditActor, AuditEntry, Store};
use std::sync::Arc;
use std::time::Duration;

/// How often failed logins are written to the audit trail.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// Starts the task that writes failed logins to the audit trail in batches;
/// it writes a last batch at shutdown.
pub fn start(state: &AppState) {
    let guard = state.auth.guard().clone();
    let store = state.store.clone();
    let shutdown = state.shutdown.clone();
    state.tracker.spawn(async move {
        let mut every = tokio::time::interval(FLUSH_EVERY);
        loop {
            let stopping = tokio::select! {
                () = shutdown.cancelled() => true,
                _ = every.tick() => false,
            };
            if let Err(error) = flush(&guard, &store).await {
                tracing::warn!(%error, "cannot audit failed logins");
            }
            if stopping {
                break;
            }
        }
    });
}

/// Writes the failed logins gathered since the last flush, in one transaction.
///
/// # Errors
/// A storage failure (the batch is then lost, and the count logged).
pub async fn flush(guard: &Arc<LoginGuard>, store: &Store) -> anyhow::Result<()> {
    let (batch, dropped) = guard.take_failures();
    if batch.is_empty() && dropped == 0 {
        return Ok(());
    }
    let count = batch.len();
    let mut tx = store.write().await?;
    for failure in batch {
        tx.audit(AuditEntry::new(
            AuditActor::default().from_client(failure.client),
            "auth.login_failed",
            format!("username:{}", failure.username),
            serde_json::json!({
                "reason": failure.reason,
                "client": failure.client.to_string(),
                "at_ms": failure.at_ms,
            }),
        ))
        .await?;
    }
    if dropped > 0 {
        tx.audit(AuditEntry::new(
            None,
            "auth.login_failed_unrecorded",
            "logins",
            serde_json::json!({ "count": dropped }),
        ))
        .await?;
    }
    tx.commit().await?;
    tracing::debug!(count, dropped, "audited failed logins");
    Ok(())
}
