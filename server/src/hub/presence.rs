//! Presence: this node's count of open sessions per user, written to the
//! database (debounced, and at least every few seconds as a heartbeat) so
//! that every node can answer "who is online at which post".

use crate::store::{now_ms, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Heartbeat even when nothing changed, so other nodes keep counting us.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A node whose heartbeat is older than this no longer counts as online.
pub const FRESH_MS: i64 = 15_000;

/// Open sessions per user id, with the user's post.
type SessionCounts = HashMap<i64, (Option<String>, i64)>;

/// This node's presence tracker. Cheap to clone.
#[derive(Clone)]
pub struct Presence {
    node_id: Arc<str>,
    counts: Arc<Mutex<SessionCounts>>,
    /// Posts whose users connected or left since the last flush, with when:
    /// a visit shorter than the flush interval still counts as "seen".
    seen: Arc<Mutex<HashMap<String, i64>>>,
    changed: Arc<Notify>,
}

impl Presence {
    pub(super) fn new(node_id: String) -> Presence {
        Presence {
            node_id: node_id.into(),
            counts: Arc::default(),
            seen: Arc::default(),
            changed: Arc::default(),
        }
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// A session of `user_id` (at `post`) opened.
    pub fn connected(&self, user_id: i64, post: Option<String>) {
        self.mark_seen(post.as_deref());
        crate::sync::lock(&self.counts)
            .entry(user_id)
            .or_insert((post, 0))
            .1 += 1;
        self.changed.notify_one();
    }

    /// A session of `user_id` closed.
    pub fn disconnected(&self, user_id: i64) {
        let mut counts = crate::sync::lock(&self.counts);
        if let Some(entry) = counts.get_mut(&user_id) {
            self.mark_seen(entry.0.as_deref());
            entry.1 -= 1;
            if entry.1 <= 0 {
                counts.remove(&user_id);
            }
        }
        drop(counts);
        self.changed.notify_one();
    }

    fn mark_seen(&self, post: Option<&str>) {
        if let Some(post) = post {
            crate::sync::lock(&self.seen).insert(post.to_owned(), now_ms());
        }
    }

    fn snapshot(&self) -> Vec<(i64, Option<String>, i64)> {
        crate::sync::lock(&self.counts)
            .iter()
            .map(|(user, (post, n))| (*user, post.clone(), *n))
            .collect()
    }

    async fn flush(&self, store: &Store) {
        let rows = self.snapshot();
        let seen: Vec<(String, i64)> = crate::sync::lock(&self.seen).drain().collect();
        let result = async {
            let mut tx = store.write().await?;
            tx.replace_presence(&self.node_id, &rows, &seen).await?;
            tx.commit().await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, "cannot write presence");
        }
    }

    pub(super) async fn run(self, store: Store, debounce: Duration, shutdown: CancellationToken) {
        self.flush(&store).await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.changed.notified() => {
                    tokio::time::sleep(debounce).await;
                }
                () = tokio::time::sleep(HEARTBEAT) => {}
            }
            // The debounce above coalesces a burst of connects into one write.
            self.flush(&store).await;
        }
        // A clean stop: this node's sessions are gone.
        let result = async {
            let mut tx = store.write().await?;
            tx.remove_node(&self.node_id).await?;
            tx.commit().await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, "cannot remove this node's presence");
        }
    }
}
