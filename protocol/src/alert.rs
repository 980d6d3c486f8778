//! Mass-movement alerts: what an officer raises when many people cross (or
//! are about to cross) at a post, and every later step of that alert.
//!
//! An alert lives on the corridor channel `corridor:{slug}` of the post that
//! raised it, so both facing posts see it. Each step (raised, acknowledged,
//! updated, resolved, cancelled, escalated) is one event carrying the full
//! [`Alert`] as it stands after the step plus the step's [`AlertChange`].
//!
//! The scales ([`Severity`], [`Urgency`], [`Certainty`]) and [`AlertStatus`]
//! are those of OASIS CAP 1.2, written in snake_case, so alerts can be
//! exchanged with other systems as CAP documents without loss.
//!
//! Counts are signed (`i64`) on purpose: a client sending `-5` gets a
//! `validation_failed` naming the field instead of an opaque parse error.
//! Validation lives in [`AlertDraft::validate`] and [`AlertPatch::validate`].

mod query;
mod summary;
mod validate;
pub(crate) mod vocab;

#[cfg(test)]
mod tests;

pub use query::{
    AlertDetail, AlertPage, AlertQuery, AlertReceipt, DEFAULT_ALERT_PAGE, MAX_ALERT_PAGE,
};
pub use summary::AlertSummary;
pub use vocab::{
    AlertKind, AlertState, AlertStatus, AlertStep, Certainty, Direction, Need, Severity, Urgency,
};

pub use validate::{
    from_json_named, from_value_named, is_language_tag, MAX_HEADCOUNT, MAX_TEXT_CHARS,
};

use crate::{Author, ChannelId, Country};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt;

/// Text put in place of free text when an alert is shown to an observer.
pub const REDACTED: &str = "[redacted]";

/// An estimate of how many people are moving.
///
/// On the wire it is either a bare number, `400`, or a range object,
/// `{"low": 300, "high": 500}` (both bounds included). Counts are signed so
/// that negative input reaches validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "a number of people, or a range {\"low\": n, \"high\": n}"
)]
pub enum Headcount {
    /// One estimate, e.g. `400`.
    Single(i64),
    /// A range, e.g. `{"low": 300, "high": 500}`.
    Range {
        /// Smallest plausible number of people.
        low: i64,
        /// Largest plausible number of people.
        high: i64,
    },
}

impl Headcount {
    /// The one number to add up and display: the estimate itself, or the
    /// midpoint of a range rounded down. Never negative.
    pub fn best_estimate(&self) -> u64 {
        let n = match *self {
            Headcount::Single(n) => n,
            Headcount::Range { low, high } => low.saturating_add((high.saturating_sub(low)) / 2),
        };
        n.max(0).unsigned_abs()
    }

    /// The headcount as JSON, for [`FieldChange`] values.
    fn to_json(self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Display for Headcount {
    /// `400` or `300-500`, as in CAP parameters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Headcount::Single(n) => write!(f, "{n}"),
            Headcount::Range { low, high } => write!(f, "{low}-{high}"),
        }
    }
}

/// How many of the people belong to groups that need particular care.
/// An absent count means "not counted", which is not the same as zero.
/// Groups overlap (an injured child counts in two groups), so the counts
/// are not meant to be added up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VulnerableGroups {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unaccompanied_or_separated_children: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pregnant_or_lactating_women: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injured_or_sick: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persons_with_disabilities: Option<i64>,
}

impl VulnerableGroups {
    /// The wire names of the groups, in a stable order.
    pub const GROUPS: [&'static str; 5] = [
        "unaccompanied_or_separated_children",
        "pregnant_or_lactating_women",
        "elderly",
        "injured_or_sick",
        "persons_with_disabilities",
    ];

    /// Every group with its count (absent when not counted), in [`Self::GROUPS`] order.
    pub fn counts(&self) -> [(&'static str, Option<i64>); 5] {
        [
            (Self::GROUPS[0], self.unaccompanied_or_separated_children),
            (Self::GROUPS[1], self.pregnant_or_lactating_women),
            (Self::GROUPS[2], self.elderly),
            (Self::GROUPS[3], self.injured_or_sick),
            (Self::GROUPS[4], self.persons_with_disabilities),
        ]
    }

    /// Sets the count of the group with this wire name; false if there is no such group.
    pub fn set(&mut self, group: &str, count: Option<i64>) -> bool {
        let slot = match group {
            "unaccompanied_or_separated_children" => &mut self.unaccompanied_or_separated_children,
            "pregnant_or_lactating_women" => &mut self.pregnant_or_lactating_women,
            "elderly" => &mut self.elderly,
            "injured_or_sick" => &mut self.injured_or_sick,
            "persons_with_disabilities" => &mut self.persons_with_disabilities,
            _ => return false,
        };
        *slot = count;
        true
    }

    /// True when no group was counted.
    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|(_, c)| c.is_none())
    }
}

/// A point in WGS 84 decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Latitude, -90 to 90 (Mugina is about -4.1).
    pub lat: f64,
    /// Longitude, -180 to 180 (Mugina is about 29.6).
    pub lon: f64,
}

