//! Logging in and out, refreshing tokens, and who am I.
//!
//! Two ways to hold the refresh token: in the JSON body (the CLI and other
//! programs), or, for the web console, in an `HttpOnly; SameSite=Strict`
//! cookie scoped to `/api/v1/auth`, so that no page script can read it. The
//! console asks for the cookie with the `x-mpaka-refresh: cookie` header on
//! login, and the hub reads the cookie only when that header comes again:
//! a header a cross-site page cannot add without a CORS preflight the hub
//! never grants (see docs/security.md).

use super::extract::{Authenticated, Body};
use crate::client_addr::ClientAddr;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mpaka_protocol::FieldCode;
use mpaka_protocol::{
    ErrorCode, LoginRequest, RefreshRequest, SecondFactorChallenge, SecondFactorConfirm,
    SecondFactorEnrolment, SecondFactorLogin, TokenResponse, UserInfo,
};
use std::net::{IpAddr, SocketAddr};

/// The cookie holding the console's refresh token.
const REFRESH_COOKIE: &str = "mpaka_refresh";
/// Where the browser sends it: the refresh and logout routes only.
const COOKIE_PATH: &str = "/api/v1/auth";
/// The header by which the console asks for (and presents) the cookie.
const COOKIE_MODE: &str = "x-mpaka-refresh";

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    Body(request): Body<LoginRequest>,
) -> AppResult<Response> {
    let result = state
        .auth
        .login(&request.username, request.password, client)
        .await;
    if let Err(error) = &result {
        state.metrics.auth_failed(error.body().code);
    }
    Ok(answer(&state, peer, &headers, result?))
}

/// `POST /api/v1/auth/second-factor`: the code step of a login.
pub async fn second_factor(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    Body(request): Body<SecondFactorLogin>,
) -> AppResult<Response> {
    let result = state
        .auth
        .second_factor_login(&request.challenge, &request.code, client)
        .await;
    if let Err(error) = &result {
        state.metrics.auth_failed(error.body().code);
    }
    Ok(answer(&state, peer, &headers, result?))
}

/// `POST /api/v1/auth/second-factor/enrol`: a login whose role requires a
/// second factor starts enrolling one.
pub async fn second_factor_enrol(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Body(request): Body<SecondFactorChallenge>,
) -> AppResult<Json<SecondFactorEnrolment>> {
    let enrolment = state
        .auth
        .start_enrolment(crate::auth::Enroller::Challenge(&request.challenge), client)
        .await?;
    Ok(Json(enrolment))
}

/// `POST /api/v1/auth/second-factor/confirm`: the enrolment's first code;
/// the login completes with the recovery codes and the tokens.
pub async fn second_factor_confirm(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    Body(request): Body<SecondFactorConfirm>,
) -> AppResult<Response> {
    if request.challenge.is_empty() {
        return Err(AppError::coded(
            "challenge",
            FieldCode::Required,
            "required",
        ));
    }
    let mut enabled = state
        .auth
        .confirm_enrolment(
            crate::auth::Enroller::Challenge(&request.challenge),
            &request.code,
            client,
        )
        .await?;
    let Some(mut tokens) = enabled.tokens.take() else {
        return Ok(Json(enabled).into_response());
    };
    if !cookie_mode(&headers) {
        enabled.tokens = Some(tokens);
        return Ok(Json(enabled).into_response());
    }
    let refresh = std::mem::take(&mut tokens.refresh_token);
    enabled.tokens = Some(tokens);
    let secure = https(peer, &headers, &state.settings.auth.trusted_proxies);
    let mut response = Json(enabled).into_response();
    set_cookie(
        &mut response,
        &refresh,
        state.settings.auth.refresh_ttl_secs.get(),
        secure,
    );
    Ok(response)
}

pub async fn refresh(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Body(request): Body<RefreshRequest>,
) -> AppResult<Response> {
    let token = presented(&headers, request)?;
    let tokens = state.auth.refresh(&token, client).await?;
    Ok(answer(&state, peer, &headers, tokens))
}

pub async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Body(request): Body<RefreshRequest>,
) -> AppResult<Response> {
    let token = presented(&headers, request)?;
    state.auth.logout(&token, client).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if cookie_mode(&headers) {
        let secure = https(peer, &headers, &state.settings.auth.trusted_proxies);
        set_cookie(&mut response, "", 0, secure);
    }
    Ok(response)
}

pub async fn me(caller: Authenticated) -> Json<UserInfo> {
    Json(caller.user.info())
}

fn cookie_mode(headers: &HeaderMap) -> bool {
    headers
        .get(COOKIE_MODE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cookie"))
}

/// The refresh token of a refresh or logout: the body's, or else (only with
/// the cookie-mode header) the cookie's.
fn presented(headers: &HeaderMap, request: RefreshRequest) -> AppResult<String> {
    if !request.refresh_token.is_empty() {
        return Ok(request.refresh_token);
    }
    if cookie_mode(headers) {
        if let Some(token) = cookie(headers, REFRESH_COOKIE) {
            return Ok(token.to_owned());
        }
        return Err(AppError::new(
            ErrorCode::InvalidToken,
            "no refresh token cookie; log in again",
        ));
    }
    let mut body =
        mpaka_protocol::ErrorBody::new(ErrorCode::ValidationFailed, "refresh_token: required");
    body.fields = vec![mpaka_protocol::FieldError::new(
        "refresh_token",
        mpaka_protocol::FieldCode::Required,
        "required",
    )];
    Err(AppError::Client(body))
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// The token pair as JSON; in cookie mode the refresh token goes into the
/// cookie and leaves the body.
fn answer(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    mut tokens: TokenResponse,
) -> Response {
    if !cookie_mode(headers) {
        return Json(tokens).into_response();
    }
    let refresh = std::mem::take(&mut tokens.refresh_token);
    let secure = https(peer, headers, &state.settings.auth.trusted_proxies);
    let mut response = Json(tokens).into_response();
    set_cookie(
        &mut response,
        &refresh,
        state.settings.auth.refresh_ttl_secs.get(),
        secure,
    );
    response
}

fn set_cookie(response: &mut Response, value: &str, max_age_secs: u64, secure: bool) {
    let cookie = format!(
        "{REFRESH_COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Whether the browser reached the hub over HTTPS: the hub itself speaks
/// plain HTTP, so only a trusted proxy's `X-Forwarded-Proto` or
/// `Forwarded: proto=` can say so.
fn https(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> bool {
    let ip = match peer.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer.ip(), IpAddr::V4),
        ip @ IpAddr::V4(_) => ip,
    };
    if !trusted.contains(&ip) {
        return false;
    }
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([';', ',']))
        .any(|p| p.trim().eq_ignore_ascii_case("proto=https"));
    forwarded_proto || forwarded
}
