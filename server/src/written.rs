//! The time an action was written, when a client composed it offline and
//! sends it later (`written_at` on messages, raised alerts and
//! acknowledgements). The hub keeps it in the event body beside its own
//! time, after checking it: an RFC 3339 time, not ahead of the hub's clock
//! by more than [`MAX_SKEW_MS`].

use crate::error::AppError;
use crate::store::format_ms;
use mpaka_protocol::{FieldCode, FieldError};

/// How far ahead of the hub's clock a client's clock may be: phones and
/// post laptops keep time loosely, but an action cannot be written later
/// than it is received.
pub const MAX_SKEW_MS: i64 = 120_000;

/// The checked `written_at`, normalized to UTC with milliseconds and never
/// later than `now_ms` (a clock a little ahead reads as "now").
///
/// # Errors
/// `validation_failed` naming `field`: `not_a_date` when it is not RFC
/// 3339, `in_future` (with `max_skew_s`) when it is too far ahead.
pub fn check(field: &str, raw: Option<&str>, now_ms: i64) -> Result<Option<String>, AppError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    use time::format_description::well_known::Rfc3339;
    let Ok(at) = time::OffsetDateTime::parse(raw, &Rfc3339) else {
        return Err(AppError::invalid(vec![FieldError::new(
            field,
            FieldCode::NotADate,
            "must be an RFC 3339 time such as 2026-11-30T10:05:00+02:00",
        )
        .with("format", "RFC 3339")]));
    };
    let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    if ms > now_ms.saturating_add(MAX_SKEW_MS) {
        return Err(AppError::invalid(vec![FieldError::new(
            field,
            FieldCode::InFuture,
            format!(
                "is ahead of the hub's clock by more than {} s",
                MAX_SKEW_MS / 1000
            ),
        )
        .with("max_skew_s", MAX_SKEW_MS / 1000)]));
    }
    Ok(Some(format_ms(ms.min(now_ms))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_583_200_000; // 2025-12-01T10:00:00Z

    fn code(e: AppError) -> (String, FieldCode) {
        match e {
            AppError::Client(body) => (body.fields[0].field.clone(), body.fields[0].code),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_past_time_is_kept_in_utc_and_a_slightly_fast_clock_reads_as_now() {
        assert_eq!(check("written_at", None, NOW).unwrap(), None);
        assert_eq!(
            check("written_at", Some("2025-12-01T11:05:00+02:00"), NOW).unwrap(),
            Some("2025-12-01T09:05:00.000Z".into())
        );
        assert_eq!(
            check("written_at", Some("2025-12-01T10:01:00Z"), NOW).unwrap(),
            Some("2025-12-01T10:00:00.000Z".into())
        );
    }

    #[test]
    fn a_time_too_far_ahead_or_unreadable_is_refused_with_its_code() {
        let ahead = check("written_at", Some("2025-12-01T10:02:01Z"), NOW).unwrap_err();
        assert_eq!(code(ahead), ("written_at".into(), FieldCode::InFuture));
        let bad = check("written_at", Some("yesterday"), NOW).unwrap_err();
        assert_eq!(code(bad), ("written_at".into(), FieldCode::NotADate));
    }
}
