//! Alerts as OASIS CAP 1.2 documents (namespace
//! `urn:oasis:names:tc:emergency:cap:1.2`), for exchange with other alerting
//! systems: [`to_cap`] writes one alert, [`cap_feed`] an Atom feed of open
//! alerts, [`from_cap`] reads a CAP alert from elsewhere into an
//! [`AlertDraft`].
//!
//! # How an mpaka alert maps to CAP
//!
//! | mpaka | CAP |
//! |---|---|
//! | one alert at `version` n | one message, `identifier` `mpaka-{id}-v{n}`, `incidents` `mpaka-{id}` |
//! | `updated_at` | `sent`, in CAP form: no fractions, explicit offset, UTC as `-00:00` (CAP 1.2 §3.3.2) |
//! | `status` actual / exercise / test | `status` Actual / Exercise / Test; exercises and tests also get a `note` and a headline prefix |
//! | version 1 / later steps / cancelled | `msgType` Alert / Update / Cancel |
//! | later versions | `references` to the original: `{sender},mpaka-{id}-v1,{raised_at}` |
//! | (always) | `scope` Restricted with a `restriction` naming the audience |
//! | `kind` | `category` and `event`, see [`category`] and [`event_name`] |
//! | `severity`, `urgency`, `certainty` | the CAP values of the same name (the scales are CAP's) |
//! | resolved | `responseType` AllClear |
//! | `text` | `description` and `language` (else a generated English summary, `language` en) |
//! | every structured field | a `parameter` named `mpaka:{field}`, see [`param`] |
//! | `post`, `corridor`, `location` | one `area`: `areaDesc` "post {post}, corridor {corridor}", and a `circle` `lat,lon 0` (a point) when the location is known |
//!
//! The headline is always a generated English summary so that any receiver
//! can triage the alert; the free text, in the officer's language, is the
//! description. No person is named: `senderName` is the post, not the
//! officer. Pass [`Alert::redacted`] for receivers that must not see free
//! text either.
//!
//! # Reading CAP from elsewhere
//!
//! [`from_cap`] checks the document (namespace, required elements, the
//! enumerations, date-times, `references`, `restriction`, circles) and
//! reports every problem at once. It then reads the `mpaka:*` parameters
//! when present; otherwise it infers the kind from `event`/`category`, and
//! the direction and headcount from the English, French, Swahili or Kirundi
//! wording of event, headline and description. A document whose direction
//! or headcount cannot be found is refused as [`CapError::Unsupported`]:
//! it is valid CAP but not a border-movement alert (the four examples of
//! the CAP 1.2 specification are such documents). Input is bounded
//! ([`MAX_CAP_BYTES`], nesting depth, element count) and a DOCTYPE is
//! refused, so hostile XML cannot expand entities or exhaust memory.

mod check;
mod infer;
mod read;
mod write;
mod xml;

#[cfg(test)]
mod tests;

pub use read::{from_cap, new_alert_from_cap};
pub use write::{cap_feed, to_cap};

#[cfg(doc)]
use mpaka_protocol::Alert;
use mpaka_protocol::{
    AlertDraft, AlertKind, AlertState, AlertStatus, Certainty, FieldError, Severity, Urgency,
};
use std::fmt;

/// The CAP 1.2 XML namespace.
pub const CAP_NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// Largest CAP document [`from_cap`] reads, in bytes.
pub const MAX_CAP_BYTES: usize = 512 * 1024;

/// A CAP alert read from another system.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedCap {
    /// The sender's identifier of the message.
    pub identifier: String,
    /// The sender (CAP `sender`, e.g. an e-mail address or domain).
    pub sender: String,
    /// CAP `sent` as written, e.g. `2025-03-14T08:12:45+02:00`.
    pub sent: String,
    pub msg_type: MsgType,
    /// Earlier messages this one updates or cancels.
    pub references: Vec<CapReference>,
    /// The alert the message describes; `draft.status` comes from CAP `status`.
    pub draft: AlertDraft,
    /// The `mpaka:state` parameter, when the sender is an mpaka hub.
    pub state: Option<AlertState>,
    /// Draft fields that were not given as `mpaka:*` parameters and were
    /// inferred from the CAP wording instead (e.g. `kind`, `direction`).
    pub inferred: Vec<&'static str>,
}

/// One `sender,identifier,sent` triplet of CAP `references`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapReference {
    pub sender: String,
    pub identifier: String,
    pub sent: String,
}

/// CAP `msgType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    Alert,
    Update,
    Cancel,
    Ack,
    Error,
}

