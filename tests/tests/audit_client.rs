//! The client address on every audit entry a request causes (issue 11):
//! behind a trusted proxy the forwarded address, never the proxy's, on
//! SQLite and PostgreSQL; the chain still verifies.

use mpaka_tests::{Backend, TestHub};
use serde_json::{json, Value};
use std::time::Duration;

async fn hub_on(backend: Backend) -> Option<TestHub> {
    let adjust = |s: &mut mpaka_server::Settings| {
        s.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    };
    match backend {
        Backend::Sqlite => Some(TestHub::start_with(adjust).await),
        Backend::Postgres => TestHub::start_on(Backend::Postgres, adjust).await,
    }
}

/// POSTs `body` to `path` as if through the proxy for `client`.
async fn post_from(
    hub: &TestHub,
    client: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = hub
        .http()
        .post(hub.url(path))
        .header("x-forwarded-for", client)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn entries(hub: &TestHub, auditor: &str, action: &str) -> Vec<Value> {
    let (status, body) = hub
        .get_json(
            auditor,
            &format!("/api/v1/audit?action={action}&limit=1000"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("a list").clone()
}

async fn audit_entries_name_the_forwarded_client(backend: Backend) {
    let Some(hub) = hub_on(backend).await else {
        return;
    };
    let (status, admin) = post_from(
        &hub,
        "203.0.113.20",
        "/api/v1/auth/login",
        None,
        json!({ "username": "admin", "password": hub.password("admin") }),
    )
    .await;
    assert_eq!(status, 200, "{admin}");
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    let (status, _) = post_from(
        &hub,
        "198.51.100.9",
        "/api/v1/users/kobero.officer/disable",
        Some(&admin_token),
        json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = post_from(
        &hub,
        "192.0.2.44",
        "/api/v1/auth/login",
        None,
        json!({ "username": "mugina.officer", "password": "not-the-password" }),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = post_from(
        &hub,
        "203.0.113.21",
        "/api/v1/auth/logout",
        None,
        json!({ "refresh_token": admin["refresh_token"] }),
    )
    .await;
    assert_eq!(status, 204);

    let auditor = hub.login("auditor").await.access_token;
    let client_of = |list: &[Value], target: &str| -> Vec<Value> {
        list.iter()
            .filter(|e| e["target"] == target)
            .map(|e| e["client_addr"].clone())
            .collect()
    };
    let logins = entries(&hub, &auditor, "auth.login").await;
    let admin_id = admin["user"]["id"].as_i64().unwrap_or_default();
    assert!(
        logins
            .iter()
            .any(|e| e["actor"] == "admin" && e["client_addr"] == "203.0.113.20"),
        "admin {admin_id}: {logins:?}"
    );
    let disabled = entries(&hub, &auditor, "user.disabled").await;
    assert_eq!(
        disabled
            .iter()
            .map(|e| e["client_addr"].clone())
            .collect::<Vec<_>>(),
        vec![json!("198.51.100.9")],
        "{disabled:?}"
    );
    let logouts = entries(&hub, &auditor, "auth.logout").await;
    assert!(
        logouts.iter().any(|e| e["client_addr"] == "203.0.113.21"),
        "{logouts:?}"
    );
    // Failed logins are written in batches: wait for the one above.
    let failed = loop {
        let failed = client_of(
            &entries(&hub, &auditor, "auth.login_failed").await,
            "username:mugina.officer",
        );
        if !failed.is_empty() {
            break failed;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(failed, vec![json!("192.0.2.44")]);
    // Nothing names the proxy (the auditor logged in directly, from it).
    let all = entries(&hub, &auditor, "").await;
    assert!(
        all.iter()
            .filter(|e| e["actor"] != "auditor")
            .all(|e| e["client_addr"] != "127.0.0.1"),
        "{all:?}"
    );
    // The address is covered by the chain, and the chain verifies.
    let (status, verdict) = hub.get_json(&auditor, "/api/v1/audit/verify").await;
    assert_eq!(status, 200);
    assert_eq!(verdict["intact"], true, "{verdict}");
}

#[tokio::test]
async fn audit_entries_name_the_forwarded_client_on_sqlite() {
    audit_entries_name_the_forwarded_client(Backend::Sqlite).await;
}

#[tokio::test]
async fn audit_entries_name_the_forwarded_client_on_postgres() {
    audit_entries_name_the_forwarded_client(Backend::Postgres).await;
}
