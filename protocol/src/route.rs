//! Which feature answers each client frame. [`ClientFrame::route`] is an
//! exhaustive match: a frame added to [`ClientFrame`] does not compile
//! until it is given to a feature, and each feature's request enum is
//! matched exhaustively by that feature's socket adapter, so no frame can
//! fall through to an "unknown request" answer at run time.

use crate::{
    AlertDraft, AlertPatch, AlertQuery, ChannelId, ClientFrame, FlowCorrection, FlowDraft,
    FlowQuery, SopDraftInput, SopFormat,
};

/// A client frame, grouped by the part of the hub that answers it.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// Frames about the connection itself, answered by the socket transport.
    Connection(ConnectionRequest),
    /// Channel messages, history and presence.
    Messaging(MessagingRequest),
    /// Mass-movement alerts.
    Alert(AlertRequest),
    /// Standard operating procedures.
    Sop(SopRequest),
    /// Flow figures and surges.
    Flow(FlowRequest),
}

/// `flow.*`.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowRequest {
    Record {
        id: String,
        report: FlowDraft,
    },
    Correct {
        id: String,
        report_id: String,
        correction: FlowCorrection,
    },
    Series {
        id: String,
        query: FlowQuery,
    },
    SurgeConfirm {
        id: String,
        surge_id: String,
    },
    SurgeDismiss {
        id: String,
        surge_id: String,
        reason: String,
    },
}

impl FlowRequest {
    /// Whether the request changes anything (and counts against the write rate).
    pub fn is_write(&self) -> bool {
        !matches!(self, FlowRequest::Series { .. })
    }
}

/// `auth`, `reauth`, `subscribe`, `unsubscribe`, `ping`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionRequest {
    Auth {
        id: String,
        v: u32,
        token: String,
    },
    Subscribe {
        id: String,
        channels: Vec<ChannelId>,
        since: Option<u64>,
        epoch: Option<String>,
    },
    Unsubscribe {
        id: String,
        channels: Vec<ChannelId>,
    },
    Ping {
        id: String,
    },
    Reauth {
        id: String,
        token: String,
    },
}

/// `publish`, `history`, `presence`.
#[derive(Debug, Clone, PartialEq)]
pub enum MessagingRequest {
    Publish {
        id: String,
        channel: ChannelId,
        text: String,
        lang: Option<String>,
        written_at: Option<String>,
    },
    History {
        id: String,
        channel: ChannelId,
        before: Option<u64>,
        limit: Option<u32>,
    },
    Presence {
        id: String,
    },
}

/// `alert.*`.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertRequest {
    Raise {
        id: String,
        alert: AlertDraft,
    },
    Ack {
        id: String,
        alert_id: String,
        written_at: Option<String>,
    },
    Update {
        id: String,
        alert_id: String,
        patch: AlertPatch,
    },
    Resolve {
        id: String,
        alert_id: String,
        reason: String,
    },
    Cancel {
        id: String,
        alert_id: String,
        reason: String,
    },
    List {
        id: String,
        filter: AlertQuery,
    },
    Get {
        id: String,
        alert_id: String,
    },
    Summary {
        id: String,
    },
}

/// `sop.*`.
#[derive(Debug, Clone, PartialEq)]
pub enum SopRequest {
    List {
        id: String,
    },
    Get {
        id: String,
        slug: String,
        version: Option<u32>,
        lang: Option<String>,
        format: Option<SopFormat>,
    },
    History {
        id: String,
        slug: String,
    },
    Draft {
        id: String,
        draft: Box<SopDraftInput>,
    },
    Publish {
        id: String,
        slug: String,
        version: Option<u32>,
    },
    Retire {
        id: String,
        slug: String,
        reason: String,
    },
    Ack {
        id: String,
        slug: String,
        version: u32,
    },
    Coverage {
        id: String,
        slug: String,
        version: Option<u32>,
    },
    Remind {
        id: String,
        slug: String,
        version: Option<u32>,
        message: String,
    },
    Diff {
        id: String,
        slug: String,
        from: u32,
        to: u32,
        lang: Option<String>,
    },
}

