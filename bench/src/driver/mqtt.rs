//! The MQTT 3.1.1 driver, over Mosquitto's WebSocket listener with the
//! `rumqttc` client (its `websocket` feature).
//!
//! QoS 1 by default: a publish is answered by the broker's PUBACK, and
//! subscribers subscribe at QoS 1 so the broker keeps their queue. rumqttc
//! reports `Outgoing::Publish(pkid)` when it writes a publish, in the order
//! the publishes were handed to it, which maps packet ids back to the
//! benchmark's sequence numbers.

use super::{Ack, AckReceiver, Driver, Incoming, PubSender, SubConn};
use anyhow::{anyhow, bail, Context, Result};
use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, EventLoop, MqttOptions, NetworkOptions, Outgoing,
    Packet, QoS, Transport,
};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Topic of every scenario but (e), where each publisher has its own.
const FANOUT_TOPIC: &str = "bench/fanout";

/// Requests a client may queue for its event loop.
const REQUEST_CAPACITY: usize = 1024;

/// How long one connection attempt may take, seconds (thousands connect at once).
const CONNECT_TIMEOUT_SECS: u64 = 60;

/// Largest MQTT packet either way, bytes.
const MAX_PACKET_BYTES: usize = 256 * 1024;

pub struct MqttDriver {
    url: String,
    port: u16,
    qos: QoS,
    spread: bool,
    /// Makes client ids unique across runs against one broker.
    tag: String,
}

impl MqttDriver {
    /// `url` is the broker's WebSocket URL, e.g. `ws://127.0.0.1:9001/mqtt`.
    ///
    /// # Errors
    /// When the URL has no port or `qos` is not 0 or 1.
    pub fn new(url: &str, qos: u8, spread: bool) -> Result<Self> {
        let port = url
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| anyhow!("no port in {url}"))?;
        let qos = match qos {
            0 => QoS::AtMostOnce,
            1 => QoS::AtLeastOnce,
            other => bail!("unsupported QoS {other}"),
        };
        Ok(Self {
            url: url.to_owned(),
            port,
            qos,
            spread,
            tag: format!(
                "b{}",
                crate::payload::now_ns() ^ u64::from(std::process::id())
            ),
        })
    }

    fn topic(&self, publisher: usize) -> String {
        if self.spread {
            format!("bench/pub/{publisher}")
        } else {
            FANOUT_TOPIC.to_owned()
        }
    }

    async fn connect(&self, client_id: String, inflight: u16) -> Result<(AsyncClient, EventLoop)> {
        let mut options = MqttOptions::new(client_id, self.url.clone(), self.port);
        options
            .set_transport(Transport::Ws)
            .set_keep_alive(Duration::from_secs(60))
            .set_clean_session(true)
            .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
            .set_inflight(inflight.max(1));
        let (client, mut events) = AsyncClient::new(options, REQUEST_CAPACITY);
        // Without TCP_NODELAY small publishes wait on Nagle's algorithm.
        let mut network = NetworkOptions::new();
        network.set_tcp_nodelay(true);
        network.set_connection_timeout(CONNECT_TIMEOUT_SECS);
        events.set_network_options(network);
        loop {
            match events.poll().await.context("connecting to the broker")? {
                Event::Incoming(Packet::ConnAck(ack)) => {
                    if ack.code != ConnectReturnCode::Success {
                        bail!("broker refused the connection: {:?}", ack.code);
                    }
                    return Ok((client, events));
                }
                _ => continue,
            }
        }
    }
}

impl Driver for MqttDriver {
    type Sub = MqttSub;
    type PubTx = MqttPubTx;
    type PubRx = MqttPubRx;

    fn name(&self) -> &'static str {
        "mqtt"
    }

    async fn subscriber(&self, idx: usize, since: Option<u64>) -> Result<MqttSub> {
        if since.is_some() {
            bail!("the resume scenario is for mpaka only");
        }
        let (client, events) = self.connect(format!("{}-s{idx}", self.tag), 1).await?;
        client.subscribe(self.topic(0), self.qos).await?;
        Ok(MqttSub {
            _client: client,
            events,
        })
    }

    async fn idle(&self, idx: usize) -> Result<MqttSub> {
        let (client, events) = self.connect(format!("{}-i{idx}", self.tag), 1).await?;
        Ok(MqttSub {
            _client: client,
            events,
        })
    }

    async fn publisher(&self, idx: usize, window: usize) -> Result<(MqttPubTx, MqttPubRx)> {
        let inflight = u16::try_from(window).unwrap_or(u16::MAX);
        let (client, events) = self
            .connect(format!("{}-p{idx}", self.tag), inflight)
            .await?;
        let queued = Arc::new(Mutex::new(VecDeque::new()));
        Ok((
            MqttPubTx {
                client: client.clone(),
                topic: self.topic(idx),
                qos: self.qos,
                queued: queued.clone(),
            },
            MqttPubRx {
                _client: client,
                events,
                queued,
                in_flight: HashMap::new(),
                ready: VecDeque::new(),
            },
        ))
    }
}

pub struct MqttSub {
    /// Dropping the client would end the event loop.
    _client: AsyncClient,
    events: EventLoop,
}

impl SubConn for MqttSub {
    async fn recv(&mut self) -> Result<Incoming> {
        loop {
            match self.events.poll().await? {
                Event::Incoming(Packet::Publish(p)) => return Ok(Incoming::Payload(p.payload)),
                Event::Incoming(Packet::SubAck(_)) => return Ok(Incoming::Subscribed),
                Event::Incoming(Packet::Disconnect) => bail!("broker disconnected"),
                _ => {}
            }
        }
    }
}

pub struct MqttPubTx {
    client: AsyncClient,
    topic: String,
    qos: QoS,
    /// Sequence numbers handed to rumqttc and not yet written.
    queued: Arc<Mutex<VecDeque<u64>>>,
}

impl PubSender for MqttPubTx {
    async fn send(&mut self, seq: u64, payload: String) -> Result<()> {
        self.queued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(seq);
        self.client
            .publish(self.topic.clone(), self.qos, false, payload.into_bytes())
            .await?;
        Ok(())
    }
}

pub struct MqttPubRx {
    _client: AsyncClient,
    events: EventLoop,
    queued: Arc<Mutex<VecDeque<u64>>>,
    /// Packet id of each written, unacknowledged publish.
    in_flight: HashMap<u16, u64>,
    /// QoS 0 publishes count as answered once written.
    ready: VecDeque<u64>,
}

impl AckReceiver for MqttPubRx {
    async fn next_ack(&mut self) -> Result<Ack> {
        loop {
            if let Some(seq) = self.ready.pop_front() {
                return Ok(Ack {
                    seq,
                    server_seq: None,
                    ok: true,
                });
            }
            match self.events.poll().await? {
                Event::Outgoing(Outgoing::Publish(pkid)) => {
                    let seq = self
                        .queued
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .pop_front()
                        .ok_or_else(|| anyhow!("rumqttc wrote a publish it was not given"))?;
                    if pkid == 0 {
                        self.ready.push_back(seq);
                    } else {
                        self.in_flight.insert(pkid, seq);
                    }
                }
                Event::Incoming(Packet::PubAck(ack)) => {
                    if let Some(seq) = self.in_flight.remove(&ack.pkid) {
                        return Ok(Ack {
                            seq,
                            server_seq: None,
                            ok: true,
                        });
                    }
                }
                Event::Incoming(Packet::Disconnect) => bail!("broker disconnected"),
                _ => {}
            }
        }
    }
}
