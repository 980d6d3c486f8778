//! The refresh grace: a refresh token presented again within a few seconds
//! of its rotation, from the same client address, gets the pair its first
//! use received, instead of being taken for a stolen token (which would end
//! the session).
//!
//! Why: two tabs of one browser (or one tab whose reply was lost with the
//! link) can present the same refresh token twice before either has seen
//! the answer. Ending the session then would log an officer out of every
//! tab for no attacker at all. The pairs are kept in this node's memory
//! only, for `auth.refresh_grace_secs`, and are never written anywhere; a
//! second presentation after that, from another address, or on another
//! node, is still treated as reuse.

use mpaka_protocol::TokenResponse;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most pairs remembered at once (one per refresh within the grace);
/// beyond that a repeat is treated as reuse.
const MAX_REMEMBERED: usize = 10_000;

struct Issued {
    at: Instant,
    client: IpAddr,
    family: String,
    /// When the access token expires, in Unix ms (to restate `expires_in`).
    access_expires_ms: i64,
    tokens: TokenResponse,
}

/// Pairs issued by recent refreshes, by the SHA-256 of the spent token.
pub struct RecentRefreshes {
    grace: Duration,
    issued: Mutex<HashMap<String, Issued>>,
}

impl RecentRefreshes {
    /// Remembers pairs for `grace` (zero: never).
    pub fn new(grace: Duration) -> RecentRefreshes {
        RecentRefreshes {
            grace,
            issued: Mutex::default(),
        }
    }

    /// Remembers that `client` exchanged the token hashed `spent` for `tokens`.
    pub fn remember(
        &self,
        spent: String,
        client: IpAddr,
        family: &str,
        tokens: &TokenResponse,
        now_ms: i64,
    ) {
        if self.grace.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.retain(|_, i| now.duration_since(i.at) < self.grace);
        if issued.len() >= MAX_REMEMBERED {
            return;
        }
        let expires_in_ms = i64::try_from(tokens.expires_in.saturating_mul(1000)).unwrap_or(0);
        issued.insert(
            spent,
            Issued {
                at: now,
                client,
                family: family.to_owned(),
                access_expires_ms: now_ms.saturating_add(expires_in_ms),
                tokens: tokens.clone(),
            },
        );
    }

    /// The newest pair descended from the token hashed `spent` within the
    /// grace (following rotations made since), with its session, when
    /// `client` is the address that first spent it; `None` otherwise.
    pub fn replay(
        &self,
        spent: &str,
        client: IpAddr,
        now_ms: i64,
    ) -> Option<(String, TokenResponse)> {
        let now = Instant::now();
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let mut found = issued
            .get(spent)
            .filter(|i| now.duration_since(i.at) < self.grace && i.client == client)?;
        // A bounded walk: each step is a later rotation of the same family.
        for _ in 0..issued.len() {
            let next = super::hash_token(&found.tokens.refresh_token);
            match issued.get(&next) {
                Some(later) if later.family == found.family => found = later,
                _ => break,
            }
        }
        let mut tokens = found.tokens.clone();
        tokens.expires_in =
            u64::try_from((found.access_expires_ms - now_ms).max(0) / 1000).unwrap_or(0);
        Some((found.family.clone(), tokens))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpaka_protocol::UserInfo;

    fn pair(refresh: &str) -> TokenResponse {
        TokenResponse {
            access_token: format!("access-{refresh}"),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_token: refresh.into(),
            user: serde_json::from_value::<UserInfo>(serde_json::json!({
                "id": 1, "username": "u", "display_name": "U", "role": "officer", "language": "fr"
            }))
            .expect("user"),
        }
    }

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const THERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));

    fn hash(token: &str) -> String {
        super::super::hash_token(token)
    }

    #[test]
    fn a_repeat_from_the_same_address_gets_the_newest_pair_of_its_family() {
        let recent = RecentRefreshes::new(Duration::from_secs(5));
        assert!(recent.replay(&hash("t0"), HERE, 0).is_none());
        recent.remember(hash("t0"), HERE, "s", &pair("t1"), 0);
        recent.remember(hash("t1"), HERE, "s", &pair("t2"), 0);
        let (family, tokens) = recent
            .replay(&hash("t0"), HERE, 1000)
            .expect("within the grace");
        assert_eq!(family, "s");
        assert_eq!(tokens.refresh_token, "t2");
        assert_eq!(tokens.expires_in, 899);
        assert!(recent.replay(&hash("t2"), HERE, 0).is_none());
        assert!(recent.replay(&hash("t0"), THERE, 0).is_none());
    }

    #[test]
    fn a_zero_grace_remembers_nothing() {
        let recent = RecentRefreshes::new(Duration::ZERO);
        recent.remember(hash("t0"), HERE, "s", &pair("t1"), 0);
        assert!(recent.replay(&hash("t0"), HERE, 0).is_none());
    }
}
