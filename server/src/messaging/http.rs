//! Messaging over REST, for scripts and other systems: channels, history,
//! publish (idempotent by the required `Idempotency-Key`), presence.

use super::{queries, steps};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Authenticated, Body, IdempotencyKey, Outcome, Written};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use mpaka_protocol::{ChannelGrant, ChannelId, ErrorCode, Event, PostStatus};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `/channels…` and `/presence`, under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/channels", get(list))
        .route("/channels/{channel}/messages", get(history).post(publish))
        .route("/presence", get(presence))
}

fn parse_channel(raw: &str) -> AppResult<ChannelId> {
    raw.parse().map_err(|e: mpaka_protocol::ParseChannelError| {
        AppError::new(ErrorCode::UnknownChannel, e.to_string())
    })
}

async fn list(State(state): State<AppState>, caller: Authenticated) -> Json<Vec<ChannelGrant>> {
    Json(queries::channels(&state, &caller.principal))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    before: Option<u64>,
    limit: Option<u32>,
}

async fn history(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(channel): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> AppResult<Json<Vec<Event>>> {
    let channel = parse_channel(&channel)?;
    Ok(Json(
        queries::history(
            &state,
            &caller.principal,
            &channel,
            query.before,
            query.limit,
        )
        .await?,
    ))
}

/// The body of a REST publish.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct PublishRequest {
    text: String,
    #[serde(default)]
    lang: Option<String>,
    /// When it was written, if offline (RFC 3339).
    #[serde(default)]
    written_at: Option<String>,
}

#[derive(Debug, Serialize)]
struct PublishResponse {
    seq: u64,
    at: String,
    duplicate: bool,
}

impl Outcome for PublishResponse {
    fn is_duplicate(&self) -> bool {
        self.duplicate
    }
}

async fn publish(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(channel): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    Body(request): Body<PublishRequest>,
) -> AppResult<Written<PublishResponse>> {
    let channel = parse_channel(&channel)?;
    let who = Arc::new(caller.principal);
    let published = steps::publish(
        &state,
        who,
        key,
        channel,
        request.text,
        request.lang,
        request.written_at,
    )?
    .await?;
    Ok(Written::created(PublishResponse {
        seq: published.seq,
        at: published.at,
        duplicate: published.duplicate,
    }))
}

async fn presence(
    State(state): State<AppState>,
    caller: Authenticated,
) -> AppResult<Json<Vec<PostStatus>>> {
    Ok(Json(
        queries::post_statuses(&state, &caller.principal).await?,
    ))
}
