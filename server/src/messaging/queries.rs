//! Reads of the messaging feature, filtered by access: a channel's history,
//! the channels a user may use, presence at the posts a user may see.

use crate::access::{self, Principal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use mpaka_protocol::FieldCode;
use mpaka_protocol::{ChannelGrant, ChannelId, Event, PostStatus, PresenceUser};

/// Events per history page when the client does not say.
const DEFAULT_HISTORY_LIMIT: u32 = 50;
/// Largest history page.
const MAX_HISTORY_LIMIT: u32 = 500;

/// The channels `who` may read, with write permission and title.
pub fn channels(state: &AppState, who: &Principal) -> Vec<ChannelGrant> {
    access::readable_channels(who, &state.hub.directory())
}

/// A page of `channel`'s stored events before `before`, newest first, as
/// `who` may see them.
///
/// # Errors
/// `unknown_channel`, `forbidden`, `validation_failed` for `limit`, storage failures.
pub async fn history(
    state: &AppState,
    who: &Principal,
    channel: &ChannelId,
    before: Option<u64>,
    limit: Option<u32>,
) -> AppResult<Vec<Event>> {
    let directory = state.hub.directory();
    access::check_readable(who, channel, &directory)?;
    let limit = limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
    if !(1..=MAX_HISTORY_LIMIT).contains(&limit) {
        return Err(AppError::coded_with(
            "limit",
            FieldCode::OutOfRange,
            format!("must be between 1 and {MAX_HISTORY_LIMIT}"),
            &[("min", 1.into()), ("max", MAX_HISTORY_LIMIT.into())],
        ));
    }
    let redact = who.sees_redacted();
    Ok(state
        .store
        .history(channel, before, limit)
        .await?
        .iter()
        .filter(|e| access::may_receive(who, &e.channel, e.audience.as_ref(), &directory))
        .map(|e| e.to_wire(redact))
        .collect())
}

/// Online users and last-seen times of every post `who` may read.
///
/// # Errors
/// Storage failures.
pub async fn post_statuses(state: &AppState, who: &Principal) -> AppResult<Vec<PostStatus>> {
    let directory = state.store.directory().await?;
    let online = state.store.presence(crate::hub::PRESENCE_FRESH_MS).await?;
    Ok(directory
        .posts
        .values()
        .filter(|post| {
            access::channel_access(who, &ChannelId::Post(post.slug.clone()), &directory).read
        })
        .map(|post| {
            let users: Vec<PresenceUser> = online
                .iter()
                .filter(|row| row.post.as_deref() == Some(post.slug.as_str()))
                .map(|row| PresenceUser {
                    username: row.username.clone(),
                    display_name: row.display_name.clone(),
                    sessions: u32::try_from(row.sessions).unwrap_or(u32::MAX),
                })
                .collect();
            PostStatus {
                post: post.slug.clone(),
                name: post.name.clone(),
                country: post.country,
                online: !users.is_empty(),
                users,
                last_seen: post.last_seen_at.map(crate::store::format_ms),
            }
        })
        .collect())
}
