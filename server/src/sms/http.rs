//! The SMS bridge over REST: the caller's own settings under `/me/sms`,
//! the SMS of one alert for coordinators, the outbox for admins, and the
//! two routes Kannel calls (incoming SMS, delivery reports), guarded by
//! the shared secret and, if configured, the gateway's address.

use super::inbound::{self, Incoming, Outcome};
use super::steps::{self, PhoneRequest, PinRequest, PreferencesRequest, SmsProfile, VerifyRequest};
use super::store::{self as sql, OutRow};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Authenticated, Body};
use crate::logins::ClientAddr;
use crate::state::AppState;
use crate::store::now_ms;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use mpaka_protocol::{ErrorCode, Role};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The SMS routes, to be nested under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/sms", get(profile))
        .route("/me/sms/phone", put(register_phone))
        .route("/me/sms/verify", post(verify_phone))
        .route("/me/sms/preferences", put(preferences))
        .route("/me/sms/pin", put(pin))
        .route("/alerts/{id}/sms", get(of_alert))
        .route("/sms/outbox", get(outbox))
        .route("/sms/kannel/inbound", get(kannel_inbound))
        .route("/sms/kannel/dlr", get(kannel_dlr))
}

async fn profile(
    State(state): State<AppState>,
    caller: Authenticated,
) -> AppResult<Json<SmsProfile>> {
    Ok(Json(steps::profile(&state, &caller.principal).await?))
}

async fn register_phone(
    State(state): State<AppState>,
    caller: Authenticated,
    Body(request): Body<PhoneRequest>,
) -> AppResult<(StatusCode, Json<SmsProfile>)> {
    state.write_limiter.check(caller.user.id)?;
    let profile = steps::register_phone(&state, &caller.principal, request).await?;
    Ok((StatusCode::ACCEPTED, Json(profile)))
}

async fn verify_phone(
    State(state): State<AppState>,
    caller: Authenticated,
    Body(request): Body<VerifyRequest>,
) -> AppResult<Json<SmsProfile>> {
    Ok(Json(
        steps::verify_phone(&state, &caller.principal, request).await?,
    ))
}

async fn preferences(
    State(state): State<AppState>,
    caller: Authenticated,
    Body(request): Body<PreferencesRequest>,
) -> AppResult<Json<SmsProfile>> {
    Ok(Json(
        steps::set_preferences(&state, &caller.principal, request).await?,
    ))
}

async fn pin(
    State(state): State<AppState>,
    caller: Authenticated,
    Body(request): Body<PinRequest>,
) -> AppResult<Json<SmsProfile>> {
    Ok(Json(
        steps::set_pin(&state, &caller.principal, request).await?,
    ))
}

/// One SMS as coordinators and admins see it (the number is cut to its
/// last digits, the text is left out: it is in the alert).
#[derive(Debug, Clone, Serialize)]
pub struct SmsState {
    pub id: i64,
    pub purpose: String,
    pub user_id: Option<i64>,
    pub phone_ends: String,
    pub state: String,
    pub attempts: i64,
    pub segments: i64,
    pub encoding: String,
    pub error: Option<String>,
    pub created_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    pub delivered_at_ms: Option<i64>,
}

impl From<OutRow> for SmsState {
    fn from(row: OutRow) -> Self {
        let tail: Vec<char> = row.phone.chars().rev().take(3).collect();
        SmsState {
            id: row.id,
            purpose: row.purpose,
            user_id: row.user_id,
            phone_ends: tail.into_iter().rev().collect(),
            state: row.state,
            attempts: row.attempts,
            segments: row.segments,
            encoding: row.encoding,
            error: row.error,
            created_at_ms: row.created_at,
            sent_at_ms: row.sent_at,
            delivered_at_ms: row.delivered_at,
        }
    }
}

