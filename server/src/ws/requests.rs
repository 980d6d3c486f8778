//! Requests of an authenticated session: parse, route, answer. Routing is
//! the protocol crate's exhaustive [`ClientFrame::route`]; the connection's
//! own frames (subscribe, unsubscribe, ping) are answered here, every other
//! one by its feature's socket adapter.

use super::session::Session;
use crate::access;
use crate::error::{AppError, AppResult};
use crate::hub::Encoded;
use crate::store::Directory;
use mpaka_protocol::FieldCode;
use mpaka_protocol::{
    ChannelId, ClientFrame, ConnectionRequest, ErrorBody, ErrorCode, Routed, ServerFrame,
};
use serde::Deserialize;
use std::sync::Arc;

/// Longest request id accepted.
const MAX_ID_CHARS: usize = 128;
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

/// The `id` of a frame that could not be taken as a whole (too large, or
/// not a valid request), so the error still reaches the request waiting
/// for it. Only a string of acceptable length counts.
fn readable_id(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Option<serde_json::Value>,
    }
    serde_json::from_str::<IdOnly>(text)
        .ok()?
        .id?
        .as_str()
        .filter(|id| !id.is_empty() && id.chars().count() <= MAX_ID_CHARS)
        .map(str::to_owned)
}

impl Session {
    /// Handles one text frame. `Err` only when the socket itself failed.
    pub(super) async fn on_text(
        &mut self,
        text: &str,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        let max = self.state.settings.ws.max_frame_bytes.get();
        if text.len() > max {
            let error = ErrorBody::new(
                ErrorCode::FrameTooLarge,
                format!("frame of {} bytes exceeds the limit of {max}", text.len()),
            );
            tracing::info!(bytes = text.len(), "frame too large");
            return self.send_error(readable_id(text), error).await;
        }
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::info!("malformed frame");
                let body = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .as_ref()
                    .and_then(mpaka_protocol::payload_problem)
                    .map(|mut problem| {
                        problem.message = crate::error::elide_quoted(&problem.message);
                        AppError::invalid(vec![problem]).body()
                    })
                    .unwrap_or_else(|| {
                        ErrorBody::new(ErrorCode::BadFrame, describe_parse_error(&error))
                    });
                return self.send_error(readable_id(text), body).await;
            }
        };
        let id = frame.id().to_owned();
        if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
            let body = ErrorBody::new(ErrorCode::BadFrame, "id must be 1 to 128 characters");
            return self.send_error(None, body).await;
        }
        let result = match frame.route() {
            Routed::Connection(request) => self.connection_request(request).await,
            Routed::Messaging(request) => {
                match crate::messaging::socket::handle(&self.state, &self.principal, request).await
                {
                    Ok(crate::messaging::socket::Reply::Now(frame)) => Ok(Some(*frame)),
                    Ok(crate::messaging::socket::Reply::Later(reply)) => {
                        self.answer_later(id.clone(), reply);
                        Ok(None)
                    }
                    Err(error) => Err(error),
                }
            }
            // Domain requests run beside the session loop, like publishes,
            // so a slow commit never stalls the delivery of events.
            Routed::Alert(request) => {
                let (state, who) = (self.state.clone(), self.principal.clone());
                self.answer_later(id.clone(), async move {
                    crate::alerts::socket::handle(&state, &who, request).await
                });
                Ok(None)
            }
            Routed::Sop(request) => {
                let (state, who) = (self.state.clone(), self.principal.clone());
                self.answer_later(id.clone(), async move {
                    crate::sops::socket::handle(&state, &who, request).await
                });
                Ok(None)
            }
            Routed::Flow(request) => {
                let (state, who) = (self.state.clone(), self.principal.clone());
                self.answer_later(id.clone(), async move {
                    crate::flows::socket::handle(&state, &who, request).await
                });
                Ok(None)
            }
        };
        match result {
            Ok(Some(reply)) => self.send(&reply).await,
            Ok(None) => Ok(()),
            Err(error) => self.reply_error(&id, error).await,
        }
    }

    /// Queues a reply that is ready later; a refusal becomes an `error`
    /// frame with the request's `id`.
    fn answer_later(
        &mut self,
        id: String,
        reply: impl std::future::Future<Output = AppResult<ServerFrame>> + Send + 'static,
    ) {
        self.pending.push(Box::pin(async move {
            reply.await.unwrap_or_else(|error| ServerFrame::Error {
                id: Some(id),
                error: error.body(),
            })
        }));
    }

    async fn connection_request(
        &mut self,
        request: ConnectionRequest,
    ) -> AppResult<Option<ServerFrame>> {
        match request {
            ConnectionRequest::Auth { .. } => Err(AppError::new(
                ErrorCode::InvalidState,
                "this connection is already authenticated",
            )),
            ConnectionRequest::Subscribe {
                id,
                channels,
                since,
                epoch,
            } => self.subscribe(id, channels, since, epoch).await,
            ConnectionRequest::Unsubscribe { id, channels } => self.unsubscribe(id, channels).await,
            ConnectionRequest::Ping { id } => Ok(Some(ServerFrame::Pong { id })),
            ConnectionRequest::Reauth { id, token } => self.reauth(id, token).await,
        }
    }
    async fn subscribe(
        &mut self,
        id: String,
        channels: Vec<ChannelId>,
        since: Option<u64>,
        epoch: Option<String>,
    ) -> AppResult<Option<ServerFrame>> {
        if channels.is_empty() {
            return Err(AppError::coded(
                "channels",
                FieldCode::Required,
                "name at least one channel",
            ));
        }
        let current = self.state.store.epoch().await?;
        if let (Some(_), Some(epoch)) = (since, &epoch) {
            if *epoch != current {
                // A restore reused sequence numbers: `since` means nothing here.
                return Err(AppError::new(
                    ErrorCode::EpochChanged,
                    "the event log was restored to an older point: drop the kept seq, \
                     subscribe without since and reload history",
                ));
            }
        }
        let directory = self.state.hub.directory();
        for channel in &channels {
            access::check_readable(&self.principal, channel, &directory)?;
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
            epoch: current,
        }))
    }

    /// Sends a replay the hub had in memory, already encoded and filtered.
    async fn send_replay(&mut self, frames: Vec<Arc<Encoded>>) -> AppResult<()> {
        self.write_events(&frames)
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
        let redact = self.principal.sees_redacted();
        while since < through {
            let page = self
                .state
                .store
                .channel_events(channels, since, through, REPLAY_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            since = last.seq;
            let frames: Vec<Arc<Encoded>> = page
                .iter()
                .filter(|event| {
                    access::may_receive(
                        &self.principal,
                        &event.channel,
                        event.audience.as_ref(),
                        directory,
                    )
                })
                .map(|event| {
                    Arc::new(crate::hub::encoded::encode(
                        event,
                        self.outbox.encoding,
                        redact,
                        self.state.hub.refs(),
                    ))
                })
                .collect();
            self.write_events(&frames)
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
}
