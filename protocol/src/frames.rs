//! The frames exchanged over `GET /ws`.

use crate::{
    AlertDetail, AlertDraft, AlertPage, AlertPatch, AlertQuery, AlertReceipt, AlertSummary,
    ChannelId, ErrorBody, Event, FlowCorrection, FlowDraft, FlowQuery, FlowReceipt, FlowSeries,
    FlowSurgeReceipt, Sop, SopAckReceipt, SopCoverage, SopDiff, SopDraftInput, SopDraftSaved,
    SopFormat, SopHistory, SopReading, SopReceipt, SopRemindReceipt, UserInfo,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A frame sent by the client. Every request carries an `id` (1–128
/// characters) that the reply repeats. For `publish` the `id` is also the
/// idempotency key: resending it after a lost reply stores nothing new and
/// returns the first result, marked `duplicate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Must be the first frame, within `auth_timeout` seconds of connecting.
    /// Answered by `welcome`, or by `error` and a close.
    Auth {
        id: String,
        /// Protocol version the client speaks; currently 1.
        v: u32,
        /// An access token from `POST /api/v1/auth/login` or `/refresh`.
        token: String,
        /// How events are written on this connection: `json` (the default,
        /// one `event` object per frame) or `compact` (arrays with short
        /// references; see [`crate::wire`]). Another value is refused with
        /// `unsupported_encoding`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encoding: Option<String>,
        /// When true, frames ready together are sent in one WebSocket
        /// message, one frame per line (`\n`-separated). Never delays a frame.
        #[serde(default, skip_serializing_if = "crate::wire::is_false")]
        batch: bool,
    },
    /// Replace the connection's access token with a fresh one of the same
    /// login session, before the current one expires (a socket whose token
    /// expires is closed with `token_expired` and 4001). Answered by
    /// `reauthed`, or by `error` (the connection stays open until the old
    /// token expires).
    Reauth { id: String, token: String },
    /// Start receiving events of these channels. With `since`, first every
    /// stored event with `seq > since` on them is replayed in order; then
    /// the `subscribed` reply marks the end of the replay; then live events
    /// follow with no gap and no duplicate. With `since`, also send the
    /// `epoch` the `since` was seen in (from `welcome` or `subscribed`): if
    /// the server's log is another epoch the answer is `epoch_changed`.
    Subscribe {
        id: String,
        channels: Vec<ChannelId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epoch: Option<String>,
    },
    /// Stop receiving events of these channels.
    Unsubscribe {
        id: String,
        channels: Vec<ChannelId>,
    },
    /// Post a text message. Answered with `published` once it is on disk.
    Publish {
        id: String,
        channel: ChannelId,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
        /// When the message was written, if offline (RFC 3339; at most 2
        /// minutes ahead of the hub's clock).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        written_at: Option<String>,
    },
    /// Page back through a channel's stored events, newest first.
    History {
        id: String,
        channel: ChannelId,
        /// Only events with `seq` below this; omit for the newest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        /// At most this many events (1–500, default 50).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Who is online at the posts this user may see, and when dark posts were last seen.
    Presence { id: String },
    /// Application-level liveness check; answered by `pong`.
    Ping { id: String },
    /// The SOPs this user may see. Answered by `sop.list`.
    #[serde(rename = "sop.list")]
    SopList { id: String },
    /// One version of an SOP in one language (by default the version in
    /// force, in the user's language). Answered by `sop.get`.
    #[serde(rename = "sop.get")]
    SopGet {
        id: String,
        slug: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u32>,
        /// `fr`, `en`, `sw` or `rn`; default: the user's language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<SopFormat>,
    },
    /// An SOP with the list of its versions. Answered by `sop.history`.
    #[serde(rename = "sop.history")]
    SopHistory { id: String, slug: String },
    /// Create an SOP, or write its pending draft (a new version number when
    /// the last version was published). Coordinators of the owning country;
    /// of either country for a joint SOP. Answered by `sop.drafted`.
    #[serde(rename = "sop.draft")]
    SopDraft {
        id: String,
        draft: Box<SopDraftInput>,
    },
    /// Make the pending draft the version in force and announce it to its
    /// audience. Answered by `sop.published`.
    #[serde(rename = "sop.publish")]
    SopPublish {
        id: String,
        slug: String,
        /// The draft expected; refused with `invalid_state` if another one is pending.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u32>,
    },
    /// Withdraw an SOP. Answered by `sop.retired`.
    #[serde(rename = "sop.retire")]
    SopRetire {
        id: String,
        slug: String,
        reason: String,
    },
    /// "Read and understood" for this exact version, which must be in force.
    /// Audience members only. Answered by `sop.acknowledged`.
    #[serde(rename = "sop.ack")]
    SopAck {
        id: String,
        slug: String,
        version: u32,
    },
    /// Who in a version's audience has acknowledged it (default: the
    /// version in force). Coordinators of the owners. Answered by `sop.coverage`.
    #[serde(rename = "sop.coverage")]
    SopCoverage {
        id: String,
        slug: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u32>,
    },
    /// Send a `sop.reminder` to every audience member who has not
    /// acknowledged the version in force. Answered by `sop.reminded`.
    #[serde(rename = "sop.remind")]
    SopRemind {
        id: String,
        slug: String,
        /// The version in force, if the client wants that checked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u32>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        message: String,
    },
    /// Line-level diff of the bodies of two versions in one language.
    /// Answered by `sop.diff`.
    #[serde(rename = "sop.diff")]
    SopDiff {
        id: String,
        slug: String,
        from: u32,
        to: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
    },
    /// Raise a mass-movement alert. Answered by `alert.saved`; the `id` is
    /// the idempotency key, as for `publish`.
    #[serde(rename = "alert.raise")]
    AlertRaise { id: String, alert: AlertDraft },
    /// Acknowledge an alert of the facing post. Answered by `alert.saved`.
    #[serde(rename = "alert.ack")]
    AlertAck {
        id: String,
        alert_id: String,
        /// When the acknowledgement was given, if offline (RFC 3339).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        written_at: Option<String>,
    },
    /// Change an open alert's headcount, needs, scales or text. Answered by `alert.saved`.
    #[serde(rename = "alert.update")]
    AlertUpdate {
        id: String,
        alert_id: String,
        patch: AlertPatch,
    },
    /// Close an alert as handled. Answered by `alert.saved`.
    #[serde(rename = "alert.resolve")]
    AlertResolve {
        id: String,
        alert_id: String,
        reason: String,
    },
    /// Close an alert as raised in error. Answered by `alert.saved`.
    #[serde(rename = "alert.cancel")]
    AlertCancel {
        id: String,
        alert_id: String,
        reason: String,
    },
    /// List alerts, newest raised first. Answered by `alert.page`.
    #[serde(rename = "alert.list")]
    AlertList {
        id: String,
        #[serde(default)]
        filter: AlertQuery,
    },
    /// One alert with its history. Answered by `alert.detail`.
    #[serde(rename = "alert.get")]
    AlertGet { id: String, alert_id: String },
    /// The alert picture per corridor. Answered by `alert.summaries`.
    #[serde(rename = "alert.summary")]
    AlertSummary { id: String },
    /// Record flow figures for a period. Answered by `flow.saved`; the `id`
    /// is the idempotency key.
    #[serde(rename = "flow.record")]
    FlowRecord { id: String, report: FlowDraft },
    /// Replace a report's lines, with a reason; the earlier version is kept.
    /// Answered by `flow.saved`.
    #[serde(rename = "flow.correct")]
    FlowCorrect {
        id: String,
        report_id: String,
        correction: FlowCorrection,
    },
    /// A time series with totals and change. Answered by `flow.series`.
    #[serde(rename = "flow.series")]
    FlowSeries {
        id: String,
        #[serde(default)]
        query: FlowQuery,
    },
    /// Confirm a suggested surge into an alert. Answered by `flow.surge_saved`.
    #[serde(rename = "flow.surge_confirm")]
    FlowSurgeConfirm { id: String, surge_id: String },
    /// Dismiss a suggested surge with a reason. Answered by `flow.surge_saved`.
    #[serde(rename = "flow.surge_dismiss")]
    FlowSurgeDismiss {
        id: String,
        surge_id: String,
        reason: String,
    },
}

impl ClientFrame {
    /// The request id the reply must repeat.
    pub fn id(&self) -> &str {
        match self {
            ClientFrame::Auth { id, .. }
            | ClientFrame::Reauth { id, .. }
            | ClientFrame::Subscribe { id, .. }
            | ClientFrame::Unsubscribe { id, .. }
            | ClientFrame::Publish { id, .. }
            | ClientFrame::History { id, .. }
            | ClientFrame::Presence { id }
            | ClientFrame::Ping { id }
            | ClientFrame::SopList { id }
            | ClientFrame::SopGet { id, .. }
            | ClientFrame::SopHistory { id, .. }
            | ClientFrame::SopDraft { id, .. }
            | ClientFrame::SopPublish { id, .. }
            | ClientFrame::SopRetire { id, .. }
            | ClientFrame::SopAck { id, .. }
            | ClientFrame::SopCoverage { id, .. }
            | ClientFrame::SopRemind { id, .. }
            | ClientFrame::SopDiff { id, .. }
            | ClientFrame::AlertRaise { id, .. }
            | ClientFrame::AlertAck { id, .. }
            | ClientFrame::AlertUpdate { id, .. }
            | ClientFrame::AlertResolve { id, .. }
            | ClientFrame::AlertCancel { id, .. }
            | ClientFrame::AlertList { id, .. }
            | ClientFrame::AlertGet { id, .. }
            | ClientFrame::AlertSummary { id }
            | ClientFrame::FlowRecord { id, .. }
            | ClientFrame::FlowCorrect { id, .. }
            | ClientFrame::FlowSeries { id, .. }
            | ClientFrame::FlowSurgeConfirm { id, .. }
            | ClientFrame::FlowSurgeDismiss { id, .. } => id,
        }
    }
}

/// A frame sent by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Authentication succeeded.
    Welcome(Welcome),
    /// A stored event, live or replayed.
    Event(Event),
    /// Short references used by `compact` events on this connection: sent
    /// before the first event that uses a reference the connection has not
    /// been told yet. A reference keeps its meaning for the connection's life.
    Refs(crate::wire::Refs),
    /// The reply to `subscribe`, sent after any replay it asked for. Every
    /// event on these channels with `seq <= through_seq` has been sent;
    /// later ones follow live.
    Subscribed {
        id: String,
        channels: Vec<ChannelId>,
        through_seq: u64,
        /// The log epoch `through_seq` belongs to. A hub older than epochs
        /// sends none; a client reads that as empty (unknown).
        #[serde(default)]
        epoch: String,
    },
    /// The reply to `unsubscribe`.
    Unsubscribed {
        id: String,
        channels: Vec<ChannelId>,
    },
    /// The reply to `publish`: the message is durably stored as event `seq`.
    Published {
        id: String,
        seq: u64,
        at: String,
        /// True when this `id` had already been published: nothing new was stored.
        duplicate: bool,
    },
    /// The reply to `history`, newest first.
    History {
        id: String,
        channel: ChannelId,
        events: Vec<Event>,
    },
    /// The reply to `presence`.
    Presence { id: String, posts: Vec<PostStatus> },
    /// The reply to `ping`.
    Pong { id: String },
    /// The reply to `reauth`: the connection now runs on the new token,
    /// which expires in `expires_in` seconds.
    Reauthed { id: String, expires_in: u64 },
    /// The reply to `sop.list`.
    #[serde(rename = "sop.list")]
    SopList { id: String, sops: Vec<Sop> },
    /// The reply to `sop.get`.
    #[serde(rename = "sop.get")]
    SopGet {
        id: String,
        reading: Box<SopReading>,
    },
    /// The reply to `sop.history`.
    #[serde(rename = "sop.history")]
    SopHistory {
        id: String,
        history: Box<SopHistory>,
    },
    /// The reply to `sop.draft`.
    #[serde(rename = "sop.drafted")]
    SopDrafted {
        id: String,
        draft: Box<SopDraftSaved>,
    },
    /// The reply to `sop.publish`; the `sop.published` event is on its way
    /// to the audience.
    #[serde(rename = "sop.published")]
    SopPublished { id: String, receipt: SopReceipt },
    /// The reply to `sop.retire`.
    #[serde(rename = "sop.retired")]
    SopRetired { id: String, receipt: SopReceipt },
    /// The reply to `sop.ack`.
    #[serde(rename = "sop.acknowledged")]
    SopAcknowledged { id: String, receipt: SopAckReceipt },
    /// The reply to `sop.coverage`.
    #[serde(rename = "sop.coverage")]
    SopCoverage { id: String, coverage: SopCoverage },
    /// The reply to `sop.remind`.
    #[serde(rename = "sop.reminded")]
    SopReminded {
        id: String,
        receipt: SopRemindReceipt,
    },
    /// The reply to `sop.diff`.
    #[serde(rename = "sop.diff")]
    SopDiff { id: String, diff: SopDiff },
    /// The reply to an alert write step: the alert after it, stored as event `seq`.
    #[serde(rename = "alert.saved")]
    AlertSaved {
        id: String,
        #[serde(flatten)]
        receipt: Box<AlertReceipt>,
    },
    /// The reply to `alert.list`.
    #[serde(rename = "alert.page")]
    AlertPage {
        id: String,
        #[serde(flatten)]
        page: AlertPage,
    },
    /// The reply to `alert.get`.
    #[serde(rename = "alert.detail")]
    AlertDetail {
        id: String,
        #[serde(flatten)]
        detail: Box<AlertDetail>,
    },
    /// The reply to `alert.summary`: one summary per corridor the user may read.
    #[serde(rename = "alert.summaries")]
    AlertSummaries {
        id: String,
        corridors: Vec<AlertSummary>,
    },
    /// The reply to `flow.record` and `flow.correct`.
    #[serde(rename = "flow.saved")]
    FlowSaved {
        id: String,
        #[serde(flatten)]
        receipt: Box<FlowReceipt>,
    },
    /// The reply to `flow.series`.
    #[serde(rename = "flow.series")]
    FlowSeries { id: String, series: Box<FlowSeries> },
    /// The reply to `flow.surge_confirm` and `flow.surge_dismiss`.
    #[serde(rename = "flow.surge_saved")]
    FlowSurgeSaved {
        id: String,
        #[serde(flatten)]
        receipt: Box<FlowSurgeReceipt>,
    },
    /// A request failed, or (without `id`) the connection has a problem. The
    /// connection stays open unless a close frame follows.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(flatten)]
        error: ErrorBody,
    },
}

