//! Flow figures: how many people crossed at a post during a period, by
//! direction, nationality, sex and age group, vulnerability, means of
//! transport and reason — counts only, never names — and the surge
//! suggestions the hub derives from them. The shape follows IOM's
//! Displacement Tracking Matrix flow monitoring so that headquarters and
//! partners read the same figures they already know.
//!
//! A report is written with [`FlowDraft`] and stored as a [`FlowReport`];
//! a correction replaces its lines and keeps the earlier version in the
//! history. Validation lives in [`FlowDraft::validate`].

mod query;
mod surge;
#[cfg(test)]
mod tests;

pub use query::{
    FlowBucket, FlowChange, FlowFigures, FlowPoint, FlowQuery, FlowSeries, FlowSummary, NamedCount,
};
pub use surge::{FlowSurge, FlowSurgeReceipt, FlowSurgeState};

use crate::alert::vocab::wire_enum;
use crate::{Author, Country, FieldCode, FieldError, VulnerableGroups};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Most lines in one report.
pub const MAX_FLOW_LINES: usize = 200;
/// Most people in one line of one report.
pub const MAX_FLOW_COUNT: u32 = 100_000;
/// Longest reason code, in characters.
pub const MAX_REASON_CODE_CHARS: usize = 40;

wire_enum! {
    /// Which way people cross, seen from the post's own country.
    FlowDirection {
        /// Entering the post's country.
        In = "in",
        /// Leaving the post's country.
        Out = "out",
    }
}

wire_enum! {
    /// The nationality group DTM reports at this border.
    Nationality {
        /// Burundian.
        Burundian = "BI",
        /// Tanzanian.
        Tanzanian = "TZ",
        /// Any other nationality, or stateless.
        Other = "other",
    }
}

wire_enum! {
    /// Who may read a report besides the recording post and its country's
    /// coordinators.
    FlowSharing {
        /// Only the post and its own country (`post:{slug}`): national figures stay national.
        National = "national",
        /// Both sides of the corridor and observers (`corridor:{slug}`).
        Joint = "joint",
    }
}

wire_enum! {
    /// Means of transport.
    Transport {
        Foot = "foot",
        Bicycle = "bicycle",
        Motorbike = "motorbike",
        Car = "car",
        Bus = "bus",
        Truck = "truck",
        Boat = "boat",
        Other = "other",
    }
}

wire_enum! {
    /// A step of a report's life.
    FlowStep {
        /// The report was recorded.
        Recorded = "recorded",
        /// Its lines were replaced; the earlier version is kept.
        Corrected = "corrected",
    }
}

/// One group of people who crossed the same way: the counts by sex and age
/// group (children are under 18), with how many of them are vulnerable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowLine {
    pub direction: FlowDirection,
    pub nationality: Nationality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// A reason code from the hub's list (`GET /api/v1/flows/vocabulary`),
    /// e.g. `family_visit`, `trade`, `fleeing_insecurity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Adult men (18 and over).
    #[serde(default)]
    pub men: u32,
    /// Adult women (18 and over).
    #[serde(default)]
    pub women: u32,
    /// Boys under 18.
    #[serde(default)]
    pub boys: u32,
    /// Girls under 18.
    #[serde(default)]
    pub girls: u32,
    /// How many of the people counted above are in each vulnerable group
    /// (the alert vocabulary); each at most the line's total.
    #[serde(default, skip_serializing_if = "VulnerableGroups::is_empty")]
    pub vulnerable: VulnerableGroups,
}

impl FlowLine {
    /// Everyone in the line.
    pub fn total(&self) -> u64 {
        u64::from(self.men) + u64::from(self.women) + u64::from(self.boys) + u64::from(self.girls)
    }
}

/// A report as a post writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowDraft {
    /// Slug of the post; the server defaults it to the officer's post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    /// Start of the counted period, RFC 3339 (e.g. `2026-11-30T08:00:00Z`).
    pub period_start: String,
    /// End of the counted period (exclusive), RFC 3339; an hour, a shift or
    /// a day: at most 24 hours after the start, and not in the future.
    pub period_end: String,
    /// Who may read it besides the post's own country; default `joint`.
    #[serde(default = "joint")]
    pub sharing: FlowSharing,
    /// The counts; a period when nobody crossed has no lines (an explicit zero).
    #[serde(default)]
    pub lines: Vec<FlowLine>,
}

fn joint() -> FlowSharing {
    FlowSharing::Joint
}

impl FlowDraft {
    /// Every problem of the draft that does not need the server's state
    /// (times and the reason list are checked by the server).
    pub fn validate(&self) -> Vec<FieldError> {
        validate_lines(&self.lines)
    }
}

