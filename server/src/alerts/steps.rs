//! The write steps of an alert's life: raise, acknowledge, update, resolve
//! and cancel. Each is one serialised `WriteTx`: idempotency recall (the
//! request id or `Idempotency-Key` is the key), permission and state
//! checks, the alert tables, the `alert.*` event on `corridor:{slug}`, the
//! history entry, the audit entry and the remembered reply, then commit.
//! Nothing is delivered unless all of it is durable.
//!
//! Exercise and test alerts take exactly the same steps; only their
//! `status` tells them apart.

use super::escalation;
use super::policy::{self, Place};
use super::store::{self as sql, AlertRow};
use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::once::{Once, Opened};
use crate::state::AppState;
use crate::store::{format_ms, now_ms, AuditEntry, WriteTx};
use mpaka_protocol::{
    Alert, AlertAck, AlertChange, AlertClosing, AlertDraft, AlertEscalationBody, AlertOrigin,
    AlertPatch, AlertReceipt, AlertState, AlertStep, AlertStepBody, ErrorCode, EventData,
    FieldChange, FieldCode, FieldError,
};
use serde_json::json;

/// Longest reason for resolving or cancelling, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

/// How an alert is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    Resolve,
    Cancel,
}

/// Raises an alert. `source` is extra audit detail (e.g. the CAP document
/// an imported alert came from).
///
/// # Errors
/// `validation_failed` with field errors; `forbidden` unless `who` is an
/// officer of the post or a coordinator of its country;
/// `idempotency_conflict`; storage failures.
pub async fn raise(
    state: &AppState,
    who: &Principal,
    key: &str,
    draft: AlertDraft,
    source: Option<serde_json::Value>,
) -> AppResult<AlertReceipt> {
    let problems = draft.validate();
    if !problems.is_empty() {
        return Err(AppError::invalid(problems));
    }
    let written_at = crate::written::check("written_at", draft.written_at.as_deref(), now_ms())?;
    let once = Once::new(who, Some(key), "alert.raise", &draft);
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let directory = state.hub.directory();
    let slug = match (&draft.post, who.role) {
        (Some(post), _) => post.clone(),
        (None, mpaka_protocol::Role::Officer) => who.post.clone().unwrap_or_default(),
        (None, mpaka_protocol::Role::Coordinator) => {
            return Err(AppError::coded(
                "post",
                FieldCode::Required,
                "a coordinator must name the post the alert is about",
            ))
        }
        (None, _) => return Err(AppError::forbidden("your role may not raise alerts")),
    };
    let post = directory.post(&slug).ok_or_else(|| {
        AppError::coded(
            "post",
            FieldCode::UnknownValue,
            format!("there is no post {slug}"),
        )
    })?;
    if !policy::may_raise(who, post) {
        return Err(AppError::forbidden(format!(
            "only officers of {slug} and coordinators of {} may raise alerts there",
            post.country
        )));
    }
    let corridor = post.corridor.clone().ok_or_else(|| {
        AppError::coded(
            "post",
            FieldCode::NotAllowed,
            format!("post {slug} belongs to no corridor"),
        )
    })?;
    let now = now_ms();
    let alert = Alert::raise(
        draft,
        AlertOrigin {
            id: uuid::Uuid::now_v7().simple().to_string(),
            post: post.slug.clone(),
            corridor,
            country: post.country,
            raised_by: who.author(),
            raised_at: format_ms(now),
        },
    );
    let settings = &state.settings.alerts;
    let deadline = escalation::first_deadline(settings, alert.severity, now);
    let second = i64::try_from(settings.second_level_ms.get()).unwrap_or(i64::MAX);
    sql::insert(tx.conn(), &alert, who.user_id, now, deadline, second).await?;
    let mut change = change_by(who, now, AlertStep::Raised, Vec::new());
    change.written_at = written_at;
    let mut detail = json!({
        "post": alert.post, "kind": alert.kind, "severity": alert.severity,
        "status": alert.status, "headcount": alert.headcount,
    });
    if let Some(source) = source {
        detail["source"] = source;
    }
    finish(tx, who, &once, alert, change, now, detail).await
}

