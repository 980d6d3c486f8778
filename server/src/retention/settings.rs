//! The settings of retention (`[retention]`), owned here and read by
//! `config`.

use serde::{Deserialize, Serialize};

/// The `[retention]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Personal free text (message texts, alert texts and closing reasons,
    /// flow correction reasons, names inside alert and report snapshots)
    /// older than this many seconds is redacted; alerts once closed and
    /// older than this. 0 (the default): never. The legal period is the
    /// operator's to set: see docs/operations.md, "Retention".
    pub redact_after_secs: u64,
    /// How often one node (holding the lease) looks for text to redact.
    pub check_interval_ms: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            redact_after_secs: 0,
            check_interval_ms: 3_600_000,
        }
    }
}

impl RetentionSettings {
    /// Checks the values make sense.
    ///
    /// # Errors
    /// A message naming the offending key.
    pub fn check(&self) -> Result<(), String> {
        if !(10..=86_400_000).contains(&self.check_interval_ms) {
            return Err("retention.check_interval_ms must be between 10 and 86400000".into());
        }
        if self.redact_after_secs > 100 * 365 * 86_400 {
            return Err("retention.redact_after_secs must be at most 100 years".into());
        }
        Ok(())
    }
}
