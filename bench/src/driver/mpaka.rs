//! The mpaka driver: logs in and opens sockets with `mpaka_client`, then
//! reads the hub's JSON frames itself (borrowing from each frame instead of
//! decoding a whole `ServerFrame`, so the load generator stays cheap). It
//! asks for the event encoding and batching it is given ([`Wire`]), so the
//! benchmark can compare them.
//!
//! Subscribers are spread over the users who may read the benchmark
//! corridor without redaction (both posts' officers and both coordinators);
//! many connections share one user, as browser tabs would.

use super::{Ack, AckReceiver, Driver, Incoming, PubSender, SubConn};
use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use mpaka_client::{DemoCredentials, HubClient, Socket};
use mpaka_protocol::wire::Encoding;
use mpaka_protocol::{ChannelId, ClientFrame};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

type Ws = mpaka_client::WebSocket;

/// Client socket buffers: events are about 1 KiB, so small buffers keep
/// ten thousand connections cheap for the harness.
const READ_BUFFER_BYTES: usize = 16 * 1024;
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// The corridor every scenario but (e) publishes and subscribes on.
const BENCH_CORRIDOR: (&str, &str) = ("mugina", "manyovu");

/// Corridors of the demo directory, as (Burundian post, Tanzanian post).
const CORRIDORS: [(&str, &str); 3] = [
    ("mugina", "manyovu"),
    ("gisuru", "kibondo"),
    ("kobero", "kabanga"),
];

const COORDINATORS: [&str; 2] = ["bi.coordinator", "tz.coordinator"];

/// A logged-in user that may publish on `channel`.
#[derive(Clone)]
struct Writer {
    token: String,
    channel: ChannelId,
}

/// How the driver's sockets ask for events.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wire {
    pub encoding: Encoding,
    pub batch: bool,
}

pub struct MpakaDriver {
    wire: Wire,
    ws_url: String,
    channel: ChannelId,
    reader_tokens: Vec<String>,
    writers: Vec<Writer>,
    /// Makes publish ids unique across runs against the same data directory.
    pub(super) run_tag: String,
    /// Every token logged in, by user name (the alerts driver picks its
    /// raising, acknowledging and observing users from them).
    pub(super) tokens: HashMap<String, String>,
}

/// The parts of a server frame the benchmark looks at, borrowed from the
/// frame where possible.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default, borrow)]
    body: Option<PeekBody<'a>>,
    #[serde(default, borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct PeekBody<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

impl Peek<'_> {
    fn describe_error(&self) -> String {
        format!(
            "{}: {}",
            self.code.as_deref().unwrap_or("?"),
            self.message.as_deref().unwrap_or("")
        )
    }
}

impl MpakaDriver {
    /// Logs in the users the benchmark needs, from the `demo-credentials.tsv`
    /// that `mpaka serve --demo` wrote. With `spread`, publishers rotate over
    /// every corridor of the demo directory instead of the benchmark one.
    ///
    /// # Errors
    /// When the file cannot be read or a login fails.
    pub async fn prepare(
        http_base: &str,
        credentials: &Path,
        spread: bool,
        wire: Wire,
    ) -> Result<Self> {
        let passwords = DemoCredentials::read(credentials)?;
        let hub = HubClient::new(http_base);
        let mut tokens: HashMap<String, String> = HashMap::new();
        let mut token_of = async |user: &str| -> Result<Option<String>> {
            if let Some(t) = tokens.get(user) {
                return Ok(Some(t.clone()));
            }
            let Some(password) = passwords.password(user) else {
                return Ok(None);
            };
            let token = hub
                .login(user, password)
                .await
                .with_context(|| format!("logging in {user}"))?
                .access_token;
            tokens.insert(user.to_owned(), token.clone());
            Ok(Some(token))
        };

        let (bi_post, tz_post) = BENCH_CORRIDOR;
        // The observer is logged in only for the alerts scenario, which
        // subscribes it to measure redaction; messages scenarios do not
        // use it (it sees redacted text).
        token_of("unhcr.observer").await?;
        let readers = [
            format!("{bi_post}.officer"),
            format!("{tz_post}.officer"),
            COORDINATORS[0].to_owned(),
            COORDINATORS[1].to_owned(),
        ];
        let mut reader_tokens = Vec::new();
        for user in &readers {
            if let Some(t) = token_of(user).await? {
                reader_tokens.push(t);
            }
        }
        if reader_tokens.is_empty() {
            bail!("none of {readers:?} is in {}", credentials.display());
        }

        let corridors: &[(&str, &str)] = if spread {
            &CORRIDORS
        } else {
            std::slice::from_ref(&BENCH_CORRIDOR)
        };
        let mut writers = Vec::new();
        for (a, b) in corridors {
            let channel = ChannelId::Corridor(format!("{a}-{b}"));
            let users = [
                format!("{a}.officer"),
                format!("{b}.officer"),
                COORDINATORS[0].to_owned(),
                COORDINATORS[1].to_owned(),
            ];
            for user in users {
                if let Some(token) = token_of(&user).await? {
                    writers.push(Writer {
                        token,
                        channel: channel.clone(),
                    });
                }
            }
        }
        if writers.is_empty() {
            bail!("no publishing user found in {}", credentials.display());
        }

        let ws_url = hub.ws_url();
        let run_tag = format!(
            "b{}",
            std::process::id() ^ (crate::payload::now_ns() as u32)
        );
        Ok(Self {
            wire,
            ws_url,
            channel: ChannelId::Corridor(format!("{bi_post}-{tz_post}")),
            reader_tokens,
            writers,
            run_tag,
            tokens,
        })
    }

