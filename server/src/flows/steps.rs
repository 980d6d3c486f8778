//! The write steps of flow figures: record a report, correct it, and verify
//! a surge (confirm into an alert, or dismiss). Each is one serialised
//! `WriteTx`: idempotency recall, checks, the flow tables, the `flow.*`
//! event, the audit entry and the remembered reply, then commit.
//!
//! Surge detection runs inside the step that changed the figures, in the
//! same transaction: writers are serialised on every node (SQLite's one
//! writer, PostgreSQL's advisory lock) and `flow_surges` is unique per post,
//! day and direction, so a surge is suggested exactly once, across
//! restarts and nodes, and never without the figures that revealed it.

use super::policy::{self, Place};
use super::store::{self as sql, DAY_MS};
use super::surge;
use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::once::{Once, Opened};
use crate::state::AppState;
use crate::store::{format_ms, now_ms, AuditEntry, WriteTx};
use mpaka_protocol::FieldCode;
use mpaka_protocol::{
    ChannelId, ErrorCode, EventData, FlowCorrection, FlowDraft, FlowReceipt, FlowReport, FlowStep,
    FlowStepBody, FlowSurge, FlowSurgeReceipt, FlowSurgeState, FlowVersion, Role,
};
use serde_json::json;

/// Longest period one report may cover.
pub const MAX_PERIOD_MS: i64 = DAY_MS;
/// How far in the future a period may end (clock skew at the posts).
pub const FUTURE_SLACK_MS: i64 = 10 * 60_000;
/// Longest correction or dismissal reason, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

/// Records a report.
///
/// # Errors
/// `validation_failed` with field errors; `forbidden` unless `who` may
/// record for the post; `idempotency_conflict`; storage failures.
pub async fn record(
    state: &AppState,
    who: &Principal,
    key: &str,
    draft: FlowDraft,
) -> AppResult<FlowReceipt> {
    let mut problems = draft.validate();
    problems.extend(super::check_reasons(&state.settings, &draft.lines));
    let period = super::period(&draft.period_start, &draft.period_end, now_ms());
    if let Err(p) = &period {
        problems.extend(p.iter().cloned());
    }
    if !problems.is_empty() {
        return Err(AppError::invalid(problems));
    }
    let (start_ms, end_ms) = period.unwrap_or_default();
    let once = Once::new(who, Some(key), "flow.record", &draft);
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let directory = state.hub.directory();
    let slug = match (&draft.post, who.role) {
        (Some(post), _) => post.clone(),
        (None, Role::Officer) => who.post.clone().unwrap_or_default(),
        (None, Role::Coordinator) => {
            return Err(AppError::coded(
                "post",
                FieldCode::Required,
                "a coordinator must name the post the figures are for",
            ))
        }
        (None, _) => return Err(AppError::forbidden("your role may not record flow figures")),
    };
    let post = directory.post(&slug).ok_or_else(|| {
        AppError::coded(
            "post",
            FieldCode::UnknownValue,
            format!("there is no post {slug}"),
        )
    })?;
    let corridor = post.corridor.clone().ok_or_else(|| {
        AppError::coded(
            "post",
            FieldCode::NotAllowed,
            format!("post {slug} belongs to no corridor"),
        )
    })?;
    let place = Place {
        post: &post.slug,
        corridor: &corridor,
        country: post.country,
    };
    if !policy::may_record(who, place) {
        return Err(AppError::forbidden(format!(
            "only officers of {slug} and coordinators of {} may record its figures",
            post.country
        )));
    }
    let now = now_ms();
    let total = draft
        .lines
        .iter()
        .map(mpaka_protocol::FlowLine::total)
        .sum();
    let report = FlowReport {
        id: uuid::Uuid::now_v7().simple().to_string(),
        post: post.slug.clone(),
        corridor,
        country: post.country,
        sharing: draft.sharing,
        period_start: format_ms(start_ms),
        period_end: format_ms(end_ms),
        lines: draft.lines,
        total,
        version: 1,
        recorded_by: who.author(),
        recorded_at: format_ms(now),
        updated_at: format_ms(now),
    };
    sql::insert(tx.conn(), &report, start_ms, end_ms, who.user_id, now).await?;
    let detail = json!({
        "post": report.post, "sharing": report.sharing, "total": report.total,
        "period_start": report.period_start, "period_end": report.period_end,
    });
    finish(
        tx,
        who,
        &once,
        report,
        start_ms,
        FlowStep::Recorded,
        None,
        now,
        detail,
    )
    .await
}

