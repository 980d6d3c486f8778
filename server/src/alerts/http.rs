//! Alerts over REST, for scripts and other systems, under the same rules
//! as the socket: listing, one alert, summaries, every write step (the
//! `Idempotency-Key` header is the idempotency key), CAP 1.2 export of one
//! alert and an Atom feed of open ones, and CAP import.

use super::cap::{self, CapError};
use super::policy;
use super::queries;
use super::steps::{self, Closing};
use crate::error::{AppError, AppResult};
use crate::http::extract::{
    Authenticated, Body, IdempotencyKey, OptionalBody, Outcome, Params, Written,
};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use mpaka_protocol::FieldCode;
use mpaka_protocol::{
    AlertAckRequest, AlertDetail, AlertDraft, AlertPage, AlertPatch, AlertQuery, AlertReceipt,
    AlertSummary, FieldError,
};
use serde::{Deserialize, Serialize};

/// Media type of one CAP document.
pub const CAP_CONTENT_TYPE: &str = "application/cap+xml; charset=utf-8";
/// Media type of the feed of open alerts.
pub const FEED_CONTENT_TYPE: &str = "application/atom+xml; charset=utf-8";

/// The alert routes, to be nested under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list).post(raise))
        .route("/alerts/summary", get(summary))
        .route("/alerts/cap/feed", get(feed))
        .route("/alerts/{id}", get(detail))
        .route("/alerts/{id}/cap", get(cap_document))
        .route("/alerts/{id}/ack", post(acknowledge))
        .route("/alerts/{id}/update", post(update))
        .route("/alerts/{id}/resolve", post(resolve))
        .route("/alerts/{id}/cancel", post(cancel))
        .route("/cap", post(import))
}

/// The key of a step: the header, or a fresh one (a retry without the
/// header is then a new request, refused if the step was already taken).
fn key_or_fresh(key: Option<IdempotencyKey>) -> String {
    key.map_or_else(|| uuid::Uuid::new_v4().to_string(), |k| k.0)
}

async fn list(
    State(state): State<AppState>,
    caller: Authenticated,
    Params(query): Params<AlertQuery>,
) -> AppResult<Json<AlertPage>> {
    Ok(Json(queries::list(&state, &caller.principal, query).await?))
}

async fn raise(
    State(state): State<AppState>,
    caller: Authenticated,
    IdempotencyKey(key): IdempotencyKey,
    Body(draft): Body<AlertDraft>,
) -> AppResult<Written<AlertReceipt>> {
    state.write_limiter.check(caller.user.id)?;
    let receipt = steps::raise(&state, &caller.principal, &key, draft, None).await?;
    Ok(Written::created(receipt))
}

