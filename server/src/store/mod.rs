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
mod epoch;
mod events;
mod health;
mod idempotency;
pub mod jobs;
pub mod log;
mod notify;
mod pools;
mod presence;
mod publishes;
mod retention;
mod rows;
mod tokens;
mod transfer;
mod users;

pub use audit::{AuditActor, AuditEntry, AuditVerification};
pub use directory::{Corridor, Directory, Post};
pub use events::{NewEvent, PreparedEvent, StoredEvent};
pub use health::unavailable_reason;
pub use idempotency::{Recalled, Request};
pub use pools::{PoolState, PoolsState};
pub use presence::{PostSeen, PresenceRow};
pub use publishes::Claim;
pub use retention::IDEMPOTENCY_RETENTION_MS;
pub use tokens::RefreshOutcome;
pub use transfer::{ExportHeader, Progress, Table, TableCount, TABLES};
pub use users::{NewUser, User};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // Not `#[from]`/`#[source]`: sqlx's message already includes its
    // cause, and a source chain printed it two more times (`{:#}`).
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    /// The database cannot be opened; the message names the file or
    /// `host:port` and the cause.
    #[error("{0}")]
    Open(String),
    /// An operation refused as asked for, with what to do instead.
    #[error("{0}")]
    Refused(String),
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
    /// Writes are refused before they start (free space below the
    /// threshold); the reason is safe to show to clients.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(error)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(error)
    }
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

/// Starts a PostgreSQL write transaction and takes the advisory lock that
/// serialises writers (key 0x6d70616b61, "mpaka").
const PG_BEGIN: &str = "BEGIN; SELECT pg_advisory_xact_lock(470036867937)";

/// Bounded waits on every PostgreSQL session (see docs/reliability.md).
///
/// - `idle_in_transaction_session_timeout`: a node whose link stalls while
///   it holds the write lock is cut off by the server after 2 s; its
///   transaction rolls back, its `COMMIT` fails, so it acknowledges
///   nothing, and the lock passes to the healthy nodes. This is the
///   "fencing": a stalled holder cannot commit late, because its session is
///   gone. Our write transactions never idle for more than milliseconds.
/// - `lock_timeout`: a writer waits at most 4 s for the write lock (longer
///   than the idle cut-off, so a stalled holder is evicted before healthy
///   waiters give up), then answers `unavailable`.
/// - `statement_timeout`: no statement runs longer than 60 s (exports
///   stream whole tables, hence generous).
/// - server-side TCP keepalives: a peer that vanished (partition, power
///   cut) is noticed in about 25 s instead of the kernel's two hours.
const PG_SESSION_LIMITS: &str = "SET idle_in_transaction_session_timeout = 2000; \
     SET lock_timeout = 4000; \
     SET statement_timeout = 60000; \
     SET tcp_keepalives_idle = 10; \
     SET tcp_keepalives_interval = 5; \
     SET tcp_keepalives_count = 3;";

/// How long a rollback may take before its connection is closed instead
/// (a stalled link must not hold a pool connection forever).
const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the first PostgreSQL connection may take before start-up
/// fails naming the server.
pub const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The engine a URL names.
///
/// # Errors
/// [`StoreError::UnsupportedUrl`] for any other scheme.
pub fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// `url` with `application_name=name` added, unless it names one already.
fn with_application_name(url: &str, name: &str) -> String {
    if url.contains("application_name=") {
        return url.to_owned();
    }
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={encoded}")
}

/// The cause of a failed connection in a few words, without the URL.
fn connect_cause(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is PostgreSQL running and listening on that address?)".into()
            }
            _ => io.to_string(),
        },
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".into(),
        other => other.to_string(),
    }
}

/// Why SQLite could not open `path`, with the likely fix.
fn sqlite_open_error(path: &str, error: &sqlx::Error) -> String {
    let file = std::path::Path::new(path);
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let hint = if !dir.is_dir() {
        format!("the directory {} does not exist", dir.display())
    } else if std::fs::metadata(&dir).is_ok_and(|m| m.permissions().readonly())
        || rustix::fs::access(&dir, rustix::fs::Access::WRITE_OK).is_err()
    {
        format!(
            "the directory {} is not writable by this user (check owner and mode)",
            dir.display()
        )
    } else {
        match error {
            sqlx::Error::Database(db) => db.message().to_owned(),
            other => other.to_string(),
        }
    };
    format!("cannot open the SQLite database {path}: {hint}")
}

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
    health: health::WriteHealth,
    pools: pools::PoolCounters,
}