impl ServerFrame {
    /// The id of the request this frame answers; `None` for frames that
    /// answer no request (`welcome`, `event`, connection-level errors).
    pub fn reply_id(&self) -> Option<&str> {
        match self {
            ServerFrame::Subscribed { id, .. }
            | ServerFrame::Unsubscribed { id, .. }
            | ServerFrame::Published { id, .. }
            | ServerFrame::History { id, .. }
            | ServerFrame::Presence { id, .. }
            | ServerFrame::Pong { id }
            | ServerFrame::Reauthed { id, .. }
            | ServerFrame::SopList { id, .. }
            | ServerFrame::SopGet { id, .. }
            | ServerFrame::SopHistory { id, .. }
            | ServerFrame::SopDrafted { id, .. }
            | ServerFrame::SopPublished { id, .. }
            | ServerFrame::SopRetired { id, .. }
            | ServerFrame::SopAcknowledged { id, .. }
            | ServerFrame::SopCoverage { id, .. }
            | ServerFrame::SopReminded { id, .. }
            | ServerFrame::SopDiff { id, .. }
            | ServerFrame::AlertSaved { id, .. }
            | ServerFrame::AlertPage { id, .. }
            | ServerFrame::AlertDetail { id, .. }
            | ServerFrame::AlertSummaries { id, .. }
            | ServerFrame::FlowSaved { id, .. }
            | ServerFrame::FlowSeries { id, .. }
            | ServerFrame::FlowSurgeSaved { id, .. } => Some(id),
            ServerFrame::Error { id, .. } => id.as_deref(),
            ServerFrame::Welcome(_) | ServerFrame::Event(_) | ServerFrame::Refs(_) => None,
        }
    }
}

