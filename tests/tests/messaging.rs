//! Publishing, idempotent retries, history, and resuming after a drop while
//! others keep publishing.

use mpaka_protocol::{ClientFrame, ErrorCode, ServerFrame};
use mpaka_tests::{ch, on_both_backends, Backend, TestHub};
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test]
async fn a_message_crosses_the_border_after_it_is_stored() {
    let hub = TestHub::start().await;
    let corridor = ch("corridor:mugina-manyovu");
    let mut manyovu = hub.connect("manyovu.officer").await;
    manyovu
        .subscribe(std::slice::from_ref(&corridor), None)
        .await
        .unwrap();
    let mut mugina = hub.connect("mugina.officer").await;
    let text = "Abantu 400 bashika n'amaguru — 400 personnes à pied, wengi wanawake na watoto";
    let seq = mugina.publish(&corridor, text).await.expect("published");
    let event = manyovu.next_event().await.unwrap();
    assert_eq!(event.seq, seq);
    assert_eq!(event.channel, corridor);
    assert_eq!(
        event.author.unwrap().username.as_deref(),
        Some("mugina.officer")
    );
    assert_eq!(
        serde_json::to_value(&event.data).unwrap()["body"]["text"],
        text
    );
    // And it is in the history, over the socket and over REST.
    let reply = manyovu
        .request(&ClientFrame::History {
            id: "h".into(),
            channel: corridor.clone(),
            before: None,
            limit: Some(10),
        })
        .await;
    let ServerFrame::History { events, .. } = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(events.first().map(|e| e.seq), Some(seq));
    let token = hub.login("manyovu.officer").await.access_token;
    let (status, body) = hub
        .get_json(
            &token,
            "/api/v1/channels/corridor:mugina-manyovu/messages?limit=5",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["seq"], seq);
}

#[tokio::test]
async fn the_same_publish_id_is_stored_once_and_answered_the_same() {
    let hub = TestHub::start().await;
    let post = ch("post:kabanga");
    let mut officer = hub.connect("kabanga.officer").await;
    let (seq, duplicate) = officer
        .publish_with_id("retry-1", &post, "Hali ni shwari")
        .await
        .unwrap();
    assert!(!duplicate);
    // A retry after a lost reply, even on a new connection.
    let mut again = hub.connect("kabanga.officer").await;
    let (seq2, duplicate2) = again
        .publish_with_id("retry-1", &post, "Hali ni shwari")
        .await
        .unwrap();
    assert_eq!((seq2, duplicate2), (seq, true));
    // The same id for a different message is a conflict, not a silent overwrite.
    let error = again
        .publish_with_id("retry-1", &post, "something else")
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::IdempotencyConflict);
    // REST uses the Idempotency-Key header the same way.
    let token = hub.login("kabanga.officer").await.access_token;
    let send = || {
        hub.http()
            .post(hub.url("/api/v1/channels/post:kabanga/messages"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "rest-1")
            .json(&serde_json::json!({ "text": "from a script", "lang": "en" }))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.status(), 200);
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(first["seq"], second["seq"]);
    assert_eq!(second["duplicate"], true);
    let (_, history) = hub
        .get_json(&token, "/api/v1/channels/post:kabanga/messages")
        .await;
    assert_eq!(
        history.as_array().unwrap().len(),
        2,
        "stored once each: {history}"
    );
}

#[tokio::test]
async fn invalid_messages_get_field_errors_and_floods_are_rate_limited() {
    let hub = TestHub::start_with(|s| {
        s.limits.publish_per_sec = std::num::NonZeroU32::new(5).expect("non-zero");
        s.limits.publish_burst = std::num::NonZeroU32::new(5).expect("non-zero");
    })
    .await;
    let post = ch("post:mugina");
    let mut officer = hub.connect("mugina.officer").await;
    for (text, lang, field) in [
        ("   ", None, "text"),
        (&"x".repeat(8001)[..], None, "text"),
        ("ok", Some("not a tag!"), "lang"),
    ] {
        let reply = officer
            .request(&ClientFrame::Publish {
                written_at: None,
                id: format!("bad-{field}-{}", text.len()),
                channel: post.clone(),
                text: text.into(),
                lang: lang.map(Into::into),
            })
            .await;
        let ServerFrame::Error { error, .. } = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(error.code, ErrorCode::ValidationFailed);
        assert_eq!(error.fields[0].field, field);
    }
    let mut limited = 0;
    for i in 0..20 {
        match officer.publish(&post, &format!("flood {i}")).await {
            Ok(_) => {}
            Err(error) => {
                assert_eq!(error.code, ErrorCode::RateLimited);
                assert!(error.retry_after_ms.unwrap_or(0) > 0);
                limited += 1;
            }
        }
    }
    assert!(limited >= 10, "only {limited} of 20 were limited");
}

