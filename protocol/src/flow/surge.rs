//! Surge suggestions: what the hub's detector proposes and an officer
//! confirms into an alert or dismisses (the EWARS verification step).

use crate::alert::vocab::wire_enum;
use crate::{AlertDraft, Author, FlowDirection};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

wire_enum! {
    /// Where a suggestion stands.
    FlowSurgeState {
        /// Waiting for an officer or coordinator to verify it.
        Suggested = "suggested",
        /// Confirmed into an alert.
        Confirmed = "confirmed",
        /// Dismissed with a reason.
        Dismissed = "dismissed",
    }
}

/// A surge the detector found in one post's daily figures: at most one per
/// post, day and direction, ever.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowSurge {
    pub id: String,
    pub post: String,
    pub corridor: String,
    /// The day (UTC date, `YYYY-MM-DD`).
    pub day: String,
    pub direction: FlowDirection,
    /// Movements counted that day so far when the surge was found.
    pub observed: u64,
    /// What the baseline expected for that day.
    pub expected: f64,
    /// How many baseline deviations above the expectation.
    pub score: f64,
    /// The threshold in force for the post.
    pub threshold: f64,
    /// The alert this surge suggests, pre-filled from the figures.
    pub draft: AlertDraft,
    /// The reports that made up the day.
    pub reports: Vec<String>,
    pub state: FlowSurgeState,
    pub found_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<Author>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl FlowSurge {
    /// As an observer would see it (they do not receive surges; kept for symmetry).
    pub fn redacted(&self) -> FlowSurge {
        FlowSurge {
            closed_by: self.closed_by.as_ref().map(Author::redacted),
            ..self.clone()
        }
    }
}

/// The reply to confirming or dismissing a surge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowSurgeReceipt {
    pub surge: FlowSurge,
    pub seq: u64,
    pub duplicate: bool,
}
