//! Witnessing, after the C2SP tlog-witness protocol: this hub offers each
//! new checkpoint to its configured witnesses with a consistency proof from
//! the last size that witness cosigned, and stores their cosignatures; and
//! it can itself witness other logs (`log.witness_for`), cosigning a
//! checkpoint only when it is signed by that log's key and consistent with
//! the last one it cosigned for that origin. Two countries' hubs become
//! each other's witness by configuration alone.
//!
//! Request body of `add-checkpoint`: `old <size>` line, one base64 proof
//! hash per line, a blank line, then the checkpoint note. Answers: 200 with
//! the cosignature line(s); 409 with the size the witness holds (the
//! caller retries from there); 404 unknown log; 403 bad signature; 422 a
//! proof that does not check; 400 malformed.

use super::merkle::{self, Hash};
use super::note::{open_checkpoint, Note, Verifier};
use super::store::{self as log_store, StoredCheckpoint};
use super::{Log, WitnessPeer};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// Why a witness refuses a checkpoint (mapped to HTTP statuses).
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("this hub does not witness log {0}")]
    UnknownLog(String),
    #[error("the checkpoint signature does not verify: {0}")]
    BadSignature(String),
    #[error("old size {claimed} does not match the witnessed size {held}")]
    Conflict { claimed: u64, held: u64 },
    #[error("the consistency proof does not check: {0}")]
    BadProof(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A parsed `add-checkpoint` body.
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    pub note: String,
}

/// Renders an `add-checkpoint` body.
pub fn render_request(old: u64, proof: &[Hash], note: &str) -> String {
    let mut out = format!("old {old}\n");
    for h in proof {
        out.push_str(&B64.encode(h));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(note);
    out
}

/// Parses an `add-checkpoint` body.
///
/// # Errors
/// [`WitnessError::Malformed`].
pub fn parse_request(body: &str) -> Result<AddCheckpoint, WitnessError> {
    let bad = |m: &str| WitnessError::Malformed(m.to_owned());
    let (head, note) = body
        .split_once("\n\n")
        .ok_or_else(|| bad("no blank line before the checkpoint"))?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| bad("first line must be `old <size>`"))?;
    let proof = lines
        .map(|l| {
            B64.decode(l)
                .ok()
                .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
                .ok_or_else(|| bad("a proof line is not a base64 hash"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if proof.len() > 64 {
        return Err(bad("too many proof lines"));
    }
    Ok(AddCheckpoint {
        old,
        proof,
        note: note.to_owned(),
    })
}

/// This hub as a witness: checks and cosigns, returns the cosignature line.
///
/// # Errors
/// See [`WitnessError`].
pub async fn add_checkpoint(log: &Log, body: &str) -> Result<String, WitnessError> {
    let request = parse_request(body)?;
    let note = Note::parse(&request.note).map_err(|e| WitnessError::Malformed(e.to_string()))?;
    let origin = note.text.split('\n').next().unwrap_or_default().to_owned();
    let verifier = log
        .witnessed()
        .iter()
        .find(|v| v.name == origin)
        .ok_or_else(|| WitnessError::UnknownLog(origin.clone()))?;
    let signed = open_checkpoint(&request.note, verifier)
        .map_err(|e| WitnessError::BadSignature(e.to_string()))?;
    let cp = &signed.checkpoint;
    // Serialised with every other write: two offers cannot both advance.
    let mut tx = log.store().write().await?;
    let held = log_store::witness_state(tx.conn(), &origin).await?;
    let held_size = held.as_ref().map_or(0, |h| h.size);
    if request.old != held_size {
        return Err(WitnessError::Conflict {
            claimed: request.old,
            held: held_size,
        });
    }
    if cp.size < held_size {
        return Err(WitnessError::BadProof(
            "the checkpoint is smaller than the one held".into(),
        ));
    }
    if let Some(held) = &held {
        merkle::verify_consistency(held.size, cp.size, &held.root, &cp.root, &request.proof)
            .map_err(|e| WitnessError::BadProof(e.to_string()))?;
    }
    log_store::set_witness_state(tx.conn(), &origin, cp.size, &cp.root, &request.note).await?;
    tx.commit().await?;
    let now = (crate::store::now_ms() / 1000) as u64;
    let line = log.signer().cosign(&signed.note.text, now).render();
    tracing::info!(%origin, size = cp.size, "cosigned a checkpoint as witness");
    Ok(line)
}

/// Offers `checkpoint` to `peer`, retrying once from the size the witness
/// says it holds; stores the cosigned note.
///
/// # Errors
/// The witness is unreachable, refuses, or answers with a cosignature that
/// does not verify with its pinned key.
pub async fn offer(
    log: &Log,
    peer: &WitnessPeer,
    checkpoint: &StoredCheckpoint,
) -> anyhow::Result<()> {
    let witness = Verifier::parse(&peer.vkey)?;
    let url = format!("{}/add-checkpoint", peer.url.trim_end_matches('/'));
    let mut old = log
        .store()
        .cosignatures(1000)
        .await?
        .into_iter()
        .filter(|(size, name, _)| name == &witness.name && *size <= checkpoint.size)
        .map(|(size, _, _)| size)
        .max()
        .unwrap_or(0);
    for _ in 0..2 {
        let proof = log.store().consistency_proof(old, checkpoint.size).await?;
        let response = log
            .http()
            .post(&url)
            .header("content-type", "text/plain; charset=utf-8")
            .body(render_request(old, &proof, &checkpoint.note))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if status == reqwest::StatusCode::CONFLICT {
            old = text.trim().parse()?;
            continue;
        }
        anyhow::ensure!(
            status.is_success(),
            "witness answered {status}: {}",
            text.trim()
        );
        let mut note = Note::parse(&checkpoint.note)?;
        for line in text.lines().filter(|l| !l.is_empty()) {
            let cosig = Note::parse(&format!("x\n\n{line}\n"))?;
            note.signatures.extend(cosig.signatures);
        }
        witness.verify_cosignature(&note)?;
        log.store()
            .add_cosignature(checkpoint.size, &witness.name, &note.render())
            .await?;
        tracing::info!(witness = %witness.name, size = checkpoint.size, "checkpoint cosigned");
        return Ok(());
    }
    anyhow::bail!("the witness kept answering conflict")
}
