//! Mass-movement alerts end to end: the Mugina scenario, the permission
//! matrix of every step for every demo user, validation, idempotent retries,
//! live delivery and resume, redaction for observers, exercises kept out of
//! the real figures, escalation (twice, once each, across a restart and
//! with two nodes), queries, and CAP 1.2 export and import.

use mpaka_protocol::{
    Alert, AlertChange, AlertPage, AlertReceipt, AlertState, AlertStatus, AlertStep, AlertSummary,
    ChannelId, ClientFrame, ErrorCode, Event, EventData, Headcount, ServerFrame,
};
use mpaka_tests::{ch, uuid_like, Client, TestHub, PATIENCE};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/cap/CAP-v1.2.xsd");
const MUGINA_CORRIDOR: &str = "corridor:mugina-manyovu";

// ---------------------------------------------------------------- helpers

/// A socket client that keeps the events it sees while waiting for replies
/// (the shared harness only knows the core replies).
struct Desk {
    client: Client,
    events: VecDeque<Event>,
}

impl Desk {
    async fn open(hub: &TestHub, username: &str) -> Desk {
        Desk {
            client: hub.connect(username).await,
            events: VecDeque::new(),
        }
    }

    async fn request(&mut self, frame: ClientFrame) -> ServerFrame {
        let id = frame.id().to_owned();
        self.client.send(&frame).await;
        loop {
            let reply = self.client.recv().await.expect("a frame");
            match reply {
                ServerFrame::Event(event) => self.events.push_back(event),
                other if other.reply_id() == Some(id.as_str()) => return other,
                _ => {}
            }
        }
    }

    async fn subscribe(&mut self, channels: &[ChannelId], since: Option<u64>) -> Vec<Event> {
        let (replayed, _) = self
            .client
            .subscribe(channels, since)
            .await
            .expect("subscribes");
        replayed
    }

    /// The next event whose kind is `kind`, skipping others.
    async fn next_of(&mut self, kind: &str) -> Event {
        loop {
            let event = match self.events.pop_front() {
                Some(e) => e,
                None => self.client.next_event().await.expect("an event"),
            };
            if event.data.kind() == kind {
                return event;
            }
        }
    }

    async fn raise(&mut self, draft: Value) -> Result<AlertReceipt, mpaka_protocol::ErrorBody> {
        self.raise_with_id(&format!("raise-{}", uuid_like()), draft)
            .await
    }

    async fn raise_with_id(
        &mut self,
        id: &str,
        draft: Value,
    ) -> Result<AlertReceipt, mpaka_protocol::ErrorBody> {
        let frame: ClientFrame =
            serde_json::from_value(json!({"type": "alert.raise", "id": id, "alert": draft}))
                .expect("a valid frame");
        saved(self.request(frame).await)
    }

    async fn step(&mut self, frame: Value) -> Result<AlertReceipt, mpaka_protocol::ErrorBody> {
        let frame: ClientFrame = serde_json::from_value(frame).expect("a valid frame");
        saved(self.request(frame).await)
    }
}

fn saved(frame: ServerFrame) -> Result<AlertReceipt, mpaka_protocol::ErrorBody> {
    match frame {
        ServerFrame::AlertSaved { receipt, .. } => Ok(*receipt),
        ServerFrame::Error { error, .. } => Err(error),
        other => panic!("unexpected reply {other:?}"),
    }
}

/// The Mugina draft of the brief: 400 people on foot, mostly women and children.
fn mugina_draft() -> Value {
    json!({
        "kind": "mass_arrival", "direction": "into_burundi", "headcount": 400,
        "vulnerable": {"unaccompanied_or_separated_children": 35, "pregnant_or_lactating_women": 40},
        "needs": ["water", "food", "shelter"],
        "severity": "severe", "urgency": "immediate", "certainty": "observed",
        "location": {"lat": -4.0921, "lon": 29.6243},
        "text": {"text": "Abantu 400 bashitse n'amaguru, abenshi ni abagore n'abana.", "lang": "rn"},
        "status": "actual"
    })
}

fn with(mut draft: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().expect("object") {
        draft[k] = v.clone();
    }
    draft
}

/// A REST caller with a token.
struct Rest<'a> {
    hub: &'a TestHub,
    token: String,
}

