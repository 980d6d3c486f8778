//! Group commit for publishes: one task gathers the publishes waiting at
//! once and stores them in one transaction, so many concurrent publishers
//! share each fsync. A publish is answered only after its commit.

use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::store::{NewEvent, Recalled, Request, Store, StoreError};
use mpaka_protocol::{ChannelId, EventData};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Publishes waiting for the committer before senders wait.
const QUEUE: usize = 8192;
/// Publishes stored in one transaction at most.
const MAX_BATCH: usize = 512;
/// The longest a batch may take to commit before its publishers are told
/// `unavailable` (a stalled database link must not leave them without an
/// answer). A batch that did commit after all is found by the retry's
/// idempotency key, so a retry neither loses nor duplicates it.
const COMMIT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(8);

/// One publish to store.
pub struct PublishJob {
    pub principal: Arc<Principal>,
    /// The client's request id: the idempotency key.
    pub key: String,
    pub channel: ChannelId,
    pub data: EventData,
    pub received: Instant,
    pub reply: oneshot::Sender<AppResult<Published>>,
}

/// The durable result of a publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub seq: u64,
    pub at: String,
    #[serde(skip)]
    pub duplicate: bool,
}

/// A handle on the committer task.
#[derive(Clone)]
pub struct Committer {
    jobs: mpsc::Sender<PublishJob>,
}

impl Committer {
    pub fn start(
        store: Store,
        metrics: Arc<Metrics>,
        tracker: &tokio_util::task::TaskTracker,
        shutdown: CancellationToken,
    ) -> Committer {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tracker.spawn(run(store, metrics, rx, shutdown));
        Committer { jobs }
    }

    /// Stores a publish and waits for its commit.
    ///
    /// # Errors
    /// `unavailable` when the hub is stopping; storage errors;
    /// `idempotency_conflict` when the key was used for another request.
    pub async fn publish(
        &self,
        principal: Arc<Principal>,
        key: String,
        channel: ChannelId,
        data: EventData,
    ) -> AppResult<Published> {
        let (reply, rx) = oneshot::channel();
        let job = PublishJob {
            principal,
            key,
            channel,
            data,
            received: Instant::now(),
            reply,
        };
        let unavailable = || {
            AppError::new(
                mpaka_protocol::ErrorCode::Unavailable,
                "the hub is shutting down",
            )
        };
        self.jobs.send(job).await.map_err(|_| unavailable())?;
        rx.await.map_err(|_| unavailable())?
    }
}

async fn run(
    store: Store,
    metrics: Arc<Metrics>,
    mut rx: mpsc::Receiver<PublishJob>,
    shutdown: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            n = rx.recv_many(&mut batch, MAX_BATCH) => {
                if n == 0 {
                    break;
                }
            }
        }
        metrics.commit_batch_size.observe(batch.len() as f64);
        commit_batch(&store, &metrics, std::mem::take(&mut batch)).await;
    }
    // Answer whatever is still queued rather than leaving callers waiting.
    rx.close();
    while let Ok(job) = rx.try_recv() {
        let _ = job.reply.send(Err(AppError::new(
            mpaka_protocol::ErrorCode::Unavailable,
            "the hub is shutting down",
        )));
    }
}

/// Fingerprint of a publish, to tell a retry from a reused key.
fn fingerprint(channel: &ChannelId, data: &EventData) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(channel.to_string());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(data).unwrap_or_default());
    hex::encode(hasher.finalize())
}

/// What becomes of one publish of a batch.
enum Fate {
    /// Stored now, as the batch's `n`th new event.
    Appended(usize),
    /// A repeat, within this batch, of the publish at position `first`,
    /// stored as new event `event`.
    RepeatOf { first: usize, event: usize },
    /// Stored by an earlier batch: its reply again.
    Replay(Published),
    /// Its key was used for another publish.
    Conflict,
}

/// One publish's part of the batch, apart from where its reply goes.
struct Pending {
    principal: Arc<Principal>,
    key: String,
    fingerprint: String,
    event: Option<NewEvent>,
}

