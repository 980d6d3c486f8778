//! The storage suite, written once and run on SQLite and on PostgreSQL
//! (`sqlite::…` and `postgres::…` test names): the event log's order,
//! idempotency records, refresh-token rotation, the audit chain and its
//! tamper detection, presence across nodes and the directory.

use mpaka_protocol::{ChannelId, Country, EventData, MessageBody, Role};
use mpaka_server::store::{AuditEntry, NewEvent, NewUser, Post, RefreshOutcome, Store, StoreError};
use mpaka_tests::{ch, on_both_backends, Backend, TestDb};
use serde_json::json;
use std::collections::BTreeSet;

async fn open(backend: Backend) -> Option<(TestDb, Store)> {
    let db = TestDb::fresh(backend).await?;
    let store = Store::open(&db.url).await.expect("store opens");
    Some((db, store))
}

fn message(channel: &ChannelId, text: &str) -> NewEvent {
    NewEvent {
        channel: channel.clone(),
        author_id: None,
        author: None,
        audience: None,
        data: EventData::Message(MessageBody {
            written_at: None,
            text: text.into(),
            lang: Some("rn".into()),
        }),
    }
}

fn text_of(data: &EventData) -> &str {
    match data {
        EventData::Message(body) => &body.text,
        other => panic!("not a message: {other:?}"),
    }
}

async fn appended_events_read_back_in_commit_order(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    assert_eq!(store.head_seq().await.unwrap(), 0);
    let joint = ch("corridor:mugina-manyovu");
    let national = ch("national:BI");
    // Concurrent writers, each committing a few events per transaction.
    let mut writers = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        let (joint, national) = (joint.clone(), national.clone());
        writers.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..10 {
                let mut tx = store.write().await.unwrap();
                let channel = if i % 2 == 0 { &joint } else { &national };
                let a = tx
                    .append(message(channel, &format!("w{w} i{i} a")))
                    .await
                    .unwrap();
                let b = tx
                    .append(message(channel, &format!("w{w} i{i} b")))
                    .await
                    .unwrap();
                assert_eq!(b.seq, a.seq + 1, "one transaction's events are contiguous");
                tx.commit().await.unwrap();
                seqs.extend([a.seq, b.seq]);
            }
            seqs
        }));
    }
    let mut committed = BTreeSet::new();
    for writer in writers {
        committed.extend(writer.await.unwrap());
    }
    assert_eq!(committed.len(), 160);
    let head = store.head_seq().await.unwrap();
    assert_eq!(head, *committed.last().unwrap());

    let all = store.events_after(0, 1000).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "ascending: {seqs:?}");
    assert_eq!(seqs.iter().copied().collect::<BTreeSet<_>>(), committed);
    // Kirundi text comes back byte for byte.
    assert!(all.iter().all(|e| text_of(&e.data).starts_with('w')));

    // Paging, channel filters and history agree with the full read.
    let page = store.events_after(seqs[9], 5).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs[10..15]);
    let joint_only = store
        .channel_events(std::slice::from_ref(&joint), 0, head, 1000)
        .await
        .unwrap();
    assert_eq!(joint_only.len(), 80);
    assert!(joint_only.iter().all(|e| e.channel == joint));
    let through = seqs[99];
    let bounded = store
        .channel_events(&[joint.clone(), national.clone()], seqs[49], through, 1000)
        .await
        .unwrap();
    assert_eq!(
        bounded.iter().map(|e| e.seq).collect::<Vec<_>>(),
        seqs[50..100]
    );
    let history = store.history(&national, None, 3).await.unwrap();
    let newest: Vec<u64> = all
        .iter()
        .rev()
        .filter(|e| e.channel == national)
        .take(3)
        .map(|e| e.seq)
        .collect();
    assert_eq!(history.iter().map(|e| e.seq).collect::<Vec<_>>(), newest);
}

