//! Administration over REST: users and posts (admin role), and the audit
//! trail (auditor role).

use super::{Actor, PostSpec, UserSpec};
use crate::error::AppResult;
use crate::http::extract::{Authenticated, Body};
use crate::state::AppState;
use crate::store::{AuditEntry, AuditVerification, Post};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use mpaka_protocol::{Country, Role, UserInfo};
use serde::{Deserialize, Serialize};

/// `/users…`, `/posts` and `/audit…`, under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{username}/disable", post(disable_user))
        .route("/users/{username}/enable", post(enable_user))
        .route("/users/{username}/role", post(set_role))
        .route("/users/{username}/password", post(reset_password))
        .route(
            "/users/{username}/second-factor",
            axum::routing::delete(reset_second_factor),
        )
        .route("/posts", get(list_posts).post(create_post))
        .route("/audit", get(audit))
        .route("/audit/verify", get(verify_audit))
}

/// The caller as the author of an audited change.
fn actor(caller: &Authenticated) -> Actor<'_> {
    Actor::User {
        id: caller.user.id,
        username: &caller.user.username,
        client: caller.principal.client,
    }
}

#[derive(Debug, Serialize)]
struct UserRow {
    #[serde(flatten)]
    info: UserInfo,
    disabled: bool,
}

async fn list_users(
    State(state): State<AppState>,
    caller: Authenticated,
) -> AppResult<Json<Vec<UserRow>>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(
        state
            .store
            .users()
            .await?
            .into_iter()
            .map(|u| UserRow {
                info: u.info(),
                disabled: u.disabled,
            })
            .collect(),
    ))
}

async fn create_user(
    State(state): State<AppState>,
    caller: Authenticated,
    Body(spec): Body<UserSpec>,
) -> AppResult<(StatusCode, Json<UserInfo>)> {
    caller.require(&[Role::Admin])?;
    let user = super::create_user(&state.store, actor(&caller), spec).await?;
    Ok((StatusCode::CREATED, Json(user.info())))
}

async fn disable_user(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(username): Path<String>,
) -> AppResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    let user = super::find_user(&state.store, &username).await?;
    super::set_disabled(&state.store, actor(&caller), user.id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset_password(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(username): Path<String>,
    Body(reset): Body<mpaka_protocol::PasswordReset>,
) -> AppResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    let user = super::find_user(&state.store, &username).await?;
    super::reset_password(&state.store, actor(&caller), user.id, reset.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset_second_factor(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(username): Path<String>,
) -> AppResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    let user = super::find_user(&state.store, &username).await?;
    super::reset_second_factor(&state.store, actor(&caller), user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enable_user(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(username): Path<String>,
) -> AppResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    let user = super::find_user(&state.store, &username).await?;
    super::set_disabled(&state.store, actor(&caller), user.id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct RoleChange {
    role: Role,
    #[serde(default)]
    country: Option<Country>,
    #[serde(default)]
    post: Option<String>,
}

async fn set_role(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(username): Path<String>,
    Body(change): Body<RoleChange>,
) -> AppResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    let user = super::find_user(&state.store, &username).await?;
    super::set_role(
        &state.store,
        actor(&caller),
        user.id,
        change.role,
        change.country,
        change.post.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_posts(
    State(state): State<AppState>,
    caller: Authenticated,
) -> AppResult<Json<Vec<Post>>> {
    caller.require(&[Role::Admin, Role::Coordinator])?;
    let directory = state.store.directory().await?;
    Ok(Json(
        directory
            .posts
            .values()
            .map(|post| visible_post(&caller.principal, post, &directory))
            .collect(),
    ))
}

/// `post` as `who` may see it: its last-seen time only when `who` may read
/// the post's channel, the rule presence follows (`GET /api/v1/presence`),
/// so a coordinator of one country does not learn when the other
/// country's posts were last online.
fn visible_post(
    who: &crate::access::Principal,
    post: &Post,
    directory: &crate::store::Directory,
) -> Post {
    let channel = mpaka_protocol::ChannelId::Post(post.slug.clone());
    let mut post = post.clone();
    if !crate::access::channel_access(who, &channel, directory).read {
        post.last_seen_at = None;
    }
    post
}

async fn create_post(
    State(state): State<AppState>,
    caller: Authenticated,
    Body(spec): Body<PostSpec>,
) -> AppResult<(StatusCode, Json<Post>)> {
    caller.require(&[Role::Admin])?;
    let post = super::create_post(&state.store, actor(&caller), spec).await?;
    Ok((StatusCode::CREATED, Json(post)))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    after: i64,
    action: Option<String>,
    limit: Option<u32>,
}

async fn audit(
    State(state): State<AppState>,
    caller: Authenticated,
    Query(query): Query<AuditQuery>,
) -> AppResult<Json<Vec<AuditEntry>>> {
    caller.require(&[Role::Auditor])?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        state
            .store
            .audit_entries(query.after, query.action.as_deref(), limit)
            .await?,
    ))
}

/// The audit chain's verdict, now a view of the log verifier: intact only
/// when both the chain and the verifiable log are; `log` has the details.
async fn verify_audit(
    State(state): State<AppState>,
    caller: Authenticated,
) -> AppResult<Json<serde_json::Value>> {
    caller.require(&[Role::Auditor])?;
    let chain: AuditVerification = state.store.verify_audit().await?;
    let log = crate::vlog::http::run_verifier(&state).await?;
    let first_log_audit = log
        .problems
        .iter()
        .filter(|p| p.source == Some(crate::vlog::leaf::Source::Audit))
        .filter_map(|p| p.reference)
        .min();
    let first_broken_id = match (chain.first_broken_id, first_log_audit) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(Json(serde_json::json!({
        "entries": chain.entries,
        "intact": chain.intact && log.intact,
        "first_broken_id": first_broken_id,
        "log": log,
    })))
}
