//! Events: the one thing the hub stores and delivers. A chat message, an
//! alert step and an SOP publication are all events on one log, ordered by
//! `seq`, delivered live and again on resume.

use crate::{
    AlertEscalationBody, AlertStepBody, ChannelId, Country, FlowStepBody, FlowSurge, Role, SopAck,
    SopReminder, SopRetired, SopVersion,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One stored event as delivered to a client.
///
/// `seq` is global to the hub and only grows: a client remembers the highest
/// `seq` it has processed and passes it as `since` when it resubscribes after
/// a disconnect. Sequence numbers a client may not read are skipped, so gaps
/// in what one client sees are normal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    pub seq: u64,
    pub channel: ChannelId,
    /// When the hub committed the event, RFC 3339 in UTC with milliseconds.
    pub at: String,
    /// Who caused the event; absent for events the hub raises itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
    #[serde(flatten)]
    pub data: EventData,
}

/// Who caused an event. For observers the personal fields are removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Author {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
}

impl Author {
    /// The author without what identifies the person: what observers see.
    pub fn redacted(&self) -> Author {
        Author {
            id: None,
            username: None,
            display_name: None,
            ..self.clone()
        }
    }
}

/// What happened, by `kind`, with a kind-specific `body`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "body")]
pub enum EventData {
    /// A text message in a channel.
    #[serde(rename = "message")]
    Message(MessageBody),
    /// An account was disabled, re-enabled or changed role (on `system`;
    /// never delivered to clients, it closes the account's sessions).
    #[serde(rename = "account.changed")]
    AccountChanged { user_id: i64 },
    /// A login session ended (logout, refresh-token reuse, expiry, an
    /// account change); `session` is absent when every session of the user
    /// ended. On `system`; never delivered to clients: every node closes the
    /// session's sockets with 4003.
    #[serde(rename = "session.ended")]
    SessionEnded {
        user_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    /// Posts, corridors or users were added or changed (on `system`).
    #[serde(rename = "directory.changed")]
    DirectoryChanged {},
    /// An alert was raised (on `corridor:{slug}`, like every alert step).
    /// Alert bodies are boxed because a full alert snapshot is large.
    #[serde(rename = "alert.raised")]
    AlertRaised(Box<AlertStepBody>),
    /// A post acknowledged an alert.
    #[serde(rename = "alert.acknowledged")]
    AlertAcknowledged(Box<AlertStepBody>),
    /// An alert's headcount, needs, scales or text changed.
    #[serde(rename = "alert.updated")]
    AlertUpdated(Box<AlertStepBody>),
    /// An alert was closed as handled.
    #[serde(rename = "alert.resolved")]
    AlertResolved(Box<AlertStepBody>),
    /// An alert was closed as raised in error.
    #[serde(rename = "alert.cancelled")]
    AlertCancelled(Box<AlertStepBody>),
    /// Nobody acknowledged an alert in time; the hub escalated it.
    #[serde(rename = "alert.escalated")]
    AlertEscalated(Box<AlertEscalationBody>),
    /// A new version of an SOP is in force (on the channels of its
    /// audience). The body is the published version only, never a draft.
    #[serde(rename = "sop.published")]
    SopPublished(Box<SopVersion>),
    /// An SOP was withdrawn.
    #[serde(rename = "sop.retired")]
    SopRetired(SopRetired),
    /// A coordinator reminds one user (on `user:{id}`) to read and
    /// acknowledge the version in force.
    #[serde(rename = "sop.reminder")]
    SopReminder(SopReminder),
    /// A reader acknowledged a version (on the owner's coordination channel:
    /// `coord:{C}`, or `coord:joint` for a joint SOP), so coverage tables
    /// follow live.
    #[serde(rename = "sop.acknowledged")]
    SopAcknowledged(SopAck),
    /// A post recorded flow figures (on `corridor:{slug}` when joint,
    /// `post:{slug}` when national).
    #[serde(rename = "flow.recorded")]
    FlowRecorded(Box<FlowStepBody>),
    /// A flow report was corrected; the body holds the new version.
    #[serde(rename = "flow.corrected")]
    FlowCorrected(Box<FlowStepBody>),
    /// The detector found a surge and suggests an alert (on `post:{slug}`:
    /// the post and its country's coordinators).
    #[serde(rename = "flow.surge_suggested")]
    FlowSurgeSuggested(Box<FlowSurge>),
    /// A suggested surge was confirmed into an alert.
    #[serde(rename = "flow.surge_confirmed")]
    FlowSurgeConfirmed(Box<FlowSurge>),
    /// A suggested surge was dismissed with a reason.
    #[serde(rename = "flow.surge_dismissed")]
    FlowSurgeDismissed(Box<FlowSurge>),
}

impl EventData {
    /// Every `kind` string, in declaration order (what [`EventData::kind`]
    /// can return), so that per-kind counters can start at zero.
    pub const KINDS: &'static [&'static str] = &[
        "message",
        "account.changed",
        "session.ended",
        "directory.changed",
        "alert.raised",
        "alert.acknowledged",
        "alert.updated",
        "alert.resolved",
        "alert.cancelled",
        "alert.escalated",
        "sop.published",
        "sop.retired",
        "sop.reminder",
        "sop.acknowledged",
        "flow.recorded",
        "flow.corrected",
        "flow.surge_suggested",
        "flow.surge_confirmed",
        "flow.surge_dismissed",
    ];

