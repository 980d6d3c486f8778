//! An SOP asks to be acknowledged only by the readers it is addressed to:
//! a coordinator outside an officers-only audience reads it without a
//! "to acknowledge" mark or button, while an officer in the audience has
//! both (issue 14: the mark stayed for readers who had no button).

use mpaka_tests::browser::{Browser, Driver};
use mpaka_tests::TestHub;
use serde_json::json;

async fn log_in(browser: &Browser, hub: &TestHub, username: &str) -> anyhow::Result<()> {
    browser.goto(&hub.url("/")).await?;
    browser.fill("#username", username).await?;
    browser.fill("#password", &hub.password(username)).await?;
    browser.click("#login-submit").await?;
    browser
        .wait_for("document.querySelector('#conn')?.dataset.state === 'online'")
        .await
        .map(drop)
}

/// Opens the SOP (so it is read), then the list; returns whether the
/// reader offered "I have read and understood" and whether the list marks
/// the SOP "to acknowledge".
async fn marks(browser: &Browser, hub: &TestHub, slug: &str) -> (bool, bool) {
    browser
        .goto(&hub.url(&format!("/#/sops/{slug}")))
        .await
        .unwrap();
    browser
        .wait_for(&format!(
            "document.querySelector('#sop-reader[data-sop=\"{slug}\"]')"
        ))
        .await
        .unwrap();
    let button = browser
        .exec("return !!document.querySelector('#ack-sop');", json!([]))
        .await
        .unwrap();
    browser.goto(&hub.url("/#/sops")).await.unwrap();
    let entry = format!("document.querySelector('[data-sop=\"{slug}\"]')");
    browser
        .wait_for(&format!("{entry} && !{entry}.querySelector('.unread')"))
        .await
        .unwrap();
    let mark = browser
        .exec(
            &format!("return !!{entry}.querySelector('.unacked');"),
            json!([]),
        )
        .await
        .unwrap();
    (button == json!(true), mark == json!(true))
}

#[tokio::test]
async fn an_sop_for_officers_asks_no_acknowledgement_of_a_coordinator() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let coordinator = hub.login("bi.coordinator").await.access_token;
    let draft = json!({
        "slug": "minors-reception", "owner": "BI",
        "titles": {"fr": "Accueil des mineurs"}, "bodies": {"fr": "1. Accueillir."},
        "change_summary": "", "effective_date": "2026-11-01",
        "audience": {"roles": ["officer"]}
    });
    let (status, body) = hub.post_json(&coordinator, "/api/v1/sops", &draft).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = hub
        .post_json(
            &coordinator,
            "/api/v1/sops/minors-reception/publish",
            &json!({}),
        )
        .await;
    assert!(matches!(status, 200 | 201), "{body}");

    for (username, addressed) in [("bi.coordinator", false), ("mugina.officer", true)] {
        let browser = driver.browser().await.unwrap();
        log_in(&browser, &hub, username).await.unwrap();
        let (button, mark) = marks(&browser, &hub, "minors-reception").await;
        assert_eq!(
            (button, mark),
            (addressed, addressed),
            "{username}: (button, to-acknowledge mark)"
        );
        browser.close().await.unwrap();
    }
}
