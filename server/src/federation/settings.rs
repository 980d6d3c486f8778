//! The settings of federation (`[federation]` and `[[federation.peers]]`),
//! owned here and read by `config`. Federation is off until `name` is set.

use serde::{Deserialize, Serialize};

/// The `[federation]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSettings {
    /// This hub's name among its peers, e.g. `bi.mpaka`; empty: federation
    /// off (no link served, no peer dialled).
    pub name: String,
    /// Accept `ws://` (unencrypted) peer URLs. Only for tests on loopback:
    /// in production peers are reached over `wss://` through the proxy.
    pub allow_plain_links: bool,
    /// Longest wait between two attempts to reach a peer (the wait starts
    /// at a tenth of this, doubles after each failure, and starts again
    /// from the bottom once the peer answers).
    pub retry_max_ms: u64,
    /// How often a link with nothing to send says where it stands (the
    /// peer's head): the receiver's "last contact", and how it notices a
    /// dead link (silence for three times this long).
    pub heartbeat_ms: u64,
    /// How often the hub looks for new local events to stream to peers,
    /// and for peers added or removed with `mpaka peer`.
    pub poll_ms: u64,
    /// Peers declared in the configuration (more can be added with
    /// `mpaka peer add`, stored in the database).
    pub peers: Vec<PeerSettings>,
}

/// One `[[federation.peers]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PeerSettings {
    /// The peer's hub name, e.g. `tz.mpaka`.
    pub name: String,
    /// The peer hub's base URL, e.g. `wss://tz.example.org`.
    pub url: String,
    /// The peer's pinned key: its log verifier key (`name+keyid+base64`,
    /// what `mpaka peer identity` prints on the peer).
    pub key: String,
    /// Slugs of the corridors this hub and the peer are both party to.
    pub corridors: Vec<String>,
}

impl Default for FederationSettings {
    fn default() -> Self {
        FederationSettings {
            name: String::new(),
            allow_plain_links: false,
            retry_max_ms: 3000,
            heartbeat_ms: 5000,
            poll_ms: 200,
            peers: Vec::new(),
        }
    }
}

impl FederationSettings {
    /// Whether this hub federates at all.
    pub fn enabled(&self) -> bool {
        !self.name.is_empty()
    }

    /// Checks the values make sense.
    ///
    /// # Errors
    /// A message naming the offending key.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.enabled() && !super::peers::is_hub_name(&self.name) {
            return Err(
                "federation.name must be lowercase letters, digits, '.' and '-' (e.g. bi.mpaka)"
                    .into(),
            );
        }
        if self.retry_max_ms < 100 || self.heartbeat_ms < 100 || self.poll_ms == 0 {
            return Err(
                "federation.retry_max_ms and federation.heartbeat_ms must be at least 100, \
                 federation.poll_ms at least 1"
                    .into(),
            );
        }
        for peer in &self.peers {
            super::peers::Peer::from_settings(peer, self.allow_plain_links)
                .map_err(|e| format!("federation.peers: {}: {e}", peer.name))?;
            if peer.name == self.name {
                return Err(format!(
                    "federation.peers: {} is this hub's own name",
                    peer.name
                ));
            }
        }
        Ok(())
    }
}
