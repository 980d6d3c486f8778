//! The write steps of the SOP library: save a draft, publish it, retire an
//! SOP, acknowledge a version, remind the readers who have not.
//!
//! Each step is one [`crate::store::WriteTx`]: it checks the caller and the
//! SOP's state inside the transaction (writers are serialised, so the state
//! it checks is the state it changes), writes its rows, appends its events,
//! adds an audit entry and remembers its reply under the request's
//! idempotency key; then the commit hands the events to the hub.

use super::policy::{self, channel_of, in_audience, may_read};
use super::queries::{self, no_such_sop, no_such_version, sop_view};
use super::store::{self as sql, SopRow};
use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::once::{Once, Opened};
use crate::state::AppState;
use crate::store::{format_ms, now_ms, AuditEntry, NewEvent, WriteTx};
use mpaka_protocol::{
    ChannelId, ErrorCode, EventData, FieldCode, FieldError, Lang, SopAck, SopAckReceipt,
    SopDraftInput, SopDraftSaved, SopReceipt, SopRemindReceipt, SopReminder, SopRetired, SopState,
    SopVersion, MAX_SUMMARY_CHARS,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// Whether a draft request may create the SOP, edit it, or either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftMode {
    /// `POST /api/v1/sops`: the slug must be new.
    Create,
    /// `PUT /api/v1/sops/{slug}/draft`: the SOP must exist.
    Edit,
    /// `sop.draft` on the socket: whichever applies.
    Upsert,
}

fn invalid_state(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidState, message)
}

/// Fields of the draft that name posts or corridors the hub does not know.
fn unknown_places(state: &AppState, input: &SopDraftInput) -> Vec<FieldError> {
    let directory = state.hub.directory();
    let posts = input
        .audience
        .posts
        .iter()
        .enumerate()
        .filter(|(_, p)| directory.post(p).is_none())
        .map(|(i, p)| {
            FieldError::new(
                format!("audience.posts[{i}]"),
                FieldCode::UnknownValue,
                format!("no post {p}"),
            )
        });
    let corridors = input
        .audience
        .corridors
        .iter()
        .enumerate()
        .filter(|(_, c)| directory.corridor(c).is_none())
        .map(|(i, c)| {
            FieldError::new(
                format!("audience.corridors[{i}]"),
                FieldCode::UnknownValue,
                format!("no corridor {c}"),
            )
        });
    posts.chain(corridors).collect()
}

fn by_lang(map: &BTreeMap<String, String>) -> AppResult<BTreeMap<Lang, String>> {
    map.iter()
        .map(|(code, text)| {
            code.parse::<Lang>()
                .map(|lang| (lang, text.clone()))
                .map_err(|e| {
                    AppError::coded(
                        &format!("bodies.{code}"),
                        FieldCode::NotALanguage,
                        e.to_string(),
                    )
                })
        })
        .collect()
}

/// An SOP the caller may change, inside the write transaction.
async fn owned_sop(tx: &mut WriteTx, who: &Principal, slug: &str) -> AppResult<SopRow> {
    let row = sql::sop(tx.conn(), slug)
        .await?
        .ok_or_else(|| no_such_sop(slug))?;
    policy::require_owner_coordinator(who, row.owner)?;
    Ok(row)
}

