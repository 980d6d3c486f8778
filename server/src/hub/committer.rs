//! Group commit for publishes: one task gathers the publishes waiting at
//! once and stores them in one transaction, so many concurrent publishers
//! share each fsync. A publish is answered only after its commit.

use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::store::{NewEvent, Store, StoreError};
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
fn fingerprint(job: &PublishJob) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(job.channel.to_string());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(&job.data).unwrap_or_default());
    hex::encode(hasher.finalize())
}

async fn commit_batch(store: &Store, metrics: &Metrics, jobs: Vec<PublishJob>) {
    let mut results: Vec<AppResult<Published>> = Vec::with_capacity(jobs.len());
    let outcome = tokio::time::timeout(COMMIT_DEADLINE, async {
        let mut tx = store.write().await?;
        for job in &jobs {
            let user = job.principal.user_id;
            let fingerprint = fingerprint(job);
            match tx.recall(user, &job.key, &fingerprint).await {
                Ok(Some(reply)) => {
                    let mut published: Published =
                        serde_json::from_value(reply).map_err(StoreError::corrupt)?;
                    published.duplicate = true;
                    results.push(Ok(published));
                    continue;
                }
                Ok(None) => {}
                Err(StoreError::IdempotencyConflict) => {
                    results.push(Err(StoreError::IdempotencyConflict.into()));
                    continue;
                }
                Err(other) => return Err(other),
            }
            let event = tx
                .append(NewEvent {
                    channel: job.channel.clone(),
                    author_id: Some(user),
                    author: Some(job.principal.author()),
                    audience: None,
                    data: job.data.clone(),
                })
                .await?;
            let published = Published {
                seq: event.seq,
                at: crate::store::format_ms(event.at_ms),
                duplicate: false,
            };
            let reply = serde_json::to_value(&published).map_err(StoreError::corrupt)?;
            tx.remember(user, &job.key, &fingerprint, &reply).await?;
            results.push(Ok(published));
        }
        tx.commit().await?;
        Ok(())
    })
    .await
    .unwrap_or_else(|_| {
        tracing::error!("a publish batch did not commit within {COMMIT_DEADLINE:?}");
        Err(StoreError::Unavailable(
            "database did not answer in time".into(),
        ))
    });
    match outcome {
        Ok(()) => {
            for (job, result) in jobs.into_iter().zip(results) {
                metrics
                    .publish_latency
                    .observe(job.received.elapsed().as_secs_f64());
                let _ = job.reply.send(result);
            }
        }
        Err(error) => {
            // Nothing of the batch was stored: every publisher gets the error
            // and may retry with the same id.
            let error = AppError::from(error);
            let body = error.body();
            for job in jobs {
                let _ = job.reply.send(Err(AppError::Client(body.clone())));
            }
        }
    }
}
