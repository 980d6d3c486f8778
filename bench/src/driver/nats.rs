//! The NATS driver, over the server's WebSocket listener with the official
//! `async-nats` client (its `websockets` feature speaks the NATS protocol
//! over `ws://` URLs).
//!
//! Core NATS has no per-message reply, so a publisher subscribes to its own
//! subject and counts its message as answered when the server routes it
//! back (echo): one full round trip through the server, the closest
//! equivalent of mpaka's `published` and MQTT's PUBACK. A subscription is
//! confirmed by a round trip through a private inbox, which the server
//! handles after the SUB.

use super::{Ack, AckReceiver, Driver, Incoming, PubSender, SubConn};
use crate::payload;
use anyhow::{anyhow, bail, Context, Result};
use async_nats::{Client, ConnectOptions, Subscriber};
use futures_util::StreamExt;
use std::time::Duration;

/// Subject of every scenario but (e), where each publisher has its own.
const FANOUT_SUBJECT: &str = "bench.fanout";

/// Socket read buffer per connection, bytes.
const READ_BUFFER_BYTES: u16 = 16 * 1024;

/// How long a subscription's confirming round trip may take.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(60);

pub struct NatsDriver {
    url: String,
    /// Each publisher on its own subject (scenario e).
    spread: bool,
}

impl NatsDriver {
    pub fn new(url: &str, spread: bool) -> Self {
        Self {
            url: url.to_owned(),
            spread,
        }
    }

    async fn connect(&self) -> Result<Client> {
        ConnectOptions::new()
            .read_buffer_capacity(READ_BUFFER_BYTES)
            .connection_timeout(Duration::from_secs(30))
            .connect(self.url.as_str())
            .await
            .with_context(|| format!("connecting to {}", self.url))
    }

    fn subject(&self, publisher: usize) -> String {
        if self.spread {
            format!("bench.pub.{publisher}")
        } else {
            FANOUT_SUBJECT.to_owned()
        }
    }
}

/// Waits until the server has processed everything this client sent so far.
async fn round_trip(client: &Client) -> Result<()> {
    let inbox = client.new_inbox();
    let mut sync = client.subscribe(inbox.clone()).await?;
    client.publish(inbox, bytes::Bytes::new()).await?;
    tokio::time::timeout(CONFIRM_TIMEOUT, sync.next())
        .await
        .context("no round trip through the server")?
        .ok_or_else(|| anyhow!("connection closed"))?;
    sync.unsubscribe().await?;
    Ok(())
}

impl Driver for NatsDriver {
    type Sub = NatsSub;
    type PubTx = NatsPubTx;
    type PubRx = NatsPubRx;

    fn name(&self) -> &'static str {
        "nats"
    }

    async fn subscriber(&self, _idx: usize, since: Option<u64>) -> Result<NatsSub> {
        if since.is_some() {
            bail!("core NATS has no replay: the resume scenario is for mpaka only");
        }
        let client = self.connect().await?;
        let sub = client.subscribe(self.subject(0)).await?;
        round_trip(&client).await?;
        Ok(NatsSub {
            _client: client,
            sub: Some(sub),
            confirmed: false,
        })
    }

    async fn idle(&self, _idx: usize) -> Result<NatsSub> {
        Ok(NatsSub {
            _client: self.connect().await?,
            sub: None,
            confirmed: true,
        })
    }

    async fn publisher(&self, idx: usize, _window: usize) -> Result<(NatsPubTx, NatsPubRx)> {
        let client = self.connect().await?;
        let subject = self.subject(idx);
        let echo = client.subscribe(subject.clone()).await?;
        round_trip(&client).await?;
        Ok((
            NatsPubTx {
                client: client.clone(),
                subject,
            },
            NatsPubRx {
                _client: client,
                echo,
                publisher: u32::try_from(idx)?,
            },
        ))
    }
}

pub struct NatsSub {
    /// Kept so the connection stays open while only the subscription is read.
    _client: Client,
    sub: Option<Subscriber>,
    confirmed: bool,
}

impl SubConn for NatsSub {
    async fn recv(&mut self) -> Result<Incoming> {
        if !self.confirmed {
            self.confirmed = true;
            return Ok(Incoming::Subscribed);
        }
        let Some(sub) = self.sub.as_mut() else {
            // Idle: the client's own task answers the server's pings.
            return std::future::pending().await;
        };
        let msg = sub
            .next()
            .await
            .ok_or_else(|| anyhow!("subscription closed"))?;
        Ok(Incoming::Payload(msg.payload))
    }
}

pub struct NatsPubTx {
    client: Client,
    subject: String,
}

impl PubSender for NatsPubTx {
    async fn send(&mut self, _seq: u64, payload: String) -> Result<()> {
        self.client
            .publish(self.subject.clone(), payload.into())
            .await?;
        Ok(())
    }
}

pub struct NatsPubRx {
    _client: Client,
    echo: Subscriber,
    publisher: u32,
}

impl AckReceiver for NatsPubRx {
    async fn next_ack(&mut self) -> Result<Ack> {
        loop {
            let msg = self
                .echo
                .next()
                .await
                .ok_or_else(|| anyhow!("subscription closed"))?;
            if let Some(stamp) = payload::parse(&msg.payload) {
                if stamp.publisher == self.publisher {
                    return Ok(Ack {
                        seq: stamp.seq,
                        server_seq: None,
                        ok: true,
                    });
                }
            }
        }
    }
}
