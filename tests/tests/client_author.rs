//! Defects found when the hub was tried as a new client author would
//! (issue 10), each kept as a regression test: replies that lose their
//! request id, errors that echo input, codes that differ between routes,
//! bodies that are not the documented JSON error.

use mpaka_protocol::{ClientFrame, ErrorCode, ServerFrame};
use mpaka_tests::{Ending, TestHub};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn mugina_alert() -> Value {
    json!({
        "kind": "mass_arrival", "direction": "into_burundi", "headcount": 400,
        "severity": "severe", "urgency": "immediate", "certainty": "observed",
        "text": {"text": "400 people on foot", "lang": "en"},
        "status": "actual"
    })
}

fn sop_draft(slug: &str) -> Value {
    json!({
        "slug": slug, "owner": "BI",
        "titles": {"fr": "Procédure"}, "bodies": {"fr": "1. Accueillir."},
        "change_summary": "", "effective_date": "2025-03-01", "audience": {}
    })
}

async fn post_raw(
    hub: &TestHub,
    token: &str,
    path: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let response = hub
        .http()
        .post(hub.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("idempotency-key", mpaka_tests::uuid_like())
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_oversized_frame_is_answered_with_its_request_id() {
    let hub = TestHub::start_with(|s| {
        s.ws.max_frame_bytes = std::num::NonZeroUsize::new(2048).expect("non-zero")
    })
    .await;
    let mut client = hub.connect("mugina.officer").await;
    let frame = json!({
        "type": "publish", "id": "big-1", "channel": "post:mugina", "text": "x".repeat(5000)
    });
    client.send_text(&frame.to_string()).await;
    match client.recv().await.expect("a reply") {
        ServerFrame::Error { id, error } => {
            assert_eq!(error.code, ErrorCode::FrameTooLarge);
            assert_eq!(id.as_deref(), Some("big-1"), "the reply repeats the id");
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn errors_about_a_frame_never_echo_its_values() {
    let hub = TestHub::start().await;
    let mut client = hub.connect("mugina.officer").await;
    let secret = "s3cr3t-t0ken-value";
    let cases = [
        json!({"type": secret, "id": "e1"}),
        json!({"type": "subscribe", "id": "e2", "channels": [format!("national:{secret}")]}),
        json!({"type": "subscribe", "id": "e3", "channels": [secret]}),
        json!({"type": "publish", "id": "e4", "channel": "joint", "text": "x", secret: 1}),
        json!({"type": "alert.raise", "id": "e5", "alert": {"kind": secret}}),
    ];
    for frame in cases {
        client.send_text(&frame.to_string()).await;
        let reply = client.recv().await.expect("a reply");
        let ServerFrame::Error { id, error } = &reply else {
            panic!("{frame}: expected an error, got {reply:?}");
        };
        assert_eq!(id.as_deref(), frame["id"].as_str(), "{frame}");
        let shown = serde_json::to_string(error).expect("encodes");
        assert!(!shown.contains(secret), "{frame} echoed: {shown}");
    }
    // Over REST too: a channel name in the path is not echoed.
    let token = hub.login("mugina.officer").await.access_token;
    let (status, body) = hub
        .get_json(&token, &format!("/api/v1/channels/{secret}/messages"))
        .await;
    assert_eq!(status, 404);
    assert!(!body.to_string().contains(secret), "{body}");
}

#[tokio::test]
async fn the_personal_channel_of_no_account_is_unknown_not_forbidden() {
    let hub = TestHub::start().await;
    let mut client = hub.connect("bi.coordinator").await;
    let reply = client
        .request(&ClientFrame::Subscribe {
            id: "u1".into(),
            channels: vec!["user:999999".parse().expect("a channel")],
            since: None,
            epoch: None,
        })
        .await;
    assert!(
        matches!(&reply, ServerFrame::Error { error, .. } if error.code == ErrorCode::UnknownChannel),
        "{reply:?}"
    );
    // Another user's existing channel stays forbidden.
    let other = hub.login("mugina.officer").await;
    let me: Value = hub.get_json(&other.access_token, "/api/v1/me").await.1;
    let reply = client
        .request(&ClientFrame::Subscribe {
            id: "u2".into(),
            channels: vec![format!("user:{}", me["id"]).parse().expect("a channel")],
            since: None,
            epoch: None,
        })
        .await;
    assert!(
        matches!(&reply, ServerFrame::Error { error, .. } if error.code == ErrorCode::Forbidden),
        "{reply:?}"
    );
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let hub = TestHub::start().await;
    let mut client = hub.connect("mugina.officer").await;
    // A raw text frame with invalid UTF-8, written below the client's checks.
    let frame = tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
        vec![0x7b, 0xff, 0xfe, 0x7d],
        tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
            tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
        ),
        true,
    );
    client
        .send_message(Message::Frame(frame))
        .await
        .expect("the frame is sent");
    assert_eq!(client.ending().await, Ending::Closed(Some(1007)));
}

#[tokio::test]
async fn admins_and_auditors_are_forbidden_one_alert_as_they_are_the_list() {
    let hub = TestHub::start().await;
    let officer = hub.login("mugina.officer").await.access_token;
    let (status, receipt) =
        post_raw(&hub, &officer, "/api/v1/alerts", mugina_alert().to_string()).await;
    assert_eq!(status, 201, "{receipt}");
    let id = receipt["alert"]["id"].as_str().expect("an id").to_owned();
    for user in ["admin", "auditor"] {
        let token = hub.login(user).await.access_token;
        for path in [
            "/api/v1/alerts".to_owned(),
            format!("/api/v1/alerts/{id}"),
            format!("/api/v1/alerts/{id}/cap"),
        ] {
            let (status, body) = hub.get_json(&token, &path).await;
            assert_eq!(status, 403, "{user} {path}: {body}");
            assert_eq!(body["code"], "forbidden", "{user} {path}");
        }
    }
}

#[tokio::test]
async fn a_draft_missing_fields_names_every_one_of_them() {
    let hub = TestHub::start().await;
    let token = hub.login("mugina.officer").await.access_token;
    let mut draft = mugina_alert();
    for field in ["status", "severity", "kind"] {
        draft.as_object_mut().expect("object").remove(field);
    }
    let (status, body) = post_raw(&hub, &token, "/api/v1/alerts", draft.to_string()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "validation_failed");
    let mut named: Vec<&str> = body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    named.sort_unstable();
    assert_eq!(named, ["kind", "severity", "status"], "{body}");
}

#[tokio::test]
async fn broken_json_is_bad_frame_on_every_write_route() {
    let hub = TestHub::start().await;
    let officer = hub.login("mugina.officer").await.access_token;
    let coordinator = hub.login("bi.coordinator").await.access_token;
    for (token, path) in [
        (&officer, "/api/v1/channels/post:mugina/messages"),
        (&officer, "/api/v1/alerts"),
        (&coordinator, "/api/v1/sops"),
    ] {
        let (status, body) = post_raw(&hub, token, path, "{\"text\": ").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_frame")),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn an_oversized_rest_body_gets_the_json_error_body() {
    let hub = TestHub::start().await;
    let token = hub.login("mugina.officer").await.access_token;
    let huge = format!("{{\"text\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let (status, body) =
        post_raw(&hub, &token, "/api/v1/channels/post:mugina/messages", huge).await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], "frame_too_large", "{body}");
    // Unknown API routes and wrong methods answer the JSON body as well.
    let (status, body) = post_raw(&hub, &token, "/api/v1/me", "{}").await;
    assert_eq!(status, 405);
    assert!(body["code"].is_string(), "{body}");
}

#[tokio::test]
async fn an_unknown_audience_role_is_a_field_error_like_an_unknown_post() {
    let hub = TestHub::start().await;
    let token = hub.login("bi.coordinator").await.access_token;
    let mut draft = sop_draft("roles-check");
    draft["audience"] = json!({"roles": ["officer", "astronaut"]});
    let (status, body) = hub.post_json(&token, "/api/v1/sops", &draft).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "validation_failed");
    assert_eq!(body["fields"][0]["field"], "audience.roles[1]", "{body}");
    assert!(!body.to_string().contains("astronaut"), "{body}");
    draft["audience"] = json!({"posts": ["atlantis"]});
    let (status, body) = hub.post_json(&token, "/api/v1/sops", &draft).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("validation_failed"))
    );
    // The same over the socket.
    let mut client = hub.connect("bi.coordinator").await;
    let mut frame = json!({"type": "sop.draft", "id": "d1", "draft": sop_draft("roles-socket")});
    frame["draft"]["audience"] = json!({"roles": ["astronaut"]});
    client.send_text(&frame.to_string()).await;
    match client.recv().await.expect("a reply") {
        ServerFrame::Error { id, error } => {
            assert_eq!(id.as_deref(), Some("d1"));
            assert_eq!(error.code, ErrorCode::ValidationFailed);
            assert_eq!(error.fields[0].field, "audience.roles[0]");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_sop_is_served_in_the_readers_language_before_the_fallback_order() {
    let hub = TestHub::start().await;
    let token = hub.login("tz.coordinator").await.access_token;
    let mut draft = sop_draft("lang-order");
    draft["owner"] = json!("TZ");
    draft["titles"] = json!({"fr": "Procédure", "sw": "Utaratibu"});
    draft["bodies"] = json!({"fr": "Texte.", "sw": "Maandishi."});
    let (status, body) = hub.post_json(&token, "/api/v1/sops", &draft).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = hub
        .post_json(&token, "/api/v1/sops/lang-order/publish", &json!({}))
        .await;
    assert!(matches!(status, 200 | 201), "{body}");
    let reader = hub.login("manyovu.officer").await.access_token;
    let me = hub.get_json(&reader, "/api/v1/me").await.1;
    assert_eq!(
        me["language"], "sw",
        "the demo's Manyovu officer reads Swahili"
    );
    // Asked for Kirundi, which the SOP lacks: the account's Swahili, not
    // the fallback order's French.
    let (status, reading) = hub
        .get_json(&reader, "/api/v1/sops/lang-order/versions/current?lang=rn")
        .await;
    assert_eq!(status, 200, "{reading}");
    assert_eq!(reading["lang"], "sw", "{reading}");
}
