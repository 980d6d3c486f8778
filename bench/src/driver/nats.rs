//! The NATS driver: the NATS client protocol spoken over the server's
//! WebSocket listener with tokio-tungstenite.
//!
//! Why not the official `async-nats` crate, which has a `websockets`
//! feature? Its WebSocket transport opens the TCP socket without
//! `TCP_NODELAY` and offers no hook to set it, so small publishes wait on
//! Nagle's algorithm and the server's delayed ACK (about 40 ms each): that
//! would measure the client, not the server. Speaking the (small, text)
//! protocol directly also puts NATS on the same WebSocket stack as the mpaka
//! driver.
//!
//! Core NATS has no per-message reply, so a publisher sends `PING` after
//! every `PUB` and counts the message answered at the matching `PONG`: the
//! server has then processed the publish (a request flush). A subscription
//! is confirmed the same way: `SUB` then `PING`, answered in order.

use super::{Ack, AckReceiver, Driver, Incoming, PubSender, SubConn};
use anyhow::{anyhow, bail, Context, Result};
use bytes::{Buf, Bytes, BytesMut};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Subject of every scenario but (e), where each publisher has its own.
const FANOUT_SUBJECT: &str = "bench.fanout";

/// Client socket buffers, bytes.
const READ_BUFFER_BYTES: usize = 16 * 1024;
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// The CONNECT options: no `+OK` per command, echo on.
const CONNECT: &str = "CONNECT {\"verbose\":false,\"pedantic\":false,\"lang\":\"rust\",\"version\":\"mpaka-bench\",\"protocol\":1,\"echo\":true,\"headers\":false}\r\n";

pub struct NatsDriver {
    url: String,
    /// Each publisher on its own subject (scenario e).
    spread: bool,
}

impl NatsDriver {
    /// `url` is the server's WebSocket URL, e.g. `ws://127.0.0.1:8080`.
    pub fn new(url: &str, spread: bool) -> Self {
        Self {
            url: url.to_owned(),
            spread,
        }
    }

    fn subject(&self, publisher: usize) -> String {
        if self.spread {
            format!("bench.pub.{publisher}")
        } else {
            FANOUT_SUBJECT.to_owned()
        }
    }

    /// Connects, sends CONNECT followed by `extra` and a PING, and waits
    /// for the PONG: everything sent so far has been processed.
    async fn open(&self, extra: &str) -> Result<Reader<Ws>> {
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(WRITE_BUFFER_BYTES);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(&self.url, Some(config), true)
            .await
            .with_context(|| format!("connecting to {}", self.url))?;
        let mut conn = Reader::new(ws);
        let hello = format!("{CONNECT}{extra}PING\r\n");
        conn.inner.send(Message::binary(hello)).await?;
        loop {
            match conn.next_op().await? {
                Op::Pong => return Ok(conn),
                Op::Ping => conn.inner.send(Message::binary("PONG\r\n")).await?,
                Op::Msg(_) => {}
            }
        }
    }
}

/// A server operation the benchmark acts on.
enum Op {
    Msg(Bytes),
    Ping,
    Pong,
}

/// Reads NATS operations from WebSocket frames, which may split or join them.
struct Reader<S> {
    inner: S,
    buf: BytesMut,
}

impl<S> Reader<S>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    fn new(inner: S) -> Self {
        Self {
            inner,
            buf: BytesMut::new(),
        }
    }

    /// Parses one operation from the buffer, if it is all there.
    fn parse(&mut self) -> Result<Option<Op>> {
        loop {
            let Some(eol) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                return Ok(None);
            };
            let line = &self.buf[..eol];
            if line.starts_with(b"MSG ") {
                let text = std::str::from_utf8(line)?;
                let len: usize = text
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| anyhow!("bad MSG line: {text}"))?;
                if self.buf.len() < eol + 2 + len + 2 {
                    return Ok(None);
                }
                self.buf.advance(eol + 2);
                let payload = self.buf.split_to(len).freeze();
                self.buf.advance(2);
                return Ok(Some(Op::Msg(payload)));
            }
            let op = if line == b"PING" {
                Some(Op::Ping)
            } else if line == b"PONG" {
                Some(Op::Pong)
            } else if line.starts_with(b"-ERR") {
                bail!("server error: {}", String::from_utf8_lossy(line));
            } else {
                None // INFO, +OK
            };
            self.buf.advance(eol + 2);
            if op.is_some() {
                return Ok(op);
            }
        }
    }

    async fn next_op(&mut self) -> Result<Op> {
        loop {
            if let Some(op) = self.parse()? {
                return Ok(op);
            }
            let msg = self
                .inner
                .next()
                .await
                .ok_or_else(|| anyhow!("connection closed"))??;
            match msg {
                Message::Binary(b) => self.buf.extend_from_slice(&b),
                Message::Text(t) => self.buf.extend_from_slice(t.as_bytes()),
                Message::Close(frame) => bail!("closed by server: {frame:?}"),
                _ => {}
            }
        }
    }
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
        let conn = self.open(&format!("SUB {} 1\r\n", self.subject(0))).await?;
        Ok(NatsSub {
            conn,
            confirmed: false,
        })
    }

    async fn idle(&self, _idx: usize) -> Result<NatsSub> {
        Ok(NatsSub {
            conn: self.open("").await?,
            confirmed: true,
        })
    }

    async fn publisher(&self, idx: usize, _window: usize) -> Result<(NatsPubTx, NatsPubRx)> {
        let conn = self.open("").await?;
        let (sink, stream) = conn.inner.split();
        let sink = Arc::new(tokio::sync::Mutex::new(sink));
        let pinged = Arc::new(Mutex::new(VecDeque::new()));
        Ok((
            NatsPubTx {
                sink: sink.clone(),
                subject: self.subject(idx),
                pinged: pinged.clone(),
            },
            NatsPubRx {
                reader: Reader {
                    inner: stream,
                    buf: conn.buf,
                },
                sink,
                pinged,
            },
        ))
    }
}

