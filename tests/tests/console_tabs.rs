//! The web console with several tabs of one browser: one session and one
//! outbox per browser, not per tab. Tabs refreshing the session at the same
//! moment keep it (the refresh token lives in an HttpOnly cookie the whole
//! browser shares, and the hub gives a repeat within its grace the same
//! pair); messages written offline in two tabs are both sent, once; and
//! the tabs share one socket, owned by a leader tab that relays events to
//! the others, with another tab taking over when the leader closes.

use mpaka_tests::browser::{Browser, Driver};
use mpaka_tests::TestHub;
use serde_json::json;

const CORRIDOR: &str = "#/channels/corridor%3Amugina-manyovu";

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

async fn stored_messages(hub: &TestHub, text: &str) -> usize {
    let token = hub.login("bi.coordinator").await.access_token;
    let (status, events) = hub
        .get_json(
            &token,
            "/api/v1/channels/corridor:mugina-manyovu/messages?limit=500",
        )
        .await;
    assert_eq!(status, 200, "{events}");
    events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["body"]["text"] == text)
        .count()
}

#[tokio::test]
async fn three_tabs_refreshing_at_once_keep_the_session_and_no_script_sees_the_refresh_token() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let browser = driver.browser().await.unwrap();
    log_in(&browser, &hub, "mugina.officer").await.unwrap();
    let first = browser.tab().await.unwrap();
    let mut tabs = vec![first.clone()];
    for _ in 0..2 {
        let tab = browser.new_tab().await.unwrap();
        browser.switch_to(&tab).await.unwrap();
        browser.goto(&hub.url("/")).await.unwrap();
        wait_online(&browser).await.unwrap();
        tabs.push(tab);
    }

    // The refresh token is in no storage and no cookie that script can read.
    let visible = browser
        .exec(
            "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie;",
            json!([]),
        )
        .await
        .unwrap();
    assert!(
        !visible.as_str().unwrap().contains("refresh"),
        "a refresh token is readable by script: {visible}"
    );
    // Nor on a page under the cookie's own path, where `document.cookie`
    // would list it if it were not HttpOnly.
    let probe = browser.new_tab().await.unwrap();
    browser.switch_to(&probe).await.unwrap();
    browser.goto(&hub.url("/api/v1/auth/probe")).await.unwrap();
    let cookies = browser
        .exec("return document.cookie;", json!([]))
        .await
        .unwrap();
    assert!(
        !cookies
            .as_str()
            .unwrap_or_default()
            .contains("mpaka_refresh"),
        "the refresh cookie is readable by script under its path: {cookies}"
    );

    // Every tab waits for a signal and then refreshes; the first tab sends
    // the signal and refreshes at once. Several rounds, as the race is a race.
    for tab in &tabs {
        browser.switch_to(tab).await.unwrap();
        browser
            .exec(
                "window.__results = [];
                 window.__go = new BroadcastChannel('test-go');
                 window.__go.onmessage = () => window.mpaka.refresh().then(
                     () => window.__results.push('ok'),
                     (e) => window.__results.push(e.code || String(e)));",
                json!([]),
            )
            .await
            .unwrap();
    }
    const ROUNDS: usize = 4;
    for round in 1..=ROUNDS {
        browser.switch_to(&first).await.unwrap();
        browser
            .exec(
                "new BroadcastChannel('test-go').postMessage('go');
                 window.mpaka.refresh().then(
                     () => window.__results.push('ok'),
                     (e) => window.__results.push(e.code || String(e)));",
                json!([]),
            )
            .await
            .unwrap();
        for (i, tab) in tabs.iter().enumerate() {
            browser.switch_to(tab).await.unwrap();
            let expected = if i == 0 { 2 * round } else { round };
            browser
                .wait_for(&format!("window.__results.length >= {expected}"))
                .await
                .unwrap();
        }
    }
    for tab in &tabs {
        browser.switch_to(tab).await.unwrap();
        let results = browser
            .exec("return window.__results;", json!([]))
            .await
            .unwrap();
        assert!(
            results.as_array().unwrap().iter().all(|r| r == "ok"),
            "a refresh failed: {results}"
        );
        wait_online(&browser).await.unwrap();
        // The session still works at the hub.
        let status = browser
            .exec_async(
                "const done = arguments[arguments.length - 1];
                 const s = JSON.parse(localStorage.getItem('mpaka.session'));
                 fetch('/api/v1/me', { headers: { authorization: 'Bearer ' + s.access } })
                     .then((r) => done(r.status), () => done(0));",
                json!([]),
            )
            .await
            .unwrap();
        assert_eq!(status, json!(200));
    }
    browser.close().await.unwrap();
}

