//! Faults a border post meets, against real hubs: a full disk on a small
//! real file system the test mounts (a `tmpfs`), then freed: the hub must
//! refuse writes with `unavailable` and a reason, report itself not ready,
//! and resume writing by itself once space is back, without a restart.
//! And PostgreSQL link faults through a proxy between one node and the
//! database (stall inside a write transaction, resets, delays): the other
//! node keeps acknowledging and nothing acknowledged is lost.

use mpaka_protocol::ErrorCode;
use mpaka_server::config::Secret;
use mpaka_tests::disk::SmallDisk;
use mpaka_tests::proxy::{LinkMode, LinkProxy};
use mpaka_tests::{ch, Backend, TestDb, TestHub, PATIENCE};
use std::time::{Duration, Instant};

/// Size of the mounted file system: room for the demo database and its WAL.
const DISK: u64 = 24 * 1024 * 1024;

async fn readyz(hub: &TestHub) -> (u16, String) {
    let response = hub
        .http()
        .get(hub.url("/readyz"))
        .send()
        .await
        .expect("readyz answers");
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_on_a_full_disk_does_not_wedge_the_hub() {
    let Some(disk) = SmallDisk::mount(DISK) else {
        return;
    };
    // No early refusal: the database itself must run out of space.
    let hub = TestHub::start_in(disk.path(), |s| s.storage.min_free_bytes = 0).await;
    let corridor = ch("corridor:mugina-manyovu");
    let mut officer = hub.connect("mugina.officer").await;
    officer
        .publish(&corridor, "before")
        .await
        .expect("published");

    let filler = disk.fill("filler", 0);
    // Publish large messages until the database cannot grow any more.
    let text = "x".repeat(7_000);
    let mut refusal = None;
    for _ in 0..2000 {
        if let Err(error) = officer.publish(&corridor, &text).await {
            refusal = Some(error);
            break;
        }
    }
    let refusal = refusal.expect("a write fails on a full disk");
    assert_eq!(refusal.code, ErrorCode::Unavailable, "{refusal:?}");
    assert!(
        refusal.message.contains("disk full") || refusal.message.contains("I/O"),
        "the reason is told: {}",
        refusal.message
    );
    let (status, body) = readyz(&hub).await;
    assert_eq!(status, 503, "not ready while writes fail: {body}");

    std::fs::remove_file(filler).expect("free the disk");
    // Writes resume by themselves: no restart.
    let deadline = Instant::now() + PATIENCE;
    let seq = loop {
        match officer.publish(&corridor, "after").await {
            Ok(seq) => break seq,
            Err(error) if Instant::now() < deadline => {
                assert_eq!(error.code, ErrorCode::Unavailable, "{error:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("writes did not resume after space was freed: {error:?}"),
        }
    };
    assert!(seq > 1);
    // Logins write too (refresh tokens).
    let _ = hub.login("manyovu.officer").await;
    let (status, body) = readyz(&hub).await;
    assert_eq!(status, 200, "ready again: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_refused_early_below_the_free_space_threshold() {
    let Some(disk) = SmallDisk::mount(DISK) else {
        return;
    };
    let threshold = 8 * 1024 * 1024;
    let hub = TestHub::start_in(disk.path(), |s| s.storage.min_free_bytes = threshold).await;
    let corridor = ch("corridor:mugina-manyovu");
    let mut officer = hub.connect("mugina.officer").await;
    officer
        .publish(&corridor, "before")
        .await
        .expect("published");
    assert_eq!(readyz(&hub).await.0, 200);
    assert!(hub.metric("mpaka_storage_free_bytes").await > threshold as f64);

    // Leave less than the threshold, but plenty for SQLite itself.
    let filler = disk.fill("filler", threshold / 2);
    let error = officer
        .publish(&corridor, "refused")
        .await
        .expect_err("refused below the threshold");
    assert_eq!(error.code, ErrorCode::Unavailable, "{error:?}");
    assert!(error.message.contains("free space"), "{}", error.message);
    let (status, body) = readyz(&hub).await;
    assert_eq!(status, 503);
    assert!(body.contains("free space"), "{body}");
    assert!(hub.metric("mpaka_storage_free_bytes").await < threshold as f64);
    assert!(hub.metric("mpaka_storage_write_refusals_total").await >= 1.0);

    std::fs::remove_file(filler).expect("free the disk");
    officer
        .publish(&corridor, "after")
        .await
        .expect("writes resume once space is back");
    assert_eq!(readyz(&hub).await.0, 200);
}

/// Where the test PostgreSQL listens, as it appears in test database URLs.
const PG: &str = "127.0.0.1:5432";

/// Two hubs on one PostgreSQL database: `a` through a faulty link, `b` direct.
async fn two_nodes_one_behind_a_proxy(
) -> Option<(TestDb, LinkProxy, TestHub, TestHub, tempfile::TempDir)> {
    let db = TestDb::fresh(Backend::Postgres).await?;
    assert!(db.url.contains(PG), "the test database is at {PG}");
    let proxy = LinkProxy::start(PG.parse().expect("address")).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let proxied = proxy.rewrite_url(&db.url, PG);
    let a = TestHub::start_in(dir.path(), |s| {
        s.database_url = Some(Secret::new(proxied));
        s.node_id = Some("behind-proxy".into());
    })
    .await;
    let direct = db.url.clone();
    let b = TestHub::start_in(dir.path(), |s| {
        s.database_url = Some(Secret::new(direct));
        s.node_id = Some("direct".into());
    })
    .await;
    Some((db, proxy, a, b, dir))
}

/// Every acknowledged seq is in the log exactly once, with its text.
async fn assert_all_acknowledged_are_stored(hub: &TestHub, acked: &[(u64, String)]) {
    let events = hub
        .state
        .store
        .events_after(0, 100_000)
        .await
        .expect("log reads");
    let mut texts = std::collections::HashMap::new();
    for event in &events {
        if let mpaka_protocol::EventData::Message(body) = &event.data {
            *texts.entry(body.text.clone()).or_insert(0) += 1;
        }
    }
    for (seq, text) in acked {
        let stored = events.iter().find(|e| e.seq == *seq).map(|e| &e.data);
        match stored {
            Some(mpaka_protocol::EventData::Message(body)) => assert_eq!(&body.text, text),
            other => panic!("acknowledged seq {seq} ({text}) is not stored: {other:?}"),
        }
        assert_eq!(texts.get(text), Some(&1), "{text} stored exactly once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stalled_while_holding_the_write_lock_does_not_stop_the_others() {
    let Some((_db, proxy, a, b, _dir)) = two_nodes_one_behind_a_proxy().await else {
        return;
    };
    let corridor = ch("corridor:mugina-manyovu");
    let mut at_a = a.connect("mugina.officer").await;
    let mut at_b = b.connect("manyovu.officer").await;
    let mut acked = Vec::new();
    let seq = at_a
        .publish(&corridor, "a-before")
        .await
        .expect("a publishes");
    acked.push((seq, "a-before".to_owned()));

    // Stall a's link right after it asked for the write lock.
    proxy.set(LinkMode::StallAfter(b"pg_advisory_xact_lock".to_vec()));
    let stalled_publish = tokio::spawn(async move {
        let result = at_a.publish(&corridor_of(), "a-stalled").await;
        (at_a, result)
    });
    tokio::time::timeout(PATIENCE, proxy.stalled())
        .await
        .expect("a's link stalls inside a write transaction");

    // The healthy node goes on. Its first try may still meet a's lock
    // until PostgreSQL ends a's idle transaction; on a loaded machine that
    // can outlast b's lock timeout, and b then answers `unavailable` ("retry
    // later"), which a client retries.
    let started = Instant::now();
    let seq = loop {
        match at_b.publish(&corridor, "b-during-stall").await {
            Ok(seq) => break seq,
            Err(error) if error.code == ErrorCode::Unavailable && started.elapsed() < PATIENCE => {
                eprintln!(
                    "b was told to retry after {:?}: {}",
                    started.elapsed(),
                    error.message
                );
            }
            Err(error) => panic!("b publishes while a is stalled holding the lock: {error:?}"),
        }
    };
    let waited = started.elapsed();
    eprintln!("b acknowledged {waited:?} after a stalled holding the write lock");
    acked.push((seq, "b-during-stall".to_owned()));
    for i in 0..20 {
        let text = format!("b-{i}");
        let seq = at_b
            .publish(&corridor, &text)
            .await
            .expect("b keeps publishing");
        acked.push((seq, text));
    }

    // a must not acknowledge the stalled write: its session was cut off.
    let (mut at_a, result) = stalled_publish.await.expect("publisher task");
    match result {
        Ok(seq) => panic!("a acknowledged a write whose lock it lost (seq {seq})"),
        Err(error) => assert_eq!(error.code, ErrorCode::Unavailable, "{error:?}"),
    }
    // The link heals; a writes again by itself.
    proxy.set(LinkMode::Pass);
    let deadline = Instant::now() + PATIENCE;
    loop {
        match at_a.publish(&corridor, "a-after").await {
            Ok(seq) => {
                acked.push((seq, "a-after".to_owned()));
                break;
            }
            Err(error) if Instant::now() < deadline => {
                assert_eq!(error.code, ErrorCode::Unavailable, "{error:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("a did not recover after the link healed: {error:?}"),
        }
    }
    assert_all_acknowledged_are_stored(&b, &acked).await;
    assert!(
        !b.state
            .store
            .events_after(0, 100_000)
            .await
            .unwrap()
            .iter()
            .any(|e| matches!(&e.data, mpaka_protocol::EventData::Message(m) if m.text == "a-stalled")),
        "the unacknowledged stalled write was rolled back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_and_delays_of_one_nodes_link_lose_nothing_acknowledged() {
    let Some((_db, proxy, a, b, _dir)) = two_nodes_one_behind_a_proxy().await else {
        return;
    };
    let proxy = std::sync::Arc::new(proxy);
    let corridor = ch("corridor:mugina-manyovu");
    let mut clients = Vec::new();
    for (hub, user) in [(&a, "mugina.officer"), (&b, "manyovu.officer")] {
        clients.push(hub.connect(user).await);
    }
    let faults = {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            for round in 0..3 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                proxy.reset();
                tokio::time::sleep(Duration::from_millis(300)).await;
                proxy.set(LinkMode::Delay(Duration::from_millis(20 * (round + 1))));
                tokio::time::sleep(Duration::from_millis(300)).await;
                proxy.set(LinkMode::Pass);
            }
        })
    };
    let mut writers = Vec::new();
    for (mut client, name) in clients.into_iter().zip(["a", "b"]) {
        let corridor = corridor.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut refused = 0;
            let started = Instant::now();
            let mut i = 0;
            while started.elapsed() < Duration::from_secs(3) {
                let text = format!("{name}-{i}");
                i += 1;
                match client.try_publish_with_id(&text, &corridor, &text).await {
                    Ok(Ok((seq, _))) => acked.push((seq, text)),
                    Ok(Err(error)) => {
                        assert_eq!(error.code, ErrorCode::Unavailable, "{error:?}");
                        refused += 1;
                    }
                    Err(_) => break,
                }
            }
            (acked, refused)
        }));
    }
    faults.await.expect("fault task");
    let mut acked = Vec::new();
    for (writer, name) in writers.into_iter().zip(["a", "b"]) {
        let (mine, refused) = writer.await.expect("writer");
        eprintln!("{name}: {} acknowledged, {refused} refused", mine.len());
        if name == "b" {
            assert!(mine.len() > 10, "the direct node kept acknowledging");
        }
        acked.extend(mine);
    }
    assert_all_acknowledged_are_stored(&b, &acked).await;
}

fn corridor_of() -> mpaka_protocol::ChannelId {
    ch("corridor:mugina-manyovu")
}