    /// The `kind` string of this event.
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::Message(_) => "message",
            EventData::AccountChanged { .. } => "account.changed",
            EventData::SessionEnded { .. } => "session.ended",
            EventData::DirectoryChanged {} => "directory.changed",
            EventData::AlertRaised(_) => "alert.raised",
            EventData::AlertAcknowledged(_) => "alert.acknowledged",
            EventData::AlertUpdated(_) => "alert.updated",
            EventData::AlertResolved(_) => "alert.resolved",
            EventData::AlertCancelled(_) => "alert.cancelled",
            EventData::AlertEscalated(_) => "alert.escalated",
            EventData::SopPublished(_) => "sop.published",
            EventData::SopRetired(_) => "sop.retired",
            EventData::SopReminder(_) => "sop.reminder",
            EventData::SopAcknowledged(_) => "sop.acknowledged",
            EventData::FlowRecorded(_) => "flow.recorded",
            EventData::FlowCorrected(_) => "flow.corrected",
            EventData::FlowSurgeSuggested(_) => "flow.surge_suggested",
            EventData::FlowSurgeConfirmed(_) => "flow.surge_confirmed",
            EventData::FlowSurgeDismissed(_) => "flow.surge_dismissed",
        }
    }

    /// The same event as an observer (partner agency) may see it: free text
    /// that may name people is removed, and so are the personal fields of
    /// the authors inside alert snapshots and SOP versions.
    pub fn redacted(&self) -> EventData {
        match self {
            EventData::Message(m) => EventData::Message(MessageBody {
                text: "[redacted]".into(),
                lang: m.lang.clone(),
                written_at: m.written_at.clone(),
            }),
            EventData::AlertRaised(b) => EventData::AlertRaised(Box::new(b.redacted())),
            EventData::AlertAcknowledged(b) => EventData::AlertAcknowledged(Box::new(b.redacted())),
            EventData::AlertUpdated(b) => EventData::AlertUpdated(Box::new(b.redacted())),
            EventData::AlertResolved(b) => EventData::AlertResolved(Box::new(b.redacted())),
            EventData::AlertCancelled(b) => EventData::AlertCancelled(Box::new(b.redacted())),
            EventData::AlertEscalated(b) => EventData::AlertEscalated(Box::new(b.redacted())),
            EventData::SopPublished(v) => EventData::SopPublished(Box::new(v.redacted())),
            EventData::SopAcknowledged(ack) => EventData::SopAcknowledged(SopAck {
                by: ack.by.redacted(),
                ..ack.clone()
            }),
            EventData::FlowRecorded(b) => EventData::FlowRecorded(Box::new(b.redacted())),
            EventData::FlowCorrected(b) => EventData::FlowCorrected(Box::new(b.redacted())),
            EventData::FlowSurgeSuggested(s) => {
                EventData::FlowSurgeSuggested(Box::new(s.redacted()))
            }
            EventData::FlowSurgeConfirmed(s) => {
                EventData::FlowSurgeConfirmed(Box::new(s.redacted()))
            }
            EventData::FlowSurgeDismissed(s) => {
                EventData::FlowSurgeDismissed(Box::new(s.redacted()))
            }
            other => other.clone(),
        }
    }
}

/// The body of a `message` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MessageBody {
    /// UTF-8 text, at most 8,000 characters.
    pub text: String,
    /// Language of the text: `fr`, `en`, `sw`, `rn` (or another BCP 47 tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// When the author wrote it, if composed offline and sent later (RFC
    /// 3339); the event's `at` is when the hub stored it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<String>,
}
