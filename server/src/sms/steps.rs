//! A user's own SMS settings: registering a phone (verified by a code sent
//! to it by SMS), opting out, quiet hours and the reply PIN. Each change is
//! one `WriteTx` with its audit entry.

use super::compose::{self, Lang};
use super::store::{self as sql, NewSms, PhoneRow};
use super::{gsm, inbound, policy};
use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{now_ms, AuditEntry};
use mpaka_protocol::ErrorCode;
use mpaka_protocol::FieldCode;
use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Wrong verification codes accepted before a new code must be asked for.
pub const MAX_CODE_TRIES: i64 = 5;

/// A user's SMS settings as they see them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SmsProfile {
    pub phone: Option<String>,
    pub verified: bool,
    pub opted_out: bool,
    /// Whether this user's role may opt out at all.
    pub may_opt_out: bool,
    /// `HH:MM` UTC, both or neither.
    pub quiet_from: Option<String>,
    pub quiet_to: Option<String>,
    pub pin_set: bool,
    /// Whether acknowledgements by SMS need the PIN for this user's role.
    pub pin_required: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneRequest {
    /// E.164, e.g. `+25779000001` (spaces and a leading `00` are accepted).
    pub phone: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub code: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesRequest {
    pub opted_out: bool,
    /// `HH:MM` UTC; give both or neither.
    #[serde(default)]
    pub quiet_from: Option<String>,
    #[serde(default)]
    pub quiet_to: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    /// 4 to 8 digits; `null` removes it.
    pub pin: Option<String>,
}

fn hhmm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn parse_hhmm(field: &str, text: &str) -> AppResult<i64> {
    let bad = || {
        AppError::coded_with(
            field,
            FieldCode::NotADate,
            "must be HH:MM (UTC), e.g. 22:00",
            &[("format", "HH:MM".into())],
        )
    };
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let h: i64 = h.parse().map_err(|_| bad())?;
    let m: i64 = m.parse().map_err(|_| bad())?;
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn code_hash(user_id: i64, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("mpaka-sms-verify:{user_id}:{code}").as_bytes());
    hex::encode(h.finalize())
}

/// The caller's SMS settings.
///
/// # Errors
/// Storage failures.
pub async fn profile(state: &AppState, who: &Principal) -> AppResult<SmsProfile> {
    let row = {
        let mut conn = state.store.reader().await?;
        sql::phone_of(&mut conn, who.user_id).await?
    };
    Ok(profile_of(state, who, row.as_ref()))
}

fn profile_of(state: &AppState, who: &Principal, row: Option<&PhoneRow>) -> SmsProfile {
    let settings = &state.settings.sms;
    SmsProfile {
        phone: row.map(|r| r.phone.clone()),
        verified: row.is_some_and(|r| r.verified),
        opted_out: row.is_some_and(|r| r.opted_out),
        may_opt_out: policy::may_opt_out(settings, who.role),
        quiet_from: row.and_then(|r| r.quiet_from).map(hhmm),
        quiet_to: row.and_then(|r| r.quiet_to).map(hhmm),
        pin_set: row.is_some_and(|r| r.pin_hash.is_some()),
        pin_required: policy::needs_pin(settings, who.role),
    }
}

/// Registers the caller's phone (unverified) and sends it a code.
///
/// # Errors
/// `validation_failed` for a number that is not E.164; `unavailable` when
/// SMS are off; storage failures.
pub async fn register_phone(
    state: &AppState,
    who: &Principal,
    request: PhoneRequest,
) -> AppResult<SmsProfile> {
    ensure_enabled(state)?;
    let phone = policy::tidy_phone(&request.phone);
    if !policy::is_e164(&phone) {
        return Err(AppError::coded_with(
            "phone",
            FieldCode::BadFormat,
            "must be an international number such as +25779000001",
            &[("format", "+25779000001".into())],
        ));
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let now = now_ms();
    let ttl =
        i64::try_from(state.settings.sms.code_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let text = compose::verification(Lang::of(&who.language), &code);
    let measure = gsm::measure(&text);
    let mut tx = state.store.write().await?;
    sql::set_phone(
        tx.conn(),
        who.user_id,
        &phone,
        &code_hash(who.user_id, &code),
        now + ttl,
        now,
    )
    .await?;
    sql::enqueue(
        tx.conn(),
        &NewSms {
            dedup_key: &format!("verify:{}:{}", who.user_id, uuid::Uuid::new_v4().simple()),
            user_id: Some(who.user_id),
            phone: &phone,
            alert_id: None,
            purpose: "verification",
            body: &text,
            segments: i64::try_from(measure.segments).unwrap_or(i64::MAX),
            encoding: measure.encoding.as_str(),
        },
        now,
    )
    .await?;
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        "sms.phone.registered",
        format!("user:{}", who.user_id),
        json!({ "phone_ends": phone.chars().rev().take(3).collect::<String>() }),
    ))
    .await?;
    let row = sql::phone_of(tx.conn(), who.user_id).await?;
    tx.commit().await?;
    state.metrics.sms_event("queued");
    Ok(profile_of(state, who, row.as_ref()))
}

/// Checks the code sent to the caller's phone.
///
/// # Errors
/// `not_found` without a pending code; `validation_failed` for a wrong or
/// expired code; `too_many_attempts` after [`MAX_CODE_TRIES`] wrong codes.
pub async fn verify_phone(
    state: &AppState,
    who: &Principal,
    request: VerifyRequest,
) -> AppResult<SmsProfile> {
    let now = now_ms();
    let mut tx = state.store.write().await?;
    let row = sql::phone_of(tx.conn(), who.user_id).await?;
    let Some(row) = row.filter(|r| r.code_hash.is_some()) else {
        return Err(AppError::not_found(
            "no phone number is waiting for verification",
        ));
    };
    if row.code_tries >= MAX_CODE_TRIES {
        return Err(AppError::new(
            ErrorCode::TooManyAttempts,
            "too many wrong codes: register the number again for a new code",
        ));
    }
    if row.code_expires.is_some_and(|e| e < now) {
        return Err(AppError::coded(
            "code",
            FieldCode::Expired,
            "the code has expired: register the number again",
        ));
    }
    if row.code_hash.as_deref() != Some(code_hash(who.user_id, request.code.trim()).as_str()) {
        sql::count_try(tx.conn(), who.user_id).await?;
        tx.commit().await?;
        return Err(AppError::coded("code", FieldCode::WrongCode, "wrong code"));
    }
    sql::mark_verified(tx.conn(), who.user_id, now).await?;
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        "sms.phone.verified",
        format!("user:{}", who.user_id),
        json!({}),
    ))
    .await?;
    let row = sql::phone_of(tx.conn(), who.user_id).await?;
    tx.commit().await?;
    Ok(profile_of(state, who, row.as_ref()))
}

