//! The HTTP side: routing of the REST API, health, metrics and the socket.
//! Each feature brings its own routes (`<feature>::http::routes`); this
//! module only nests them and adds the layers every route shares.

pub mod console;
pub mod errors;
pub mod extract;
mod health;
mod metered;
mod serve;
mod session;

pub use serve::{serve, HEADER_READ_TIMEOUT};

use crate::logins::ClientAddr;
use crate::state::AppState;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
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
        .route("/auth/second-factor", post(session::second_factor))
        .route(
            "/auth/second-factor/enrol",
            post(session::second_factor_enrol),
        )
        .route(
            "/auth/second-factor/confirm",
            post(session::second_factor_confirm),
        )
        .route("/auth/refresh", post(session::refresh))
        .route("/auth/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/openapi.json", get(openapi))
        .merge(crate::messaging::http::routes())
        .merge(crate::admin::http::routes())
        .merge(crate::alerts::http::routes())
        .merge(crate::logins::http::routes())
        .merge(crate::vlog::http::routes())
        .merge(crate::sms::http::routes())
        .merge(crate::federation::http::routes())
        .nest("/sops", crate::sops::http::routes())
        .nest("/flows", crate::flows::http::routes())
        .layer(axum::middleware::from_fn(errors::json_errors))
        // API answers carry tokens and personal data: never cached (a route
        // may say otherwise), never sniffed into another content type.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    Router::new()
        .nest("/api/v1", api)
        .route("/ws", get(crate::ws::upgrade))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(console::serve)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metered::count,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let client = request
                    .extensions()
                    .get::<ClientAddr>()
                    .map(|c| c.0.to_string())
                    .unwrap_or_default();
                // The path only: a query string could carry anything.
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = request.uri().path(),
                    client
                )
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_address,
        ))
        .with_state(state)
}

/// Works out the request's client address once (behind a trusted proxy,
/// the forwarded one), for its log span, audit entries and throttling.
async fn client_address(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(client) = ClientAddr::of(request.extensions(), request.headers(), &state) {
        request.extensions_mut().insert(client);
    }
    next.run(request).await
}