impl ClientFrame {
    /// Hands the frame to the feature that answers it.
    pub fn route(self) -> Routed {
        use ClientFrame as F;
        match self {
            F::Auth { id, v, token, .. } => {
                Routed::Connection(ConnectionRequest::Auth { id, v, token })
            }
            F::Subscribe {
                id,
                channels,
                since,
                epoch,
            } => Routed::Connection(ConnectionRequest::Subscribe {
                id,
                channels,
                since,
                epoch,
            }),
            F::Unsubscribe { id, channels } => {
                Routed::Connection(ConnectionRequest::Unsubscribe { id, channels })
            }
            F::Ping { id } => Routed::Connection(ConnectionRequest::Ping { id }),
            F::Reauth { id, token } => Routed::Connection(ConnectionRequest::Reauth { id, token }),
            F::Publish {
                id,
                channel,
                text,
                lang,
                written_at,
            } => Routed::Messaging(MessagingRequest::Publish {
                id,
                channel,
                text,
                written_at,
                lang,
            }),
            F::History {
                id,
                channel,
                before,
                limit,
            } => Routed::Messaging(MessagingRequest::History {
                id,
                channel,
                before,
                limit,
            }),
            F::Presence { id } => Routed::Messaging(MessagingRequest::Presence { id }),
            F::AlertRaise { id, alert } => Routed::Alert(AlertRequest::Raise { id, alert }),
            F::AlertAck {
                id,
                alert_id,
                written_at,
            } => Routed::Alert(AlertRequest::Ack {
                id,
                alert_id,
                written_at,
            }),
            F::AlertUpdate {
                id,
                alert_id,
                patch,
            } => Routed::Alert(AlertRequest::Update {
                id,
                alert_id,
                patch,
            }),
            F::AlertResolve {
                id,
                alert_id,
                reason,
            } => Routed::Alert(AlertRequest::Resolve {
                id,
                alert_id,
                reason,
            }),
            F::AlertCancel {
                id,
                alert_id,
                reason,
            } => Routed::Alert(AlertRequest::Cancel {
                id,
                alert_id,
                reason,
            }),
            F::AlertList { id, filter } => Routed::Alert(AlertRequest::List { id, filter }),
            F::AlertGet { id, alert_id } => Routed::Alert(AlertRequest::Get { id, alert_id }),
            F::AlertSummary { id } => Routed::Alert(AlertRequest::Summary { id }),
            F::SopList { id } => Routed::Sop(SopRequest::List { id }),
            F::SopGet {
                id,
                slug,
                version,
                lang,
                format,
            } => Routed::Sop(SopRequest::Get {
                id,
                slug,
                version,
                lang,
                format,
            }),
            F::SopHistory { id, slug } => Routed::Sop(SopRequest::History { id, slug }),
            F::SopDraft { id, draft } => Routed::Sop(SopRequest::Draft { id, draft }),
            F::SopPublish { id, slug, version } => {
                Routed::Sop(SopRequest::Publish { id, slug, version })
            }
            F::SopRetire { id, slug, reason } => {
                Routed::Sop(SopRequest::Retire { id, slug, reason })
            }
            F::SopAck { id, slug, version } => Routed::Sop(SopRequest::Ack { id, slug, version }),
            F::SopCoverage { id, slug, version } => {
                Routed::Sop(SopRequest::Coverage { id, slug, version })
            }
            F::SopRemind {
                id,
                slug,
                version,
                message,
            } => Routed::Sop(SopRequest::Remind {
                id,
                slug,
                version,
                message,
            }),
            F::SopDiff {
                id,
                slug,
                from,
                to,
                lang,
            } => Routed::Sop(SopRequest::Diff {
                id,
                slug,
                from,
                to,
                lang,
            }),
            F::FlowRecord { id, report } => Routed::Flow(FlowRequest::Record { id, report }),
            F::FlowCorrect {
                id,
                report_id,
                correction,
            } => Routed::Flow(FlowRequest::Correct {
                id,
                report_id,
                correction,
            }),
            F::FlowSeries { id, query } => Routed::Flow(FlowRequest::Series { id, query }),
            F::FlowSurgeConfirm { id, surge_id } => {
                Routed::Flow(FlowRequest::SurgeConfirm { id, surge_id })
            }
            F::FlowSurgeDismiss {
                id,
                surge_id,
                reason,
            } => Routed::Flow(FlowRequest::SurgeDismiss {
                id,
                surge_id,
                reason,
            }),
        }
    }
}

