//! REST adapter of the verifiable log (`/api/v1/log/…`): the latest
//! checkpoint in C2SP text, earlier ones, inclusion and consistency proofs,
//! the verifier's report, and the witness endpoint.

use super::leaf::Source;
use super::merkle::Hash;
use super::verify::{self, Report};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::http::Authenticated;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use mpaka_protocol::{ErrorCode, Role};
use serde::{Deserialize, Serialize};

/// Routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/checkpoints", get(checkpoints))
        .route("/log/key", get(key))
        .route("/log/proof/inclusion", get(inclusion))
        .route("/log/proof/consistency", get(consistency))
        .route("/log/verify", get(verify_log))
        .route("/log/witness/add-checkpoint", post(add_checkpoint))
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// The newest checkpoint (signing one first if there is none yet).
async fn checkpoint(State(state): State<AppState>, _caller: Authenticated) -> AppResult<Response> {
    let latest = match state.store.latest_checkpoint().await? {
        Some(c) => Some(c),
        None => state.log.checkpoint().await?,
    };
    let latest = latest.ok_or_else(|| AppError::not_found("no checkpoint yet"))?;
    Ok(text(latest.note))
}

/// The verifier key of this log (`name+keyid+base64`).
async fn key(State(state): State<AppState>, _caller: Authenticated) -> Response {
    text(format!("{}\n", state.log.verifier().vkey()))
}

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct CheckpointItem {
    id: i64,
    size: u64,
    at: String,
    note: String,
}

