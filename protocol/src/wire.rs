//! The event encodings a connection may ask for in `auth`, and batching.
//!
//! `json` (the default) writes each event as an `event` object, as every
//! client before these encodings expects. `compact` writes an event as a
//! JSON array with short references in place of the repeated strings:
//!
//! ```text
//! [seq, channel_ref, at_ms, author_ref | null, kind, body]
//! ```
//!
//! `channel_ref` and `author_ref` are numbers whose meaning the server sends
//! in a `refs` frame before the first event that uses them, and never
//! changes for the life of the connection; a changed author (a new display
//! name, say) gets a new reference. `at_ms` is the commit time in Unix
//! milliseconds. `kind` and `body` are exactly those of the `json` form.
//! A frame that is an array is a compact event; every other frame is an
//! object with a `type`, as in `json`.
//!
//! With `batch`, frames that are ready together come in one WebSocket
//! message, one per line; JSON text never holds a raw newline, so a client
//! splits on `\n`. [`Decoder`] does both for a Rust client.

use crate::{Author, ChannelId, Event, EventData, ServerFrame};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How events are written on a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// One `event` object per event (the default).
    #[default]
    Json,
    /// Arrays with short references (see the module documentation).
    Compact,
}

impl Encoding {
    /// The encoding named `name` in an `auth` frame; `None` when the server
    /// does not write it.
    pub fn parse(name: &str) -> Option<Encoding> {
        match name {
            "json" => Some(Encoding::Json),
            "compact" => Some(Encoding::Compact),
            _ => None,
        }
    }

    /// The name used in `auth`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Compact => "compact",
        }
    }
}

/// For `skip_serializing_if` on flags that are off by default.
#[allow(clippy::trivially_copy_pass_by_ref)]
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// The content of a `refs` frame: new short references for `compact`
/// events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Refs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<AuthorRef>,
}

/// A channel's short reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelRef {
    #[serde(rename = "ref")]
    pub key: u32,
    pub channel: ChannelId,
}

/// An author's short reference. For observers the author is the redacted
/// one, as in `json` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuthorRef {
    #[serde(rename = "ref")]
    pub key: u32,
    pub author: Author,
}

/// The commit time of an event as the `json` form writes it: RFC 3339 in
/// UTC with milliseconds.
pub fn format_time_ms(ms: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into())
}

/// Writes a `compact` event.
///
/// # Errors
/// The body cannot be serialised (it always can for the protocol's types).
pub fn encode_compact(
    seq: u64,
    channel: u32,
    at_ms: i64,
    author: Option<u32>,
    data: &EventData,
) -> serde_json::Result<String> {
    // The data serialises as `{"kind":K,"body":B}` (adjacently tagged, tag
    // first); the compact form wants K and B side by side in the array,
    // which one serialisation and a slice give without a value tree.
    let tagged = serde_json::to_string(data)?;
    let kind = data.kind();
    let prefix_len = "{\"kind\":\"".len() + kind.len() + "\",\"body\":".len();
    let body = tagged
        .get(prefix_len..tagged.len().saturating_sub(1))
        .filter(|_| tagged.starts_with("{\"kind\":\"") && tagged.ends_with('}'))
        .map(str::to_owned);
    let body = match body {
        Some(body) => body,
        // A variant without a body (none today) or another layout: take
        // the body from the value tree instead.
        None => {
            let value = serde_json::to_value(data)?;
            serde_json::to_string(value.get("body").unwrap_or(&serde_json::Value::Null))?
        }
    };
    let author = author.map_or_else(|| "null".to_owned(), |a| a.to_string());
    Ok(format!(
        "[{seq},{channel},{at_ms},{author},\"{kind}\",{body}]"
    ))
}

/// A `compact` event as read off the wire, before its references are
/// resolved.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct CompactEvent(
    u64,
    u32,
    i64,
    Option<u32>,
    String,
    #[serde(default)] serde_json::Value,
);

