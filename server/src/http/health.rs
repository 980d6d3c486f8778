//! `/healthz` (the process answers), `/readyz` (this node can read and
//! write its storage and is not shutting down) and `/metrics` (Prometheus
//! text format; behind a bearer token when `auth.metrics_token` is set).

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The longest `/readyz` waits for the database: a stalled link makes the
/// node not ready, never a hanging probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down".into());
    }
    let not_ready = |why: String| {
        tracing::warn!(why, "not ready");
        (StatusCode::SERVICE_UNAVAILABLE, why)
    };
    match tokio::time::timeout(PROBE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return not_ready(format!("storage unreachable: {error}")),
        Err(_) => return not_ready("storage unreachable: no answer within 2 s".into()),
    }
    let readiness = state.store.write_readiness();
    let Some(problem) = readiness.problem else {
        return (StatusCode::OK, "ready".into());
    };
    if problem.starts_with("free space") {
        return not_ready(format!("cannot write: {problem}"));
    }
    // The last write failed: find out whether writing works again.
    match tokio::time::timeout(PROBE_TIMEOUT, state.store.probe_write()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready".into()),
        Ok(Err(_)) | Err(_) => not_ready(format!("cannot write: {problem}")),
    }
}

pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.settings.auth.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Compared as digests, so the time taken says nothing about the token.
        if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.expose().as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need the bearer token of auth.metrics_token",
            )
                .into_response();
        }
    }
    let storage = state.store.write_readiness();
    state.metrics.storage(
        storage.free_bytes,
        storage.problem.is_none(),
        storage.refusals,
        storage.failures,
    );
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
