//! The planner: which SMS should exist now. Every `check_interval_ms`, on
//! every node, it reads the durable state (open unacknowledged severe and
//! extreme alerts, when each post was last seen, escalation levels, phones
//! and preferences) and queues one SMS per recipient and alert step under
//! a unique key (`alert:{id}:raised:{user}`, `alert:{id}:esc{level}:{user}`).
//! The key makes it idempotent: two nodes, or a node restarted half-way,
//! insert the same rows once. Nothing is lost either: what causes an SMS
//! is durable (the alert row, the post's last-seen time), so a planner
//! that did not run (the hub was down) plans it on its next run, as long
//! as it is still true (an alert acknowledged meanwhile sends nothing).

use super::compose::{self, Lang};
use super::store::{self as sql, NewSms};
use super::{gsm, policy};
use crate::state::AppState;
use crate::store::{now_ms, AuditEntry, Result, Store, StoreError, User};
use mpaka_protocol::Alert;
use serde_json::json;

/// Tries at a fresh reference code before giving up for this round.
const CODE_TRIES: usize = 20;
/// A code is given to a new alert only once the alert that had it has been
/// closed this long (a late reply to the old one must not hit the new one).
const CODE_REUSE_AFTER_MS: i64 = 30 * 24 * 3_600_000;

/// Plans every SMS due now; returns how many were queued by this call.
///
/// # Errors
/// A storage failure (the rest is planned on the next run).
pub async fn plan(state: &AppState) -> Result<usize> {
    let settings = &state.settings.sms;
    let now = now_ms();
    let dark_before = now - ms(settings.dark_after_secs);
    let unacked_before = if settings.unacknowledged_after_secs == 0 {
        i64::MIN
    } else {
        now - ms(settings.unacknowledged_after_secs)
    };
    let (alerts, escalations) = {
        let mut conn = state.store.reader().await?;
        (
            sql::alert_candidates(&mut conn, dark_before, unacked_before).await?,
            sql::escalation_candidates(&mut conn).await?,
        )
    };
    let mut queued = 0;
    for (alert_id, user_id) in alerts {
        let key = format!("alert:{alert_id}:raised:{user_id}");
        if queue_alert(state, &key, &alert_id, user_id, None).await? {
            queued += 1;
        }
    }
    for (alert_id, level, user_id) in escalations {
        let key = format!("alert:{alert_id}:esc{level}:{user_id}");
        let level = u8::try_from(level).unwrap_or(u8::MAX);
        if queue_alert(state, &key, &alert_id, user_id, Some(level)).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

fn ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Queues the SMS of `key` unless the user's preferences hold it back now.
async fn queue_alert(
    state: &AppState,
    key: &str,
    alert_id: &str,
    user_id: i64,
    escalation: Option<u8>,
) -> Result<bool> {
    let settings = &state.settings.sms;
    let now = now_ms();
    let Some(user) = state.store.user_by_id(user_id).await? else {
        return Ok(false);
    };
    let (row, phone) = {
        let mut conn = state.store.reader().await?;
        let row = crate::alerts::store::load(&mut conn, alert_id).await?;
        let phone = sql::phone_of(&mut conn, user_id).await?;
        (row, phone)
    };
    let (Some(row), Some(phone)) = (row, phone) else {
        return Ok(false);
    };
    if !phone.verified {
        return Ok(false);
    }
    let quiet = phone.quiet_from.zip(phone.quiet_to);
    if !policy::sends_now(
        settings,
        user.role,
        phone.opted_out,
        quiet,
        row.alert.severity,
        now,
    ) {
        return Ok(false);
    }
    let code = code_for(&state.store, alert_id).await?;
    let post_name = state
        .hub
        .directory()
        .post(&row.alert.post)
        .map_or_else(|| row.alert.post.clone(), |p| p.name.clone());
    let text = text_for(state, &user, &row.alert, &post_name, &code, escalation);
    let measure = gsm::measure(&text);
    let mut tx = state.store.write().await?;
    let purpose = if escalation.is_some() {
        "escalation"
    } else {
        "alert"
    };
    let fresh = sql::enqueue(
        tx.conn(),
        &NewSms {
            dedup_key: key,
            user_id: Some(user_id),
            phone: &phone.phone,
            alert_id: Some(alert_id),
            purpose,
            body: &text,
            segments: i64::try_from(measure.segments).unwrap_or(i64::MAX),
            encoding: measure.encoding.as_str(),
        },
        now,
    )
    .await?;
    if fresh {
        tx.audit(AuditEntry::new(
            None,
            "sms.queued",
            format!("alert:{alert_id}"),
            json!({ "user": user.username, "purpose": purpose, "code": code,
                    "segments": measure.segments, "encoding": measure.encoding.as_str() }),
        ))
        .await?;
    }
    tx.commit().await?;
    if fresh {
        state.metrics.sms_event("queued");
        tracing::info!(alert = alert_id, user = %user.username, purpose, "SMS queued");
    }
    Ok(fresh)
}

fn text_for(
    state: &AppState,
    user: &User,
    alert: &Alert,
    post_name: &str,
    code: &str,
    escalation: Option<u8>,
) -> String {
    let pin = policy::needs_pin(&state.settings.sms, user.role);
    compose::alert(
        Lang::of(&user.language),
        alert,
        post_name,
        code,
        escalation,
        pin,
    )
}

/// The alert's reference code, given one if it has none yet.
///
/// # Errors
/// A storage failure, or no free code found (every code in use).
pub async fn code_for(store: &Store, alert_id: &str) -> Result<String> {
    {
        let mut conn = store.reader().await?;
        if let Some(code) = sql::code_of(&mut conn, alert_id).await? {
            return Ok(code);
        }
    }
    for _ in 0..CODE_TRIES {
        let candidate = policy::new_code(&mut rand::rng());
        let mut tx = store.write().await?;
        sql::insert_code(
            tx.conn(),
            alert_id,
            &candidate,
            now_ms() - CODE_REUSE_AFTER_MS,
        )
        .await?;
        let code = sql::code_of(tx.conn(), alert_id).await?;
        tx.commit().await?;
        if let Some(code) = code {
            return Ok(code);
        }
    }
    Err(StoreError::Refused(
        "no free SMS reference code (too many alerts have one)".into(),
    ))
}