/// Free text with its language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalizedText {
    /// UTF-8 text, 1 to 8,000 characters.
    pub text: String,
    /// BCP 47 language tag: `fr`, `en`, `sw`, `rn` or another such as `fr-BI`.
    pub lang: String,
}

/// What an officer sends to raise an alert.
///
/// ```json
/// {"kind": "mass_arrival", "direction": "into_tanzania", "headcount": {"low": 350, "high": 450},
///  "vulnerable": {"unaccompanied_or_separated_children": 12}, "needs": ["water", "shelter"],
///  "severity": "severe", "urgency": "immediate", "certainty": "observed", "status": "actual"}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertDraft {
    /// Slug of the post the alert is about; the server defaults it to the officer's post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    pub kind: AlertKind,
    pub direction: Direction,
    pub headcount: Headcount,
    #[serde(default, skip_serializing_if = "VulnerableGroups::is_empty")]
    pub vulnerable: VulnerableGroups,
    /// Each need at most once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
    pub severity: Severity,
    pub urgency: Urgency,
    pub certainty: Certainty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<LocalizedText>,
    /// Required, so that an exercise is never raised as real by omission.
    pub status: AlertStatus,
    /// When the author wrote it, if it was composed offline and sent later
    /// (RFC 3339, from the client's clock; the hub refuses one more than 2
    /// minutes ahead of its own and keeps it beside its own time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<String>,
}

/// What an update may change; absent fields stay as they are. `vulnerable`
/// and `needs` replace the whole previous value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headcount: Option<Headcount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerable: Option<VulnerableGroups>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs: Option<Vec<Need>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certainty: Option<Certainty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<LocalizedText>,
}

impl AlertPatch {
    /// True when the patch changes nothing; the server refuses such updates.
    pub fn is_empty(&self) -> bool {
        *self == AlertPatch::default()
    }
}

/// The optional body of `POST /api/v1/alerts/{id}/ack`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertAckRequest {
    /// When the author wrote it, if it was composed offline and sent later
    /// (RFC 3339, from the client's clock; the hub refuses one more than 2
    /// minutes ahead of its own and keeps it beside its own time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<String>,
}

/// One acknowledgement of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AlertAck {
    pub by: Author,
    /// RFC 3339: when the hub stored it.
    pub at: String,
    /// When the acknowledgement was given, if offline and sent later (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<String>,
}

/// How and why an alert was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AlertClosing {
    /// Free text, e.g. "All transferred to the Manyovu transit centre".
    pub reason: String,
    pub by: Author,
    /// RFC 3339.
    pub at: String,
}

/// An alert as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alert {
    /// Server-chosen, stable identifier.
    pub id: String,
    /// Slug of the post the alert is about.
    pub post: String,
    /// Slug of the corridor; the alert's events are on `corridor:{corridor}`.
    pub corridor: String,
    /// Country of the post.
    pub country: Country,
    pub raised_by: Author,
    /// RFC 3339.
    pub raised_at: String,
    pub kind: AlertKind,
    pub direction: Direction,
    pub headcount: Headcount,
    #[serde(default, skip_serializing_if = "VulnerableGroups::is_empty")]
    pub vulnerable: VulnerableGroups,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
    pub severity: Severity,
    pub urgency: Urgency,
    pub certainty: Certainty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<LocalizedText>,
    pub status: AlertStatus,
    pub state: AlertState,
    #[serde(default)]
    pub acknowledgements: Vec<AlertAck>,
    /// 0 until the first escalation, then one more per escalation.
    #[serde(default)]
    pub escalation_level: u8,
    /// 1 when raised, bumped by every later step.
    pub version: u32,
    /// RFC 3339: when the last step happened.
    pub updated_at: String,
    /// Present once resolved or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closing: Option<AlertClosing>,
}

/// Where a new alert comes from: what the server adds to an [`AlertDraft`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOrigin {
    pub id: String,
    pub post: String,
    pub corridor: String,
    pub country: Country,
    pub raised_by: Author,
    /// RFC 3339.
    pub raised_at: String,
}

impl Alert {
    /// A newly raised alert (version 1, open). `draft.post` is ignored in
    /// favour of `origin.post`, which the server has resolved and checked.
    pub fn raise(draft: AlertDraft, origin: AlertOrigin) -> Alert {
        Alert {
            id: origin.id,
            post: origin.post,
            corridor: origin.corridor,
            country: origin.country,
            raised_by: origin.raised_by,
            updated_at: origin.raised_at.clone(),
            raised_at: origin.raised_at,
            kind: draft.kind,
            direction: draft.direction,
            headcount: draft.headcount,
            vulnerable: draft.vulnerable,
            needs: draft.needs,
            severity: draft.severity,
            urgency: draft.urgency,
            certainty: draft.certainty,
            location: draft.location,
            text: draft.text,
            status: draft.status,
            state: AlertState::Open,
            acknowledgements: Vec::new(),
            escalation_level: 0,
            version: 1,
            closing: None,
        }
    }

