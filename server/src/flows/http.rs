//! Flow figures over REST, under the same rules as the socket: record and
//! correct reports (`Idempotency-Key` required), series, monthly summary,
//! one report with its versions, surges and their verification, detector
//! sensitivity, and exports (CSV with HXL, XLSX).

use super::{export, queries, steps};
use crate::error::AppResult;
use crate::http::extract::{Authenticated, Body, IdempotencyKey, Params, Written};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use mpaka_protocol::{
    FlowCorrection, FlowDirection, FlowDraft, FlowQuery, FlowReceipt, FlowReport,
    FlowReportHistory, FlowSeries, FlowSummary, FlowSurge, FlowSurgeReceipt, FlowVocabulary,
    Nationality, Transport, VulnerableGroups,
};
use serde::Deserialize;

/// Media type of the CSV export.
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
/// Media type of the XLSX export.
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The flow routes, to be nested under `/api/v1/flows`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/vocabulary", get(vocabulary))
        .route("/reports", get(list).post(record))
        .route("/reports/{id}", get(detail))
        .route("/reports/{id}/correct", post(correct))
        .route("/series", get(series))
        .route("/summary", get(summary))
        .route("/surges", get(surges))
        .route("/surges/{id}/confirm", post(confirm))
        .route("/surges/{id}/dismiss", post(dismiss))
        .route("/sensitivity", put(sensitivity))
        .route("/export.csv", get(export_csv))
        .route("/export.xlsx", get(export_xlsx))
}

async fn vocabulary(State(state): State<AppState>, _caller: Authenticated) -> Json<FlowVocabulary> {
    Json(FlowVocabulary {
        directions: FlowDirection::ALL.to_vec(),
        nationalities: Nationality::ALL.to_vec(),
        transports: Transport::ALL.to_vec(),
        reasons: state.settings.flows.reasons.clone(),
        vulnerable: VulnerableGroups::GROUPS
            .iter()
            .map(|g| (*g).to_owned())
            .collect(),
    })
}

async fn record(
    State(state): State<AppState>,
    caller: Authenticated,
    IdempotencyKey(key): IdempotencyKey,
    Body(draft): Body<FlowDraft>,
) -> AppResult<Written<FlowReceipt>> {
    state.write_limiter.check(caller.user.id)?;
    let receipt = steps::record(&state, &caller.principal, &key, draft).await?;
    Ok(Written::created(receipt))
}

async fn correct(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    Body(correction): Body<FlowCorrection>,
) -> AppResult<Written<FlowReceipt>> {
    state.write_limiter.check(caller.user.id)?;
    let receipt = steps::correct(&state, &caller.principal, &key, &id, correction).await?;
    Ok(Written::applied(receipt))
}

/// `scope`, `from`, `to` of listings and exports.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    scope: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// For the XLSX export: also a `Summary` sheet of this month.
    month: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Authenticated,
    Params(r): Params<Range>,
) -> AppResult<Json<Vec<FlowReport>>> {
    Ok(Json(
        queries::reports(
            &state,
            &caller.principal,
            r.scope,
            r.from.as_deref(),
            r.to.as_deref(),
        )
        .await?,
    ))
}

async fn detail(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> AppResult<Json<FlowReportHistory>> {
    Ok(Json(queries::report(&state, &caller.principal, &id).await?))
}

async fn series(
    State(state): State<AppState>,
    caller: Authenticated,
    Params(q): Params<FlowQuery>,
) -> AppResult<Json<FlowSeries>> {
    Ok(Json(queries::series(&state, &caller.principal, q).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Month {
    scope: Option<String>,
    month: String,
}

async fn summary(
    State(state): State<AppState>,
    caller: Authenticated,
    Params(m): Params<Month>,
) -> AppResult<Json<FlowSummary>> {
    Ok(Json(
        queries::summary(&state, &caller.principal, m.scope, &m.month).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SurgeFilter {
    state: Option<String>,
}

async fn surges(
    State(state): State<AppState>,
    caller: Authenticated,
    Params(f): Params<SurgeFilter>,
) -> AppResult<Json<Vec<FlowSurge>>> {
    Ok(Json(
        queries::surges(&state, &caller.principal, f.state.as_deref()).await?,
    ))
}

async fn confirm(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    key: Option<IdempotencyKey>,
) -> AppResult<Json<FlowSurgeReceipt>> {
    let key = key.map_or_else(|| format!("confirm:{id}"), |k| k.0);
    state.write_limiter.check(caller.user.id)?;
    Ok(Json(
        steps::confirm(&state, &caller.principal, &key, &id).await?,
    ))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

async fn dismiss(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    key: Option<IdempotencyKey>,
    Body(Reason { reason }): Body<Reason>,
) -> AppResult<Json<FlowSurgeReceipt>> {
    let key = key.map_or_else(|| format!("dismiss:{id}"), |k| k.0);
    state.write_limiter.check(caller.user.id)?;
    Ok(Json(
        steps::dismiss(&state, &caller.principal, &key, &id, &reason).await?,
    ))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Sensitivity {
    scope: String,
    threshold: f64,
}

async fn sensitivity(
    State(state): State<AppState>,
    caller: Authenticated,
    Body(s): Body<Sensitivity>,
) -> AppResult<StatusCode> {
    steps::set_threshold(&state, &caller.principal, &s.scope, s.threshold).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn attachment(content_type: &'static str, name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn export_csv(
    State(state): State<AppState>,
    caller: Authenticated,
    Params(r): Params<Range>,
) -> AppResult<Response> {
    let reports = queries::reports(
        &state,
        &caller.principal,
        r.scope,
        r.from.as_deref(),
        r.to.as_deref(),
    )
    .await?;
    let bytes = export::csv(&reports)?;
    Ok(attachment(CSV_CONTENT_TYPE, "mpaka-flows.csv", bytes))
}

async fn export_xlsx(
    State(state): State<AppState>,
    caller: Authenticated,
    Params(r): Params<Range>,
) -> AppResult<Response> {
    let (from, to, summary) = match &r.month {
        Some(month) => {
            let (_, start, end) = queries::month_range(month)?;
            let summary =
                queries::summary(&state, &caller.principal, r.scope.clone(), month).await?;
            (
                Some(crate::store::format_ms(start)),
                Some(crate::store::format_ms(end)),
                Some(summary),
            )
        }
        None => (r.from.clone(), r.to.clone(), None),
    };
    let reports = queries::reports(
        &state,
        &caller.principal,
        r.scope,
        from.as_deref(),
        to.as_deref(),
    )
    .await?;
    let bytes = export::xlsx(&reports, summary.as_ref())?;
    Ok(attachment(XLSX_CONTENT_TYPE, "mpaka-flows.xlsx", bytes))
}
