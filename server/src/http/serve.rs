//! The HTTP listener, with a deadline for every part of a connection's
//! life: a client has [`HEADER_READ_TIMEOUT`] to send a request's headers
//! (a half-sent request can no longer hold a connection, or shutdown,
//! open), and at shutdown the listener stops accepting, asks every
//! connection to finish its request in flight, and after the drain deadline
//! closes whatever is left. (axum's own `serve` has neither: it sets no
//! timer, so hyper's header-read timeout is off, and its graceful shutdown
//! waits for every connection without limit.) Upgraded WebSocket sessions
//! are not connections here any more: the hub's session tracker owns them.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// How long a client may take to send the headers of a request, from
/// connecting or from the end of its previous request.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `stop` is cancelled, then drains for
/// at most `drain` and closes every remaining connection.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: CancellationToken,
    drain: Duration,
) {
    let connections = TaskTracker::new();
    // Cancelled when the drain deadline has passed: connections still open
    // are dropped (closed) then.
    let force = CancellationToken::new();
    loop {
        let (tcp, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Events are small frames written as they commit: without
        // TCP_NODELAY, Nagle's algorithm holds a frame back until the
        // previous one is acknowledged, and a delayed ACK stretches that to
        // tens of milliseconds.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let router = router.clone();
        let (stop, force) = (stop.clone(), force.clone());
        connections.spawn(async move {
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    router.clone().oneshot(request.map(Body::new))
                });
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            builder.http2().enable_connect_protocol();
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, %peer, "connection ended with an error");
                    }
                    return;
                }
                () = stop.cancelled() => connection.as_mut().graceful_shutdown(),
                () = force.cancelled() => return,
            }
            tokio::select! {
                _ = connection.as_mut() => {}
                () = force.cancelled() => {
                    tracing::debug!(%peer, "connection closed at the drain deadline");
                }
            }
        });
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(drain, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "HTTP connections still open at the drain deadline; closing them"
        );
        force.cancel();
        connections.wait().await;
    }
}
