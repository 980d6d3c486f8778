//! Publishing a message: checks (rate, channel access, body), then the
//! committer stores it in a group commit. The reply waits for the commit.

use crate::access::{self, Principal};
use crate::error::{AppError, AppResult};
use crate::hub::Published;
use crate::state::AppState;
use mpaka_protocol::{ChannelId, EventData, FieldCode, FieldError, MessageBody};
use std::future::Future;
use std::sync::Arc;

/// Longest message text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 8000;

/// Checks a publish now and hands it to the committer; the returned future
/// resolves once the message is durable (or was already, for a repeated
/// `key`). The checks run before anything is queued, so a refused publish
/// costs no commit.
///
/// # Errors
/// `rate_limited`, `unknown_channel`, `forbidden`, `validation_failed` at
/// once; `idempotency_conflict` or storage failures from the future.
pub fn publish(
    state: &AppState,
    who: Arc<Principal>,
    key: String,
    channel: ChannelId,
    text: String,
    lang: Option<String>,
    written_at: Option<String>,
) -> AppResult<impl Future<Output = AppResult<Published>> + Send + 'static> {
    state.write_limiter.check(who.user_id)?;
    access::check_writable(&who, &channel, &state.hub.directory())?;
    let mut data = message_body(text, lang)?;
    if let EventData::Message(body) = &mut data {
        body.written_at =
            crate::written::check("written_at", written_at.as_deref(), crate::store::now_ms())?;
    }
    let committer = state.committer.clone();
    Ok(async move { committer.publish(who, key, channel, data).await })
}

/// Validates a message body.
///
/// # Errors
/// `validation_failed` naming `text` or `lang`.
pub fn message_body(text: String, lang: Option<String>) -> AppResult<EventData> {
    let chars = text.chars().count();
    if text.trim().is_empty() {
        return Err(AppError::coded(
            "text",
            FieldCode::Required,
            "must not be empty",
        ));
    }
    if chars > MAX_TEXT_CHARS {
        return Err(AppError::invalid(vec![FieldError::new(
            "text",
            FieldCode::TooLong,
            format!("is {chars} characters long; at most {MAX_TEXT_CHARS} are allowed"),
        )
        .with("max", MAX_TEXT_CHARS)
        .with("unit", "characters")]));
    }
    if let Some(lang) = &lang {
        let valid = (2..=35).contains(&lang.len())
            && lang
                .split('-')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
        if !valid {
            return Err(AppError::coded(
                "lang",
                FieldCode::NotALanguage,
                "must be a language tag such as fr, en, sw or rn",
            ));
        }
    }
    Ok(EventData::Message(MessageBody {
        text,
        lang,
        written_at: None,
    }))
}
