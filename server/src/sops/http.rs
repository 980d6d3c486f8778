//! SOPs over REST, under `/api/v1/sops`: the same steps, permissions and
//! error codes as on the socket. Write steps take an optional
//! `Idempotency-Key` header; a retry with the same key gets the first
//! answer (status 200, `duplicate: true`) and changes nothing.

use super::queries;
use super::steps::{self, DraftMode};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Authenticated, Body, IdempotencyKey, OptionalBody, Written};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use mpaka_protocol::FieldCode;
use mpaka_protocol::{
    Sop, SopAckReceipt, SopCoverage, SopDraftInput, SopDraftSaved, SopFormat, SopHistory,
    SopPublishRequest, SopReading, SopReceipt, SopRemindReceipt, SopRemindRequest,
    SopRetireRequest,
};
use serde::Deserialize;

/// The routes, to nest under `/api/v1/sops`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{slug}", get(history))
        .route("/{slug}/draft", put(edit_draft))
        .route("/{slug}/publish", post(publish))
        .route("/{slug}/retire", post(retire))
        .route("/{slug}/diff", get(diff))
        .route("/{slug}/versions/{version}", get(read))
        .route("/{slug}/versions/{version}/ack", post(acknowledge))
        .route("/{slug}/versions/{version}/coverage", get(coverage))
        .route("/{slug}/versions/{version}/remind", post(remind))
}

/// `{version}` in a path: a number, or `current` for the version in force.
fn version_ref(raw: &str) -> AppResult<Option<u32>> {
    if raw == "current" {
        return Ok(None);
    }
    raw.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .map(Some)
        .ok_or_else(|| {
            AppError::coded(
                "version",
                FieldCode::WrongType,
                "a version number (1, 2, …) or `current`",
            )
        })
}

async fn list(State(state): State<AppState>, caller: Authenticated) -> AppResult<Json<Vec<Sop>>> {
    Ok(Json(queries::list(&state, &caller.principal).await?))
}

async fn create(
    State(state): State<AppState>,
    caller: Authenticated,
    key: Option<IdempotencyKey>,
    Body(input): Body<SopDraftInput>,
) -> AppResult<Written<SopDraftSaved>> {
    state.write_limiter.check(caller.user.id)?;
    let saved = steps::save_draft(
        &state,
        &caller.principal,
        key.as_ref().map(IdempotencyKey::as_str),
        input,
        DraftMode::Create,
    )
    .await?;
    Ok(Written::created(saved))
}

async fn history(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(slug): Path<String>,
) -> AppResult<Json<SopHistory>> {
    Ok(Json(
        queries::history(&state, &caller.principal, &slug).await?,
    ))
}

async fn edit_draft(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(slug): Path<String>,
    key: Option<IdempotencyKey>,
    Body(input): Body<SopDraftInput>,
) -> AppResult<Json<SopDraftSaved>> {
    if input.slug != slug {
        return Err(AppError::coded_with(
            "slug",
            FieldCode::Mismatch,
            "must match the SOP in the path",
            &[("other", "path".into())],
        ));
    }
    state.write_limiter.check(caller.user.id)?;
    let saved = steps::save_draft(
        &state,
        &caller.principal,
        key.as_ref().map(IdempotencyKey::as_str),
        input,
        DraftMode::Edit,
    )
    .await?;
    Ok(Json(saved))
}

async fn publish(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(slug): Path<String>,
    key: Option<IdempotencyKey>,
    OptionalBody(request): OptionalBody<SopPublishRequest>,
) -> AppResult<Written<SopReceipt>> {
    state.write_limiter.check(caller.user.id)?;
    let receipt = steps::publish(
        &state,
        &caller.principal,
        key.as_ref().map(IdempotencyKey::as_str),
        &slug,
        request.version,
    )
    .await?;
    Ok(Written::created(receipt))
}

async fn retire(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(slug): Path<String>,
    key: Option<IdempotencyKey>,
    Body(request): Body<SopRetireRequest>,
) -> AppResult<Written<SopReceipt>> {
    state.write_limiter.check(caller.user.id)?;
    let receipt = steps::retire(
        &state,
        &caller.principal,
        key.as_ref().map(IdempotencyKey::as_str),
        &slug,
        &request.reason,
    )
    .await?;
    Ok(Written::created(receipt))
}

