//! How one connection's event frames become WebSocket messages: the
//! `refs` a `compact` frame needs first (each told once per connection),
//! and, when the client asked for `batch`, frames ready together joined
//! into one message, one per line.

use crate::hub::Encoded;
use mpaka_protocol::wire::{AuthorRef, ChannelRef, Encoding, Refs};
use mpaka_protocol::ServerFrame;
use std::collections::HashSet;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// The largest batched message, in bytes: past it a new message starts, so
/// that a long replay does not become one huge frame for a phone to hold.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// What a connection asked for in `auth`, and the references it was told.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    pub(super) encoding: Encoding,
    pub(super) batch: bool,
    channels: HashSet<u32>,
    authors: HashSet<u32>,
}

impl Outbox {
    pub(super) fn new(encoding: Encoding, batch: bool) -> Outbox {
        Outbox {
            encoding,
            batch,
            ..Outbox::default()
        }
    }

    /// The messages that carry `frames` (and the `refs` they need) to
    /// this connection, in order.
    pub(super) fn messages<'a>(
        &mut self,
        frames: impl IntoIterator<Item = &'a Encoded>,
    ) -> Vec<Message> {
        let mut lines = Vec::new();
        for frame in frames {
            if let Some(refs) = self.unseen_refs(frame) {
                lines.push(refs);
            }
            lines.push(frame.bytes.clone());
        }
        if !self.batch {
            return lines.into_iter().map(Message::Text).collect();
        }
        let mut messages = Vec::new();
        let mut joined = String::new();
        for line in lines {
            if !joined.is_empty() && joined.len() + 1 + line.len() > MAX_BATCH_BYTES {
                messages.push(Message::Text(std::mem::take(&mut joined).into()));
            }
            if !joined.is_empty() {
                joined.push('\n');
            }
            joined.push_str(line.as_str());
        }
        if !joined.is_empty() {
            messages.push(Message::Text(joined.into()));
        }
        messages
    }

    /// A `refs` frame for the references of `frame` this connection has not
    /// been told yet.
    fn unseen_refs(&mut self, frame: &Encoded) -> Option<Utf8Bytes> {
        let used = frame.refs.as_ref()?;
        let mut refs = Refs::default();
        let (key, channel) = &used.channel;
        if self.channels.insert(*key) {
            refs.channels.push(ChannelRef {
                key: *key,
                channel: channel.clone(),
            });
        }
        if let Some((key, author)) = &used.author {
            if self.authors.insert(*key) {
                refs.authors.push(AuthorRef {
                    key: *key,
                    author: (**author).clone(),
                });
            }
        }
        if refs.channels.is_empty() && refs.authors.is_empty() {
            return None;
        }
        serde_json::to_string(&ServerFrame::Refs(refs))
            .ok()
            .map(Utf8Bytes::from)
    }
}
