//! The dispatcher task: the single owner of routing state. It delivers every
//! committed event exactly once per subscribed session, in `seq` order, and
//! never waits for a session: a full queue cuts that session off.

use super::encoded::{self, Encoded, SharedRefs, FORMS};
use super::{Command, SessionId, SessionLink, Subscription};
use crate::access;
use crate::metrics::Metrics;
use crate::store::{Directory, Store, StoredEvent};
use mpaka_protocol::wire::Encoding;
use mpaka_protocol::SopAudience as Audience;
use mpaka_protocol::{ChannelId, CloseCode, EventData, ServerFrame};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Events read from the log per query when catching up.
const CATCH_UP_PAGE: u32 = 1000;
/// Memory an entry of the replay cache takes besides its frames (routing
/// fields, the deque slot, the `Arc`s).
const CACHED_OVERHEAD: usize = 160;

/// A dispatched event as the replay cache keeps it: the fields routing
/// needs and its encoded frames, never the decoded event. Each form
/// (encoding × redaction class) is encoded once, when first needed, and
/// shared by live delivery and replay to every recipient.
struct Cached {
    seq: u64,
    channel: ChannelId,
    audience: Option<Audience>,
    at_ms: i64,
    forms: [OnceLock<Arc<Encoded>>; FORMS],
}

impl Cached {
    fn new(event: &StoredEvent) -> Cached {
        Cached {
            seq: event.seq,
            channel: event.channel.clone(),
            audience: event.audience.clone(),
            at_ms: event.at_ms,
            forms: Default::default(),
        }
    }

    /// The frame of `event` (this entry's) in one form.
    fn frame(
        &self,
        event: &StoredEvent,
        encoding: Encoding,
        redact: bool,
        refs: &SharedRefs,
    ) -> Arc<Encoded> {
        self.forms[encoded::form(encoding, redact)]
            .get_or_init(|| Arc::new(encoded::encode(event, encoding, redact, refs)))
            .clone()
    }

    /// The frame in one form if it was made already.
    fn made(&self, encoding: Encoding, redact: bool) -> Option<Arc<Encoded>> {
        self.forms[encoded::form(encoding, redact)].get().cloned()
    }

    /// The event back from its full `json` frame, which every cached entry
    /// holds, to make another form on demand.
    fn source(&self) -> Option<StoredEvent> {
        let json = self.forms[encoded::form(Encoding::Json, false)].get()?;
        let ServerFrame::Event(event) = serde_json::from_str(json.bytes.as_str()).ok()? else {
            return None;
        };
        Some(StoredEvent {
            seq: self.seq,
            channel: self.channel.clone(),
            at_ms: self.at_ms,
            author_id: event.author.as_ref().and_then(|a| a.id),
            author: event.author,
            audience: self.audience.clone(),
            data: event.data,
        })
    }

    fn weight(&self) -> usize {
        CACHED_OVERHEAD
            + self
                .forms
                .iter()
                .filter_map(OnceLock::get)
                .map(|f| f.weight())
                .sum::<usize>()
    }
}

struct Session {
    link: SessionLink,
    channels: HashSet<ChannelId>,
}

pub(super) struct Dispatcher {
    store: Store,
    metrics: Arc<Metrics>,
    directory: Arc<RwLock<Arc<Directory>>>,
    sessions: HashMap<SessionId, Session>,
    by_channel: HashMap<ChannelId, HashSet<SessionId>>,
    /// Every event with `seq <= dispatched` has been fanned out.
    dispatched: u64,
    /// The most recent dispatched events, oldest first.
    recent: VecDeque<Cached>,
    /// What `recent` weighs ([`Cached::weight`]), kept under `recent_budget`.
    recent_bytes: usize,
    recent_budget: usize,
    /// `recent` holds every deliverable event with `seq > recent_floor`.
    recent_floor: u64,
    refs: SharedRefs,
    poll: Duration,
}

/// What the dispatcher is started with besides its channels.
pub(super) struct Setup {
    pub(super) store: Store,
    pub(super) metrics: Arc<Metrics>,
    pub(super) directory: Arc<RwLock<Arc<Directory>>>,
    pub(super) refs: SharedRefs,
    pub(super) head: u64,
    pub(super) poll: Duration,
    pub(super) replay_cache_bytes: usize,
}

