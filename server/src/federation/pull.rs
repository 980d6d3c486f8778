//! The receiver side: one task per peer dials the peer's link, proves who
//! this hub is, checks who the peer is against its pinned key, asks for
//! everything after what this hub already holds, and stores what comes
//! (verified, checked against the sharing policy, exactly once). Any cut
//! ends the session; the task dials again by itself, after a wait that
//! doubles up to `federation.retry_max_ms` and starts again from the
//! bottom once the peer has answered: catching up never waits for new
//! traffic. A supervisor starts and stops these tasks as peers come and go.

use super::peers::Peer;
use super::policy;
use super::runtime::Federation;
use super::store::{self as fed_store, Item};
use super::wire::{self, EventRefusal, Frame, Role};
use crate::state::AppState;
use futures_util::{SinkExt as _, StreamExt as _};
use std::collections::HashMap;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long dialling (TCP, TLS, upgrade) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the supervisor re-reads the peers.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// Why a session with a peer ended.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("cannot reach the peer: {0}")]
    Connect(String),
    #[error("the link closed")]
    Closed,
    #[error("the peer said nothing for {0:?}")]
    Silent(Duration),
    #[error("the peer broke the protocol: {0}")]
    Protocol(String),
    #[error("the peer refused this hub: {0}")]
    RefusedByPeer(String),
    #[error("refused the peer: {0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Starts the supervisor when this hub federates.
pub fn start(state: &AppState) {
    let federation = state.federation.clone();
    if !federation.enabled() {
        return;
    }
    let tracker = state.tracker.clone();
    let shutdown = state.shutdown.clone();
    state
        .tracker
        .spawn(supervise(federation, tracker, shutdown));
}

async fn supervise(federation: Federation, tracker: TaskTracker, shutdown: CancellationToken) {
    let mut running: HashMap<String, (Peer, CancellationToken)> = HashMap::new();
    let mut every = tokio::time::interval(RELOAD_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = every.tick() => {}
        }
        if let Err(error) = federation.reload().await {
            tracing::warn!(%error, "cannot read the federation peers");
        }
        let peers = federation.peers();
        running.retain(|_, (peer, stop)| {
            let keep = peers.contains(peer);
            if !keep {
                stop.cancel();
            }
            keep
        });
        for peer in peers.iter() {
            if !running.contains_key(&peer.name) {
                let stop = shutdown.child_token();
                tracker.spawn(pull(federation.clone(), peer.clone(), stop.clone()));
                running.insert(peer.name.clone(), (peer.clone(), stop));
            }
        }
    }
}

/// Dials `peer` again and again until `stop`.
async fn pull(federation: Federation, peer: Peer, stop: CancellationToken) {
    let (Some(store), Some(metrics)) = (federation.store().cloned(), federation.metrics()) else {
        return;
    };
    let most = Duration::from_millis(federation.settings().retry_max_ms);
    let least = most / 10;
    let mut wait = least;
    loop {
        let mut answered = false;
        let result = tokio::select! {
            () = stop.cancelled() => return,
            result = session(&federation, &peer, &mut answered) => result,
        };
        metrics.federation.set_up(&peer.name, false);
        if let Err(error) = result {
            tracing::warn!(peer = %peer.name, %error, "federation link down");
            let _ = fed_store::note_error(&store, &peer.name, &error.to_string()).await;
        }
        // The peer answered: it is back, so the next try comes soon.
        wait = if answered {
            least
        } else {
            (wait * 2).min(most)
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(socket: &mut Socket, frame: &Frame) -> Result<(), LinkError> {
    let text = serde_json::to_string(frame).map_err(|e| LinkError::Protocol(e.to_string()))?;
    socket
        .send(Message::text(text))
        .await
        .map_err(|_| LinkError::Closed)
}

async fn receive(socket: &mut Socket, within: Duration) -> Result<Frame, LinkError> {
    let next = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str::<Frame>(text.as_str())
                        .map_err(|e| LinkError::Protocol(e.to_string()));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Binary(_))) => {
                    return Err(LinkError::Protocol("binary frame".into()))
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Err(LinkError::Closed),
            }
        }
    };
    tokio::time::timeout(within, next)
        .await
        .map_err(|_| LinkError::Silent(within))?
}

