//! One WebSocket connection, from the `auth` frame to the close. A single task
//! selects over incoming frames, its outbound event queue, pending durable
//! replies, the heartbeat timer, a kick from the hub and shutdown.

use super::auth_gate::{self, Opener};
use super::outbox::Outbox;
use super::read_gate::ReadGate;
use super::Socket;
use crate::access::Principal;
use crate::error::AppError;
use crate::hub::{Encoded, SessionId, SessionLink};
use crate::state::AppState;
use futures_util::stream::{FuturesUnordered, SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use mpaka_protocol::wire::Encoding;
use mpaka_protocol::{
    ClientFrame, CloseCode, ErrorBody, ErrorCode, Limits, ServerFrame, Welcome, PROTOCOL_VERSION,
};
use std::collections::HashSet;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tracing::Instrument;

/// Frames written to the socket before one flush.
const WRITE_BATCH: usize = 256;
/// Publishes one session may have waiting for their commit at once.
const MAX_PENDING_WRITES: usize = 256;
/// A socket that accepts no bytes for this long is dropped: the client is
/// gone or not reading, and the hub has already stopped routing to it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) type Sink = SplitSink<Socket, Message>;
pub(super) type PendingReply = Pin<Box<dyn Future<Output = ServerFrame> + Send>>;

/// An authenticated connection.
pub(super) struct Session {
    pub(super) state: AppState,
    pub(super) id: SessionId,
    pub(super) principal: Arc<Principal>,
    pub(super) sink: Sink,
    pub(super) subscribed: HashSet<mpaka_protocol::ChannelId>,
    pub(super) pending: FuturesUnordered<PendingReply>,
    /// The login session (token `sid`); a `reauth` must name the same one.
    pub(super) login_session: Arc<str>,
    /// Fires when the connection's access token expires, unless a `reauth`
    /// has moved it on.
    pub(super) token_expiry: Pin<Box<tokio::time::Sleep>>,
    /// How events reach this connection (encoding, batching, refs told).
    pub(super) outbox: Outbox,
}

/// The monotonic instant at which a token expiring at `expires_at_ms`
/// (Unix ms) stops being valid.
pub(super) fn deadline(expires_at_ms: i64) -> tokio::time::Instant {
    let left = expires_at_ms.saturating_sub(crate::store::now_ms()).max(0);
    tokio::time::Instant::now() + Duration::from_millis(u64::try_from(left).unwrap_or(0))
}

/// Unregisters the session from the hub and presence however the task ends.
struct Registration {
    state: AppState,
    id: SessionId,
    user_id: i64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.state.hub.unregister(self.id);
        self.state.hub.presence.disconnected(self.user_id);
    }
}

/// Serves one upgraded socket; `client` is its address (behind trusted
/// proxies, the forwarded one), `opener` lifts the pre-authentication
/// frame limit.
pub(super) async fn run(state: AppState, socket: Socket, client: IpAddr, opener: Opener) {
    let id = state.hub.new_session_id();
    let span = tracing::info_span!("session", session = id, %client, user = tracing::field::Empty);
    serve(state, socket, id, client, opener)
        .instrument(span)
        .await;
}

/// Whether `user_id`'s sockets on the other nodes and on this one (the new
/// one counted) exceed `ws.max_connections_per_user`; always `false` on
/// SQLite (one node) and when the database cannot say.
async fn over_cap_elsewhere(state: &AppState, user_id: i64) -> bool {
    if state.store.backend() != crate::store::Backend::Postgres {
        return false;
    }
    let elsewhere = match state
        .store
        .sockets_elsewhere(
            user_id,
            state.hub.presence.node_id(),
            crate::hub::PRESENCE_FRESH_MS,
        )
        .await
    {
        Ok(n) => usize::try_from(n).unwrap_or(0),
        Err(error) => {
            tracing::warn!(%error, "cannot count the account's sockets on other nodes");
            return false;
        }
    };
    elsewhere + state.sockets_per_user.open(&user_id)
        > state.settings.ws.max_connections_per_user.get()
}

