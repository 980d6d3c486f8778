//! The SMS bridge's storage on both backends (SQLite and PostgreSQL), with
//! the gateway unreachable: the planner queues one SMS per recipient and
//! step, the sender retries it with its attempts counted, delivery reports
//! for another attempt are ignored, and an incoming ACK applied once
//! acknowledges the alert while a second delivery of the same message is
//! a duplicate; the crash window of the sender; preferences over REST
//! (E.164 numbers, quiet hours, opting out and back in, a role the policy
//! requires). The full path through a real Kannel is server/tests/sms.rs.

use mpaka_server::sms::inbound::{self, Incoming, Outcome};
use mpaka_server::sms::settings::Secret;
use mpaka_server::sms::store as sql;
use mpaka_tests::{uuid_like, Backend, TestHub, PATIENCE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PHONE: &str = "+255700000002";

fn sms_on(s: &mut mpaka_server::Settings) {
    s.sms.enabled = true;
    // Nothing listens there: every hand-over fails and is retried.
    s.sms.gateway_url = "http://127.0.0.1:9/cgi-bin/sendsms".into();
    s.sms.callback_secret = Some(Secret::new("a-secret-of-sixteen-chars"));
    s.sms.dark_after_secs = 0;
    s.sms.check_interval_ms = 100;
    s.sms.retry_min_ms = 100;
    s.sms.retry_max_ms = 200;
}

async fn outbox_of(hub: &TestHub, alert_id: &str) -> Vec<sql::OutRow> {
    let mut tx = hub.state.store.write().await.expect("a transaction");
    let rows = sql::of_alert(tx.conn(), alert_id).await.expect("reads");
    tx.commit().await.expect("commits");
    rows
}

async fn store_on(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, sms_on).await else {
        return;
    };
    let officer = hub
        .state
        .store
        .user_by_name("manyovu.officer")
        .await
        .expect("reads")
        .expect("the demo officer");
    {
        let mut tx = hub.state.store.write().await.expect("a transaction");
        sql::set_phone(tx.conn(), officer.id, PHONE, "x", i64::MAX, 1)
            .await
            .expect("registers");
        sql::mark_verified(tx.conn(), officer.id, 2)
            .await
            .expect("verifies");
        tx.commit().await.expect("commits");
    }
    let token = hub.login("mugina.officer").await.access_token;
    let response = hub
        .http()
        .post(hub.url("/api/v1/alerts"))
        .bearer_auth(&token)
        .header("Idempotency-Key", uuid_like())
        .json(&json!({
            "kind": "mass_arrival", "direction": "into_burundi", "headcount": 300,
            "severity": "extreme", "urgency": "immediate", "certainty": "observed",
            "status": "actual"
        }))
        .send()
        .await
        .expect("raises");
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.expect("json");
    let alert_id = body["alert"]["id"].as_str().expect("id").to_owned();

    // Queued once, tried again and again while the gateway is unreachable.
    let started = Instant::now();
    let row = loop {
        let rows = outbox_of(&hub, &alert_id).await;
        assert!(rows.len() <= 1, "{rows:?}");
        if let Some(row) = rows.into_iter().next().filter(|r| r.attempts >= 2) {
            break row;
        }
        assert!(started.elapsed() < PATIENCE, "never retried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(row.phone, PHONE);
    assert_eq!(row.purpose, "alert");
    assert!(row.body.contains("HATARI KUBWA"), "{}", row.body);
    assert!(
        row.error.as_deref().is_some_and(|e| e.contains("connect")),
        "{row:?}"
    );
    {
        let mut tx = hub.state.store.write().await.expect("a transaction");
        let report = sql::delivery_report(tx.conn(), row.id, "another-attempt", 1, 3)
            .await
            .expect("reads");
        tx.commit().await.expect("commits");
        assert_eq!(report, None, "a report for another attempt changes nothing");
    }

    let code = {
        let mut tx = hub.state.store.write().await.expect("a transaction");
        let code = sql::code_of(tx.conn(), &alert_id).await.expect("reads");
        tx.commit().await.expect("commits");
        code.expect("the alert has a code")
    };
    let reply = Incoming {
        sender: PHONE.into(),
        text: format!("nimepokea {code}"),
        gateway_id: Some("kannel-1".into()),
        sent_at: None,
    };
    let first = inbound::receive(&hub.state, reply.clone())
        .await
        .expect("handled");
    assert_eq!(first, Outcome::Accepted("acknowledged"));
    let again = inbound::receive(&hub.state, reply).await.expect("handled");
    assert_eq!(again, Outcome::Duplicate);
    let (status, detail) = {
        let response = hub
            .http()
            .get(hub.url(&format!("/api/v1/alerts/{alert_id}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("reads");
        (
            response.status().as_u16(),
            response.json::<Value>().await.expect("json"),
        )
    };
    assert_eq!(status, 200);
    let acks = detail["alert"]["acknowledgements"]
        .as_array()
        .expect("acks");
    assert_eq!(acks.len(), 1, "{detail}");
    let rows = outbox_of(&hub, &alert_id).await;
    assert!(rows.iter().any(|r| r.purpose == "reply"), "{rows:?}");
}

/// The crash window: a row left `sending` by a dead node is confirmed by a
/// delivery report for its attempt (and not sent again), or, without one,
/// offered again once it is older than `unconfirmed_resend_secs`.
async fn crash_window_on(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |_| {}).await else {
        return;
    };
    let mut tx = hub.state.store.write().await.expect("a transaction");
    let conn = tx.conn();
    for key in ["one", "two"] {
        let sms = sql::NewSms {
            dedup_key: key,
            user_id: None,
            phone: PHONE,
            alert_id: None,
            purpose: "test",
            body: "hello",
            segments: 1,
            encoding: "gsm7",
        };
        assert!(sql::enqueue(conn, &sms, 1000).await.expect("queues"));
        assert!(
            !sql::enqueue(conn, &sms, 1000).await.expect("queues"),
            "never twice"
        );
    }
    let due = sql::due(conn, 1000, 0, 10).await.expect("reads");
    assert_eq!(due.len(), 2);
    let (one, two) = (due[0].id, due[1].id);
    // Both handed over at t=2000, then the node dies.
    assert!(sql::mark_sending(conn, one, "a1", 2000, 0)
        .await
        .expect("marks"));
    assert!(sql::mark_sending(conn, two, "a2", 2000, 0)
        .await
        .expect("marks"));
    assert!(
        !sql::mark_sending(conn, one, "a3", 2000, 0)
            .await
            .expect("marks"),
        "claimed once"
    );
    // Kannel's report for the first (retried by smsbox until the hub is back).
    let state = sql::delivery_report(conn, one, "a1", 8, 2500)
        .await
        .expect("reports");
    assert_eq!(state.as_deref(), Some("sent"));
    // Before the resend delay nothing is due; after it, only the unconfirmed one.
    assert!(sql::due(conn, 3000, 1000, 10)
        .await
        .expect("reads")
        .is_empty());
    let again = sql::due(conn, 9000, 5000, 10).await.expect("reads");
    assert_eq!(again.iter().map(|r| r.id).collect::<Vec<_>>(), vec![two]);
    assert!(sql::mark_sending(conn, two, "a4", 9000, 5000)
        .await
        .expect("marks"));
    sql::mark_sent(conn, two, "a4", "0: Accepted for delivery", 9100)
        .await
        .expect("marks");
    // A late report of the dead attempt changes nothing; the live one counts.
    assert_eq!(
        sql::delivery_report(conn, two, "a2", 1, 9200)
            .await
            .expect("reads"),
        None
    );
    let state = sql::delivery_report(conn, two, "a4", 1, 9300)
        .await
        .expect("reports");
    assert_eq!(state.as_deref(), Some("delivered"));
    tx.commit().await.expect("commits");
}

#[tokio::test]
async fn a_sending_row_is_confirmed_by_a_report_or_offered_again_on_sqlite() {
    crash_window_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_sending_row_is_confirmed_by_a_report_or_offered_again_on_postgres() {
    crash_window_on(Backend::Postgres).await;
}

#[tokio::test]
async fn the_sms_outbox_and_replies_work_on_sqlite() {
    store_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_sms_outbox_and_replies_work_on_postgres() {
    store_on(Backend::Postgres).await;
}

async fn call(
    hub: &TestHub,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = hub
        .http()
        .request(method, hub.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid_like())
        .json(&body)
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn an_officer_who_opted_out_gets_no_alert_sms_until_opting_back_in() {
    let hub = TestHub::start_with(sms_on).await;
    let officer = hub.login("manyovu.officer").await.access_token;
    let put = reqwest::Method::PUT;
    let (status, body) = call(
        &hub,
        put.clone(),
        &officer,
        "/api/v1/me/sms/phone",
        json!({"phone": "0025779"}),
    )
    .await;
    assert_eq!(status, 422, "not E.164: {body}");
    assert_eq!(body["fields"][0]["field"], "phone", "{body}");
    let (status, body) = call(
        &hub,
        put.clone(),
        &officer,
        "/api/v1/me/sms/phone",
        json!({"phone": "00 255 700 000 002"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["phone"], PHONE);
    assert_eq!(body["verified"], false);
    let user = hub
        .state
        .store
        .user_by_name("manyovu.officer")
        .await
        .expect("reads")
        .expect("user");
    {
        let mut tx = hub.state.store.write().await.expect("a transaction");
        sql::mark_verified(tx.conn(), user.id, 2)
            .await
            .expect("verifies");
        tx.commit().await.expect("commits");
    }
    let (status, body) = call(
        &hub,
        put.clone(),
        &officer,
        "/api/v1/me/sms/preferences",
        json!({"opted_out": true, "quiet_from": "25:00", "quiet_to": "06:00"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = call(
        &hub,
        put.clone(),
        &officer,
        "/api/v1/me/sms/preferences",
        json!({"opted_out": true, "quiet_from": "22:00"}),
    )
    .await;
    assert_eq!(status, 422, "both or neither: {body}");
    let (status, body) = call(
        &hub,
        put.clone(),
        &officer,
        "/api/v1/me/sms/preferences",
        json!({"opted_out": true, "quiet_from": "22:00", "quiet_to": "06:00"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["opted_out"], true);
    assert_eq!(body["quiet_from"], "22:00");

    let mugina = hub.login("mugina.officer").await.access_token;
    let (status, body) = call(&hub, reqwest::Method::POST, &mugina, "/api/v1/alerts", json!({
        "kind": "mass_arrival", "direction": "into_burundi", "headcount": 80,
        "severity": "extreme", "urgency": "immediate", "certainty": "observed", "status": "actual"
    })).await;
    assert_eq!(status, 201, "{body}");
    let alert_id = body["alert"]["id"].as_str().expect("id").to_owned();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        outbox_of(&hub, &alert_id).await.is_empty(),
        "opted out: nothing queued"
    );

    let (status, _) = call(
        &hub,
        put,
        &officer,
        "/api/v1/me/sms/preferences",
        json!({"opted_out": false}),
    )
    .await;
    assert_eq!(status, 200);
    let started = Instant::now();
    while outbox_of(&hub, &alert_id).await.is_empty() {
        assert!(
            started.elapsed() < PATIENCE,
            "never queued after opting back in"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_role_the_policy_requires_may_not_opt_out() {
    let hub = TestHub::start_with(|s| {
        sms_on(s);
        s.sms.required_roles = vec![mpaka_protocol::Role::Officer];
    })
    .await;
    let officer = hub.login("manyovu.officer").await.access_token;
    let (status, _) = call(
        &hub,
        reqwest::Method::PUT,
        &officer,
        "/api/v1/me/sms/phone",
        json!({"phone": PHONE}),
    )
    .await;
    assert_eq!(status, 202);
    let (status, body) = call(
        &hub,
        reqwest::Method::PUT,
        &officer,
        "/api/v1/me/sms/preferences",
        json!({"opted_out": true}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "forbidden");
    let (status, body) = call(
        &hub,
        reqwest::Method::GET,
        &officer,
        "/api/v1/me/sms",
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["may_opt_out"], false, "{body}");
}

#[tokio::test]
async fn five_wrong_pins_in_an_hour_lock_acknowledgement_by_sms() {
    let hub = TestHub::start_with(sms_on).await;
    const COORD: &str = "+255700000009";
    let user = hub
        .state
        .store
        .user_by_name("tz.coordinator")
        .await
        .expect("reads")
        .expect("user");
    {
        let mut tx = hub.state.store.write().await.expect("a transaction");
        sql::set_phone(tx.conn(), user.id, COORD, "x", i64::MAX, 1)
            .await
            .expect("registers");
        sql::mark_verified(tx.conn(), user.id, 2)
            .await
            .expect("verifies");
        let pin = inbound::pin_hash(user.id, "4821");
        sql::set_pin(tx.conn(), user.id, Some(&pin), 3)
            .await
            .expect("sets the PIN");
        tx.commit().await.expect("commits");
    }
    let mugina = hub.login("mugina.officer").await.access_token;
    let (status, body) = call(&hub, reqwest::Method::POST, &mugina, "/api/v1/alerts", json!({
        "kind": "mass_arrival", "direction": "into_burundi", "headcount": 80,
        "severity": "severe", "urgency": "immediate", "certainty": "observed", "status": "actual"
    })).await;
    assert_eq!(status, 201, "{body}");
    let alert_id = body["alert"]["id"].as_str().expect("id").to_owned();
    let code = mpaka_server::sms::planner::code_for(&hub.state.store, &alert_id)
        .await
        .expect("a code");
    let reply = |text: String, n: u32| Incoming {
        sender: COORD.into(),
        text,
        gateway_id: Some(format!("m{n}")),
        sent_at: None,
    };
    use mpaka_server::sms::compose::Refusal;
    for n in 0..5 {
        let outcome = inbound::receive(&hub.state, reply(format!("ACK {code} 000{n}"), n))
            .await
            .expect("handled");
        assert_eq!(outcome, Outcome::Refused(Refusal::WrongPin));
    }
    let outcome = inbound::receive(&hub.state, reply(format!("ACK {code} 4821"), 9))
        .await
        .expect("handled");
    assert_eq!(
        outcome,
        Outcome::Refused(Refusal::PinLocked),
        "even the right PIN, for now"
    );
}
