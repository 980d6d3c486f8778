//! The hub's field-level refusals in the user's language: the French
//! officer at Mugina and the Swahili officer at Manyovu each see their own
//! words under the headcount for a negative and for an empty one, and
//! under a shift's count in the flow form, built from the field error's
//! stable code and params (not the hub's English). Without a browser: the
//! administration and flow refusals a person can meet carry a specific
//! code, not the generic `invalid`.

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

/// Submits the flow form's shift totals with `women` typed in; returns the
/// text shown under that count once the hub has refused it.
async fn refused_shift_count(browser: &Browser, women: &str) -> String {
    browser.click("details.shift summary").await.unwrap();
    browser.fill("#shift-women", women).await.unwrap();
    browser.click("#shift-send").await.unwrap();
    browser
        .wait_for(
            "document.querySelector('#shift-women[aria-invalid=true]') && document.querySelector('#shift-women-err').textContent",
        )
        .await
        .unwrap();
    browser.text("#shift-women-err").await.unwrap()
}

/// Before: the flow form said only "Certains champs sont à corriger." in
/// its note, named no field, and emptied what had been typed.
#[tokio::test]
async fn a_refused_shift_count_is_shown_under_its_field_in_french_and_swahili() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    for (username, expected) in [
        ("mugina.officer", "Au plus 100"),
        ("manyovu.officer", "Isizidi 100"),
    ] {
        let browser = driver.browser().await.unwrap();
        log_in(&browser, &hub, username).await.unwrap();
        browser.goto(&hub.url("/#/flows")).await.unwrap();
        browser
            .wait_for("document.querySelector('#shift-form')")
            .await
            .unwrap();
        let text = refused_shift_count(&browser, "200000").await;
        assert!(text.starts_with(expected), "{username}: {text:?}");
        assert!(
            text.contains("200"),
            "{username}: the value is not shown: {text:?}"
        );
        assert!(
            !text.contains("must"),
            "{username}: English shown: {text:?}"
        );
        // What was typed is still there to correct, and nothing waits in
        // the outbox.
        let kept = browser
            .exec(
                "return [document.querySelector('#shift-women').value, window.mpaka.outbox.items.length];",
                serde_json::json!([]),
            )
            .await
            .unwrap();
        assert_eq!(kept, serde_json::json!(["200000", 0]), "{username}");
        browser.close().await.unwrap();
    }
}

/// The code of the one field error in a `validation_failed` body.
fn field_code(body: &serde_json::Value) -> (String, String) {
    assert_eq!(body["code"], "validation_failed", "{body}");
    let field = &body["fields"][0];
    (
        field["field"].as_str().unwrap_or_default().to_owned(),
        field["code"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn administration_and_flow_refusals_carry_a_specific_code() {
    use serde_json::json;
    let hub = TestHub::start().await;
    let admin = hub.login("admin").await.access_token;
    let user = |username: &str, role: &str, country: &str, post: Option<&str>| {
        json!({ "username": username, "role": role, "country": country, "post": post,
                "password": "Kigoma-ferry-at-dawn-7" })
    };
    for (body, expected) in [
        (
            user("Amani Officer", "officer", "TZ", Some("manyovu")),
            ("username", "bad_format"),
        ),
        (
            user("amani.officer", "officer", "BI", Some("manyovu")),
            ("country", "mismatch"),
        ),
        (
            user("amani.officer", "officer", "TZ", Some("nowhere")),
            ("post", "unknown_value"),
        ),
        (
            user("amani.officer", "officer", "TZ", None),
            ("post", "required"),
        ),
        (
            user("amani.coord", "coordinator", "TZ", Some("manyovu")),
            ("post", "not_allowed"),
        ),
    ] {
        let (status, reply) = hub.post_json(&admin, "/api/v1/users", &body).await;
        assert_eq!(status, 422, "{body}: {reply}");
        assert_eq!(
            field_code(&reply),
            (expected.0.to_owned(), expected.1.to_owned()),
            "{body}"
        );
    }
    let (_, reply) = hub
        .post_json(
            &admin,
            "/api/v1/users",
            &user("amani.officer", "officer", "BI", Some("manyovu")),
        )
        .await;
    assert_eq!(reply["fields"][0]["params"]["other"], "post", "{reply}");

    let coordinator = hub.login("tz.coordinator").await.access_token;
    for (query, expected) in [
        (
            "/api/v1/flows/series?scope=all&bucket=day&from=2026-11-30&to=2026-11-01",
            ("to", "mismatch"),
        ),
        (
            "/api/v1/flows/series?scope=all&bucket=day&from=last+week",
            ("from", "not_a_date"),
        ),
        (
            "/api/v1/flows/series?scope=post:nowhere&bucket=day&from=2026-11-01",
            ("scope", "unknown_value"),
        ),
        (
            "/api/v1/flows/summary?month=November",
            ("month", "not_a_date"),
        ),
    ] {
        let (status, reply) = hub.get_json(&coordinator, query).await;
        assert_eq!(status, 422, "{query}: {reply}");
        assert_eq!(
            field_code(&reply),
            (expected.0.to_owned(), expected.1.to_owned()),
            "{query}"
        );
    }
}