#[derive(Debug, Deserialize)]
struct ReadQuery {
    lang: Option<String>,
    #[serde(default)]
    format: SopFormat,
}

async fn read(
    State(state): State<AppState>,
    caller: Authenticated,
    Path((slug, version)): Path<(String, String)>,
    Query(query): Query<ReadQuery>,
) -> AppResult<Json<SopReading>> {
    let version = version_ref(&version)?;
    Ok(Json(
        queries::reading(
            &state,
            &caller.principal,
            &slug,
            version,
            query.lang.as_deref(),
            query.format,
        )
        .await?,
    ))
}

async fn acknowledge(
    State(state): State<AppState>,
    caller: Authenticated,
    Path((slug, version)): Path<(String, String)>,
    key: Option<IdempotencyKey>,
) -> AppResult<Written<SopAckReceipt>> {
    // Acknowledging "current" could acknowledge a version the reader never
    // saw if a new one was published meanwhile: the number is required.
    let version = version_ref(&version)?.ok_or_else(|| {
        AppError::coded(
            "version",
            FieldCode::WrongType,
            "acknowledge a version by its number, as read",
        )
    })?;
    state.write_limiter.check(caller.user.id)?;
    let receipt = steps::acknowledge(
        &state,
        &caller.principal,
        key.as_ref().map(IdempotencyKey::as_str),
        &slug,
        version,
    )
    .await?;
    Ok(Written::created(receipt))
}

async fn coverage(
    State(state): State<AppState>,
    caller: Authenticated,
    Path((slug, version)): Path<(String, String)>,
) -> AppResult<Json<SopCoverage>> {
    let version = version_ref(&version)?;
    Ok(Json(
        queries::coverage(&state, &caller.principal, &slug, version).await?,
    ))
}

async fn remind(
    State(state): State<AppState>,
    caller: Authenticated,
    Path((slug, version)): Path<(String, String)>,
    key: Option<IdempotencyKey>,
    OptionalBody(request): OptionalBody<SopRemindRequest>,
) -> AppResult<Written<SopRemindReceipt>> {
    let version = version_ref(&version)?;
    state.write_limiter.check(caller.user.id)?;
    let receipt = steps::remind(
        &state,
        &caller.principal,
        key.as_ref().map(IdempotencyKey::as_str),
        &slug,
        version,
        &request.message,
    )
    .await?;
    Ok(Written::created(receipt))
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    from: u32,
    to: u32,
    lang: Option<String>,
    /// `json` (default) or `unified` for `diff -u` text.
    #[serde(default)]
    format: Option<String>,
}

async fn diff(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(slug): Path<String>,
    Query(query): Query<DiffQuery>,
) -> AppResult<Response> {
    let diff = queries::diff(
        &state,
        &caller.principal,
        &slug,
        query.from,
        query.to,
        query.lang.as_deref(),
    )
    .await?;
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(diff).into_response()),
        Some("unified") => {
            let (old, new) = split_sides(&diff);
            let text = super::unified(
                &old,
                &new,
                &format!("{slug}@{}/{}", diff.from, diff.lang),
                &format!("{slug}@{}/{}", diff.to, diff.lang),
            );
            Ok(([(header::CONTENT_TYPE, "text/x-diff; charset=utf-8")], text).into_response())
        }
        Some(_) => Err(AppError::coded(
            "format",
            FieldCode::UnknownValue,
            "json or unified",
        )),
    }
}

/// The two texts a structured diff was made from.
fn split_sides(diff: &mpaka_protocol::SopDiff) -> (String, String) {
    use mpaka_protocol::DiffOp;
    let mut old = String::new();
    let mut new = String::new();
    for line in &diff.lines {
        if line.op != DiffOp::Insert {
            old.push_str(&line.text);
            old.push('\n');
        }
        if line.op != DiffOp::Delete {
            new.push_str(&line.text);
            new.push('\n');
        }
    }
    (old, new)
}
