//! The event encodings and batching negotiated in `auth` (issue 18): a
//! client asking for `compact` (and `batch`) receives every event once,
//! with the same content as a `json` client of its redaction class, live
//! and on resume (from memory and from the log); an old client sees
//! nothing new; an unknown encoding is refused; a changed author reaches
//! compact clients as a new reference.

use mpaka_protocol::wire::Encoding;
use mpaka_protocol::{ClientFrame, Event, ServerFrame, PROTOCOL_VERSION};
use mpaka_tests::{ch, Client, TestHub};
use serde_json::json;
use std::time::Duration;

const CORRIDOR: &str = "corridor:mugina-manyovu";

/// A reader of the corridor connected one way.
struct Reader {
    client: Client,
    events: Vec<Event>,
}

async fn reader(hub: &TestHub, user: &str, encoding: Encoding, batch: bool) -> Reader {
    let token = hub.login(user).await.access_token;
    let mut client = hub.raw_socket().await;
    let welcome = client
        .auth_with(&token, encoding, batch)
        .await
        .expect("welcome");
    assert_eq!((welcome.encoding, welcome.batch), (encoding, batch));
    client
        .subscribe(&[ch(CORRIDOR)], None)
        .await
        .expect("subscribe");
    Reader {
        client,
        events: Vec::new(),
    }
}

/// Reads until `count` events have arrived (failing on more within a
/// short while after).
async fn collect(reader: &mut Reader, count: usize) {
    while reader.events.len() < count {
        let event = reader.client.next_event().await.expect("event");
        reader.events.push(event);
    }
    let extra = reader
        .client
        .events_within(Duration::from_millis(200))
        .await;
    assert!(extra.is_empty(), "events after the last: {extra:?}");
}

/// Publishes `count` messages without waiting between them (so that
/// several are queued together for batching), as two authors; their `seq`s.
async fn publish_burst(hub: &TestHub, count: usize) -> Vec<u64> {
    let mut writers = [
        hub.connect("mugina.officer").await,
        hub.connect("manyovu.officer").await,
    ];
    for i in 0..count {
        writers[i % 2]
            .send(&ClientFrame::Publish {
                id: format!("burst-{i}"),
                channel: ch(CORRIDOR),
                text: format!("Kundi la {i}: watu 40, \"wanawake\" na watoto\nkwa miguu"),
                lang: Some("sw".into()),
                written_at: None,
            })
            .await;
    }
    let mut seqs = Vec::new();
    for i in 0..count {
        match writers[i % 2].reply_to(&format!("burst-{i}")).await {
            ServerFrame::Published { seq, .. } => seqs.push(seq),
            other => panic!("publish {i}: {other:?}"),
        }
    }
    seqs.sort_unstable();
    seqs
}

async fn compact_matches_json(cache_bytes: usize) {
    let hub = TestHub::start_with(|s| {
        s.limits.publish_per_sec = std::num::NonZeroU32::new(1000).expect("non-zero");
        s.limits.publish_burst = std::num::NonZeroU32::new(1000).expect("non-zero");
        s.ws.replay_cache_bytes = std::num::NonZeroUsize::new(cache_bytes).expect("non-zero");
    })
    .await;
    let mut readers = vec![
        reader(&hub, "bi.coordinator", Encoding::Json, false).await,
        reader(&hub, "tz.coordinator", Encoding::Compact, true).await,
        reader(&hub, "manyovu.officer", Encoding::Compact, false).await,
        reader(&hub, "unhcr.observer", Encoding::Json, false).await,
        reader(&hub, "unhcr.observer", Encoding::Compact, true).await,
    ];
    const COUNT: usize = 30;
    let seqs = publish_burst(&hub, COUNT).await;
    for reader in &mut readers {
        collect(reader, COUNT).await;
    }
    let full = readers[0].events.clone();
    assert_eq!(full.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs);
    assert_eq!(readers[1].events, full, "compact and batched, live");
    assert_eq!(readers[2].events, full, "compact, live");
    let redacted = readers[3].events.clone();
    assert_ne!(redacted, full);
    assert!(redacted
        .iter()
        .all(|e| e.author.as_ref().is_some_and(|a| a.username.is_none())));
    assert_eq!(readers[4].events, redacted, "an observer's compact events");

    // Resume from the fifth event, each way: from memory with a large
    // cache, from the log with a tiny one.
    let since = seqs[4];
    for (user, encoding, batch, expected) in [
        ("tz.coordinator", Encoding::Compact, true, &full),
        ("tz.coordinator", Encoding::Compact, false, &full),
        ("bi.coordinator", Encoding::Json, false, &full),
        ("unhcr.observer", Encoding::Compact, true, &redacted),
    ] {
        let token = hub.login(user).await.access_token;
        let mut client = hub.raw_socket().await;
        client
            .auth_with(&token, encoding, batch)
            .await
            .expect("welcome");
        let (replayed, _) = client
            .subscribe(&[ch(CORRIDOR)], Some(since))
            .await
            .expect("resume");
        assert_eq!(
            replayed,
            expected[5..],
            "{user} {encoding:?} batch={batch} cache={cache_bytes}"
        );
        client.close().await;
    }
}

