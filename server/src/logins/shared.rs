//! Failed-login counters shared by the nodes of a PostgreSQL cluster, in
//! the UNLOGGED table `login_failures` (migration 0012): a failed attempt on
//! node A counts on node B at once, so a guesser spreading attempts over
//! the nodes behind a load balancer gets no more tries than against one.
//!
//! An UNLOGGED table writes no WAL, so a failed attempt costs one upsert
//! and no fsync (a commit that wrote no WAL does not wait for a flush).
//! After a PostgreSQL crash the table is empty: only back-offs are
//! forgotten, and every back-off ends by itself anyway. The per-node
//! counters of [`super::guard`] stay in front: a key this node already
//! knows is blocked is refused without asking the database.
//!
//! On SQLite (one node) there is nothing to share: the hub keeps its
//! counters in memory only.

use super::guard::Key;
use super::policy::Backoff;
use crate::store::{now_ms, Result, Store};
use sqlx::Row;
use std::time::Duration;

/// The counters in the database.
#[derive(Clone)]
pub struct SharedCounts {
    store: Store,
}

/// One shared count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub key: Key,
    pub failures: u32,
    /// Unix ms until which logins for the key are refused.
    pub blocked_until_ms: i64,
}

fn text(key: &Key) -> String {
    match key {
        Key::Account(name) => format!("account:{name}"),
        Key::Address(ip) => format!("address:{ip}"),
    }
}

fn parse(text: &str) -> Option<Key> {
    match text.split_once(':')? {
        ("account", name) => Some(Key::Account(name.to_owned())),
        ("address", ip) => ip.parse().ok().map(Key::Address),
        _ => None,
    }
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl SharedCounts {
    /// Shared counters on `store` when it is PostgreSQL; `None` on SQLite.
    pub fn on(store: &Store) -> Option<SharedCounts> {
        (store.backend() == crate::store::Backend::Postgres).then(|| SharedCounts {
            store: store.clone(),
        })
    }

    /// The longest wait any node imposed on `keys`, if any.
    ///
    /// # Errors
    /// A database failure.
    pub async fn wait(&self, keys: &[Key]) -> Result<Option<Duration>> {
        let now = now_ms();
        let mut conn = self.store.reader().await?;
        let mut longest: Option<i64> = None;
        for key in keys {
            let until: Option<i64> = sqlx::query_scalar(
                "SELECT blocked_until FROM login_failures WHERE key = $1 AND blocked_until > $2",
            )
            .bind(text(key))
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(until) = until {
                longest = Some(longest.map_or(until, |l| l.max(until)));
            }
        }
        Ok(longest.map(|until| {
            Duration::from_millis(u64::try_from(until.saturating_sub(now)).unwrap_or(0))
        }))
    }

    /// Counts one failure against each key, each with its back-off, and
    /// returns the counts as they now stand over the whole cluster.
    ///
    /// # Errors
    /// A database failure.
    pub async fn failed(
        &self,
        keys: &[(Key, Backoff)],
        forget_after: Duration,
    ) -> Result<Vec<Count>> {
        let now = now_ms();
        let mut conn = self.store.reader().await?;
        let mut counts = Vec::with_capacity(keys.len());
        for (key, backoff) in keys {
            let name = text(key);
            let failures: i64 = sqlx::query_scalar(
                "INSERT INTO login_failures (key, failures, last_failure, blocked_until) \
                 VALUES ($1, 1, $2, 0) \
                 ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN login_failures.last_failure < $3 THEN 1 \
                 ELSE login_failures.failures + 1 END, last_failure = $2 \
                 RETURNING failures",
            )
            .bind(&name)
            .bind(now)
            .bind(now.saturating_sub(ms(forget_after)))
            .fetch_one(&mut *conn)
            .await?;
            let failures = u32::try_from(failures).unwrap_or(u32::MAX);
            let block = backoff.block_after(failures);
            let mut blocked_until_ms = 0;
            if !block.is_zero() {
                blocked_until_ms = now.saturating_add(ms(block));
                sqlx::query(
                    "UPDATE login_failures SET blocked_until = $1 \
                     WHERE key = $2 AND blocked_until < $1",
                )
                .bind(blocked_until_ms)
                .bind(&name)
                .execute(&mut *conn)
                .await?;
            }
            counts.push(Count {
                key: key.clone(),
                failures,
                blocked_until_ms,
            });
        }
        Ok(counts)
    }

    /// Forgets a key's count (a successful login for an account, an
    /// administrator's clear); returns whether there was one.
    ///
    /// # Errors
    /// A database failure.
    pub async fn clear(&self, key: &Key) -> Result<bool> {
        let mut conn = self.store.reader().await?;
        let done = sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(text(key))
            .execute(&mut *conn)
            .await?
            .rows_affected();
        Ok(done > 0)
    }

    /// Every counted key, as the whole cluster sees it; also forgets keys
    /// whose last failure is older than `forget_after`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn all(&self, forget_after: Duration) -> Result<Vec<Count>> {
        let now = now_ms();
        let mut conn = self.store.reader().await?;
        sqlx::query("DELETE FROM login_failures WHERE last_failure < $1 AND blocked_until < $2")
            .bind(now.saturating_sub(ms(forget_after)))
            .bind(now)
            .execute(&mut *conn)
            .await?;
        let rows = sqlx::query("SELECT key, failures, blocked_until FROM login_failures")
            .fetch_all(&mut *conn)
            .await?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in rows {
            let key: String = row.try_get("key")?;
            let failures: i64 = row.try_get("failures")?;
            let blocked_until_ms: i64 = row.try_get("blocked_until")?;
            if let Some(key) = parse(&key) {
                counts.push(Count {
                    key,
                    failures: u32::try_from(failures).unwrap_or(u32::MAX),
                    blocked_until_ms,
                });
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_text() {
        for key in [
            Key::Account("mugina.officer".into()),
            Key::Address("192.0.2.7".parse().unwrap()),
            Key::Address("2001:db8::1".parse().unwrap()),
        ] {
            assert_eq!(parse(&text(&key)), Some(key));
        }
        assert_eq!(parse("other:x"), None);
    }
}
