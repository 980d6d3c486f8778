//! Per-corridor alert summaries for dashboards.

use super::{Alert, AlertStatus};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The alert picture of one corridor, for dashboards.
///
/// Only `actual` alerts are counted in `open`, `people_on_the_move`,
/// `unacknowledged` and `oldest_unacknowledged_at`, so an exercise never
/// inflates the real picture; exercises and tests are counted apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AlertSummary {
    /// Corridor slug.
    pub corridor: String,
    /// Open actual alerts.
    pub open: u32,
    /// Sum of the best headcount estimates of open actual alerts.
    pub people_on_the_move: u64,
    /// Open actual alerts nobody has acknowledged.
    pub unacknowledged: u32,
    /// When the oldest of those was raised (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_unacknowledged_at: Option<String>,
    /// Open exercise and test alerts.
    #[serde(default)]
    pub open_exercises_and_tests: u32,
}

impl AlertSummary {
    /// Summarises the alerts of `corridor` among `alerts` (others are
    /// ignored). Timestamps are compared as strings, which is correct for
    /// the hub's own uniform UTC RFC 3339 format.
    pub fn of(corridor: &str, alerts: &[Alert]) -> AlertSummary {
        let mut summary = AlertSummary {
            corridor: corridor.into(),
            open: 0,
            people_on_the_move: 0,
            unacknowledged: 0,
            oldest_unacknowledged_at: None,
            open_exercises_and_tests: 0,
        };
        for alert in alerts
            .iter()
            .filter(|a| a.corridor == corridor && a.is_open())
        {
            if alert.status != AlertStatus::Actual {
                summary.open_exercises_and_tests += 1;
                continue;
            }
            summary.open += 1;
            summary.people_on_the_move = summary
                .people_on_the_move
                .saturating_add(alert.headcount.best_estimate());
            if alert.acknowledgements.is_empty() {
                summary.unacknowledged += 1;
                let older = summary
                    .oldest_unacknowledged_at
                    .as_deref()
                    .is_none_or(|t| alert.raised_at.as_str() < t);
                if older {
                    summary.oldest_unacknowledged_at = Some(alert.raised_at.clone());
                }
            }
        }
        summary
    }
}
