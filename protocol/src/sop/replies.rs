//! What the hub answers to SOP requests, on the socket (inside the `sop.*`
//! reply frames) and over REST (as the response body), and the small REST
//! request bodies of the steps that take parameters.

use super::{Lang, Markdown, Sop, SopAck, SopAudience, SopOwner, SopReader, SopState};
use crate::Author;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a client wants a body: the Markdown source only, or also rendered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SopFormat {
    /// The CommonMark source in `body` (the default).
    #[default]
    Markdown,
    /// Also `html`: the body rendered to sanitized HTML.
    Html,
}

/// One version of an SOP in one language, as a reader gets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SopReading {
    pub slug: String,
    pub version: u32,
    pub owner: SopOwner,
    /// The state of this version.
    pub state: SopState,
    /// The language served: the one asked for (or the reader's own) when the
    /// version has it, else the first of the hub's fallback order it has.
    pub lang: Lang,
    /// Every language this version is written in.
    pub languages: Vec<Lang>,
    pub title: String,
    /// CommonMark source in `lang`.
    pub body: Markdown,
    /// `body` rendered to HTML with scripts, event handlers and dangerous
    /// URLs removed; only when asked for with `format: "html"`. Titles are
    /// plain text: escape them when inserting them into a page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default)]
    pub change_summary: String,
    /// `YYYY-MM-DD`.
    pub effective_date: String,
    pub audience: SopAudience,
    /// Personal fields removed for observers.
    pub author: Author,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// Whether the reader is in this version's audience (asked to acknowledge it).
    pub in_audience: bool,
    /// When the reader acknowledged this version; absent if they have not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
}

/// One version in an SOP's history, without its texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SopVersionInfo {
    pub version: u32,
    pub state: SopState,
    pub titles: BTreeMap<Lang, String>,
    #[serde(default)]
    pub change_summary: String,
    pub effective_date: String,
    pub audience: SopAudience,
    pub author: Author,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
}

/// An SOP and every version of it the reader may see, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SopHistory {
    pub sop: Sop,
    pub versions: Vec<SopVersionInfo>,
}

/// The result of saving a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SopDraftSaved {
    /// The SOP after the save, as its owners' coordinators see it.
    pub sop: Sop,
    /// The number of the draft version that was written.
    pub version: u32,
    /// True when this request id (or `Idempotency-Key`) was seen before:
    /// nothing new was stored and this is the first answer.
    pub duplicate: bool,
}

/// The result of publishing a version or retiring an SOP: the event that
/// announced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SopReceipt {
    pub slug: String,
    /// The version published, or the version that was in force when retired.
    pub version: u32,
    /// Sequence number of the `sop.published` or `sop.retired` event.
    pub seq: u64,
    /// When it was committed, RFC 3339 in UTC.
    pub at: String,
    /// See [`SopDraftSaved::duplicate`].
    pub duplicate: bool,
}

/// The result of acknowledging a version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SopAckReceipt {
    pub ack: SopAck,
    /// True when this user had already acknowledged this version (then `ack`
    /// is the first acknowledgement, with its time).
    pub duplicate: bool,
}

/// The result of a reminder: who was reminded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SopRemindReceipt {
    pub slug: String,
    pub version: u32,
    /// The audience members who had not acknowledged the version and got a
    /// `sop.reminder` event on their `user:{id}` channel.
    pub recipients: Vec<SopReader>,
    pub at: String,
    /// See [`SopDraftSaved::duplicate`].
    pub duplicate: bool,
}

/// `POST /api/v1/sops/{slug}/publish` (the body may be omitted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SopPublishRequest {
    /// The draft expected to be published; when given and another draft is
    /// pending, the request fails with `invalid_state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

/// `POST /api/v1/sops/{slug}/retire`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SopRetireRequest {
    /// Why the SOP is withdrawn (1–2,000 characters).
    pub reason: String,
}

/// `POST /api/v1/sops/{slug}/versions/{n}/remind` (the body may be omitted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SopRemindRequest {
    /// A note from the coordinator (at most 2,000 characters).
    #[serde(default)]
    pub message: String,
}
