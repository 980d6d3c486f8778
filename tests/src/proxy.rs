//! A TCP proxy for link faults between a hub and PostgreSQL, on loopback:
//! it forwards bytes both ways and, on command, stalls the link (bytes stop
//! flowing, connections stay open, as on a congested or silently broken
//! path), stalls it right after the client sends a chosen pattern (e.g. the
//! write-lock query, to stall a node while it holds the lock), delays every
//! chunk, or resets every open connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the link does to the bytes it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkMode {
    Pass,
    /// Nothing moves, both ways, until the mode changes.
    Stall,
    /// Pass until the client sends these bytes, forward them, then stall.
    StallAfter(Vec<u8>),
    /// Every chunk waits this long before it is forwarded.
    Delay(Duration),
}

/// A running proxy; stops accepting when dropped.
pub struct LinkProxy {
    pub addr: SocketAddr,
    mode: Arc<watch::Sender<LinkMode>>,
    /// Bumped to reset every open connection.
    resets: Arc<watch::Sender<u64>>,
    accept: tokio::task::JoinHandle<()>,
}

impl LinkProxy {
    /// Listens on a loopback port and forwards to `upstream`.
    ///
    /// # Panics
    /// No loopback port can be bound.
    pub async fn start(upstream: SocketAddr) -> LinkProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let mode = Arc::new(watch::channel(LinkMode::Pass).0);
        let resets = Arc::new(watch::channel(0_u64).0);
        let (m, r) = (mode.clone(), resets.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                tokio::spawn(link(client, server, m.clone(), r.subscribe()));
            }
        });
        LinkProxy {
            addr,
            mode,
            resets,
            accept,
        }
    }

    /// `url` with its `host:port` replaced by the proxy's, and TLS off so
    /// that [`LinkMode::StallAfter`] can see the statements.
    pub fn rewrite_url(&self, url: &str, upstream: &str) -> String {
        let url = url.replacen(upstream, &self.addr.to_string(), 1);
        let joiner = if url.contains('?') { '&' } else { '?' };
        format!("{url}{joiner}sslmode=disable")
    }

    pub fn set(&self, mode: LinkMode) {
        self.mode.send_replace(mode);
    }

    /// Resolves once the link is stalled (e.g. after [`LinkMode::StallAfter`] matched).
    pub async fn stalled(&self) {
        let mut rx = self.mode.subscribe();
        let _ = rx.wait_for(|m| *m == LinkMode::Stall).await;
    }

    /// Closes every open connection at once (the link was reset).
    pub fn reset(&self) {
        self.resets.send_modify(|n| *n += 1);
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.reset();
    }
}

async fn link(
    client: TcpStream,
    server: TcpStream,
    mode: Arc<watch::Sender<LinkMode>>,
    mut reset: watch::Receiver<u64>,
) {
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = pump(cr, sw, mode.clone(), true);
    let down = pump(sr, cw, mode, false);
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = reset.changed() => {}
    }
}

async fn pump(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    mode: Arc<watch::Sender<LinkMode>>,
    upstream: bool,
) {
    let mut buf = vec![0_u8; 64 * 1024];
    let mut rx = mode.subscribe();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        // Wait while stalled; apply a delay; arm a pattern.
        let mut stall_after = false;
        loop {
            let current = rx.borrow_and_update().clone();
            match current {
                LinkMode::Pass => break,
                LinkMode::Delay(d) => {
                    tokio::time::sleep(d).await;
                    break;
                }
                LinkMode::StallAfter(pattern) => {
                    if upstream
                        && chunk
                            .windows(pattern.len())
                            .any(|w| w == pattern.as_slice())
                    {
                        stall_after = true;
                    }
                    break;
                }
                LinkMode::Stall => {
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
        if to.write_all(chunk).await.is_err() {
            break;
        }
        if stall_after {
            mode.send_replace(LinkMode::Stall);
        }
    }
    let _ = to.shutdown().await;
}
