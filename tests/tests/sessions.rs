//! Server-side sessions tried as a token thief would: a stolen access token
//! dies with its session (logout, refresh-token reuse, an account change),
//! sockets close when their session ends or their token expires unless they
//! re-authenticate in-band, and sessions have idle and absolute lifetimes.
//! Run on SQLite and, where storage matters, PostgreSQL; the cluster-wide
//! behaviour (two nodes) is in `server/tests/sessions_nodes.rs`.

use mpaka_protocol::{ClientFrame, ServerFrame, TokenResponse};
use mpaka_server::config::Seconds;
use mpaka_tests::{uuid_like, Backend, Ending, TestHub};
use serde_json::{json, Value};
use std::time::Duration;

async fn hub_on(
    backend: Backend,
    adjust: impl FnOnce(&mut mpaka_server::Settings),
) -> Option<TestHub> {
    match backend {
        Backend::Sqlite => Some(TestHub::start_with(adjust).await),
        Backend::Postgres => TestHub::start_on(Backend::Postgres, adjust).await,
    }
}

async fn post(hub: &TestHub, path: &str, body: Value) -> (u16, Value) {
    let response = hub
        .http()
        .post(hub.url(path))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn refresh(hub: &TestHub, token: &str) -> (u16, Value) {
    post(
        hub,
        "/api/v1/auth/refresh",
        json!({ "refresh_token": token }),
    )
    .await
}

fn pair(body: &Value) -> TokenResponse {
    serde_json::from_value(body.clone()).expect("a token pair")
}

/// The audit actions recorded so far, oldest first.
async fn audit_actions(hub: &TestHub) -> Vec<Value> {
    let auditor = hub.login("auditor").await;
    let (status, body) = hub
        .get_json(&auditor.access_token, "/api/v1/audit?limit=500")
        .await;
    assert_eq!(status, 200, "{body}");
    body["entries"]
        .as_array()
        .or_else(|| body.as_array())
        .cloned()
        .unwrap_or_default()
}

async fn logout_ends_the_session_everywhere(backend: Backend) {
    let Some(hub) = hub_on(backend, |_| {}).await else {
        return;
    };
    let tokens = hub.login("mugina.officer").await;
    let mut socket = hub.connect_with_token(&tokens.access_token).await.unwrap();
    // A second login of the same user is another session and survives.
    let other = hub.login("mugina.officer").await;
    let mut other_socket = hub.connect_with_token(&other.access_token).await.unwrap();

    let (status, _) = post(
        &hub,
        "/api/v1/auth/logout",
        json!({ "refresh_token": tokens.refresh_token }),
    )
    .await;
    assert_eq!(status, 204);
    // From the commit on, the access token is refused, on REST and socket.
    let (status, body) = hub.get_json(&tokens.access_token, "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );
    let error = hub
        .connect_with_token(&tokens.access_token)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.starts_with("invalid_token"), "{error}");
    // Its open socket is closed with 4003.
    assert_eq!(socket.ending().await, Ending::Closed(Some(4003)));
    // The other session is untouched.
    let reply = other_socket
        .request(&ClientFrame::Ping { id: uuid_like() })
        .await;
    assert!(matches!(reply, ServerFrame::Pong { .. }), "{reply:?}");
    let (status, _) = hub.get_json(&other.access_token, "/api/v1/me").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn logout_refuses_the_access_token_and_closes_its_sockets_on_sqlite() {
    logout_ends_the_session_everywhere(Backend::Sqlite).await;
}

#[tokio::test]
async fn logout_refuses_the_access_token_and_closes_its_sockets_on_postgres() {
    logout_ends_the_session_everywhere(Backend::Postgres).await;
}

async fn refresh_reuse_kills_the_thiefs_tokens(backend: Backend) {
    // Thief and owner share the test's address: no grace for the repeat.
    let Some(hub) = hub_on(backend, |s| s.auth.refresh_grace_secs = 0).await else {
        return;
    };
    let stolen = hub.login("manyovu.officer").await;
    // The thief, holding a copy of the pair, refreshes first and connects.
    let (status, body) = refresh(&hub, &stolen.refresh_token).await;
    assert_eq!(status, 200, "{body}");
    let thief = pair(&body);
    let mut thief_socket = hub.connect_with_token(&thief.access_token).await.unwrap();
    // The victim's client presents the same (now spent) refresh token.
    let (status, body) = refresh(&hub, &stolen.refresh_token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );
    // The whole session is over: the thief's access token, socket and
    // refresh token all stop working at once.
    let (status, body) = hub.get_json(&thief.access_token, "/api/v1/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );
    assert_eq!(thief_socket.ending().await, Ending::Closed(Some(4003)));
    let (status, body) = refresh(&hub, &thief.refresh_token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _) = hub.get_json(&stolen.access_token, "/api/v1/me").await;
    assert_eq!(status, 401);
    // The audit trail names the account whose session was ended.
    let entries = audit_actions(&hub).await;
    let reused: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "auth.refresh_reused")
        .collect();
    assert_eq!(reused.len(), 1, "{entries:?}");
    assert_eq!(reused[0]["actor"], "manyovu.officer");
}

#[tokio::test]
async fn a_replayed_refresh_token_ends_the_thiefs_access_token_and_socket_on_sqlite() {
    refresh_reuse_kills_the_thiefs_tokens(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_replayed_refresh_token_ends_the_thiefs_access_token_and_socket_on_postgres() {
    refresh_reuse_kills_the_thiefs_tokens(Backend::Postgres).await;
}

#[tokio::test]
async fn a_disabled_accounts_refresh_gets_account_disabled_and_is_not_taken_for_theft() {
    let hub = TestHub::start().await;
    let tokens = hub.login("kobero.officer").await;
    let admin = hub.login("admin").await;
    let (status, _) = hub
        .post_json(
            &admin.access_token,
            "/api/v1/users/kobero.officer/disable",
            &json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = refresh(&hub, &tokens.refresh_token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("account_disabled")),
        "{body}"
    );
    let entries = audit_actions(&hub).await;
    assert!(
        !entries.iter().any(|e| e["action"] == "auth.refresh_reused"),
        "a disabled account's refresh was audited as theft: {entries:?}"
    );
}

#[tokio::test]
async fn a_refresh_token_from_before_a_role_change_no_longer_refreshes() {
    let hub = TestHub::start().await;
    let before = hub.login("gisuru.officer").await;
    let admin = hub.login("admin").await;
    let (status, _) = hub
        .post_json(
            &admin.access_token,
            "/api/v1/users/gisuru.officer/role",
            &json!({ "role": "coordinator", "country": "BI" }),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = refresh(&hub, &before.refresh_token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    // A fresh login gets the new role.
    assert_eq!(
        hub.login("gisuru.officer").await.user.role.as_str(),
        "coordinator"
    );
}

#[tokio::test]
async fn a_socket_closes_when_its_token_expires_unless_it_reauthenticates() {
    let hub = TestHub::start_with(|s| s.auth.access_ttl_secs = Seconds::of(4)).await;
    let first = hub.login("mugina.officer").await;
    assert!(first.expires_in <= 4);
    let mut idle = hub.connect_with_token(&first.access_token).await.unwrap();
    let mut renewed = hub.connect_with_token(&first.access_token).await.unwrap();

    // A token of another session of the same user is not accepted in-band.
    let other = hub.login("mugina.officer").await;
    let reply = renewed
        .request(&ClientFrame::Reauth {
            id: uuid_like(),
            token: other.access_token.clone(),
        })
        .await;
    match reply {
        ServerFrame::Error { error, .. } => assert_eq!(error.code.as_str(), "invalid_token"),
        other => panic!("expected an error, got {other:?}"),
    }
    // A fresh token of the same session is (issued later, so it expires
    // later: token times are whole seconds).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = refresh(&hub, &first.refresh_token).await;
    assert_eq!(status, 200);
    let second = pair(&body);
    let reply = renewed
        .request(&ClientFrame::Reauth {
            id: uuid_like(),
            token: second.access_token.clone(),
        })
        .await;
    assert!(matches!(reply, ServerFrame::Reauthed { .. }), "{reply:?}");

    // The socket that did not renew is told why and closed with 4001.
    assert_eq!(idle.ending().await, Ending::Closed(Some(4001)));
    assert!(
        idle.inbox().iter().any(|f| matches!(f,
            ServerFrame::Error { error, .. } if error.code.as_str() == "token_expired")),
        "{:?}",
        idle.inbox()
    );
    // The renewed one outlived its first token (the idle socket's close
    // above came after that token's expiry).
    let reply = renewed
        .request(&ClientFrame::Ping { id: uuid_like() })
        .await;
    assert!(matches!(reply, ServerFrame::Pong { .. }), "{reply:?}");
    // And it too closes when the token it renewed to expires.
    assert_eq!(renewed.ending().await, Ending::Closed(Some(4001)));
}

#[tokio::test]
async fn an_idle_session_ends_and_refreshing_cannot_revive_it() {
    let hub = TestHub::start_with(|s| s.auth.session_idle_secs = Seconds::of(1)).await;
    let tokens = hub.login("mugina.officer").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = refresh(&hub, &tokens.refresh_token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("token_expired")),
        "{body}"
    );
}

#[tokio::test]
async fn an_active_session_still_ends_at_its_absolute_lifetime() {
    let hub = TestHub::start_with(|s| s.auth.session_max_secs = Seconds::of(3)).await;
    let tokens = hub.login("mugina.officer").await;
    // Neither token outlives the session.
    assert!(tokens.expires_in <= 3, "{}", tokens.expires_in);
    let mut current = tokens;
    let mut refused = None;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, body) = refresh(&hub, &current.refresh_token).await;
        if status != 200 {
            refused = Some((status, body));
            break;
        }
        current = pair(&body);
    }
    let (status, body) = refused.expect("the session ended within its lifetime");
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("token_expired")),
        "{body}"
    );
    let (status, _) = hub.get_json(&current.access_token, "/api/v1/me").await;
    assert_eq!(status, 401);
}