#[tokio::test]
async fn messages_written_offline_in_two_tabs_are_both_sent_once() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let browser = driver.browser().await.unwrap();
    log_in(&browser, &hub, "manyovu.officer").await.unwrap();
    browser
        .goto(&hub.url(&format!("/{CORRIDOR}")))
        .await
        .unwrap();
    wait_online(&browser).await.unwrap();
    let a = browser.tab().await.unwrap();
    let b = browser.new_tab().await.unwrap();
    browser.switch_to(&b).await.unwrap();
    browser
        .goto(&hub.url(&format!("/{CORRIDOR}")))
        .await
        .unwrap();
    wait_online(&browser).await.unwrap();

    // Tab A writes X offline, then tab B writes Y offline.
    let x = "Written offline in tab A";
    let y = "Written offline in tab B";
    for (tab, text) in [(&a, x), (&b, y)] {
        browser.switch_to(tab).await.unwrap();
        browser.hold_link().await.unwrap();
        browser.fill("#compose-text", text).await.unwrap();
        browser.click("#compose-send").await.unwrap();
        if let Err(e) = browser.wait_text("#messages li.msg.pending", text).await {
            let state = browser
                .exec("return [location.hash, document.querySelector('#compose-text')?.value, JSON.stringify(window.mpaka.outbox.items), Object.keys(localStorage), document.querySelector('#messages')?.outerHTML, document.querySelector('#main')?.innerText.slice(0, 300)];", json!([]))
                .await
                .unwrap();
            panic!("{e}: {state}");
        }
    }

    // Tab A reloads: both messages are still waiting.
    browser.switch_to(&a).await.unwrap();
    browser.refresh().await.unwrap();
    browser
        .wait_text("#messages li.msg.pending", x)
        .await
        .unwrap();
    browser
        .wait_text("#messages li.msg.pending", y)
        .await
        .unwrap();
    browser.wait_text("#pending-count", "2").await.unwrap();

    // The link returns in both tabs: each message is stored once.
    for tab in [&a, &b] {
        browser.switch_to(tab).await.unwrap();
        browser
            .exec("window.mpaka.link.release();", json!([]))
            .await
            .unwrap();
    }
    for tab in [&a, &b] {
        browser.switch_to(tab).await.unwrap();
        wait_online(&browser).await.unwrap();
        for text in [x, y] {
            browser
                .wait_text("#messages li.msg[data-seq]", text)
                .await
                .unwrap();
        }
        browser
            .wait_for("!document.querySelector('#pending-count')")
            .await
            .unwrap();
    }
    for text in [x, y] {
        assert_eq!(stored_messages(&hub, text).await, 1, "{text}");
    }
    browser.close().await.unwrap();
}

/// Messages in the open channel whose text is `text`, confirmed by the hub.
const SHOWN: &str = "return [...document.querySelectorAll('#messages li.msg[data-seq] p')]
    .filter(p => p.textContent === arguments[0]).length;";

