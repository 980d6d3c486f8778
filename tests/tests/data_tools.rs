//! Export and import (moving a deployment, typically from SQLite to
//! PostgreSQL) and the online SQLite backup, at the store level. The
//! command-line versions are exercised against the real binary in
//! `server/tests/data_cli.rs`.

use mpaka_protocol::ChannelId;
use mpaka_server::store::{Progress, Store, StoreError};
use mpaka_tests::{ch, on_both_backends, Backend, TestDb, TestHub};
use std::sync::Arc;

fn joint() -> ChannelId {
    ch("corridor:mugina-manyovu")
}

/// An SQLite hub with demo data, logins (audit, refresh tokens) and
/// messages in four languages; returns it and its export.
async fn busy_sqlite_hub() -> (TestHub, Vec<u8>) {
    let hub = TestHub::start_on(Backend::Sqlite, |_| {}).await.unwrap();
    let mut mugina = hub.connect("mugina.officer").await;
    for (i, text) in [
        "Abantu 400 baraje n'amaguru",
        "Watu 400 wanawasili kwa miguu",
        "400 personnes arrivent à pied",
        "400 people arriving on foot",
    ]
    .iter()
    .cycle()
    .take(40)
    .enumerate()
    {
        mugina
            .publish(&joint(), &format!("{text} #{i}"))
            .await
            .unwrap();
    }
    hub.login("manyovu.officer").await;
    let mut dump = Vec::new();
    hub.state
        .store
        .export(&mut dump, &mut |_: Progress<'_>| {})
        .await
        .unwrap();
    (hub, dump)
}

async fn an_export_imports_with_seqs_and_audit_hashes_intact(target: Backend) {
    let (hub, dump) = busy_sqlite_hub().await;
    let Some(db) = TestDb::fresh(target).await else {
        return;
    };
    let source = &hub.state.store;
    let store = Store::open(&db.url).await.unwrap();
    let mut reports = Vec::new();
    let header = store
        .import(&mut dump.as_slice(), &mut |p: Progress<'_>| {
            reports.push((p.table.to_owned(), p.done, p.total));
        })
        .await
        .unwrap();
    assert_eq!(header.source, "sqlite");
    assert!(reports
        .iter()
        .any(|(t, done, total)| t == "events" && done == total));

    assert_eq!(
        store.table_counts().await.unwrap(),
        source.table_counts().await.unwrap()
    );
    assert_eq!(
        store.events_after(0, 10_000).await.unwrap(),
        source.events_after(0, 10_000).await.unwrap()
    );
    assert_eq!(store.users().await.unwrap(), source.users().await.unwrap());
    // The source hub is live: its presence keeps moving `last_seen_at`.
    let without_seen = |mut d: mpaka_server::store::Directory| {
        d.posts.values_mut().for_each(|p| p.last_seen_at = None);
        d
    };
    assert_eq!(
        without_seen(store.directory().await.unwrap()),
        without_seen(source.directory().await.unwrap())
    );
    let audit = store.audit_entries(0, None, 10_000).await.unwrap();
    assert_eq!(audit, source.audit_entries(0, None, 10_000).await.unwrap());
    assert!(store.verify_audit().await.unwrap().intact);

    // New rows continue after the imported keys.
    let head = source.head_seq().await.unwrap();
    let mut tx = store.write().await.unwrap();
    let next = tx
        .append(mpaka_server::store::NewEvent {
            channel: joint(),
            author_id: None,
            author: None,
            audience: None,
            data: mpaka_protocol::EventData::Message(mpaka_protocol::MessageBody {
                written_at: None,
                text: "after the move".into(),
                lang: None,
            }),
        })
        .await
        .unwrap();
    tx.audit(mpaka_server::store::AuditEntry::new(
        None,
        "data.imported",
        "store",
        serde_json::json!({}),
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(next.seq, head + 1);
    assert!(
        store.verify_audit().await.unwrap().intact,
        "the chain continues"
    );
}

async fn a_truncated_export_is_refused_and_nothing_is_kept(target: Backend) {
    let (_hub, dump) = busy_sqlite_hub().await;
    let Some(db) = TestDb::fresh(target).await else {
        return;
    };
    // Drop one event line from the file.
    let text = String::from_utf8(dump).unwrap();
    let mut dropped = false;
    let cut: String = text
        .lines()
        .filter(|line| {
            let skip = !dropped && line.starts_with("{\"table\":\"events\"");
            dropped |= skip;
            !skip
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(dropped);
    let store = Store::open(&db.url).await.unwrap();
    let error = store
        .import(&mut cut.as_bytes(), &mut |_: Progress<'_>| {})
        .await
        .unwrap_err();
    assert!(error.to_string().contains("events: header says"), "{error}");
    assert!(store
        .table_counts()
        .await
        .unwrap()
        .iter()
        .all(|t| t.rows == 0));

    // A complete file imports; the same file again is refused.
    store
        .import(&mut text.as_bytes(), &mut |_: Progress<'_>| {})
        .await
        .unwrap();
    let again = store
        .import(&mut text.as_bytes(), &mut |_: Progress<'_>| {})
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Refused(_)), "{again}");
}

on_both_backends!(
    an_export_imports_with_seqs_and_audit_hashes_intact,
    a_truncated_export_is_refused_and_nothing_is_kept,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_publishing_is_a_consistent_prefix() {
    let hub = Arc::new(TestHub::start_on(Backend::Sqlite, |_| {}).await.unwrap());
    let publishing = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut mugina = hub.connect("mugina.officer").await;
            for i in 0..300 {
                mugina.publish(&joint(), &format!("m{i}")).await.unwrap();
            }
        })
    };
    // Let some land, then back up in the middle of the stream.
    while hub.state.store.head_seq().await.unwrap() < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.db");
    hub.state.store.backup_to(&path).await.unwrap();
    assert!(
        hub.state.store.backup_to(&path).await.is_err(),
        "never overwrites"
    );
    publishing.await.unwrap();

    let copy = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    copy.integrity_check().await.unwrap();
    assert!(copy.verify_audit().await.unwrap().intact);
    let head = copy.head_seq().await.unwrap();
    let original = hub.state.store.head_seq().await.unwrap();
    assert!(head >= 50 && head <= original, "{head} of {original}");
    // The copy holds exactly the original's first events, nothing torn.
    let copied = copy.events_after(0, 100_000).await.unwrap();
    let source: Vec<_> = hub
        .state
        .store
        .events_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.seq <= head)
        .collect();
    assert_eq!(copied, source);
    assert_eq!(
        copy.users().await.unwrap(),
        hub.state.store.users().await.unwrap()
    );
}

/// A table added by a later migration must be exported too (or be named
/// here as live state that is not moved).
#[tokio::test]
async fn every_table_of_the_schema_is_exported() {
    let hub = TestHub::start_on(Backend::Sqlite, |_| {}).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&hub.database_url())
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let live_state = ["nodes", "presence"];
    // Moved in the export header instead (tests/tests/epoch.rs).
    let in_header = ["log_epoch"];
    for table in &tables {
        assert!(
            mpaka_server::store::TABLES.iter().any(|t| t.name == table)
                || live_state.contains(&table.as_str())
                || in_header.contains(&table.as_str()),
            "table {table} is missing from store::TABLES"
        );
    }
}

/// A PostgreSQL server on another machine is reached over TLS: the hub is
/// built with TLS support, so `sslmode=require` works where the server
/// offers it (the CI server does).
#[tokio::test]
async fn postgres_is_reachable_over_tls() {
    let Some(db) = TestDb::fresh(Backend::Postgres).await else {
        return;
    };
    let separator = if db.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{separator}sslmode=require", db.url);
    let store = Store::open(&url).await.expect("opens over TLS");
    store.ping().await.expect("answers over TLS");
    store.close().await;
}
