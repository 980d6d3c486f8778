//! Proofs as documents: an inclusion proof carries the leaf bytes, the
//! RFC 9162 audit path and the signed checkpoint it leads to, so whoever
//! holds the log's verifier key can check it offline; a consistency proof
//! carries both checkpoints. Built here for REST and the CLI; checked here
//! for the CLI (`mpaka log check-proof`) and tools.

use super::leaf::Source;
use super::merkle::{self, Hash};
use super::note::{open_checkpoint, Verifier};
use super::store::LeafRef;
use super::Log;
use crate::error::{AppError, AppResult};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use mpaka_protocol::FieldCode;
use serde::{Deserialize, Serialize};

/// An inclusion proof, self-contained: with the log's verifier key anyone
/// can check it offline (docs/audit.md).
#[derive(Debug, Serialize, Deserialize)]
pub struct InclusionProof {
    pub origin: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub source: Source,
    /// `events.seq` or `audit.id`.
    pub reference: i64,
    /// The leaf bytes (base64): the stored row, encoded as docs/audit.md says.
    pub leaf: String,
    /// Base64 hashes, bottom first (RFC 9162).
    pub proof: Vec<String>,
    /// The signed checkpoint of `tree_size` entries.
    pub checkpoint: String,
}

/// A consistency proof between two signed checkpoints.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub origin: String,
    pub from: u64,
    pub to: u64,
    pub proof: Vec<String>,
    pub from_checkpoint: String,
    pub to_checkpoint: String,
}

fn b64s(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}

/// The signed checkpoint of exactly `size` entries, or of the newest size
/// (signing one now if the leaf is newer than every checkpoint).
async fn checkpoint_for(
    log: &Log,
    size: Option<u64>,
    at_least: u64,
) -> AppResult<super::store::StoredCheckpoint> {
    if let Some(size) = size {
        return log.store().checkpoint_of_size(size).await?.ok_or_else(|| {
            AppError::coded(
                "size",
                FieldCode::UnknownValue,
                "must be the size of a signed checkpoint",
            )
        });
    }
    let mut latest = log.store().latest_checkpoint().await?;
    if latest.as_ref().is_none_or(|c| c.size < at_least) {
        latest = log.checkpoint().await?;
    }
    latest.ok_or_else(|| AppError::not_found("no checkpoint yet"))
}

/// Builds the inclusion proof of `leaf` in the checkpoint of `size`
/// entries (default: the newest, signing one now if the leaf is newer).
///
/// # Errors
/// `validation_failed` for a size that is no checkpoint or does not
/// contain the leaf; `not_found` when the row is gone; storage failures.
pub async fn inclusion(log: &Log, leaf: &LeafRef, size: Option<u64>) -> AppResult<InclusionProof> {
    let cp = checkpoint_for(log, size, leaf.idx + 1).await?;
    if leaf.idx >= cp.size {
        return Err(AppError::coded_with(
            "size",
            FieldCode::Mismatch,
            "the entry is not in that checkpoint",
            &[("other", "leaf".into())],
        ));
    }
    let bytes = log
        .store()
        .leaf_bytes(leaf)
        .await?
        .ok_or_else(|| AppError::not_found("the entry's row is gone"))?;
    let proof = log.store().inclusion_proof(leaf.idx, cp.size).await?;
    Ok(InclusionProof {
        origin: log.settings().origin.clone(),
        leaf_index: leaf.idx,
        tree_size: cp.size,
        source: leaf.source,
        reference: leaf.reference,
        leaf: B64.encode(bytes),
        proof: b64s(&proof),
        checkpoint: cp.note,
    })
}

/// Builds the consistency proof between the checkpoints of `from` and `to`
/// entries (default: the newest).
///
/// # Errors
/// `validation_failed` when a size is no checkpoint or `from > to`.
pub async fn consistency(log: &Log, from: u64, to: Option<u64>) -> AppResult<ConsistencyProof> {
    let old = checkpoint_for(log, Some(from), 0).await?;
    let new = checkpoint_for(log, to, 0).await?;
    if old.size > new.size {
        return Err(AppError::coded_with(
            "from",
            FieldCode::Mismatch,
            "must not be larger than to",
            &[("other", "to".into())],
        ));
    }
    let proof = log.store().consistency_proof(old.size, new.size).await?;
    Ok(ConsistencyProof {
        origin: log.settings().origin.clone(),
        from: old.size,
        to: new.size,
        proof: b64s(&proof),
        from_checkpoint: old.note,
        to_checkpoint: new.note,
    })
}

fn decode_hashes(list: &[String]) -> Result<Vec<Hash>, String> {
    list.iter()
        .map(|h| {
            B64.decode(h)
                .ok()
                .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
                .ok_or_else(|| format!("proof hash {h} is not 32 bytes of base64"))
        })
        .collect()
}

/// What a checked inclusion proof establishes.
#[derive(Debug, Clone, Serialize)]
pub struct Included {
    pub origin: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    /// The checkpoint's signed time (Unix seconds), when present.
    pub signed_at: Option<u64>,
    /// The leaf bytes as text (mpaka rows are UTF-8 apart from lengths).
    pub leaf: String,
}

/// Checks an inclusion proof with only the log's verifier key.
///
/// # Errors
/// A message saying what does not hold.
pub fn check_inclusion(p: &InclusionProof, log: &Verifier) -> Result<Included, String> {
    let signed = open_checkpoint(&p.checkpoint, log).map_err(|e| e.to_string())?;
    if signed.checkpoint.size != p.tree_size {
        return Err("the proof's tree size is not the checkpoint's".into());
    }
    let leaf = B64
        .decode(&p.leaf)
        .map_err(|_| "leaf is not base64".to_owned())?;
    let path = decode_hashes(&p.proof)?;
    merkle::verify_inclusion(
        p.leaf_index,
        p.tree_size,
        &merkle::leaf_hash(&leaf),
        &path,
        &signed.checkpoint.root,
    )
    .map_err(|e| e.to_string())?;
    Ok(Included {
        origin: signed.checkpoint.origin,
        leaf_index: p.leaf_index,
        tree_size: p.tree_size,
        signed_at: signed.time,
        leaf: String::from_utf8_lossy(&leaf).into_owned(),
    })
}

/// Checks a consistency proof with only the log's verifier key.
///
/// # Errors
/// A message saying what does not hold.
pub fn check_consistency(p: &ConsistencyProof, log: &Verifier) -> Result<(), String> {
    let old = open_checkpoint(&p.from_checkpoint, log).map_err(|e| e.to_string())?;
    let new = open_checkpoint(&p.to_checkpoint, log).map_err(|e| e.to_string())?;
    let path = decode_hashes(&p.proof)?;
    merkle::verify_consistency(
        old.checkpoint.size,
        new.checkpoint.size,
        &old.checkpoint.root,
        &new.checkpoint.root,
        &path,
    )
    .map_err(|e| e.to_string())
}
