//! Escalation of alerts nobody on the other side has acknowledged.
//!
//! An open Severe or Extreme alert gets a deadline when raised (or when an
//! update makes it that severe): `raised + severe_escalation_ms` or
//! `extreme_escalation_ms`. The deadline is a column of the alert, so it
//! survives restarts. A background task on every node looks for due
//! alerts every `check_interval_ms` and escalates each in its own
//! `WriteTx` with a conditional UPDATE (still open, unacknowledged, at the
//! level it read, due): when several nodes race, or a node restarts in the
//! middle of a delay, each level still happens exactly once, on time.
//!
//! - Level 1: an `alert.escalated` event on `coord:joint` (the coordinators
//!   of both countries). The next deadline is the first one plus
//!   `second_level_ms` (fixed when the alert was raised).
//! - Level 2: an `alert.escalated` event on `coord:joint` and on the
//!   personal channel `user:{id}` of every configured `headquarters` user.
//!   Nothing follows.
//!
//! An acknowledgement, a resolution or a cancellation clears the deadline.

use super::steps::{bump, event_data};
use super::store::{self as sql, AlertRow};
use crate::config::{AlertSettings, Settings};
use crate::store::{format_ms, now_ms, AuditEntry, NewEvent, Store, StoreError};
use mpaka_protocol::{Alert, AlertChange, AlertStep, ChannelId, Severity};
use serde_json::json;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The last escalation level.
pub const MAX_LEVEL: u8 = 2;
/// Due alerts escalated per check at most; the rest wait for the next tick.
const BATCH: u32 = 100;

/// How long an alert of `severity` may stay unacknowledged, if it escalates at all.
pub fn delay(settings: &AlertSettings, severity: Severity) -> Option<i64> {
    let ms = match severity {
        Severity::Extreme => settings.extreme_escalation_ms.get(),
        Severity::Severe => settings.severe_escalation_ms.get(),
        Severity::Moderate | Severity::Minor | Severity::Unknown => return None,
    };
    Some(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// The first escalation deadline of an alert raised at `from_ms`.
pub fn first_deadline(settings: &AlertSettings, severity: Severity, from_ms: i64) -> Option<i64> {
    delay(settings, severity).map(|d| from_ms.saturating_add(d))
}

/// The deadline after an update: unchanged once escalated or acknowledged;
/// before that, the severity in force decides (the earlier deadline wins
/// when the severity rises, none when it drops below Severe).
pub fn after_update(
    settings: &AlertSettings,
    before: &AlertRow,
    after: &Alert,
    now_ms: i64,
) -> Option<i64> {
    if after.escalation_level > 0 || !after.acknowledgements.is_empty() {
        return before.next_escalation_at;
    }
    let fresh = first_deadline(settings, after.severity, now_ms)?;
    Some(before.next_escalation_at.map_or(fresh, |d| d.min(fresh)))
}

/// Starts the escalation loop on `tracker`; it stops when `shutdown` is
/// cancelled. It needs only the store and the alert settings.
pub fn start(
    store: Store,
    settings: Arc<Settings>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) {
    tracker.spawn(run(store, settings, shutdown));
}

async fn run(store: Store, settings: Arc<Settings>, shutdown: CancellationToken) {
    let settings = &settings.alerts;
    let mut tick = tokio::time::interval(settings.check_interval_ms.duration());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {
                if let Err(error) = escalate_due(&store, settings).await {
                    tracing::warn!(%error, "alert escalation check failed; will retry");
                }
            }
        }
    }
    tracing::debug!("alert escalation stopped");
}

/// Escalates every alert due now; returns how many were escalated by this call.
///
/// # Errors
/// A storage failure (the alerts concerned are retried on the next check).
pub async fn escalate_due(store: &Store, settings: &AlertSettings) -> Result<usize, StoreError> {
    let ids = {
        let mut conn = store.reader().await?;
        sql::due(&mut conn, now_ms(), BATCH).await?
    };
    let mut escalated = 0;
    for id in ids {
        if escalate_one(store, settings, &id).await? {
            escalated += 1;
        }
    }
    Ok(escalated)
}

/// Escalates one alert by one level if it is (still) due.
async fn escalate_one(
    store: &Store,
    settings: &AlertSettings,
    id: &str,
) -> Result<bool, StoreError> {
    let mut tx = store.write().await?;
    let Some(row) = sql::load(tx.conn(), id).await? else {
        return Ok(false);
    };
    let now = now_ms();
    let Some(deadline) = row.next_escalation_at.filter(|d| *d <= now) else {
        return Ok(false);
    };
    let mut alert = row.alert;
    let from_level = alert.escalation_level;
    if from_level >= MAX_LEVEL || !alert.is_open() || !alert.acknowledgements.is_empty() {
        return Ok(false);
    }
    alert.escalation_level = from_level + 1;
    bump(&mut alert, now);
    // Level 2 follows the first deadline, not the moment level 1 happened
    // to run: a hub that was down does not push it back.
    let next = (alert.escalation_level < MAX_LEVEL)
        .then(|| deadline.saturating_add(row.second_level_ms).max(now));
    if !sql::escalate(tx.conn(), &alert, i64::from(from_level), now, next).await? {
        return Ok(false);
    }
    let change = AlertChange {
        written_at: None,
        at: format_ms(now),
        by: None,
        step: AlertStep::Escalated,
        changes: vec![mpaka_protocol::FieldChange {
            field: "escalation_level".into(),
            from: json!(from_level),
            to: json!(alert.escalation_level),
        }],
    };
    let mut channels = vec![ChannelId::JointCoordination];
    let mut missing = Vec::new();
    if alert.escalation_level == MAX_LEVEL {
        for username in &settings.headquarters {
            match store.user_by_name(username).await? {
                Some(user) if !user.disabled => channels.push(ChannelId::User(user.id)),
                _ => missing.push(username.clone()),
            }
        }
        if !missing.is_empty() {
            tracing::warn!(
                ?missing,
                "alerts.headquarters names unknown or disabled users"
            );
        }
    }
    let mut first_seq = None;
    for channel in channels.iter().cloned() {
        let data = event_data(
            AlertStep::Escalated,
            mpaka_protocol::AlertStepBody {
                alert: alert.clone(),
                change: change.clone(),
            },
        );
        let event = tx
            .append(NewEvent {
                channel,
                author_id: None,
                author: None,
                audience: None,
                data,
            })
            .await?;
        first_seq.get_or_insert(event.seq);
    }
    sql::insert_history(
        tx.conn(),
        &alert,
        &change,
        now,
        None,
        first_seq.unwrap_or_default(),
    )
    .await?;
    tx.audit(AuditEntry::new(
        None,
        "alert.escalated",
        format!("alert:{}", alert.id),
        json!({
            "level": alert.escalation_level,
            "channels": channels.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "unknown_headquarters": missing,
        }),
    ))
    .await?;
    tx.commit().await?;
    tracing::info!(alert = %alert.id, level = alert.escalation_level, "alert escalated");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AlertSettings {
        crate::config::Settings::default().alerts
    }

    #[test]
    fn only_severe_and_extreme_alerts_escalate_with_the_default_delays() {
        let s = settings();
        assert_eq!(
            first_deadline(&s, Severity::Extreme, 1000),
            Some(1000 + 300_000)
        );
        assert_eq!(
            first_deadline(&s, Severity::Severe, 1000),
            Some(1000 + 900_000)
        );
        for quiet in [Severity::Moderate, Severity::Minor, Severity::Unknown] {
            assert_eq!(first_deadline(&s, quiet, 1000), None);
        }
    }
}
