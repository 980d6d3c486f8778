//! Requests of an authenticated session: parse, check, answer.

use super::session::Session;
use crate::access::{self, Principal};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::store::Directory;
use mpaka_protocol::{
    ChannelId, ClientFrame, ErrorBody, ErrorCode, EventData, MessageBody, PostStatus, PresenceUser,
    ServerFrame,
};

/// Longest request id accepted.
const MAX_ID_CHARS: usize = 128;
/// Longest message text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 8000;
/// Events replayed per store query during a resume.
const REPLAY_PAGE: u32 = 500;

/// A serde error rewritten so that no value from the frame (which might be a
/// token) is echoed back.
pub fn describe_parse_error(error: &serde_json::Error) -> String {
    format!(
        "malformed frame: {}",
        crate::error::elide_quoted(&error.to_string())
    )
}

/// Fails unless `who` may read `channel`, which must exist.
pub fn check_readable(
    who: &Principal,
    channel: &ChannelId,
    directory: &Directory,
) -> AppResult<()> {
    if !access::channel_exists(channel, directory) {
        return Err(AppError::new(
            ErrorCode::UnknownChannel,
            format!("no channel {channel}"),
        ));
    }
    if !access::channel_access(who, channel, directory).read {
        return Err(AppError::forbidden(format!("you may not read {channel}")));
    }
    Ok(())
}

/// Fails unless `who` may write `channel`, which must exist.
pub fn check_writable(
    who: &Principal,
    channel: &ChannelId,
    directory: &Directory,
) -> AppResult<()> {
    check_readable(who, channel, directory)?;
    if !access::channel_access(who, channel, directory).write {
        return Err(AppError::forbidden(format!(
            "you may not write to {channel}"
        )));
    }
    Ok(())
}

/// Checks the per-user write rate.
pub fn check_rate(state: &AppState, user_id: i64) -> AppResult<()> {
    state
        .write_limiter
        .check_key(&user_id)
        .map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            AppError::rate_limited(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1))
        })
}

/// Validates a message body.
pub fn message_body(text: String, lang: Option<String>) -> AppResult<EventData> {
    let chars = text.chars().count();
    if text.trim().is_empty() {
        return Err(AppError::field("text", "must not be empty"));
    }
    if chars > MAX_TEXT_CHARS {
        return Err(AppError::field(
            "text",
            format!("is {chars} characters long; at most {MAX_TEXT_CHARS} are allowed"),
        ));
    }
    if let Some(lang) = &lang {
        let valid = (2..=35).contains(&lang.len())
            && lang
                .split('-')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
        if !valid {
            return Err(AppError::field(
                "lang",
                "must be a language tag such as fr, en, sw or rn",
            ));
        }
    }
    Ok(EventData::Message(MessageBody { text, lang }))
}

