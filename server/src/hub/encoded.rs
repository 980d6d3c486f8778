//! Event frames as bytes, in each encoding a connection may ask for, with
//! the short references a `compact` frame depends on.
//!
//! The references are hub-wide (one table per node, [`RefTable`]), so a
//! compact frame is encoded once per event and redaction class and shared by
//! every recipient, like a `json` frame; what differs per connection is only
//! which references it has already been told, which its writer tracks.

use crate::store::StoredEvent;
use mpaka_protocol::wire::{self, Encoding};
use mpaka_protocol::{Author, ChannelId, ServerFrame};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// One encoded event frame, ready to write to any recipient of its form.
#[derive(Debug)]
pub struct Encoded {
    pub bytes: Utf8Bytes,
    /// For `compact`: the references the frame uses, with their meaning.
    pub refs: Option<FrameRefs>,
}

/// The references a compact frame uses.
#[derive(Debug, Clone)]
pub struct FrameRefs {
    pub channel: (u32, ChannelId),
    pub author: Option<(u32, Arc<Author>)>,
}

impl Encoded {
    /// Bytes held in memory, counted against the replay cache's budget
    /// (the frame, its references and the bookkeeping around them).
    pub fn weight(&self) -> usize {
        const OVERHEAD: usize = 96;
        self.bytes.len() + OVERHEAD
    }
}

/// The four forms an event can take: encoding × redaction class.
pub const FORMS: usize = 4;

/// The index of a form among [`FORMS`].
pub fn form(encoding: Encoding, redact: bool) -> usize {
    match (encoding, redact) {
        (Encoding::Json, false) => 0,
        (Encoding::Json, true) => 1,
        (Encoding::Compact, false) => 2,
        (Encoding::Compact, true) => 3,
    }
}

/// Short references for channels and authors, assigned on first use and
/// kept for the life of the process. An author is keyed by its whole value:
/// a renamed user gets a new reference, which reaches each connection as a
/// new `refs` entry; the redacted author of observers (no id, no name) is
/// a value of its own, shared by everyone of that role, country and post.
#[derive(Debug, Default)]
pub struct RefTable {
    channels: HashMap<ChannelId, u32>,
    authors: HashMap<Arc<Author>, u32>,
}

/// The node's reference table, shared by the dispatcher and the sessions
/// that replay from storage; held only while one frame is encoded.
pub type SharedRefs = Arc<Mutex<RefTable>>;

impl RefTable {
    fn channel(&mut self, channel: &ChannelId) -> u32 {
        if let Some(key) = self.channels.get(channel) {
            return *key;
        }
        let key = u32::try_from(self.channels.len() + 1).unwrap_or(u32::MAX);
        self.channels.insert(channel.clone(), key);
        key
    }

    fn author(&mut self, author: Author) -> (u32, Arc<Author>) {
        if let Some((author, key)) = self.authors.get_key_value(&author) {
            return (*key, author.clone());
        }
        let key = u32::try_from(self.authors.len() + 1).unwrap_or(u32::MAX);
        let author = Arc::new(author);
        self.authors.insert(author.clone(), key);
        (key, author)
    }
}

/// Encodes `event` in `encoding`, redacted for observers when `redact`.
pub fn encode(event: &StoredEvent, encoding: Encoding, redact: bool, refs: &SharedRefs) -> Encoded {
    let result = match encoding {
        Encoding::Json => {
            serde_json::to_string(&ServerFrame::Event(event.to_wire(redact))).map(|text| Encoded {
                bytes: text.into(),
                refs: None,
            })
        }
        Encoding::Compact => {
            let author = event
                .author
                .as_ref()
                .map(|a| if redact { a.redacted() } else { a.clone() });
            let data = if redact {
                std::borrow::Cow::Owned(event.data.redacted())
            } else {
                std::borrow::Cow::Borrowed(&event.data)
            };
            let frame_refs = {
                let mut table = crate::sync::lock(refs);
                FrameRefs {
                    channel: (table.channel(&event.channel), event.channel.clone()),
                    author: author.map(|a| table.author(a)),
                }
            };
            wire::encode_compact(
                event.seq,
                frame_refs.channel.0,
                event.at_ms,
                frame_refs.author.as_ref().map(|(key, _)| *key),
                &data,
            )
            .map(|text| Encoded {
                bytes: text.into(),
                refs: Some(frame_refs),
            })
        }
    };
    result.unwrap_or_else(|error| {
        tracing::error!(%error, seq = event.seq, "cannot encode an event");
        Encoded {
            bytes: Utf8Bytes::from_static(
                "{\"type\":\"error\",\"code\":\"internal\",\"message\":\"unencodable event\"}",
            ),
            refs: None,
        }
    })
}