/// Replaces a report's lines; the earlier version stays in its history.
///
/// # Errors
/// `validation_failed`; `not_found` when `who` may not read it; `forbidden`
/// unless `who` may record for its post; `idempotency_conflict`; storage
/// failures.
pub async fn correct(
    state: &AppState,
    who: &Principal,
    key: &str,
    report_id: &str,
    correction: FlowCorrection,
) -> AppResult<FlowReceipt> {
    let mut problems = mpaka_protocol::validate_lines(&correction.lines);
    problems.extend(super::check_reasons(&state.settings, &correction.lines));
    if let Err(e) = check_reason(&correction.reason) {
        problems.push(e);
    }
    if !problems.is_empty() {
        return Err(AppError::invalid(problems));
    }
    let once = Once::new(who, Some(key), "flow.correct", &(report_id, &correction));
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let missing = || AppError::not_found(format!("no flow report {report_id}"));
    let (mut report, start_ms) = sql::load(tx.conn(), report_id).await?.ok_or_else(missing)?;
    let directory = state.hub.directory();
    let place = Place {
        post: &report.post,
        corridor: &report.corridor,
        country: report.country,
    };
    if !policy::may_read(
        who,
        place,
        report.sharing,
        &directory.corridor_countries(&report.corridor),
    ) {
        return Err(missing());
    }
    if !policy::may_record(who, place) {
        return Err(AppError::forbidden(format!(
            "only officers of {} and coordinators of {} may correct its figures",
            report.post, report.country
        )));
    }
    if report.lines == correction.lines {
        return Err(AppError::coded(
            "lines",
            FieldCode::Unchanged,
            "the correction changes nothing",
        ));
    }
    let now = now_ms();
    let before = report.total;
    report.lines = correction.lines;
    report.total = report
        .lines
        .iter()
        .map(mpaka_protocol::FlowLine::total)
        .sum();
    report.version = report.version.saturating_add(1);
    report.updated_at = format_ms(now);
    sql::save(tx.conn(), &report, start_ms, now).await?;
    let reason = correction.reason.trim().to_owned();
    let detail = json!({
        "version": report.version, "total_before": before, "total": report.total,
        "reason": reason,
    });
    finish(
        tx,
        who,
        &once,
        report,
        start_ms,
        FlowStep::Corrected,
        Some(reason),
        now,
        detail,
    )
    .await
}

/// Appends the event, the version, the audit entry and any surge, then
/// remembers the reply and commits.
#[allow(clippy::too_many_arguments)]
async fn finish(
    mut tx: WriteTx,
    who: &Principal,
    once: &Once,
    report: FlowReport,
    start_ms: i64,
    step: FlowStep,
    reason: Option<String>,
    now: i64,
    detail: serde_json::Value,
) -> AppResult<FlowReceipt> {
    let body = Box::new(FlowStepBody {
        report: report.clone(),
        step,
        reason: reason.clone(),
    });
    let data = match step {
        FlowStep::Recorded => EventData::FlowRecorded(body),
        FlowStep::Corrected => EventData::FlowCorrected(body),
    };
    let kind = data.kind();
    let event = tx.append(who.writes(report.channel(), data)).await?;
    let version = FlowVersion {
        version: report.version,
        lines: report.lines.clone(),
        total: report.total,
        at: format_ms(now),
        by: who.author(),
        reason,
    };
    sql::insert_version(tx.conn(), &report.id, &version, now, who.user_id, event.seq).await?;
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        kind,
        format!("flow:{}", report.id),
        detail,
    ))
    .await?;
    let surges = surge::detect(&mut tx, &report, start_ms, now).await?;
    let receipt = FlowReceipt {
        report,
        seq: event.seq,
        duplicate: false,
        surges,
    };
    let receipt = once.close(tx, receipt).await?;
    Ok(receipt)
}