impl MsgType {
    /// The CAP spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MsgType::Alert => "Alert",
            MsgType::Update => "Update",
            MsgType::Cancel => "Cancel",
            MsgType::Ack => "Ack",
            MsgType::Error => "Error",
        }
    }

    fn parse(s: &str) -> Option<MsgType> {
        [
            MsgType::Alert,
            MsgType::Update,
            MsgType::Cancel,
            MsgType::Ack,
            MsgType::Error,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// Why a CAP document was not imported. Problems carry the path of the
/// element at fault (`alert.sent`, `info[0].urgency`) so they can be
/// returned as a `validation_failed` error's fields.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CapError {
    /// The document is larger than [`MAX_CAP_BYTES`].
    #[error("CAP document too large: {0} bytes (at most {MAX_CAP_BYTES})")]
    TooLarge(usize),
    /// The input is not well-formed XML, or uses features refused for
    /// safety (DOCTYPE, undefined entities, excessive nesting).
    #[error("not well-formed XML: {0}")]
    Malformed(String),
    /// Well-formed XML, but not a valid CAP 1.2 alert.
    #[error("not a valid CAP 1.2 alert: {}", list(.0))]
    Invalid(Vec<FieldError>),
    /// A valid CAP 1.2 alert that does not describe a border movement
    /// mpaka can take in (no direction or headcount, a Draft, no `info`).
    #[error("valid CAP 1.2 but not importable as a border-movement alert: {}", list(.0))]
    Unsupported(Vec<FieldError>),
}

impl CapError {
    /// The per-element problems (empty for `TooLarge` and `Malformed`).
    pub fn problems(&self) -> &[FieldError] {
        match self {
            CapError::Invalid(p) | CapError::Unsupported(p) => p,
            CapError::TooLarge(_) | CapError::Malformed(_) => &[],
        }
    }
}

fn list(problems: &[FieldError]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// CAP `parameter` names (`valueName`) carrying mpaka's structured fields.
pub mod param {
    /// `mpaka:kind`: an [`AlertKind`](mpaka_protocol::AlertKind) wire name.
    pub const KIND: &str = "mpaka:kind";
    /// `mpaka:direction`: `into_burundi` or `into_tanzania`.
    pub const DIRECTION: &str = "mpaka:direction";
    /// `mpaka:headcount`: `400` or a range `350-450`.
    pub const HEADCOUNT: &str = "mpaka:headcount";
    /// `mpaka:headcount_best`: the one best estimate (written, not read).
    pub const HEADCOUNT_BEST: &str = "mpaka:headcount_best";
    /// `mpaka:vulnerable.{group}`: one per counted group, e.g. `mpaka:vulnerable.elderly`.
    pub const VULNERABLE_PREFIX: &str = "mpaka:vulnerable.";
    /// `mpaka:needs`: space-separated need names, e.g. `water food shelter`.
    pub const NEEDS: &str = "mpaka:needs";
    /// `mpaka:post`: post slug.
    pub const POST: &str = "mpaka:post";
    /// `mpaka:corridor`: corridor slug.
    pub const CORRIDOR: &str = "mpaka:corridor";
    /// `mpaka:country`: `BI` or `TZ`, the post's country.
    pub const COUNTRY: &str = "mpaka:country";
    /// `mpaka:state`: `open`, `resolved` or `cancelled`.
    pub const STATE: &str = "mpaka:state";
    /// `mpaka:version`: the alert's version.
    pub const VERSION: &str = "mpaka:version";
    /// `mpaka:acknowledgements`: how many acknowledgements it has.
    pub const ACKNOWLEDGEMENTS: &str = "mpaka:acknowledgements";
    /// `mpaka:escalation_level`: 0 until escalated.
    pub const ESCALATION_LEVEL: &str = "mpaka:escalation_level";
}

/// CAP `category` of an alert kind: movements of people are `Safety`
/// (general public safety), screening `Health`, incidents `Security`,
/// closures and reopenings of a crossing `Transport`.
pub fn category(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::MassArrival | AlertKind::MassDeparture | AlertKind::UnusualFlow => "Safety",
        AlertKind::HealthScreening => "Health",
        AlertKind::SecurityIncident => "Security",
        AlertKind::BorderClosure | AlertKind::BorderReopening => "Transport",
        AlertKind::Other => "Other",
    }
}

/// CAP `event` text of an alert kind (English).
pub fn event_name(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::MassArrival => "Mass arrival of people",
        AlertKind::MassDeparture => "Mass departure of people",
        AlertKind::UnusualFlow => "Unusual cross-border flow",
        AlertKind::HealthScreening => "Health screening at the border",
        AlertKind::SecurityIncident => "Security incident at the border",
        AlertKind::BorderClosure => "Border crossing closed",
        AlertKind::BorderReopening => "Border crossing reopened",
        AlertKind::Other => "Border event",
    }
}

/// CAP spelling of an mpaka value: the snake_case name in CamelCase
/// (`observed` → `Observed`).
fn cap_case(wire: &str) -> String {
    wire.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The mpaka value of a CAP scale value (`Observed` → `observed`), if it is one.
fn from_cap_case<T: std::str::FromStr>(cap: &str) -> Option<T> {
    // CAP values are single CamelCase words; mpaka's are their lowercase.
    if cap.is_empty() || !cap.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    cap.to_ascii_lowercase().parse().ok()
}

/// CAP `status` of an alert status.
fn status_to_cap(s: AlertStatus) -> String {
    cap_case(s.as_str())
}

fn severity_to_cap(s: Severity) -> String {
    cap_case(s.as_str())
}

fn urgency_to_cap(u: Urgency) -> String {
    cap_case(u.as_str())
}

fn certainty_to_cap(c: Certainty) -> String {
    cap_case(c.as_str())
}

impl fmt::Display for MsgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