/// The content of the `welcome` frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Welcome {
    /// Protocol version the server speaks.
    pub v: u32,
    /// Server-chosen id of this connection, for support and logs.
    pub session: String,
    pub user: UserInfo,
    /// Every channel this user may read, with whether it may write.
    pub channels: Vec<ChannelGrant>,
    /// The newest committed `seq` when the session started.
    pub head_seq: u64,
    /// The log epoch: a random id of the server's event log. Sequence
    /// numbers are comparable only within one epoch; a restore to an
    /// older point changes it. A hub older than epochs sends none; a
    /// client reads that as empty (unknown) rather than failing.
    #[serde(default)]
    pub epoch: String,
    pub limits: Limits,
    /// The event encoding of this connection, as asked in `auth`.
    #[serde(default)]
    pub encoding: crate::wire::Encoding,
    /// Whether frames may come several to a message, one per line.
    #[serde(default)]
    pub batch: bool,
}

/// A channel a user may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelGrant {
    pub channel: ChannelId,
    /// Human name, e.g. "Mugina ⇄ Manyovu".
    pub name: String,
    pub can_write: bool,
}

/// Limits the server enforces on this connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Limits {
    /// Largest accepted text frame, in bytes.
    pub max_frame_bytes: u32,
    /// Sustained publishes per second allowed per user.
    pub publish_per_sec: u32,
    /// Publishes allowed in a burst above the sustained rate.
    pub publish_burst: u32,
    /// The server pings every this many seconds; answer pongs (browsers do).
    pub heartbeat_secs: u32,
}

/// One post's connection status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PostStatus {
    pub post: String,
    pub name: String,
    pub country: crate::Country,
    /// True when at least one user of this post is connected to any node.
    pub online: bool,
    pub users: Vec<PresenceUser>,
    /// When a user of this post was last connected; absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

/// A connected user, in a presence reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PresenceUser {
    pub username: String,
    pub display_name: String,
    /// Open sessions of this user.
    pub sessions: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_from_a_hub_older_than_epochs_still_decodes() {
        let frame: ServerFrame = serde_json::from_str(
            r#"{"type":"subscribed","id":"s1","channels":["post:mugina"],"through_seq":7}"#,
        )
        .expect("decodes without an epoch");
        let ServerFrame::Subscribed { epoch, .. } = frame else {
            panic!("{frame:?}")
        };
        assert_eq!(epoch, "");
    }
}
