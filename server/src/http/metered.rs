//! Counts every HTTP answer by route template (`/api/v1/alerts/{id}/ack`,
//! never the raw path, so ids do not multiply the series), method and
//! status, and times it. Requests no route matched (the console's files,
//! unknown paths) are counted under the route `fallback`.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// The middleware; add with `from_fn_with_state` on the outer router.
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "fallback".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.http_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