/// Waits until the hub counts `n` open sockets.
async fn wait_sockets(hub: &TestHub, n: f64) -> f64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let open = hub.metric("mpaka_connections").await;
        if open == n || std::time::Instant::now() > deadline {
            return open;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn three_tabs_share_one_socket_and_another_tab_takes_over_when_the_leader_closes() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let mugina = hub.login("mugina.officer").await.access_token;
    let browser = driver.browser().await.unwrap();
    log_in(&browser, &hub, "manyovu.officer").await.unwrap();
    let mut tabs = vec![browser.tab().await.unwrap()];
    for _ in 0..2 {
        let tab = browser.new_tab().await.unwrap();
        browser.switch_to(&tab).await.unwrap();
        tabs.push(tab);
    }
    for tab in &tabs {
        browser.switch_to(tab).await.unwrap();
        browser
            .goto(&hub.url(&format!("/{CORRIDOR}")))
            .await
            .unwrap();
        wait_online(&browser).await.unwrap();
    }
    // The hub sees one socket for the three tabs (the login above over
    // REST opens none).
    assert_eq!(wait_sockets(&hub, 1.0).await, 1.0, "sockets for three tabs");

    let publish = |text: &'static str| {
        let hub = &hub;
        let token = mugina.clone();
        async move {
            let response = hub
                .http()
                .post(hub.url("/api/v1/channels/corridor:mugina-manyovu/messages"))
                .bearer_auth(token)
                .header("idempotency-key", mpaka_tests::uuid_like())
                .json(&json!({"text": text}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
        }
    };
    let first = "Watu 300 wamefika Manyovu";
    publish(first).await;
    let mut leader = None;
    for tab in &tabs {
        browser.switch_to(tab).await.unwrap();
        browser
            .wait_for(&format!(
                "[...document.querySelectorAll('#messages li.msg[data-seq] p')].some(p => p.textContent === {first:?})"
            ))
            .await
            .unwrap();
        let leads = browser
            .exec("return window.mpaka.link.leader;", json!([]))
            .await
            .unwrap();
        if leads == json!(true) {
            assert!(leader.is_none(), "two leaders");
            leader = Some(tab.clone());
        }
    }
    let leader = leader.expect("one tab leads");

    // The leader tab closes: another takes over; still one socket, still live.
    browser.switch_to(&leader).await.unwrap();
    browser.close_tab().await.unwrap();
    let rest: Vec<&String> = tabs.iter().filter(|t| **t != leader).collect();
    for tab in &rest {
        browser.switch_to(tab).await.unwrap();
        wait_online(&browser).await.unwrap();
    }
    assert_eq!(
        wait_sockets(&hub, 1.0).await,
        1.0,
        "sockets after the leader left"
    );
    let second = "Timu ya afya imefika";
    publish(second).await;
    let mut leaders = 0;
    for tab in &rest {
        browser.switch_to(tab).await.unwrap();
        browser
            .wait_for(&format!(
                "[...document.querySelectorAll('#messages li.msg[data-seq] p')].some(p => p.textContent === {second:?})"
            ))
            .await
            .unwrap();
        for text in [first, second] {
            let shown = browser.exec(SHOWN, json!([text])).await.unwrap();
            assert_eq!(shown, json!(1), "{text} shown once");
        }
        if browser
            .exec("return window.mpaka.link.leader;", json!([]))
            .await
            .unwrap()
            == json!(true)
        {
            leaders += 1;
        }
    }
    assert_eq!(leaders, 1, "one new leader");

    // A follower tab writes: its message goes out on the leader's socket.
    for tab in &rest {
        browser.switch_to(tab).await.unwrap();
        let leads = browser
            .exec("return window.mpaka.link.leader;", json!([]))
            .await
            .unwrap();
        if leads == json!(false) {
            browser
                .fill("#compose-text", "Kutoka kichupo cha pili")
                .await
                .unwrap();
            browser.click("#compose-send").await.unwrap();
            browser
                .wait_text("#messages li.msg[data-seq]", "Kutoka kichupo cha pili")
                .await
                .unwrap();
        }
    }
    assert_eq!(stored_messages(&hub, "Kutoka kichupo cha pili").await, 1);
    assert_eq!(wait_sockets(&hub, 1.0).await, 1.0);
    browser.close().await.unwrap();
}
