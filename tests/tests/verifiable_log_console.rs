//! The auditor's view of the verifiable log in a real headless Chromium:
//! the newest checkpoint and the verdict, before and after someone edits
//! the database behind the hub's back. Skips (and says so) when Chromium
//! is not installed, except under `CI=true`.

use mpaka_tests::browser::{screenshot_dir, Driver};
use mpaka_tests::{ch, TestHub};
use sqlx::Executor as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditor_sees_the_latest_checkpoint_and_a_broken_record() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let mut officer = hub.connect("mugina.officer").await;
    let seq = officer
        .publish(&ch("post:mugina"), "400 people on foot")
        .await
        .unwrap();
    hub.state.log.checkpoint().await.unwrap();
    let browser = driver.browser().await.unwrap();
    browser.goto(&hub.url("/")).await.unwrap();
    browser.fill("#username", "auditor").await.unwrap();
    browser
        .fill("#password", &hub.password("auditor"))
        .await
        .unwrap();
    browser.click("#login-submit").await.unwrap();
    browser.goto(&hub.url("/#/log")).await.unwrap();
    browser
        .wait_for("document.querySelector('#log-intact')?.classList.contains('ok')")
        .await
        .unwrap();
    let note = browser.text("#log-note").await.unwrap();
    assert!(note.starts_with("mpaka.invalid/log\n"), "{note}");
    let shots = screenshot_dir();
    browser
        .screenshot(&shots.join("log-auditor.png"))
        .await
        .unwrap();

    let mut tx = hub.state.store.write().await.unwrap();
    tx.conn()
        .execute(
            format!("UPDATE events SET body = REPLACE(body, '400', '4') WHERE seq = {seq}")
                .as_str(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Away and back: the view verifies again each time it opens.
    browser.goto(&hub.url("/#/posts")).await.unwrap();
    browser
        .wait_for("document.querySelector('#log-intact') === null")
        .await
        .unwrap();
    browser.goto(&hub.url("/#/log")).await.unwrap();
    // The auditor reads French: "NON INTACT"; the class says it in any language.
    browser
        .wait_for("document.querySelector('#log-intact')?.classList.contains('error')")
        .await
        .unwrap();
    let first = browser.text("#log-first").await.unwrap();
    assert!(first.contains(&format!("event {seq}")), "{first}");
    browser.close().await.unwrap();
}