/// Problems of a list of lines, each naming its field (`lines.3.men`).
pub fn validate_lines(lines: &[FlowLine]) -> Vec<FieldError> {
    let mut problems = Vec::new();
    if lines.len() > MAX_FLOW_LINES {
        problems.push(
            FieldError::new(
                "lines",
                FieldCode::TooLong,
                format!("at most {MAX_FLOW_LINES} lines per report"),
            )
            .with("max", MAX_FLOW_LINES)
            .with("unit", "entries"),
        );
    }
    for (i, line) in lines.iter().enumerate() {
        for (name, n) in [
            ("men", line.men),
            ("women", line.women),
            ("boys", line.boys),
            ("girls", line.girls),
        ] {
            if n > MAX_FLOW_COUNT {
                problems.push(
                    FieldError::new(
                        format!("lines.{i}.{name}"),
                        FieldCode::TooLarge,
                        format!("must be at most {MAX_FLOW_COUNT}"),
                    )
                    .with("max", MAX_FLOW_COUNT)
                    .with("got", n),
                );
            }
        }
        let total = line.total();
        for (group, count) in line.vulnerable.counts() {
            if let Some(n) = count {
                if n < 0 || n.unsigned_abs() > total {
                    problems.push(
                        FieldError::new(
                            format!("lines.{i}.vulnerable.{group}"),
                            FieldCode::OutOfRange,
                            format!("must be between 0 and the line's total ({total})"),
                        )
                        .with("min", 0)
                        .with("max", total),
                    );
                }
            }
        }
        if let Some(reason) = &line.reason {
            let ok = !reason.is_empty()
                && reason.chars().count() <= MAX_REASON_CODE_CHARS
                && reason
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                problems.push(FieldError::new(
                    format!("lines.{i}.reason"),
                    FieldCode::NotASlug,
                    "must be a reason code such as family_visit (lowercase letters, digits, _)",
                ));
            }
        }
    }
    problems
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FlowReport {
    pub id: String,
    pub post: String,
    pub corridor: String,
    pub country: Country,
    pub sharing: FlowSharing,
    /// RFC 3339 UTC with milliseconds.
    pub period_start: String,
    pub period_end: String,
    pub lines: Vec<FlowLine>,
    /// Everyone in every line.
    pub total: u64,
    /// 1 when recorded, one more with each correction.
    pub version: u32,
    pub recorded_by: Author,
    pub recorded_at: String,
    pub updated_at: String,
}

impl FlowReport {
    /// The channel its events go to: `corridor:{slug}` when joint,
    /// `post:{slug}` when national.
    pub fn channel(&self) -> crate::ChannelId {
        match self.sharing {
            FlowSharing::Joint => crate::ChannelId::Corridor(self.corridor.clone()),
            FlowSharing::National => crate::ChannelId::Post(self.post.clone()),
        }
    }

    /// The report as an observer sees it: without who recorded it.
    pub fn redacted(&self) -> FlowReport {
        FlowReport {
            recorded_by: self.recorded_by.redacted(),
            ..self.clone()
        }
    }
}

/// A correction: the new lines replace the old ones, with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowCorrection {
    pub lines: Vec<FlowLine>,
    /// Why (e.g. "double-counted the 10:00 bus"), 1–2,000 characters.
    pub reason: String,
}

/// The body of `flow.recorded` and `flow.corrected` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FlowStepBody {
    pub report: FlowReport,
    pub step: FlowStep,
    /// The correction's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl FlowStepBody {
    /// As an observer sees it.
    pub fn redacted(&self) -> FlowStepBody {
        FlowStepBody {
            report: self.report.redacted(),
            ..self.clone()
        }
    }
}

/// The reply to a report or correction: the report after it, stored as event `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowReceipt {
    pub report: FlowReport,
    pub seq: u64,
    /// True when this request had already been applied: nothing new was stored.
    pub duplicate: bool,
    /// Surges this report revealed (each suggested once, ever).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub surges: Vec<FlowSurge>,
}

/// A report with every earlier version, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FlowReportHistory {
    pub report: FlowReport,
    pub versions: Vec<FlowVersion>,
}

/// One version of a report as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FlowVersion {
    pub version: u32,
    pub lines: Vec<FlowLine>,
    pub total: u64,
    pub at: String,
    pub by: Author,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The vocabulary of flow reports, for forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FlowVocabulary {
    pub directions: Vec<FlowDirection>,
    pub nationalities: Vec<Nationality>,
    pub transports: Vec<Transport>,
    /// Reason codes this hub accepts (configurable).
    pub reasons: Vec<String>,
    pub vulnerable: Vec<String>,
}
