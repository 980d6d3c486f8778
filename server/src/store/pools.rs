//! What the metrics say about this node's database connections: the size
//! of each pool, failures to get a connection, and (PostgreSQL) whether the
//! LISTEN connection is up. Counted here, where connections are taken, and
//! read at each scrape.

use super::Store;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters kept beside the pools.
#[derive(Debug, Default)]
pub(super) struct PoolCounters {
    pub(super) read_acquire_errors: AtomicU64,
    pub(super) write_acquire_errors: AtomicU64,
    pub(super) listen_connected: AtomicBool,
    pub(super) listen_reconnects: AtomicU64,
}

/// One pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
    /// Failures to get a connection from this pool since start.
    pub acquire_errors: u64,
}

/// Both pools and the LISTEN connection at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolsState {
    pub read: PoolState,
    pub write: PoolState,
    /// PostgreSQL: the LISTEN connection is up (always false on SQLite).
    pub listen_connected: bool,
    /// PostgreSQL: times the LISTEN connection was lost and re-opened.
    pub listen_reconnects: u64,
}

impl Store {
    /// The pools' sizes and counters, for the metrics.
    pub fn pools(&self) -> PoolsState {
        let counters = &self.inner.pools;
        let state = |pool: &sqlx::AnyPool, errors: &AtomicU64| {
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            PoolState {
                connections: pool.size(),
                idle,
                max: pool.options().get_max_connections(),
                acquire_errors: errors.load(Ordering::Relaxed),
            }
        };
        PoolsState {
            read: state(&self.inner.read, &counters.read_acquire_errors),
            write: state(&self.inner.write, &counters.write_acquire_errors),
            listen_connected: counters.listen_connected.load(Ordering::Relaxed),
            listen_reconnects: counters.listen_reconnects.load(Ordering::Relaxed),
        }
    }

    pub(super) fn acquire_failed(&self, write: bool) {
        let counters = &self.inner.pools;
        let counter = if write {
            &counters.write_acquire_errors
        } else {
            &counters.read_acquire_errors
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The LISTEN connection came up (`true`) or went down (`false`).
    pub(super) fn listening(&self, up: bool) {
        self.inner
            .pools
            .listen_connected
            .store(up, Ordering::Relaxed);
    }

    /// The LISTEN connection was lost; it reconnects by itself (counted as
    /// a reconnect, down until a notification shows it is back).
    pub(super) fn listen_lost(&self) {
        self.listening(false);
        self.inner
            .pools
            .listen_reconnects
            .fetch_add(1, Ordering::Relaxed);
    }
}

impl super::Backend {
    /// `sqlite` or `postgres`, as metrics and logs name it.
    pub fn name(self) -> &'static str {
        match self {
            super::Backend::Sqlite => "sqlite",
            super::Backend::Postgres => "postgres",
        }
    }
}
