//! The origin side of a link, `GET /api/v1/federation/link`: a peer dials
//! in to pull this hub's shared events. The handshake runs inside the
//! socket's own task (never in the accept loop): the caller must name a
//! known peer and sign the transcript with that peer's pinned key, after
//! this hub has signed it with its own. Then this hub streams its own
//! shared events after the caller's resume point, in order, each signed,
//! and keeps streaming them as they commit; when idle it says where it
//! stands every heartbeat.

use super::policy;
use super::runtime::Federation;
use super::store as fed_store;
use super::wire::{self, Frame, Role, SharedEvent};
use crate::state::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use std::time::{Duration, Instant};

/// How long a caller has for each handshake step.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest frame a caller may send (hello and proof are small).
const CALLER_FRAME_LIMIT: usize = 16 * 1024;

/// The upgrade; 404 when this hub does not federate.
pub async fn link(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    let federation = state.federation.clone();
    if !federation.enabled() {
        return (StatusCode::NOT_FOUND, "this hub does not federate").into_response();
    }
    let tracker = state.tracker.clone();
    let shutdown = state.shutdown.clone();
    upgrade
        .max_message_size(CALLER_FRAME_LIMIT)
        .max_frame_size(CALLER_FRAME_LIMIT)
        .on_upgrade(move |socket| {
            // Tracked, so that shutdown waits for the link to close.
            tracker.track_future(async move {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = serve(federation, socket) => {}
                }
            })
        })
}

async fn send(socket: &mut WebSocket, frame: &Frame) -> bool {
    let text = serde_json::to_string(frame).expect("a link frame serialises");
    socket.send(Message::Text(text.into())).await.is_ok()
}

/// The next frame, skipping pings; `None` on a close, an error, a
/// malformed frame or after `within`.
async fn receive(socket: &mut WebSocket, within: Duration) -> Option<Frame> {
    tokio::time::timeout(within, async {
        while let Some(Ok(message)) = socket.next().await {
            match message {
                Message::Text(text) => return serde_json::from_str(text.as_str()).ok(),
                Message::Ping(_) | Message::Pong(_) => {}
                Message::Binary(_) | Message::Close(_) => return None,
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}

async fn refuse(socket: &mut WebSocket, reason: &str) {
    let _ = send(
        socket,
        &Frame::Refused {
            reason: reason.to_owned(),
        },
    )
    .await;
    let _ = socket.close().await;
}

async fn serve(federation: Federation, mut socket: WebSocket) {
    let (Some(identity), Some(store), Some(metrics)) = (
        federation.identity(),
        federation.store(),
        federation.metrics(),
    ) else {
        return;
    };
    let Some(Frame::Hello {
        version,
        hub,
        nonce: theirs,
    }) = receive(&mut socket, HANDSHAKE_TIMEOUT).await
    else {
        return;
    };
    if version != wire::VERSION {
        refuse(&mut socket, "unsupported link version").await;
        return;
    }
    let Some(peer) = federation.peer(&hub) else {
        // A stranger: counted under one label, whatever name it gave.
        tracing::warn!(caller = %hub.chars().take(64).collect::<String>(), "link refused: not a peer");
        metrics.federation.refused("unknown", "handshake");
        let _ = fed_store::note_refusal(
            store,
            &hub.chars().take(64).collect::<String>(),
            false,
            "handshake",
            "not a peer",
        )
        .await;
        refuse(&mut socket, "not a peer of this hub").await;
        return;
    };
    let ours = wire::nonce();
    let origin_says = wire::transcript(Role::Origin, &peer.name, &identity.name, &theirs, &ours);
    let challenge = Frame::Challenge {
        hub: identity.name.clone(),
        nonce: ours.clone(),
        sig: wire::sign(identity.key(), &origin_says),
    };
    if !send(&mut socket, &challenge).await {
        return;
    }
    let Some(Frame::Proof { sig, from }) = receive(&mut socket, HANDSHAKE_TIMEOUT).await else {
        return;
    };
    let receiver_says =
        wire::transcript(Role::Receiver, &peer.name, &identity.name, &theirs, &ours);
    if !wire::verify(&peer.verifier.key, &receiver_says, &sig) {
        tracing::warn!(peer = %peer.name, "link refused: the caller's proof does not verify with the pinned key");
        metrics.federation.refused(&peer.name, "handshake");
        let _ = fed_store::note_refusal(
            store,
            &peer.name,
            true,
            "handshake",
            "the caller's proof does not verify with the pinned key",
        )
        .await;
        refuse(&mut socket, "the proof does not verify").await;
        return;
    }
    tracing::info!(peer = %peer.name, from, "link open: streaming shared events");
    let settings = federation.settings();
    let streaming = Streaming {
        federation: &federation,
        channels: policy::shared_channels(&peer.corridors),
        corridors: &peer.corridors,
        poll: Duration::from_millis(settings.poll_ms),
        heartbeat: Duration::from_millis(settings.heartbeat_ms),
    };
    if let Err(error) = streaming.run(socket, from).await {
        tracing::info!(peer = %peer.name, %error, "link closed");
    }
}

struct Streaming<'a> {
    federation: &'a Federation,
    channels: Vec<mpaka_protocol::ChannelId>,
    corridors: &'a std::collections::BTreeSet<String>,
    poll: Duration,
    heartbeat: Duration,
}

impl Streaming<'_> {
    /// Streams from `from` until the caller goes or a write fails.
    async fn run(&self, socket: WebSocket, from: u64) -> Result<(), String> {
        let store = self.federation.store().ok_or("federation is off")?;
        let identity = self.federation.identity().ok_or("federation is off")?;
        let (mut sink, mut incoming) = socket.split();
        let mut cursor = from;
        let mut last_said: Option<Instant> = None;
        loop {
            let scan = fed_store::local_events_after(store, &self.channels, cursor, wire::BATCH)
                .await
                .map_err(|e| e.to_string())?;
            let items: Vec<_> = scan
                .events
                .iter()
                .filter_map(|event| {
                    let (author, data) = policy::shared_form(event, self.corridors)?;
                    let shared = SharedEvent {
                        origin: identity.name.clone(),
                        origin_seq: event.seq,
                        channel: event.channel.clone(),
                        at_ms: event.at_ms,
                        author,
                        audience: event.audience.clone(),
                        data,
                    };
                    Some(wire::sign_event(identity.key(), &shared))
                })
                .collect();
            cursor = scan.through;
            let idle_too_long = last_said.is_none_or(|at| at.elapsed() >= self.heartbeat);
            if !items.is_empty() || idle_too_long {
                let (head, pending) = fed_store::local_head(store, &self.channels, cursor)
                    .await
                    .map_err(|e| e.to_string())?;
                let frame = if items.is_empty() {
                    Frame::Head { head, pending }
                } else {
                    Frame::Events {
                        head,
                        pending,
                        items,
                    }
                };
                let text = serde_json::to_string(&frame).map_err(|e| e.to_string())?;
                sink.send(Message::Text(text.into()))
                    .await
                    .map_err(|e| e.to_string())?;
                last_said = Some(Instant::now());
            }
            if scan.full {
                continue;
            }
            // Nothing more now: wait for new commits, watching the socket.
            tokio::select! {
                () = tokio::time::sleep(self.poll) => {}
                message = incoming.next() => match message {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return Ok(()),
                    Some(Ok(_)) => {}
                },
            }
        }
    }
}
