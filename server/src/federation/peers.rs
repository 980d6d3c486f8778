//! Peers: the other hubs this hub federates with, each with its name, URL,
//! pinned key and the corridors both are party to. They come from the
//! configuration (`[[federation.peers]]`) and from the database (`mpaka
//! peer add`); a name in both is a configuration error rather than a
//! silent choice. Nothing is accepted from a hub that is not here.

use super::settings::PeerSettings;
use crate::vlog::note::Verifier;
use std::collections::BTreeSet;

/// A peer hub, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub name: String,
    /// Base URL (`wss://…`, or `ws://…` when plain links are allowed).
    pub url: url::Url,
    /// The pinned key, as configured (`name+keyid+base64`).
    pub vkey: String,
    pub verifier: Verifier,
    /// Corridor slugs both hubs are party to.
    pub corridors: BTreeSet<String>,
    /// `config` or `database`: where the peer was declared.
    pub source: &'static str,
}

/// Whether `name` is a well-formed hub name (`bi.mpaka`).
pub fn is_hub_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

impl Peer {
    /// Checks a peer's declaration.
    ///
    /// # Errors
    /// A bad name, URL (or a plain `ws://` one without `allow_plain`), key
    /// or corridor slug, as a message.
    pub fn new(
        name: &str,
        url: &str,
        vkey: &str,
        corridors: &[String],
        allow_plain: bool,
        source: &'static str,
    ) -> Result<Peer, String> {
        if !is_hub_name(name) {
            return Err("the name must be lowercase letters, digits, '.' and '-'".into());
        }
        let parsed = url::Url::parse(url).map_err(|e| format!("bad url {url}: {e}"))?;
        match parsed.scheme() {
            "wss" | "https" => {}
            "ws" | "http" if allow_plain => {}
            "ws" | "http" => {
                return Err(format!(
                    "{url} is not encrypted: use wss:// (plain links need federation.allow_plain_links)"
                ))
            }
            other => return Err(format!("unsupported scheme {other} (use wss://)")),
        }
        let verifier = Verifier::parse(vkey)
            .map_err(|_| "the key is not a verifier key (name+keyid+base64)".to_owned())?;
        let mut set = BTreeSet::new();
        for slug in corridors {
            let ok = !slug.is_empty()
                && slug
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(format!("{slug:?} is not a corridor slug"));
            }
            set.insert(slug.clone());
        }
        Ok(Peer {
            name: name.to_owned(),
            url: parsed,
            vkey: vkey.trim().to_owned(),
            verifier,
            corridors: set,
            source,
        })
    }

    /// A peer of the configuration file.
    ///
    /// # Errors
    /// See [`Peer::new`].
    pub fn from_settings(peer: &PeerSettings, allow_plain: bool) -> Result<Peer, String> {
        Peer::new(
            &peer.name,
            &peer.url,
            &peer.key,
            &peer.corridors,
            allow_plain,
            "config",
        )
    }

    /// The WebSocket URL of the peer's link endpoint.
    pub fn link_url(&self) -> String {
        let mut url = self.url.clone();
        let scheme = match url.scheme() {
            "https" | "wss" => "wss",
            _ => "ws",
        };
        let _ = url.set_scheme(scheme);
        let base = url.as_str().trim_end_matches('/');
        format!("{base}/api/v1/federation/link")
    }
}

/// Every peer in force: the configuration's and the database's.
///
/// # Errors
/// A name declared in both places, or a stored peer that no longer checks
/// (e.g. a plain URL once plain links are off), as a message.
pub fn merge(configured: &[Peer], stored: Vec<Peer>) -> Result<Vec<Peer>, String> {
    let mut all = configured.to_vec();
    for peer in stored {
        if all.iter().any(|p| p.name == peer.name) {
            return Err(format!(
                "peer {} is both in the configuration and in the database (mpaka peer remove it from one)",
                peer.name
            ));
        }
        all.push(peer);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vkey() -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        crate::vlog::note::NoteSigner::new("tz.mpaka/log", key)
            .verifier()
            .vkey()
    }

    #[test]
    fn a_plain_url_needs_the_explicit_setting() {
        let corridors = vec!["mugina-manyovu".to_owned()];
        assert!(Peer::new(
            "tz.mpaka",
            "ws://127.0.0.1:1",
            &vkey(),
            &corridors,
            false,
            "t"
        )
        .is_err());
        let peer = Peer::new(
            "tz.mpaka",
            "ws://127.0.0.1:1",
            &vkey(),
            &corridors,
            true,
            "t",
        )
        .unwrap();
        assert_eq!(peer.link_url(), "ws://127.0.0.1:1/api/v1/federation/link");
        let peer = Peer::new(
            "tz.mpaka",
            "https://tz.example/",
            &vkey(),
            &corridors,
            false,
            "t",
        )
        .unwrap();
        assert_eq!(peer.link_url(), "wss://tz.example/api/v1/federation/link");
    }

    #[test]
    fn bad_names_keys_and_corridors_are_refused() {
        let ok = vec!["a-b".to_owned()];
        assert!(Peer::new("TZ", "wss://x", &vkey(), &ok, false, "t").is_err());
        assert!(Peer::new("tz", "wss://x", "nonsense", &ok, false, "t").is_err());
        assert!(Peer::new("tz", "wss://x", &vkey(), &["A B".to_owned()], false, "t").is_err());
        assert!(Peer::new("tz", "ftp://x", &vkey(), &ok, false, "t").is_err());
    }

    #[test]
    fn a_peer_declared_twice_is_an_error() {
        let peer = Peer::new("tz.mpaka", "wss://x", &vkey(), &[], false, "t").unwrap();
        assert!(merge(std::slice::from_ref(&peer), vec![peer.clone()]).is_err());
        assert_eq!(merge(&[], vec![peer]).unwrap().len(), 1);
    }
}
