//! Small hardening of the HTTP side (issue 11): API answers are never cached
//! or sniffed, and `/metrics` needs its bearer token when one is configured.

use mpaka_tests::TestHub;
use serde_json::json;

#[tokio::test]
async fn login_refresh_and_api_answers_are_no_store_and_nosniff() {
    let hub = TestHub::start().await;
    let response = hub
        .http()
        .post(hub.url("/api/v1/auth/login"))
        .json(&json!({ "username": "mugina.officer", "password": hub.password("mugina.officer") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let tokens: serde_json::Value = response.json().await.unwrap();
    let response = hub
        .http()
        .post(hub.url("/api/v1/auth/refresh"))
        .json(&json!({ "refresh_token": tokens["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    // Errors too.
    let response = hub.http().get(hub.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn metrics_need_the_configured_bearer_token() {
    let hub = TestHub::start_with(|s| {
        s.auth.metrics_token = Some(mpaka_server::config::Secret::new(
            "scrape-me-if-you-can-0123456789",
        ));
    })
    .await;
    let url = hub.url("/metrics");
    let anonymous = hub.http().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = hub
        .http()
        .get(&url)
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = hub
        .http()
        .get(&url)
        .bearer_auth("scrape-me-if-you-can-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("mpaka_"));
}