impl Dispatcher {
    pub(super) fn new(setup: Setup) -> Dispatcher {
        Dispatcher {
            store: setup.store,
            metrics: setup.metrics,
            directory: setup.directory,
            sessions: HashMap::new(),
            by_channel: HashMap::new(),
            dispatched: setup.head,
            recent: VecDeque::new(),
            recent_bytes: 0,
            recent_budget: setup.replay_cache_bytes,
            recent_floor: setup.head,
            refs: setup.refs,
            poll: setup.poll,
        }
    }

    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut commits: mpsc::Receiver<Vec<StoredEvent>>,
        mut announced: Option<watch::Receiver<u64>>,
        shutdown: CancellationToken,
    ) {
        let mut poll = tokio::time::interval(self.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(command) = commands.recv() => self.handle(command).await,
                Some(batch) = commits.recv() => self.on_committed(batch).await,
                Some(head) = next_announced(&mut announced) => {
                    if head > self.dispatched {
                        self.catch_up(head).await;
                    }
                }
                _ = poll.tick() => self.poll_head().await,
            }
        }
        tracing::debug!("dispatcher stopped");
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Register(link) => {
                self.metrics.connections.inc();
                self.sessions.insert(
                    link.id,
                    Session {
                        link,
                        channels: HashSet::new(),
                    },
                );
            }
            Command::Subscribe {
                session,
                channels,
                since,
                reply,
            } => {
                // A client resuming from a seq it saw on another node may be
                // ahead of us. Dispatch up to it first (to the others; this
                // session is not subscribed yet), or the events in between
                // would reach it live a second time. They are all readable:
                // the client saw `since` committed, and commits are serial.
                if let Some(since) = since.filter(|s| *s > self.dispatched) {
                    self.catch_up(since).await;
                }
                let replay =
                    since.and_then(|since| self.replay_from_memory(session, &channels, since));
                if let Some(entry) = self.sessions.get_mut(&session) {
                    for channel in channels {
                        if entry.channels.insert(channel.clone()) {
                            self.metrics.subscriptions.inc();
                            self.by_channel.entry(channel).or_default().insert(session);
                        }
                    }
                }
                let _ = reply.send(Subscription {
                    through: self.dispatched,
                    replay,
                });
            }
            Command::Unsubscribe { session, channels } => {
                if let Some(entry) = self.sessions.get_mut(&session) {
                    for channel in channels {
                        if entry.channels.remove(&channel) {
                            self.metrics.subscriptions.dec();
                            remove_from_index(&mut self.by_channel, &channel, session);
                        }
                    }
                }
            }
            Command::Unregister(session) => self.drop_session(session, None),
            Command::Forget { through } => self.forget(through),
        }
    }

    /// Drops the in-memory copies of events up to `through` (retention has
    /// redacted some of them): resuming from before it reads the log,
    /// which holds the redacted bodies.
    fn forget(&mut self, through: u64) {
        while self
            .recent
            .front()
            .is_some_and(|oldest| oldest.seq <= through)
        {
            if let Some(oldest) = self.recent.pop_front() {
                self.recent_bytes = self.recent_bytes.saturating_sub(oldest.weight());
            }
        }
        self.recent_floor = self.recent_floor.max(through);
    }

    /// The encoded events after `since` on `channels` that the session may
    /// receive, if the recent events still cover `since`.
    fn replay_from_memory(
        &mut self,
        session: SessionId,
        channels: &[ChannelId],
        since: u64,
    ) -> Option<Vec<Arc<Encoded>>> {
        if since < self.recent_floor {
            return None;
        }
        let link = &self.sessions.get(&session)?.link;
        let (who, encoding) = (&link.principal, link.encoding);
        let redact = who.sees_redacted();
        let directory = crate::sync::read(&self.directory).clone();
        let start = self.recent.partition_point(|d| d.seq <= since);
        let mut grown = 0;
        let mut frames = Vec::new();
        for cached in self.recent.range(start..) {
            if !channels.contains(&cached.channel)
                || !access::may_receive(who, &cached.channel, cached.audience.as_ref(), &directory)
            {
                continue;
            }
            let frame = match cached.made(encoding, redact) {
                Some(frame) => frame,
                // A form no live recipient needed: made now from the full
                // frame, and kept for the next resume.
                None => {
                    let event = cached.source()?;
                    let before = cached.weight();
                    let frame = cached.frame(&event, encoding, redact, &self.refs);
                    grown += cached.weight() - before;
                    frame
                }
            };
            frames.push(frame);
        }
        self.recent_bytes += grown;
        self.evict();
        Some(frames)
    }

    /// Keeps a dispatched event for replays, evicting the oldest over the
    /// byte budget. Its full `json` frame is made if no one needed it, so
    /// that any other form can be made from it later.
    fn remember(&mut self, cached: Cached, event: &StoredEvent) {
        cached.frame(event, Encoding::Json, false, &self.refs);
        self.recent_bytes += cached.weight();
        self.recent.push_back(cached);
        self.evict();
    }

    fn evict(&mut self) {
        while self.recent_bytes > self.recent_budget {
            let Some(oldest) = self.recent.pop_front() else {
                break;
            };
            self.recent_bytes = self.recent_bytes.saturating_sub(oldest.weight());
            self.recent_floor = self.recent_floor.max(oldest.seq);
        }
    }

    /// Removes a session; with a close code, tells it why.
    fn drop_session(&mut self, id: SessionId, close: Option<CloseCode>) {
        let Some(session) = self.sessions.remove(&id) else {
            return;
        };
        self.metrics.connections.dec();
        self.metrics
            .subscriptions
            .dec_by(session.channels.len() as i64);
        for channel in &session.channels {
            remove_from_index(&mut self.by_channel, channel, id);
        }
        if let Some(code) = close {
            let _ = session.link.kick.send(code);
        }
    }

    /// Events this process committed (every write path: socket publishes,
    /// REST steps, escalations, surges, system events), counted here once.
    async fn on_committed(&mut self, batch: Vec<StoredEvent>) {
        for event in &batch {
            self.metrics.published(event.data.kind());
        }
        let Some(first) = batch.first() else { return };
        if first.seq > self.dispatched + 1 {
            // Someone else committed in between: read the gap from the log,
            // which (writers being serialised) holds every event before ours.
            self.catch_up(first.seq - 1).await;
        }
        // Sequence numbers may skip (PostgreSQL does not reuse the numbers
        // of rolled-back transactions), so "not yet dispatched" is the test.
        for event in batch {
            if event.seq > self.dispatched {
                self.fan_out(event).await;
            }
        }
    }

    async fn poll_head(&mut self) {
        match self.store.head_seq().await {
            Ok(head) if head > self.dispatched => self.catch_up(head).await,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot read the log head"),
        }
    }

    /// Dispatches every stored event up to `target` that was not yet.
    async fn catch_up(&mut self, target: u64) {
        while self.dispatched < target {
            let events = match self
                .store
                .events_after(self.dispatched, CATCH_UP_PAGE)
                .await
            {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the log; will retry");
                    return;
                }
            };
            if events.is_empty() {
                return;
            }
            for event in events {
                if event.seq > target {
                    return;
                }
                self.fan_out(event).await;
            }
        }
    }

    async fn fan_out(&mut self, event: StoredEvent) {
        self.dispatched = event.seq;
        if event.channel == ChannelId::System {
            self.on_system_event(&event).await;
            return;
        }
        let cached = Cached::new(&event);
        if let Some(subscribers) = self.by_channel.get(&event.channel) {
            let directory = crate::sync::read(&self.directory).clone();
            let mut slow = Vec::new();
            let mut delivered = 0u64;
            for id in subscribers {
                let Some(session) = self.sessions.get(id) else {
                    continue;
                };
                let who = &session.link.principal;
                if event.audience.is_some()
                    && !access::may_receive(
                        who,
                        &event.channel,
                        event.audience.as_ref(),
                        &directory,
                    )
                {
                    continue;
                }
                let frame = cached.frame(
                    &event,
                    session.link.encoding,
                    who.sees_redacted(),
                    &self.refs,
                );
                match session.link.outbound.try_send(frame) {
                    Ok(()) => delivered += 1,
                    Err(TrySendError::Full(_)) => slow.push(*id),
                    // The session is ending; its unregister is on the way.
                    Err(TrySendError::Closed(_)) => {}
                }
            }
            self.metrics.events_delivered.inc_by(delivered);
            for id in slow {
                tracing::warn!(
                    session = id,
                    "slow consumer: outbound queue full, disconnecting"
                );
                self.metrics.slow_consumer_disconnects.inc();
                self.drop_session(id, Some(CloseCode::SlowConsumer));
            }
        }
        self.remember(cached, &event);
    }

    async fn on_system_event(&mut self, event: &StoredEvent) {
        match &event.data {
            EventData::AccountChanged { user_id } => {
                let affected: Vec<SessionId> = self
                    .sessions
                    .iter()
                    .filter(|(_, s)| s.link.principal.user_id == *user_id)
                    .map(|(id, _)| *id)
                    .collect();
                for id in affected {
                    tracing::info!(session = id, user_id, "account changed: closing session");
                    self.drop_session(id, Some(CloseCode::AccountChanged));
                }
            }
            EventData::SessionEnded { user_id, session } => {
                let affected: Vec<SessionId> = self
                    .sessions
                    .iter()
                    .filter(|(_, s)| {
                        s.link.principal.user_id == *user_id
                            && session
                                .as_deref()
                                .is_none_or(|ended| *s.link.login_session == *ended)
                    })
                    .map(|(id, _)| *id)
                    .collect();
                for id in affected {
                    tracing::info!(session = id, user_id, "login session ended: closing socket");
                    self.drop_session(id, Some(CloseCode::AccountChanged));
                }
            }
            EventData::DirectoryChanged {} => match self.store.directory().await {
                Ok(directory) => {
                    *crate::sync::write(&self.directory) = Arc::new(directory);
                }
                Err(error) => tracing::warn!(%error, "cannot reload the directory"),
            },
            _ => {}
        }
    }
}

/// The next head announced by another process; pending forever without a
/// watch (SQLite) or once the watch has ended.
async fn next_announced(announced: &mut Option<watch::Receiver<u64>>) -> Option<u64> {
    let Some(receiver) = announced else {
        return std::future::pending().await;
    };
    if receiver.changed().await.is_err() {
        *announced = None;
        return std::future::pending().await;
    }
    let head = *receiver.borrow_and_update();
    Some(head)
}

fn remove_from_index(
    index: &mut HashMap<ChannelId, HashSet<SessionId>>,
    channel: &ChannelId,
    session: SessionId,
) {
    if let Some(set) = index.get_mut(channel) {
        set.remove(&session);
        if set.is_empty() {
            index.remove(channel);
        }
    }
}
