//! Logging in and out, refreshing tokens, and who am I.

use super::extract::{Authenticated, Body};
use crate::error::AppResult;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use mpaka_protocol::{LoginRequest, RefreshRequest, TokenResponse, UserInfo};

pub async fn login(
    State(state): State<AppState>,
    Body(request): Body<LoginRequest>,
) -> AppResult<Json<TokenResponse>> {
    let result = state.auth.login(&request.username, request.password).await;
    if let Err(error) = &result {
        state.metrics.auth_failed(error.body().code);
    }
    result.map(Json)
}

pub async fn refresh(
    State(state): State<AppState>,
    Body(request): Body<RefreshRequest>,
) -> AppResult<Json<TokenResponse>> {
    state.auth.refresh(&request.refresh_token).await.map(Json)
}

pub async fn logout(
    State(state): State<AppState>,
    Body(request): Body<RefreshRequest>,
) -> AppResult<StatusCode> {
    state.auth.logout(&request.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(caller: Authenticated) -> Json<UserInfo> {
    Json(caller.user.info())
}
