//! The console on a phone (360×740) and when alerts arrive: an alert opens
//! as its own screen with Acknowledge in reach, tap targets of 44 px,
//! nothing wider than the screen, one offline Acknowledge only; old alerts
//! make no noise at first login, an outage ends with a "while you were
//! away" list, and a severe alert for me stays on screen (and vibrates)
//! until acknowledged or dismissed, with unread counts in tabs and title.

use mpaka_tests::browser::{screenshot_dir, Browser, Driver};
use mpaka_tests::{uuid_like, TestHub};
use serde_json::{json, Value};

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

/// Mugina raises an alert over REST; returns its id.
async fn raise(hub: &TestHub, token: &str, severity: &str, headcount: u32) -> String {
    let response = hub
        .http()
        .post(hub.url("/api/v1/alerts"))
        .bearer_auth(token)
        .header("idempotency-key", uuid_like())
        .json(&json!({
            "kind": "mass_arrival", "direction": "into_burundi", "headcount": headcount,
            "severity": severity, "urgency": "immediate", "certainty": "observed",
            "status": "actual", "needs": ["water"]
        }))
        .send()
        .await
        .expect("raise");
    assert!(response.status().is_success(), "{}", response.status());
    let body: Value = response.json().await.unwrap();
    body["alert"]["id"].as_str().expect("alert id").to_owned()
}

/// Visible controls smaller than 44×44 CSS px (inline links in text aside).
const SMALL_TARGETS: &str = "
    return [...document.querySelectorAll('button, select, a.button, .tabs a, .chan-list a, .back, a.alert, details.failed summary, input:not([type=checkbox]):not([type=radio])')]
      .filter((e) => e.offsetParent !== null)
      .map((e) => [e.id || e.className || e.tagName, e.getBoundingClientRect()])
      .filter(([, r]) => r.height < 44 || r.width < 44)
      .map(([name, r]) => `${name} ${Math.round(r.width)}x${Math.round(r.height)}`);";

const OVERFLOW: &str =
    "return document.documentElement.scrollWidth - document.documentElement.clientWidth;";

async fn assert_phone_fit(browser: &Browser, view: &str) {
    let small = browser.exec(SMALL_TARGETS, json!([])).await.unwrap();
    assert_eq!(small, json!([]), "{view}: tap targets under 44 px: {small}");
    let overflow = browser.exec(OVERFLOW, json!([])).await.unwrap();
    assert!(
        overflow.as_i64().unwrap_or(99) <= 1,
        "{view}: wider than the screen by {overflow} px"
    );
}

#[tokio::test]
async fn on_a_phone_an_alert_opens_as_its_own_screen_and_is_acknowledged_once_offline() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let shots = screenshot_dir();
    let mugina = hub.login("mugina.officer").await.access_token;
    let id = raise(&hub, &mugina, "moderate", 120).await;
    let phone = driver.browser().await.unwrap();
    phone.resize(360, 740).await.unwrap();
    log_in(&phone, &hub, "manyovu.officer").await.unwrap();
    let card = format!("[data-alert=\"{id}\"].alert");
    phone
        .wait_for(&format!("document.querySelector('{card}')"))
        .await
        .unwrap();
    // Viewport at 360 px: the window's outer size includes no chrome in headless.
    assert_phone_fit(&phone, "alerts").await;
    phone
        .screenshot(&shots.join("phone-alerts.png"))
        .await
        .unwrap();

    // Tapping the alert shows its detail on screen, the list gone, and
    // Acknowledge within the screen.
    phone.click(&card).await.unwrap();
    phone
        .wait_for("document.querySelector('#ack-alert')")
        .await
        .unwrap();
    let layout = phone
        .exec(
            "const d = document.querySelector('#alert-detail').getBoundingClientRect();
             const a = document.querySelector('#ack-alert').getBoundingClientRect();
             return { detailTop: d.top >= 0 && d.top < innerHeight,
                      ackOnScreen: a.top >= 0 && a.bottom <= innerHeight,
                      listHidden: document.querySelector('#alert-list').offsetParent === null };",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(
        layout,
        json!({"detailTop": true, "ackOnScreen": true, "listHidden": true}),
        "{layout}"
    );
    assert_phone_fit(&phone, "alert detail").await;
    phone
        .screenshot(&shots.join("phone-alert-detail.png"))
        .await
        .unwrap();

    // Offline, Acknowledge is taken once: the button is disabled as soon as
    // the acknowledgement is queued, also after a reload.
    phone
        .exec("window.mpaka.link.hold();", json!([]))
        .await
        .unwrap();
    phone.click("#ack-alert").await.unwrap();
    phone.wait_text("#pending-count", "1").await.unwrap();
    assert_eq!(
        phone
            .exec(
                "return document.querySelector('#ack-alert').disabled;",
                json!([])
            )
            .await
            .unwrap(),
        json!(true)
    );
    phone.refresh().await.unwrap();
    phone
        .wait_for("document.querySelector('#ack-alert')?.disabled === true")
        .await
        .unwrap();
    phone
        .exec("window.mpaka.link.release();", json!([]))
        .await
        .unwrap();
    phone
        .wait_for("!document.querySelector('#pending-count')")
        .await
        .unwrap();
    phone
        .wait_for("!document.querySelector('#failed:not([hidden])')")
        .await
        .unwrap();
    // The back link returns to the list.
    phone.click("#alert-back").await.unwrap();
    phone
        .wait_for("document.querySelector('#alert-list').offsetParent !== null")
        .await
        .unwrap();

    // A refused action can be discarded: its "not sent" mark goes.
    phone
        .exec(
            "window.mpaka.outbox.add({ via: 'rest', method: 'POST', ref: 'alert.ack', alertId: 'nope',
                 path: '/api/v1/alerts/nope/ack', body: {} });",
            json!([]),
        )
        .await
        .unwrap();
    phone
        .wait_for("document.querySelector('#failed:not([hidden])')")
        .await
        .unwrap();
    phone.click("#failed summary").await.unwrap();
    phone.click("#failed .discard").await.unwrap();
    phone
        .wait_for(
            "document.querySelector('#failed').hidden && !document.querySelector('#pending-count')",
        )
        .await
        .unwrap();

    // The channels and the coordinators' post table fit too.
    phone.goto(&hub.url("/#/channels")).await.unwrap();
    wait_online(&phone).await.unwrap();
    assert_phone_fit(&phone, "channels").await;
    phone.click("#logout").await.unwrap();
    log_in(&phone, &hub, "tz.coordinator").await.unwrap();
    phone.goto(&hub.url("/#/posts")).await.unwrap();
    phone
        .wait_for("document.querySelector('tr[data-post=manyovu]')")
        .await
        .unwrap();
    assert_phone_fit(&phone, "posts").await;
    phone
        .screenshot(&shots.join("phone-posts.png"))
        .await
        .unwrap();
    phone.close().await.unwrap();
}