/// Creates an SOP or writes its pending draft.
///
/// # Errors
/// `forbidden` unless a coordinator of the owner; `validation_failed`;
/// `already_exists` (create) or `not_found` (edit); storage failures.
pub async fn save_draft(
    state: &AppState,
    who: &Principal,
    key: Option<&str>,
    input: SopDraftInput,
    mode: DraftMode,
) -> AppResult<SopDraftSaved> {
    policy::require_coordinator(who)?;
    let mut problems = input.validate();
    problems.extend(unknown_places(state, &input));
    if !problems.is_empty() {
        return Err(AppError::invalid(problems));
    }
    let titles = by_lang(&input.titles)?;
    let bodies = by_lang(&input.bodies)?;
    let once = Once::new(who, key, "sop.draft", &(mode, &input));
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let now = now_ms();
    let slug = input.slug.as_str();
    let existing = sql::sop(tx.conn(), slug).await?;
    let (number, created, sop_state, current) = match (existing, mode) {
        (Some(_), DraftMode::Create) => {
            return Err(AppError::new(
                ErrorCode::AlreadyExists,
                format!("an SOP {slug} already exists; edit its draft instead"),
            ))
        }
        (None, DraftMode::Edit) => return Err(no_such_sop(slug)),
        (None, _) => {
            policy::require_owner_coordinator(who, input.owner)?;
            sql::insert_sop(tx.conn(), slug, input.owner, &who.author(), now).await?;
            (1, true, SopState::Draft, None)
        }
        (Some(row), _) => {
            policy::require_owner_coordinator(who, row.owner)?;
            if row.owner != input.owner {
                return Err(AppError::coded(
                    "owner",
                    FieldCode::NotAllowed,
                    format!(
                        "SOP {slug} belongs to {}; its owner cannot change",
                        sql::owner_str(row.owner)
                    ),
                ));
            }
            let number = match row.latest_draft {
                Some(n) => n,
                None => sql::max_version(tx.conn(), slug).await? + 1,
            };
            (number, false, row.state, row.current_version)
        }
    };
    let draft = SopVersion {
        slug: slug.to_owned(),
        version: number,
        owner: input.owner,
        titles,
        bodies,
        change_summary: input.change_summary.clone(),
        effective_date: input.effective_date.clone(),
        audience: input.audience.clone(),
        author: who.author(),
        published_at: None,
        state: SopState::Draft,
    };
    sql::save_draft(tx.conn(), &draft, who.user_id, now).await?;
    sql::update_sop(tx.conn(), slug, sop_state, current, Some(number), now).await?;
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        "sop.draft_saved",
        format!("sop:{slug}@{number}"),
        serde_json::json!({
            "owner": input.owner,
            "created": created,
            "languages": draft.bodies.keys().collect::<Vec<_>>(),
        }),
    ))
    .await?;
    let row = sql::sop(tx.conn(), slug)
        .await?
        .ok_or_else(|| no_such_sop(slug))?;
    let sop = sop_view(tx.conn(), who, &row).await?;
    let reply = SopDraftSaved {
        sop,
        version: number,
        duplicate: false,
    };
    once.close(tx, reply).await
}

/// Makes the pending draft the version in force and announces it to its
/// audience on the SOP's channel.
///
/// # Errors
/// `forbidden`, `not_found`, `invalid_state` (no draft, or not the one
/// expected), storage failures.
pub async fn publish(
    state: &AppState,
    who: &Principal,
    key: Option<&str>,
    slug: &str,
    expected: Option<u32>,
) -> AppResult<SopReceipt> {
    policy::require_coordinator(who)?;
    let once = Once::new(who, key, "sop.publish", &(slug, expected));
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let row = owned_sop(&mut tx, who, slug).await?;
    let number = row
        .latest_draft
        .ok_or_else(|| invalid_state(format!("SOP {slug} has no draft to publish")))?;
    if let Some(expected) = expected.filter(|e| *e != number) {
        return Err(invalid_state(format!(
            "the pending draft of {slug} is version {number}, not {expected}"
        )));
    }
    let now = now_ms();
    if let (Some(current), SopState::Published) = (row.current_version, row.state) {
        sql::set_version_state(tx.conn(), slug, current, SopState::Superseded, None).await?;
    }
    sql::set_version_state(tx.conn(), slug, number, SopState::Published, Some(now)).await?;
    sql::update_sop(
        tx.conn(),
        slug,
        SopState::Published,
        Some(number),
        None,
        now,
    )
    .await?;
    let version = sql::version(tx.conn(), slug, number)
        .await?
        .ok_or_else(|| no_such_version(slug, number))?
        .version;
    let event = tx
        .append(NewEvent {
            audience: Some(version.audience.clone()),
            ..who.writes(
                channel_of(row.owner),
                EventData::SopPublished(Box::new(version.clone())),
            )
        })
        .await?;
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        "sop.published",
        format!("sop:{slug}@{number}"),
        serde_json::json!({
            "seq": event.seq,
            "superseded": row.current_version.filter(|_| row.state == SopState::Published),
            "audience": version.audience,
        }),
    ))
    .await?;
    let reply = SopReceipt {
        slug: slug.to_owned(),
        version: number,
        seq: event.seq,
        at: format_ms(event.at_ms),
        duplicate: false,
    };
    once.close(tx, reply).await
}

