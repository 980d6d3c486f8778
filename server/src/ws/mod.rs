//! `GET /ws`: the WebSocket endpoint. The upgrade handler only checks the
//! connection limits (in all, per client address); authentication and everything after it happen in the
//! connection's own task (`session`), never in the accept path. This is
//! pure transport: authentication, routing (`requests`), heartbeats and the
//! outbound queue; features answer the frames routed to them.

mod auth_gate;
mod outbox;
mod read_gate;
mod reauth;
mod requests;
mod session;

use crate::client_addr::ClientAddr;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use mpaka_protocol::ErrorCode;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

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

/// A session's socket: the upgraded connection behind its [`auth_gate`].
type Socket = WebSocketStream<auth_gate::AuthGate<TokioIo<hyper::upgrade::Upgraded>>>;

/// The WebSocket handshake (RFC 6455 §4.2, HTTP/1.1), done here rather than
/// by axum's extractor so that the hub owns the byte stream under
/// tungstenite (for the pre-authentication frame limit).
pub async fn upgrade(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    request: Request,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    let accept = match accept_key(&parts.method, &parts.headers) {
        Ok(accept) => accept,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            "connection cannot be upgraded",
        )
            .into_response();
    };
    let Some(address_slot) = state.sockets_per_address.try_take(client) else {
        tracing::warn!(%client, "socket refused: max_connections_per_address reached");
        return AppError::new(
            ErrorCode::TooManyConnections,
            "this address has too many sockets open; close one first",
        )
        .into_response();
    };
    let Ok(permit) = state.open_sockets.clone().try_acquire_owned() else {
        tracing::warn!(%client, "socket refused: max_connections reached");
        return (StatusCode::SERVICE_UNAVAILABLE, "too many connections").into_response();
    };
    let hard_limit = HARD_FRAME_LIMIT.max(state.settings.ws.max_frame_bytes.get() * 2);
    let config = WebSocketConfig::default()
        .max_message_size(Some(hard_limit))
        .max_frame_size(Some(hard_limit))
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER);
    let pre_auth_limit = state.settings.ws.max_auth_frame_bytes.get();
    let tracker = state.tracker.clone();
    // Tracked so that shutdown waits for the close handshake.
    tracker.spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, %client, "upgrade failed");
                return;
            }
        };
        let (gate, opener) = auth_gate::AuthGate::new(TokioIo::new(upgraded), pre_auth_limit);
        let socket = WebSocketStream::from_raw_socket(gate, Role::Server, Some(config)).await;
        session::run(state, socket, client, opener).await;
        drop(permit);
        drop(address_slot);
    });
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    response
}

/// The `Sec-WebSocket-Accept` for a valid upgrade request, or why it is not one.
fn accept_key(
    method: &axum::http::Method,
    headers: &HeaderMap,
) -> Result<HeaderValue, &'static str> {
    let has = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if method != axum::http::Method::GET {
        return Err("a WebSocket upgrade is a GET");
    }
    if !has(header::CONNECTION, "upgrade") || !has(header::UPGRADE, "websocket") {
        return Err("expected Connection: upgrade and Upgrade: websocket");
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err("Sec-WebSocket-Version must be 13");
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or("Sec-WebSocket-Key is missing")?;
    HeaderValue::from_str(&derive_accept_key(key.as_bytes())).map_err(|_| "bad Sec-WebSocket-Key")
}
