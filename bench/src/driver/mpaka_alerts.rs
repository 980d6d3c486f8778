//! The alerts driver (mpaka only: NATS and MQTT have no alerts): instead
//! of chat messages, each "publish" raises a mass-movement alert at one
//! post of the benchmark corridor and has the facing post acknowledge it,
//! so the hub's domain path is measured (draft validation, the alert
//! tables, the audience check of each step, observers' redaction).
//!
//! Publisher `idx` raises as one post's officer and acknowledges as the
//! facing post's; its publish counts as answered when the acknowledgement
//! is saved, so the reply latency covers both steps. Subscribers are the
//! corridor's readers plus, for every fifth connection, the observer, who
//! receives each alert with its text redacted: those deliveries are
//! counted ([`Incoming::Redacted`]) but carry no time stamp.

use super::mpaka::MpakaDriver;
use super::{Ack, AckReceiver, Driver, Incoming, PubSender, SubConn};
use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use mpaka_protocol::{
    AlertDraft, AlertKind, AlertStatus, Certainty, ClientFrame, Direction, Headcount,
    LocalizedText, Severity, Urgency, REDACTED,
};
use serde::Deserialize;
use std::borrow::Cow;
use tokio_tungstenite::tungstenite::Message;

type Ws = mpaka_client::WebSocket;

/// The two posts of the benchmark corridor, as (post, the country an
/// alert raised there points into).
const POSTS: [(&str, Direction); 2] = [
    ("mugina", Direction::IntoBurundi),
    ("manyovu", Direction::IntoTanzania),
];

/// One subscriber connection in this many is the observer's.
const OBSERVER_EVERY: usize = 5;

pub struct AlertsDriver {
    base: MpakaDriver,
    observer: Option<String>,
}

impl AlertsDriver {
    /// Wraps a prepared mpaka driver; needs both posts' officers.
    ///
    /// # Errors
    /// When an officer of the benchmark corridor was not logged in.
    pub fn new(base: MpakaDriver) -> Result<Self> {
        for (post, _) in POSTS {
            if !base.tokens.contains_key(&officer(post)) {
                bail!("the alerts scenario needs {}", officer(post));
            }
        }
        let observer = base.tokens.get("unhcr.observer").cloned();
        Ok(Self { base, observer })
    }

    fn token(&self, user: &str) -> &str {
        &self.base.tokens[user]
    }
}

fn officer(post: &str) -> String {
    format!("{post}.officer")
}

/// The alert a publisher raises: moderate (so no escalation timer fires
/// during the run), an exercise, with the benchmark payload as its text.
fn draft(direction: Direction, payload: String) -> AlertDraft {
    AlertDraft {
        post: None,
        kind: AlertKind::MassArrival,
        direction,
        headcount: Headcount::Range {
            low: 300,
            high: 450,
        },
        vulnerable: Default::default(),
        needs: Vec::new(),
        severity: Severity::Moderate,
        urgency: Urgency::Expected,
        certainty: Certainty::Observed,
        location: None,
        text: Some(LocalizedText {
            text: payload,
            lang: "en".into(),
        }),
        status: AlertStatus::Exercise,
        written_at: None,
    }
}

/// The parts of a server frame this driver looks at.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "type", borrow)]
    frame: Cow<'a, str>,
    /// The event kind (`alert.raised`, …) of an `event` frame.
    #[serde(default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<u64>,
    /// An event's body.
    #[serde(default, borrow)]
    body: Option<PeekBody<'a>>,
    /// `alert.saved`: the alert as stored.
    #[serde(default, borrow)]
    alert: Option<PeekAlert<'a>>,
    #[serde(default, borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct PeekBody<'a> {
    #[serde(borrow)]
    alert: PeekAlert<'a>,
}

#[derive(Deserialize)]
struct PeekAlert<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<PeekText<'a>>,
}

#[derive(Deserialize)]
struct PeekText<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
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

/// The next text frame of `ws`.
async fn next_text<S>(ws: &mut S) -> Result<String>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match ws
            .next()
            .await
            .ok_or_else(|| anyhow!("connection closed"))??
        {
            Message::Text(text) => return Ok(text.as_str().to_owned()),
            Message::Close(frame) => bail!("closed by server: {frame:?}"),
            _ => {}
        }
    }
}

impl Driver for AlertsDriver {
    type Sub = AlertsSub;
    type PubTx = AlertsPubTx;
    type PubRx = AlertsPubRx;

