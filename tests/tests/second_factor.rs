//! The TOTP second factor (issue 11), tried as a user and an attacker
//! would over real HTTP, on SQLite and PostgreSQL: enrolment with a QR code
//! and recovery codes, the code step of a login, replayed and wrong codes
//! (counted by the login throttle), expired challenges, a role that
//! requires a second factor, and an administrator's removal.
//!
//! Codes are computed here from the secret by hand (RFC 6238 with
//! HMAC-SHA-1), not with the hub's own code.

use mpaka_protocol::Role;
pub use mpaka_tests::totp::{code_at, step_now};
use mpaka_tests::{Backend, Ending, TestHub};
use serde_json::{json, Value};

#[test]
fn the_hand_made_codes_match_rfc_6238() {
    // Appendix B: the ASCII secret "12345678901234567890", SHA-1.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert_eq!(code_at(secret, 59 / 30), "287082");
    assert_eq!(code_at(secret, 1_111_111_109 / 30), "081804");
    assert_eq!(code_at(secret, 2_000_000_000 / 30), "279037");
}

async fn post(hub: &TestHub, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    let mut request = hub.http().post(hub.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn password_step(hub: &TestHub, username: &str) -> (u16, Value) {
    let mut attempt = 0;
    loop {
        let answer = post(
            hub,
            None,
            "/api/v1/auth/login",
            json!({ "username": username, "password": hub.password(username) }),
        )
        .await;
        // The hashing pool is shared by the tests of this process.
        if answer.0 == 503 && attempt < 20 {
            attempt += 1;
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            continue;
        }
        return answer;
    }
}

/// The challenge of a login that answered `second_factor_required`.
async fn challenge(hub: &TestHub, username: &str) -> String {
    let (status, body) = password_step(hub, username).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("second_factor_required")),
        "{body}"
    );
    assert!(body.get("access_token").is_none(), "{body}");
    body["challenge"].as_str().expect("a challenge").to_owned()
}

async fn code_step(hub: &TestHub, challenge: &str, code: &str) -> (u16, Value) {
    post(
        hub,
        None,
        "/api/v1/auth/second-factor",
        json!({ "challenge": challenge, "code": code }),
    )
    .await
}