async fn commit_batch(store: &Store, metrics: &Metrics, jobs: Vec<PublishJob>) {
    let mut waiting = Vec::with_capacity(jobs.len());
    let pending: Vec<Pending> = jobs
        .into_iter()
        .map(|job| {
            waiting.push((job.received, job.reply));
            Pending {
                fingerprint: fingerprint(&job.channel, &job.data),
                key: job.key,
                event: Some(NewEvent {
                    channel: job.channel,
                    author_id: Some(job.principal.user_id),
                    author: Some(job.principal.author()),
                    audience: None,
                    data: job.data,
                }),
                principal: job.principal,
            }
        })
        .collect();
    let outcome = tokio::time::timeout(COMMIT_DEADLINE, store_batch(store, pending))
        .await
        .unwrap_or_else(|_| {
            tracing::error!("a publish batch did not commit within {COMMIT_DEADLINE:?}");
            Err(StoreError::Unavailable(
                "database did not answer in time".into(),
            ))
        });
    match outcome {
        Ok(results) => {
            for ((received, reply), result) in waiting.into_iter().zip(results) {
                metrics
                    .publish_latency
                    .observe(received.elapsed().as_secs_f64());
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            // Nothing of the batch was stored: every publisher gets the error
            // and may retry with the same id.
            let error = AppError::from(error);
            let body = error.body();
            for (_, reply) in waiting {
                let _ = reply.send(Err(AppError::Client(body.clone())));
            }
        }
    }
}

/// Stores a batch in one transaction and a few statements: the idempotency
/// records of every publish looked up at once, the new events and their
/// leaves inserted at once, their replies recorded at once. Returns each
/// publish's answer, in order.
async fn store_batch(
    store: &Store,
    mut pending: Vec<Pending>,
) -> Result<Vec<AppResult<Published>>, StoreError> {
    use std::collections::hash_map::{Entry, HashMap};
    let mut tx = store.write().await?;
    let requests: Vec<Request<'_>> = pending.iter().map(Pending::request).collect();
    let recalled = tx.recall_many(&requests).await?;
    drop(requests);
    // Each key's first publish in this batch, and its new event.
    let mut first_of: HashMap<(i64, String), (usize, usize)> = HashMap::new();
    let mut fates = Vec::with_capacity(pending.len());
    let mut events = Vec::new();
    for (i, (publish, recalled)) in pending.iter_mut().zip(recalled).enumerate() {
        let fate = match recalled {
            Recalled::Replay(reply) => {
                Fate::Replay(serde_json::from_value(reply).map_err(StoreError::corrupt)?)
            }
            Recalled::Conflict => Fate::Conflict,
            Recalled::New => match first_of.entry((publish.principal.user_id, publish.key.clone()))
            {
                Entry::Occupied(first) => {
                    let (first, event) = *first.get();
                    Fate::RepeatOf { first, event }
                }
                Entry::Vacant(slot) => {
                    slot.insert((i, events.len()));
                    events.push(publish.event.take().expect("each publish is taken once"));
                    Fate::Appended(events.len() - 1)
                }
            },
        };
        fates.push(fate);
    }
    let positions = tx.append_many(events).await?;
    let mut results: Vec<AppResult<Published>> = Vec::with_capacity(fates.len());
    let mut replies = Vec::with_capacity(positions.len());
    for (i, fate) in fates.into_iter().enumerate() {
        let result = match fate {
            Fate::Appended(n) => {
                let (seq, at_ms) = positions[n];
                let published = Published {
                    seq,
                    at: crate::store::format_ms(at_ms),
                    duplicate: false,
                };
                let reply = serde_json::to_value(&published).map_err(StoreError::corrupt)?;
                replies.push((pending[i].request(), reply));
                Ok(published)
            }
            Fate::RepeatOf { first, event }
                if pending[first].fingerprint == pending[i].fingerprint =>
            {
                let (seq, at_ms) = positions[event];
                Ok(Published {
                    seq,
                    at: crate::store::format_ms(at_ms),
                    duplicate: true,
                })
            }
            Fate::RepeatOf { .. } | Fate::Conflict => Err(StoreError::IdempotencyConflict.into()),
            Fate::Replay(published) => Ok(Published {
                duplicate: true,
                ..published
            }),
        };
        results.push(result);
    }
    tx.remember_many(&replies).await?;
    tx.commit().await?;
    Ok(results)
}

impl Pending {
    fn request(&self) -> Request<'_> {
        Request {
            user_id: self.principal.user_id,
            key: &self.key,
            fingerprint: &self.fingerprint,
        }
    }
}
