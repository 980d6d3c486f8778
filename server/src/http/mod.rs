//! The HTTP side: routing of the REST API, health, metrics and the socket.

mod admin;
mod channels;
pub mod console;
mod extract;
mod health;
mod session;

pub use extract::{idempotency_key, ApiJson, Authenticated};

use crate::app::AppState;
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::TraceLayer;

/// Largest REST request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The OpenAPI 3.1 description of this API.
async fn openapi() -> axum::Json<serde_json::Value> {
    axum::Json(mpaka_protocol::openapi())
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(session::login))
        .route("/auth/refresh", post(session::refresh))
        .route("/auth/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/channels", get(channels::list))
        .route(
            "/channels/{channel}/messages",
            get(channels::history).post(channels::publish),
        )
        .route("/presence", get(channels::presence))
        .route("/users", get(admin::list_users).post(admin::create_user))
        .route("/users/{username}/disable", post(admin::disable_user))
        .route("/users/{username}/enable", post(admin::enable_user))
        .route("/users/{username}/role", post(admin::set_role))
        .route("/posts", get(admin::list_posts).post(admin::create_post))
        .route("/audit", get(admin::audit))
        .route("/audit/verify", get(admin::verify_audit))
        .route("/openapi.json", get(openapi))
        .merge(crate::alerts::http::routes())
        .merge(crate::vlog::http::routes())
        .nest("/sops", crate::sops::http::routes());
    Router::new()
        .nest("/api/v1", api)
        .route("/ws", get(crate::ws::upgrade))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(console::serve)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
