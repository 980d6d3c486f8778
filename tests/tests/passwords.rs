//! The password policy tried as a user and an attacker would (issue 11):
//! weak passwords are refused with a reason, a password change needs the
//! current password and ends the account's other sessions, and an
//! administrator's reset forces a change before the next login.

use mpaka_tests::{Ending, TestHub};
use serde_json::{json, Value};

async fn post(hub: &TestHub, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    let mut request = hub.http().post(hub.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login(hub: &TestHub, username: &str, password: &str) -> (u16, Value) {
    post(
        hub,
        None,
        "/api/v1/auth/login",
        json!({ "username": username, "password": password }),
    )
    .await
}

#[tokio::test]
async fn weak_passwords_are_refused_with_a_reason() {
    let hub = TestHub::start().await;
    let admin = hub.login("admin").await.access_token;
    for weak in ["password12", "1234567890", "amani.officer2026", "short"] {
        let (status, body) = post(
            &hub,
            Some(&admin),
            "/api/v1/users",
            json!({ "username": "amani.officer", "role": "officer", "country": "TZ",
                    "post": "manyovu", "password": weak }),
        )
        .await;
        assert_eq!(status, 422, "{weak}: {body}");
        assert_eq!(body["code"], "weak_password", "{weak}: {body}");
        assert!(
            body["message"].as_str().unwrap_or_default().len() > 20,
            "a reason: {body}"
        );
        assert!(!body.to_string().contains(weak), "the password was echoed");
    }
    let officer = hub.login("mugina.officer").await.access_token;
    let current = hub.password("mugina.officer");
    let (status, body) = post(
        &hub,
        Some(&officer),
        "/api/v1/me/password",
        json!({ "current_password": current, "new_password": "qwertyuiop1" }),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (422, json!("weak_password")),
        "{body}"
    );
    // The current password still works.
    assert_eq!(login(&hub, "mugina.officer", &current).await.0, 200);
}

#[tokio::test]
async fn changing_my_password_needs_the_current_one_and_ends_my_other_sessions() {
    let hub = TestHub::start().await;
    let current = hub.password("mugina.officer");
    let here = hub.login("mugina.officer").await;
    let elsewhere = hub.login("mugina.officer").await;
    let mut elsewhere_socket = hub
        .connect_with_token(&elsewhere.access_token)
        .await
        .unwrap();
    let new = "maize lorry kitenge umbrella";
    // A thief with the access token but not the password gets nowhere.
    let (status, body) = post(
        &hub,
        Some(&here.access_token),
        "/api/v1/me/password",
        json!({ "current_password": "a wrong guess here", "new_password": new }),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (401, json!("invalid_credentials"))
    );
    let (status, body) = post(
        &hub,
        Some(&here.access_token),
        "/api/v1/me/password",
        json!({ "current_password": current, "new_password": new }),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    // The other session is over: its socket closes, its token is refused.
    assert_eq!(elsewhere_socket.ending().await, Ending::Closed(Some(4003)));
    let (status, _) = hub.get_json(&elsewhere.access_token, "/api/v1/me").await;
    assert_eq!(status, 401);
    // This one goes on.
    let (status, _) = hub.get_json(&here.access_token, "/api/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!(login(&hub, "mugina.officer", &current).await.0, 401);
    assert_eq!(login(&hub, "mugina.officer", new).await.0, 200);
    let auditor = hub.login("auditor").await.access_token;
    let (_, entries) = hub
        .get_json(&auditor, "/api/v1/audit?action=user.password_changed")
        .await;
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
    assert_eq!(entries[0]["detail"]["sessions_ended"], 1, "{entries}");
}

#[tokio::test]
async fn an_admin_reset_forces_a_change_before_the_next_login() {
    let hub = TestHub::start().await;
    let officer = hub.login("kobero.officer").await;
    let admin = hub.login("admin").await.access_token;
    let reset = "temporary Kobero key 4417";
    let (status, body) = post(
        &hub,
        Some(&admin),
        "/api/v1/users/kobero.officer/password",
        json!({ "password": reset }),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    // Every session of the account ended.
    let (status, _) = hub.get_json(&officer.access_token, "/api/v1/me").await;
    assert_eq!(status, 401);
    // The right (reset) password gets a stable answer, not tokens.
    let (status, body) = login(&hub, "kobero.officer", reset).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "password_change_required");
    assert!(body.get("access_token").is_none());
    // A wrong password is still just wrong.
    assert_eq!(
        login(&hub, "kobero.officer", "not the reset one").await.0,
        401
    );
    // The user chooses their own, without a token.
    let own = "Kobero Kabanga night shift river";
    let (status, body) = post(
        &hub,
        None,
        "/api/v1/auth/password",
        json!({ "username": "kobero.officer", "current_password": reset, "new_password": own }),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(login(&hub, "kobero.officer", own).await.0, 200);
    assert_eq!(login(&hub, "kobero.officer", reset).await.0, 401);
}
