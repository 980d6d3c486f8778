//! Logging in and out, refreshing tokens, and who am I.

use super::extract::{Authenticated, Body};
use crate::error::AppResult;
use crate::logins::ClientAddr;
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use mpaka_protocol::{LoginRequest, RefreshRequest, TokenResponse, UserInfo};
use std::net::SocketAddr;

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(request): Body<LoginRequest>,
) -> AppResult<Json<TokenResponse>> {
    let client = crate::logins::client_addr(peer, &headers, &state.settings.auth.trusted_proxies);
    let result = state
        .auth
        .login(&request.username, request.password, client)
        .await;
    if let Err(error) = &result {
        state.metrics.auth_failed(error.body().code);
    }
    result.map(Json)
}

pub async fn refresh(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Body(request): Body<RefreshRequest>,
) -> AppResult<Json<TokenResponse>> {
    state
        .auth
        .refresh(&request.refresh_token, client)
        .await
        .map(Json)
}

pub async fn logout(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Body(request): Body<RefreshRequest>,
) -> AppResult<StatusCode> {
    state.auth.logout(&request.refresh_token, client).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(caller: Authenticated) -> Json<UserInfo> {
    Json(caller.user.info())
}
