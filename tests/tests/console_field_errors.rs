//! The hub's field-level refusals in the user's language: the French
//! officer at Mugina and the Swahili officer at Manyovu each see their own
//! words under the headcount for a negative and for an empty one, built
//! from the field error's stable code and params (not the hub's English).

use mpaka_tests::browser::{Browser, Driver};
use mpaka_tests::TestHub;

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

/// Submits the raise form with `headcount` typed in; returns the text
/// shown under the headcount once the hub has refused it.
async fn refused_headcount(browser: &Browser, headcount: &str) -> String {
    browser
        .exec(
            "const e = document.querySelector('#raise-headcount-err'); e.textContent = ''; e.hidden = true;
             document.querySelector('#raise-headcount').removeAttribute('aria-invalid');",
            serde_json::json!([]),
        )
        .await
        .unwrap();
    browser.fill("#raise-headcount", headcount).await.unwrap();
    browser.click("#raise-submit").await.unwrap();
    browser
        .wait_for(
            "document.querySelector('#raise-headcount[aria-invalid=true]') && document.querySelector('#raise-headcount-err').textContent",
        )
        .await
        .unwrap();
    browser.text("#raise-headcount-err").await.unwrap()
}

#[tokio::test]
async fn french_and_swahili_officers_read_headcount_refusals_in_their_language() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    for (username, negative, empty) in [
        ("mugina.officer", "Ne doit pas être négatif", "Obligatoire."),
        ("manyovu.officer", "Haipaswi kuwa hasi", "Inahitajika."),
    ] {
        let browser = driver.browser().await.unwrap();
        log_in(&browser, &hub, username).await.unwrap();
        browser.goto(&hub.url("/#/alerts")).await.unwrap();
        browser.click("#raise-alert").await.unwrap();
        browser
            .wait_for("document.querySelector('#raise-form')")
            .await
            .unwrap();

        let text = refused_headcount(&browser, "-5").await;
        assert!(text.contains(negative), "{username}, -5: {text:?}");
        assert!(
            text.contains('5'),
            "{username}: the value is not shown: {text:?}"
        );
        assert!(
            !text.contains("must not"),
            "{username}: English shown: {text:?}"
        );

        let text = refused_headcount(&browser, "").await;
        assert_eq!(text, empty, "{username}, empty headcount");
        browser.close().await.unwrap();
    }
}