/// Confirms a suggested surge into an alert, raised through the alert
/// steps with the surge's pre-filled draft and linked to its figures.
///
/// The surge is first claimed (so that two officers confirming at once
/// raise one alert), then the alert is raised under an idempotency key
/// derived from the surge, then the surge is closed: a retry after a crash
/// at any point finishes the same confirmation.
///
/// # Errors
/// `not_found`; `invalid_state` when it was dismissed or another user is
/// confirming it; the alert step's errors; storage failures.
pub async fn confirm(
    state: &AppState,
    who: &Principal,
    key: &str,
    surge_id: &str,
) -> AppResult<FlowSurgeReceipt> {
    let once = Once::new(who, Some(key), "flow.surge_confirm", &surge_id);
    // 1. Claim.
    let surge = {
        let mut tx = match once.open::<FlowSurgeReceipt>(&state.store).await? {
            Opened::Fresh(tx) => tx,
            Opened::Repeat(reply) => return Ok(reply),
        };
        let (surge, claimed_by) = load_verifiable(state, &mut tx, who, surge_id).await?;
        match (surge.state, claimed_by) {
            (FlowSurgeState::Suggested, None) => {
                sql::save_surge(tx.conn(), &surge, Some(who.user_id)).await?;
                tx.commit().await?;
            }
            (FlowSurgeState::Suggested, Some(id)) if id == who.user_id => {}
            (FlowSurgeState::Suggested, Some(_)) => {
                return Err(AppError::new(
                    ErrorCode::InvalidState,
                    "another user is confirming this surge",
                ))
            }
            (other, _) => {
                return Err(AppError::new(
                    ErrorCode::InvalidState,
                    format!("the surge is already {other}"),
                ))
            }
        }
        surge
    };
    // 2. Raise the alert (idempotent per user and surge).
    let source = json!({ "surge": surge.id, "reports": surge.reports, "day": surge.day });
    let alert = crate::alerts::steps::raise(
        state,
        who,
        &format!("flow-surge:{}", surge.id),
        surge.draft.clone(),
        Some(source),
    )
    .await?;
    // 3. Close the surge.
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let (mut surge, claimed_by) = load_verifiable(state, &mut tx, who, surge_id).await?;
    if surge.state != FlowSurgeState::Suggested || claimed_by != Some(who.user_id) {
        return Err(AppError::new(
            ErrorCode::InvalidState,
            format!("the surge is already {}", surge.state),
        ));
    }
    surge.state = FlowSurgeState::Confirmed;
    surge.alert_id = Some(alert.alert.id.clone());
    surge.closed_by = Some(who.author());
    let detail = json!({ "alert": alert.alert.id, "post": surge.post, "day": surge.day });
    close_surge(tx, who, &once, surge, claimed_by, detail).await
}

/// Dismisses a suggested surge with a reason.
///
/// # Errors
/// `validation_failed` for a missing reason; `not_found`; `invalid_state`
/// unless it is suggested and nobody is confirming it; storage failures.
pub async fn dismiss(
    state: &AppState,
    who: &Principal,
    key: &str,
    surge_id: &str,
    reason: &str,
) -> AppResult<FlowSurgeReceipt> {
    check_reason(reason).map_err(|e| AppError::invalid(vec![e]))?;
    let once = Once::new(who, Some(key), "flow.surge_dismiss", &(surge_id, reason));
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let (mut surge, claimed_by) = load_verifiable(state, &mut tx, who, surge_id).await?;
    if surge.state != FlowSurgeState::Suggested || claimed_by.is_some() {
        return Err(AppError::new(
            ErrorCode::InvalidState,
            if claimed_by.is_some() && surge.state == FlowSurgeState::Suggested {
                "the surge is being confirmed".to_owned()
            } else {
                format!("the surge is already {}", surge.state)
            },
        ));
    }
    surge.state = FlowSurgeState::Dismissed;
    surge.reason = Some(reason.trim().to_owned());
    surge.closed_by = Some(who.author());
    let detail = json!({ "reason": reason.trim(), "post": surge.post, "day": surge.day });
    close_surge(tx, who, &once, surge, claimed_by, detail).await
}

