//! Events appended under idempotency keys, for the committer's batches of
//! publishes: the events inserted in one statement and their keys claimed
//! in one more (`INSERT … ON CONFLICT DO NOTHING RETURNING`), instead of a
//! lookup of every key before and an insert after.
//!
//! The events go in before the keys are claimed because a key's record
//! holds the reply, which names the event's `seq`. When a key turns out to
//! be taken (a retry after a lost reply, or a key reused for other
//! content, both rare), the call rolls back to a savepoint taken before
//! the events and stores the batch the careful way: every key looked up,
//! then only the new publishes appended. A savepoint, not a `DELETE` of the
//! rows: the least-privileged PostgreSQL role may not delete events
//! (deploy/postgres/least-privilege.sql), and a rolled-back row leaves no
//! gap in SQLite's sequence.

use super::{events, idempotency, PreparedEvent, Recalled, Request, Result, StoreError, WriteTx};
use sqlx::Executor;

/// The savepoint taken before a batch's events, and the way back to it.
const SAVEPOINT: &str = "SAVEPOINT append_once";
const BACK_TO_SAVEPOINT: &str = "ROLLBACK TO SAVEPOINT append_once";

/// What became of one publish appended with [`WriteTx::append_once`].
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Stored now as event `seq` at `at_ms`.
    Stored { seq: u64, at_ms: i64 },
    /// The key was taken before: the stored reply, or a conflict.
    Taken(Recalled),
}

impl WriteTx {
    /// Appends each event unless its request's key is already taken, and
    /// records `reply(seq, at_ms)` under each new key. Keys must be
    /// distinct within the call. Returns each publish's fate, in order.
    ///
    /// # Errors
    /// A database failure; then nothing of the transaction may be committed.
    pub async fn append_once(
        &mut self,
        publishes: Vec<(Request<'_>, PreparedEvent)>,
        reply: impl Fn(u64, i64) -> Result<String>,
    ) -> Result<Vec<Claim>> {
        let (requests, prepared): (Vec<Request<'_>>, Vec<PreparedEvent>) =
            publishes.into_iter().unzip();
        let result = self.conn().execute(SAVEPOINT).await;
        self.watch(result.map_err(StoreError::from))?;
        let result = events::insert_many(self.conn(), prepared).await;
        let written = self.watch(result)?;
        let claimed = self.claim(&requests, &written, &reply).await?;
        if claimed.iter().all(|&c| c) {
            let positions = self.keep_written(written).await?;
            return Ok(positions
                .into_iter()
                .map(|(seq, at_ms)| Claim::Stored { seq, at_ms })
                .collect());
        }

        // Some keys were taken: undo this call's rows and claims, then
        // append only the publishes whose keys are new.
        let result = self.conn().execute(BACK_TO_SAVEPOINT).await;
        self.watch(result.map_err(StoreError::from))?;
        let result = idempotency::recall_many(self.conn(), &requests).await;
        let recalled = self.watch(result)?;
        let mut fresh_requests = Vec::new();
        let mut fresh_events = Vec::new();
        for ((request, (stored, _)), recalled) in requests.iter().zip(written).zip(&recalled) {
            if *recalled == Recalled::New {
                fresh_requests.push(*request);
                fresh_events.push(PreparedEvent::from_stored(stored)?);
            }
        }
        let result = events::insert_many(self.conn(), fresh_events).await;
        let written = self.watch(result)?;
        let claimed = self.claim(&fresh_requests, &written, &reply).await?;
        if !claimed.iter().all(|&c| c) {
            return Err(StoreError::corrupt(
                "an idempotency key found free was taken within the same transaction",
            ));
        }
        let mut positions = self.keep_written(written).await?.into_iter();
        Ok(recalled
            .into_iter()
            .map(|recalled| match recalled {
                Recalled::New => {
                    let (seq, at_ms) = positions.next().expect("one row per new publish");
                    Claim::Stored { seq, at_ms }
                }
                taken => Claim::Taken(taken),
            })
            .collect())
    }

    /// Claims each request's key with the reply naming its written event.
    async fn claim(
        &mut self,
        requests: &[Request<'_>],
        written: &[(super::StoredEvent, crate::vlog::merkle::Hash)],
        reply: &impl Fn(u64, i64) -> Result<String>,
    ) -> Result<Vec<bool>> {
        let replies = requests
            .iter()
            .zip(written)
            .map(|(request, (event, _))| Ok((*request, reply(event.seq, event.at_ms)?)))
            .collect::<Result<Vec<_>>>()?;
        let result = idempotency::claim_many(self.conn(), &replies).await;
        self.watch(result)
    }
}