    fn name(&self) -> &'static str {
        "mpaka"
    }

    async fn subscriber(&self, idx: usize, since: Option<u64>) -> Result<AlertsSub> {
        let token = match &self.observer {
            Some(observer) if idx % OBSERVER_EVERY == OBSERVER_EVERY - 1 => observer.as_str(),
            _ => self.base.reader_token(idx),
        };
        let mut ws = self.base.open(token).await?;
        let subscribe = ClientFrame::Subscribe {
            id: "s1".into(),
            channels: vec![self.base.channel().clone()],
            since,
            epoch: None,
        };
        ws.send(Message::text(serde_json::to_string(&subscribe)?))
            .await?;
        Ok(AlertsSub { ws })
    }

    async fn idle(&self, idx: usize) -> Result<AlertsSub> {
        let ws = self.base.open(self.base.reader_token(idx)).await?;
        Ok(AlertsSub { ws })
    }

    async fn publisher(&self, idx: usize, _window: usize) -> Result<(AlertsPubTx, AlertsPubRx)> {
        let (raiser_post, direction) = POSTS[idx % 2];
        let (acker_post, _) = POSTS[(idx + 1) % 2];
        let raiser = self
            .base
            .open(self.token(&officer(raiser_post)))
            .await
            .context("raising officer")?;
        let acker = self
            .base
            .open(self.token(&officer(acker_post)))
            .await
            .context("acknowledging officer")?;
        let (raise_sink, raise_stream) = raiser.split();
        let (ack_sink, ack_stream) = acker.split();
        let id_prefix = format!("{}-a{idx}-", self.base.run_tag);
        Ok((
            AlertsPubTx {
                sink: raise_sink,
                direction,
                id_prefix: id_prefix.clone(),
            },
            AlertsPubRx {
                raised: raise_stream,
                ack_sink,
                acked: ack_stream,
                id_prefix,
            },
        ))
    }
}

pub struct AlertsSub {
    ws: Ws,
}

impl SubConn for AlertsSub {
    async fn recv(&mut self) -> Result<Incoming> {
        loop {
            let text = next_text(&mut self.ws).await?;
            let peek: Peek = serde_json::from_str(&text)?;
            match &*peek.frame {
                "event" if peek.kind.as_deref() == Some("alert.raised") => {
                    let Some(shown) = peek.body.and_then(|b| b.alert.text) else {
                        continue;
                    };
                    if shown.text == REDACTED {
                        return Ok(Incoming::Redacted);
                    }
                    return Ok(Incoming::Payload(Bytes::from(shown.text.into_owned())));
                }
                "subscribed" => return Ok(Incoming::Subscribed),
                "error" => bail!("server error: {}", peek.describe_error()),
                _ => {}
            }
        }
    }
}

pub struct AlertsPubTx {
    sink: SplitSink<Ws, Message>,
    direction: Direction,
    id_prefix: String,
}

impl PubSender for AlertsPubTx {
    async fn send(&mut self, seq: u64, payload: String) -> Result<()> {
        let frame = ClientFrame::AlertRaise {
            id: format!("{}{seq}", self.id_prefix),
            alert: draft(self.direction, payload),
        };
        self.sink
            .send(Message::text(serde_json::to_string(&frame)?))
            .await?;
        Ok(())
    }
}

/// Replies to raises (which trigger the acknowledgement) and to
/// acknowledgements (which answer the benchmark's publish).
pub struct AlertsPubRx {
    raised: SplitStream<Ws>,
    ack_sink: SplitSink<Ws, Message>,
    acked: SplitStream<Ws>,
    id_prefix: String,
}

/// The benchmark's sequence number in a request id of this publisher.
fn seq_of(prefix: &str, id: Option<&str>) -> Option<u64> {
    id?.strip_prefix(prefix)?.parse().ok()
}

impl AckReceiver for AlertsPubRx {
    async fn next_ack(&mut self) -> Result<Ack> {
        loop {
            tokio::select! {
                text = next_text(&mut self.raised) => {
                    let text = text?;
                    let peek: Peek = serde_json::from_str(&text)?;
                    let seq = seq_of(&self.id_prefix, peek.id.as_deref());
                    match (&*peek.frame, seq) {
                        ("alert.saved", Some(seq)) => {
                            let alert_id = peek
                                .alert
                                .and_then(|a| a.id)
                                .ok_or_else(|| anyhow!("alert.saved without an alert id"))?;
                            let frame = ClientFrame::AlertAck {
                                id: format!("{}{seq}", self.id_prefix),
                                alert_id: alert_id.into_owned(),
                                written_at: None,
                            };
                            self.ack_sink
                                .send(Message::text(serde_json::to_string(&frame)?))
                                .await?;
                        }
                        ("error", Some(seq)) => {
                            return Ok(Ack { seq, server_seq: None, ok: false });
                        }
                        ("error", None) => bail!("server error: {}", peek.describe_error()),
                        _ => {}
                    }
                }
                text = next_text(&mut self.acked) => {
                    let text = text?;
                    let peek: Peek = serde_json::from_str(&text)?;
                    let seq = seq_of(&self.id_prefix, peek.id.as_deref());
                    match (&*peek.frame, seq) {
                        ("alert.saved", Some(seq)) => {
                            return Ok(Ack { seq, server_seq: peek.seq, ok: true });
                        }
                        ("error", Some(seq)) => {
                            return Ok(Ack { seq, server_seq: None, ok: false });
                        }
                        ("error", None) => bail!("server error: {}", peek.describe_error()),
                        _ => {}
                    }
                }
            }
        }
    }
}