async fn close_surge(
    mut tx: WriteTx,
    who: &Principal,
    once: &Once,
    surge: FlowSurge,
    claimed_by: Option<i64>,
    detail: serde_json::Value,
) -> AppResult<FlowSurgeReceipt> {
    sql::save_surge(tx.conn(), &surge, claimed_by).await?;
    let data = match surge.state {
        FlowSurgeState::Confirmed => EventData::FlowSurgeConfirmed(Box::new(surge.clone())),
        _ => EventData::FlowSurgeDismissed(Box::new(surge.clone())),
    };
    let kind = data.kind();
    let event = tx
        .append(who.writes(ChannelId::Post(surge.post.clone()), data))
        .await?;
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        kind,
        format!("flow-surge:{}", surge.id),
        detail,
    ))
    .await?;
    let receipt = FlowSurgeReceipt {
        surge,
        seq: event.seq,
        duplicate: false,
    };
    let receipt = once.close(tx, receipt).await?;
    Ok(receipt)
}

/// A surge `who` may verify; others are reported absent.
async fn load_verifiable(
    state: &AppState,
    tx: &mut WriteTx,
    who: &Principal,
    surge_id: &str,
) -> AppResult<(FlowSurge, Option<i64>)> {
    let missing = || AppError::not_found(format!("no surge {surge_id}"));
    let (surge, claimed_by) = sql::load_surge(tx.conn(), surge_id)
        .await?
        .ok_or_else(missing)?;
    let directory = state.hub.directory();
    let country = directory
        .post(&surge.post)
        .map(|p| p.country)
        .ok_or_else(missing)?;
    let place = Place {
        post: &surge.post,
        corridor: &surge.corridor,
        country,
    };
    if !policy::may_verify(who, place) {
        return Err(missing());
    }
    Ok((surge, claimed_by))
}

/// Sets the detector's threshold for `scope` (`post:{slug}` or
/// `corridor:{slug}`), audited.
///
/// # Errors
/// `validation_failed` for an unknown scope or a threshold outside 1–10;
/// `forbidden` unless `who` coordinates that post's country or one of the
/// corridor's countries; storage failures.
pub async fn set_threshold(
    state: &AppState,
    who: &Principal,
    scope: &str,
    threshold: f64,
) -> AppResult<()> {
    if !(1.0..=10.0).contains(&threshold) {
        return Err(AppError::coded_with(
            "threshold",
            FieldCode::OutOfRange,
            "must be between 1 and 10",
            &[("min", 1.into()), ("max", 10.into())],
        ));
    }
    let directory = state.hub.directory();
    let allowed = match scope.split_once(':') {
        Some(("post", slug)) => {
            let post = directory.post(slug).ok_or_else(|| {
                AppError::coded(
                    "scope",
                    FieldCode::UnknownValue,
                    format!("there is no post {slug}"),
                )
            })?;
            policy::may_tune(who, Some(post.country), &[])
        }
        Some(("corridor", slug)) => {
            if directory.corridor(slug).is_none() {
                return Err(AppError::coded(
                    "scope",
                    FieldCode::UnknownValue,
                    format!("there is no corridor {slug}"),
                ));
            }
            policy::may_tune(who, None, &directory.corridor_countries(slug))
        }
        _ => {
            return Err(AppError::coded(
                "scope",
                FieldCode::UnknownValue,
                "must be post:{slug} or corridor:{slug}",
            ))
        }
    };
    if !allowed {
        return Err(AppError::forbidden(
            "only coordinators of the post's or corridor's countries may tune its detector",
        ));
    }
    let mut tx = state.store.write().await?;
    let now = now_ms();
    sql::set_threshold(tx.conn(), scope, threshold, now, who.user_id).await?;
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        "flow.sensitivity",
        scope.to_owned(),
        json!({ "threshold": threshold }),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

fn check_reason(reason: &str) -> Result<(), mpaka_protocol::FieldError> {
    use mpaka_protocol::{FieldCode, FieldError};
    if reason.trim().is_empty() {
        Err(FieldError::new(
            "reason",
            FieldCode::Required,
            "must not be empty",
        ))
    } else if reason.chars().count() > MAX_REASON_CHARS {
        Err(FieldError::new(
            "reason",
            FieldCode::TooLong,
            format!("must be at most {MAX_REASON_CHARS} characters"),
        )
        .with("max", MAX_REASON_CHARS)
        .with("unit", "characters"))
    } else if reason
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Err(FieldError::new(
            "reason",
            FieldCode::ControlCharacters,
            "must not contain control characters",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_must_say_something() {
        assert!(check_reason("double-counted the 10:00 bus").is_ok());
        assert!(check_reason(" ").is_err());
        assert!(check_reason(&"x".repeat(MAX_REASON_CHARS + 1)).is_err());
    }
}
