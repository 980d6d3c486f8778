//! The console as an installed app on a phone: Chromium finds nothing
//! missing to install it (manifest with PNG icons, a service worker), it
//! starts with the link down, and the alert form fits a screen and a half
//! of a 360×740 phone with defaults from the officer's side of the border.

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

#[tokio::test]
async fn the_console_is_installable_and_starts_without_the_link() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let phone = driver.browser().await.unwrap();
    phone.resize(360, 740).await.unwrap();
    log_in(&phone, &hub, "mugina.officer").await.unwrap();
    // The service worker controls the page once it has kept every file.
    phone
        .wait_for("navigator.serviceWorker?.controller && 'yes'")
        .await
        .unwrap();
    let manifest = phone.cdp("Page.getAppManifest", json!({})).await.unwrap();
    assert_eq!(manifest["errors"], json!([]), "{manifest}");
    let errors = phone
        .cdp("Page.getInstallabilityErrors", json!({}))
        .await
        .unwrap();
    assert_eq!(
        errors["installabilityErrors"],
        json!([]),
        "Chromium would not install it: {errors}"
    );
    for icon in ["/icon-192.png", "/icon-512.png"] {
        let png = hub.http().get(hub.url(icon)).send().await.unwrap();
        assert_eq!(png.headers()["content-type"], "image/png");
        let bytes = png.bytes().await.unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{icon}");
    }

    // The link goes down; the console starts anyway, from the worker's
    // cache, with the officer's alerts as they were.
    phone.set_offline(true).await.unwrap();
    phone.goto(&hub.url("/#/alerts")).await.unwrap();
    phone
        .wait_for("document.querySelector('#alert-list') && document.querySelector('#conn')?.dataset.state !== 'online'")
        .await
        .unwrap();
    phone.set_offline(false).await.unwrap();
    phone
        .wait_for("document.querySelector('#conn')?.dataset.state === 'online'")
        .await
        .unwrap();
    phone.close().await.unwrap();
}

#[tokio::test]
async fn the_alert_form_fits_a_screen_and_a_half_with_the_officers_defaults() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    for (username, home, abroad) in [
        ("mugina.officer", "into_burundi", "into_tanzania"),
        ("manyovu.officer", "into_tanzania", "into_burundi"),
    ] {
        let phone = driver.browser().await.unwrap();
        phone.resize(360, 740).await.unwrap();
        log_in(&phone, &hub, username).await.unwrap();
        phone.goto(&hub.url("/#/alerts/new")).await.unwrap();
        phone
            .wait_for("document.querySelector('#raise-form')")
            .await
            .unwrap();
        let form = phone
            .exec(
                "const f = document.querySelector('#raise-form');
                 return { height: f.getBoundingClientRect().height, screen: innerHeight,
                          kind: f.querySelector('[name=kind]').value,
                          direction: f.querySelector('[name=direction]').value,
                          status: f.querySelector('[name=status]').value,
                          urgency: f.querySelector('[name=urgency]').value,
                          certainty: f.querySelector('[name=certainty]').value };",
                json!([]),
            )
            .await
            .unwrap();
        println!("{username}: alert form {form}");
        let height = form["height"].as_f64().unwrap();
        let screen = form["screen"].as_f64().unwrap();
        assert!(
            height <= 1.5 * screen,
            "{username}: the form is {height} px high on a {screen} px screen"
        );
        assert_eq!(form["kind"], "mass_arrival");
        assert_eq!(form["direction"], home, "{username}");
        assert_eq!(
            (&form["status"], &form["urgency"], &form["certainty"]),
            (&json!("actual"), &json!("immediate"), &json!("observed"))
        );
        phone
            .exec(
                "const k = document.querySelector('#raise-form [name=kind]');
                 k.value = 'mass_departure'; k.dispatchEvent(new Event('change'));",
                json!([]),
            )
            .await
            .unwrap();
        let direction = phone
            .exec(
                "return document.querySelector('#raise-form [name=direction]').value;",
                json!([]),
            )
            .await
            .unwrap();
        assert_eq!(
            direction, abroad,
            "{username}: a departure leaves the country"
        );

        // A refused field folded away is shown: a negative count of elderly.
        phone.fill("#raise-headcount", "120").await.unwrap();
        phone
            .exec(
                "document.querySelector('#raise-elderly').value = '-3';",
                json!([]),
            )
            .await
            .unwrap();
        phone.click("#raise-submit").await.unwrap();
        phone
            .wait_for("document.querySelector('#raise-vulnerable').open && document.querySelector('#raise-elderly[aria-invalid=true]')")
            .await
            .unwrap();
        phone.close().await.unwrap();
    }
}
