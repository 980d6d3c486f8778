//! Reading alerts: listings with filters and pages, one alert with its
//! history, summaries per corridor. A caller only ever sees alerts of the
//! corridors whose channel it may read, redacted for observers.

use super::policy;
use super::store::{self as sql, Filter};
use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpaka_protocol::FieldCode;
use mpaka_protocol::{
    Alert, AlertDetail, AlertPage, AlertQuery, AlertSummary, DEFAULT_ALERT_PAGE, MAX_ALERT_PAGE,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Corridors whose alerts `who` may see, in slug order.
pub fn visible_corridors(state: &AppState, who: &Principal) -> Vec<String> {
    let directory = state.hub.directory();
    directory
        .corridors
        .keys()
        .filter(|slug| policy::may_see(who, slug, &directory))
        .cloned()
        .collect()
}

/// Fails with `forbidden` for roles that see no alerts at all (admins,
/// auditors), so they are told rather than shown an empty list.
fn require_some(corridors: &[String]) -> AppResult<()> {
    if corridors.is_empty() {
        Err(AppError::forbidden("your role does not see alerts"))
    } else {
        Ok(())
    }
}

/// One page of alerts matching `query`.
///
/// # Errors
/// `validation_failed` for a bad limit or time; `forbidden` for roles
/// that see no alerts; storage failures.
pub async fn list(state: &AppState, who: &Principal, query: AlertQuery) -> AppResult<AlertPage> {
    let corridors = visible_corridors(state, who);
    require_some(&corridors)?;
    let limit = query.limit.unwrap_or(DEFAULT_ALERT_PAGE);
    if !(1..=MAX_ALERT_PAGE).contains(&limit) {
        return Err(AppError::coded_with(
            "limit",
            FieldCode::OutOfRange,
            format!("must be between 1 and {MAX_ALERT_PAGE}"),
            &[("min", 1.into()), ("max", MAX_ALERT_PAGE.into())],
        ));
    }
    let corridors = match &query.corridor {
        Some(c) => corridors.into_iter().filter(|v| v == c).collect(),
        None => corridors,
    };
    let filter = Filter {
        corridors,
        state: query.state.map(|s| s.as_str()),
        post: query.post.clone(),
        kind: query.kind.map(|k| k.as_str()),
        severity: query.severity.map(|s| s.as_str()),
        status: query.status.map(|s| s.as_str()),
        from_ms: query
            .from
            .as_deref()
            .map(|t| instant("from", t))
            .transpose()?,
        to_ms: query.to.as_deref().map(|t| instant("to", t)).transpose()?,
        limit,
        offset: query.offset.unwrap_or(0),
    };
    let mut conn = state.store.reader().await?;
    let mut alerts = sql::list(&mut conn, &filter).await?;
    let more = alerts.len() > limit as usize;
    alerts.truncate(limit as usize);
    Ok(AlertPage {
        alerts: alerts.iter().map(|a| shown(who, a)).collect(),
        next_offset: more.then(|| filter.offset.saturating_add(limit)),
    })
}

/// One alert with its history.
///
/// # Errors
/// As [`visible`].
pub async fn get(state: &AppState, who: &Principal, alert_id: &str) -> AppResult<AlertDetail> {
    let alert = visible(state, who, alert_id).await?;
    let mut conn = state.store.reader().await?;
    let history = sql::history(&mut conn, alert_id).await?;
    let redact = who.sees_redacted();
    Ok(AlertDetail {
        alert,
        history: history
            .into_iter()
            .map(|c| if redact { c.redacted() } else { c })
            .collect(),
    })
}

/// One alert as `who` may see it.
///
/// # Errors
/// `forbidden` for roles that see no alerts at all (as on the lists);
/// `not_found` when it does not exist or `who` may not see its corridor.
pub async fn visible(state: &AppState, who: &Principal, alert_id: &str) -> AppResult<Alert> {
    require_some(&visible_corridors(state, who))?;
    let missing = || AppError::not_found(format!("no alert {alert_id}"));
    let mut conn = state.store.reader().await?;
    let row = sql::load(&mut conn, alert_id).await?.ok_or_else(missing)?;
    if !policy::may_see(who, &row.alert.corridor, &state.hub.directory()) {
        return Err(missing());
    }
    Ok(shown(who, &row.alert))
}

/// Every open alert `who` may see (for the CAP feed).
///
/// # Errors
/// `forbidden` for roles that see no alerts; storage failures.
pub async fn open(state: &AppState, who: &Principal) -> AppResult<Vec<Alert>> {
    let corridors = visible_corridors(state, who);
    require_some(&corridors)?;
    let mut conn = state.store.reader().await?;
    let alerts = sql::open_in(&mut conn, &corridors).await?;
    Ok(alerts.iter().map(|a| shown(who, a)).collect())
}

/// The summary of every corridor `who` may see. Exercise and test alerts
/// are counted apart and never in the real figures.
///
/// # Errors
/// `forbidden` for roles that see no alerts; storage failures.
pub async fn summary(state: &AppState, who: &Principal) -> AppResult<Vec<AlertSummary>> {
    let corridors = visible_corridors(state, who);
    require_some(&corridors)?;
    let mut conn = state.store.reader().await?;
    let alerts = sql::open_in(&mut conn, &corridors).await?;
    Ok(corridors
        .iter()
        .map(|c| AlertSummary::of(c, &alerts))
        .collect())
}

fn shown(who: &Principal, alert: &Alert) -> Alert {
    if who.sees_redacted() {
        alert.redacted()
    } else {
        alert.clone()
    }
}

/// An RFC 3339 instant as Unix milliseconds.
fn instant(field: &str, text: &str) -> AppResult<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        AppError::coded_with(
            field,
            FieldCode::NotADate,
            "must be an RFC 3339 date-time such as 2025-03-14T06:00:00Z",
            &[("format", "RFC 3339".into())],
        )
    })?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| {
        AppError::coded_with(
            field,
            FieldCode::NotADate,
            "is out of range",
            &[("format", "RFC 3339".into())],
        )
    })
}

/// Open alerts per severity, and how many of them nobody has acknowledged
/// (for the metrics; not filtered by reader: totals only, no content).
///
/// # Errors
/// Storage failures.
pub async fn open_counts(state: &AppState) -> AppResult<Vec<(String, i64, i64)>> {
    let mut conn = state.store.reader().await?;
    Ok(sql::open_counts(&mut conn).await?)
}
