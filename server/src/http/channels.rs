//! Channels over REST, for scripts and other systems: list, history,
//! publish (idempotent by the `Idempotency-Key` header), presence.

use super::{ApiJson, Authenticated};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::ws::{check_rate, check_readable, check_writable, message_body, post_statuses};
use crate::access;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use mpaka_protocol::{ChannelGrant, ChannelId, ErrorCode, Event, PostStatus};
use serde::{Deserialize, Serialize};

fn parse_channel(raw: &str) -> AppResult<ChannelId> {
    raw.parse()
        .map_err(|e: mpaka_protocol::ParseChannelError| AppError::new(ErrorCode::UnknownChannel, e.to_string()))
}

pub async fn list(State(state): State<AppState>, caller: Authenticated) -> Json<Vec<ChannelGrant>> {
    Json(access::readable_channels(&caller.principal, &state.hub.directory()))
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    before: Option<u64>,
    limit: Option<u32>,
}

pub async fn history(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(channel): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> AppResult<Json<Vec<Event>>> {
    let channel = parse_channel(&channel)?;
    let directory = state.hub.directory();
    check_readable(&caller.principal, &channel, &directory)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::field("limit", "must be between 1 and 500"));
    }
    let redact = caller.principal.sees_redacted();
    Ok(Json(
        state
            .store
            .history(&channel, query.before, limit)
            .await?
            .iter()
            .filter(|e| access::may_receive(&caller.principal, &e.channel, e.audience.as_ref(), &directory))
            .map(|e| e.to_wire(redact))
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct PublishRequest {
    text: String,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PublishResponse {
    seq: u64,
    at: String,
    duplicate: bool,
}

pub async fn publish(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(channel): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PublishRequest>,
) -> AppResult<(StatusCode, Json<PublishResponse>)> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| (1..=128).contains(&k.len()))
        .ok_or_else(|| AppError::field("Idempotency-Key", "send a unique Idempotency-Key header (1–128 characters)"))?
        .to_owned();
    let channel = parse_channel(&channel)?;
    check_rate(&state, caller.user.id)?;
    check_writable(&caller.principal, &channel, &state.hub.directory())?;
    let data = message_body(request.text, request.lang)?;
    let published = state
        .committer
        .publish(std::sync::Arc::new(caller.principal), key, channel, data)
        .await?;
    let status = if published.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((
        status,
        Json(PublishResponse {
            seq: published.seq,
            at: published.at,
            duplicate: published.duplicate,
        }),
    ))
}

pub async fn presence(State(state): State<AppState>, caller: Authenticated) -> AppResult<Json<Vec<PostStatus>>> {
    Ok(Json(post_statuses(&state, &caller.principal).await?))
}