#[tokio::test]
async fn compact_and_batched_clients_get_what_json_clients_get_live_and_from_memory() {
    compact_matches_json(16 * 1024 * 1024).await;
}

#[tokio::test]
async fn compact_and_batched_clients_get_what_json_clients_get_when_resuming_from_the_log() {
    compact_matches_json(1).await;
}

#[tokio::test]
async fn a_client_that_asks_for_nothing_gets_one_json_event_per_message() {
    let hub = TestHub::start().await;
    let mut old = hub.connect("bi.coordinator").await;
    old.subscribe(&[ch(CORRIDOR)], None)
        .await
        .expect("subscribe");
    let seqs = publish_burst(&hub, 5).await;
    let mut seen = Vec::new();
    while seen.len() < seqs.len() {
        let text = old.next_text().await.expect("message");
        assert!(!text.contains('\n'), "one frame per message: {text}");
        let frame: serde_json::Value = serde_json::from_str(&text).expect("JSON object");
        if frame["type"] == "event" {
            assert!(frame["at"].is_string() && frame["author"]["username"].is_string());
            seen.push(frame["seq"].as_u64().expect("seq"));
        }
    }
    assert_eq!(seen, seqs);
}

#[tokio::test]
async fn a_batched_resume_packs_its_events_into_few_messages() {
    let hub = TestHub::start().await;
    let seqs = publish_burst(&hub, 20).await;
    let token = hub.login("bi.coordinator").await.access_token;
    let mut client = hub.raw_socket().await;
    client
        .auth_with(&token, Encoding::Compact, true)
        .await
        .expect("welcome");
    client
        .send(&ClientFrame::Subscribe {
            id: "s1".into(),
            channels: vec![ch(CORRIDOR)],
            since: Some(seqs[0] - 1),
            epoch: None,
        })
        .await;
    let (mut messages, mut events) = (0, 0);
    loop {
        let text = client.next_text().await.expect("message");
        messages += 1;
        events += text.lines().filter(|l| l.starts_with('[')).count();
        if text.contains("\"subscribed\"") {
            break;
        }
    }
    assert_eq!(events, seqs.len());
    assert!(
        messages < events / 2,
        "{messages} messages for {events} events"
    );
}

#[tokio::test]
async fn an_unknown_encoding_is_refused_with_its_own_code() {
    let hub = TestHub::start().await;
    let token = hub.login("bi.coordinator").await.access_token;
    let mut client = hub.raw_socket().await;
    client
        .send(&ClientFrame::Auth {
            id: "a1".into(),
            v: PROTOCOL_VERSION,
            token,
            encoding: Some("protobuf".into()),
            batch: false,
        })
        .await;
    match client.recv().await.expect("a reply") {
        ServerFrame::Error { id, error } => {
            assert_eq!(id.as_deref(), Some("a1"));
            assert_eq!(error.code.as_str(), "unsupported_encoding");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(
        client.ending().await,
        mpaka_tests::Ending::Closed(Some(4001))
    );
}

#[tokio::test]
async fn a_changed_author_reaches_compact_clients_as_a_new_reference() {
    let hub = TestHub::start().await;
    let mut compact = reader(&hub, "tz.coordinator", Encoding::Compact, true).await;
    let mut json_reader = reader(&hub, "bi.coordinator", Encoding::Json, false).await;

    let mut officer = hub.connect("mugina.officer").await;
    officer
        .publish(&ch(CORRIDOR), "first")
        .await
        .expect("publish");
    let (first_refs, _) = refs_then_event(&mut compact.client).await;
    assert_eq!(first_refs.authors.len(), 1, "{first_refs:?}");
    assert_eq!(first_refs.channels.len(), 1, "{first_refs:?}");
    officer.close().await;

    // The same person, now a coordinator: a new author value.
    let admin = hub.login("admin").await;
    let (status, body) = hub
        .post_json(
            &admin.access_token,
            "/api/v1/users/mugina.officer/role",
            &json!({ "role": "coordinator", "country": "BI" }),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let mut promoted = hub.connect("mugina.officer").await;
    promoted
        .publish(&ch(CORRIDOR), "second")
        .await
        .expect("publish");
    let (second_refs, second) = refs_then_event(&mut compact.client).await;
    assert!(second_refs.channels.is_empty(), "channel told once");
    assert_eq!(second_refs.authors.len(), 1, "{second_refs:?}");
    assert_ne!(second_refs.authors[0].key, first_refs.authors[0].key);
    assert_eq!(second_refs.authors[0].author.role.as_str(), "coordinator");
    collect(&mut json_reader, 2).await;
    assert_eq!(Some(&second), json_reader.events.last());
    assert_eq!(second.author.as_ref(), Some(&second_refs.authors[0].author));
}

/// Waits for the next `refs` frame and the event after it.
async fn refs_then_event(client: &mut Client) -> (mpaka_protocol::wire::Refs, Event) {
    loop {
        match client.recv().await.expect("frame") {
            ServerFrame::Refs(refs) => {
                let event = client.next_event().await.expect("event after refs");
                return (refs, event);
            }
            ServerFrame::Event(event) => panic!("event before its refs: {event:?}"),
            _ => {}
        }
    }
}
