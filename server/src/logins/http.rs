//! Admin REST routes over the login throttle of the node answering:
//! `GET /api/v1/login-blocks` lists the counted keys (blocked first),
//! `DELETE /api/v1/login-blocks/{kind}/{key}` forgets one (`kind` is
//! `account` or `address`), audited as `auth.login_block_cleared`.

use super::guard::Block;
use crate::error::{AppError, AppResult};
use crate::http::extract::Authenticated;
use crate::state::AppState;
use crate::store::AuditEntry;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use mpaka_protocol::Role;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login-blocks", get(list))
        .route("/login-blocks/{kind}/{key}", delete(clear))
}

async fn list(State(state): State<AppState>, caller: Authenticated) -> AppResult<Json<Vec<Block>>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(state.auth.guard().blocks()))
}

async fn clear(
    State(state): State<AppState>,
    caller: Authenticated,
    Path((kind, key)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    if !state.auth.guard().clear(&kind, &key) {
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
