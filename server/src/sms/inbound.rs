//! Incoming SMS: recorded once per gateway message (a second delivery of
//! the same message changes nothing and gets no answer), read
//! ([`super::reply`]), applied as the registered owner of the sending
//! number through the alerts' own acknowledgement step (same rules as the
//! console: only the counterpart side may acknowledge), answered by SMS
//! through the outbox, and audited whether accepted or refused.

use super::compose::{self, Lang, Refusal};
use super::reply::{self, Command};
use super::store::{self as sql, NewSms};
use super::{gsm, planner, policy};
use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{now_ms, AuditEntry, User};
use mpaka_protocol::{ErrorCode, Role};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Wrong PINs from one user within [`PIN_LOCK_MS`] before every PIN
/// (even the right one) is refused until older ones age out.
pub const MAX_WRONG_PINS: i64 = 5;
/// The window in which wrong PINs are counted.
pub const PIN_LOCK_MS: i64 = 3_600_000;

/// An SMS as the gateway hands it over.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub sender: String,
    pub text: String,
    /// The gateway's id of the message, when it gives one (Kannel's `%I`).
    pub gateway_id: Option<String>,
    /// The gateway's receive time, when given (Kannel's `%T`).
    pub sent_at: Option<String>,
}

/// What became of an incoming SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied; the answer is queued.
    Accepted(&'static str),
    /// Not applied; the answer saying why is queued.
    Refused(Refusal),
    /// The gateway delivered this message before: nothing done.
    Duplicate,
}

/// The key that makes a gateway's second delivery of one SMS a repeat.
fn dedup_key(sms: &Incoming) -> String {
    match &sms.gateway_id {
        Some(id) if !id.is_empty() => format!("gw:{id}"),
        _ => {
            let mut h = Sha256::new();
            for part in [&sms.sender, sms.sent_at.as_deref().unwrap_or(""), &sms.text] {
                h.update(part.as_bytes());
                h.update([0]);
            }
            format!("h:{}", hex::encode(h.finalize()))
        }
    }
}

/// The language to answer an unknown number in, by its country code.
fn lang_of_number(phone: &str) -> Lang {
    if phone.starts_with("+257") {
        Lang::Fr
    } else if phone.starts_with("+255") || phone.starts_with("+254") || phone.starts_with("+256") {
        Lang::Sw
    } else {
        Lang::En
    }
}

/// Handles one incoming SMS.
///
/// # Errors
/// Storage failures (the gateway then retries the call, and the recorded
/// message is handled again: the acknowledgement step is idempotent).
pub async fn receive(state: &AppState, sms: Incoming) -> AppResult<Outcome> {
    let sender = policy::tidy_phone(&sms.sender);
    let text: String = sms.text.chars().take(500).collect();
    let key = dedup_key(&sms);
    let now = now_ms();
    let (id, repeat) = {
        let mut tx = state.store.write().await?;
        let recorded = sql::insert_inbound(tx.conn(), &key, &sender, &text, now).await?;
        tx.commit().await?;
        recorded
    };
    if repeat.is_some_and(|outcome| outcome != "pending") {
        state.metrics.sms_reply("duplicate");
        tracing::info!(inbound = id, "SMS delivered twice by the gateway; ignored");
        return Ok(Outcome::Duplicate);
    }
    let owner = {
        let mut conn = state.store.reader().await?;
        sql::owner_of(&mut conn, &sender).await?
    };
    let user = match owner {
        Some(phone) => state
            .store
            .user_by_id(phone.user_id)
            .await?
            .filter(|u| !u.disabled)
            .map(|u| (u, phone)),
        None => None,
    };
    let Some((user, phone)) = user else {
        let lang = lang_of_number(&sender);
        let answer = compose::refused(lang, Refusal::UnknownNumber, None);
        finish(
            state,
            id,
            &sender,
            None,
            None,
            &text,
            Err(Refusal::UnknownNumber),
            &answer,
        )
        .await?;
        return Ok(Outcome::Refused(Refusal::UnknownNumber));
    };
    let lang = Lang::of(&user.language);
    let (result, alert_id, code) = match reply::parse(&text) {
        Command::Unknown => (Err(Refusal::NotUnderstood), None, None),
        Command::Status => (Ok("status"), None, None),
        Command::Ack { code, pin } => {
            let (result, alert_id) = acknowledge(state, id, &user, &phone, &code, pin).await?;
            (result, alert_id, Some(code))
        }
    };
    let answer = match result {
        Ok("status") => status(state, &user, lang).await?,
        Ok(_) => compose::acknowledged(lang, code.as_deref().unwrap_or("?")),
        Err(why) => compose::refused(lang, why, code.as_deref()),
    };
    finish(
        state,
        id,
        &sender,
        Some(&user),
        alert_id.as_deref(),
        &text,
        result,
        &answer,
    )
    .await?;
    Ok(match result {
        Ok(what) => Outcome::Accepted(what),
        Err(why) => Outcome::Refused(why),
    })
}

