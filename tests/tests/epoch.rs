//! The log epoch (issue 17): a random id of the database's event log that
//! `welcome` and `subscribed` carry. A client resuming with `since` from
//! another epoch (a restored, older backup reuses sequence numbers) is told
//! `epoch_changed` instead of silently missing events; restarts and
//! export/import keep the epoch.

use mpaka_protocol::{ChannelId, ClientFrame, ErrorCode, ServerFrame};
use mpaka_server::store::{Progress, Store};
use mpaka_tests::{ch, on_both_backends, Backend, Client, TestDb, TestHub};

fn joint() -> ChannelId {
    ch("corridor:mugina-manyovu")
}

/// An authenticated socket and the `welcome` it received.
async fn connect(hub: &TestHub, username: &str) -> (Client, mpaka_protocol::Welcome) {
    let token = hub.login(username).await.access_token;
    let mut client = hub.raw_socket().await;
    let welcome = client.auth(&token).await.expect("welcome");
    (client, welcome)
}

fn resume(since: u64, epoch: &str) -> ClientFrame {
    ClientFrame::Subscribe {
        id: "resume".into(),
        channels: vec![joint()],
        since: Some(since),
        epoch: Some(epoch.to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_and_subscribed_carry_the_epoch() {
    let hub = TestHub::start().await;
    let epoch = hub.state.store.epoch().await.unwrap();
    assert_eq!(epoch.len(), 32, "{epoch}");
    assert!(epoch.chars().all(|c| c.is_ascii_hexdigit()), "{epoch}");

    let (mut client, welcome) = connect(&hub, "mugina.officer").await;
    assert_eq!(welcome.epoch, epoch);
    match client.request(&resume(0, &epoch)).await {
        ServerFrame::Subscribed { epoch: got, .. } => assert_eq!(got, epoch),
        other => panic!("expected subscribed, got {other:?}"),
    }
    // Another hub (another database) has another epoch.
    let other = TestHub::start().await;
    assert_ne!(other.state.store.epoch().await.unwrap(), epoch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_resuming_against_a_restored_older_backup_is_told_epoch_changed() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_owned();
    let mut hub = TestHub::start_in(&dir, |_| {}).await;
    let (mut mugina, welcome) = connect(&hub, "mugina.officer").await;
    let old_epoch = welcome.epoch;
    for i in 0..3 {
        mugina
            .publish(&joint(), &format!("before backup {i}"))
            .await
            .unwrap();
    }
    let backup = temp.path().join("backup.db");
    hub.state.store.backup_to(&backup).await.unwrap();
    let mut seen = 0;
    for i in 0..5 {
        seen = mugina
            .publish(&joint(), &format!("after backup {i}"))
            .await
            .unwrap();
    }
    mugina.close().await;
    hub.shutdown().await;

    // The operator restores the backup over the database.
    let db = dir.join("mpaka.db");
    std::fs::copy(&backup, &db).unwrap();
    for leftover in ["mpaka.db-wal", "mpaka.db-shm"] {
        let _ = std::fs::remove_file(dir.join(leftover));
    }
    let hub = TestHub::start_in(&dir, |_| {}).await;
    let restored_head = hub.state.store.head_seq().await.unwrap();
    assert!(restored_head < seen, "{restored_head} < {seen}");

    // New events reuse the sequence numbers the client already saw.
    let (mut manyovu, welcome) = connect(&hub, "manyovu.officer").await;
    assert_ne!(
        welcome.epoch, old_epoch,
        "a restored backup has a new epoch"
    );
    let mut reused = Vec::new();
    for i in 0..5 {
        reused.push(
            manyovu
                .publish(&joint(), &format!("after restore {i}"))
                .await
                .unwrap(),
        );
    }
    assert!(
        reused.iter().any(|seq| *seq <= seen),
        "{reused:?} vs {seen}"
    );

    // Resuming from the old epoch is refused with a clear code…
    let (mut returning, _) = connect(&hub, "mugina.officer").await;
    match returning.request(&resume(seen, &old_epoch)).await {
        ServerFrame::Error { id, error } => {
            assert_eq!(id.as_deref(), Some("resume"));
            assert_eq!(error.code, ErrorCode::EpochChanged, "{}", error.message);
        }
        other => panic!("expected epoch_changed, got {other:?}"),
    }
    // …and a resubscription without `since` then gets every new event live,
    // with the epoch to keep.
    let fresh = ClientFrame::Subscribe {
        id: "fresh".into(),
        channels: vec![joint()],
        since: None,
        epoch: None,
    };
    match returning.request(&fresh).await {
        ServerFrame::Subscribed { epoch, .. } => assert_eq!(epoch, welcome.epoch),
        other => panic!("expected subscribed, got {other:?}"),
    }
    let seq = manyovu.publish(&joint(), "live again").await.unwrap();
    assert_eq!(returning.next_event().await.unwrap().seq, seq);

    // A resume in the current epoch still replays.
    let (mut current, _) = connect(&hub, "mugina.officer").await;
    match current
        .request(&resume(restored_head, &welcome.epoch))
        .await
    {
        ServerFrame::Subscribed { epoch, .. } => assert_eq!(epoch, welcome.epoch),
        other => panic!("expected subscribed, got {other:?}"),
    }
    // The replay came before the reply (kept in the client's inbox).
    let replayed: Vec<u64> = current
        .inbox()
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Event(e) => Some(e.seq),
            _ => None,
        })
        .collect();
    // Exactly the channel's events after `restored_head`, as the log holds
    // them (read directly, so the claim does not rest on which events the
    // test itself published), and among them every reused number.
    let stored: Vec<u64> = hub
        .state
        .store
        .events_after(restored_head, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.channel == joint())
        .map(|e| e.seq)
        .collect();
    assert_eq!(replayed, stored, "replayed vs stored after {restored_head}");
    assert!(
        reused.iter().all(|seq| replayed.contains(seq)),
        "{replayed:?} lacks some of {reused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_epoch_survives_a_restart() {
    let hub = TestHub::start().await;
    let before = hub.state.store.epoch().await.unwrap();
    let hub = hub.restart().await;
    assert_eq!(hub.state.store.epoch().await.unwrap(), before);
    let (_, welcome) = connect(&hub, "mugina.officer").await;
    assert_eq!(welcome.epoch, before);
}

async fn the_epoch_survives_an_export_and_import(target: Backend) {
    let hub = TestHub::start_on(Backend::Sqlite, |_| {}).await.unwrap();
    let mut mugina = hub.connect("mugina.officer").await;
    let seq = mugina.publish(&joint(), "moved").await.unwrap();
    let epoch = hub.state.store.epoch().await.unwrap();
    let mut dump = Vec::new();
    let header = hub
        .state
        .store
        .export(&mut dump, &mut |_: Progress<'_>| {})
        .await
        .unwrap();
    assert_eq!(header.epoch.as_deref(), Some(epoch.as_str()));

    let Some(db) = TestDb::fresh(target).await else {
        return;
    };
    let store = Store::open(&db.url).await.unwrap();
    assert_ne!(store.epoch().await.unwrap(), epoch, "a new database");
    store
        .import(&mut dump.as_slice(), &mut |_: Progress<'_>| {})
        .await
        .unwrap();
    assert_eq!(store.epoch().await.unwrap(), epoch);
    assert_eq!(store.head_seq().await.unwrap(), seq);
}

on_both_backends!(the_epoch_survives_an_export_and_import);

/// The web console keeps the epoch with its `seq`; when the hub comes back
/// on a restored, older backup it resynchronises by itself: events lost
/// with the restore leave its screen, and new events that reuse their
/// sequence numbers appear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_resynchronises_by_itself_after_a_restore() {
    use mpaka_tests::browser::Driver;
    use serde_json::json;
    let Some(driver) = Driver::start().await else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_owned();
    let mut hub = TestHub::start_in(&dir, |_| {}).await;
    let addr = hub.addr;
    let browser = driver.browser().await.unwrap();
    // Logged in before the backup, so its login session is in it.
    browser.goto(&hub.url("/")).await.unwrap();
    browser.fill("#username", "mugina.officer").await.unwrap();
    browser
        .fill("#password", &hub.password("mugina.officer"))
        .await
        .unwrap();
    browser.click("#login-submit").await.unwrap();
    let online = "document.querySelector('#conn')?.dataset.state === 'online'";
    browser.wait_for(online).await.unwrap();
    browser
        .goto(&hub.url("/#/channels/corridor%3Amugina-manyovu"))
        .await
        .unwrap();
    browser.wait_for(online).await.unwrap();
    let old_epoch = hub.state.store.epoch().await.unwrap();
    browser
        .wait_for(&format!("window.mpaka.store.epoch === '{old_epoch}'"))
        .await
        .unwrap();

    let backup = temp.path().join("backup.db");
    hub.state.store.backup_to(&backup).await.unwrap();
    let mut manyovu = hub.connect("manyovu.officer").await;
    let lost = manyovu
        .publish(&joint(), "lost with the restore")
        .await
        .unwrap();
    browser
        .wait_text("#messages li.msg[data-seq]", "lost with the restore")
        .await
        .unwrap();
    browser
        .wait_for(&format!("window.mpaka.store.lastSeq >= {lost}"))
        .await
        .unwrap();
    manyovu.close().await;
    hub.shutdown().await;
    drop(hub);

    std::fs::copy(&backup, dir.join("mpaka.db")).unwrap();
    for leftover in ["mpaka.db-wal", "mpaka.db-shm"] {
        let _ = std::fs::remove_file(dir.join(leftover));
    }
    // Same address, so the browser's cache (per origin) is the one it kept.
    let hub = TestHub::start_in(&dir, |s| s.listen = addr).await;
    let new_epoch = hub.state.store.epoch().await.unwrap();
    browser
        .wait_for(&format!("window.mpaka.store.epoch === '{new_epoch}'"))
        .await
        .unwrap();
    browser.wait_for(online).await.unwrap();
    let mut manyovu = hub.connect("manyovu.officer").await;
    let reused = manyovu
        .publish(&joint(), "after the restore")
        .await
        .unwrap();
    assert!(reused <= lost, "the restore reuses seq {reused} <= {lost}");
    browser
        .wait_text("#messages li.msg[data-seq]", "after the restore")
        .await
        .unwrap();
    let gone = browser
        .exec(
            "return [...document.querySelectorAll('#messages li.msg p')]
                .some(p => p.textContent === 'lost with the restore');",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(gone, json!(false), "the lost event is no longer shown");
    browser.close().await.unwrap();
}