async fn a_rolled_back_transaction_leaves_no_event(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let joint = ch("corridor:mugina-manyovu");
    let mut tx = store.write().await.unwrap();
    tx.append(message(&joint, "kept")).await.unwrap();
    tx.commit().await.unwrap();
    {
        let mut tx = store.write().await.unwrap();
        tx.append(message(&joint, "rolled back")).await.unwrap();
        // Dropped without commit.
    }
    let mut tx = store.write().await.unwrap();
    let last = tx.append(message(&joint, "after")).await.unwrap();
    tx.commit().await.unwrap();
    let all = store.events_after(0, 10).await.unwrap();
    let texts: Vec<&str> = all.iter().map(|e| text_of(&e.data)).collect();
    assert_eq!(texts, ["kept", "after"]);
    // PostgreSQL skips the rolled-back number; readers must not care.
    assert!(last.seq >= 2);
    assert_eq!(store.head_seq().await.unwrap(), last.seq);
}

async fn idempotency_records_answer_retries_and_refuse_reused_keys(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let reply = json!({ "seq": 7, "at": "2025-01-01T00:00:00.000Z" });
    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.recall(1, "pub-1", "fp-a").await.unwrap(), None);
    tx.remember(1, "pub-1", "fp-a", &reply).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.recall(1, "pub-1", "fp-a").await.unwrap(), Some(reply));
    assert!(matches!(
        tx.recall(1, "pub-1", "fp-b").await,
        Err(StoreError::IdempotencyConflict)
    ));
    // Keys are per user.
    assert_eq!(tx.recall(2, "pub-1", "fp-b").await.unwrap(), None);
}

async fn refresh_tokens_rotate_once_and_a_replay_revokes_the_family(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let mut tx = store.write().await.unwrap();
    let user = tx
        .insert_user(&NewUser {
            username: "kabanga.officer".into(),
            display_name: "Afisa wa Kabanga".into(),
            password_hash: "$argon2id$placeholder".into(),
            role: Role::Officer,
            country: Some(Country::TZ),
            org: None,
            post: None,
            language: "sw".into(),
        })
        .await
        .unwrap();
    tx.insert_refresh_token("h1", "fam", user, 60_000)
        .await
        .unwrap();
    tx.insert_refresh_token("h2", "fam", user, 60_000)
        .await
        .unwrap();
    tx.insert_refresh_token("old", "other", user, -1)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    assert_eq!(
        tx.spend_refresh_token("h1").await.unwrap(),
        RefreshOutcome::Valid {
            user_id: user,
            family: "fam".into()
        }
    );
    assert!(matches!(
        tx.spend_refresh_token("h1").await.unwrap(),
        RefreshOutcome::Reused { .. }
    ));
    // The replay revoked the family: the unspent sibling is dead too.
    assert!(matches!(
        tx.spend_refresh_token("h2").await.unwrap(),
        RefreshOutcome::Reused { .. }
    ));
    assert_eq!(
        tx.spend_refresh_token("old").await.unwrap(),
        RefreshOutcome::Expired
    );
    assert_eq!(
        tx.spend_refresh_token("nope").await.unwrap(),
        RefreshOutcome::Unknown
    );
    tx.commit().await.unwrap();
}