/// What `/readyz` and the metrics say about this node's ability to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReadiness {
    /// Bytes free on the data directory's file system (SQLite), when guarded.
    pub free_bytes: Option<u64>,
    /// Why this node cannot write now; `None` when it can.
    pub problem: Option<String>,
    /// Writes refused early for lack of space since start.
    pub refusals: u64,
    /// Write transactions that failed for a storage reason since start.
    pub failures: u64,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies
    /// migrations; PostgreSQL sessions are named `mpaka`.
    ///
    /// # Errors
    /// See [`Store::open_as`].
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_as(url, "mpaka").await
    }

    /// Opens the database at `url` and applies migrations. On PostgreSQL
    /// every session carries `application_name` = `name` (unless the URL
    /// sets one), so `pg_stat_activity` shows which node holds what.
    ///
    /// # Errors
    /// An unsupported URL; [`StoreError::Open`] naming the SQLite file or
    /// the PostgreSQL `host:port` with the cause (refused, unknown host,
    /// authentication, no such database), after one attempt of at most
    /// [`PG_CONNECT_TIMEOUT`] rather than the pool's retries; a failed
    /// migration.
    pub async fn open_as(url: &str, name: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let summary = crate::config::DatabaseSummary::of(url);
        let (url, read, write) = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                let cannot =
                    |e: sqlx::Error| StoreError::Open(sqlite_open_error(&summary.location, &e));
                let options = AnyConnectOptions::from_str(&url)?;
                let write = sqlite_pool(1)
                    .connect_with(options.clone())
                    .await
                    .map_err(cannot)?;
                // Create the schema (and the WAL file) before readers open.
                let store_write = write.clone();
                sqlx::migrate!("./migrations/sqlite")
                    .run(&store_write)
                    .await?;
                let read = sqlite_pool(8).connect_with(options).await.map_err(cannot)?;
                (url, read, write)
            }
            Backend::Postgres => {
                let url = with_application_name(url, name);
                let options = AnyConnectOptions::from_str(&url)?;
                // One direct attempt first: its error says why (the pool
                // would retry for its whole acquire timeout, then say only
                // "pool timed out").
                let cannot = |cause: String| {
                    StoreError::Open(format!(
                        "cannot connect to PostgreSQL at {}: {cause}",
                        summary.host_port()
                    ))
                };
                match tokio::time::timeout(
                    PG_CONNECT_TIMEOUT,
                    AnyConnection::connect_with(&options),
                )
                .await
                {
                    Ok(Ok(conn)) => {
                        let _ = conn.close().await;
                    }
                    Ok(Err(error)) => return Err(cannot(connect_cause(&error))),
                    Err(_) => {
                        return Err(cannot(format!(
                            "no answer within {} s (host down, firewall, or wrong port?)",
                            PG_CONNECT_TIMEOUT.as_secs()
                        )))
                    }
                }
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(PG_SESSION_LIMITS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
                    .map_err(|e| cannot(connect_cause(&e)))?;
                let migrator = sqlx::migrate!("./migrations/postgres");
                // A least-privilege role (docs/operations.md) may not
                // create the migrations table: when every migration is
                // already applied (by the owner's `mpaka migrate`), skip.
                if !all_applied(&pool, &migrator).await {
                    migrator.run(&pool).await?;
                }
                (url, pool.clone(), pool)
            }
        };
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                url,
                read,
                write,
                commits: OnceLock::new(),
                health: health::WriteHealth::default(),
                pools: pools::PoolCounters::default(),
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

    /// Refuses writes while the file system holding the SQLite database has
    /// fewer than `min_free_bytes` bytes free (SQLite only: PostgreSQL's
    /// disk is the server's, which reports a full disk itself). Set once;
    /// 0 disables the guard.
    pub fn guard_free_space(&self, min_free_bytes: u64) {
        if self.inner.backend != Backend::Sqlite || min_free_bytes == 0 {
            return;
        }
        let path = self.inner.url.trim_start_matches("sqlite:");
        let path = path.strip_prefix("//").unwrap_or(path);
        let path = path.split('?').next().unwrap_or(path);
        let dir = match PathBuf::from(path).parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        self.inner.health.guard_space(dir, min_free_bytes);
    }

    /// Starts a write transaction; writers are serialised (see module docs).
    ///
    /// The transaction is driven with plain `BEGIN`/`COMMIT`/`ROLLBACK`
    /// statements on a pooled connection rather than sqlx's `Transaction`:
    /// when SQLite rolls a transaction back by itself (disk full, I/O
    /// error), sqlx's own bookkeeping still believes one is open and every
    /// later `begin` on that connection fails, wedging the hub. Here a
    /// transaction that fails or cannot be rolled back cleanly closes its
    /// connection, and the pool opens a fresh one for the next writer.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when free space is below the threshold;
    /// the database is unreachable.
    pub async fn write(&self) -> Result<WriteTx> {
        self.inner.health.admit().map_err(StoreError::Unavailable)?;
        let mut conn = self.inner.write.acquire().await.inspect_err(|_| {
            self.acquire_failed(true);
        })?;
        // IMMEDIATE takes SQLite's write lock now, waiting (busy_timeout)
        // for another process's writer. A deferred BEGIN would upgrade
        // from reader to writer at its first write and fail at once
        // with "database is locked" if another process (the CLI, a
        // second hub on the same file) committed in between.
        // On PostgreSQL the lock is taken in the same round trip as BEGIN.
        let begin = match self.inner.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => PG_BEGIN,
        };
        let begun = conn.execute(begin).await;
        let tx = WriteTx {
            conn: Some(conn),
            store: self.clone(),
            appended: Vec::new(),
            next_leaf: None,
        };
        if let Err(error) = begun {
            // Dropping `tx` rolls back whatever part of BEGIN took effect.
            self.note_failure(&error);
            return Err(error.into());
        }
        Ok(tx)
    }

    fn note_failure(&self, error: &sqlx::Error) {
        if let Some(reason) = unavailable_reason(error) {
            self.inner.health.failed(reason);
        }
    }

    /// This node's ability to write, for `/readyz` and metrics. Cheap: no
    /// database round trip.
    pub fn write_readiness(&self) -> WriteReadiness {
        let health = &self.inner.health;
        let problem = match health.admit_quietly() {
            Err(reason) => Some(reason),
            Ok(()) => health
                .failing()
                .map(|reason| format!("last write failed: {reason}")),
        };
        WriteReadiness {
            free_bytes: health.free_bytes(),
            problem,
            refusals: health.refusals.load(std::sync::atomic::Ordering::Relaxed),
            failures: health.failures.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Tries a write transaction that changes nothing but takes the write
    /// lock (and on SQLite writes the database header), so that a node
    /// whose last write failed finds out, without client traffic, when it
    /// can write again.
    ///
    /// # Errors
    /// The write failed.
    pub async fn probe_write(&self) -> Result<()> {
        let mut tx = self.write().await?;
        if self.inner.backend == Backend::Sqlite {
            // A real page write: fails on a full disk or a failing device.
            let version: i64 = sqlx::query_scalar("PRAGMA user_version")
                .fetch_one(tx.conn())
                .await?;
            tx.conn()
                .execute(format!("PRAGMA user_version = {version}").as_str())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A pooled connection for reads.
    pub(crate) async fn reader(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self
            .inner
            .read
            .acquire()
            .await
            .inspect_err(|_| self.acquire_failed(false))?)
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
///
/// Dropped without [`WriteTx::commit`] (an error, a cancelled request), it
/// is rolled back by a spawned task that owns the connection until the
/// rollback is done; a connection whose rollback fails is closed.
pub struct WriteTx {
    /// `None` only once committed or dropped.
    conn: Option<PoolConnection<sqlx::Any>>,
    store: Store,
    appended: Vec<StoredEvent>,
    /// The next log leaf index, once known in this transaction.
    next_leaf: Option<i64>,
}

impl WriteTx {
    /// Records a storage failure of one of this transaction's statements.
    fn watch<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(StoreError::Database(error)) = &result {
            self.store.note_failure(error);
        }
        result
    }

    /// Appends the leaves of rows just written to the verifiable log;
    /// returns the index of the first.
    async fn append_leaves(&mut self, leaves: &[log::NewLeaf]) -> Result<i64> {
        let conn = self
            .conn
            .as_deref_mut()
            .expect("a write transaction has its connection until commit");
        let result = log::append_leaves(conn, &mut self.next_leaf, leaves).await;
        self.watch(result)
    }

    /// Appends the leaf of a row just written to the verifiable log.
    async fn append_leaf(
        &mut self,
        source: crate::vlog::leaf::Source,
        reference: i64,
        hash: &crate::vlog::merkle::Hash,
    ) -> Result<i64> {
        self.append_leaves(&[log::NewLeaf {
            source,
            reference,
            hash: *hash,
        }])
        .await
    }

    /// The connection, for domain modules' own statements.
    pub fn conn(&mut self) -> &mut AnyConnection {
        self.conn
            .as_deref_mut()
            .expect("a write transaction has its connection until commit")
    }

    /// Appends an event to the log, and its leaf to the verifiable log;
    /// its `seq` is final once committed.
    ///
    /// # Errors
    /// A database failure.
    pub async fn append(&mut self, event: NewEvent) -> Result<StoredEvent> {
        self.append_many(vec![event]).await?;
        Ok(self
            .appended
            .last()
            .expect("the event was just appended")
            .clone())
    }

    /// Appends events in order, with their leaves, in a few statements
    /// for the whole batch (see `rows`); returns each one's `seq` and
    /// time, final once committed.
    ///
    /// # Errors
    /// A database failure.
    pub async fn append_many(&mut self, events: Vec<NewEvent>) -> Result<Vec<(u64, i64)>> {
        let prepared = events
            .into_iter()
            .map(PreparedEvent::new)
            .collect::<Result<Vec<_>>>()?;
        let result = events::insert_many(self.conn(), prepared).await;
        let written = self.watch(result)?;
        self.keep_written(written).await
    }

    /// Appends the leaves of events just inserted and keeps the events for
    /// the hub; returns each one's `seq` and time.
    async fn keep_written(
        &mut self,
        written: Vec<(StoredEvent, crate::vlog::merkle::Hash)>,
    ) -> Result<Vec<(u64, i64)>> {
        let leaves: Vec<log::NewLeaf> = written
            .iter()
            .map(|(event, hash)| log::NewLeaf {
                source: crate::vlog::leaf::Source::Event,
                reference: i64::try_from(event.seq).unwrap_or(i64::MAX),
                hash: *hash,
            })
            .collect();
        self.append_leaves(&leaves).await?;
        let positions = written
            .iter()
            .map(|(event, _)| (event.seq, event.at_ms))
            .collect();
        self.appended
            .extend(written.into_iter().map(|(event, _)| event));
        Ok(positions)
    }

    /// Adds an entry to the audit chain, and its leaf to the verifiable log.
    ///
    /// # Errors
    /// A database failure.
    pub async fn audit(&mut self, entry: AuditEntry) -> Result<()> {
        let result = audit::append(self.conn(), entry).await;
        let (id, leaf) = self.watch(result)?;
        self.append_leaf(crate::vlog::leaf::Source::Audit, id, &leaf)
            .await
            .map(|_| ())
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
        let request = Request {
            user_id,
            key,
            fingerprint,
        };
        match self.recall_many(&[request]).await?.pop() {
            Some(Recalled::Replay(reply)) => Ok(Some(reply)),
            Some(Recalled::Conflict) => Err(StoreError::IdempotencyConflict),
            Some(Recalled::New) | None => Ok(None),
        }
    }

    /// What the idempotency records say about each request, in order, in
    /// a few statements for the whole batch.
    ///
    /// # Errors
    /// A database failure.
    pub async fn recall_many(&mut self, requests: &[Request<'_>]) -> Result<Vec<Recalled>> {
        let result = idempotency::recall_many(self.conn(), requests).await;
        self.watch(result)
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
        let request = Request {
            user_id,
            key,
            fingerprint,
        };
        let result = idempotency::remember(self.conn(), request, reply).await;
        self.watch(result)
    }

    /// Commits durably, then hands the appended events to the hub.
    ///
    /// # Errors
    /// The commit failed: nothing was stored and nothing is delivered.
    pub async fn commit(mut self) -> Result<()> {
        let mut conn = self
            .conn
            .take()
            .expect("a write transaction has its connection until commit");
        let committed = async {
            if self.store.inner.backend == Backend::Postgres {
                if let Some(last) = self.appended.last() {
                    // Queued now, delivered by PostgreSQL only after the commit.
                    notify::announce(&mut conn, last.seq).await?;
                }
            }
            conn.execute("COMMIT").await?;
            Ok::<_, StoreError>(())
        }
        .await;
        if let Err(error) = committed {
            if let StoreError::Database(e) = &error {
                self.store.note_failure(e);
            }
            // Whatever state the connection is in, it is not reused.
            let _ = conn.execute("ROLLBACK").await;
            conn.close_on_drop();
            return Err(error);
        }
        drop(conn);
        self.store.inner.health.succeeded();
        let appended = std::mem::take(&mut self.appended);
        if !appended.is_empty() {
            if let Some(sender) = self.store.inner.commits.get() {
                // The hub also polls the log, so a closed channel (shutdown)
                // loses nothing; it only delays delivery.
                let _ = sender.send(appended).await;
            }
        }
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let store = self.store.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let rollback =
                        tokio::time::timeout(ROLLBACK_TIMEOUT, conn.execute("ROLLBACK")).await;
                    match rollback {
                        Ok(Ok(_)) => {}
                        Ok(Err(error)) => {
                            // SQLite rolls back by itself after a full disk
                            // or an I/O error; either way this connection's
                            // state is unknown, so it is replaced.
                            tracing::warn!(%error, "rollback failed; closing the writer connection");
                            store.inner.health.failed_unclassified();
                            conn.close_on_drop();
                        }
                        Err(_) => {
                            tracing::warn!("rollback timed out; closing the writer connection");
                            store.inner.health.failed("database link stalled");
                            conn.close_on_drop();
                        }
                    }
                });
            }
            // No runtime (process exit): closing the connection rolls back.
            Err(_) => conn.close_on_drop(),
        }
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
    // One formatter for stored and compact-decoded times, so both read alike.
    mpaka_protocol::wire::format_time_ms(ms)
}