async fn serve(state: AppState, socket: Socket, id: SessionId, client: IpAddr, opener: Opener) {
    let (mut sink, mut stream) = socket.split();
    let (Authenticated { id: auth_id, token }, outbox) =
        match authenticate(&state, &mut sink, &mut stream).await {
            Some(authenticated) => authenticated,
            None => return,
        };
    let user = token.user;
    // Counted after authentication: a refused socket never reaches the hub.
    // On PostgreSQL the other nodes' sockets count too (from their presence
    // snapshots, at most `limits.presence_flush_ms` old).
    let slot = match state.sockets_per_user.try_take(user.id) {
        Some(slot) if over_cap_elsewhere(&state, user.id).await => {
            drop(slot);
            None
        }
        other => other,
    };
    let Some(_user_slot) = slot else {
        tracing::warn!(user = %user.username, "socket refused: max_connections_per_user reached");
        let error = ErrorBody::new(
            ErrorCode::TooManyConnections,
            "this account has too many sockets open; close one first",
        );
        let _ = sink
            .send(encode(&ServerFrame::Error {
                id: Some(auth_id),
                error,
            }))
            .await;
        close_with(&mut sink, CloseCode::TooManyConnections).await;
        return;
    };
    opener.open();
    let login_session: Arc<str> = token.session.into();
    tracing::Span::current().record("user", user.username.as_str());
    let principal = Arc::new(Principal::new(&user, &state.hub.directory()).from_client(client));
    let (outbound_tx, mut outbound) =
        mpsc::channel::<Arc<Encoded>>(state.settings.ws.outbound_queue.get());
    let (kick_tx, mut kick) = oneshot::channel::<CloseCode>();
    state
        .hub
        .register(SessionLink {
            id,
            principal: principal.clone(),
            login_session: login_session.clone(),
            encoding: outbox.encoding,
            outbound: outbound_tx,
            kick: kick_tx,
        })
        .await;
    state
        .hub
        .presence
        .connected(principal.user_id, principal.post.clone());
    let _registration = Registration {
        state: state.clone(),
        id,
        user_id: principal.user_id,
    };
    // The session may have ended between the token check and the
    // registration, when its `session.ended` found nothing to close here.
    if !matches!(state.store.session(&login_session).await, Ok(Some(row)) if row.ended_at.is_none())
    {
        tracing::info!("login session ended while connecting");
        close_with(&mut sink, CloseCode::AccountChanged).await;
        return;
    }
    let head_seq = state.store.head_seq().await.unwrap_or(0);
    let epoch = match state.store.epoch().await {
        Ok(epoch) => epoch,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the log epoch");
            close_with(&mut sink, CloseCode::GoingAway).await;
            return;
        }
    };
    let mut session = Session {
        state: state.clone(),
        id,
        principal,
        sink,
        subscribed: HashSet::new(),
        pending: FuturesUnordered::new(),
        login_session,
        token_expiry: Box::pin(tokio::time::sleep_until(deadline(token.expires_at_ms))),
        outbox,
    };
    let welcome = ServerFrame::Welcome(Welcome {
        v: PROTOCOL_VERSION,
        session: format!("{}-{id}", state.hub.presence.node_id()),
        user: user.info(),
        channels: crate::access::readable_channels(&session.principal, &state.hub.directory()),
        head_seq,
        epoch,
        limits: Limits {
            max_frame_bytes: u32::try_from(state.settings.ws.max_frame_bytes.get())
                .unwrap_or(u32::MAX),
            publish_per_sec: state.settings.limits.publish_per_sec.get(),
            publish_burst: state.settings.limits.publish_burst.get(),
            heartbeat_secs: u32::try_from(state.settings.ws.heartbeat_secs.get())
                .unwrap_or(u32::MAX),
        },
        encoding: session.outbox.encoding,
        batch: session.outbox.batch,
    });
    if session.send(&welcome).await.is_err() {
        return;
    }
    tracing::info!("session opened");

    let settings = &state.settings.ws;
    let mut heartbeat = tokio::time::interval(settings.heartbeat_secs.duration());
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.tick().await;
    let heartbeat_timeout = settings.heartbeat_timeout_secs.duration();
    let mut last_heard = Instant::now();

    // Made once: a fresh `cancelled()` per wake would lock the token's
    // waiter list twice each time an event arrives.
    let cancelled = state.shutdown.cancelled();
    tokio::pin!(cancelled);
    let mut reads = ReadGate::new();

    let close = loop {
        tokio::select! {
            // Shutdown first: when the hub stops, its dispatcher drops the
            // queue and the kick, and those must not hide the reason.
            biased;
            () = &mut cancelled => break Some(CloseCode::GoingAway),
            code = &mut kick => break Some(code.unwrap_or(CloseCode::GoingAway)),
            () = &mut session.token_expiry => {
                tracing::info!("access token expired; closing");
                state.metrics.auth_failed(ErrorCode::TokenExpired);
                let error = ErrorBody::new(
                    ErrorCode::TokenExpired,
                    "access token has expired; refresh, then reconnect or send reauth before expiry",
                );
                let _ = session.send(&ServerFrame::Error { id: None, error }).await;
                break Some(CloseCode::AuthFailed);
            }
            frame = outbound.recv() => {
                let Some(frame) = frame else { break Some(CloseCode::GoingAway) };
                let written = tokio::time::timeout(WRITE_TIMEOUT, session.write_batch(frame, &mut outbound)).await;
                if !matches!(written, Ok(Ok(()))) {
                    tracing::info!("socket not writable; dropping the connection");
                    break None;
                }
            }
            Some(reply) = session.pending.next(), if !session.pending.is_empty() => {
                if session.send(&reply).await.is_err() {
                    break None;
                }
            }
            message = reads.next(&mut stream), if session.pending.len() < MAX_PENDING_WRITES => {
                last_heard = Instant::now();
                match message {
                    Some(Ok(Message::Text(text))) => {
                        if session.on_text(text.as_str()).await.is_err() {
                            break None;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let error = ErrorBody::new(ErrorCode::BadFrame, "binary frames are not supported; send JSON text");
                        if session.send_error(None, error).await.is_err() {
                            break None;
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Err(error)) => {
                        tracing::info!(%error, "socket error");
                        break close_code_for(error);
                    }
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > heartbeat_timeout {
                    tracing::info!("no answer to heartbeats; closing");
                    break Some(CloseCode::HeartbeatTimeout);
                }
                if session.sink.send(Message::Ping(Default::default())).await.is_err() {
                    break None;
                }
            }
        }
    };
    if let Some(code) = close {
        if code == CloseCode::SlowConsumer {
            let error = ErrorBody::new(
                ErrorCode::SlowConsumer,
                "you fell too far behind; reconnect and resubscribe with `since`",
            );
            let _ = session.send_error(None, error).await;
        }
        close_with(&mut session.sink, code).await;
    }
    tracing::info!(?close, "session closed");
}

/// The close code for a read error, chosen from the error's kind: a frame
/// over the hard size limit is 1009, a text frame that is not UTF-8 is 1007
/// (RFC 6455 §7.1.7); any other failure means the link is gone.
fn close_code_for(error: WsError) -> Option<CloseCode> {
    use tokio_tungstenite::tungstenite::error::CapacityError;
    match error {
        WsError::Capacity(CapacityError::MessageTooLong { .. } | CapacityError::TooManyHeaders) => {
            Some(CloseCode::TooBig)
        }
        WsError::Utf8(_) => Some(CloseCode::InvalidPayload),
        _ => None,
    }
}

pub(super) async fn close_with(sink: &mut Sink, code: CloseCode) {
    let frame = CloseFrame {
        code: code.code().into(),
        reason: Utf8Bytes::from_static(code.reason()),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
    let _ = sink.close().await;
}

pub(super) fn encode(frame: &ServerFrame) -> Message {
    match serde_json::to_string(frame) {
        Ok(text) => Message::Text(text.into()),
        Err(error) => {
            tracing::error!(%error, "cannot encode a frame");
            Message::Text(
                "{\"type\":\"error\",\"code\":\"internal\",\"message\":\"internal error\"}".into(),
            )
        }
    }
}

/// A socket's accepted `auth` frame.
struct Authenticated {
    id: String,
    token: crate::auth::SessionToken,
}

/// Waits for a valid `auth` frame; on failure tells the client and closes.
/// The frame's id, the checked token and the connection's way of receiving
/// events on success.
async fn authenticate(
    state: &AppState,
    sink: &mut Sink,
    stream: &mut SplitStream<Socket>,
) -> Option<(Authenticated, Outbox)> {
    let deadline = tokio::time::sleep(state.settings.ws.auth_timeout_secs.duration());
    tokio::pin!(deadline);
    loop {
        let message = tokio::select! {
            () = &mut deadline => {
                state.metrics.auth_failed(ErrorCode::AuthTimeout);
                let error = ErrorBody::new(ErrorCode::AuthTimeout, "no auth frame in time");
                let _ = sink.send(encode(&ServerFrame::Error { id: None, error })).await;
                close_with(sink, CloseCode::AuthTimeout).await;
                return None;
            }
            () = state.shutdown.cancelled() => {
                close_with(sink, CloseCode::GoingAway).await;
                return None;
            }
            message = stream.next() => message,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(_)) => {
                let error = ErrorBody::new(ErrorCode::BadFrame, "send a JSON auth frame first");
                let _ = sink
                    .send(encode(&ServerFrame::Error { id: None, error }))
                    .await;
                continue;
            }
            Some(Err(error)) if auth_gate::is_too_large(&error) => {
                tracing::info!("frame too large before authentication; closing");
                state.metrics.frame_error(ErrorCode::FrameTooLarge);
                let error = ErrorBody::new(
                    ErrorCode::FrameTooLarge,
                    format!(
                        "frames before authentication are limited to {} bytes",
                        state.settings.ws.max_auth_frame_bytes
                    ),
                );
                let _ = sink
                    .send(encode(&ServerFrame::Error { id: None, error }))
                    .await;
                close_with(sink, CloseCode::TooBig).await;
                return None;
            }
            _ => return None,
        };
        let (id, token, version, encoding, batch) = match serde_json::from_str::<ClientFrame>(&text)
        {
            Ok(ClientFrame::Auth {
                id,
                v,
                token,
                encoding,
                batch,
            }) => (id, token, v, encoding, batch),
            Ok(other) => {
                let error = ErrorBody::new(
                    ErrorCode::AuthRequired,
                    "authenticate with an auth frame first",
                );
                let _ = sink
                    .send(encode(&ServerFrame::Error {
                        id: Some(other.id().to_owned()),
                        error,
                    }))
                    .await;
                continue;
            }
            Err(error) => {
                let error = ErrorBody::new(
                    ErrorCode::BadFrame,
                    super::requests::describe_parse_error(&error),
                );
                let _ = sink
                    .send(encode(&ServerFrame::Error { id: None, error }))
                    .await;
                continue;
            }
        };
        if version != PROTOCOL_VERSION {
            let error = ErrorBody::new(
                ErrorCode::UnsupportedVersion,
                format!("this server speaks protocol version {PROTOCOL_VERSION}"),
            );
            let _ = sink
                .send(encode(&ServerFrame::Error {
                    id: Some(id),
                    error,
                }))
                .await;
            close_with(sink, CloseCode::AuthFailed).await;
            return None;
        }
        let Some(encoding) = encoding
            .as_deref()
            .map_or(Some(Encoding::Json), Encoding::parse)
        else {
            let error = ErrorBody::new(
                ErrorCode::UnsupportedEncoding,
                "this server writes events as `json` or `compact`",
            );
            let _ = sink
                .send(encode(&ServerFrame::Error {
                    id: Some(id),
                    error,
                }))
                .await;
            close_with(sink, CloseCode::AuthFailed).await;
            return None;
        };
        return match state.auth.authenticate_session(&token).await {
            Ok(token) => Some((Authenticated { id, token }, Outbox::new(encoding, batch))),
            Err(error) => {
                let body = error.body();
                state.metrics.auth_failed(body.code);
                tracing::info!(code = %body.code, "socket authentication failed");
                let code = if body.code == ErrorCode::AccountDisabled {
                    CloseCode::AccountChanged
                } else {
                    CloseCode::AuthFailed
                };
                let _ = sink
                    .send(encode(&ServerFrame::Error {
                        id: Some(id),
                        error: body,
                    }))
                    .await;
                close_with(sink, code).await;
                None
            }
        };
    }
}

impl Session {
    pub(super) async fn send(&mut self, frame: &ServerFrame) -> Result<(), WsError> {
        self.sink.send(encode(frame)).await
    }

    pub(super) async fn send_error(
        &mut self,
        id: Option<String>,
        error: ErrorBody,
    ) -> Result<(), WsError> {
        self.state.metrics.frame_error(error.code);
        self.send(&ServerFrame::Error { id, error }).await
    }

    pub(super) async fn reply_error(&mut self, id: &str, error: AppError) -> Result<(), WsError> {
        let body = error.body();
        tracing::debug!(code = %body.code, request = id, "request refused");
        self.send_error(Some(id.to_owned()), body).await
    }

    /// Writes `first` and whatever else is already queued (never waiting
    /// for more), then flushes once.
    async fn write_batch(
        &mut self,
        first: Arc<Encoded>,
        outbound: &mut mpsc::Receiver<Arc<Encoded>>,
    ) -> Result<(), WsError> {
        let mut frames = vec![first];
        while frames.len() < WRITE_BATCH {
            match outbound.try_recv() {
                Ok(frame) => frames.push(frame),
                Err(_) => break,
            }
        }
        self.write_events(&frames).await
    }

    /// Writes event frames as this connection asked for them, then flushes.
    pub(super) async fn write_events(&mut self, frames: &[Arc<Encoded>]) -> Result<(), WsError> {
        for message in self.outbox.messages(frames.iter().map(|f| &**f)) {
            self.sink.feed(message).await?;
        }
        self.sink.flush().await
    }
}
