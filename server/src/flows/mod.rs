//! Flow figures (issue 13, docs/flows.md): posts record how many people
//! crossed, by direction, nationality, sex and age group, vulnerability,
//! transport and reason (counts only); headquarters reads series, totals
//! and DTM-style monthly summaries live; a detector over each post's daily
//! figures suggests an alert when a surge begins, which an officer confirms
//! into a real alert or dismisses. Steps ([`steps`]) and who may take them
//! ([`policy`]), the SQL ([`store`]), reads ([`queries`]), the detector
//! ([`detector`], [`surge`]), exports ([`export`]) and the transports
//! ([`http`], [`socket`]).
//!
//! Joint reports are events on `corridor:{slug}` (both sides, observers),
//! national ones on `post:{slug}` (the post and its country's
//! coordinators); surges on `post:{slug}`.

pub mod settings;
pub use settings::{FlowSettings, DEFAULT_REASONS};
pub mod detector;
pub mod evaluate;
pub mod export;
pub mod http;
pub mod policy;
pub mod queries;
pub mod socket;
pub mod steps;
pub mod store;
pub mod surge;

use crate::config::Settings;
use mpaka_protocol::{FieldCode, FieldError, FlowLine};

/// Reasons of `lines` that are not on the hub's list.
pub fn check_reasons(settings: &Settings, lines: &[FlowLine]) -> Vec<FieldError> {
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let reason = line.reason.as_ref()?;
            (!settings.flows.reasons.contains(reason)).then(|| {
                FieldError::new(
                    format!("lines.{i}.reason"),
                    FieldCode::UnknownValue,
                    format!(
                        "unknown reason (expected one of {})",
                        settings.flows.reasons.join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// Parses an RFC 3339 time, or a date (midnight UTC), to Unix ms.
pub fn parse_time(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok();
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// Checks a report's period: both times readable, the end after the start,
/// at most a day long, not ending in the future.
///
/// # Errors
/// The problems, naming `period_start` and `period_end`.
pub fn period(start: &str, end: &str, now: i64) -> Result<(i64, i64), Vec<FieldError>> {
    let field = |f: &str, code: FieldCode, m: &str| FieldError::new(f, code, m);
    let s = parse_time(start);
    let e = parse_time(end);
    let mut problems = Vec::new();
    if s.is_none() {
        problems.push(field(
            "period_start",
            FieldCode::NotADate,
            "must be an RFC 3339 time such as 2026-11-30T08:00:00Z",
        ));
    }
    if e.is_none() {
        problems.push(field(
            "period_end",
            FieldCode::NotADate,
            "must be an RFC 3339 time such as 2026-11-30T09:00:00Z",
        ));
    }
    let (Some(s), Some(e)) = (s, e) else {
        return Err(problems);
    };
    if e <= s {
        problems.push(
            field(
                "period_end",
                FieldCode::Mismatch,
                "must be after period_start",
            )
            .with("other", "period_start"),
        );
    } else if e - s > steps::MAX_PERIOD_MS {
        problems.push(field(
            "period_end",
            FieldCode::Invalid,
            "a report covers at most 24 hours",
        ));
    }
    if e > now + steps::FUTURE_SLACK_MS {
        problems.push(field(
            "period_end",
            FieldCode::InFuture,
            "must not be in the future",
        ));
    }
    if problems.is_empty() {
        Ok((s, e))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_real_bounded_and_past() {
        let now = parse_time("2026-12-01T12:00:00Z").unwrap();
        assert!(period("2026-11-30T08:00:00Z", "2026-11-30T09:00:00+00:00", now).is_ok());
        assert_eq!(
            period("2026-11-30", "2026-12-01", now).unwrap().1
                - period("2026-11-30", "2026-12-01", now).unwrap().0,
            store::DAY_MS
        );
        let fields = |r: Result<(i64, i64), Vec<FieldError>>| {
            r.unwrap_err()
                .into_iter()
                .map(|p| p.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(period("yesterday", "2026-11-30T09:00:00Z", now)),
            ["period_start"]
        );
        assert_eq!(
            fields(period("2026-11-30T09:00:00Z", "2026-11-30T08:00:00Z", now)),
            ["period_end"]
        );
        assert_eq!(
            fields(period("2026-11-28T09:00:00Z", "2026-11-30T08:00:00Z", now)),
            ["period_end"]
        );
        assert_eq!(
            fields(period("2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z", now)),
            ["period_end"]
        );
    }
}
