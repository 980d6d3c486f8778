//! The settings of the flow feature (`[flows]`), owned here and read by
//! `config`; nothing in this file reaches back into the hub.

use serde::{Deserialize, Serialize};

/// Settings of the flow feature (`[flows]` in the configuration file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSettings {
    /// Reason codes a report may give for a movement.
    pub reasons: Vec<String>,
}

/// The reasons DTM flow monitoring asks about on this border, as codes.
pub const DEFAULT_REASONS: &[&str] = &[
    "family_visit",
    "trade",
    "work",
    "agriculture",
    "education",
    "health",
    "return_home",
    "fleeing_insecurity",
    "food_insecurity",
    "natural_disaster",
    "tourism",
    "other",
];

impl Default for FlowSettings {
    fn default() -> Self {
        FlowSettings {
            reasons: DEFAULT_REASONS.iter().map(|r| (*r).to_owned()).collect(),
        }
    }
}