/// Acknowledges an alert on behalf of the counterpart side. Stops its
/// escalation.
///
/// # Errors
/// `not_found` when `who` may not see it; `forbidden` unless `who` is on
/// the counterpart side; `invalid_state` when it is closed or `who` has
/// already acknowledged it; storage failures.
pub async fn acknowledge(
    state: &AppState,
    who: &Principal,
    key: &str,
    alert_id: &str,
    written_at: Option<&str>,
) -> AppResult<AlertReceipt> {
    let written_at = crate::written::check("written_at", written_at, now_ms())?;
    let once = Once::new(who, Some(key), "alert.ack", &alert_id);
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let AlertRow { mut alert, .. } = load_visible(state, &mut tx, who, alert_id).await?;
    if !policy::is_counterpart(who, place(&alert)) {
        return Err(AppError::forbidden(
            "only the facing post and the other country's coordinators acknowledge an alert",
        ));
    }
    ensure_open(&alert)?;
    let now = now_ms();
    if !sql::insert_ack(tx.conn(), &alert.id, who.user_id, now).await? {
        return Err(AppError::new(
            ErrorCode::InvalidState,
            "you have already acknowledged this alert",
        ));
    }
    alert.acknowledgements.push(AlertAck {
        by: who.author(),
        at: format_ms(now),
        written_at: written_at.clone(),
    });
    bump(&mut alert, now);
    // An acknowledged alert never escalates (further).
    sql::save(tx.conn(), &alert, now, None).await?;
    let mut change = change_by(who, now, AlertStep::Acknowledged, Vec::new());
    change.written_at = written_at;
    let detail = json!({ "acknowledgements": alert.acknowledgements.len() });
    finish(tx, who, &once, alert, change, now, detail).await
}

/// Changes an open alert; the history keeps what changed, by whom, when.
///
/// # Errors
/// `validation_failed` for an invalid or empty patch (or one that changes
/// nothing); `not_found`; `forbidden` unless `who` is on the raising side;
/// `invalid_state` when closed; storage failures.
pub async fn update(
    state: &AppState,
    who: &Principal,
    key: &str,
    alert_id: &str,
    patch: AlertPatch,
) -> AppResult<AlertReceipt> {
    let problems = patch.validate();
    if !problems.is_empty() {
        return Err(AppError::invalid(problems));
    }
    if patch.is_empty() {
        return Err(AppError::coded(
            "patch",
            FieldCode::Required,
            "name at least one field to change",
        ));
    }
    let once = Once::new(who, Some(key), "alert.update", &(alert_id, &patch));
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let row = load_visible(state, &mut tx, who, alert_id).await?;
    let mut alert = row.alert.clone();
    ensure_raising_side(who, &alert)?;
    ensure_open(&alert)?;
    let changes = alert.apply_patch(&patch);
    if changes.is_empty() {
        return Err(AppError::coded(
            "patch",
            FieldCode::Unchanged,
            "every value given is already the alert's",
        ));
    }
    let now = now_ms();
    bump(&mut alert, now);
    let deadline = escalation::after_update(&state.settings.alerts, &row, &alert, now);
    sql::save(tx.conn(), &alert, now, deadline).await?;
    let detail = json!({ "fields": changes.iter().map(|c| c.field.clone()).collect::<Vec<_>>() });
    let change = change_by(who, now, AlertStep::Updated, changes);
    finish(tx, who, &once, alert, change, now, detail).await
}

/// Resolves or cancels an open alert, with a reason.
///
/// # Errors
/// `validation_failed` for a missing or overlong reason; `not_found`;
/// `forbidden` unless `who` is on the raising side; `invalid_state` when
/// already closed; storage failures.
pub async fn close(
    state: &AppState,
    who: &Principal,
    key: &str,
    alert_id: &str,
    how: Closing,
    reason: String,
) -> AppResult<AlertReceipt> {
    check_reason(&reason)?;
    let step = match how {
        Closing::Resolve => "resolve",
        Closing::Cancel => "cancel",
    };
    let once = Once::new(
        who,
        Some(key),
        &format!("alert.{step}"),
        &(alert_id, &reason),
    );
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let AlertRow { mut alert, .. } = load_visible(state, &mut tx, who, alert_id).await?;
    ensure_raising_side(who, &alert)?;
    ensure_open(&alert)?;
    let now = now_ms();
    let (new_state, step) = match how {
        Closing::Resolve => (AlertState::Resolved, AlertStep::Resolved),
        Closing::Cancel => (AlertState::Cancelled, AlertStep::Cancelled),
    };
    let closing = AlertClosing {
        reason: reason.trim().to_owned(),
        by: who.author(),
        at: format_ms(now),
    };
    let changes = vec![
        FieldChange {
            field: "state".into(),
            from: json!(alert.state),
            to: json!(new_state),
        },
        FieldChange {
            field: "closing".into(),
            from: serde_json::Value::Null,
            to: json!(closing),
        },
    ];
    alert.state = new_state;
    alert.closing = Some(closing);
    bump(&mut alert, now);
    sql::save(tx.conn(), &alert, now, None).await?;
    let detail = json!({ "reason": reason.trim() });
    let change = change_by(who, now, step, changes);
    finish(tx, who, &once, alert, change, now, detail).await
}

