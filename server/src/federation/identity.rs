//! This hub's identity among its peers: its name (`federation.name`) and
//! the Ed25519 key of its verifiable log, reused rather than a second key:
//! peers pin one key per hub for both the link and, later, witnessing its
//! log; operators already keep, back up and publish that key (`GET
//! /api/v1/log/key`, `mpaka peer identity`). Link signatures carry their
//! own context string, so none can pass for a checkpoint or cosignature.

use crate::config::Settings;
use crate::vlog::note::NoteSigner;
use ed25519_dalek::SigningKey;

/// The name and signing key; `Debug` never shows the key.
#[derive(Clone)]
pub struct Identity {
    pub name: String,
    key: SigningKey,
    /// The pinned form of the public key, as peers configure it.
    pub vkey: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("name", &self.name)
            .field("vkey", &self.vkey)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Loads (creating it if absent, as the log does) the log's key.
    ///
    /// # Errors
    /// An unusable key file.
    pub fn load(settings: &Settings) -> Result<Identity, crate::vlog::log::LogError> {
        let path = settings
            .log
            .key_file
            .clone()
            .unwrap_or_else(|| settings.data_dir.join("log.key"));
        let key = crate::vlog::key::load_or_create(&path)?;
        Ok(Identity::new(
            settings.federation.name.clone(),
            &settings.log.origin,
            key,
        ))
    }

    /// An identity from its parts (`origin`: the log's origin, which names
    /// the pinned key).
    pub fn new(name: String, origin: &str, key: SigningKey) -> Identity {
        let vkey = NoteSigner::new(origin, key.clone()).verifier().vkey();
        Identity { name, key, vkey }
    }

    pub fn key(&self) -> &SigningKey {
        &self.key
    }
}