    /// The channel the alert's events are published on.
    pub fn channel(&self) -> ChannelId {
        ChannelId::Corridor(self.corridor.clone())
    }

    /// True while the alert is neither resolved nor cancelled.
    pub fn is_open(&self) -> bool {
        self.state == AlertState::Open
    }

    /// Applies a (validated) patch and returns what actually changed, one
    /// [`FieldChange`] per top-level field whose value differs. Does not
    /// touch `version` or `updated_at`: the server bumps them with the step.
    pub fn apply_patch(&mut self, patch: &AlertPatch) -> Vec<FieldChange> {
        let mut changes = Vec::new();
        let mut record = |field: &str, from: serde_json::Value, to: serde_json::Value| {
            if from != to {
                changes.push(FieldChange {
                    field: field.into(),
                    from,
                    to,
                });
            }
        };
        if let Some(h) = patch.headcount {
            record("headcount", self.headcount.to_json(), h.to_json());
            self.headcount = h;
        }
        if let Some(v) = &patch.vulnerable {
            record("vulnerable", json!(self.vulnerable), json!(v));
            self.vulnerable = v.clone();
        }
        if let Some(n) = &patch.needs {
            record("needs", json!(self.needs), json!(n));
            self.needs = n.clone();
        }
        if let Some(s) = patch.severity {
            record("severity", json!(self.severity), json!(s));
            self.severity = s;
        }
        if let Some(u) = patch.urgency {
            record("urgency", json!(self.urgency), json!(u));
            self.urgency = u;
        }
        if let Some(c) = patch.certainty {
            record("certainty", json!(self.certainty), json!(c));
            self.certainty = c;
        }
        if let Some(t) = &patch.text {
            record("text", json!(self.text), json!(t));
            self.text = Some(t.clone());
        }
        changes
    }

    /// The alert as an observer (partner agency) may see it: authors lose
    /// what identifies the person, and free text is replaced by
    /// [`REDACTED`] (its language is kept).
    pub fn redacted(&self) -> Alert {
        Alert {
            raised_by: self.raised_by.redacted(),
            text: self.text.as_ref().map(|t| LocalizedText {
                text: REDACTED.into(),
                lang: t.lang.clone(),
            }),
            acknowledgements: self
                .acknowledgements
                .iter()
                .map(|a| AlertAck {
                    by: a.by.redacted(),
                    at: a.at.clone(),
                    written_at: a.written_at.clone(),
                })
                .collect(),
            closing: self.closing.as_ref().map(|c| AlertClosing {
                reason: REDACTED.into(),
                by: c.by.redacted(),
                at: c.at.clone(),
            }),
            ..self.clone()
        }
    }
}

/// One field that a step changed, with its JSON value before and after
/// (`null` when it had none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// Top-level field name of [`Alert`], e.g. `headcount` or `state`.
    pub field: String,
    pub from: serde_json::Value,
    pub to: serde_json::Value,
}

/// One entry of an alert's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertChange {
    /// RFC 3339: when the hub stored the step.
    pub at: String,
    /// When the step was taken, if offline and sent later (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<String>,
    /// Who took the step; absent when the hub did (escalations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Author>,
    pub step: AlertStep,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
}

impl AlertChange {
    /// The entry as an observer may see it: the author redacted, and text
    /// values (`text`, `closing`) replaced by [`REDACTED`].
    pub fn redacted(&self) -> AlertChange {
        let hide = |v: &serde_json::Value| {
            if v.is_null() {
                serde_json::Value::Null
            } else {
                json!(REDACTED)
            }
        };
        AlertChange {
            at: self.at.clone(),
            written_at: self.written_at.clone(),
            by: self.by.as_ref().map(Author::redacted),
            step: self.step,
            changes: self
                .changes
                .iter()
                .map(|c| match c.field.as_str() {
                    "text" | "closing" | "acknowledgements" | "raised_by" => FieldChange {
                        field: c.field.clone(),
                        from: hide(&c.from),
                        to: hide(&c.to),
                    },
                    _ => c.clone(),
                })
                .collect(),
        }
    }
}

/// The body of `alert.raised`, `alert.acknowledged`, `alert.updated`,
/// `alert.resolved` and `alert.cancelled` events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertStepBody {
    /// The alert after the step.
    pub alert: Alert,
    pub change: AlertChange,
}

/// The body of an `alert.escalated` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertEscalationBody {
    /// The alert after the step.
    pub alert: Alert,
    pub change: AlertChange,
    /// The level reached (1 for the first escalation).
    pub level: u8,
}

impl AlertStepBody {
    /// The body as an observer may see it.
    pub fn redacted(&self) -> AlertStepBody {
        AlertStepBody {
            alert: self.alert.redacted(),
            change: self.change.redacted(),
        }
    }
}

impl AlertEscalationBody {
    /// The body as an observer may see it.
    pub fn redacted(&self) -> AlertEscalationBody {
        AlertEscalationBody {
            alert: self.alert.redacted(),
            change: self.change.redacted(),
            level: self.level,
        }
    }
}