async fn the_audit_chain_verifies_and_detects_tampering(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    for i in 0..5 {
        let mut tx = store.write().await.unwrap();
        tx.audit(AuditEntry::new(
            Some((1, "bi.coordinator")),
            "sop.published",
            format!("sop:{i}"),
            json!({ "title": "Accueil des mineurs non accompagnés", "version": i }),
        ))
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let verified = store.verify_audit().await.unwrap();
    assert!(verified.intact);
    assert_eq!(verified.entries, 5);
    let entries = store.audit_entries(0, Some("sop."), 100).await.unwrap();
    assert_eq!(entries.len(), 5);
    assert_eq!(
        entries[4].detail["title"],
        "Accueil des mineurs non accompagnés"
    );

    // Someone edits the third entry directly in the database.
    let third = entries[2].id;
    let mut tx = store.write().await.unwrap();
    sqlx::query("UPDATE audit SET target = 'sop:forged' WHERE id = $1")
        .bind(third)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let verified = store.verify_audit().await.unwrap();
    assert!(!verified.intact);
    assert_eq!(verified.first_broken_id, Some(third));
}

async fn presence_counts_fresh_nodes_only(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let mut tx = store.write().await.unwrap();
    tx.ensure_corridor("mugina-manyovu", "Mugina – Manyovu")
        .await
        .unwrap();
    tx.insert_post(&Post {
        slug: "mugina".into(),
        name: "Mugina".into(),
        country: Country::BI,
        region: "Makamba".into(),
        corridor: Some("mugina-manyovu".into()),
        last_seen_at: None,
    })
    .await
    .unwrap();
    let mut ids = Vec::new();
    for name in ["a.officer", "b.officer"] {
        ids.push(
            tx.insert_user(&NewUser {
                username: name.into(),
                display_name: name.into(),
                password_hash: "x".into(),
                role: Role::Officer,
                country: Some(Country::BI),
                org: None,
                post: Some("mugina".into()),
                language: "fr".into(),
            })
            .await
            .unwrap(),
        );
    }
    tx.commit().await.unwrap();

    // Node 1 has a's two sessions; node 2 has one of a and one of b.
    let mut tx = store.write().await.unwrap();
    tx.replace_presence("node-1", &[(ids[0], Some("mugina".into()), 2)], &[])
        .await
        .unwrap();
    tx.replace_presence(
        "node-2",
        &[
            (ids[0], Some("mugina".into()), 1),
            (ids[1], Some("mugina".into()), 1),
        ],
        &[],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let online = store.presence(15_000).await.unwrap();
    let counts: Vec<(&str, i64)> = online
        .iter()
        .map(|r| (r.username.as_str(), r.sessions))
        .collect();
    assert_eq!(counts, [("a.officer", 3), ("b.officer", 1)]);
    let seen = store
        .directory()
        .await
        .unwrap()
        .post("mugina")
        .unwrap()
        .last_seen_at;
    assert!(seen.is_some(), "an online post is seen");

    // Node 2 stops heartbeating (it died): its sessions stop counting.
    let mut tx = store.write().await.unwrap();
    sqlx::query("UPDATE nodes SET heartbeat_at = 0 WHERE node_id = 'node-2'")
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let online = store.presence(15_000).await.unwrap();
    let counts: Vec<(&str, i64)> = online
        .iter()
        .map(|r| (r.username.as_str(), r.sessions))
        .collect();
    assert_eq!(counts, [("a.officer", 2)]);

    // Node 1 stops cleanly.
    let mut tx = store.write().await.unwrap();
    tx.remove_node("node-1").await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.presence(15_000).await.unwrap().is_empty());
}

async fn the_directory_holds_posts_and_corridors(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let mut tx = store.write().await.unwrap();
    assert!(tx
        .ensure_corridor("kobero-kabanga", "Kobero – Kabanga")
        .await
        .unwrap());
    assert!(!tx.ensure_corridor("kobero-kabanga", "again").await.unwrap());
    for (slug, name, country, region) in [
        ("kobero", "Kobero", Country::BI, "Muyinga"),
        ("kabanga", "Kabanga", Country::TZ, "Kagera"),
    ] {
        tx.insert_post(&Post {
            slug: slug.into(),
            name: name.into(),
            country,
            region: region.into(),
            corridor: Some("kobero-kabanga".into()),
            last_seen_at: None,
        })
        .await
        .unwrap();
    }
    let duplicate = tx
        .insert_post(&Post {
            slug: "kobero".into(),
            name: "Kobero bis".into(),
            country: Country::BI,
            region: String::new(),
            corridor: None,
            last_seen_at: None,
        })
        .await;
    assert!(matches!(duplicate, Err(StoreError::Duplicate(_))));
    tx.commit().await.unwrap();
    let directory = store.directory().await.unwrap();
    assert_eq!(directory.post("kabanga").unwrap().country, Country::TZ);
    assert_eq!(
        directory.corridor("kobero-kabanga").unwrap().posts,
        ["kabanga", "kobero"]
    );
    assert_eq!(
        directory.corridor_countries("kobero-kabanga"),
        [Country::BI, Country::TZ]
    );
}

on_both_backends!(
    appended_events_read_back_in_commit_order,
    a_rolled_back_transaction_leaves_no_event,
    idempotency_records_answer_retries_and_refuse_reused_keys,
    refresh_tokens_rotate_once_and_a_replay_revokes_the_family,
    the_audit_chain_verifies_and_detects_tampering,
    presence_counts_fresh_nodes_only,
    the_directory_holds_posts_and_corridors,
);
