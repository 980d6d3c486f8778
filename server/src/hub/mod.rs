//! The hub: who is connected, what they subscribed to, and the fan-out of
//! committed events to them.
//!
//! One dispatcher task owns all routing state (sessions, subscriptions, the
//! last dispatched `seq`); sessions and writers talk to it over bounded
//! channels, so no lock is held on the delivery path. Events reach the
//! dispatcher from the log, in `seq` order: directly from this node's
//! commits, and by reading the log whenever its head moves past what was
//! dispatched: commits of other nodes announced by PostgreSQL `NOTIFY`
//! (milliseconds), and, as the safety net for lost notifications and for
//! the CLI writing to SQLite, by polling the log's head every `poll_ms`.

mod committer;
mod dispatcher;
pub mod encoded;
mod presence;

pub use committer::{Committer, PublishJob, Published};
pub use encoded::{Encoded, SharedRefs};
pub use presence::{Presence, FRESH_MS as PRESENCE_FRESH_MS};

use crate::access::Principal;
use crate::metrics::Metrics;
use crate::store::{Directory, Store, StoredEvent};
use mpaka_protocol::{ChannelId, CloseCode};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Capacity of the command queue into the dispatcher.
const COMMAND_QUEUE: usize = 4096;
/// Capacity of the queue of committed batches into the dispatcher.
const COMMIT_QUEUE: usize = 1024;

/// The answer to a subscription.
pub struct Subscription {
    /// Every event up to this `seq` was dispatched before the subscription;
    /// every later one will be delivered live.
    pub through: u64,
    /// The encoded events in `(since, through]` this session may receive,
    /// in order, when the recent events cover `since`; `None` means the
    /// replay must be read from storage.
    pub replay: Option<Vec<Arc<Encoded>>>,
}

/// A connection's identity within this node.
pub type SessionId = u64;

/// What the dispatcher needs of a session.
pub struct SessionLink {
    pub id: SessionId,
    pub principal: Arc<Principal>,
    /// The login session (token `sid`) the connection authenticated with.
    pub login_session: Arc<str>,
    /// How the connection's events are encoded.
    pub encoding: mpaka_protocol::wire::Encoding,
    /// Encoded event frames; bounded: a full queue means a slow consumer.
    pub outbound: mpsc::Sender<Arc<Encoded>>,
    /// Fired once, with the close code, when the hub drops the session.
    pub kick: oneshot::Sender<CloseCode>,
}

pub(crate) enum Command {
    Register(SessionLink),
    Subscribe {
        session: SessionId,
        channels: Vec<ChannelId>,
        /// The client's resume point, if any. It may be ahead of this node's
        /// dispatcher (the client saw it on another node): the dispatcher
        /// first catches up to it, so nothing at or below it arrives live.
        /// Replay what is after it, when the recent events cover it.
        since: Option<u64>,
        reply: oneshot::Sender<Subscription>,
    },
    Unsubscribe {
        session: SessionId,
        channels: Vec<ChannelId>,
    },
    Unregister(SessionId),
    /// Forget the in-memory copies of events up to this seq (redacted).
    Forget {
        through: u64,
    },
}

/// How often expired idempotency records and refresh tokens are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

async fn prune_periodically(store: Store, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = every.tick() => match store.prune().await {
                Ok(rows) => tracing::debug!(rows, "pruned expired records"),
                Err(error) => tracing::warn!(%error, "cannot prune expired records"),
            },
        }
    }
}

/// A handle on the hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    commands: mpsc::Sender<Command>,
    directory: Arc<RwLock<Arc<Directory>>>,
    refs: SharedRefs,
    next_session: Arc<std::sync::atomic::AtomicU64>,
    pub presence: Presence,
}

/// How the hub is tuned.
#[derive(Debug, Clone, Copy)]
pub struct HubSettings {
    /// How often the log's head is polled for commits of other processes.
    pub poll: Duration,
    /// How often presence is written for the other nodes.
    pub presence_flush: Duration,
    /// Bytes of encoded recent events kept for replays.
    pub replay_cache_bytes: usize,
}

impl Hub {
    /// Starts the dispatcher and presence tasks on `tracker`; they stop when
    /// `shutdown` is cancelled.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn start(
        store: Store,
        metrics: Arc<Metrics>,
        node_id: String,
        settings: HubSettings,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) -> crate::store::Result<Hub> {
        let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (commit_tx, commit_rx) = mpsc::channel::<Vec<StoredEvent>>(COMMIT_QUEUE);
        store.on_commit(commit_tx);
        let directory = Arc::new(RwLock::new(Arc::new(store.directory().await?)));
        let head = store.head_seq().await?;
        let presence = Presence::new(node_id);
        let refs = SharedRefs::default();
        let dispatcher = dispatcher::Dispatcher::new(dispatcher::Setup {
            store: store.clone(),
            metrics,
            directory: directory.clone(),
            refs: refs.clone(),
            head,
            poll: settings.poll,
            replay_cache_bytes: settings.replay_cache_bytes,
        });
        let announced = store.watch_commits(tracker, shutdown.clone());
        tracker.spawn(dispatcher.run(command_rx, commit_rx, announced, shutdown.clone()));
        tracker.spawn(presence.clone().run(
            store.clone(),
            settings.presence_flush,
            shutdown.clone(),
        ));
        tracker.spawn(prune_periodically(store, shutdown));
        Ok(Hub {
            commands,
            directory,
            refs,
            next_session: Arc::new(std::sync::atomic::AtomicU64::new(1)),
            presence,
        })
    }

    /// The current directory of posts and corridors.
    pub fn directory(&self) -> Arc<Directory> {
        crate::sync::read(&self.directory).clone()
    }

    /// The node's short references for `compact` frames.
    pub fn refs(&self) -> &SharedRefs {
        &self.refs
    }

    pub fn new_session_id(&self) -> SessionId {
        self.next_session
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn register(&self, link: SessionLink) {
        let _ = self.commands.send(Command::Register(link)).await;
    }

    /// Subscribes a session. Events after the returned `through` arrive
    /// live; with `since`, the replay of `(since, through]` comes with it
    /// when the hub still holds those events in memory. `None` when the hub
    /// is shutting down. A `since` ahead of this node (seen on another
    /// node) is caught up to first, so nothing up to it arrives live.
    pub async fn subscribe(
        &self,
        session: SessionId,
        channels: Vec<ChannelId>,
        since: Option<u64>,
    ) -> Option<Subscription> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Subscribe {
                session,
                channels,
                since,
                reply,
            })
            .await
            .ok()?;
        rx.await.ok()
    }

    pub async fn unsubscribe(&self, session: SessionId, channels: Vec<ChannelId>) {
        let _ = self
            .commands
            .send(Command::Unsubscribe { session, channels })
            .await;
    }

    /// Makes the dispatcher drop its in-memory copies of events up to
    /// `through`, so that replays read redacted bodies from the log.
    pub async fn forget_through(&self, through: u64) {
        let _ = self.commands.send(Command::Forget { through }).await;
    }

    /// Forgets a session. Also sent by the session's drop guard.
    pub fn unregister(&self, session: SessionId) {
        let commands = self.commands.clone();
        // try_send first so that a drop guard never needs a runtime; fall
        // back to a task when the queue is momentarily full.
        if let Err(mpsc::error::TrySendError::Full(cmd)) =
            commands.try_send(Command::Unregister(session))
        {
            tokio::spawn(async move {
                let _ = commands.send(cmd).await;
            });
        }
    }
}