/// Reads what a hub sends on a connection of any encoding, batched or not,
/// into [`ServerFrame`]s, keeping the references `refs` frames announce.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    channels: HashMap<u32, ChannelId>,
    authors: HashMap<u32, Author>,
}

impl Decoder {
    /// The frames of one WebSocket text message (several when batched), in
    /// order. `refs` frames are returned too, after they are taken in.
    ///
    /// # Errors
    /// A line is not a frame, or a compact event uses a reference that no
    /// `refs` frame announced.
    pub fn decode(&mut self, text: &str) -> serde_json::Result<Vec<ServerFrame>> {
        text.split('\n')
            .filter(|line| !line.trim().is_empty())
            .map(|line| self.decode_one(line))
            .collect()
    }

    fn decode_one(&mut self, line: &str) -> serde_json::Result<ServerFrame> {
        if !line.trim_start().starts_with('[') {
            let frame: ServerFrame = serde_json::from_str(line)?;
            if let ServerFrame::Refs(refs) = &frame {
                for channel in &refs.channels {
                    self.channels.insert(channel.key, channel.channel.clone());
                }
                for author in &refs.authors {
                    self.authors.insert(author.key, author.author.clone());
                }
            }
            return Ok(frame);
        }
        use serde::de::Error as _;
        let CompactEvent(seq, channel, at_ms, author, kind, body) = serde_json::from_str(line)?;
        let channel =
            self.channels.get(&channel).cloned().ok_or_else(|| {
                serde_json::Error::custom(format!("unknown channel ref {channel}"))
            })?;
        let author = author
            .map(|key| {
                self.authors
                    .get(&key)
                    .cloned()
                    .ok_or_else(|| serde_json::Error::custom(format!("unknown author ref {key}")))
            })
            .transpose()?;
        let data: EventData =
            serde_json::from_value(serde_json::json!({ "kind": kind, "body": body }))?;
        Ok(ServerFrame::Event(Event {
            seq,
            channel,
            at: format_time_ms(at_ms),
            author,
            data,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageBody, Role};

    fn message(text: &str) -> EventData {
        EventData::Message(MessageBody {
            text: text.into(),
            lang: Some("sw".into()),
            written_at: None,
        })
    }

    #[test]
    fn a_compact_event_decodes_to_the_json_event() {
        let author = Author {
            id: Some(7),
            username: Some("officer.mugina".into()),
            display_name: Some("Aline".into()),
            role: Role::Officer,
            country: None,
            post: Some("mugina".into()),
        };
        let data = message("Watu 400 wamefika \"Mugina\"\nleo");
        let channel: ChannelId = "post:mugina".parse().expect("channel");
        let text = encode_compact(42, 3, 1_764_620_000_123, Some(9), &data).expect("encodes");
        let refs = ServerFrame::Refs(Refs {
            channels: vec![ChannelRef {
                key: 3,
                channel: channel.clone(),
            }],
            authors: vec![AuthorRef {
                key: 9,
                author: author.clone(),
            }],
        });
        let batch = format!("{}\n{text}", serde_json::to_string(&refs).expect("refs"));
        let frames = Decoder::default().decode(&batch).expect("decodes");
        assert_eq!(frames[0], refs);
        assert_eq!(
            frames[1],
            ServerFrame::Event(Event {
                seq: 42,
                channel,
                at: "2025-12-01T20:13:20.123Z".into(),
                author: Some(author),
                data,
            })
        );
    }

    #[test]
    fn an_unannounced_reference_is_an_error() {
        let text = encode_compact(1, 5, 0, None, &message("x")).expect("encodes");
        assert!(Decoder::default().decode(&text).is_err());
    }

    #[test]
    fn a_body_less_kind_keeps_its_empty_body() {
        let text = encode_compact(1, 1, 0, None, &EventData::DirectoryChanged {}).expect("encodes");
        assert_eq!(text, "[1,1,0,null,\"directory.changed\",{}]");
    }
}
