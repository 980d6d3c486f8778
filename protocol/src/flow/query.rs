//! Headquarters' reads of flow figures: time series, totals with the change
//! against the previous period (the way DTM reports it) and the monthly
//! summary.

use crate::alert::vocab::wire_enum;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

wire_enum! {
    /// The width of one point of a series.
    FlowBucket {
        Hour = "hour",
        Day = "day",
        /// Weeks start on Monday.
        Week = "week",
    }
}

/// What to read: `GET /api/v1/flows/series` and the `flow.series` frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowQuery {
    /// `post:{slug}`, `corridor:{slug}`, `country:{BI|TZ}` or `all` (default):
    /// always narrowed to what the caller may read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Start (inclusive), RFC 3339 or a date `YYYY-MM-DD`; default 30 days before `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// End (exclusive), RFC 3339 or a date; default now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Default `day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<FlowBucket>,
    /// Minutes east of UTC at which days and weeks begin (Burundi 120,
    /// Tanzania 180); default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset_minutes: Option<i32>,
}

/// Summed figures of a set of report lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FlowFigures {
    pub total: u64,
    #[serde(rename = "in")]
    pub incoming: u64,
    #[serde(rename = "out")]
    pub outgoing: u64,
    pub men: u64,
    pub women: u64,
    pub boys: u64,
    pub girls: u64,
    /// By nationality code (`BI`, `TZ`, `other`).
    pub nationality: BTreeMap<String, u64>,
    /// By vulnerable group (alert vocabulary).
    pub vulnerable: BTreeMap<String, u64>,
}

/// One point of a series: the figures of reports whose period starts in
/// `[start, start + bucket)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FlowPoint {
    pub start: String,
    #[serde(flatten)]
    pub figures: FlowFigures,
}

/// The change against the previous period of the same length, compared as
/// daily averages (DTM: "change against the previous month's daily average").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowChange {
    pub daily_average: f64,
    pub previous_daily_average: f64,
    /// Percent; absent when the previous period had no movements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
}

/// The answer to a [`FlowQuery`]. Points with no reports are omitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowSeries {
    pub scope: String,
    pub bucket: FlowBucket,
    pub from: String,
    pub to: String,
    pub points: Vec<FlowPoint>,
    pub totals: FlowFigures,
    pub previous: FlowFigures,
    pub change: FlowChange,
    /// Posts whose figures are included.
    pub posts: Vec<String>,
}

/// A name with a count, for "top" lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NamedCount {
    pub name: String,
    pub count: u64,
}

/// A month in the shape of a DTM flow monitoring dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowSummary {
    pub scope: String,
    /// `YYYY-MM`.
    pub month: String,
    pub days: u32,
    pub figures: FlowFigures,
    pub change: FlowChange,
    /// Movements per post (flow monitoring point).
    pub posts: Vec<NamedCount>,
    /// Most frequent reasons, largest first.
    pub top_reasons: Vec<NamedCount>,
    pub transport: Vec<NamedCount>,
}