/// Enrols `username` from a logged-in session; returns the secret, the
/// step of the confirming code and the recovery codes.
pub async fn enrol(hub: &TestHub, username: &str) -> (String, u64, Vec<String>) {
    let token = hub.login(username).await.access_token;
    let (status, body) = post(hub, Some(&token), "/api/v1/me/second-factor", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let secret = body["secret"].as_str().expect("secret").to_owned();
    let url = body["otpauth_url"].as_str().expect("otpauth_url");
    assert!(
        url.starts_with(&format!("otpauth://totp/mpaka:{username}?")),
        "{url}"
    );
    assert!(url.contains(&format!("secret={secret}")), "{url}");
    assert!(body["qr_svg"].as_str().expect("qr").contains("<svg"));
    // Not yet enabled: a login still needs only the password.
    let (status, _) = password_step(hub, username).await;
    assert_eq!(status, 200);
    // A wrong code does not confirm.
    let step = step_now();
    let wrong = if code_at(&secret, step) == "000000" {
        "000001"
    } else {
        "000000"
    };
    let (status, body) = post(
        hub,
        Some(&token),
        "/api/v1/me/second-factor/confirm",
        json!({ "code": wrong }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_second_factor")),
        "{body}"
    );
    let (status, body) = post(
        hub,
        Some(&token),
        "/api/v1/me/second-factor/confirm",
        json!({ "code": code_at(&secret, step) }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let codes: Vec<String> = body["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().expect("text").to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{body}");
    let (_, status) = hub.get_json(&token, "/api/v1/me/second-factor").await;
    assert_eq!(status["enabled"], true, "{status}");
    assert_eq!(status["recovery_codes_left"], 10, "{status}");
    (secret, step, codes)
}

async fn hub_on(
    backend: Backend,
    adjust: impl FnOnce(&mut mpaka_server::Settings),
) -> Option<TestHub> {
    match backend {
        Backend::Sqlite => Some(TestHub::start_with(adjust).await),
        Backend::Postgres => TestHub::start_on(Backend::Postgres, adjust).await,
    }
}

async fn a_code_is_needed_at_every_login_once_enrolled_and_works_once(backend: Backend) {
    let Some(hub) = hub_on(backend, |_| {}).await else {
        return;
    };
    let user = "bi.coordinator";
    let (secret, step, recovery) = enrol(&hub, user).await;

    // The password alone now gets a challenge, no tokens.
    let first = challenge(&hub, user).await;
    // A guess is refused (and counted).
    let (status, body) = code_step(&hub, &first, "123456").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_second_factor")),
        "{body}"
    );
    // The code that confirmed the enrolment was used: replaying it fails.
    let (status, body) = code_step(&hub, &first, &code_at(&secret, step)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_second_factor")),
        "{body}"
    );
    // Two steps away is outside the ±30 s window.
    let (status, _) = code_step(&hub, &first, &code_at(&secret, step_now() + 2)).await;
    assert_eq!(status, 401);
    // The next step's code works (one step of skew) and gives tokens.
    let next = code_at(&secret, step + 1);
    let (status, tokens) = code_step(&hub, &first, &next).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access token");
    let (status, me) = hub.get_json(access, "/api/v1/me").await;
    assert_eq!((status, me["username"].as_str()), (200, Some(user)));
    // The challenge is spent.
    let (status, body) = code_step(&hub, &first, &next).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("challenge_expired")),
        "{body}"
    );
    // The same code through a new login: a replay, refused.
    let second = challenge(&hub, user).await;
    let (status, body) = code_step(&hub, &second, &next).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_second_factor")),
        "{body}"
    );

    // A recovery code works once, typed in capitals with spaces.
    let typed = recovery[3].to_uppercase().replace('-', " ");
    let (status, body) = code_step(&hub, &second, &typed).await;
    assert_eq!(status, 200, "{body}");
    let third = challenge(&hub, user).await;
    let (status, body) = code_step(&hub, &third, &recovery[3]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_second_factor")),
        "{body}"
    );
    let (status, body) = code_step(&hub, &third, &recovery[4]).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token").to_owned();
    let (_, status) = hub.get_json(&token, "/api/v1/me/second-factor").await;
    assert_eq!(status["recovery_codes_left"], 8, "{status}");
    // Enrolling again while enabled is refused.
    let (status, body) = post(&hub, Some(&token), "/api/v1/me/second-factor", json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invalid_state")),
        "{body}"
    );
    // The password alone cannot replace the password either.
    let (status, body) = post(
        &hub,
        None,
        "/api/v1/auth/password",
        json!({ "username": user, "current_password": hub.password(user),
                "new_password": "Gisuru cassava lorry seventeen" }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );

    // The audit trail names the method, never the secret or a code.
    let auditor = hub.login("auditor").await.access_token;
    let (_, logins) = hub
        .get_json(&auditor, "/api/v1/audit?action=auth.login&limit=1000")
        .await;
    let methods: Vec<&str> = logins
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["detail"]["second_factor"].as_str())
        .collect();
    assert_eq!(
        methods,
        ["totp", "recovery_code", "recovery_code"],
        "{logins}"
    );
    // Failed logins are audited in batches: write the pending one now.
    mpaka_server::logins::flush(hub.state.auth.guard(), &hub.state.store)
        .await
        .expect("flush");
    let (_, all) = hub.get_json(&auditor, "/api/v1/audit?limit=1000").await;
    let text = all.to_string();
    assert!(text.contains("user.second_factor_enabled"));
    assert!(
        text.contains("wrong second factor code"),
        "wrong codes are audited"
    );
    for secret_text in [
        secret.as_str(),
        next.as_str(),
        recovery[3].as_str(),
        first.as_str(),
    ] {
        assert!(
            !text.contains(secret_text),
            "{secret_text} in the audit trail"
        );
    }
}

#[tokio::test]
async fn a_code_is_needed_at_every_login_once_enrolled_and_works_once_on_sqlite() {
    a_code_is_needed_at_every_login_once_enrolled_and_works_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_code_is_needed_at_every_login_once_enrolled_and_works_once_on_postgres() {
    a_code_is_needed_at_every_login_once_enrolled_and_works_once(Backend::Postgres).await;
}

#[tokio::test]
async fn wrong_codes_count_as_failed_logins_and_challenges_expire() {
    let hub = TestHub::start_with(|s| {
        s.auth.login_free_failures_per_account = 3;
    })
    .await;
    let user = "tz.coordinator";
    let (secret, step, _) = enrol(&hub, user).await;
    // The enrolment's wrong code counted once; a success clears it.
    let first = challenge(&hub, user).await;
    for _ in 0..3 {
        let (status, _) = code_step(&hub, &first, "000000").await;
        assert_eq!(status, 401);
    }
    // Blocked now, even with the right code.
    let (status, body) = code_step(&hub, &first, &code_at(&secret, step + 1)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_attempts")),
        "{body}"
    );
    assert!(body["retry_after_ms"].as_u64().unwrap_or(0) > 0, "{body}");
    // And the password step too.
    let (status, _) = password_step(&hub, user).await;
    assert_eq!(status, 429);

    // An unknown challenge, or one past its lifetime, is refused.
    let (status, body) = code_step(&hub, "not-a-challenge", "123456").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("challenge_expired")),
        "{body}"
    );
    let url = hub.database_url();
    sqlx::any::install_default_drivers();
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("database");
    sqlx::query("UPDATE login_challenges SET expires_at = 1")
        .execute(&mut db)
        .await
        .expect("age the challenges");
    assert!(hub.state.auth.guard().clear("account", user));
    let (status, body) = code_step(&hub, &first, &code_at(&secret, step + 1)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("challenge_expired")),
        "{body}"
    );
}

