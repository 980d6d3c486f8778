//! Requests and replies about alerts that are not alerts themselves: the
//! filter of a listing, one page of a listing, one alert with its history,
//! and the receipt of a write step. The socket frames and the REST API use
//! the same types.

use super::{Alert, AlertChange, AlertKind, AlertState, AlertStatus, Severity};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default number of alerts in one page of a listing.
pub const DEFAULT_ALERT_PAGE: u32 = 50;
/// Largest page of a listing.
pub const MAX_ALERT_PAGE: u32 = 200;

/// Which alerts to list. Every field is optional and they combine with
/// "and". Only alerts of corridors the caller may read are ever listed.
/// Over REST the same fields are query parameters
/// (`GET /api/v1/alerts?state=open&severity=severe&limit=20`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<AlertState>,
    /// Post slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    /// Corridor slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corridor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AlertKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// `actual`, `exercise` or `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AlertStatus>,
    /// Raised at or after this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Raised before this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Alerts per page, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Alerts to skip: the `next_offset` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// One page of a listing, newest raised first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertPage {
    pub alerts: Vec<Alert>,
    /// The `offset` of the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u32>,
}

/// One alert as it stands, with every step of its history, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertDetail {
    pub alert: Alert,
    pub history: Vec<AlertChange>,
}

/// The answer to a write step (raise, acknowledge, update, resolve,
/// cancel): the alert after the step, durably stored and announced as
/// event `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertReceipt {
    pub alert: Alert,
    pub seq: u64,
    /// True when this request id (or `Idempotency-Key`) was already used
    /// for the same request: nothing new was stored, this is the first answer.
    #[serde(default)]
    pub duplicate: bool,
}
