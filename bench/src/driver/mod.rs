//! The one interface the scenarios drive. Each target (mpaka, NATS,
//! Mosquitto) implements it over its own WebSocket protocol; everything that
//! measures lives outside the drivers, so all targets are measured alike.

pub mod mpaka;
pub mod mpaka_alerts;
pub mod mqtt;
pub mod nats;

use anyhow::Result;
use bytes::Bytes;
use std::future::Future;

/// What a subscriber connection yields.
#[derive(Debug)]
pub enum Incoming {
    /// The payload of one delivered message, exactly as published.
    Payload(Bytes),
    /// The server confirmed the subscription (for mpaka: after any replay).
    Subscribed,
    /// A delivery whose payload the server redacted for this subscriber
    /// (an observer): counted, but it cannot be told apart from others.
    Redacted,
}

/// A publish the server has answered.
#[derive(Debug, Clone, Copy)]
pub struct Ack {
    /// The benchmark's own sequence number of the message.
    pub seq: u64,
    /// The server's sequence number, where the protocol has one (mpaka).
    pub server_seq: Option<u64>,
    /// False when the server refused the publish.
    pub ok: bool,
}

/// Opens connections to one target.
pub trait Driver: Send + Sync + 'static {
    type Sub: SubConn;
    type PubTx: PubSender;
    type PubRx: AckReceiver;

    /// Short name used in results: `mpaka`, `nats` or `mqtt`.
    fn name(&self) -> &'static str;

    /// Connects (and authenticates) connection number `idx` and asks to
    /// subscribe to the benchmark channel, replaying after `since` where the
    /// target supports it. Returns once the request is sent; the connection
    /// later yields [`Incoming::Subscribed`].
    fn subscriber(
        &self,
        idx: usize,
        since: Option<u64>,
    ) -> impl Future<Output = Result<Self::Sub>> + Send;

    /// Connects (and authenticates) connection `idx` without subscribing.
    fn idle(&self, idx: usize) -> impl Future<Output = Result<Self::Sub>> + Send;

    /// Connects publisher `idx`, allowing up to `window` unanswered publishes.
    fn publisher(
        &self,
        idx: usize,
        window: usize,
    ) -> impl Future<Output = Result<(Self::PubTx, Self::PubRx)>> + Send;
}

/// The receiving side of a subscriber (or idle) connection.
pub trait SubConn: Send + 'static {
    /// The next delivery or confirmation.
    ///
    /// # Errors
    /// When the connection fails or the server closes it.
    fn recv(&mut self) -> impl Future<Output = Result<Incoming>> + Send;
}

/// The sending half of a publisher.
pub trait PubSender: Send + 'static {
    /// Publishes `payload` as the benchmark's message `seq`.
    ///
    /// # Errors
    /// When the connection fails.
    fn send(&mut self, seq: u64, payload: String) -> impl Future<Output = Result<()>> + Send;
}

/// The receiving half of a publisher: the server's replies to publishes.
pub trait AckReceiver: Send + 'static {
    /// The next reply.
    ///
    /// # Errors
    /// When the connection fails or the server closes it.
    fn next_ack(&mut self) -> impl Future<Output = Result<Ack>> + Send;
}