/// Acknowledges the alert of `code` as `user`, through the alerts' step.
async fn acknowledge(
    state: &AppState,
    inbound_id: i64,
    user: &User,
    phone: &sql::PhoneRow,
    code: &str,
    pin: Option<String>,
) -> AppResult<(Result<&'static str, Refusal>, Option<String>)> {
    let alert_id = {
        let mut conn = state.store.reader().await?;
        sql::alert_of_code(&mut conn, code).await?
    };
    let Some(alert_id) = alert_id else {
        return Ok((Err(Refusal::NoSuchCode), None));
    };
    if policy::needs_pin(&state.settings.sms, user.role) {
        let wrong = {
            let mut conn = state.store.reader().await?;
            let since = now_ms() - PIN_LOCK_MS;
            sql::refusals_since(&mut conn, user.id, "refused:wrong_pin", since).await?
        };
        if wrong >= MAX_WRONG_PINS {
            return Ok((Err(Refusal::PinLocked), Some(alert_id)));
        }
        match (pin, &phone.pin_hash) {
            (None, _) => return Ok((Err(Refusal::PinNeeded), Some(alert_id))),
            (Some(pin), Some(hash)) if pin_hash(user.id, &pin) == *hash => {}
            _ => return Ok((Err(Refusal::WrongPin), Some(alert_id))),
        }
    }
    let principal = Principal::new(user, &state.hub.directory());
    // The inbound row's id is the idempotency key: a message handled again
    // after a crash acknowledges once.
    let key = format!("sms:{inbound_id}");
    let result = crate::alerts::steps::acknowledge(state, &principal, &key, &alert_id, None).await;
    let outcome = match result {
        Ok(_) => Ok("acknowledged"),
        Err(AppError::Client(body)) => Err(match body.code {
            ErrorCode::Forbidden | ErrorCode::NotFound => Refusal::NotYours,
            ErrorCode::InvalidState if body.message.contains("already acknowledged") => {
                Refusal::AlreadyDone
            }
            ErrorCode::InvalidState => Refusal::Closed,
            _ => return Err(AppError::Client(body)),
        }),
        Err(other) => return Err(other),
    };
    Ok((outcome, Some(alert_id)))
}

/// The hash a PIN is kept as (salted with the user id; a short PIN is
/// guessable offline whatever the hash, so it is the rate of tries that
/// protects it: docs/security.md).
pub fn pin_hash(user_id: i64, pin: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("mpaka-sms-pin:{user_id}:{pin}").as_bytes());
    hex::encode(h.finalize())
}

/// The STATUS answer: open alerts of the user's corridor (an officer) or
/// of every corridor (others who may see them).
async fn status(state: &AppState, user: &User, lang: Lang) -> AppResult<String> {
    let directory = state.hub.directory();
    let principal = Principal::new(user, &directory);
    let corridors: Vec<String> = match (user.role, &principal.corridor) {
        (Role::Officer, Some(corridor)) => vec![corridor.clone()],
        (Role::Coordinator, _) => directory.corridors.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let open = {
        let mut conn = state.store.reader().await?;
        crate::alerts::store::open_in(&mut conn, &corridors).await?
    };
    let mut lines = Vec::new();
    for alert in open.into_iter().take(5) {
        let code = planner::code_for(&state.store, &alert.id).await?;
        let post = directory
            .post(&alert.post)
            .map_or_else(|| alert.post.clone(), |p| p.name.clone());
        lines.push((code, alert, post));
    }
    Ok(compose::status(lang, &lines))
}

/// Records the outcome, queues the answer and audits, in one transaction.
#[allow(clippy::too_many_arguments)]
async fn finish(
    state: &AppState,
    inbound_id: i64,
    sender: &str,
    user: Option<&User>,
    alert_id: Option<&str>,
    text: &str,
    result: Result<&'static str, Refusal>,
    answer: &str,
) -> AppResult<()> {
    let outcome = match result {
        Ok(what) => format!("accepted:{what}"),
        Err(why) => format!("refused:{}", why.code()),
    };
    let measure = gsm::measure(answer);
    let now = now_ms();
    let mut tx = state.store.write().await?;
    sql::finish_inbound(
        tx.conn(),
        inbound_id,
        user.map(|u| u.id),
        alert_id,
        &outcome,
    )
    .await?;
    sql::enqueue(
        tx.conn(),
        &NewSms {
            dedup_key: &format!("reply:{inbound_id}"),
            user_id: user.map(|u| u.id),
            phone: sender,
            alert_id,
            purpose: "reply",
            body: answer,
            segments: i64::try_from(measure.segments).unwrap_or(i64::MAX),
            encoding: measure.encoding.as_str(),
        },
        now,
    )
    .await?;
    let actor = crate::store::AuditActor {
        user: user.map(|u| (u.id, u.username.as_str())),
        client: None,
    };
    // The number is personal data: only its last digits go to the audit.
    let tail: Vec<char> = sender.chars().rev().take(3).collect();
    let masked: String = std::iter::once('…').chain(tail.into_iter().rev()).collect();
    tx.audit(AuditEntry::new(
        actor,
        if result.is_ok() {
            "sms.reply.accepted"
        } else {
            "sms.reply.refused"
        },
        format!("sms:{inbound_id}"),
        json!({ "outcome": outcome, "from": masked, "alert": alert_id,
                "text": text.chars().take(40).collect::<String>() }),
    ))
    .await?;
    tx.commit().await?;
    state.metrics.sms_reply(if result.is_ok() {
        "accepted"
    } else {
        "refused"
    });
    tracing::info!(inbound = inbound_id, %outcome, "SMS reply handled");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_id_is_the_key_else_sender_time_and_text() {
        let mut sms = Incoming {
            sender: "+25779000001".into(),
            text: "ACK 4F7".into(),
            gateway_id: Some("abc".into()),
            sent_at: Some("1796146090".into()),
        };
        assert_eq!(dedup_key(&sms), "gw:abc");
        sms.gateway_id = None;
        let first = dedup_key(&sms);
        assert_eq!(first, dedup_key(&sms));
        sms.sent_at = Some("1796146091".into());
        assert_ne!(first, dedup_key(&sms));
    }

    #[test]
    fn unknown_numbers_are_answered_in_their_country_language() {
        assert_eq!(lang_of_number("+25779000001"), Lang::Fr);
        assert_eq!(lang_of_number("+255700000001"), Lang::Sw);
        assert_eq!(lang_of_number("+33600000000"), Lang::En);
    }
}