/// For a frame whose type is known but whose payload (an alert draft or
/// patch, an SOP draft) does not fit, the field at fault, relative to the
/// payload as over REST, so the client can be answered `validation_failed`
/// naming it rather than `bad_frame`.
/// `None` when the frame's problem is elsewhere (unknown type, bad id…).
pub fn payload_problem(frame: &serde_json::Value) -> Option<crate::FieldError> {
    fn check<T: serde::de::DeserializeOwned>(
        payload: Option<&serde_json::Value>,
    ) -> Option<crate::FieldError> {
        crate::from_value_named::<T>(payload?.clone()).err()
    }
    match frame.get("type")?.as_str()? {
        "alert.raise" => check::<AlertDraft>(frame.get("alert")),
        "alert.update" => check::<AlertPatch>(frame.get("patch")),
        "sop.draft" => check::<SopDraftInput>(frame.get("draft")),
        "flow.record" => check::<crate::FlowDraft>(frame.get("report")),
        "flow.correct" => check::<crate::FlowCorrection>(frame.get("correction")),
        _ => None,
    }
}

macro_rules! request_id {
    ($($t:ident { $($v:ident),* $(,)? }),* $(,)?) => {
        $(impl $t {
            /// The request id the reply must repeat.
            pub fn id(&self) -> &str {
                match self { $($t::$v { id, .. })|* => id }
            }
        })*
    };
}

request_id!(
    ConnectionRequest {
        Auth,
        Subscribe,
        Unsubscribe,
        Ping,
        Reauth
    },
    MessagingRequest {
        Publish,
        History,
        Presence
    },
    AlertRequest {
        Raise,
        Ack,
        Update,
        Resolve,
        Cancel,
        List,
        Get,
        Summary
    },
    SopRequest {
        List,
        Get,
        History,
        Draft,
        Publish,
        Retire,
        Ack,
        Coverage,
        Remind,
        Diff
    },
    FlowRequest {
        Record,
        Correct,
        Series,
        SurgeConfirm,
        SurgeDismiss
    }
);

impl AlertRequest {
    /// Whether the request changes state (and so counts against the write rate).
    pub fn is_write(&self) -> bool {
        match self {
            AlertRequest::Raise { .. }
            | AlertRequest::Ack { .. }
            | AlertRequest::Update { .. }
            | AlertRequest::Resolve { .. }
            | AlertRequest::Cancel { .. } => true,
            AlertRequest::List { .. } | AlertRequest::Get { .. } | AlertRequest::Summary { .. } => {
                false
            }
        }
    }
}

impl SopRequest {
    /// Whether the request changes state (and so counts against the write rate).
    pub fn is_write(&self) -> bool {
        match self {
            SopRequest::Draft { .. }
            | SopRequest::Publish { .. }
            | SopRequest::Retire { .. }
            | SopRequest::Ack { .. }
            | SopRequest::Remind { .. } => true,
            SopRequest::List { .. }
            | SopRequest::Get { .. }
            | SopRequest::History { .. }
            | SopRequest::Coverage { .. }
            | SopRequest::Diff { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_keeps_the_request_id() {
        let frame = ClientFrame::AlertAck {
            id: "r1".into(),
            alert_id: "a".into(),
            written_at: None,
        };
        match frame.route() {
            Routed::Alert(request) => assert_eq!(request.id(), "r1"),
            other => panic!("routed to {other:?}"),
        }
        let frame = ClientFrame::Publish {
            id: "p".into(),
            channel: "joint".parse().expect("a channel"),
            text: "x".into(),
            lang: None,
            written_at: None,
        };
        assert!(matches!(
            frame.route(),
            Routed::Messaging(MessagingRequest::Publish { .. })
        ));
    }
}