    /// The benchmark corridor's channel.
    pub(super) fn channel(&self) -> &ChannelId {
        &self.channel
    }

    /// A token for connection `idx` of a user who reads the benchmark
    /// corridor without redaction.
    pub(super) fn reader_token(&self, idx: usize) -> &str {
        &self.reader_tokens[idx % self.reader_tokens.len()]
    }

    /// Opens a socket and authenticates it with `token`.
    pub(super) async fn open(&self, token: &str) -> Result<Ws> {
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(WRITE_BUFFER_BYTES);
        let mut socket = Socket::connect_with_config(&self.ws_url, config)
            .await
            .with_context(|| format!("connecting to {}", self.ws_url))?;
        socket
            .auth_with(token, self.wire.encoding, self.wire.batch)
            .await
            .context("auth refused")?;
        // From here the benchmark reads frames its own, cheaper way.
        Ok(socket.into_inner())
    }
}

impl Driver for MpakaDriver {
    type Sub = MpakaSub;
    type PubTx = MpakaPubTx;
    type PubRx = MpakaPubRx;

    fn name(&self) -> &'static str {
        "mpaka"
    }

    async fn subscriber(&self, idx: usize, since: Option<u64>) -> Result<MpakaSub> {
        let token = &self.reader_tokens[idx % self.reader_tokens.len()];
        let mut ws = self.open(token).await?;
        let subscribe = ClientFrame::Subscribe {
            id: "s1".into(),
            channels: vec![self.channel.clone()],
            since,
            epoch: None,
        };
        ws.send(Message::text(serde_json::to_string(&subscribe)?))
            .await?;
        Ok(MpakaSub {
            ws,
            ready: VecDeque::new(),
        })
    }

    async fn idle(&self, idx: usize) -> Result<MpakaSub> {
        let token = &self.reader_tokens[idx % self.reader_tokens.len()];
        Ok(MpakaSub {
            ws: self.open(token).await?,
            ready: VecDeque::new(),
        })
    }

    async fn publisher(&self, idx: usize, _window: usize) -> Result<(MpakaPubTx, MpakaPubRx)> {
        let writer = &self.writers[idx % self.writers.len()];
        let ws = self.open(&writer.token).await?;
        let (sink, stream) = ws.split();
        Ok((
            MpakaPubTx {
                sink,
                channel: writer.channel.clone(),
                id_prefix: format!("{}-{idx}-", self.run_tag),
            },
            MpakaPubRx { stream },
        ))
    }
}

pub struct MpakaSub {
    ws: Ws,
    /// What a batched message held beyond the one already returned.
    ready: VecDeque<Incoming>,
}

