//! REST adapter of federation: the link endpoint under `/api/v1`.

use crate::state::AppState;
use axum::routing::get;
use axum::Router;

/// Routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/federation/link", get(super::serve::link))
}