#[tokio::test]
async fn a_client_that_drops_mid_stream_resumes_with_no_gap_and_no_duplicate() {
    let hub = TestHub::start().await;
    let corridor = ch("corridor:gisuru-kibondo");
    // Two publishers keep going the whole time.
    let mut publishers = Vec::new();
    for user in ["gisuru.officer", "kibondo.officer"] {
        let mut client = hub.connect(user).await;
        let channel = corridor.clone();
        publishers.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..150 {
                seqs.push(
                    client
                        .publish(&channel, &format!("{i}"))
                        .await
                        .expect("publish"),
                );
            }
            seqs
        }));
    }
    let mut seen: Vec<u64> = Vec::new();
    let mut last = 0;
    // Connect, read a little, drop abruptly; three times over. The first
    // connection asks for everything from the start.
    for _round in 0..3 {
        let mut reader = hub.connect("tz.coordinator").await;
        let (replayed, _) = reader
            .subscribe(std::slice::from_ref(&corridor), Some(last))
            .await
            .unwrap();
        seen.extend(replayed.iter().map(|e| e.seq));
        // A few live events, unless the publishers are already done.
        for _ in 0..40 {
            match tokio::time::timeout(Duration::from_millis(500), reader.next_event()).await {
                Ok(Ok(event)) => seen.push(event.seq),
                _ => break,
            }
        }
        last = seen.last().copied().unwrap_or(last);
        drop(reader);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut published: Vec<u64> = Vec::new();
    for publisher in publishers {
        published.extend(publisher.await.unwrap());
    }
    // Final resume after the publishers finished: everything else arrives.
    let mut reader = hub.connect("tz.coordinator").await;
    let (replayed, _) = reader
        .subscribe(std::slice::from_ref(&corridor), Some(last))
        .await
        .unwrap();
    seen.extend(replayed.iter().map(|e| e.seq));
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "duplicates delivered");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "out of order");
    let expected: BTreeSet<u64> = published.iter().copied().collect();
    assert_eq!(
        unique, expected,
        "gap: some acknowledged events never arrived"
    );
}

#[tokio::test]
async fn acknowledged_events_survive_a_restart() {
    let hub = TestHub::start().await;
    let channel = ch("national:BI");
    let mut coordinator = hub.connect("bi.coordinator").await;
    let mut acked = Vec::new();
    for i in 0..50 {
        acked.push(
            coordinator
                .publish(&channel, &format!("broadcast {i}"))
                .await
                .unwrap(),
        );
    }
    coordinator.close().await;
    let hub = hub.restart().await;
    let mut officer = hub.connect("kobero.officer").await;
    let (replayed, through) = officer.subscribe(&[channel], Some(0)).await.unwrap();
    let got: Vec<u64> = replayed.iter().map(|e| e.seq).collect();
    assert_eq!(got, acked);
    assert!(through >= *acked.last().unwrap());
}

