//! Idempotency of domain write steps (alert and SOP steps). A step's
//! request id (socket) or `Idempotency-Key` header (REST) is remembered with
//! its reply in the same transaction as the step, so a retry after a lost
//! reply gets the first answer, marked `duplicate`, and changes nothing.
//! (Publishes do the same inside the committer's batches.)

use crate::access::Principal;
use crate::error::AppResult;
use crate::store::{Store, WriteTx};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A reply that can say it is a repeat.
pub trait Repeatable: Serialize + DeserializeOwned {
    fn mark_duplicate(&mut self);
}

macro_rules! repeatable {
    ($($t:ty),*) => {
        $(impl Repeatable for $t {
            fn mark_duplicate(&mut self) {
                self.duplicate = true;
            }
        })*
    };
}

repeatable!(
    mpaka_protocol::AlertReceipt,
    mpaka_protocol::SopDraftSaved,
    mpaka_protocol::SopReceipt,
    mpaka_protocol::SopAckReceipt,
    mpaka_protocol::SopRemindReceipt,
    mpaka_protocol::FlowReceipt,
    mpaka_protocol::FlowSurgeReceipt
);

/// Where a write step stands after [`Once::open`].
pub enum Opened<T> {
    /// First time: the step's transaction, to fill and [`Once::close`].
    Fresh(WriteTx),
    /// Already applied: the first reply, marked `duplicate`.
    Repeat(T),
}

/// One write request's idempotency record: who, under which key, and a
/// fingerprint of what was asked (the same key for another request is an
/// `idempotency_conflict`).
pub struct Once {
    user_id: i64,
    key: Option<String>,
    fingerprint: String,
}

impl Once {
    /// `step` names the operation (`sop.publish`, `alert.ack`); `request` is everything
    /// that defines it. Without a key nothing is remembered.
    pub fn new(who: &Principal, key: Option<&str>, step: &str, request: &impl Serialize) -> Once {
        let mut hasher = Sha256::new();
        hasher.update(step.as_bytes());
        hasher.update([0]);
        hasher.update(serde_json::to_vec(request).unwrap_or_default());
        Once {
            user_id: who.user_id,
            key: key.map(str::to_owned),
            fingerprint: hex::encode(hasher.finalize()),
        }
    }

    /// Opens the step's write transaction: [`Opened::Fresh`] to go on, or
    /// [`Opened::Repeat`] with the first reply when this request was
    /// already applied. Every write step starts here and ends in [`Once::close`].
    ///
    /// # Errors
    /// `idempotency_conflict`, storage failures.
    pub async fn open<T: Repeatable>(&self, store: &Store) -> AppResult<Opened<T>> {
        let mut tx = store.write().await?;
        Ok(match self.recall(&mut tx).await? {
            Some(reply) => Opened::Repeat(reply),
            None => Opened::Fresh(tx),
        })
    }

    /// Remembers `reply` in the step's transaction and commits it; the
    /// reply is returned once everything is durable.
    ///
    /// # Errors
    /// Storage failures (nothing of the step is kept then).
    pub async fn close<T: Repeatable>(&self, mut tx: WriteTx, reply: T) -> AppResult<T> {
        self.remember(&mut tx, &reply).await?;
        tx.commit().await?;
        Ok(reply)
    }

    /// The first reply to this request, if it was already applied.
    ///
    /// # Errors
    /// `idempotency_conflict`, storage failures.
    async fn recall<T: Repeatable>(&self, tx: &mut WriteTx) -> AppResult<Option<T>> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let Some(reply) = tx.recall(self.user_id, key, &self.fingerprint).await? else {
            return Ok(None);
        };
        let mut reply: T = serde_json::from_value(reply)
            .map_err(|e| anyhow::anyhow!("stored reply is unreadable: {e}"))?;
        reply.mark_duplicate();
        Ok(Some(reply))
    }

    /// Remembers the reply, in the step's transaction.
    ///
    /// # Errors
    /// Storage failures.
    async fn remember<T: Repeatable>(&self, tx: &mut WriteTx, reply: &T) -> AppResult<()> {
        if let Some(key) = &self.key {
            let value = serde_json::to_value(reply)
                .map_err(|e| anyhow::anyhow!("reply does not encode: {e}"))?;
            tx.remember(self.user_id, key, &self.fingerprint, &value)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal {
            user_id: 7,
            username: "mugina.officer".into(),
            display_name: "Officer".into(),
            role: mpaka_protocol::Role::Officer,
            country: Some(mpaka_protocol::Country::BI),
            org: None,
            post: Some("mugina".into()),
            corridor: Some("mugina-manyovu".into()),
            language: "fr".into(),
            client: None,
        }
    }

    #[test]
    fn a_reused_key_for_another_request_has_another_fingerprint() {
        let who = principal();
        let a = Once::new(&who, Some("k"), "alert.resolve", &("a1", "done")).fingerprint;
        let same = Once::new(&who, Some("k"), "alert.resolve", &("a1", "done")).fingerprint;
        assert_eq!(a, same);
        assert_ne!(
            a,
            Once::new(&who, Some("k"), "alert.cancel", &("a1", "done")).fingerprint
        );
        assert_ne!(
            a,
            Once::new(&who, Some("k"), "alert.resolve", &("a2", "done")).fingerprint
        );
    }
}
