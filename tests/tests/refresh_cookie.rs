//! The console's refresh token lives in an HttpOnly cookie, tried over real
//! HTTP: asked for with `x-mpaka-refresh: cookie`, read only with that
//! header again (a cross-site form cannot add it), `Secure` behind an HTTPS
//! proxy, cleared on logout; programs keep the token in the body. And the
//! refresh grace: the same token presented again at once, from the same
//! address, gets the same new pair instead of ending the session.

use mpaka_tests::TestHub;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{json, Value};

const MODE: (&str, &str) = ("x-mpaka-refresh", "cookie");

fn set_cookie(headers: &HeaderMap) -> String {
    headers
        .get(SET_COOKIE)
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `mpaka_refresh=<value>` part of a Set-Cookie header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_owned()
}

async fn post(
    hub: &TestHub,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, HeaderMap, Value) {
    let mut request = hub.http().post(hub.url(path)).json(&body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn console_login(hub: &TestHub, username: &str) -> (HeaderMap, Value) {
    let (status, headers, body) = post(
        hub,
        "/api/v1/auth/login",
        &[MODE],
        json!({ "username": username, "password": hub.password(username) }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (headers, body)
}

#[tokio::test]
async fn the_console_gets_its_refresh_token_only_as_an_http_only_strict_cookie() {
    let hub = TestHub::start().await;
    let (headers, body) = console_login(&hub, "mugina.officer").await;
    let cookie = set_cookie(&headers);
    assert!(cookie.starts_with("mpaka_refresh="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body["access_token"].is_string());
    assert_eq!(headers["cache-control"], "no-store");

    // Refreshing with the cookie and the header rotates the cookie.
    let first = cookie_pair(&cookie);
    let (status, headers, body) = post(
        &hub,
        "/api/v1/auth/refresh",
        &[MODE, ("cookie", &first)],
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    let second = cookie_pair(&set_cookie(&headers));
    assert_ne!(first, second);

    // The cookie alone, without the header a cross-site page cannot send,
    // is not read.
    let (status, _, body) = post(
        &hub,
        "/api/v1/auth/refresh",
        &[("cookie", &second)],
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("validation_failed"))
    );

    // Logging out ends the session and clears the cookie.
    let (status, headers, _) = post(
        &hub,
        "/api/v1/auth/logout",
        &[MODE, ("cookie", &second)],
        json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let cleared = set_cookie(&headers);
    assert!(
        cleared.starts_with("mpaka_refresh=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let (status, _, body) = post(
        &hub,
        "/api/v1/auth/refresh",
        &[MODE, ("cookie", &second)],
        json!({}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn programs_keep_the_refresh_token_in_the_body_and_get_no_cookie() {
    let hub = TestHub::start().await;
    let (status, headers, body) = post(
        &hub,
        "/api/v1/auth/login",
        &[],
        json!({ "username": "mugina.officer", "password": hub.password("mugina.officer") }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(headers.get(SET_COOKIE).is_none());
    let token = body["refresh_token"].as_str().expect("in the body");
    let (status, headers, body) = post(
        &hub,
        "/api/v1/auth/refresh",
        &[],
        json!({ "refresh_token": token }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.get(SET_COOKIE).is_none());
    assert!(body["refresh_token"].is_string());
}

#[tokio::test]
async fn behind_a_trusted_https_proxy_the_cookie_is_secure() {
    let hub = TestHub::start_with(|s| {
        s.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let (status, headers, _) = post(
        &hub,
        "/api/v1/auth/login",
        &[
            MODE,
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "198.51.100.7"),
        ],
        json!({ "username": "mugina.officer", "password": hub.password("mugina.officer") }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(set_cookie(&headers).contains("; Secure"));
}

#[tokio::test]
async fn a_refresh_token_presented_twice_at_once_gets_the_same_pair_and_keeps_the_session() {
    let hub = TestHub::start().await;
    let (headers, _) = console_login(&hub, "manyovu.officer").await;
    let spent = cookie_pair(&set_cookie(&headers));
    let with_spent = [MODE, ("cookie", spent.as_str())];
    let refresh = || post(&hub, "/api/v1/auth/refresh", &with_spent, json!({}));
    // Two tabs present the same cookie before either has its answer.
    let ((s1, h1, b1), (s2, h2, b2)) = tokio::join!(refresh(), refresh());
    assert_eq!((s1, s2), (200, 200), "{b1} {b2}");
    assert_eq!(b1["access_token"], b2["access_token"]);
    assert_eq!(cookie_pair(&set_cookie(&h1)), cookie_pair(&set_cookie(&h2)));
    // The session lives on: the new pair works and refreshes.
    let access = b1["access_token"].as_str().unwrap();
    let (status, _) = hub.get_json(access, "/api/v1/me").await;
    assert_eq!(status, 200);
    let next = cookie_pair(&set_cookie(&h1));
    let (status, _, body) = post(
        &hub,
        "/api/v1/auth/refresh",
        &[MODE, ("cookie", &next)],
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The first token, presented yet again, follows to the newest pair.
    let (status, _, again) = refresh().await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["access_token"], body["access_token"]);
}