/// One session: dial, handshake, then store what comes until the link
/// ends. Sets `answered` once the peer has proved who it is.
async fn session(
    federation: &Federation,
    peer: &Peer,
    answered: &mut bool,
) -> Result<(), LinkError> {
    let (Some(identity), Some(store), Some(metrics)) = (
        federation.identity(),
        federation.store(),
        federation.metrics(),
    ) else {
        return Ok(());
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(wire::MAX_FRAME_BYTES))
        .max_frame_size(Some(wire::MAX_FRAME_BYTES));
    let url = peer.link_url();
    let (mut socket, _) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true),
    )
    .await
    .map_err(|_| LinkError::Connect(format!("{url}: no answer in {CONNECT_TIMEOUT:?}")))?
    .map_err(|e| LinkError::Connect(format!("{url}: {e}")))?;
    let ours = wire::nonce();
    send(
        &mut socket,
        &Frame::Hello {
            version: wire::VERSION,
            hub: identity.name.clone(),
            nonce: ours.clone(),
        },
    )
    .await?;
    let (hub, theirs, sig) = match receive(&mut socket, super::serve::HANDSHAKE_TIMEOUT).await? {
        Frame::Challenge { hub, nonce, sig } => (hub, nonce, sig),
        Frame::Refused { reason } => return Err(LinkError::RefusedByPeer(reason)),
        other => {
            return Err(LinkError::Protocol(format!(
                "expected a challenge, got {other:?}"
            )))
        }
    };
    let origin_says = wire::transcript(Role::Origin, &identity.name, &peer.name, &ours, &theirs);
    if hub != peer.name || !wire::verify(&peer.verifier.key, &origin_says, &sig) {
        metrics.federation.refused(&peer.name, "handshake");
        let detail = if hub == peer.name {
            "the challenge does not verify with the pinned key".to_owned()
        } else {
            format!("the hub at this address says it is {hub}")
        };
        fed_store::note_refusal(store, &peer.name, true, "handshake", &detail).await?;
        let _ = socket.close(None).await;
        return Err(LinkError::Refused(detail));
    }
    let from = fed_store::link(store, &peer.name).await?.received_through;
    let receiver_says =
        wire::transcript(Role::Receiver, &identity.name, &peer.name, &ours, &theirs);
    send(
        &mut socket,
        &Frame::Proof {
            sig: wire::sign(identity.key(), &receiver_says),
            from,
        },
    )
    .await?;
    *answered = true;
    metrics.federation.set_up(&peer.name, true);
    tracing::info!(peer = %peer.name, from, "federation link up");
    let silence = Duration::from_millis(federation.settings().heartbeat_ms * 3);
    let mut previous = from;
    loop {
        let (head, pending, items) = match receive(&mut socket, silence).await? {
            Frame::Events {
                head,
                pending,
                items,
            } => (head, pending, items),
            Frame::Head { head, pending } => (head, pending, Vec::new()),
            Frame::Refused { reason } => return Err(LinkError::RefusedByPeer(reason)),
            other => return Err(LinkError::Protocol(format!("unexpected {other:?}"))),
        };
        let mut batch = Vec::with_capacity(items.len());
        let mut newest_at = None;
        for item in &items {
            match check(peer, item, previous) {
                Ok(event) => {
                    previous = event.origin_seq;
                    newest_at = Some(event.at_ms);
                    batch.push(Item::Accept(Box::new(event)));
                }
                Err((Some(origin_seq), refusal)) => {
                    previous = origin_seq;
                    tracing::warn!(peer = %peer.name, origin_seq, %refusal, "event refused");
                    metrics.federation.refused(&peer.name, refusal.reason());
                    batch.push(Item::Refuse {
                        origin_seq,
                        reason: refusal.reason(),
                        detail: refusal.to_string(),
                    });
                }
                Err((None, refusal)) => {
                    // Nothing in it can be trusted, not even its seq: keep
                    // what came before, drop the link, resume from there.
                    metrics.federation.refused(&peer.name, refusal.reason());
                    fed_store::store_batch(store, &peer.name, batch).await?;
                    fed_store::note_refusal(
                        store,
                        &peer.name,
                        true,
                        refusal.reason(),
                        &refusal.to_string(),
                    )
                    .await?;
                    let _ = socket.close(None).await;
                    return Err(LinkError::Refused(refusal.to_string()));
                }
            }
        }
        if !batch.is_empty() {
            let stored = fed_store::store_batch(store, &peer.name, batch).await?;
            metrics.federation.received(&peer.name, stored.appended);
        }
        fed_store::note_contact(store, &peer.name, head, pending).await?;
        let now_ms = crate::store::now_ms();
        let age = newest_at.map_or(0, |at| (now_ms - at) / 1000);
        metrics
            .federation
            .contact(&peer.name, now_ms / 1000, pending, age);
    }
}

/// Checks one item from `peer`: its signature by the pinned key, its
/// origin, its order, and that its channel is shared with this peer. A
/// refusal carries the item's origin seq when it can be trusted (signed),
/// so that the resume point moves past it.
fn check(
    peer: &Peer,
    item: &wire::SignedEvent,
    previous: u64,
) -> Result<wire::SharedEvent, (Option<u64>, EventRefusal)> {
    let event = wire::open_event(&peer.verifier.key, item).map_err(|r| (None, r))?;
    if event.origin != peer.name {
        return Err((None, EventRefusal::WrongOrigin(event.origin)));
    }
    if event.origin_seq <= previous {
        return Err((None, EventRefusal::OutOfOrder(event.origin_seq)));
    }
    if !policy::is_shared(&event.channel, &peer.corridors)
        || !policy::is_shareable_kind(&event.data)
    {
        return Err((
            Some(event.origin_seq),
            EventRefusal::NotShared(event.channel.to_string()),
        ));
    }
    Ok(event)
}
