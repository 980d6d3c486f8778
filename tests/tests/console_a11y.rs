//! Accessibility of every console view, checked with axe-core (vendored in
//! `tests/vendor/axe-core`, MPL-2.0) in real Chromium, at desktop and phone
//! sizes: no serious or critical violation anywhere.

use mpaka_tests::browser::{Browser, Driver};
use mpaka_tests::{uuid_like, TestHub};
use serde_json::{json, Value};

const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");

async fn wait_online(browser: &Browser) -> anyhow::Result<()> {
    browser
        .wait_for("document.querySelector('#conn')?.dataset.state === 'online'")
        .await
        .map(drop)
}

async fn log_in(browser: &Browser, hub: &TestHub, username: &str) -> anyhow::Result<()> {
    browser.goto(&hub.url("/")).await?;
    browser.fill("#username", username).await?;
    browser.fill("#password", &hub.password(username)).await?;
    browser.click("#login-submit").await?;
    wait_online(browser).await
}

/// Serious and critical axe violations on the page as it is now.
async fn violations(browser: &Browser) -> Vec<String> {
    browser.exec(AXE, json!([])).await.expect("axe loads");
    let found = browser
        .exec_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then((r) => done(r.violations
                   .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                   .map((v) => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`)))
               .catch((e) => done(['axe failed: ' + e]));",
            json!([]),
        )
        .await
        .expect("axe runs");
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .expect("axe answers with a list of violations")
}

async fn check(browser: &Browser, view: &str, size: &str, problems: &mut Vec<String>) {
    for v in violations(browser).await {
        problems.push(format!("{view} at {size}: {v}"));
    }
}

#[tokio::test]
async fn every_view_has_no_serious_or_critical_axe_violation_at_desktop_and_phone_sizes() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    // An alert to look at, raised at Mugina.
    let mugina = hub.login("mugina.officer").await.access_token;
    let response = hub
        .http()
        .post(hub.url("/api/v1/alerts"))
        .bearer_auth(&mugina)
        .header("idempotency-key", uuid_like())
        .json(&json!({
            "kind": "mass_arrival", "direction": "into_burundi", "headcount": 300,
            "severity": "moderate", "urgency": "immediate", "certainty": "observed", "status": "actual"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "the alert is raised");
    let alert: Value = response.json().await.unwrap();
    let id = alert["alert"]["id"].as_str().unwrap().to_owned();

    let browser = driver.browser().await.unwrap();
    let mut problems = Vec::new();
    for (size, (w, h)) in [("1366x768", (1366, 768)), ("360x740", (360, 740))] {
        browser.resize(w, h).await.unwrap();
        browser.goto(&hub.url("/")).await.unwrap();
        browser
            .wait_for("document.querySelector('#username') || document.querySelector('#conn')")
            .await
            .unwrap();
        if browser.text("#conn").await.unwrap().is_empty() {
            check(&browser, "login", size, &mut problems).await;
            log_in(&browser, &hub, "manyovu.officer").await.unwrap();
        }
        let views = [
            ("alerts", "#/alerts".to_owned(), "#alert-list a.alert"),
            ("alert detail", format!("#/alerts/{id}"), "#alert-detail"),
            ("raise form", "#/alerts/new".to_owned(), "#raise-form"),
            ("channels", "#/channels".to_owned(), "#compose-text"),
            ("procedures", "#/sops".to_owned(), "#main h2"),
            ("flows", "#/flows".to_owned(), "#main h2"),
            ("posts", "#/posts".to_owned(), "tr[data-post]"),
        ];
        for (view, hash, ready) in &views {
            browser.goto(&hub.url(&format!("/{hash}"))).await.unwrap();
            wait_online(&browser).await.unwrap();
            browser
                .wait_for(&format!("document.querySelector({ready:?})"))
                .await
                .unwrap();
            check(&browser, view, size, &mut problems).await;
        }
        browser.click("#logout").await.unwrap();
        // The coordinator's SOP editor and post status, the auditor's record.
        for (user, view, hash, ready) in [
            (
                "bi.coordinator",
                "SOP editor",
                "#/sops/~new/edit",
                "#sop-slug",
            ),
            (
                "bi.coordinator",
                "post status (coordinator)",
                "#/posts",
                "tr[data-post]",
            ),
            ("auditor", "verifiable record", "#/log", "#log-verdict"),
        ] {
            log_in(&browser, &hub, user).await.unwrap();
            browser.goto(&hub.url(&format!("/{hash}"))).await.unwrap();
            browser
                .wait_for(&format!("document.querySelector({ready:?})"))
                .await
                .unwrap();
            check(&browser, view, size, &mut problems).await;
            browser.click("#logout").await.unwrap();
        }
    }
    browser.close().await.unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}
