//! The HTTP side: routing of the REST API, health, metrics and the socket.
//! Each feature brings its own routes (`<feature>::http::routes`); this
//! module only nests them and adds the layers every route shares.

pub mod console;
pub mod errors;
pub mod extract;
mod health;
mod session;

use crate::state::AppState;
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
        .route("/openapi.json", get(openapi))
        .merge(crate::messaging::http::routes())
        .merge(crate::admin::http::routes())
        .merge(crate::alerts::http::routes())
        .merge(crate::vlog::http::routes())
        .nest("/sops", crate::sops::http::routes())
        .layer(axum::middleware::from_fn(errors::json_errors));
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
