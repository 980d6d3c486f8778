//! One retention run: take the lease, redact old events in batches (each
//! batch one transaction: new bodies, tombstone leaves, watermark, audit
//! entry), then closed alerts and their history, then hold the lease until
//! the next run is due.

use super::{policy, store as sql};
use crate::state::AppState;
use crate::store::{AuditEntry, Result, StoreError};
use mpaka_protocol::{Alert, AlertChange, EventData, FlowVersion};
use serde_json::json;

/// The job's name in the `jobs` table.
const JOB: &str = "retention";
/// The actor named in tombstones and audit entries.
const ACTOR: &str = "retention";
/// Rows per transaction, so that writers are never held up for long.
const BATCH: i64 = 500;

/// What one run redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    pub events: u64,
    pub alerts: u64,
    /// Stored flow versions whose correction reason went.
    pub flow_versions: u64,
}

/// Runs retention once if this node gets the lease (`None` when another
/// node holds it, or retention is off).
///
/// # Errors
/// A database failure; what was committed stays, the rest waits for the
/// next run.
pub async fn run_once(state: &AppState, now_ms: i64) -> Result<Option<Outcome>> {
    let settings = &state.settings.retention;
    if settings.redact_after_secs == 0 {
        return Ok(None);
    }
    let after_ms =
        i64::try_from(settings.redact_after_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let cutoff = now_ms.saturating_sub(after_ms);
    let interval = i64::try_from(settings.check_interval_ms).unwrap_or(i64::MAX);
    let node = state.hub.presence.node_id().to_owned();
    // A lease long enough for a run; renewed per batch.
    let lease = interval.max(60_000);
    let mut tx = state.store.write().await?;
    if !crate::store::jobs::take_lease(tx.conn(), JOB, &node, now_ms, now_ms + lease).await? {
        return Ok(None);
    }
    tx.commit().await?;
    let reason = format!(
        "retention: personal text older than {} s",
        settings.redact_after_secs
    );
    let mut outcome = Outcome::default();
    loop {
        let (redacted, done) = event_batch(state, &node, cutoff, &reason).await?;
        outcome.events += redacted;
        if done {
            break;
        }
    }
    loop {
        let redacted = alert_batch(state, cutoff, &reason).await?;
        outcome.alerts += redacted;
        if redacted < BATCH as u64 {
            break;
        }
    }
    loop {
        let redacted = flow_batch(state, cutoff).await?;
        outcome.flow_versions += redacted;
        if redacted < BATCH as u64 {
            break;
        }
    }
    let mut tx = state.store.write().await?;
    let now = crate::store::now_ms();
    crate::store::jobs::hold_until(tx.conn(), JOB, &node, now + interval, now).await?;
    tx.commit().await?;
    Ok(Some(outcome))
}

/// Redacts one batch of events older than `cutoff`; returns how many
/// changed and whether the old events are all done.
async fn event_batch(
    state: &AppState,
    node: &str,
    cutoff: i64,
    reason: &str,
) -> Result<(u64, bool)> {
    let mut tx = state.store.write().await?;
    // Read inside the serialised write: two nodes can never both redact
    // the same event, whatever happened to the lease.
    let from = sql::watermark(tx.conn(), JOB).await?;
    let rows = sql::events_after(tx.conn(), from, BATCH).await?;
    let mut last = from;
    let mut redacted = 0;
    let mut done = (rows.len() as i64) < BATCH;
    let (mut first, mut through) = (None, None);
    for row in rows {
        if row.at_ms >= cutoff {
            done = true;
            break;
        }
        let data: EventData = serde_json::from_str(&row.body).map_err(StoreError::corrupt)?;
        let kept =
            serde_json::to_string(&policy::forget_event(&data)).map_err(StoreError::corrupt)?;
        if kept != row.body {
            tx.redact_event(row.seq, &kept, ACTOR, reason).await?;
            redacted += 1;
            first.get_or_insert(row.seq);
            through = Some(row.seq);
        }
        last = row.seq;
    }
    if last != from {
        sql::set_watermark(tx.conn(), JOB, last).await?;
    }
    if redacted > 0 {
        tx.audit(AuditEntry::new(
            None,
            "retention.redacted",
            "events",
            json!({ "events": redacted, "first_seq": first, "last_seq": through,
                    "before": crate::store::format_ms(cutoff), "node": node }),
        ))
        .await?;
    }
    tx.commit().await?;
    Ok((redacted, done))
}

/// Redacts one batch of closed alerts (and their history) last changed
/// before `cutoff`; returns how many.
async fn alert_batch(state: &AppState, cutoff: i64, reason: &str) -> Result<u64> {
    let mut tx = state.store.write().await?;
    let alerts = sql::closed_alerts(tx.conn(), cutoff, BATCH).await?;
    let now = crate::store::now_ms();
    let mut ids = Vec::new();
    for (id, body) in &alerts {
        let alert: Alert = serde_json::from_str(body).map_err(StoreError::corrupt)?;
        let kept =
            serde_json::to_string(&policy::forget_alert(&alert)).map_err(StoreError::corrupt)?;
        sql::save_alert(tx.conn(), id, &kept, now).await?;
        for (entry, change) in sql::history(tx.conn(), id).await? {
            let change: AlertChange = serde_json::from_str(&change).map_err(StoreError::corrupt)?;
            let kept = serde_json::to_string(&policy::forget_change(&change))
                .map_err(StoreError::corrupt)?;
            sql::save_change(tx.conn(), entry, &kept).await?;
        }
        ids.push(id.clone());
    }
    if !ids.is_empty() {
        tx.audit(AuditEntry::new(
            None,
            "retention.redacted",
            "alerts",
            json!({ "alerts": ids, "reason": reason }),
        ))
        .await?;
    }
    tx.commit().await?;
    Ok(ids.len() as u64)
}

/// Redacts the correction reasons of one batch of stored flow versions
/// recorded before `cutoff`; returns how many.
async fn flow_batch(state: &AppState, cutoff: i64) -> Result<u64> {
    let mut tx = state.store.write().await?;
    let versions = sql::flow_versions_with_reason(tx.conn(), cutoff, BATCH).await?;
    let mut reports = Vec::new();
    for (report, version, body) in &versions {
        let stored: FlowVersion = serde_json::from_str(body).map_err(StoreError::corrupt)?;
        let kept = serde_json::to_string(&policy::forget_flow_version(&stored))
            .map_err(StoreError::corrupt)?;
        sql::save_flow_version(tx.conn(), report, *version, &kept).await?;
        reports.push(format!("{report}/{version}"));
    }
    if !reports.is_empty() {
        tx.audit(AuditEntry::new(
            None,
            "retention.redacted",
            "flow_versions",
            json!({ "flow_versions": reports }),
        ))
        .await?;
    }
    tx.commit().await?;
    Ok(versions.len() as u64)
}