/// Sets opting out and quiet hours.
///
/// # Errors
/// `validation_failed` for bad times; `forbidden` when the role may not opt
/// out; `not_found` without a registered phone.
pub async fn set_preferences(
    state: &AppState,
    who: &Principal,
    request: PreferencesRequest,
) -> AppResult<SmsProfile> {
    if request.opted_out && !policy::may_opt_out(&state.settings.sms, who.role) {
        return Err(AppError::forbidden(format!(
            "the {} role may not opt out of alert SMS",
            who.role
        )));
    }
    let quiet = match (&request.quiet_from, &request.quiet_to) {
        (Some(from), Some(to)) => {
            Some((parse_hhmm("quiet_from", from)?, parse_hhmm("quiet_to", to)?))
        }
        (None, None) => None,
        _ => {
            return Err(AppError::coded_with(
                "quiet_to",
                FieldCode::Mismatch,
                "give both quiet_from and quiet_to, or neither",
                &[("other", "quiet_from".into())],
            ))
        }
    };
    let mut tx = state.store.write().await?;
    if !sql::set_preferences(tx.conn(), who.user_id, request.opted_out, quiet, now_ms()).await? {
        return Err(AppError::not_found("register a phone number first"));
    }
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        "sms.preferences",
        format!("user:{}", who.user_id),
        json!({ "opted_out": request.opted_out, "quiet": quiet }),
    ))
    .await?;
    let row = sql::phone_of(tx.conn(), who.user_id).await?;
    tx.commit().await?;
    Ok(profile_of(state, who, row.as_ref()))
}

/// Sets or removes the reply PIN.
///
/// # Errors
/// `validation_failed` unless 4 to 8 digits; `not_found` without a phone.
pub async fn set_pin(
    state: &AppState,
    who: &Principal,
    request: PinRequest,
) -> AppResult<SmsProfile> {
    if let Some(pin) = &request.pin {
        if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::coded_with(
                "pin",
                FieldCode::BadFormat,
                "must be 4 to 8 digits",
                &[("format", "0–9 (4–8)".into())],
            ));
        }
    }
    let hash = request
        .pin
        .as_deref()
        .map(|p| inbound::pin_hash(who.user_id, p));
    let mut tx = state.store.write().await?;
    if !sql::set_pin(tx.conn(), who.user_id, hash.as_deref(), now_ms()).await? {
        return Err(AppError::not_found("register a phone number first"));
    }
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        "sms.pin",
        format!("user:{}", who.user_id),
        json!({ "set": hash.is_some() }),
    ))
    .await?;
    let row = sql::phone_of(tx.conn(), who.user_id).await?;
    tx.commit().await?;
    Ok(profile_of(state, who, row.as_ref()))
}

fn ensure_enabled(state: &AppState) -> AppResult<()> {
    if state.settings.sms.enabled {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Unavailable,
            "SMS are not enabled on this hub (sms.enabled)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_are_read_as_hh_mm() {
        assert_eq!(parse_hhmm("q", "22:30").ok(), Some(22 * 60 + 30));
        assert_eq!(parse_hhmm("q", "00:00").ok(), Some(0));
        assert!(parse_hhmm("q", "24:00").is_err());
        assert!(parse_hhmm("q", "7").is_err());
        assert_eq!(hhmm(22 * 60 + 5), "22:05");
    }
}
