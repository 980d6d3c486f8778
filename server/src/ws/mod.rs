//! `GET /ws`: the WebSocket endpoint. The upgrade handler only checks the
//! connection limit; authentication and everything after it happen in the
//! connection's own task (`session`), never in the accept path. This is
//! pure transport: authentication, routing (`requests`), heartbeats and the
//! outbound queue; features answer the frames routed to them.

mod read_gate;
mod requests;
mod session;

use crate::state::AppState;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Frames above this size are refused by the WebSocket layer itself (close
/// 1009); frames between `max_frame_bytes` and this get a `frame_too_large`
/// error and the connection stays open.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;
/// Per-connection read buffer. tungstenite's default (128 KiB) would cost
/// over a gigabyte for 10,000 mostly idle posts; larger frames still arrive
/// whole, in several reads.
const READ_BUFFER: usize = 8 * 1024;
/// Bytes gathered before a write to the socket; a batch of events is also
/// flushed as soon as the session's queue is empty.
const WRITE_BUFFER: usize = 32 * 1024;

pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let Ok(permit) = state.open_sockets.clone().try_acquire_owned() else {
        tracing::warn!(%peer, "connection refused: max_connections reached");
        return (StatusCode::SERVICE_UNAVAILABLE, "too many connections").into_response();
    };
    let hard_limit = HARD_FRAME_LIMIT.max(state.settings.ws.max_frame_bytes.get() * 2);
    ws.max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .on_upgrade(move |socket| {
            let tracker = state.tracker.clone();
            // Tracked so that shutdown waits for the close handshake.
            tracker.track_future(async move {
                session::run(state, socket, peer).await;
                drop(permit);
            })
        })
}
