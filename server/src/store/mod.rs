//! Durable storage: one `Store` over SQLite (default, embedded) or PostgreSQL
//! (several nodes), chosen by the URL scheme.
//!
//! Both backends run the same SQL through sqlx's `Any` driver; what differs
//! is kept here: their own migrations, SQLite's pragmas (WAL, synchronous=FULL
//! because posts lose power routinely) and single writer connection, and
//! PostgreSQL's advisory lock that serialises writers across nodes.
//!
//! Every write goes through a [`WriteTx`]. Writers are serialised (one
//! SQLite connection; one PostgreSQL advisory lock), so event sequence
//! numbers are assigned in commit order and a reader that has seen `seq = n`
//! has every committed event below `n` available: the hub relies on this for
//! gap-free resume on one node and across nodes.
//!
//! Why the advisory lock makes that true on PostgreSQL: the lock is taken
//! before the transaction draws any sequence number, and a transaction-level
//! advisory lock is released only after its holder's commit is visible to
//! new snapshots. So the next writer draws larger numbers, and commits, only
//! after every smaller number is either visible or (rolled back) never will
//! be. Numbers of rolled-back transactions are skipped, never reused; readers
//! only ever ask for `seq > n`, so a skip is harmless. Writers on every node,
//! the CLI and background work all go through [`Store::write`].
//!
//! On PostgreSQL a commit that appended events also sends a `NOTIFY` (queued
//! inside the transaction, so it is delivered only once the commit is
//! visible); [`Store::watch_commits`] turns those into wake-ups for the
//! hub's dispatcher on every node (see `notify.rs`).

mod audit;
mod directory;
mod events;
mod idempotency;
mod notify;
mod presence;
mod retention;
mod tokens;
mod transfer;
mod users;

pub use audit::{AuditEntry, AuditVerification};
pub use directory::{Corridor, Directory, Post};
pub use events::{NewEvent, StoredEvent};
pub use presence::PresenceRow;
pub use retention::IDEMPOTENCY_RETENTION_MS;
pub use tokens::RefreshOutcome;
pub use transfer::{ExportHeader, Progress, Table, TableCount, TABLES};
pub use users::{NewUser, User};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Transaction};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0} already exists")]
    Duplicate(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("idempotency key reused for a different request")]
    IdempotencyConflict,
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database engine is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Key of the PostgreSQL advisory lock every write transaction takes.
const WRITE_LOCK_KEY: i64 = 0x006d_7061_6b61; // "mpaka"

/// Events committed by this process, in commit order, for the hub's fan-out.
pub type CommitSender = mpsc::Sender<Vec<StoredEvent>>;

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    /// Kept for connections outside the pools (the LISTEN connection).
    url: String,
    read: AnyPool,
    write: AnyPool,
    commits: OnceLock<CommitSender>,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    ///
    /// # Errors
    /// An unsupported URL, an unreachable server or a failed migration.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let (read, write) = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                let options = AnyConnectOptions::from_str(&url)?;
                let write = sqlite_pool(1).connect_with(options.clone()).await?;
                // Create the schema (and the WAL file) before readers open.
                let store_write = write.clone();
                sqlx::migrate!("./migrations/sqlite")
                    .run(&store_write)
                    .await?;
                let read = sqlite_pool(8).connect_with(options).await?;
                (read, write)
            }
            Backend::Postgres => {
                let options = AnyConnectOptions::from_str(url)?;
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                let migrator = sqlx::migrate!("./migrations/postgres");
                // A least-privilege role (docs/operations.md) may not
                // create the migrations table: when every migration is
                // already applied (by the owner's `mpaka migrate`), skip.
                if !all_applied(&pool, &migrator).await {
                    migrator.run(&pool).await?;
                }
                (pool.clone(), pool)
            }
        };
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                url: url.to_owned(),
                read,
                write,
                commits: OnceLock::new(),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Routes every event this process commits to `sender` (the hub). Set once.
    pub fn on_commit(&self, sender: CommitSender) {
        let _ = self.inner.commits.set(sender);
    }

    /// Starts a write transaction; writers are serialised (see module docs).
    ///
    /// # Errors
    /// The database is unreachable.
    pub async fn write(&self) -> Result<WriteTx> {
        let mut tx = match self.inner.backend {
            // IMMEDIATE takes SQLite's write lock now, waiting (busy_timeout)
            // for another process's writer. A deferred BEGIN would upgrade
            // from reader to writer at its first write and fail at once
            // with "database is locked" if another process (the CLI, a
            // second hub on the same file) committed in between.
            Backend::Sqlite => self.inner.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.inner.write.begin().await?,
        };
        if self.inner.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        Ok(WriteTx {
            tx,
            store: self.clone(),
            appended: Vec::new(),
            next_leaf: None,
        })
    }

    /// A pooled connection for reads.
    pub(crate) async fn reader(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.inner.read.acquire().await?)
    }

    /// Checks the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.reader().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Closes all connections, letting SQLite checkpoint its WAL.
    pub async fn close(&self) {
        self.inner.read.close().await;
        self.inner.write.close().await;
    }
}

