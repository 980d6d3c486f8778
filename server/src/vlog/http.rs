//! REST adapter of the verifiable log (`/api/v1/log/…`): the latest
//! checkpoint in C2SP text, earlier ones, inclusion and consistency proofs,
//! the verifier's report, and the witness endpoint.

use super::leaf::Source;
use super::proof;
use super::proof::{ConsistencyProof, InclusionProof};
use super::verify::{self, Report};
use crate::error::{AppError, AppResult};
use crate::http::extract::Authenticated;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mpaka_protocol::FieldCode;
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
            return Err(AppError::coded_with(
                "event",
                FieldCode::Mismatch,
                "give exactly one of event, audit or leaf",
                &[("other", "audit".into())],
            ))
        }
    };
    let leaf = leaf.ok_or_else(|| AppError::not_found("no such log entry"))?;
    Ok(Json(proof::inclusion(&state.log, &leaf, q.size).await?))
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
    Ok(Json(proof::consistency(&state.log, q.from, q.to).await?))
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
                W::BadProof(m) => AppError::field("proof", m),
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
