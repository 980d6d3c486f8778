//! The in-memory counters and the queue of failed logins awaiting audit.
//! One `std::sync::Mutex` each, never held across an `.await`. On
//! PostgreSQL the counters are also kept in the database for the whole
//! cluster ([`super::shared`]); the `…_everywhere` methods use both.

use super::policy::Backoff;
use super::shared::{Count, SharedCounts};
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked at once. Beyond this, keys whose block is over are
/// forgotten first; an attacker inventing usernames cannot grow memory
/// without bound.
const MAX_KEYS: usize = 100_000;
/// Failed logins waiting for the next audit batch; more are only counted.
const MAX_PENDING: usize = 10_000;
/// A key with no failure for this long starts again from zero.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What is throttled.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// A username as typed, lower-cased (existing or not, so that the
    /// answer does not reveal which accounts exist).
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    blocked_until: Instant,
}

/// A failed login waiting to be audited.
#[derive(Debug, Clone)]
pub struct FailedLogin {
    pub username: String,
    pub client: IpAddr,
    pub reason: &'static str,
    pub at_ms: i64,
}

/// A current block, as an admin sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Block {
    /// `account` or `address`.
    pub kind: &'static str,
    /// The username or the address.
    pub key: String,
    pub failures: u32,
    /// Milliseconds until logins for this key are accepted again (0: not blocked).
    pub retry_after_ms: u64,
}

/// Counts failed logins and says when to refuse.
pub struct LoginGuard {
    account: Backoff,
    address: Backoff,
    entries: Mutex<HashMap<Key, Entry>>,
    pending: Mutex<(Vec<FailedLogin>, u64)>,
    shared: Option<SharedCounts>,
}

impl LoginGuard {
    pub fn new(account: Backoff, address: Backoff) -> LoginGuard {
        LoginGuard {
            account,
            address,
            entries: Mutex::new(HashMap::new()),
            pending: Mutex::new((Vec::new(), 0)),
            shared: None,
        }
    }

    /// Shares the counters with the other nodes through the database
    /// (PostgreSQL; `None` keeps them in memory only).
    #[must_use]
    pub fn sharing(mut self, shared: Option<SharedCounts>) -> LoginGuard {
        self.shared = shared;
        self
    }