/// The event body of a step.
pub(super) fn event_data(step: AlertStep, body: AlertStepBody) -> EventData {
    let body = Box::new(body);
    match step {
        AlertStep::Raised => EventData::AlertRaised(body),
        AlertStep::Acknowledged => EventData::AlertAcknowledged(body),
        AlertStep::Updated => EventData::AlertUpdated(body),
        AlertStep::Resolved => EventData::AlertResolved(body),
        AlertStep::Cancelled => EventData::AlertCancelled(body),
        AlertStep::Escalated => EventData::AlertEscalated(Box::new(AlertEscalationBody {
            level: body.alert.escalation_level,
            alert: body.alert,
            change: body.change,
        })),
    }
}

/// Appends the step's event, history and audit entry, remembers the reply
/// and commits.
#[allow(clippy::too_many_arguments)]
async fn finish(
    mut tx: WriteTx,
    who: &Principal,
    once: &Once,
    alert: Alert,
    change: AlertChange,
    now: i64,
    detail: serde_json::Value,
) -> AppResult<AlertReceipt> {
    let data = event_data(
        change.step,
        AlertStepBody {
            alert: alert.clone(),
            change: change.clone(),
        },
    );
    let kind = data.kind();
    let event = tx.append(who.writes(alert.channel(), data)).await?;
    sql::insert_history(
        tx.conn(),
        &alert,
        &change,
        now,
        Some(who.user_id),
        event.seq,
    )
    .await?;
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        kind,
        format!("alert:{}", alert.id),
        detail,
    ))
    .await?;
    let receipt = AlertReceipt {
        alert,
        seq: event.seq,
        duplicate: false,
    };
    let receipt = once.close(tx, receipt).await?;
    Ok(receipt)
}

/// Loads an alert `who` may see; others are reported as absent so that
/// their existence does not leak across corridors.
async fn load_visible(
    state: &AppState,
    tx: &mut WriteTx,
    who: &Principal,
    alert_id: &str,
) -> AppResult<AlertRow> {
    let missing = || AppError::not_found(format!("no alert {alert_id}"));
    let row = sql::load(tx.conn(), alert_id).await?.ok_or_else(missing)?;
    if !policy::may_see(who, &row.alert.corridor, &state.hub.directory()) {
        return Err(missing());
    }
    Ok(row)
}

fn place(alert: &Alert) -> Place<'_> {
    Place {
        post: &alert.post,
        corridor: &alert.corridor,
        country: alert.country,
    }
}

fn ensure_raising_side(who: &Principal, alert: &Alert) -> AppResult<()> {
    if policy::is_raising_side(who, place(alert)) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "only officers of {} and coordinators of {} may change this alert",
            alert.post, alert.country
        )))
    }
}

fn ensure_open(alert: &Alert) -> AppResult<()> {
    if alert.is_open() {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::InvalidState,
            format!("the alert is {}", alert.state),
        ))
    }
}

fn check_reason(reason: &str) -> AppResult<()> {
    let chars = reason.chars().count();
    if reason.trim().is_empty() {
        return Err(AppError::coded(
            "reason",
            FieldCode::Required,
            "must not be empty",
        ));
    }
    if chars > MAX_REASON_CHARS {
        return Err(AppError::invalid(vec![FieldError::new(
            "reason",
            FieldCode::TooLong,
            format!("must be at most {MAX_REASON_CHARS} characters"),
        )
        .with("max", MAX_REASON_CHARS)
        .with("unit", "characters")]));
    }
    if reason
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::coded(
            "reason",
            FieldCode::ControlCharacters,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A later step: one more version, updated now.
pub(super) fn bump(alert: &mut Alert, now: i64) {
    alert.version = alert.version.saturating_add(1);
    alert.updated_at = format_ms(now);
}

fn change_by(who: &Principal, now: i64, step: AlertStep, changes: Vec<FieldChange>) -> AlertChange {
    AlertChange {
        at: format_ms(now),
        written_at: None,
        by: Some(who.author()),
        step,
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_must_say_something_reasonable() {
        assert!(check_reason("All transferred to the transit centre").is_ok());
        assert!(check_reason("  ").is_err());
        assert!(check_reason(&"x".repeat(MAX_REASON_CHARS + 1)).is_err());
        assert!(check_reason("bell\u{7}").is_err());
    }
}
