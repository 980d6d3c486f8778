//! The sender: one node at a time (the `sms.sender` lease in `jobs`) hands
//! queued SMS to the gateway, at most `rate_per_sec`, oldest first.
//!
//! Each hand-over is three steps: (1) the row becomes `sending` under a new
//! attempt id, committed; (2) the gateway is called, the attempt id in the
//! delivery-report URL; (3) the row becomes `sent` (or `queued` again with
//! a doubled delay, or `failed` after `max_attempts` or a refusal).
//!
//! The crash window is between (1) and (3): the gateway may or may not
//! have the SMS. Kannel cannot deduplicate, so the hub looks for proof:
//! any delivery report for that attempt (Kannel reports "accepted by the
//! SMSC" within moments, and its smsbox retries the report URL while the
//! hub is down) moves the row to `sent`. A row still `sending` with no
//! report after `unconfirmed_resend_secs` is sent again under a new attempt
//! id: the gateway most likely never had it (the node died before the
//! call), and a possible duplicate is preferred to a lost alert.

use super::gateway::{Gateway, GatewayError, Outgoing};
use super::gsm::Encoding;
use super::store::{self as sql, OutRow};
use crate::state::AppState;
use crate::store::{now_ms, Result};
use std::time::Duration;

/// The job name of the sender's lease.
const LEASE: &str = "sms.sender";
/// Rows read per round.
const BATCH: i64 = 50;

/// Sends what is due, if this node holds (or takes) the lease; returns
/// how many SMS the gateway accepted.
///
/// # Errors
/// A storage failure.
pub async fn send_due(state: &AppState, gateway: &dyn Gateway) -> Result<usize> {
    let settings = &state.settings.sms;
    let holder = state.hub.presence.node_id().to_owned();
    let lease_ms = lease_ms(state);
    if !take_lease(state, &holder, lease_ms).await? {
        return Ok(0);
    }
    let now = now_ms();
    let stale_before = now - secs_ms(settings.unconfirmed_resend_secs);
    let rows = {
        let mut conn = state.store.reader().await?;
        sql::due(&mut conn, now, stale_before, BATCH).await?
    };
    let pause = Duration::from_millis(1000 / u64::from(settings.rate_per_sec.max(1)));
    let mut sent = 0;
    let mut renewed = now;
    for row in rows {
        if state.shutdown.is_cancelled() {
            break;
        }
        if now_ms() - renewed > lease_ms / 3 {
            if !take_lease(state, &holder, lease_ms).await? {
                break;
            }
            renewed = now_ms();
        }
        match send_one(state, gateway, &row, stale_before).await? {
            Handed::Accepted => sent += 1,
            Handed::Skipped => continue,
            Handed::Refused => {}
            // The gateway is down: the rest waits for the next round.
            Handed::Unavailable => break,
        }
        tokio::time::sleep(pause).await;
    }
    Ok(sent)
}

fn secs_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// How long a lease lasts: a few rounds, at least 10 s.
fn lease_ms(state: &AppState) -> i64 {
    let interval = i64::try_from(state.settings.sms.check_interval_ms).unwrap_or(i64::MAX / 8);
    (interval.saturating_mul(5)).max(10_000)
}

async fn take_lease(state: &AppState, holder: &str, lease_ms: i64) -> Result<bool> {
    let now = now_ms();
    let mut tx = state.store.write().await?;
    let taken =
        crate::store::jobs::take_lease(tx.conn(), LEASE, holder, now, now + lease_ms).await?;
    tx.commit().await?;
    Ok(taken)
}

enum Handed {
    Accepted,
    Skipped,
    Refused,
    Unavailable,
}

async fn send_one(
    state: &AppState,
    gateway: &dyn Gateway,
    row: &OutRow,
    stale_before: i64,
) -> Result<Handed> {
    let settings = &state.settings.sms;
    let attempt_id = uuid::Uuid::new_v4().simple().to_string();
    {
        let mut tx = state.store.write().await?;
        let marked =
            sql::mark_sending(tx.conn(), row.id, &attempt_id, now_ms(), stale_before).await?;
        tx.commit().await?;
        if !marked {
            return Ok(Handed::Skipped);
        }
    }
    if row.state == "sending" {
        tracing::warn!(
            sms = row.id,
            "SMS left unconfirmed by an earlier attempt; sending again"
        );
        state.metrics.sms_event("resent");
    }
    let encoding = if row.encoding == Encoding::Ucs2.as_str() {
        Encoding::Ucs2
    } else {
        Encoding::Gsm7
    };
    let result = gateway
        .send(Outgoing {
            outbox_id: row.id,
            attempt_id: &attempt_id,
            to: &row.phone,
            text: &row.body,
            encoding,
        })
        .await;
    let now = now_ms();
    let attempts = row.attempts + 1;
    let mut tx = state.store.write().await?;
    let handed = match result {
        Ok(reply) => {
            sql::mark_sent(tx.conn(), row.id, &attempt_id, &reply, now).await?;
            Handed::Accepted
        }
        Err(GatewayError::Unavailable(why)) => {
            let give_up = attempts >= i64::from(settings.max_attempts);
            let delay = backoff(settings.retry_min_ms, settings.retry_max_ms, attempts);
            sql::mark_retry(tx.conn(), row.id, &attempt_id, now + delay, &why, give_up).await?;
            tracing::warn!(sms = row.id, attempts, error = %why, "SMS gateway unavailable; will retry");
            if give_up {
                Handed::Refused
            } else {
                Handed::Unavailable
            }
        }
        Err(GatewayError::Refused(why)) => {
            sql::mark_retry(tx.conn(), row.id, &attempt_id, now, &why, true).await?;
            tracing::warn!(sms = row.id, error = %why, "SMS refused by the gateway");
            Handed::Refused
        }
    };
    tx.commit().await?;
    match handed {
        Handed::Accepted => state.metrics.sms_event("sent"),
        Handed::Refused => state.metrics.sms_event("failed"),
        Handed::Unavailable => state.metrics.sms_event("retried"),
        Handed::Skipped => {}
    }
    Ok(handed)
}

/// The delay before attempt `attempts + 1`: `min` doubled per attempt, at
/// most `max`.
pub fn backoff(min_ms: u64, max_ms: u64, attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let delay = min_ms.saturating_mul(1u64 << doublings).min(max_ms);
    i64::try_from(delay).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_delay_doubles_up_to_the_maximum() {
        assert_eq!(backoff(1000, 60_000, 1), 1000);
        assert_eq!(backoff(1000, 60_000, 2), 2000);
        assert_eq!(backoff(1000, 60_000, 4), 8000);
        assert_eq!(backoff(1000, 60_000, 10), 60_000);
        assert_eq!(backoff(1000, 60_000, 1000), 60_000);
    }
}
