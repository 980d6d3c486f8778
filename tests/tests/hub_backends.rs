//! The core end-to-end scenarios run on both backends: publish and receive
//! across the border, idempotent retries, resume while others publish,
//! a disabled user kicked out, and a restart keeping every acknowledged
//! event.

use mpaka_protocol::ChannelId;
use mpaka_tests::{ch, on_both_backends, Backend, Ending, TestHub};
use std::time::Duration;

fn joint() -> ChannelId {
    ch("corridor:mugina-manyovu")
}

async fn a_message_crosses_the_border_live(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |_| {}).await else {
        return;
    };
    let mut manyovu = hub.connect("manyovu.officer").await;
    manyovu.subscribe(&[joint()], None).await.unwrap();
    let mut mugina = hub.connect("mugina.officer").await;
    let seq = mugina
        .publish(&joint(), "Watu 400 wanawasili kwa miguu")
        .await
        .unwrap();
    let event = manyovu.next_event().await.unwrap();
    assert_eq!(event.seq, seq);
    assert_eq!(event.channel, joint());
}

async fn a_retried_publish_is_stored_once(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |_| {}).await else {
        return;
    };
    let mut mugina = hub.connect("mugina.officer").await;
    let (seq, duplicate) = mugina
        .publish_with_id("retry-1", &joint(), "Abantu 400 baraje")
        .await
        .unwrap();
    assert!(!duplicate);
    // The same id again, on a new connection (the reply was lost).
    let mut again = hub.connect("mugina.officer").await;
    let (seq2, duplicate) = again
        .publish_with_id("retry-1", &joint(), "Abantu 400 baraje")
        .await
        .unwrap();
    assert_eq!((seq2, duplicate), (seq, true));
    let conflict = again
        .publish_with_id("retry-1", &joint(), "a different text")
        .await
        .unwrap_err();
    assert_eq!(conflict.code.as_str(), "idempotency_conflict");
    let stored = hub
        .state
        .store
        .channel_events(&[joint()], 0, u64::MAX >> 1, 100)
        .await
        .unwrap();
    assert_eq!(stored.iter().filter(|e| e.seq == seq).count(), 1);
    assert_eq!(stored.len(), 1);
}

async fn a_client_resumes_without_gap_or_duplicate_while_others_publish(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |_| {}).await else {
        return;
    };
    let hub = std::sync::Arc::new(hub);
    let start = hub.state.store.head_seq().await.unwrap();
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut mugina = hub.connect("mugina.officer").await;
            let mut seqs = Vec::new();
            for i in 0..150 {
                seqs.push(mugina.publish(&joint(), &format!("m{i}")).await.unwrap());
            }
            seqs
        })
    };
    let mut seen: Vec<u64> = Vec::new();
    let mut last = Some(start);
    // Connect, read a little, drop; repeat until the publisher is done.
    for round in 0..6 {
        let mut manyovu = hub.connect("manyovu.officer").await;
        let (replayed, _) = manyovu.subscribe(&[joint()], last).await.unwrap();
        seen.extend(replayed.iter().map(|e| e.seq));
        let live = manyovu
            .events_within(Duration::from_millis(30 + 20 * round))
            .await;
        seen.extend(live.iter().map(|e| e.seq));
        last = seen.last().copied().or(last);
        manyovu.close().await;
    }
    let published = publisher.await.unwrap();
    let mut manyovu = hub.connect("manyovu.officer").await;
    let (replayed, _) = manyovu.subscribe(&[joint()], last).await.unwrap();
    seen.extend(replayed.iter().map(|e| e.seq));
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicate"
    );
    assert_eq!(seen, published, "every acknowledged event, nothing else");
}

async fn a_disabled_user_is_closed_and_cannot_refresh(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |_| {}).await else {
        return;
    };
    let mut kobero = hub.connect("kobero.officer").await;
    let tokens = hub.login("kobero.officer").await;
    let user_id = tokens.user.id;
    mpaka_server::admin::set_disabled(
        &hub.state.store,
        mpaka_server::admin::Actor::Operator,
        user_id,
        true,
    )
    .await
    .unwrap();
    assert!(matches!(kobero.ending().await, Ending::Closed(Some(_))));
    let response = hub
        .http()
        .post(hub.url("/api/v1/auth/refresh"))
        .json(&serde_json::json!({ "refresh_token": tokens.refresh_token }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
}

async fn a_restart_keeps_every_acknowledged_event(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |_| {}).await else {
        return;
    };
    let mut mugina = hub.connect("mugina.officer").await;
    let mut seqs = Vec::new();
    for i in 0..20 {
        seqs.push(
            mugina
                .publish(&joint(), &format!("before {i}"))
                .await
                .unwrap(),
        );
    }
    drop(mugina);
    let hub = hub.restart().await;
    let mut manyovu = hub.connect("manyovu.officer").await;
    let (replayed, _) = manyovu.subscribe(&[joint()], Some(0)).await.unwrap();
    assert_eq!(replayed.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs);
    let mut mugina = hub.connect("mugina.officer").await;
    let next = mugina.publish(&joint(), "after").await.unwrap();
    assert!(next > *seqs.last().unwrap());
}

async fn resuming_on_a_node_that_lags_behind_delivers_nothing_twice(backend: Backend) {
    let Some(a) = TestHub::start_on(backend, |_| {}).await else {
        return;
    };
    // Node B shares the database but would notice other nodes' commits
    // only by polling, which it does not do within this test (on SQLite
    // there is no NOTIFY): its dispatcher lags behind node A.
    let url = a.database_url();
    let b = TestHub::start_in(&a.data_dir, |s| {
        s.database_url = Some(mpaka_server::config::Secret::new(url));
        s.limits.poll_ms = mpaka_server::config::Millis::of(600_000);
    })
    .await;
    let mut manyovu = a.connect("manyovu.officer").await;
    let (_, start) = manyovu.subscribe(&[joint()], None).await.unwrap();
    let mut mugina = a.connect("mugina.officer").await;
    let mut seen = Vec::new();
    for i in 0..5 {
        mugina
            .publish(&joint(), &format!("on A {i}"))
            .await
            .unwrap();
        seen.push(manyovu.next_event().await.unwrap().seq);
    }
    // The client moves to node B and resumes from what it saw on A.
    let mut on_b = b.connect("manyovu.officer").await;
    let (replayed, _) = on_b
        .subscribe(&[joint()], Some(*seen.last().unwrap()))
        .await
        .unwrap();
    assert!(replayed.is_empty(), "{replayed:?}");
    let mut mugina_b = b.connect("mugina.officer").await;
    let next = mugina_b.publish(&joint(), "on B").await.unwrap();
    let live = on_b.events_within(Duration::from_millis(300)).await;
    assert_eq!(
        live.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [next],
        "only the new event; those seen on A ({seen:?}, after {start}) not again"
    );
}

on_both_backends!(
    resuming_on_a_node_that_lags_behind_delivers_nothing_twice,
    a_message_crosses_the_border_live,
    a_retried_publish_is_stored_once,
    a_client_resumes_without_gap_or_duplicate_while_others_publish,
    a_disabled_user_is_closed_and_cannot_refresh,
    a_restart_keeps_every_acknowledged_event,
);
