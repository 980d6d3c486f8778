//! Login throttling tried as a password guesser and a sprayer would: past a
//! few failures an account, or a client address, waits (even with the right
//! password) for a doubling, capped time, told by `too_many_attempts` and
//! `retry_after_ms`; the wait always ends; an admin sees and clears blocks;
//! `X-Forwarded-For` is believed only from `trusted_proxies`; failed logins
//! reach the audit trail, with the client's address, in batches.

use mpaka_server::config::Seconds;
use mpaka_tests::{TestHub, PATIENCE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// One login, answered as a client would see it. A 503 `unavailable` (the
/// password-hashing queue is full while other tests log in too) is no
/// answer about the password: like any client, wait as told and try again.
async fn login_as(
    hub: &TestHub,
    username: &str,
    password: &str,
    from: Option<&str>,
) -> (u16, Value, Option<String>) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut request = hub
            .http()
            .post(hub.url("/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }));
        if let Some(from) = from {
            request = request.header("x-forwarded-for", from);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.json().await.unwrap_or(Value::Null);
        if status == 503 && body["code"] == "unavailable" && Instant::now() < deadline {
            let wait = body["retry_after_ms"].as_u64().unwrap_or(200);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            continue;
        }
        return (status, body, retry_after);
    }
}

#[tokio::test]
async fn a_guessed_account_waits_even_with_the_right_password_but_never_forever() {
    let hub = TestHub::start_with(|s| {
        s.auth.login_free_failures_per_account = 3;
        s.auth.login_backoff_max_secs = Seconds::of(2);
    })
    .await;
    let right = hub.password("mugina.officer");
    for _ in 0..3 {
        let (status, body, _) = login_as(&hub, "mugina.officer", "guess guess guess", None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("invalid_credentials"))
        );
    }
    // Blocked now: the right password gets the same answer as a guess.
    let (status, body, retry_after) = login_as(&hub, "Mugina.Officer", &right, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_attempts")),
        "{body}"
    );
    let wait = body["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(wait > 0 && wait <= 1000, "{wait}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Other accounts are not affected by one account's block.
    let (status, _, _) = login_as(
        &hub,
        "manyovu.officer",
        &hub.password("manyovu.officer"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Keep guessing: the wait doubles, but is capped and always ends.
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    for _ in 0..5 {
        let (status, body, _) = login_as(&hub, "mugina.officer", "guess again", None).await;
        if status == 429 {
            let wait = body["retry_after_ms"].as_u64().unwrap();
            assert!(wait <= 2000, "capped at login_backoff_max_secs: {wait}");
            tokio::time::sleep(Duration::from_millis(wait + 50)).await;
        }
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body, _) = login_as(&hub, "mugina.officer", &right, None).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 429, "{body}");
        assert!(
            Instant::now() < deadline,
            "the right password never got through"
        );
        tokio::time::sleep(Duration::from_millis(
            body["retry_after_ms"].as_u64().unwrap() + 50,
        ))
        .await;
    }
}

#[tokio::test]
async fn a_sprayer_is_slowed_down_by_address_and_forwarded_headers_count_only_from_trusted_proxies()
{
    let hub = TestHub::start_with(|s| {
        s.auth.login_free_failures_per_address = 4;
        s.auth.login_backoff_max_secs = Seconds::of(60);
        s.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let users = [
        "mugina.officer",
        "manyovu.officer",
        "gisuru.officer",
        "kobero.officer",
    ];
    for user in users {
        let (status, _, _) = login_as(&hub, user, "Summer2026!", Some("203.0.113.7")).await;
        assert_eq!(status, 401);
    }
    // The sprayer's address is blocked, even for a right password…
    let (status, body, _) = login_as(
        &hub,
        "tz.coordinator",
        &hub.password("tz.coordinator"),
        Some("203.0.113.7"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
    // …and a client that merely appends a made-up hop is still itself.
    let (status, _, _) = login_as(
        &hub,
        "tz.coordinator",
        &hub.password("tz.coordinator"),
        Some("198.51.100.1, 203.0.113.7"),
    )
    .await;
    assert_eq!(status, 429);
    // Another address through the same proxy is not.
    let (status, _, _) = login_as(
        &hub,
        "tz.coordinator",
        &hub.password("tz.coordinator"),
        Some("203.0.113.8"),
    )
    .await;
    assert_eq!(status, 200);

    // An admin sees the block, and clears it.
    let admin = hub.login("admin").await;
    let (status, blocks) = hub
        .get_json(&admin.access_token, "/api/v1/login-blocks")
        .await;
    assert_eq!(status, 200, "{blocks}");
    let blocked = blocks
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["kind"] == "address" && b["key"] == "203.0.113.7")
        .expect("the sprayer's address is listed");
    assert!(blocked["retry_after_ms"].as_u64().unwrap() > 0);
    let officer = hub.login("mugina.officer").await;
    let (status, _) = hub
        .get_json(&officer.access_token, "/api/v1/login-blocks")
        .await;
    assert_eq!(status, 403);
    let status = hub
        .http()
        .delete(hub.url("/api/v1/login-blocks/address/203.0.113.7"))
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let (status, _, _) = login_as(
        &hub,
        "tz.coordinator",
        &hub.password("tz.coordinator"),
        Some("203.0.113.7"),
    )
    .await;
    assert_eq!(status, 200);

    // The failures are in the audit trail with the client's address.
    let auditor = hub.login("auditor").await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, entries) = hub
            .get_json(
                &auditor.access_token,
                "/api/v1/audit?action=auth.login_failed&limit=100",
            )
            .await;
        let from_sprayer = entries
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["detail"]["client"] == "203.0.113.7")
            .count();
        if from_sprayer == 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "failed logins not audited: {entries}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, logins) = hub
        .get_json(
            &auditor.access_token,
            "/api/v1/audit?action=auth.login&limit=100",
        )
        .await;
    assert!(
        logins
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["detail"]["client"] == "203.0.113.8"),
        "{logins}"
    );
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_do_not_dodge_the_throttle() {
    let hub = TestHub::start_with(|s| s.auth.login_free_failures_per_address = 3).await;
    for (i, user) in ["a", "b", "c"].iter().enumerate() {
        let from = format!("192.0.2.{i}");
        let (status, _, _) = login_as(&hub, user, "wrong wrong", Some(&from)).await;
        assert_eq!(status, 401);
    }
    let (status, _, _) = login_as(&hub, "d", "wrong wrong", Some("192.0.2.99")).await;
    assert_eq!(
        status, 429,
        "a made-up X-Forwarded-For got a fresh allowance"
    );
}