/// Publishes sent back to back share a commit (the committer stores each
/// batch with a few multi-row statements). Within one batch, as across
/// batches: each id is stored once, a repeat gets the first one's seq as a
/// duplicate, an id reused for other text is refused, one socket's
/// publishes keep their order, and every leaf matches its row.
async fn publishes_sent_at_once_are_stored_once_each_in_order(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |s| {
        s.limits.publish_per_sec = std::num::NonZeroU32::new(10_000).expect("non-zero");
        s.limits.publish_burst = std::num::NonZeroU32::new(10_000).expect("non-zero");
    })
    .await
    else {
        return;
    };
    let post = ch("post:kabanga");
    let mut first = hub.connect("kabanga.officer").await;
    let mut retry = hub.connect("kabanga.officer").await;
    let publish = |id: &str, text: &str| ClientFrame::Publish {
        id: id.into(),
        channel: post.clone(),
        text: text.into(),
        lang: None,
        written_at: None,
    };
    // Nothing is read until every frame is sent.
    const N: usize = 300;
    for i in 0..N {
        first
            .send(&publish(&format!("burst-{i}"), &format!("m{i}")))
            .await;
        retry
            .send(&publish(&format!("burst-{i}"), &format!("m{i}")))
            .await;
    }
    first.send(&publish("clash", "one")).await;
    retry.send(&publish("clash", "two")).await;

    let mut stored = Vec::new();
    for i in 0..N {
        let id = format!("burst-{i}");
        let mut answers = Vec::new();
        for socket in [&mut first, &mut retry] {
            match socket.reply_to(&id).await {
                ServerFrame::Published { seq, duplicate, .. } => answers.push((seq, duplicate)),
                other => panic!("{id}: {other:?}"),
            }
        }
        assert_eq!(answers[0].0, answers[1].0, "{id} stored twice: {answers:?}");
        assert_eq!(
            answers.iter().filter(|(_, duplicate)| !duplicate).count(),
            1,
            "{id}: exactly one answer is the original: {answers:?}"
        );
        stored.push(answers[0].0);
    }
    assert!(
        stored.windows(2).all(|pair| pair[0] < pair[1]),
        "one socket's publishes are stored in the order sent"
    );
    let mut clash = Vec::new();
    for socket in [&mut first, &mut retry] {
        clash.push(match socket.reply_to("clash").await {
            ServerFrame::Published { .. } => true,
            ServerFrame::Error { error, .. } => {
                assert_eq!(error.code, ErrorCode::IdempotencyConflict);
                false
            }
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(clash.iter().filter(|ok| **ok).count(), 1, "{clash:?}");

    // Stored once each, by text.
    let token = hub.login("kabanga.officer").await.access_token;
    let mut texts = Vec::new();
    let mut before = String::new();
    loop {
        let (status, page) = hub
            .get_json(
                &token,
                &format!("/api/v1/channels/post:kabanga/messages?limit=200{before}"),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let page = page.as_array().expect("a list").clone();
        let Some(oldest) = page.last().map(|e| e["seq"].as_u64().expect("seq")) else {
            break;
        };
        texts.extend(
            page.iter()
                .map(|e| e["body"]["text"].as_str().unwrap_or("").to_owned()),
        );
        before = format!("&before={oldest}");
    }
    for i in 0..N {
        let text = format!("m{i}");
        assert_eq!(texts.iter().filter(|t| **t == text).count(), 1, "{text}");
    }
    assert_eq!(
        texts.iter().filter(|t| *t == "one" || *t == "two").count(),
        1
    );
    let auditor = hub.login("auditor").await;
    let (_, report) = hub
        .get_json(&auditor.access_token, "/api/v1/log/verify")
        .await;
    assert_eq!(report["intact"], true, "{report}");
    let batches = hub.metric("mpaka_commit_batch_size_count").await;
    let publishes = hub.metric("mpaka_commit_batch_size_sum").await;
    println!("{backend:?}: {publishes} publishes in {batches} commits");
}

/// A durable publish claims its id with one insert, after its event row is
/// written, so a batch that mixes new publishes with retries of ids stored
/// in earlier batches (and with ids reused for other text) must withdraw
/// the rows of the latter before committing. Checked: each retry gets the
/// first commit's seq as a duplicate, each reuse is refused, a repeat in
/// the batch whose text matches the stored one (after one that does not)
/// is still a duplicate, subscribers receive only the new events, the
/// history holds each text once, and every log leaf matches its row.
async fn retries_of_stored_ids_among_new_publishes_leave_no_trace(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |s| {
        s.limits.publish_per_sec = std::num::NonZeroU32::new(10_000).expect("non-zero");
        s.limits.publish_burst = std::num::NonZeroU32::new(10_000).expect("non-zero");
    })
    .await
    else {
        return;
    };
    let post = ch("post:kabanga");
    let mut watcher = hub.connect("kabanga.officer").await;
    watcher
        .subscribe(std::slice::from_ref(&post), None)
        .await
        .unwrap();
    let mut sender = hub.connect("kabanga.officer").await;
    const EARLIER: usize = 20;
    let mut earlier = Vec::new();
    for i in 0..EARLIER {
        let (seq, duplicate) = sender
            .publish_with_id(&format!("early-{i}"), &post, &format!("e{i}"))
            .await
            .unwrap();
        assert!(!duplicate);
        earlier.push(seq);
    }
    for _ in 0..EARLIER {
        watcher.next_event().await.unwrap();
    }

    let publish = |id: String, text: String| ClientFrame::Publish {
        id,
        channel: post.clone(),
        text,
        lang: None,
        written_at: None,
    };
    // Sent back to back, nothing read in between, so that they share
    // commits: new ids interleaved with retries (even i) and reuses (odd i)
    // of the earlier ones; early-0 also comes once with other text first
    // and then again with its own.
    const NEW: usize = 100;
    sender
        .send(&publish("early-0".into(), "not e0".into()))
        .await;
    sender.send(&publish("early-0".into(), "e0".into())).await;
    for i in 0..NEW {
        sender
            .send(&publish(format!("new-{i}"), format!("n{i}")))
            .await;
        let old = 1 + i % (EARLIER - 1);
        let text = if old.is_multiple_of(2) {
            format!("e{old}")
        } else {
            format!("other {old}")
        };
        sender.send(&publish(format!("early-{old}"), text)).await;
    }

    // Replies to one id come in the order sent; read them all.
    let mut answers: std::collections::HashMap<String, Vec<ServerFrame>> = Default::default();
    let expected = 2 + 2 * NEW;
    for _ in 0..expected {
        let frame = sender.recv().await.unwrap();
        let id = match &frame {
            ServerFrame::Published { id, .. } => id.clone(),
            ServerFrame::Error { id: Some(id), .. } => id.clone(),
            other => panic!("{other:?}"),
        };
        answers.entry(id).or_default().push(frame);
    }
    let refused = |frame: &ServerFrame| {
        matches!(frame, ServerFrame::Error { error, .. }
            if error.code == ErrorCode::IdempotencyConflict)
    };
    let early0 = &answers["early-0"];
    assert!(refused(&early0[0]), "{early0:?}");
    assert!(
        matches!(early0[1], ServerFrame::Published { seq, duplicate: true, .. } if seq == earlier[0]),
        "{early0:?}"
    );
    let mut new_seqs = BTreeSet::new();
    for (id, frames) in &answers {
        if let Some(i) = id.strip_prefix("new-") {
            let ServerFrame::Published { seq, duplicate, .. } = frames[0] else {
                panic!("{id}: {frames:?}")
            };
            assert!(!duplicate, "{id}");
            assert!(seq > earlier[EARLIER - 1], "{id}");
            new_seqs.insert(seq);
            assert!(i.parse::<usize>().is_ok());
        } else if id != "early-0" {
            let old: usize = id["early-".len()..].parse().unwrap();
            for frame in frames {
                if old.is_multiple_of(2) {
                    assert!(
                        matches!(frame, ServerFrame::Published { seq, duplicate: true, .. } if *seq == earlier[old]),
                        "{id}: {frame:?}"
                    );
                } else {
                    assert!(refused(frame), "{id}: {frame:?}");
                }
            }
        }
    }
    assert_eq!(new_seqs.len(), NEW);

    // The watcher gets exactly the new events, then nothing: a marker
    // published last arrives next.
    let mut delivered = BTreeSet::new();
    for _ in 0..NEW {
        let event = watcher.next_event().await.unwrap();
        let text = serde_json::to_value(&event.data).unwrap()["body"]["text"].clone();
        assert!(text.as_str().is_some_and(|t| t.starts_with('n')), "{text}");
        delivered.insert(event.seq);
    }
    assert_eq!(delivered, new_seqs);
    let marker = sender.publish(&post, "marker").await.unwrap();
    assert_eq!(watcher.next_event().await.unwrap().seq, marker);

    let token = hub.login("kabanga.officer").await.access_token;
    let (status, page) = hub
        .get_json(&token, "/api/v1/channels/post:kabanga/messages?limit=500")
        .await;
    assert_eq!(status, 200, "{page}");
    let texts: Vec<&str> = page
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["body"]["text"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(texts.len(), EARLIER + NEW + 1, "{texts:?}");
    assert!(!texts
        .iter()
        .any(|t| t.starts_with("not") || t.starts_with("other")));
    let auditor = hub.login("auditor").await;
    let (_, report) = hub
        .get_json(&auditor.access_token, "/api/v1/log/verify")
        .await;
    assert_eq!(report["intact"], true, "{report}");
    let batches = hub.metric("mpaka_commit_batch_size_count").await;
    let publishes = hub.metric("mpaka_commit_batch_size_sum").await;
    println!("{backend:?}: {publishes} publishes in {batches} commits");
}

on_both_backends!(
    publishes_sent_at_once_are_stored_once_each_in_order,
    retries_of_stored_ids_among_new_publishes_leave_no_trace,
);