impl<'a> Rest<'a> {
    async fn login(hub: &'a TestHub, username: &str) -> Rest<'a> {
        Rest {
            hub,
            token: hub.login(username).await.access_token,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.hub.get_json(&self.token, path).await
    }

    async fn get_text(&self, path: &str) -> (u16, String, String) {
        let response = self
            .hub
            .http()
            .get(self.hub.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, kind, response.text().await.expect("text"))
    }

    async fn post(&self, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .hub
            .http()
            .post(self.hub.url(path))
            .bearer_auth(&self.token);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post_xml(&self, path: &str, xml: &str) -> (u16, Value) {
        let response = self
            .hub
            .http()
            .post(self.hub.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/cap+xml")
            .body(xml.to_owned())
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn raise(&self, draft: Value) -> (u16, Value) {
        self.post("/api/v1/alerts", Some(&uuid_like()), Some(draft))
            .await
    }

    /// Raises and returns the alert id, or panics.
    async fn raised(&self, draft: Value) -> String {
        let (status, body) = self.raise(draft).await;
        assert_eq!(status, 201, "{body}");
        body["alert"]["id"].as_str().expect("id").to_owned()
    }

    async fn alert(&self, id: &str) -> (Alert, Vec<AlertChange>) {
        let (status, body) = self.get(&format!("/api/v1/alerts/{id}")).await;
        assert_eq!(status, 200, "{body}");
        (
            serde_json::from_value(body["alert"].clone()).expect("alert"),
            serde_json::from_value(body["history"].clone()).expect("history"),
        )
    }

    async fn list(&self, query: &str) -> AlertPage {
        let (status, body) = self.get(&format!("/api/v1/alerts{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        serde_json::from_value(body).expect("page")
    }
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("")
}

fn field_names(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn alert_of(event: &Event) -> &Alert {
    match &event.data {
        EventData::AlertRaised(b)
        | EventData::AlertAcknowledged(b)
        | EventData::AlertUpdated(b)
        | EventData::AlertResolved(b)
        | EventData::AlertCancelled(b) => &b.alert,
        EventData::AlertEscalated(b) => &b.alert,
        other => panic!("not an alert event: {other:?}"),
    }
}

/// Validates `doc` against the CAP 1.2 schema; `None` when xmllint is
/// missing, which fails under CI=true.
fn xmllint(args: &[&str], doc: &str) -> Option<Result<(), String>> {
    let child = Command::new("xmllint")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("SKIPPED: xmllint not installed (Debian package libxml2-utils)");
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "xmllint is required when CI=true"
            );
            return None;
        }
        Err(e) => panic!("cannot run xmllint: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(doc.as_bytes())
        .expect("write to xmllint");
    let out = child.wait_with_output().expect("xmllint runs");
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

fn assert_valid_cap(doc: &str) {
    if let Some(result) = xmllint(&["--noout", "--schema", SCHEMA, "-"], doc) {
        result.unwrap_or_else(|e| panic!("invalid CAP 1.2:\n{e}\n{doc}"));
    }
}

fn escalations(history: &[AlertChange]) -> Vec<&AlertChange> {
    history
        .iter()
        .filter(|c| c.step == AlertStep::Escalated)
        .collect()
}

fn ms(rfc3339: &str) -> i128 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time")
        .unix_timestamp_nanos()
        / 1_000_000
}

/// Short escalation delays for tests.
fn quick_escalation(severe_ms: u64, second_ms: u64) -> impl Fn(&mut mpaka_server::Settings) {
    move |s| {
        s.alerts.severe_escalation_ms = mpaka_server::config::Millis::of(severe_ms);
        s.alerts.extreme_escalation_ms = mpaka_server::config::Millis::of(severe_ms / 2);
        s.alerts.second_level_ms = mpaka_server::config::Millis::of(second_ms);
        s.alerts.check_interval_ms = mpaka_server::config::Millis::of(50);
        s.alerts.headquarters = vec!["tz.coordinator".into(), "nobody.here".into()];
    }
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn mugina_raises_400_arrivals_manyovu_acknowledges_and_it_is_updated_then_resolved() {
    let hub = TestHub::start().await;
    let corridor = ch(MUGINA_CORRIDOR);
    let mut manyovu = Desk::open(&hub, "manyovu.officer").await;
    manyovu
        .subscribe(std::slice::from_ref(&corridor), None)
        .await;
    let mut tz = Desk::open(&hub, "tz.coordinator").await;
    tz.subscribe(std::slice::from_ref(&corridor), None).await;
    let mut mugina = Desk::open(&hub, "mugina.officer").await;
    mugina
        .subscribe(std::slice::from_ref(&corridor), None)
        .await;

    let raised = mugina.raise(mugina_draft()).await.expect("raised");
    let alert = &raised.alert;
    assert_eq!(
        (alert.post.as_str(), alert.corridor.as_str()),
        ("mugina", "mugina-manyovu")
    );
    assert_eq!(alert.headcount, Headcount::Single(400));
    assert_eq!(alert.raised_by.username.as_deref(), Some("mugina.officer"));
    assert!(!raised.duplicate);

    // Manyovu and the Tanzanian coordinators see it live, in full.
    for desk in [&mut manyovu, &mut tz] {
        let event = desk.next_of("alert.raised").await;
        assert_eq!(event.seq, raised.seq);
        assert_eq!(alert_of(&event).id, alert.id);
        assert!(alert_of(&event).text.as_ref().unwrap().text.contains("400"));
    }

    // Manyovu acknowledges; the raiser sees who and when.
    let acked = manyovu
        .step(json!({"type": "alert.ack", "id": "ack-1", "alert_id": alert.id}))
        .await
        .expect("acknowledged");
    let event = mugina.next_of("alert.acknowledged").await;
    let ack = &alert_of(&event).acknowledgements[0];
    assert_eq!(ack.by.username.as_deref(), Some("manyovu.officer"));
    assert_eq!(ack.at, acked.alert.acknowledgements[0].at);

    // The headcount is updated through the day; the history keeps each change.
    for (n, headcount) in [(1, json!(520)), (2, json!({"low": 600, "high": 650}))] {
        let updated = mugina
            .step(
                json!({"type": "alert.update", "id": format!("upd-{n}"), "alert_id": alert.id,
                          "patch": {"headcount": headcount, "needs": ["water", "medical"]}}),
            )
            .await
            .expect("updated");
        assert_eq!(updated.alert.version, 2 + n);
    }
    assert_eq!(
        alert_of(&manyovu.next_of("alert.updated").await).headcount,
        Headcount::Single(520)
    );

    let resolved = mugina
        .step(
            json!({"type": "alert.resolve", "id": "res-1", "alert_id": alert.id,
                      "reason": "All transferred to the Manyovu transit centre"}),
        )
        .await
        .expect("resolved");
    assert_eq!(resolved.alert.state, AlertState::Resolved);
    let closing = resolved.alert.closing.as_ref().expect("closing");
    assert_eq!(closing.by.username.as_deref(), Some("mugina.officer"));
    tz.next_of("alert.resolved").await;

    // Current state and full history over the socket.
    let ServerFrame::AlertDetail { detail, .. } = tz
        .request(ClientFrame::AlertGet {
            id: "get-1".into(),
            alert_id: alert.id.clone(),
        })
        .await
    else {
        panic!("no alert.detail")
    };
    let steps: Vec<AlertStep> = detail.history.iter().map(|c| c.step).collect();
    use AlertStep::*;
    assert_eq!(
        steps,
        [Raised, Acknowledged, Updated, Updated, Resolved],
        "{steps:?}"
    );
    let second_update = &detail.history[3];
    assert_eq!(
        second_update.by.as_ref().unwrap().username.as_deref(),
        Some("mugina.officer")
    );
    let headcount = second_update
        .changes
        .iter()
        .find(|c| c.field == "headcount")
        .expect("headcount change");
    assert_eq!(
        (&headcount.from, &headcount.to),
        (&json!(520), &json!({"low": 600, "high": 650}))
    );
    assert_eq!(detail.alert.version, 5);

    // Further steps on a closed alert are refused.
    let error = mugina
        .step(
            json!({"type": "alert.update", "id": "upd-late", "alert_id": alert.id,
                      "patch": {"headcount": 1}}),
        )
        .await
        .expect_err("closed");
    assert_eq!(error.code, ErrorCode::InvalidState);
}

/// What each demo user may do with an alert raised at Mugina.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum May {
    Yes,
    Forbidden,
    NotFound,
}

fn expected_matrix(user: &str) -> [May; 5] {
    use May::*;
    // raise at mugina, ack, update, resolve, cancel
    match user {
        "mugina.officer" | "bi.coordinator" => [Yes, Forbidden, Yes, Yes, Yes],
        "manyovu.officer" | "tz.coordinator" => [Forbidden, Yes, Forbidden, Forbidden, Forbidden],
        "unhcr.observer" => [Forbidden; 5],
        "admin" | "auditor" => [Forbidden, NotFound, NotFound, NotFound, NotFound],
        // officers of the other corridors
        _ => [Forbidden, NotFound, NotFound, NotFound, NotFound],
    }
}

#[tokio::test]
async fn every_step_follows_the_permission_matrix_for_every_demo_user() {
    let hub = TestHub::start().await;
    let raiser = Rest::login(&hub, "mugina.officer").await;
    let users = hub.usernames();
    assert_eq!(users.len(), 11, "{users:?}");
    for user in &users {
        let caller = Rest::login(&hub, user).await;
        let expected = expected_matrix(user);
        let mut got = Vec::new();
        let (status, _) = caller
            .raise(with(mugina_draft(), json!({"post": "mugina"})))
            .await;
        got.push(status);
        for step in ["ack", "update", "resolve", "cancel"] {
            let id = raiser.raised(mugina_draft()).await;
            let body = match step {
                "update" => Some(json!({"headcount": 450})),
                "resolve" | "cancel" => Some(json!({"reason": "handled"})),
                _ => None,
            };
            let (status, _) = caller
                .post(&format!("/api/v1/alerts/{id}/{step}"), None, body)
                .await;
            got.push(status);
        }
        let want: Vec<u16> = expected
            .iter()
            .enumerate()
            .map(|(i, m)| match m {
                May::Yes if i == 0 => 201,
                May::Yes => 200,
                May::Forbidden => 403,
                May::NotFound => 404,
            })
            .collect();
        assert_eq!(got, want, "{user}: raise, ack, update, resolve, cancel");
    }
    // The same rules over the socket, for one user of each kind.
    let id = raiser.raised(mugina_draft()).await;
    for (user, code) in [
        ("unhcr.observer", ErrorCode::Forbidden),
        ("kabanga.officer", ErrorCode::NotFound),
        ("mugina.officer", ErrorCode::Forbidden),
    ] {
        let mut desk = Desk::open(&hub, user).await;
        let error = desk
            .step(json!({"type": "alert.ack", "id": "a", "alert_id": id}))
            .await
            .expect_err("refused");
        assert_eq!(error.code, code, "{user}");
    }
    // A coordinator raises for a post of their country only, naming it.
    let bi = Rest::login(&hub, "bi.coordinator").await;
    let (status, body) = bi
        .raise(with(mugina_draft(), json!({"post": "kobero"})))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = bi
        .raise(with(mugina_draft(), json!({"post": "kabanga"})))
        .await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
    let (status, body) = bi.raise(mugina_draft()).await;
    assert_eq!(field_names(&body), ["post"], "{status} {body}");
    // A second acknowledgement by another counterpart is allowed; the same user twice is not.
    let id = raiser.raised(mugina_draft()).await;
    let manyovu = Rest::login(&hub, "manyovu.officer").await;
    let tz = Rest::login(&hub, "tz.coordinator").await;
    assert_eq!(
        manyovu
            .post(&format!("/api/v1/alerts/{id}/ack"), None, None)
            .await
            .0,
        200
    );
    let (status, body) = tz
        .post(&format!("/api/v1/alerts/{id}/ack"), None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["alert"]["acknowledgements"].as_array().unwrap().len(),
        2
    );
    let (status, body) = tz
        .post(&format!("/api/v1/alerts/{id}/ack"), None, None)
        .await;
    assert_eq!((status, code(&body)), (409, "invalid_state"));
}

#[tokio::test]
async fn impossible_values_are_refused_with_the_fields_named() {
    let hub = TestHub::start().await;
    let mugina = Rest::login(&hub, "mugina.officer").await;
    let cases = [
        (
            with(mugina_draft(), json!({"vulnerable": {"elderly": -3}})),
            vec!["vulnerable.elderly"],
        ),
        (
            with(
                mugina_draft(),
                json!({"headcount": {"low": 500, "high": 300}}),
            ),
            vec!["headcount.low"],
        ),
        (
            with(mugina_draft(), json!({"kind": "stampede"})),
            vec!["kind"],
        ),
        (
            with(
                mugina_draft(),
                json!({"headcount": -1, "location": {"lat": 95.0, "lon": 29.6}}),
            ),
            vec!["headcount", "location.lat"],
        ),
        (
            with(
                mugina_draft(),
                json!({"text": {"text": "x", "lang": "french"}}),
            ),
            vec!["text.lang"],
        ),
    ];
    for (draft, fields) in cases {
        let (status, body) = mugina.raise(draft).await;
        assert_eq!((status, code(&body)), (422, "validation_failed"), "{body}");
        assert_eq!(field_names(&body), fields, "{body}");
    }
    // Over the socket too, including values that do not even parse.
    let mut desk = Desk::open(&hub, "mugina.officer").await;
    let error = desk
        .raise(with(
            mugina_draft(),
            json!({"headcount": {"low": 9, "high": 3}}),
        ))
        .await
        .expect_err("refused");
    assert_eq!(error.code, ErrorCode::ValidationFailed);
    assert_eq!(error.fields[0].field, "headcount.low");
    let raw = json!({"type": "alert.raise", "id": "bad-kind",
                     "alert": with(mugina_draft(), json!({"kind": "stampede"}))});
    desk.client.send_text(&raw.to_string()).await;
    let ServerFrame::Error { id, error } = desk.client.recv().await.expect("reply") else {
        panic!("no error")
    };
    assert_eq!(id.as_deref(), Some("bad-kind"));
    assert_eq!(error.code, ErrorCode::ValidationFailed);
    assert_eq!(error.fields[0].field, "kind");
    // Steps validate their own input.
    let id = mugina.raised(mugina_draft()).await;
    let (status, body) = mugina
        .post(
            &format!("/api/v1/alerts/{id}/update"),
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, field_names(&body)),
        (422, vec!["patch".to_owned()])
    );
    let (status, body) = mugina
        .post(
            &format!("/api/v1/alerts/{id}/update"),
            None,
            Some(json!({"needs": ["water", "water"]})),
        )
        .await;
    assert_eq!(
        (status, field_names(&body)),
        (422, vec!["needs[1]".to_owned()])
    );
    let (status, body) = mugina
        .post(
            &format!("/api/v1/alerts/{id}/resolve"),
            None,
            Some(json!({"reason": " "})),
        )
        .await;
    assert_eq!(
        (status, field_names(&body)),
        (422, vec!["reason".to_owned()])
    );
    // Nothing invalid was stored.
    assert_eq!(mugina.list("").await.alerts.len(), 1);
}

#[tokio::test]
async fn a_retried_raise_is_stored_once() {
    let hub = TestHub::start().await;
    let mut desk = Desk::open(&hub, "mugina.officer").await;
    let first = desk
        .raise_with_id("raise-once", mugina_draft())
        .await
        .expect("raised");
    let again = desk
        .raise_with_id("raise-once", mugina_draft())
        .await
        .expect("answered");
    assert!(again.duplicate);
    assert_eq!(
        (again.alert.id.as_str(), again.seq),
        (first.alert.id.as_str(), first.seq)
    );
    let error = desk
        .raise_with_id("raise-once", with(mugina_draft(), json!({"headcount": 12})))
        .await
        .expect_err("another request");
    assert_eq!(error.code, ErrorCode::IdempotencyConflict);

    let rest = Rest::login(&hub, "mugina.officer").await;
    let (s1, b1) = rest
        .post("/api/v1/alerts", Some("key-1"), Some(mugina_draft()))
        .await;
    let (s2, b2) = rest
        .post("/api/v1/alerts", Some("key-1"), Some(mugina_draft()))
        .await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(b1["alert"]["id"], b2["alert"]["id"]);
    assert_eq!(b2["duplicate"], json!(true));
    let (status, body) = rest
        .post("/api/v1/alerts", None, Some(mugina_draft()))
        .await;
    assert_eq!(
        (status, field_names(&body)),
        (422, vec!["Idempotency-Key".to_owned()])
    );
    assert_eq!(rest.list("").await.alerts.len(), 2);
}

#[tokio::test]
async fn a_post_that_was_offline_receives_the_alert_steps_it_missed_on_resume() {
    let hub = TestHub::start().await;
    let corridor = ch(MUGINA_CORRIDOR);
    let mut manyovu = Desk::open(&hub, "manyovu.officer").await;
    manyovu
        .subscribe(std::slice::from_ref(&corridor), Some(0))
        .await;
    let seen = hub.state.store.head_seq().await.expect("head");
    manyovu.client.close().await;

    let mut mugina = Desk::open(&hub, "mugina.officer").await;
    let raised = mugina.raise(mugina_draft()).await.expect("raised");
    let updated = mugina
        .step(
            json!({"type": "alert.update", "id": "u", "alert_id": raised.alert.id,
                     "patch": {"headcount": 450}}),
        )
        .await
        .expect("updated");

    let mut manyovu = Desk::open(&hub, "manyovu.officer").await;
    let replayed = manyovu.subscribe(&[corridor], Some(seen)).await;
    let kinds: Vec<(&str, u64)> = replayed.iter().map(|e| (e.data.kind(), e.seq)).collect();
    assert_eq!(
        kinds,
        [("alert.raised", raised.seq), ("alert.updated", updated.seq)]
    );
    // And acknowledges once back.
    manyovu
        .step(json!({"type": "alert.ack", "id": "late-ack", "alert_id": raised.alert.id}))
        .await
        .expect("acknowledged");
}

#[tokio::test]
async fn observers_get_alerts_redacted_and_exercises_never_count_in_real_figures() {
    let hub = TestHub::start().await;
    let mut observer = Desk::open(&hub, "unhcr.observer").await;
    observer.subscribe(&[ch(MUGINA_CORRIDOR)], None).await;
    let mugina = Rest::login(&hub, "mugina.officer").await;
    let real = mugina.raised(mugina_draft()).await;
    let exercise = mugina
        .raised(with(
            mugina_draft(),
            json!({"status": "exercise", "headcount": 100}),
        ))
        .await;

    let event = observer.next_of("alert.raised").await;
    let seen = alert_of(&event);
    assert_eq!(seen.id, real);
    assert_eq!(seen.text.as_ref().unwrap().text, "[redacted]");
    assert_eq!(seen.raised_by.username, None);
    assert_eq!(
        seen.headcount,
        Headcount::Single(400),
        "figures stay visible"
    );
    let rest = Rest::login(&hub, "unhcr.observer").await;
    let (alert, history) = rest.alert(&real).await;
    assert_eq!(alert.text.unwrap().text, "[redacted]");
    assert!(history
        .iter()
        .all(|c| c.by.as_ref().is_none_or(|a| a.username.is_none())));
    let (_, _, cap) = rest.get_text(&format!("/api/v1/alerts/{real}/cap")).await;
    assert!(
        !cap.contains("bashitse") && !cap.contains("mugina.officer"),
        "{cap}"
    );

    // The exercise is marked as such everywhere and counted apart.
    let (alert, _) = mugina.alert(&exercise).await;
    assert_eq!(alert.status, AlertStatus::Exercise);
    let (status, body) = mugina.get("/api/v1/alerts/summary").await;
    assert_eq!(status, 200);
    let summaries: Vec<AlertSummary> = serde_json::from_value(body).expect("summaries");
    assert_eq!(summaries.len(), 1, "an officer sees only its corridor");
    let summary = &summaries[0];
    assert_eq!(
        (
            summary.open,
            summary.people_on_the_move,
            summary.unacknowledged
        ),
        (1, 400, 1)
    );
    assert_eq!(summary.open_exercises_and_tests, 1);
    assert!(summary.oldest_unacknowledged_at.is_some());
    // Coordinators see every corridor, over the socket as well.
    let mut bi = Desk::open(&hub, "bi.coordinator").await;
    let ServerFrame::AlertSummaries { corridors, .. } = bi
        .request(ClientFrame::AlertSummary { id: "s".into() })
        .await
    else {
        panic!("no summaries")
    };
    assert_eq!(corridors.len(), 3);
    assert_eq!(
        corridors.iter().map(|c| c.people_on_the_move).sum::<u64>(),
        400
    );
}

#[tokio::test]
async fn an_unacknowledged_severe_alert_escalates_to_coordinators_then_headquarters_once_each() {
    let hub = TestHub::start_with(quick_escalation(400, 600)).await;
    // A second node on the same database runs the same escalation loop.
    let second_node = TestHub::start_in(&hub.data_dir, quick_escalation(400, 600)).await;
    let mut bi = Desk::open(&hub, "bi.coordinator").await;
    bi.subscribe(&[ch("coord:joint")], None).await;
    let tz_id = hub.login("tz.coordinator").await.user.id;
    let mut hq = Desk::open(&second_node, "tz.coordinator").await;
    hq.subscribe(&[ChannelId::User(tz_id)], None).await;

    let mugina = Rest::login(&hub, "mugina.officer").await;
    let manyovu = Rest::login(&hub, "manyovu.officer").await;
    let severe = mugina.raised(mugina_draft()).await;
    let acknowledged = mugina.raised(mugina_draft()).await;
    manyovu
        .post(&format!("/api/v1/alerts/{acknowledged}/ack"), None, None)
        .await;
    let moderate = mugina
        .raised(with(mugina_draft(), json!({"severity": "moderate"})))
        .await;

    let first = bi.next_of("alert.escalated").await;
    let EventData::AlertEscalated(body) = &first.data else {
        unreachable!()
    };
    assert_eq!((body.alert.id.as_str(), body.level), (severe.as_str(), 1));
    let second = bi.next_of("alert.escalated").await;
    let EventData::AlertEscalated(body) = &second.data else {
        unreachable!()
    };
    assert_eq!((body.alert.id.as_str(), body.level), (severe.as_str(), 2));
    let personal = hq.next_of("alert.escalated").await;
    assert_eq!(personal.channel, ChannelId::User(tz_id));

    // Nothing more, from either node, for any of the alerts.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let late: Vec<Event> = bi
        .client
        .events_within(Duration::from_millis(200))
        .await
        .into_iter()
        .filter(|e| e.data.kind() == "alert.escalated")
        .collect();
    assert!(late.is_empty(), "{late:?}");
    let (alert, history) = mugina.alert(&severe).await;
    assert_eq!(alert.escalation_level, 2);
    assert_eq!(escalations(&history).len(), 2);
    for quiet in [&acknowledged, &moderate] {
        let (alert, history) = mugina.alert(quiet).await;
        assert_eq!(alert.escalation_level, 0);
        assert!(escalations(&history).is_empty());
    }
    // A moderate alert updated to extreme starts its timer then.
    let (status, _) = mugina
        .post(
            &format!("/api/v1/alerts/{moderate}/update"),
            None,
            Some(json!({"severity": "extreme"})),
        )
        .await;
    assert_eq!(status, 200);
    let event = bi.next_of("alert.escalated").await;
    assert_eq!(alert_of(&event).id, moderate);
    drop(second_node);
}

#[tokio::test]
async fn escalation_is_still_on_time_after_a_restart_in_the_middle_of_the_delay() {
    const DELAY_MS: i128 = 3000;
    const SECOND_MS: i128 = 1500;
    let hub = TestHub::start_with(quick_escalation(DELAY_MS as u64, SECOND_MS as u64)).await;
    let mugina = Rest::login(&hub, "mugina.officer").await;
    let id = mugina.raised(mugina_draft()).await;
    drop(mugina);
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Restarted with the default settings: the deadline and the second-level
    // delay were stored with the alert.
    let hub = hub.restart().await;
    let mugina = Rest::login(&hub, "mugina.officer").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let (alert, history) = loop {
        let (alert, history) = mugina.alert(&id).await;
        if alert.escalation_level == 2 || tokio::time::Instant::now() > deadline {
            break (alert, history);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(alert.escalation_level, 2);
    let steps = escalations(&history);
    assert_eq!(steps.len(), 2, "{history:?}");
    let raised = ms(&alert.raised_at);
    let first = ms(&steps[0].at) - raised;
    let second = ms(&steps[1].at) - raised;
    // On time: not before the deadline, and within the default check
    // interval (1 s) plus scheduling slack after it.
    assert!(
        (DELAY_MS..DELAY_MS + 2500).contains(&first),
        "level 1 after {first} ms"
    );
    assert!(
        (DELAY_MS + SECOND_MS..DELAY_MS + SECOND_MS + 2500).contains(&second),
        "level 2 after {second} ms"
    );
}

#[tokio::test]
async fn alerts_are_queried_by_state_post_corridor_kind_severity_status_and_time() {
    let hub = TestHub::start().await;
    let mugina = Rest::login(&hub, "mugina.officer").await;
    let kobero = Rest::login(&hub, "kobero.officer").await;
    let before = time::OffsetDateTime::now_utc();
    let a = mugina.raised(mugina_draft()).await;
    let b = mugina
        .raised(with(
            mugina_draft(),
            json!({"kind": "health_screening", "severity": "minor"}),
        ))
        .await;
    let c = mugina
        .raised(with(mugina_draft(), json!({"status": "test"})))
        .await;
    let d = kobero
        .raised(with(
            mugina_draft(),
            json!({"direction": "into_tanzania", "severity": "extreme"}),
        ))
        .await;
    mugina
        .post(
            &format!("/api/v1/alerts/{b}/resolve"),
            None,
            Some(json!({"reason": "screened"})),
        )
        .await;

    let bi = Rest::login(&hub, "bi.coordinator").await;
    let ids = |page: AlertPage| page.alerts.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(bi.list("").await),
        [d.as_str(), c.as_str(), b.as_str(), a.as_str()],
        "newest first"
    );
    assert_eq!(ids(bi.list("?state=resolved").await), [b.as_str()]);
    assert_eq!(
        ids(bi.list("?state=open&corridor=mugina-manyovu").await),
        [c.as_str(), a.as_str()]
    );
    assert_eq!(ids(bi.list("?post=kobero").await), [d.as_str()]);
    assert_eq!(ids(bi.list("?kind=health_screening").await), [b.as_str()]);
    assert_eq!(ids(bi.list("?severity=extreme").await), [d.as_str()]);
    assert_eq!(ids(bi.list("?status=test").await), [c.as_str()]);
    let from = (before - time::Duration::seconds(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(bi.list(&format!("?from={from}")).await.alerts.len(), 4);
    assert!(bi.list(&format!("?to={from}")).await.alerts.is_empty());
    // Pages.
    let page = bi.list("?limit=3").await;
    assert_eq!((page.alerts.len(), page.next_offset), (3, Some(3)));
    let page = bi.list("?limit=3&offset=3").await;
    assert_eq!(ids(page.clone()), [a.as_str()]);
    assert_eq!(page.next_offset, None);
    // Officers see their corridor only; admins and auditors no alerts at all.
    let gisuru = Rest::login(&hub, "gisuru.officer").await;
    assert!(gisuru.list("").await.alerts.is_empty());
    assert_eq!(gisuru.get(&format!("/api/v1/alerts/{a}")).await.0, 404);
    assert_eq!(
        ids(mugina.list("").await),
        [c.as_str(), b.as_str(), a.as_str()]
    );
    for role in ["admin", "auditor"] {
        let rest = Rest::login(&hub, role).await;
        assert_eq!(rest.get("/api/v1/alerts").await.0, 403, "{role}");
    }
    // Bad filters are named.
    let (status, body) = bi.get("/api/v1/alerts?from=yesterday").await;
    assert_eq!((status, field_names(&body)), (422, vec!["from".to_owned()]));
    let (status, body) = bi.get("/api/v1/alerts?limit=0").await;
    assert_eq!(
        (status, field_names(&body)),
        (422, vec!["limit".to_owned()])
    );
    let (status, _) = bi.get("/api/v1/alerts?severity=apocalyptic").await;
    assert_eq!(status, 422);
    // The same listing over the socket.
    let mut desk = Desk::open(&hub, "bi.coordinator").await;
    let ServerFrame::AlertPage { page, .. } = desk
        .request(
            serde_json::from_value(json!({"type": "alert.list", "id": "l",
                                          "filter": {"severity": "extreme"}}))
            .unwrap(),
        )
        .await
    else {
        panic!("no page")
    };
    assert_eq!(ids(page), [d.as_str()]);
}

#[tokio::test]
async fn cap_documents_of_raised_updated_and_cancelled_alerts_validate_against_the_schema() {
    let hub = TestHub::start().await;
    let mugina = Rest::login(&hub, "mugina.officer").await;
    let id = mugina.raised(mugina_draft()).await;
    let (status, kind, raised) = cap_of(&mugina, &id).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/cap+xml"), "{kind}");
    assert!(raised.contains("<msgType>Alert</msgType>"), "{raised}");
    assert!(raised.contains("<scope>Restricted</scope>"));
    assert_valid_cap(&raised);

    mugina
        .post(
            &format!("/api/v1/alerts/{id}/update"),
            None,
            Some(json!({"headcount": 520})),
        )
        .await;
    let (_, _, updated) = cap_of(&mugina, &id).await;
    assert!(updated.contains("<msgType>Update</msgType>"));
    assert!(
        updated.contains(&format!("mpaka-{id}-v1,")),
        "references the original"
    );
    assert_valid_cap(&updated);

    mugina
        .post(
            &format!("/api/v1/alerts/{id}/cancel"),
            None,
            Some(json!({"reason": "wrong post"})),
        )
        .await;
    let (_, _, cancelled) = cap_of(&mugina, &id).await;
    assert!(cancelled.contains("<msgType>Cancel</msgType>"));
    assert_valid_cap(&cancelled);

    let exercise = mugina
        .raised(with(mugina_draft(), json!({"status": "exercise"})))
        .await;
    let (_, _, doc) = cap_of(&mugina, &exercise).await;
    assert!(doc.contains("<status>Exercise</status>"));
    assert_valid_cap(&doc);

    let (status, kind, feed) = mugina.get_text("/api/v1/alerts/cap/feed").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/atom+xml"), "{kind}");
    assert!(!feed.contains(&id), "cancelled alerts are not in the feed");
    if let Some(result) = xmllint(&["--noout", "-"], &feed) {
        result.expect("well-formed Atom");
    }
    // Invisible alerts have no CAP document either.
    let kabanga = Rest::login(&hub, "kabanga.officer").await;
    assert_eq!(cap_of(&kabanga, &id).await.0, 404);
}

async fn cap_of(rest: &Rest<'_>, id: &str) -> (u16, String, String) {
    rest.get_text(&format!("/api/v1/alerts/{id}/cap")).await
}

/// A CAP 1.2 alert from a (fictitious) national early-warning system.
fn early_warning_cap(identifier: &str, urgency: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>ews@meteo.go.tz</sender>
  <sent>2025-03-14T08:12:45+03:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Restricted</scope>
  <restriction>Border and humanitarian staff</restriction>
  <info>
    <language>en</language>
    <category>Safety</category>
    <event>Mass arrival of people</event>
    <urgency>{urgency}</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <headline>About 250 people expected at Manyovu</headline>
    <parameter><valueName>mpaka:kind</valueName><value>mass_arrival</value></parameter>
    <parameter><valueName>mpaka:direction</valueName><value>into_tanzania</value></parameter>
    <parameter><valueName>mpaka:headcount</valueName><value>200-300</value></parameter>
    <area><areaDesc>Manyovu, Kigoma</areaDesc></area>
  </info>
</alert>
"#
    )
}

#[tokio::test]
async fn a_valid_cap_alert_is_imported_and_an_invalid_one_is_refused_with_nothing_stored() {
    let hub = TestHub::start().await;
    let tz = Rest::login(&hub, "tz.coordinator").await;
    let (status, body) = tz
        .post_xml(
            "/api/v1/cap?post=manyovu",
            &early_warning_cap("ews-001", "Expected"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["alert"]["post"], "manyovu");
    assert_eq!(body["alert"]["headcount"], json!({"low": 200, "high": 300}));
    assert_eq!(body["alert"]["raised_by"]["username"], "tz.coordinator");
    assert_eq!(body["cap_identifier"], "ews-001");
    // The same document again is the same alert.
    let (status, again) = tz
        .post_xml(
            "/api/v1/cap?post=manyovu",
            &early_warning_cap("ews-001", "Expected"),
        )
        .await;
    assert_eq!((status, &again["alert"]["id"]), (200, &body["alert"]["id"]));

    let (status, body) = tz
        .post_xml(
            "/api/v1/cap?post=manyovu",
            &early_warning_cap("ews-002", "Soonish"),
        )
        .await;
    assert_eq!((status, code(&body)), (422, "validation_failed"), "{body}");
    assert!(
        field_names(&body).iter().any(|f| f.contains("urgency")),
        "{body}"
    );
    let (status, body) = tz
        .post_xml("/api/v1/cap?post=manyovu", "<alert><oops")
        .await;
    assert_eq!((status, field_names(&body)), (422, vec!["body".to_owned()]));
    let (status, body) = tz
        .post_xml("/api/v1/cap", &early_warning_cap("ews-003", "Expected"))
        .await;
    assert_eq!((status, field_names(&body)), (422, vec!["post".to_owned()]));
    // Only coordinators import, for their own country's posts.
    let (status, _) = tz
        .post_xml(
            "/api/v1/cap?post=mugina",
            &early_warning_cap("ews-004", "Expected"),
        )
        .await;
    assert_eq!(status, 403);
    let officer = Rest::login(&hub, "manyovu.officer").await;
    let (status, _) = officer
        .post_xml(
            "/api/v1/cap?post=manyovu",
            &early_warning_cap("ews-005", "Expected"),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(tz.list("").await.alerts.len(), 1, "nothing else stored");
}
