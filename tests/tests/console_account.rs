//! The console's account screen and second factor in real Chromium
//! (issue 11): a coordinator enrols an authenticator app from the QR code's
//! secret, keeps the recovery codes, changes the password, logs out and
//! logs in again with the new password and a code computed here from the
//! secret (by hand, RFC 6238); an administrator whose role requires a
//! second factor enrols during the login itself.

use crate::second_factor::{code_at, step_now};
use mpaka_protocol::Role;
use mpaka_tests::browser::{Browser, Driver};
use mpaka_tests::TestHub;
use serde_json::json;

async fn wait_online(browser: &Browser) -> anyhow::Result<()> {
    browser
        .wait_for("document.querySelector('#conn')?.dataset.state === 'online'")
        .await
        .map(drop)
}

async fn password_step(browser: &Browser, hub: &TestHub, username: &str, password: &str) {
    browser.goto(&hub.url("/")).await.unwrap();
    browser.fill("#username", username).await.unwrap();
    browser.fill("#password", password).await.unwrap();
    browser.click("#login-submit").await.unwrap();
    let _ = hub;
}

/// Enrols on the enrolment form in the page: returns the secret, the step
/// of the confirming code and the recovery codes shown.
async fn enrol_in_page(browser: &Browser) -> (String, u64, Vec<String>) {
    browser.click("#enrol-start").await.unwrap();
    browser
        .wait_for("document.querySelector('#enrol-secret')?.textContent")
        .await
        .unwrap();
    // The QR code is an image the browser decoded (not markup in the page).
    let qr = browser
        .wait_for("(() => { const i = document.querySelector('#enrol-qr'); return i && i.complete && i.naturalWidth > 0 && i.src.slice(0, 26); })()")
        .await
        .unwrap();
    assert_eq!(qr, json!("data:image/svg+xml;base64,"));
    let secret = browser.text("#enrol-secret").await.unwrap();
    assert_eq!(secret.len(), 32, "{secret}");
    let step = step_now();
    browser
        .fill("#enrol-code", &code_at(&secret, step))
        .await
        .unwrap();
    browser.click("#enrol-confirm").await.unwrap();
    browser
        .wait_for("document.querySelectorAll('#recovery-codes li').length === 10")
        .await
        .unwrap();
    let codes = browser
        .exec(
            "return [...document.querySelectorAll('#recovery-codes li')].map(e => e.textContent);",
            json!([]),
        )
        .await
        .unwrap();
    let codes: Vec<String> = serde_json::from_value(codes).unwrap();
    browser.click("#enrol-done").await.unwrap();
    (secret, step, codes)
}

#[tokio::test]
async fn a_user_enrols_changes_the_password_and_logs_in_with_a_code_in_the_console() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start_with(|s| s.auth.second_factor_roles = vec![Role::Admin]).await;
    let browser = driver.browser().await.unwrap();
    let user = "bi.coordinator";
    password_step(&browser, &hub, user, &hub.password(user)).await;
    wait_online(&browser).await.unwrap();

    // The account screen: enrol.
    browser.click("#nav-account").await.unwrap();
    browser
        .wait_for("document.querySelector('#totp-status')?.dataset.state === 'off'")
        .await
        .unwrap();
    let (secret, step, codes) = enrol_in_page(&browser).await;
    assert_eq!(codes.len(), 10);
    browser
        .wait_for("document.querySelector('#totp-status')?.dataset.state === 'enabled'")
        .await
        .unwrap();
    // The recovery codes are gone from the page once noted.
    let page = browser
        .exec("return document.body.textContent;", json!([]))
        .await
        .unwrap();
    assert!(!page.as_str().unwrap().contains(&codes[0]));

    // Change the password from the console.
    let new = "Ruyigi lorry sunflower kettle";
    browser
        .fill("#pw-current", &hub.password(user))
        .await
        .unwrap();
    browser.fill("#pw-new", new).await.unwrap();
    browser
        .fill("#pw-again", "something else entirely")
        .await
        .unwrap();
    browser.click("#pw-submit").await.unwrap();
    browser
        .wait_for("document.querySelector('#pw-message')?.dataset.state === 'error'")
        .await
        .unwrap();
    browser.fill("#pw-again", new).await.unwrap();
    browser.click("#pw-submit").await.unwrap();
    browser
        .wait_for("document.querySelector('#pw-message')?.dataset.state === 'changed'")
        .await
        .unwrap();

    // Log out, then in with the new password and a code from the secret.
    browser.click("#logout").await.unwrap();
    password_step(&browser, &hub, user, new).await;
    let shown = browser
        .wait_for("document.querySelector('#totp-code') ? 'code' : document.querySelector('#login-error')?.textContent")
        .await
        .unwrap();
    assert_eq!(shown, json!("code"), "the login asks for a code");
    browser.fill("#totp-code", "000000").await.unwrap();
    browser.click("#totp-submit").await.unwrap();
    browser
        .wait_for("document.querySelector('#login-error')?.textContent")
        .await
        .unwrap();
    browser
        .fill("#totp-code", &code_at(&secret, step + 1))
        .await
        .unwrap();
    browser.click("#totp-submit").await.unwrap();
    wait_online(&browser).await.unwrap();
    let me = browser.text("#me").await.unwrap();
    assert!(!me.is_empty());
    browser.click("#logout").await.unwrap();

    // An administrator must enrol during the login itself.
    password_step(&browser, &hub, "admin", &hub.password("admin")).await;
    browser
        .wait_for("document.querySelector('#enrol-step')")
        .await
        .unwrap();
    let (_, _, codes) = enrol_in_page(&browser).await;
    assert_eq!(codes.len(), 10);
    wait_online(&browser).await.unwrap();
    // Nothing of the session's refresh token is readable by script.
    let visible = browser
        .exec(
            "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie;",
            json!([]),
        )
        .await
        .unwrap();
    assert!(!visible.as_str().unwrap().contains("refresh"), "{visible}");
    browser.close().await.unwrap();
}