#[tokio::test]
async fn old_alerts_are_quiet_missed_ones_are_listed_and_a_severe_one_pages_until_acknowledged() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let mugina = hub.login("mugina.officer").await.access_token;
    for n in 0..3 {
        raise(&hub, &mugina, "moderate", 50 + n).await;
    }
    let manyovu = driver.browser().await.unwrap();
    log_in(&manyovu, &hub, "manyovu.officer").await.unwrap();
    manyovu
        .wait_for("document.querySelectorAll('#alert-list a.alert').length === 3")
        .await
        .unwrap();
    // First login: the history is replayed without a single toast.
    let noise = manyovu
        .exec(
            "return { toasts: document.querySelectorAll('.toast').length, away: !document.querySelector('#away').hidden };",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(noise, json!({"toasts": 0, "away": false}));

    // An outage, on the channels screen: two alerts arrive meanwhile.
    manyovu.goto(&hub.url("/#/channels")).await.unwrap();
    wait_online(&manyovu).await.unwrap();
    manyovu
        .exec(
            "window.__vibrated = 0;
             navigator.vibrate = () => { window.__vibrated += 1; return true; };
             window.mpaka.link.hold();",
            json!([]),
        )
        .await
        .unwrap();
    let moderate = raise(&hub, &mugina, "moderate", 80).await;
    let extreme = raise(&hub, &mugina, "extreme", 900).await;
    manyovu
        .exec("window.mpaka.link.release();", json!([]))
        .await
        .unwrap();
    wait_online(&manyovu).await.unwrap();
    manyovu
        .wait_for("!document.querySelector('#away').hidden")
        .await
        .unwrap();
    for id in [&moderate, &extreme] {
        manyovu
            .wait_for(&format!(
                "document.querySelector('#away a[href$=\"{id}\"]')"
            ))
            .await
            .unwrap();
    }
    let after = manyovu
        .exec(
            "return { toasts: document.querySelectorAll('.toast').length,
                      tab: document.querySelector('#nav-alerts .count')?.textContent,
                      title: document.title };",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(after["toasts"], json!(0), "{after}");
    assert_eq!(after["tab"], json!("2"), "{after}");
    assert!(
        after["title"].as_str().unwrap().starts_with("(2)"),
        "{after}"
    );
    // The extreme alert is addressed to Manyovu: it stays on screen.
    let paged = format!("#pager [data-alert=\"{extreme}\"]");
    manyovu
        .wait_for(&format!("document.querySelector('{paged}')"))
        .await
        .unwrap();
    assert_eq!(
        manyovu
            .exec(
                &format!("return !!document.querySelector('#pager [data-alert=\"{moderate}\"]');"),
                json!([])
            )
            .await
            .unwrap(),
        json!(false),
        "a moderate alert does not page"
    );
    manyovu.click("#away-dismiss").await.unwrap();

    // A new extreme alert arriving live vibrates; dismissing it ends its page.
    let live = raise(&hub, &mugina, "extreme", 700).await;
    manyovu
        .wait_for(&format!(
            "document.querySelector('#pager [data-alert=\"{live}\"]') && window.__vibrated > 0"
        ))
        .await
        .unwrap();
    manyovu
        .click(&format!("#pager [data-alert=\"{live}\"] button"))
        .await
        .unwrap();
    manyovu
        .wait_for(&format!(
            "!document.querySelector('#pager [data-alert=\"{live}\"]')"
        ))
        .await
        .unwrap();

    // Opening the alerts clears their count; acknowledging the paged alert
    // takes it off the banner.
    manyovu
        .exec(
            &format!("document.querySelector('{paged} a').click();"),
            json!([]),
        )
        .await
        .unwrap();
    manyovu
        .wait_for("!document.querySelector('#nav-alerts .count')")
        .await
        .unwrap();
    manyovu.click("#ack-alert").await.unwrap();
    manyovu
        .wait_for(&format!("!document.querySelector('{paged}')"))
        .await
        .unwrap();
    manyovu
        .wait_for("document.querySelector('#pager').hidden")
        .await
        .unwrap();
    manyovu.close().await.unwrap();
}