fn check_text(field: &str, text: &str, required: bool) -> AppResult<()> {
    let chars = text.chars().count();
    if required && text.trim().is_empty() {
        return Err(AppError::coded(
            field,
            FieldCode::Required,
            "must not be empty",
        ));
    }
    if chars > MAX_SUMMARY_CHARS {
        return Err(AppError::invalid(vec![FieldError::new(
            field,
            FieldCode::TooLong,
            format!("is {chars} characters long; at most {MAX_SUMMARY_CHARS} are allowed"),
        )
        .with("max", MAX_SUMMARY_CHARS)
        .with("unit", "characters")]));
    }
    if text.contains('\0') {
        return Err(AppError::coded(
            field,
            FieldCode::ControlCharacters,
            "must not contain NUL characters",
        ));
    }
    Ok(())
}

/// Withdraws an SOP in force and tells the audience of its last version.
///
/// # Errors
/// `forbidden`, `not_found`, `validation_failed` (reason), `invalid_state`
/// when it is not in force, storage failures.
pub async fn retire(
    state: &AppState,
    who: &Principal,
    key: Option<&str>,
    slug: &str,
    reason: &str,
) -> AppResult<SopReceipt> {
    policy::require_coordinator(who)?;
    check_text("reason", reason, true)?;
    let once = Once::new(who, key, "sop.retire", &(slug, reason));
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let row = owned_sop(&mut tx, who, slug).await?;
    let current = match (row.state, row.current_version) {
        (SopState::Published, Some(current)) => current,
        _ => return Err(invalid_state(format!("SOP {slug} is not in force"))),
    };
    let now = now_ms();
    sql::set_version_state(tx.conn(), slug, current, SopState::Retired, None).await?;
    sql::update_sop(
        tx.conn(),
        slug,
        SopState::Retired,
        Some(current),
        row.latest_draft,
        now,
    )
    .await?;
    sql::mark_retired(tx.conn(), slug, reason, now).await?;
    let audience = sql::version(tx.conn(), slug, current)
        .await?
        .map(|v| v.version.audience)
        .unwrap_or_default();
    let event = tx
        .append(NewEvent {
            audience: Some(audience.clone()),
            ..who.writes(
                channel_of(row.owner),
                EventData::SopRetired(SopRetired {
                    slug: slug.to_owned(),
                    reason: reason.to_owned(),
                }),
            )
        })
        .await?;
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        "sop.retired",
        format!("sop:{slug}@{current}"),
        serde_json::json!({ "seq": event.seq, "reason": reason }),
    ))
    .await?;
    let reply = SopReceipt {
        slug: slug.to_owned(),
        version: current,
        seq: event.seq,
        at: format_ms(event.at_ms),
        duplicate: false,
    };
    once.close(tx, reply).await
}