/// The SMS sent about one alert and where each stands: coordinators of
/// either country of the alert's corridor.
async fn of_alert(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<SmsState>>> {
    caller.require(&[Role::Coordinator])?;
    let mut conn = state.store.reader().await?;
    let missing = || AppError::not_found(format!("no alert {id}"));
    let row = crate::alerts::store::load(&mut conn, &id)
        .await?
        .ok_or_else(missing)?;
    if !crate::alerts::policy::may_see(
        &caller.principal,
        &row.alert.corridor,
        &state.hub.directory(),
    ) {
        return Err(missing());
    }
    let rows = sql::of_alert(&mut conn, &id).await?;
    Ok(Json(rows.into_iter().map(SmsState::from).collect()))
}

/// The most recent SMS, for administrators.
async fn outbox(
    State(state): State<AppState>,
    caller: Authenticated,
) -> AppResult<Json<Vec<SmsState>>> {
    caller.require(&[Role::Admin])?;
    let mut conn = state.store.reader().await?;
    let rows = sql::recent(&mut conn, 200).await?;
    Ok(Json(rows.into_iter().map(SmsState::from).collect()))
}

/// Checks the gateway's call: SMS on, the secret, and the address.
fn check_gateway(
    state: &AppState,
    secret: Option<&str>,
    client: Option<&ClientAddr>,
) -> AppResult<()> {
    let settings = &state.settings.sms;
    if !settings.enabled {
        return Err(AppError::new(
            ErrorCode::Unavailable,
            "SMS are not enabled on this hub",
        ));
    }
    let expected = settings
        .callback_secret
        .as_ref()
        .map(|s| s.expose())
        .unwrap_or("");
    // Compared as digests, so the time taken says nothing about the secret.
    let given = Sha256::digest(secret.unwrap_or("").as_bytes());
    if expected.is_empty() || given != Sha256::digest(expected.as_bytes()) {
        tracing::warn!("SMS gateway call with a wrong secret refused");
        return Err(AppError::new(
            ErrorCode::InvalidToken,
            "wrong gateway secret",
        ));
    }
    if !settings.gateway_addresses.is_empty()
        && !client.is_some_and(|c| settings.gateway_addresses.contains(&c.0))
    {
        return Err(AppError::forbidden("this address is not the SMS gateway"));
    }
    Ok(())
}

/// What Kannel's `get-url` passes (see deploy/kannel/kannel.conf.template).
#[derive(Debug, Deserialize)]
struct InboundQuery {
    secret: Option<String>,
    from: String,
    #[serde(default)]
    text: String,
    id: Option<String>,
    ts: Option<String>,
}

/// An incoming SMS from Kannel. The answer goes through the outbox, so the
/// body is empty (Kannel's `omit-empty`).
async fn kannel_inbound(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    Query(query): Query<InboundQuery>,
) -> AppResult<Response> {
    check_gateway(&state, query.secret.as_deref(), client.as_deref())?;
    let outcome = inbound::receive(
        &state,
        Incoming {
            sender: query.from,
            text: query.text,
            gateway_id: query.id,
            sent_at: query.ts,
        },
    )
    .await?;
    let word = match outcome {
        Outcome::Accepted(_) => "accepted",
        Outcome::Refused(_) => "refused",
        Outcome::Duplicate => "duplicate",
    };
    Ok((StatusCode::OK, [("x-mpaka-sms", word)], "").into_response())
}

#[derive(Debug, Deserialize)]
struct DlrQuery {
    secret: Option<String>,
    id: i64,
    attempt: String,
    #[serde(rename = "type")]
    kind: i64,
}

/// A delivery report from Kannel.
async fn kannel_dlr(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    Query(query): Query<DlrQuery>,
) -> AppResult<StatusCode> {
    check_gateway(&state, query.secret.as_deref(), client.as_deref())?;
    let mut tx = state.store.write().await?;
    let new_state =
        sql::delivery_report(tx.conn(), query.id, &query.attempt, query.kind, now_ms()).await?;
    tx.commit().await?;
    match new_state.as_deref() {
        Some("delivered") if query.kind == 1 => state.metrics.sms_event("delivered"),
        Some("failed") if matches!(query.kind, 2 | 16) => state.metrics.sms_event("failed"),
        _ => {}
    }
    tracing::debug!(sms = query.id, kind = query.kind, state = ?new_state, "delivery report");
    Ok(StatusCode::OK)
}