async fn detail(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<AlertDetail>> {
    Ok(Json(queries::get(&state, &caller.principal, &id).await?))
}

async fn summary(
    State(state): State<AppState>,
    caller: Authenticated,
) -> AppResult<Json<Vec<AlertSummary>>> {
    Ok(Json(queries::summary(&state, &caller.principal).await?))
}

async fn acknowledge(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    key: Option<IdempotencyKey>,
    OptionalBody(request): OptionalBody<AlertAckRequest>,
) -> AppResult<Written<AlertReceipt>> {
    state.write_limiter.check(caller.user.id)?;
    let receipt = steps::acknowledge(
        &state,
        &caller.principal,
        &key_or_fresh(key),
        &id,
        request.written_at.as_deref(),
    )
    .await?;
    Ok(Written::applied(receipt))
}

async fn update(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    key: Option<IdempotencyKey>,
    Body(patch): Body<AlertPatch>,
) -> AppResult<Written<AlertReceipt>> {
    state.write_limiter.check(caller.user.id)?;
    let receipt = steps::update(&state, &caller.principal, &key_or_fresh(key), &id, patch).await?;
    Ok(Written::applied(receipt))
}

/// The body of `resolve` and `cancel`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

async fn resolve(
    state: State<AppState>,
    caller: Authenticated,
    id: Path<String>,
    key: Option<IdempotencyKey>,
    body: Body<Reason>,
) -> AppResult<Written<AlertReceipt>> {
    close(state, caller, id, key, body, Closing::Resolve).await
}

async fn cancel(
    state: State<AppState>,
    caller: Authenticated,
    id: Path<String>,
    key: Option<IdempotencyKey>,
    body: Body<Reason>,
) -> AppResult<Written<AlertReceipt>> {
    close(state, caller, id, key, body, Closing::Cancel).await
}

async fn close(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    key: Option<IdempotencyKey>,
    Body(Reason { reason }): Body<Reason>,
    how: Closing,
) -> AppResult<Written<AlertReceipt>> {
    state.write_limiter.check(caller.user.id)?;
    let key = key_or_fresh(key);
    let receipt = steps::close(&state, &caller.principal, &key, &id, how, reason).await?;
    Ok(Written::applied(receipt))
}

async fn cap_document(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let alert = queries::visible(&state, &caller.principal, &id).await?;
    let document = cap::to_cap(&alert, &state.settings.alerts.cap_sender);
    Ok(([(header::CONTENT_TYPE, CAP_CONTENT_TYPE)], document).into_response())
}

async fn feed(State(state): State<AppState>, caller: Authenticated) -> AppResult<Response> {
    let alerts = queries::open(&state, &caller.principal).await?;
    let updated = crate::store::format_ms(crate::store::now_ms());
    let document = cap::cap_feed(&alerts, &state.settings.alerts.cap_sender, &updated);
    Ok(([(header::CONTENT_TYPE, FEED_CONTENT_TYPE)], document).into_response())
}

/// `POST /api/v1/cap?post=…`.
#[derive(Debug, Deserialize)]
struct ImportQuery {
    post: Option<String>,
}

/// The answer to an import: the alert raised, and how the document was read.
#[derive(Debug, Serialize)]
struct Imported {
    #[serde(flatten)]
    receipt: AlertReceipt,
    /// CAP `identifier` and `sender` of the imported document.
    cap_identifier: String,
    cap_sender: String,
    /// Fields taken from the wording of the document rather than from
    /// `mpaka:*` parameters.
    inferred: Vec<&'static str>,
}

/// Imports a CAP 1.2 alert as a new hub alert, raised by the calling
/// coordinator at the post named by `?post=` or by the document's
/// `mpaka:post` parameter. The same document (CAP sender and identifier)
/// imported twice raises one alert.
async fn import(
    State(state): State<AppState>,
    caller: Authenticated,
    Query(target): Query<ImportQuery>,
    key: Option<IdempotencyKey>,
    body: Bytes,
) -> AppResult<Written<Imported>> {
    if !policy::may_import(&caller.principal) {
        return Err(AppError::forbidden(
            "only coordinators may import CAP alerts",
        ));
    }
    state.write_limiter.check(caller.user.id)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::coded("body", FieldCode::WrongType, "must be UTF-8"))?;
    let imported = cap::new_alert_from_cap(text).map_err(cap_error)?;
    let mut draft = imported.draft;
    if target.post.is_some() {
        draft.post = target.post;
    }
    if draft.post.is_none() {
        return Err(AppError::coded(
            "post",
            FieldCode::Required,
            "name the post with ?post=… or an mpaka:post parameter",
        ));
    }
    // A CAP document names itself (sender and identifier): without a
    // header, that name is the key, so the same document raises one alert.
    let key = key.map_or_else(|| cap_key(&imported.sender, &imported.identifier), |k| k.0);
    let source = serde_json::json!({
        "cap_sender": imported.sender, "cap_identifier": imported.identifier,
        "cap_sent": imported.sent, "inferred": imported.inferred,
    });
    let receipt = steps::raise(&state, &caller.principal, &key, draft, Some(source)).await?;
    Ok(Written::created(Imported {
        receipt,
        cap_identifier: imported.identifier,
        cap_sender: imported.sender,
        inferred: imported.inferred,
    }))
}

impl Outcome for Imported {
    fn is_duplicate(&self) -> bool {
        self.receipt.duplicate
    }
}

/// An idempotency key naming one CAP message (sender and identifier).
fn cap_key(sender: &str, identifier: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(sender.as_bytes());
    hasher.update([0]);
    hasher.update(identifier.as_bytes());
    format!("cap:{}", hex::encode(hasher.finalize()))
}

/// Every way a CAP document is refused is `validation_failed`, with the
/// problems as fields; nothing is stored.
fn cap_error(error: CapError) -> AppError {
    let problems: Vec<FieldError> = match &error {
        CapError::TooLarge(_) | CapError::Malformed(_) => vec![FieldError::new(
            "body",
            mpaka_protocol::FieldCode::Invalid,
            error.to_string(),
        )],
        CapError::Invalid(p) | CapError::Unsupported(p) => p.clone(),
    };
    let mut app = AppError::invalid(problems);
    if let AppError::Client(body) = &mut app {
        body.message = error.to_string();
    }
    app
}
