//! Retention with clock-shortened settings (text older than 1 s, checked
//! every 100 ms) on two nodes sharing one database: personal free text is
//! redacted once, counts and alert structure stay, every redaction has a
//! tombstone in the verifiable log (which still verifies) and an audit
//! entry, and a client resuming from before the redaction receives the
//! redacted bodies, from memory or from the log.

use mpaka_protocol::{ChannelId, EventData};
use mpaka_tests::{uuid_like, Backend, TestHub, PATIENCE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn short_retention(s: &mut mpaka_server::Settings) {
    s.retention.redact_after_secs = 1;
    s.retention.check_interval_ms = 100;
}

async fn post(hub: &TestHub, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = hub
        .http()
        .post(hub.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid_like())
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Polls `read` until `done` holds for its answer.
async fn until(mut read: impl AsyncFnMut() -> Value, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        assert!(started.elapsed() < PATIENCE, "never happened: {value}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn old_personal_text_is_redacted_once_with_tombstones_while_structure_and_audit_remain() {
    let hub = TestHub::start_with(short_retention).await;
    let second = TestHub::start_in(&hub.data_dir, short_retention).await;
    redacts_personal_text(&hub, &second).await;
}

#[tokio::test]
async fn retention_works_the_same_on_postgresql() {
    let Some(hub) = TestHub::start_on(Backend::Postgres, short_retention).await else {
        return;
    };
    redacts_personal_text(&hub, &hub).await;
}

/// The scenario, with `second` another node on the same database (or the
/// same node).
async fn redacts_personal_text(hub: &TestHub, second: &TestHub) {
    let name = "Jean Ndayishimiye";
    let mut officer = hub.connect("mugina.officer").await;
    let channel = ChannelId::Post("mugina".into());
    let message_seq = officer
        .publish(&channel, &format!("{name} arrived with three children"))
        .await
        .unwrap();
    let mugina = hub.login("mugina.officer").await.access_token;
    let (status, raised) = post(
        hub,
        &mugina,
        "/api/v1/alerts",
        json!({
            "kind": "mass_arrival", "direction": "into_burundi", "headcount": 400,
            "severity": "severe", "urgency": "immediate", "certainty": "observed",
            "text": {"text": format!("{name} leads 400 people on foot"), "lang": "en"},
            "status": "actual"
        }),
    )
    .await;
    assert_eq!(status, 201, "{raised}");
    let id = raised["alert"]["id"].as_str().unwrap().to_owned();
    let (status, resolved) = post(
        hub,
        &mugina,
        &format!("/api/v1/alerts/{id}/resolve"),
        json!({"reason": format!("{name} and the group moved to the transit centre")}),
    )
    .await;
    assert_eq!(status, 200, "{resolved}");
    // A flow report corrected with a reason that names someone.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let at = |secs: i64| {
        time::OffsetDateTime::from_unix_timestamp(secs)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let line = |men: u32| json!({"direction": "in", "nationality": "TZ", "men": men, "women": 0, "boys": 0, "girls": 0});
    let (status, report) = post(
        hub,
        &mugina,
        "/api/v1/flows/reports",
        json!({"post": "mugina", "period_start": at(now - 3600), "period_end": at(now),
               "sharing": "joint", "lines": [line(12)]}),
    )
    .await;
    assert_eq!(status, 201, "{report}");
    let report_id = report["report"]["id"].as_str().unwrap().to_owned();
    let (status, corrected) = post(
        hub,
        &mugina,
        &format!("/api/v1/flows/reports/{report_id}/correct"),
        json!({"lines": [line(10)], "reason": format!("{name} was counted twice")}),
    )
    .await;
    assert_eq!(status, 200, "{corrected}");

    // A client that saw everything live, before retention ran.
    let (seen, _) = officer
        .subscribe(std::slice::from_ref(&channel), Some(0))
        .await
        .unwrap();
    assert!(seen.iter().any(|e| e.seq == message_seq));

    // The alert: text and closing reason go, the structure stays.
    let detail = until(
        async || {
            hub.get_json(&mugina, &format!("/api/v1/alerts/{id}"))
                .await
                .1
        },
        |d| d["alert"]["text"]["text"] == "[redacted]",
    )
    .await;
    let alert = &detail["alert"];
    assert_eq!(alert["text"]["lang"], "en");
    assert_eq!(alert["headcount"], 400);
    assert_eq!(alert["severity"], "severe");
    assert_eq!(alert["state"], "resolved");
    assert_eq!(alert["closing"]["reason"], "[redacted]");
    assert!(detail["history"].as_array().unwrap().len() >= 2);
    assert!(!detail.to_string().contains(name), "{detail}");

    // The message: its text goes, its author of record stays.
    let history = until(
        async || {
            hub.get_json(&mugina, "/api/v1/channels/post:mugina/messages")
                .await
                .1
        },
        |h| !h.to_string().contains(name),
    )
    .await;
    let message = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["seq"] == message_seq)
        .expect("the message is still there");
    assert_eq!(message["body"]["text"], "[redacted]");
    assert_eq!(message["author"]["username"], "mugina.officer");

    // The flow report: the figures stay, the reason goes, in its stored
    // versions as in its events.
    let flow = until(
        async || {
            hub.get_json(&mugina, &format!("/api/v1/flows/reports/{report_id}"))
                .await
                .1
        },
        |f| !f.to_string().contains(name),
    )
    .await;
    assert!(flow.to_string().contains("[redacted]"), "{flow}");
    assert!(flow.to_string().contains("\"men\":10"), "{flow}");

    // Resuming from before the redaction, on either node, gives the
    // redacted bodies.
    for node in [hub, second] {
        let mut client = node.connect("mugina.officer").await;
        let (replayed, _) = client
            .subscribe(std::slice::from_ref(&channel), Some(0))
            .await
            .unwrap();
        let message = replayed
            .iter()
            .find(|e| e.seq == message_seq)
            .expect("replayed");
        let EventData::Message(body) = &message.data else {
            panic!("{message:?}")
        };
        assert_eq!(body.text, "[redacted]");
    }

    // The record: intact, with one tombstone per redacted event, each
    // counted once in the audit trail although two nodes ran the job.
    let auditor = hub.login("auditor").await.access_token;
    let (status, report) = hub.get_json(&auditor, "/api/v1/log/verify").await;
    assert_eq!(status, 200);
    assert_eq!(report["intact"], true, "{report}");
    let redacted = report["redacted"].as_array().unwrap().len();
    // The message, the raise and the resolution at least.
    assert!(redacted >= 3, "{report}");
    let (_, entries) = hub
        .get_json(
            &auditor,
            "/api/v1/audit?action=retention.redacted&limit=1000",
        )
        .await;
    let counted: u64 = entries
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["detail"]["events"].as_u64())
        .sum();
    assert_eq!(counted as usize, redacted, "{entries}");
    assert!(entries
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["target"] == "alerts" && e["detail"]["alerts"][0] == id.as_str()));
    let (_, verdict) = hub.get_json(&auditor, "/api/v1/audit/verify").await;
    assert_eq!(verdict["intact"], true, "{verdict}");
}

#[tokio::test]
async fn retention_is_off_by_default() {
    let hub = TestHub::start().await;
    assert_eq!(hub.state.settings.retention.redact_after_secs, 0);
    let outcome = mpaka_server::retention::run_once(&hub.state, i64::MAX / 2)
        .await
        .unwrap();
    assert_eq!(outcome, None);
}