/// Records that `who` read and understood this exact version, which must
/// be the one in force and address them.
///
/// # Errors
/// `not_found` (also for what `who` may not see), `invalid_state` for a
/// draft or a version no longer in force, `forbidden` outside the audience,
/// storage failures.
pub async fn acknowledge(
    state: &AppState,
    who: &Principal,
    key: Option<&str>,
    slug: &str,
    number: u32,
) -> AppResult<SopAckReceipt> {
    policy::require_reader(who)?;
    let directory = state.hub.directory();
    let once = Once::new(who, key, "sop.ack", &(slug, number));
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let row = sql::sop(tx.conn(), slug)
        .await?
        .filter(|row| queries::sop_visible(who, row, &directory))
        .ok_or_else(|| no_such_sop(slug))?;
    let version = sql::version(tx.conn(), slug, number)
        .await?
        .filter(|v| queries::version_visible(who, row.owner, v.version.state, &directory))
        .ok_or_else(|| no_such_version(slug, number))?
        .version;
    match version.state {
        SopState::Published => {}
        SopState::Draft => return Err(invalid_state("a draft cannot be acknowledged")),
        _ => {
            return Err(invalid_state(match row.current_version {
                Some(current) if row.state == SopState::Published => format!(
                    "version {number} is no longer in force; read and acknowledge version {current}"
                ),
                _ => format!("SOP {slug} is no longer in force"),
            }))
        }
    }
    if !may_read(who, row.owner, &directory)
        || !in_audience(who, row.owner, &version.audience, &directory)
    {
        return Err(AppError::forbidden(format!(
            "you are not in the audience of {slug} version {number}"
        )));
    }
    let (at, new) = sql::acknowledge(tx.conn(), slug, number, who.user_id, now_ms()).await?;
    let author = who.author();
    if new {
        tx.audit(AuditEntry::new(
            who.audit_actor(),
            "sop.acknowledged",
            format!("sop:{slug}@{number}"),
            serde_json::json!({}),
        ))
        .await?;
        // Coordinators of the owner follow coverage live.
        tx.append(NewEvent {
            channel: match row.owner.country() {
                Some(country) => ChannelId::Coordination(country),
                None => ChannelId::JointCoordination,
            },
            author_id: Some(who.user_id),
            author: Some(author.clone()),
            audience: None,
            data: EventData::SopAcknowledged(SopAck {
                slug: slug.to_owned(),
                version: number,
                by: author.clone(),
                at: format_ms(at),
            }),
        })
        .await?;
    }
    let reply = SopAckReceipt {
        ack: SopAck {
            slug: slug.to_owned(),
            version: number,
            by: if who.sees_redacted() {
                author.redacted()
            } else {
                author
            },
            at: format_ms(at),
        },
        duplicate: !new,
    };
    once.close(tx, reply).await
}

/// Sends a `sop.reminder` to the personal channel of every audience member
/// who has not acknowledged the version in force.
///
/// # Errors
/// `forbidden`, `not_found`, `invalid_state` when not in force or not the
/// version named, `validation_failed` (message), storage failures.
pub async fn remind(
    state: &AppState,
    who: &Principal,
    key: Option<&str>,
    slug: &str,
    expected: Option<u32>,
    message: &str,
) -> AppResult<SopRemindReceipt> {
    policy::require_coordinator(who)?;
    check_text("message", message, false)?;
    let once = Once::new(who, key, "sop.remind", &(slug, expected, message));
    let mut tx = match once.open(&state.store).await? {
        Opened::Fresh(tx) => tx,
        Opened::Repeat(reply) => return Ok(reply),
    };
    let row = owned_sop(&mut tx, who, slug).await?;
    let number = match (row.state, row.current_version) {
        (SopState::Published, Some(current)) => current,
        _ => return Err(invalid_state(format!("SOP {slug} is not in force"))),
    };
    if let Some(expected) = expected.filter(|e| *e != number) {
        return Err(invalid_state(format!(
            "version {expected} is not in force; version {number} is"
        )));
    }
    let version = sql::version(tx.conn(), slug, number)
        .await?
        .ok_or_else(|| no_such_version(slug, number))?
        .version;
    let acks = sql::acks(tx.conn(), slug, number).await?;
    let missing: Vec<_> = queries::members(state, row.owner, &version.audience, &acks)
        .await?
        .into_iter()
        .filter(|m| m.reader.acknowledged_at.is_none())
        .collect();
    let titles: Vec<Lang> = version.titles.keys().copied().collect();
    let mut at = now_ms();
    for member in &missing {
        let lang = queries::choose_lang(state, None, &member.language, &titles);
        let title = lang
            .and_then(|l| version.titles.get(&l).cloned())
            .unwrap_or_default();
        let event = tx
            .append(who.writes(
                ChannelId::User(member.reader.user_id),
                EventData::SopReminder(SopReminder {
                    slug: slug.to_owned(),
                    version: number,
                    title,
                    message: message.to_owned(),
                }),
            ))
            .await?;
        at = event.at_ms;
    }
    let recipients: Vec<_> = missing.into_iter().map(|m| m.reader).collect();
    tx.audit(AuditEntry::new(
        who.audit_actor(),
        "sop.reminded",
        format!("sop:{slug}@{number}"),
        serde_json::json!({
            "recipients": recipients.iter().map(|r| r.user_id).collect::<Vec<_>>(),
        }),
    ))
    .await?;
    let reply = SopRemindReceipt {
        slug: slug.to_owned(),
        version: number,
        recipients,
        at: format_ms(at),
        duplicate: false,
    };
    once.close(tx, reply).await
}