    /// Whether the counters are shared with other nodes.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// As [`LoginGuard::check`], over the whole cluster: this node's
    /// counters first (no query for a key known to be blocked), then the
    /// shared ones. A database failure leaves this node's answer.
    ///
    /// # Errors
    /// The longest remaining wait.
    pub async fn check_everywhere(&self, username: &str, client: IpAddr) -> Result<(), Duration> {
        self.check(username, client)?;
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        match shared.wait(&Self::keys(username, client)).await {
            Ok(Some(wait)) if !wait.is_zero() => Err(wait),
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::warn!(%error, "cannot read the shared login counters");
                Ok(())
            }
        }
    }

    /// As [`LoginGuard::failed`], also counted over the whole cluster; this
    /// node then holds the cluster's count.
    pub async fn failed_everywhere(&self, username: &str, client: IpAddr, reason: &'static str) {
        self.failed(username, client, reason);
        let Some(shared) = &self.shared else { return };
        let [account, address] = Self::keys(username, client);
        match shared
            .failed(
                &[(account, self.account), (address, self.address)],
                FORGET_AFTER,
            )
            .await
        {
            Ok(counts) => self.merge(&counts),
            Err(error) => tracing::warn!(%error, "cannot count a failed login for the cluster"),
        }
    }

    /// As [`LoginGuard::succeeded`], over the whole cluster.
    pub async fn succeeded_everywhere(&self, username: &str, client: IpAddr) {
        self.succeeded(username, client);
        if let Some(shared) = &self.shared {
            let [account, _] = Self::keys(username, client);
            if let Err(error) = shared.clear(&account).await {
                tracing::warn!(%error, "cannot clear a login count for the cluster");
            }
        }
    }

    /// As [`LoginGuard::clear`], over the whole cluster (other nodes still
    /// hold their own copy until it expires or a login succeeds there).
    ///
    /// # Errors
    /// A database failure.
    pub async fn clear_everywhere(&self, kind: &str, key: &str) -> crate::store::Result<bool> {
        let here = self.clear(kind, key);
        let (Some(shared), Some(key)) = (&self.shared, Self::parse_key(kind, key)) else {
            return Ok(here);
        };
        Ok(shared.clear(&key).await? || here)
    }

    /// As [`LoginGuard::blocks`], over the whole cluster when shared.
    ///
    /// # Errors
    /// A database failure.
    pub async fn blocks_everywhere(&self) -> crate::store::Result<Vec<Block>> {
        let Some(shared) = &self.shared else {
            return Ok(self.blocks());
        };
        let counts = shared.all(FORGET_AFTER).await?;
        self.merge(&counts);
        let now = crate::store::now_ms();
        let mut blocks: Vec<Block> = counts
            .iter()
            .map(|count| {
                let (kind, key) = match &count.key {
                    Key::Account(name) => ("account", name.clone()),
                    Key::Address(ip) => ("address", ip.to_string()),
                };
                Block {
                    kind,
                    key,
                    failures: count.failures,
                    retry_after_ms: u64::try_from(count.blocked_until_ms.saturating_sub(now))
                        .unwrap_or(0),
                }
            })
            .collect();
        blocks.sort_by(|a, b| {
            b.retry_after_ms
                .cmp(&a.retry_after_ms)
                .then_with(|| a.key.cmp(&b.key))
        });
        Ok(blocks)
    }

    /// Takes the cluster's counts into this node's (never lowering them).
    fn merge(&self, counts: &[Count]) {
        let now = Instant::now();
        let now_ms = crate::store::now_ms();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for count in counts {
            if entries.len() >= MAX_KEYS && !entries.contains_key(&count.key) {
                continue;
            }
            let remaining = Duration::from_millis(
                u64::try_from(count.blocked_until_ms.saturating_sub(now_ms)).unwrap_or(0),
            );
            let entry = entries.entry(count.key.clone()).or_insert(Entry {
                failures: 0,
                last_failure: now,
                blocked_until: now,
            });
            entry.failures = entry.failures.max(count.failures);
            entry.blocked_until = entry.blocked_until.max(now + remaining);
        }
    }

    fn parse_key(kind: &str, key: &str) -> Option<Key> {
        match kind {
            "account" => Some(Key::Account(key.to_lowercase())),
            "address" => key.parse::<IpAddr>().ok().map(Key::Address),
            _ => None,
        }
    }

    fn keys(username: &str, client: IpAddr) -> [Key; 2] {
        let name: String = username.chars().take(64).collect::<String>().to_lowercase();
        [Key::Account(name), Key::Address(client)]
    }

    /// `Err(wait)` while the account or the address is blocked.
    ///
    /// # Errors
    /// The longest remaining wait of the two.
    pub fn check(&self, username: &str, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let wait = Self::keys(username, client)
            .iter()
            .filter_map(|key| entries.get(key))
            .map(|entry| entry.blocked_until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait)
        }
    }

    /// Counts a failure against the account and the address, and queues it
    /// for the audit trail.
    pub fn failed(&self, username: &str, client: IpAddr, reason: &'static str) {
        let now = Instant::now();
        {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if entries.len() >= MAX_KEYS {
                entries.retain(|_, e| e.blocked_until > now);
            }
            for key in Self::keys(username, client) {
                let backoff = match key {
                    Key::Account(_) => self.account,
                    Key::Address(_) => self.address,
                };
                if entries.len() >= MAX_KEYS && !entries.contains_key(&key) {
                    continue;
                }
                let entry = entries.entry(key).or_insert(Entry {
                    failures: 0,
                    last_failure: now,
                    blocked_until: now,
                });
                if now.duration_since(entry.last_failure) > FORGET_AFTER {
                    entry.failures = 0;
                }
                entry.failures = entry.failures.saturating_add(1);
                entry.last_failure = now;
                entry.blocked_until = now + backoff.block_after(entry.failures);
            }
        }
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.0.len() < MAX_PENDING {
            pending.0.push(FailedLogin {
                username: username.chars().take(64).collect(),
                client,
                reason,
                at_ms: crate::store::now_ms(),
            });
        } else {
            pending.1 += 1;
        }
    }

    /// A successful login clears its account's count (not its address's:
    /// a sprayer who knows one password must not reset their address).
    pub fn succeeded(&self, username: &str, client: IpAddr) {
        let [account, _] = Self::keys(username, client);
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&account);
    }

    /// The failed logins queued since the last call, and how many more were
    /// only counted because the queue was full.
    pub fn take_failures(&self) -> (Vec<FailedLogin>, u64) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let batch = std::mem::take(&mut pending.0);
        let dropped = std::mem::take(&mut pending.1);
        (batch, dropped)
    }

    /// Keys with failures counted, blocked ones first.
    pub fn blocks(&self) -> Vec<Block> {
        let now = Instant::now();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut blocks: Vec<Block> = entries
            .iter()
            .map(|(key, entry)| {
                let (kind, key) = match key {
                    Key::Account(name) => ("account", name.clone()),
                    Key::Address(ip) => ("address", ip.to_string()),
                };
                Block {
                    kind,
                    key,
                    failures: entry.failures,
                    retry_after_ms: u64::try_from(
                        entry
                            .blocked_until
                            .saturating_duration_since(now)
                            .as_millis(),
                    )
                    .unwrap_or(u64::MAX),
                }
            })
            .collect();
        blocks.sort_by(|a, b| {
            b.retry_after_ms
                .cmp(&a.retry_after_ms)
                .then_with(|| a.key.cmp(&b.key))
        });
        blocks
    }

    /// Forgets the count of an account (`kind` `account`) or an address;
    /// returns whether there was one.
    pub fn clear(&self, kind: &str, key: &str) -> bool {
        let Some(key) = Self::parse_key(kind, key) else {
            return false;
        };
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key)
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> LoginGuard {
        let b = Backoff {
            free: 2,
            base: Duration::from_secs(60),
            max: Duration::from_secs(600),
        };
        LoginGuard::new(b, Backoff { free: 4, ..b })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_account_is_blocked_after_its_free_failures_from_any_address() {
        let g = guard();
        g.failed("Mugina.Officer", ip("192.0.2.1"), "wrong");
        assert!(g.check("mugina.officer", ip("192.0.2.2")).is_ok());
        g.failed("mugina.officer", ip("192.0.2.2"), "wrong");
        let wait = g.check("mugina.officer", ip("192.0.2.3")).unwrap_err();
        assert!(wait > Duration::from_secs(50));
        // Other accounts from a fresh address are unaffected.
        assert!(g.check("manyovu.officer", ip("192.0.2.3")).is_ok());
    }

    #[test]
    fn an_address_spraying_many_accounts_is_blocked() {
        let g = guard();
        for name in ["a", "b", "c", "d"] {
            g.failed(name, ip("198.51.100.1"), "wrong");
        }
        assert!(g.check("e", ip("198.51.100.1")).is_err());
        assert!(g.check("e", ip("198.51.100.2")).is_ok());
        assert_eq!(g.take_failures().0.len(), 4);
        assert!(g.take_failures().0.is_empty());
    }

    #[test]
    fn success_clears_the_account_but_not_the_address_and_admins_can_clear() {
        let g = guard();
        for _ in 0..4 {
            g.failed("x", ip("203.0.113.1"), "wrong");
        }
        g.succeeded("x", ip("203.0.113.1"));
        assert!(g.check("x", ip("203.0.113.2")).is_ok());
        assert!(g.check("y", ip("203.0.113.1")).is_err());
        assert!(g
            .blocks()
            .iter()
            .any(|b| b.kind == "address" && b.retry_after_ms > 0));
        assert!(g.clear("address", "203.0.113.1"));
        assert!(g.check("y", ip("203.0.113.1")).is_ok());
        assert!(!g.clear("address", "not an address"));
    }
}