async fn a_role_that_requires_it_may_only_enrol_then_logs_in(backend: Backend) {
    let Some(hub) = hub_on(backend, |s| {
        s.auth.second_factor_roles = vec![Role::Coordinator, Role::Admin, Role::Auditor];
    })
    .await
    else {
        return;
    };
    // Officers are not concerned.
    let (status, _) = password_step(&hub, "mugina.officer").await;
    assert_eq!(status, 200);
    let user = "bi.coordinator";
    let (status, body) = password_step(&hub, user).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("second_factor_enrolment_required")),
        "{body}"
    );
    assert!(body.get("access_token").is_none());
    let challenge = body["challenge"].as_str().expect("challenge").to_owned();
    // The enrolment challenge is no login: it cannot pass the code step.
    let (status, body) = code_step(&hub, &challenge, "123456").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("challenge_expired")),
        "{body}"
    );
    // Confirming before starting is refused.
    let (status, body) = post(
        &hub,
        None,
        "/api/v1/auth/second-factor/confirm",
        json!({ "challenge": challenge, "code": "123456" }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invalid_state")),
        "{body}"
    );
    let (status, enrolment) = post(
        &hub,
        None,
        "/api/v1/auth/second-factor/enrol",
        json!({ "challenge": challenge }),
    )
    .await;
    assert_eq!(status, 200, "{enrolment}");
    let secret = enrolment["secret"].as_str().expect("secret").to_owned();
    let step = step_now();
    let (status, body) = post(
        &hub,
        None,
        "/api/v1/auth/second-factor/confirm",
        json!({ "challenge": challenge, "code": code_at(&secret, step) }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recovery_codes"].as_array().map(Vec::len), Some(10));
    let access = body["tokens"]["access_token"].as_str().expect("tokens");
    assert!(body["tokens"]["refresh_token"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    let (status, me) = hub.get_json(access, "/api/v1/me/second-factor").await;
    assert_eq!(status, 200);
    assert_eq!(
        me,
        json!({ "enabled": true, "required": true, "recovery_codes_left": 10 })
    );
    // The challenge is spent; the next login asks for a code.
    let (status, _) = post(
        &hub,
        None,
        "/api/v1/auth/second-factor/enrol",
        json!({ "challenge": challenge }),
    )
    .await;
    assert_eq!(status, 401);
    let next = self::challenge(&hub, user).await;
    let (status, body) = code_step(&hub, &next, &code_at(&secret, step + 1)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_role_that_requires_it_may_only_enrol_then_logs_in_on_sqlite() {
    a_role_that_requires_it_may_only_enrol_then_logs_in(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_role_that_requires_it_may_only_enrol_then_logs_in_on_postgres() {
    a_role_that_requires_it_may_only_enrol_then_logs_in(Backend::Postgres).await;
}

#[tokio::test]
async fn an_admin_removes_a_second_factor_and_the_sessions_end() {
    let hub = TestHub::start().await;
    let user = "kobero.officer";
    let (secret, step, _) = enrol(&hub, user).await;
    let first = challenge(&hub, user).await;
    let (status, tokens) = code_step(&hub, &first, &code_at(&secret, step + 1)).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().expect("token").to_owned();
    let mut socket = hub.connect_with_token(&access).await.expect("socket");

    // Only an administrator may.
    let officer = hub.login("mugina.officer").await.access_token;
    let path = format!("/api/v1/users/{user}/second-factor");
    let status = hub
        .http()
        .delete(hub.url(&path))
        .bearer_auth(&officer)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16();
    assert_eq!(status, 403);
    let admin = hub.login("admin").await.access_token;
    let status = hub
        .http()
        .delete(hub.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16();
    assert_eq!(status, 204);
    // The user's sessions end at once.
    assert_eq!(socket.ending().await, Ending::Closed(Some(4003)));
    let (status, _) = hub.get_json(&access, "/api/v1/me").await;
    assert_eq!(status, 401);
    // The password alone logs in again (the role requires nothing).
    let (status, _) = password_step(&hub, user).await;
    assert_eq!(status, 200);
    // Nothing left to remove.
    let response = hub
        .http()
        .delete(hub.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 404);
    let auditor = hub.login("auditor").await.access_token;
    let (_, entries) = hub
        .get_json(&auditor, "/api/v1/audit?action=user.second_factor_reset")
        .await;
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
    // The enrolling session, the password-only login before the
    // confirmation, and the login with a code.
    assert_eq!(entries[0]["detail"]["sessions_ended"], 3, "{entries}");
}
