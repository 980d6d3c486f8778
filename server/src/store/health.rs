//! Whether this node can write, and why not: the free-space guard that
//! refuses writes early when the data directory's file system runs low (the
//! way etcd raises its NOSPACE alarm before the database fails), the
//! classification of database failures that mean "storage unavailable"
//! rather than a bug, and the record of the last failed write transaction
//! that `/readyz` reports until a write succeeds again.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The free space figure is reused for this long before it is measured
/// again (one `statvfs` per group commit at most, far fewer under load).
const SPACE_RECHECK: Duration = Duration::from_millis(250);

/// Write health of one store; shared by all its clones.
#[derive(Default)]
pub(super) struct WriteHealth {
    guard: OnceLock<SpaceGuard>,
    /// Why the last write transaction failed, while no later one succeeded.
    failing: Mutex<Option<&'static str>>,
    pub(super) refusals: AtomicU64,
    pub(super) failures: AtomicU64,
}

struct SpaceGuard {
    dir: PathBuf,
    min_free: u64,
    /// When the free space was last measured, and the figure.
    last: Mutex<Option<(Instant, u64)>>,
}

impl WriteHealth {
    pub(super) fn guard_space(&self, dir: PathBuf, min_free: u64) {
        let _ = self.guard.set(SpaceGuard {
            dir,
            min_free,
            last: Mutex::new(None),
        });
    }

    /// Bytes free for the database, when guarded and measurable.
    pub(super) fn free_bytes(&self) -> Option<u64> {
        self.guard.get().and_then(SpaceGuard::free_bytes)
    }

    /// `Err(reason)` when a write must be refused before it starts.
    pub(super) fn admit(&self) -> Result<(), String> {
        let Some(guard) = self.guard.get() else {
            return Ok(());
        };
        match guard.free_bytes() {
            Some(free) if free < guard.min_free => {
                let n = self.refusals.fetch_add(1, Ordering::Relaxed);
                // Once at the start of a shortage, then every 1000th refusal.
                if n.is_multiple_of(1000) {
                    tracing::error!(
                        free_bytes = free,
                        min_free_bytes = guard.min_free,
                        data_dir = %guard.dir.display(),
                        "refusing writes: free space below storage.min_free_bytes"
                    );
                }
                Err(format!(
                    "free space low ({} MiB free, {} MiB required)",
                    free / (1024 * 1024),
                    guard.min_free.div_ceil(1024 * 1024)
                ))
            }
            _ => Ok(()),
        }
    }

    /// Like [`WriteHealth::admit`], for reports: counts and logs nothing.
    pub(super) fn admit_quietly(&self) -> Result<(), String> {
        let Some(guard) = self.guard.get() else {
            return Ok(());
        };
        match guard.free_bytes() {
            Some(free) if free < guard.min_free => Err(format!(
                "free space low ({} MiB free, {} MiB required)",
                free / (1024 * 1024),
                guard.min_free.div_ceil(1024 * 1024)
            )),
            _ => Ok(()),
        }
    }

    /// A transaction the database ended by itself (its rollback failed);
    /// keeps a more precise reason already recorded.
    pub(super) fn failed_unclassified(&self) {
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        if failing.is_none() {
            self.failures.fetch_add(1, Ordering::Relaxed);
            *failing = Some("write transaction aborted by the database");
        }
    }

    pub(super) fn succeeded(&self) {
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(reason) = failing.take() {
            tracing::info!(previous = reason, "writes succeed again");
        }
    }

    pub(super) fn failed(&self, reason: &'static str) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        if failing.is_none() {
            tracing::error!(
                reason,
                "a write transaction failed; the writer connection is replaced"
            );
        }
        *failing = Some(reason);
    }

    pub(super) fn failing(&self) -> Option<&'static str> {
        *self.failing.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SpaceGuard {
    fn free_bytes(&self) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, free)) = *last {
            // Below the threshold every write measures again, so that
            // writes resume the moment space is freed.
            if free >= self.min_free && at.elapsed() < SPACE_RECHECK {
                return Some(free);
            }
        }
        let free = match rustix::fs::statvfs(&self.dir) {
            Ok(stat) => stat.f_bavail.saturating_mul(stat.f_frsize),
            Err(error) => {
                tracing::warn!(%error, dir = %self.dir.display(), "cannot measure free space");
                return None;
            }
        };
        *last = Some((Instant::now(), free));
        Some(free)
    }
}

/// Why a database failure means "storage unavailable" (a condition of the
/// machine or the link, worth retrying later) rather than a bug; `None`
/// for anything else.
pub fn unavailable_reason(error: &sqlx::Error) -> Option<&'static str> {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            Some("database link lost")
        }
        sqlx::Error::PoolTimedOut => Some("database busy or unreachable"),
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => Some("database closed"),
        sqlx::Error::Database(db) => {
            let code = db.code()?;
            // SQLite reports (extended) numeric result codes: the primary
            // code is the low byte.
            if let Ok(n) = code.parse::<i32>() {
                return match n & 0xff {
                    13 => Some("disk full"),
                    10 => Some("I/O error"),
                    5 | 6 => Some("database busy"),
                    14 => Some("cannot open the database file"),
                    8 => Some("database is read-only"),
                    _ => None,
                };
            }
            // PostgreSQL SQLSTATEs.
            match code.as_ref() {
                "53100" => Some("disk full"),
                "55P03" => Some("write lock timed out"),
                "57014" => Some("statement timed out"),
                "25P03" => Some("transaction idle too long"),
                c if c.starts_with("53") => Some("database out of resources"),
                c if c.starts_with("08") || c.starts_with("57P") => Some("database link lost"),
                "58030" => Some("I/O error"),
                _ => None,
            }
        }
        _ => None,
    }
}
