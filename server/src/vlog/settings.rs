//! The settings of the verifiable log (`[log]`), owned here and read by
//! `config`; nothing in this file reaches back into the hub.

use super::note::Verifier;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The `[log]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// The log's name in checkpoints and its key name (C2SP origin), e.g.
    /// `bi.mpaka/log`. Letters, digits and `.-_/:` only.
    pub origin: String,
    /// The Ed25519 signing key (base64 seed, mode 0600). Default
    /// `{data_dir}/log.key`, created on first start. Never in the database.
    pub key_file: Option<PathBuf>,
    /// Sign a checkpoint once this many entries are new.
    pub checkpoint_every: u64,
    /// Sign a checkpoint at least this often while entries are new.
    pub checkpoint_secs: u64,
    /// Append-only copy of every checkpoint: one file per checkpoint,
    /// never overwritten (for write-once media or a mount from another host).
    pub checkpoint_dir: Option<PathBuf>,
    /// Witnesses each new checkpoint is offered to.
    pub witnesses: Vec<WitnessPeer>,
    /// Verifier keys of the logs this hub witnesses (`POST
    /// /api/v1/log/witness/add-checkpoint`): another country's hub.
    pub witness_for: Vec<String>,
}

/// A witness this hub offers its checkpoints to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessPeer {
    /// Base URL of the witness API, e.g. `https://tz.example/api/v1/log/witness`.
    pub url: String,
    /// The witness's verifier key (`name+keyid+base64`).
    pub vkey: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            origin: "mpaka.invalid/log".into(),
            key_file: None,
            checkpoint_every: 1000,
            checkpoint_secs: 60,
            checkpoint_dir: None,
            witnesses: Vec::new(),
            witness_for: Vec::new(),
        }
    }
}

impl LogSettings {
    /// Checks the values make sense.
    ///
    /// # Errors
    /// A message naming the offending key.
    pub fn check(&self) -> std::result::Result<(), String> {
        let ok = |c: char| c.is_ascii_alphanumeric() || ".-_/:".contains(c);
        if self.origin.is_empty() || !self.origin.chars().all(ok) {
            return Err("log.origin must be non-empty letters, digits and . - _ / : only".into());
        }
        if self.checkpoint_every == 0 || self.checkpoint_secs == 0 {
            return Err("log.checkpoint_every and log.checkpoint_secs must be at least 1".into());
        }
        for w in &self.witnesses {
            Verifier::parse(&w.vkey)
                .map_err(|_| format!("log.witnesses: bad vkey for {}", w.url))?;
        }
        for v in &self.witness_for {
            Verifier::parse(v).map_err(|_| format!("log.witness_for: bad vkey {v}"))?;
        }
        Ok(())
    }
}
