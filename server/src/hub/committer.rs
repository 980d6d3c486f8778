//! Group commit for publishes: one task gathers the publishes waiting at
//! once and stores them in one transaction, so many concurrent publishers
//! share each fsync. A publish is answered only after its commit.

use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::store::{Claim, NewEvent, PreparedEvent, Recalled, Request, Store, StoreError};
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

/// Fingerprint of a publish, to tell a retry from a reused key: a hash of
/// the channel and of the body's JSON exactly as it is stored (the same
/// bytes the event row holds, so the body is encoded only once).
fn fingerprint(prepared: &PreparedEvent) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(prepared.channel());
    hasher.update([0]);
    hasher.update(prepared.body());
    hex::encode(hasher.finalize())
}

/// One publish's part of the batch, apart from where its reply goes.
struct Pending {
    user_id: i64,
    key: String,
    fingerprint: String,
    event: Option<PreparedEvent>,
}

impl Pending {
    fn new(job: PublishJob) -> (Result<Pending, StoreError>, Instant, Reply) {
        let event = NewEvent {
            channel: job.channel,
            author_id: Some(job.principal.user_id),
            author: Some(job.principal.author()),
            audience: None,
            data: job.data,
        };
        let pending = PreparedEvent::new(event).map(|prepared| Pending {
            user_id: job.principal.user_id,
            key: job.key,
            fingerprint: fingerprint(&prepared),
            event: Some(prepared),
        });
        (pending, job.received, job.reply)
    }

    fn request(&self) -> Request<'_> {
        Request {
            user_id: self.user_id,
            key: &self.key,
            fingerprint: &self.fingerprint,
        }
    }
}

type Reply = oneshot::Sender<AppResult<Published>>;

async fn commit_batch(store: &Store, metrics: &Metrics, jobs: Vec<PublishJob>) {
    let mut waiting = Vec::with_capacity(jobs.len());
    let mut pending = Vec::with_capacity(jobs.len());
    for job in jobs {
        let (prepared, received, reply) = Pending::new(job);
        match prepared {
            Ok(p) => {
                pending.push(p);
                waiting.push((received, reply));
            }
            // Not expected (every body is valid JSON): refuse only this one.
            Err(error) => {
                let _ = reply.send(Err(AppError::from(error)));
            }
        }
    }
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

/// Stores a batch in one transaction and a few statements (see
/// [`crate::store::WriteTx::append_once`]): the first publish of each key
/// in the batch is appended under its key; a repeat of a key within the
/// batch gets its first's answer. Returns each publish's answer, in order.
async fn store_batch(
    store: &Store,
    mut pending: Vec<Pending>,
) -> Result<Vec<AppResult<Published>>, StoreError> {
    use std::collections::hash_map::{Entry, HashMap};
    // Each key's first publish in this batch, and its place among the
    // appended ones; `None` for the first, the first's index for a repeat.
    let mut first_of: HashMap<(i64, &str), usize> = HashMap::with_capacity(pending.len());
    let mut repeat_of = Vec::with_capacity(pending.len());
    let mut firsts = Vec::with_capacity(pending.len());
    for (i, publish) in pending.iter().enumerate() {
        match first_of.entry((publish.user_id, publish.key.as_str())) {
            Entry::Occupied(first) => repeat_of.push(Some(*first.get())),
            Entry::Vacant(slot) => {
                slot.insert(i);
                repeat_of.push(None);
                firsts.push(i);
            }
        }
    }
    drop(first_of);
    let events: Vec<PreparedEvent> = firsts
        .iter()
        .map(|&i| pending[i].event.take().expect("each publish is taken once"))
        .collect();
    let publishes: Vec<(Request<'_>, PreparedEvent)> = firsts
        .iter()
        .map(|&i| pending[i].request())
        .zip(events)
        .collect();
    let mut tx = store.write().await?;
    let claims = tx
        .append_once(publishes, |seq, at_ms| {
            serde_json::to_string(&Published {
                seq,
                at: crate::store::format_ms(at_ms),
                duplicate: false,
            })
            .map_err(StoreError::corrupt)
        })
        .await?;
    // A repeat whose key was taken before this batch and whose content
    // differs from its first's may still match the stored record: ask.
    let unsure: Vec<usize> = (0..pending.len())
        .filter(|&i| {
            repeat_of[i].is_some_and(|first| {
                pending[first].fingerprint != pending[i].fingerprint
                    && matches!(
                        claims[firsts.binary_search(&first).unwrap_or(0)],
                        Claim::Taken(_)
                    )
            })
        })
        .collect();
    let mut recalled_repeats = if unsure.is_empty() {
        Vec::new()
    } else {
        let asked: Vec<Request<'_>> = unsure.iter().map(|&i| pending[i].request()).collect();
        tx.recall_many(&asked).await?
    }
    .into_iter();
    tx.commit().await?;

    let mut answers: Vec<Option<AppResult<Published>>> = Vec::with_capacity(pending.len());
    answers.resize_with(pending.len(), || None);
    for (&i, claim) in firsts.iter().zip(claims) {
        answers[i] = Some(match claim {
            Claim::Stored { seq, at_ms } => Ok(Published {
                seq,
                at: crate::store::format_ms(at_ms),
                duplicate: false,
            }),
            Claim::Taken(recalled) => replayed(recalled)?,
        });
    }
    // The repeats first, from their first's answer, while it is still there.
    for i in 0..pending.len() {
        let Some(first) = repeat_of[i] else { continue };
        answers[i] = Some(if unsure.contains(&i) {
            let recalled = recalled_repeats
                .next()
                .expect("one recall for each unsure repeat");
            replayed(recalled)?
        } else if pending[first].fingerprint != pending[i].fingerprint {
            Err(StoreError::IdempotencyConflict.into())
        } else {
            match &answers[first] {
                Some(Ok(published)) => Ok(Published {
                    duplicate: true,
                    ..published.clone()
                }),
                Some(Err(_)) | None => Err(StoreError::IdempotencyConflict.into()),
            }
        });
    }
    let results = answers
        .into_iter()
        .map(|answer| answer.expect("every publish has an answer"))
        .collect();
    Ok(results)
}

/// The answer to a publish whose key was taken before its batch.
fn replayed(recalled: Recalled) -> Result<AppResult<Published>, StoreError> {
    Ok(match recalled {
        Recalled::Replay(reply) => {
            let published: Published =
                serde_json::from_value(reply).map_err(StoreError::corrupt)?;
            Ok(Published {
                duplicate: true,
                ..published
            })
        }
        Recalled::Conflict => Err(StoreError::IdempotencyConflict.into()),
        Recalled::New => {
            return Err(StoreError::corrupt(
                "an idempotency key was taken but its record is missing",
            ))
        }
    })
}