/// Whether the database already has every migration of `migrator`.
async fn all_applied(pool: &AnyPool, migrator: &sqlx::migrate::Migrator) -> bool {
    let applied: Vec<i64> =
        match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Ok(v) => v,
            Err(_) => return false,
        };
    migrator.iter().all(|m| applied.contains(&m.version))
}

fn sqlite_pool(max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // Durability first: power cuts are routine at the posts.
                for pragma in [
                    "PRAGMA journal_mode = WAL",
                    "PRAGMA synchronous = FULL",
                    "PRAGMA busy_timeout = 10000",
                    "PRAGMA foreign_keys = ON",
                ] {
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        })
}

/// One serialised write transaction. Events appended through it reach the
/// hub only after [`WriteTx::commit`] has made them durable.
pub struct WriteTx {
    tx: Transaction<'static, sqlx::Any>,
    store: Store,
    appended: Vec<StoredEvent>,
    /// The next log leaf index, once known in this transaction.
    next_leaf: Option<i64>,
}

impl WriteTx {
    /// The connection, for domain modules' own statements.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Appends an event to the log, and its leaf to the verifiable log;
    /// its `seq` is final once committed.
    ///
    /// # Errors
    /// A database failure.
    pub async fn append(&mut self, event: NewEvent) -> Result<StoredEvent> {
        let (stored, leaf) = events::insert(&mut self.tx, event).await?;
        let seq = i64::try_from(stored.seq).unwrap_or(i64::MAX);
        crate::vlog::store::append_leaf(
            &mut self.tx,
            &mut self.next_leaf,
            crate::vlog::leaf::Source::Event,
            seq,
            &leaf,
        )
        .await?;
        self.appended.push(stored.clone());
        Ok(stored)
    }

    /// Adds an entry to the audit chain, and its leaf to the verifiable log.
    ///
    /// # Errors
    /// A database failure.
    pub async fn audit(&mut self, entry: AuditEntry) -> Result<()> {
        let (id, leaf) = audit::append(&mut self.tx, entry).await?;
        crate::vlog::store::append_leaf(
            &mut self.tx,
            &mut self.next_leaf,
            crate::vlog::leaf::Source::Audit,
            id,
            &leaf,
        )
        .await?;
        Ok(())
    }

    /// The stored reply of an earlier request with this idempotency key.
    ///
    /// # Errors
    /// [`StoreError::IdempotencyConflict`] when the key was used for a
    /// request with another fingerprint.
    pub async fn recall(
        &mut self,
        user_id: i64,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<serde_json::Value>> {
        idempotency::recall(&mut self.tx, user_id, key, fingerprint).await
    }

    /// Records the reply of a request so that a retry gets the same answer.
    ///
    /// # Errors
    /// A database failure.
    pub async fn remember(
        &mut self,
        user_id: i64,
        key: &str,
        fingerprint: &str,
        reply: &serde_json::Value,
    ) -> Result<()> {
        idempotency::remember(&mut self.tx, user_id, key, fingerprint, reply).await
    }

    /// Commits durably, then hands the appended events to the hub.
    ///
    /// # Errors
    /// The commit failed: nothing was stored and nothing is delivered.
    pub async fn commit(mut self) -> Result<Vec<StoredEvent>> {
        if self.store.inner.backend == Backend::Postgres {
            if let Some(last) = self.appended.last() {
                // Queued now, delivered by PostgreSQL only after the commit.
                notify::announce(&mut self.tx, last.seq).await?;
            }
        }
        self.tx.commit().await?;
        if !self.appended.is_empty() {
            if let Some(sender) = self.store.inner.commits.get() {
                // The hub also polls the log, so a closed channel (shutdown)
                // loses nothing; it only delays delivery.
                let _ = sender.send(self.appended.clone()).await;
            }
        }
        Ok(self.appended)
    }
}

/// Milliseconds since the Unix epoch, the one time representation in storage.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// Formats stored milliseconds as RFC 3339 UTC with millisecond precision.
pub fn format_ms(ms: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into())
}
