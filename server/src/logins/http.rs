//! Admin REST routes over the login throttle of the node answering:
//! `GET /api/v1/login-blocks` lists the counted keys (blocked first),
//! `DELETE /api/v1/login-blocks/{kind}/{key}` forgets one (`kind` is
//! `account` or `address`), audited as `auth.login_block_cleared`; and
//! password changes, which check the current password as a login would:
//! `POST /api/v1/me/password` (the caller's other sessions end) and
//! `POST /api/v1/auth/password` (no token, for an account whose login
//! answers `password_change_required`; all its sessions end); and the
//! caller's own second factor: `GET /api/v1/me/second-factor` (status),
//! `POST /api/v1/me/second-factor` (start enrolling) and
//! `POST /api/v1/me/second-factor/confirm` (a code; the recovery codes).

use super::guard::Block;
use super::ClientAddr;
use crate::error::{AppError, AppResult};
use crate::http::extract::{Authenticated, Body};
use crate::state::AppState;
use crate::store::AuditEntry;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use mpaka_protocol::Role;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login-blocks", get(list))
        .route("/login-blocks/{kind}/{key}", delete(clear))
        .route("/me/password", post(change_own_password))
        .route("/auth/password", post(change_password_without_token))
        .route(
            "/me/second-factor",
            get(second_factor_status).post(start_enrolment),
        )
        .route("/me/second-factor/confirm", post(confirm_enrolment))
}

async fn second_factor_status(
    State(state): State<AppState>,
    caller: Authenticated,
) -> AppResult<Json<mpaka_protocol::SecondFactorStatus>> {
    Ok(Json(state.auth.second_factor_status(&caller.user).await?))
}

async fn start_enrolment(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    caller: Authenticated,
) -> AppResult<Json<mpaka_protocol::SecondFactorEnrolment>> {
    Ok(Json(
        state
            .auth
            .start_enrolment(crate::auth::Enroller::User(&caller.user), client)
            .await?,
    ))
}

async fn confirm_enrolment(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    caller: Authenticated,
    Body(confirm): Body<mpaka_protocol::SecondFactorConfirm>,
) -> AppResult<Json<mpaka_protocol::SecondFactorEnabled>> {
    Ok(Json(
        state
            .auth
            .confirm_enrolment(
                crate::auth::Enroller::User(&caller.user),
                &confirm.code,
                client,
            )
            .await?,
    ))
}

async fn change_own_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    caller: Authenticated,
    headers: axum::http::HeaderMap,
    Body(change): Body<mpaka_protocol::PasswordChange>,
) -> AppResult<StatusCode> {
    // The caller's own session stays; `Authenticated` has checked the token.
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let session = state.auth.authenticate_session(token).await?.session;
    state
        .auth
        .change_password(
            &caller.user.username,
            change.current_password,
            change.new_password,
            client,
            Some(&session),
            false,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_password_without_token(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Body(change): Body<mpaka_protocol::AccountPasswordChange>,
) -> AppResult<StatusCode> {
    state
        .auth
        .change_password(
            &change.username,
            change.current_password,
            change.new_password,
            client,
            None,
            true,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(State(state): State<AppState>, caller: Authenticated) -> AppResult<Json<Vec<Block>>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(state.auth.guard().blocks_everywhere().await?))
}

async fn clear(
    State(state): State<AppState>,
    caller: Authenticated,
    Path((kind, key)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    if !state.auth.guard().clear_everywhere(&kind, &key).await? {
        return Err(AppError::not_found(format!(
            "no login count for {kind} {key}"
        )));
    }
    let mut tx = state.store.write().await?;
    tx.audit(AuditEntry::new(
        caller.principal.audit_actor(),
        "auth.login_block_cleared",
        format!("{kind}:{key}"),
        serde_json::json!({}),
    ))
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
