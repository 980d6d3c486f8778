//! Faults a border post meets, against a real hub: a full disk on a small
//! real file system the test mounts (a `tmpfs`), then freed; the hub must
//! refuse writes with `unavailable` and a reason, report itself not ready,
//! and resume writing by itself once space is back, without a restart.

use mpaka_protocol::ErrorCode;
use mpaka_tests::disk::SmallDisk;
use mpaka_tests::{ch, TestHub, PATIENCE};
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
