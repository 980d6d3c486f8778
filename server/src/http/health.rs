//! `/healthz` (the process answers), `/readyz` (this node can read and
//! write its storage and is not shutting down) and `/metrics` (Prometheus
//! text format; behind a bearer token when `auth.metrics_token` is set).

use crate::metrics::{PoolFigures, PostFigures};
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
    refresh_metrics(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Brings the figures kept elsewhere (storage, pools, database counts,
/// the process) into the registry before it is rendered. A database that
/// does not answer within [`PROBE_TIMEOUT`] leaves the last figures.
async fn refresh_metrics(state: &AppState) {
    let metrics = &state.metrics;
    let storage = state.store.write_readiness();
    metrics.storage(
        storage.free_bytes,
        storage.problem.is_none(),
        storage.refusals,
        storage.failures,
    );
    let pools = state.store.pools();
    for (name, pool) in [("read", pools.read), ("write", pools.write)] {
        metrics.pool(
            name,
            PoolFigures {
                connections: pool.connections,
                idle: pool.idle,
                max: pool.max,
                acquire_errors: pool.acquire_errors,
            },
        );
    }
    metrics.listen(pools.listen_connected, pools.listen_reconnects);
    metrics.refresh();
    let counts = async {
        let alerts = crate::alerts::queries::open_counts(state).await;
        let posts = state.store.posts_last_seen().await;
        let online = state.store.presence(crate::hub::PRESENCE_FRESH_MS).await;
        (alerts, posts, online)
    };
    let Ok((alerts, posts, online)) = tokio::time::timeout(PROBE_TIMEOUT, counts).await else {
        tracing::warn!("metrics: the database did not answer within 2 s");
        return;
    };
    match alerts {
        Ok(rows) => {
            let open: Vec<(String, i64)> = rows.iter().map(|(s, n, _)| (s.clone(), *n)).collect();
            let unacked: Vec<(String, i64)> =
                rows.iter().map(|(s, _, n)| (s.clone(), *n)).collect();
            metrics.set_alerts(&open, &unacked);
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot count open alerts"),
    }
    match tokio::time::timeout(PROBE_TIMEOUT, crate::sms::counts(state)).await {
        Ok(Ok(counts)) => metrics.set_sms(&counts),
        Ok(Err(error)) => tracing::warn!(%error, "metrics: cannot count SMS"),
        Err(_) => tracing::warn!("metrics: the database did not answer within 2 s"),
    }
    match (posts, online) {
        (Ok(posts), Ok(online)) => {
            let now = crate::store::now_ms();
            let figures: Vec<PostFigures> = posts
                .into_iter()
                .map(|p| {
                    let is_online = online
                        .iter()
                        .any(|row| row.post.as_deref() == Some(p.post.as_str()));
                    PostFigures {
                        seconds_since_seen: if is_online {
                            0.0
                        } else {
                            (now - p.seen_at_ms) as f64 / 1000.0
                        },
                        online: is_online,
                        post: p.post,
                        country: p.country,
                    }
                })
                .collect();
            metrics.set_posts(&figures);
        }
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(%error, "metrics: cannot read when posts were last seen");
        }
    }
}