async fn checkpoints(
    State(state): State<AppState>,
    _caller: Authenticated,
    Query(page): Query<Page>,
) -> AppResult<Json<Vec<CheckpointItem>>> {
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let list = state.store.checkpoints(page.after, limit).await?;
    Ok(Json(
        list.into_iter()
            .map(|c| CheckpointItem {
                id: c.id,
                size: c.size,
                at: crate::store::format_ms(c.at_ms),
                note: c.note,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
struct InclusionQuery {
    event: Option<i64>,
    audit: Option<i64>,
    leaf: Option<u64>,
    size: Option<u64>,
}

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
    state: &AppState,
    size: Option<u64>,
    at_least: u64,
) -> AppResult<super::store::StoredCheckpoint> {
    if let Some(size) = size {
        return state
            .store
            .checkpoint_of_size(size)
            .await?
            .ok_or_else(|| AppError::field("size", "must be the size of a signed checkpoint"));
    }
    let mut latest = state.store.latest_checkpoint().await?;
    if latest.as_ref().is_none_or(|c| c.size < at_least) {
        latest = state.log.checkpoint().await?;
    }
    latest.ok_or_else(|| AppError::not_found("no checkpoint yet"))
}

async fn inclusion(
    State(state): State<AppState>,
    caller: Authenticated,
    Query(q): Query<InclusionQuery>,
) -> AppResult<Json<InclusionProof>> {
    let leaf = match (q.event, q.audit, q.leaf) {
        (Some(seq), None, None) => {
            let scope = state
                .store
                .event_scope(seq)
                .await?
                .ok_or_else(|| AppError::not_found("no such event"))?;
            let directory = state.hub.directory();
            if !crate::access::may_receive(
                &caller.principal,
                &scope.0,
                scope.1.as_ref(),
                &directory,
            ) && caller.user.role != Role::Auditor
            {
                // Same answer as a missing event: existence is not leaked.
                return Err(AppError::not_found("no such event"));
            }
            state.store.leaf_of(Source::Event, seq).await?
        }
        (None, Some(id), None) => {
            caller.require(&[Role::Auditor])?;
            state.store.leaf_of(Source::Audit, id).await?
        }
        (None, None, Some(idx)) => {
            caller.require(&[Role::Auditor])?;
            state.store.leaf_at(idx).await?
        }
        _ => {
            return Err(AppError::field(
                "event",
                "give exactly one of event, audit or leaf",
            ))
        }
    };
    let leaf = leaf.ok_or_else(|| AppError::not_found("no such log entry"))?;
    let cp = checkpoint_for(&state, q.size, leaf.idx + 1).await?;
    if leaf.idx >= cp.size {
        return Err(AppError::field(
            "size",
            "the entry is not in that checkpoint",
        ));
    }
    let bytes = state
        .store
        .leaf_bytes(&leaf)
        .await?
        .ok_or_else(|| AppError::not_found("the entry's row is gone"))?;
    let proof = state.store.inclusion_proof(leaf.idx, cp.size).await?;
    Ok(Json(InclusionProof {
        origin: state.log.settings().origin.clone(),
        leaf_index: leaf.idx,
        tree_size: cp.size,
        source: leaf.source,
        reference: leaf.reference,
        leaf: B64.encode(bytes),
        proof: b64s(&proof),
        checkpoint: cp.note,
    }))
}

#[derive(Debug, Deserialize)]
struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

async fn consistency(
    State(state): State<AppState>,
    _caller: Authenticated,
    Query(q): Query<ConsistencyQuery>,
) -> AppResult<Json<ConsistencyProof>> {
    let from = checkpoint_for(&state, Some(q.from), 0).await?;
    let to = checkpoint_for(&state, q.to, 0).await?;
    if from.size > to.size {
        return Err(AppError::field("from", "must not be larger than to"));
    }
    let proof = state.store.consistency_proof(from.size, to.size).await?;
    Ok(Json(ConsistencyProof {
        origin: state.log.settings().origin.clone(),
        from: from.size,
        to: to.size,
        proof: b64s(&proof),
        from_checkpoint: from.note,
        to_checkpoint: to.note,
    }))
}

/// Checkpoints kept outside the database: the append-only directory.
pub(crate) fn directory_checkpoints(state: &AppState) -> Vec<verify::CheckpointText> {
    let Some(dir) = &state.log.settings().checkpoint_dir else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "checkpoint"))
        .filter_map(|e| {
            std::fs::read_to_string(e.path())
                .ok()
                .map(|text| verify::CheckpointText {
                    from: format!("directory:{}", e.file_name().to_string_lossy()),
                    text,
                })
        })
        .collect()
}

/// Runs the verifier against this hub's key, its stored checkpoints and
/// those of the append-only directory.
///
/// # Errors
/// A database failure.
pub async fn run_verifier(state: &AppState) -> AppResult<Report> {
    let extra = directory_checkpoints(state);
    Ok(verify::verify(&state.store, &state.log.verifier(), &extra).await?)
}

async fn verify_log(
    State(state): State<AppState>,
    caller: Authenticated,
) -> AppResult<Json<Report>> {
    caller.require(&[Role::Auditor])?;
    Ok(Json(run_verifier(&state).await?))
}

/// The witness endpoint: authenticated by the log's own signature, not by
/// a user token (C2SP tlog-witness).
async fn add_checkpoint(State(state): State<AppState>, body: String) -> Response {
    use super::witness::WitnessError as W;
    match super::witness::add_checkpoint(&state.log, &body).await {
        Ok(line) => (StatusCode::OK, text(line)).into_response(),
        Err(W::Conflict { held, .. }) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{held}\n"),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "refused a checkpoint to witness");
            let e = match error {
                W::Malformed(m) => AppError::new(ErrorCode::BadFrame, m),
                W::UnknownLog(m) => {
                    AppError::not_found(format!("this hub does not witness log {m}"))
                }
                W::BadSignature(m) => AppError::forbidden(m),
                W::BadProof(m) => AppError::new(ErrorCode::InvalidState, m),
                W::Store(e) => AppError::Store(e),
                W::Conflict { held, .. } => AppError::new(
                    ErrorCode::InvalidState,
                    format!("the witness holds size {held}"),
                ),
            };
            e.into_response()
        }
    }
}
