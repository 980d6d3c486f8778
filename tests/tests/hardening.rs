//! Small hardening of the HTTP side (issue 11): API answers are never cached
//! or sniffed, `/metrics` needs its bearer token when one is configured, and
//! the posts list hides the other country's last-seen times.

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

/// The posts list as `username` sees it: slug → last-seen (or null).
async fn last_seen_by(hub: &TestHub, token: &str) -> serde_json::Map<String, serde_json::Value> {
    let (status, posts) = hub.get_json(token, "/api/v1/posts").await;
    assert_eq!(status, 200, "{posts}");
    posts
        .as_array()
        .expect("a list")
        .iter()
        .map(|post| {
            (
                post["slug"].as_str().expect("slug").to_owned(),
                post["last_seen_at"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_coordinator_sees_last_seen_times_only_of_posts_presence_shows_them() {
    let hub = TestHub::start().await;
    let _burundian = hub.connect("mugina.officer").await;
    let _tanzanian = hub.connect("manyovu.officer").await;
    let bi = hub.login("bi.coordinator").await.access_token;
    let tz = hub.login("tz.coordinator").await.access_token;
    // Presence reaches the posts table within `presence_flush_ms`: wait
    // until each coordinator sees their own country's post online.
    let (bi_view, tz_view) = loop {
        let bi_view = last_seen_by(&hub, &bi).await;
        let tz_view = last_seen_by(&hub, &tz).await;
        if !bi_view["mugina"].is_null() && !tz_view["manyovu"].is_null() {
            break (bi_view, tz_view);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    // Both posts are listed, but not the other country's last-seen time.
    assert!(bi_view["manyovu"].is_null(), "{bi_view:?}");
    assert!(tz_view["mugina"].is_null(), "{tz_view:?}");
}