impl Session {
    /// Handles one text frame. `Err` only when the socket itself failed.
    pub(super) async fn on_text(&mut self, text: &str) -> Result<(), axum::Error> {
        let max = self.state.settings.ws.max_frame_bytes;
        if text.len() > max {
            let error = ErrorBody::new(
                ErrorCode::FrameTooLarge,
                format!("frame of {} bytes exceeds the limit of {max}", text.len()),
            );
            tracing::info!(bytes = text.len(), "frame too large");
            return self.send_error(None, error).await;
        }
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(error) => {
                // Correlate the error with the request when its id is readable.
                let value = serde_json::from_str::<serde_json::Value>(text).ok();
                let id = value
                    .as_ref()
                    .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned))
                    .filter(|id| id.len() <= MAX_ID_CHARS);
                tracing::info!("malformed frame");
                let body = value
                    .as_ref()
                    .and_then(crate::alerts::socket::explain_parse_failure)
                    .unwrap_or_else(|| {
                        ErrorBody::new(ErrorCode::BadFrame, describe_parse_error(&error))
                    });
                return self.send_error(id, body).await;
            }
        };
        let id = frame.id().to_owned();
        if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
            let body = ErrorBody::new(ErrorCode::BadFrame, "id must be 1 to 128 characters");
            return self.send_error(None, body).await;
        }
        let result = match frame {
            ClientFrame::Auth { .. } => Err(AppError::new(
                ErrorCode::InvalidState,
                "this connection is already authenticated",
            )),
            ClientFrame::Subscribe {
                id,
                channels,
                since,
            } => self.subscribe(id, channels, since).await,
            ClientFrame::Unsubscribe { id, channels } => self.unsubscribe(id, channels).await,
            ClientFrame::Publish {
                id,
                channel,
                text,
                lang,
            } => self.publish(id, channel, text, lang),
            ClientFrame::History {
                id,
                channel,
                before,
                limit,
            } => self.history(id, channel, before, limit).await,
            ClientFrame::Presence { id } => self.presence(id).await,
            ClientFrame::Ping { id } => Ok(Some(ServerFrame::Pong { id })),
            ClientFrame::Reauth { id, token } => self.reauth(id, token).await,
            alert if crate::alerts::socket::is_alert_request(&alert) => {
                self.alert_request(alert);
                Ok(None)
            }
            // SOP requests run beside the session loop, like publishes.
            sop @ (ClientFrame::SopList { .. }
            | ClientFrame::SopGet { .. }
            | ClientFrame::SopHistory { .. }
            | ClientFrame::SopDraft { .. }
            | ClientFrame::SopPublish { .. }
            | ClientFrame::SopRetire { .. }
            | ClientFrame::SopAck { .. }
            | ClientFrame::SopCoverage { .. }
            | ClientFrame::SopRemind { .. }
            | ClientFrame::SopDiff { .. }) => {
                let reply =
                    crate::sops::socket::handle(self.state.clone(), self.principal.clone(), sop);
                self.pending.push(Box::pin(reply));
                Ok(None)
            }
            _ => Err(AppError::new(ErrorCode::BadFrame, "unknown request")),
        };
        match result {
            Ok(Some(reply)) => self.send(&reply).await,
            Ok(None) => Ok(()),
            Err(error) => self.reply_error(&id, error).await,
        }
    }

    async fn subscribe(
        &mut self,
        id: String,
        channels: Vec<ChannelId>,
        since: Option<u64>,
    ) -> AppResult<Option<ServerFrame>> {
        if channels.is_empty() {
            return Err(AppError::field("channels", "name at least one channel"));
        }
        let directory = self.state.hub.directory();
        for channel in &channels {
            check_readable(&self.principal, channel, &directory)?;
        }
        // Channels already subscribed keep flowing live; replaying them
        // again would duplicate events the client has.
        let mut fresh: Vec<ChannelId> = channels
            .iter()
            .filter(|c| !self.subscribed.contains(*c))
            .cloned()
            .collect();
        fresh.sort();
        fresh.dedup();
        let subscription = self
            .state
            .hub
            .subscribe(self.id, fresh.clone(), since)
            .await
            .ok_or_else(|| AppError::new(ErrorCode::Unavailable, "the hub is shutting down"))?;
        self.subscribed.extend(fresh.iter().cloned());
        let through = subscription.through;
        match (since, subscription.replay) {
            (Some(_), Some(frames)) => self.send_replay(frames).await?,
            (Some(since), None) => self.replay(&fresh, since, through, &directory).await?,
            (None, _) => {}
        }
        Ok(Some(ServerFrame::Subscribed {
            id,
            channels,
            through_seq: through,
        }))
    }

    /// Sends a replay the hub had in memory, already encoded and filtered.
    async fn send_replay(&mut self, frames: Vec<axum::extract::ws::Utf8Bytes>) -> AppResult<()> {
        use futures_util::SinkExt;
        for frame in frames {
            self.sink
                .feed(axum::extract::ws::Message::Text(frame))
                .await
                .map_err(|e| anyhow::anyhow!("socket closed during replay: {e}"))?;
        }
        self.sink
            .flush()
            .await
            .map_err(|e| anyhow::anyhow!("socket closed during replay: {e}"))?;
        Ok(())
    }

    /// Sends every stored event of `channels` in `(since, through]` that this
    /// user may receive, read from storage. Live events after `through` wait
    /// in the queue.
    async fn replay(
        &mut self,
        channels: &[ChannelId],
        mut since: u64,
        through: u64,
        directory: &Directory,
    ) -> AppResult<()> {
        use futures_util::SinkExt;
        let redact = self.principal.sees_redacted();
        while since < through {
            let page = self
                .state
                .store
                .channel_events(channels, since, through, REPLAY_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            since = last.seq;
            for event in &page {
                if access::may_receive(
                    &self.principal,
                    &event.channel,
                    event.audience.as_ref(),
                    directory,
                ) {
                    let frame = ServerFrame::Event(event.to_wire(redact));
                    self.sink
                        .feed(super::session::encode(&frame))
                        .await
                        .map_err(|e| anyhow::anyhow!("socket closed during replay: {e}"))?;
                }
            }
            self.sink
                .flush()
                .await
                .map_err(|e| anyhow::anyhow!("socket closed during replay: {e}"))?;
        }
        Ok(())
    }

    async fn unsubscribe(
        &mut self,
        id: String,
        channels: Vec<ChannelId>,
    ) -> AppResult<Option<ServerFrame>> {
        for channel in &channels {
            self.subscribed.remove(channel);
        }
        self.state.hub.unsubscribe(self.id, channels.clone()).await;
        Ok(Some(ServerFrame::Unsubscribed { id, channels }))
    }

    /// Queues the publish; its reply is sent when the commit completes,
    /// while the session keeps serving.
    fn publish(
        &mut self,
        id: String,
        channel: ChannelId,
        text: String,
        lang: Option<String>,
    ) -> AppResult<Option<ServerFrame>> {
        check_rate(&self.state, self.principal.user_id)?;
        check_writable(&self.principal, &channel, &self.state.hub.directory())?;
        let data = message_body(text, lang)?;
        let committer = self.state.committer.clone();
        let principal = self.principal.clone();
        self.pending.push(Box::pin(async move {
            match committer
                .publish(principal, id.clone(), channel, data)
                .await
            {
                Ok(published) => ServerFrame::Published {
                    id,
                    seq: published.seq,
                    at: published.at,
                    duplicate: published.duplicate,
                },
                Err(error) => ServerFrame::Error {
                    id: Some(id),
                    error: error.body(),
                },
            }
        }));
        Ok(None)
    }

    /// Queues an alert request; its reply is sent when it completes, while
    /// the session keeps serving.
    fn alert_request(&mut self, frame: ClientFrame) {
        let state = self.state.clone();
        let principal = self.principal.clone();
        let id = frame.id().to_owned();
        self.pending.push(Box::pin(async move {
            crate::alerts::socket::handle(&state, &principal, frame)
                .await
                .unwrap_or_else(|error| ServerFrame::Error {
                    id: Some(id),
                    error: error.body(),
                })
        }));
    }

    async fn history(
        &mut self,
        id: String,
        channel: ChannelId,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> AppResult<Option<ServerFrame>> {
        let directory = self.state.hub.directory();
        check_readable(&self.principal, &channel, &directory)?;
        let limit = limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(AppError::field("limit", "must be between 1 and 500"));
        }
        let redact = self.principal.sees_redacted();
        let events = self
            .state
            .store
            .history(&channel, before, limit)
            .await?
            .iter()
            .filter(|e| {
                access::may_receive(&self.principal, &e.channel, e.audience.as_ref(), &directory)
            })
            .map(|e| e.to_wire(redact))
            .collect();
        Ok(Some(ServerFrame::History {
            id,
            channel,
            events,
        }))
    }

    async fn presence(&mut self, id: String) -> AppResult<Option<ServerFrame>> {
        let posts = post_statuses(&self.state, &self.principal).await?;
        Ok(Some(ServerFrame::Presence { id, posts }))
    }
}

/// Online users and last-seen times of every post `who` may read.
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