pub struct NatsSub {
    conn: Reader<Ws>,
    confirmed: bool,
}

impl SubConn for NatsSub {
    async fn recv(&mut self) -> Result<Incoming> {
        if !self.confirmed {
            // `open` already waited for the PONG that follows the SUB.
            self.confirmed = true;
            return Ok(Incoming::Subscribed);
        }
        loop {
            match self.conn.next_op().await? {
                Op::Msg(payload) => return Ok(Incoming::Payload(payload)),
                Op::Ping => {
                    self.conn.inner.send(Message::binary("PONG\r\n")).await?;
                }
                Op::Pong => {}
            }
        }
    }
}

type SharedSink = Arc<tokio::sync::Mutex<SplitSink<Ws, Message>>>;

pub struct NatsPubTx {
    sink: SharedSink,
    subject: String,
    /// Sequence numbers whose PING awaits its PONG, oldest first.
    pinged: Arc<Mutex<VecDeque<u64>>>,
}

impl PubSender for NatsPubTx {
    async fn send(&mut self, seq: u64, payload: String) -> Result<()> {
        let mut frame = Vec::with_capacity(payload.len() + self.subject.len() + 32);
        frame.extend_from_slice(format!("PUB {} {}\r\n", self.subject, payload.len()).as_bytes());
        frame.extend_from_slice(payload.as_bytes());
        frame.extend_from_slice(b"\r\nPING\r\n");
        self.pinged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(seq);
        self.sink.lock().await.send(Message::binary(frame)).await?;
        Ok(())
    }
}

pub struct NatsPubRx {
    reader: Reader<SplitStream<Ws>>,
    sink: SharedSink,
    pinged: Arc<Mutex<VecDeque<u64>>>,
}

impl AckReceiver for NatsPubRx {
    async fn next_ack(&mut self) -> Result<Ack> {
        loop {
            match self.reader.next_op().await? {
                Op::Pong => {
                    let seq = self
                        .pinged
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .pop_front()
                        .ok_or_else(|| anyhow!("PONG without a PING"))?;
                    return Ok(Ack {
                        seq,
                        server_seq: None,
                        ok: true,
                    });
                }
                Op::Ping => {
                    self.sink
                        .lock()
                        .await
                        .send(Message::binary("PONG\r\n"))
                        .await?;
                }
                Op::Msg(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    type Frames =
        stream::Iter<std::vec::IntoIter<Result<Message, tokio_tungstenite::tungstenite::Error>>>;

    fn reader(frames: &[&str]) -> Reader<Frames> {
        let msgs: Vec<_> = frames
            .iter()
            .map(|f| Ok(Message::binary(f.to_string())))
            .collect();
        Reader::new(stream::iter(msgs))
    }

    #[tokio::test]
    async fn operations_split_across_frames_are_reassembled() {
        let mut r = reader(&[
            "INFO {}\r\nPI",
            "NG\r\nMSG a.b 1 5\r\nhel",
            "lo\r\nPONG\r\n",
        ]);
        assert!(matches!(r.next_op().await.unwrap(), Op::Ping));
        match r.next_op().await.unwrap() {
            Op::Msg(p) => assert_eq!(&p[..], b"hello"),
            _ => panic!("expected a MSG"),
        }
        assert!(matches!(r.next_op().await.unwrap(), Op::Pong));
    }

    #[tokio::test]
    async fn a_server_error_is_reported() {
        let mut r = reader(&["-ERR 'Authorization Violation'\r\n"]);
        assert!(r.next_op().await.is_err());
    }
}