/// Where `part`, a slice borrowed from `whole`, starts inside it.
fn offset_in(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// A compact event, `[seq, channel, at, author, kind, body]`, with only
/// the body's text looked at.
#[derive(Deserialize)]
struct PeekCompact<'a>(
    serde::de::IgnoredAny,
    serde::de::IgnoredAny,
    serde::de::IgnoredAny,
    serde::de::IgnoredAny,
    serde::de::IgnoredAny,
    #[serde(borrow)] PeekBody<'a>,
);

/// The payload of an event's text, sharing the message's bytes instead of
/// copying when the text needed no unescaping.
fn payload_of(whole: &Bytes, text: &str, body: Cow<'_, str>) -> Bytes {
    match body {
        Cow::Borrowed(s) => {
            let start = offset_in(text, s);
            whole.slice(start..start + s.len())
        }
        Cow::Owned(s) => Bytes::from(s),
    }
}

impl MpakaSub {
    /// Reads one frame (one line of a batched message) into `ready`.
    fn take_line(&mut self, whole: &Bytes, text: &str, line: &str) -> Result<()> {
        if line.starts_with('[') {
            let PeekCompact(.., body) = serde_json::from_str(line)?;
            if let Some(body) = body.text {
                let payload = payload_of(whole, text, body);
                self.ready.push_back(Incoming::Payload(payload));
            }
            return Ok(());
        }
        let peek: Peek = serde_json::from_str(line)?;
        match &*peek.kind {
            "event" => {
                if let Some(body) = peek.body.and_then(|b| b.text) {
                    let payload = payload_of(whole, text, body);
                    self.ready.push_back(Incoming::Payload(payload));
                }
            }
            "subscribed" => self.ready.push_back(Incoming::Subscribed),
            "error" => bail!("server error: {}", peek.describe_error()),
            _ => {}
        }
        Ok(())
    }
}

impl SubConn for MpakaSub {
    async fn recv(&mut self) -> Result<Incoming> {
        loop {
            if let Some(incoming) = self.ready.pop_front() {
                return Ok(incoming);
            }
            let msg = self
                .ws
                .next()
                .await
                .ok_or_else(|| anyhow!("connection closed"))??;
            let text = match msg {
                Message::Text(text) => text,
                Message::Close(frame) => bail!("closed by server: {frame:?}"),
                _ => continue,
            };
            let whole = Bytes::from(text);
            // The bytes are the text's: valid UTF-8 by construction.
            let text = std::str::from_utf8(&whole)?;
            for line in text.split('\n') {
                self.take_line(&whole, text, line)?;
            }
        }
    }
}

pub struct MpakaPubTx {
    sink: SplitSink<Ws, Message>,
    channel: ChannelId,
    id_prefix: String,
}

impl PubSender for MpakaPubTx {
    async fn send(&mut self, seq: u64, payload: String) -> Result<()> {
        let frame = ClientFrame::Publish {
            written_at: None,
            id: format!("{}{seq}", self.id_prefix),
            channel: self.channel.clone(),
            text: payload,
            lang: None,
        };
        self.sink
            .send(Message::text(serde_json::to_string(&frame)?))
            .await?;
        Ok(())
    }
}

pub struct MpakaPubRx {
    stream: SplitStream<Ws>,
}

fn seq_of_id(id: Option<&str>) -> Option<u64> {
    id?.rsplit_once('-')?.1.parse().ok()
}

impl AckReceiver for MpakaPubRx {
    async fn next_ack(&mut self) -> Result<Ack> {
        loop {
            let msg = self
                .stream
                .next()
                .await
                .ok_or_else(|| anyhow!("connection closed"))??;
            let text = match msg {
                Message::Text(text) => text,
                Message::Close(frame) => bail!("closed by server: {frame:?}"),
                _ => continue,
            };
            let peek: Peek = serde_json::from_str(text.as_str())?;
            match &*peek.kind {
                "published" => {
                    let seq = seq_of_id(peek.id.as_deref())
                        .ok_or_else(|| anyhow!("reply to an unknown publish id"))?;
                    return Ok(Ack {
                        seq,
                        server_seq: peek.seq,
                        ok: true,
                    });
                }
                "error" => match seq_of_id(peek.id.as_deref()) {
                    Some(seq) => {
                        return Ok(Ack {
                            seq,
                            server_seq: None,
                            ok: false,
                        })
                    }
                    None => bail!("server error: {}", peek.describe_error()),
                },
                _ => {}
            }
        }
    }
}
