//! The web console in a real headless Chromium: two officers on either side
//! of the Mugina ⇄ Manyovu crossing, each in their own browser, against a
//! real hub. Skips (and says so) when Chromium is not installed, except
//! under `CI=true`.

use mpaka_tests::browser::{screenshot_dir, Browser, Driver};
use mpaka_tests::TestHub;
use serde_json::json;
use std::time::Duration;

const CORRIDOR: &str = "#/channels/corridor%3Amugina-manyovu";

/// Opens the console and logs in through the form; waits until online.
async fn log_in(browser: &Browser, hub: &TestHub, username: &str) -> anyhow::Result<()> {
    browser.goto(&hub.url("/")).await?;
    browser.fill("#username", username).await?;
    browser.fill("#password", &hub.password(username)).await?;
    browser.click("#login-submit").await?;
    wait_online(browser).await
}

async fn wait_online(browser: &Browser) -> anyhow::Result<()> {
    browser
        .wait_for("document.querySelector('#conn')?.dataset.state === 'online'")
        .await
        .map(drop)
}

/// Messages in the open channel whose text is exactly `text`, confirmed by the hub.
async fn count_messages(browser: &Browser, text: &str) -> anyhow::Result<u64> {
    let n = browser
        .exec(
            "return [...document.querySelectorAll('#messages li.msg[data-seq] p')]
                .filter(p => p.textContent === arguments[0]).length;",
            json!([text]),
        )
        .await?;
    Ok(n.as_u64().unwrap_or(0))
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
async fn the_console_is_served_small_with_tags_and_gzip() {
    let hub = TestHub::start().await;
    let page = hub
        .http()
        .get(hub.url("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.headers().contains_key("content-security-policy"));
    let etag = page.headers()["etag"].clone();
    let again = hub
        .http()
        .get(hub.url("/"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let script = hub
        .http()
        .get(hub.url("/js/app.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(script.headers()["content-encoding"], "gzip");
    // Brotli where the browser accepts it (every current one does).
    let script = hub
        .http()
        .get(hub.url("/js/app.js"))
        .header("accept-encoding", "gzip, deflate, br, zstd")
        .send()
        .await
        .unwrap();
    assert_eq!(script.headers()["content-encoding"], "br");
    assert_eq!(script.headers()["vary"], "accept-encoding");
    // A script carries only the headers that act on it (each is paid on
    // every file of a first load): validators and nosniff; the page's
    // policies are the document's.
    assert_eq!(script.headers()["x-content-type-options"], "nosniff");
    assert_eq!(script.headers()["cache-control"], "no-cache");
    assert!(script.headers().contains_key("etag"));
    assert!(!script.headers().contains_key("referrer-policy"));
    assert!(!script.headers().contains_key("content-security-policy"));
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    // A PNG icon is sent as it is: compressing it again would not pay.
    let icon = hub
        .http()
        .get(hub.url("/icon-192.png"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(icon.headers()["content-type"], "image/png");
    assert!(!icon.headers().contains_key("content-encoding"));
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let missing = hub.http().get(hub.url("/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let api = hub.http().get(hub.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(api.status(), 401, "API routes still win over the console");
}

#[tokio::test]
async fn two_officers_chat_across_the_border_and_an_offline_message_arrives_once() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    // Access tokens expire quickly, so reconnecting after a while offline
    // needs a refresh, as it does after a long power cut; and while online
    // the console renews its socket's token in band (`reauth`) before the
    // hub would close it at expiry.
    let hub =
        TestHub::start_with(|s| s.auth.access_ttl_secs = mpaka_server::config::Seconds::of(3))
            .await;
    let mugina = driver.browser().await.unwrap();
    let manyovu = driver.browser().await.unwrap();
    let shots = screenshot_dir();

    mugina.goto(&hub.url("/")).await.unwrap();
    mugina
        .wait_for("document.querySelector('#username')")
        .await
        .unwrap();
    mugina.fill("#username", "mugina.officer").await.unwrap();
    mugina.screenshot(&shots.join("login.png")).await.unwrap();
    mugina.fill("#password", "wrong password").await.unwrap();
    mugina.click("#login-submit").await.unwrap();
    mugina
        .wait_for("document.querySelector('#login-error').textContent.length > 0")
        .await
        .unwrap();
    mugina
        .fill("#password", &hub.password("mugina.officer"))
        .await
        .unwrap();
    mugina.click("#login-submit").await.unwrap();
    wait_online(&mugina).await.unwrap();
    log_in(&manyovu, &hub, "manyovu.officer").await.unwrap();

    // A message crosses the border live.
    for b in [&mugina, &manyovu] {
        b.goto(&hub.url(&format!("/{CORRIDOR}"))).await.unwrap();
        wait_online(b).await.unwrap();
    }
    mugina
        .fill("#compose-text", "400 people arriving on foot")
        .await
        .unwrap();
    mugina.keys("#compose-text", "\u{E007}").await.unwrap();
    manyovu
        .wait_text("#messages li.msg[data-seq]", "400 people arriving on foot")
        .await
        .unwrap();

    // The officer stays online across several token expiries: the same
    // socket renews its token in band and the indicator never leaves
    // "online" (the hub closes a socket whose token expires).
    manyovu
        .exec(
            "const conn = document.querySelector('#conn');
             window.__states = [];
             new MutationObserver(() => window.__states.push(conn.dataset.state))
                 .observe(conn, { attributes: true, attributeFilter: ['data-state'] });
             window.__socket = window.mpaka.link.ws;
             window.__reauths = 0;
             window.mpaka.link.hooks.onReauth = () => { window.__reauths += 1; };",
            json!([]),
        )
        .await
        .unwrap();
    manyovu.wait_for("window.__reauths >= 3").await.unwrap();
    let kept = manyovu
        .exec(
            "return { same: window.mpaka.link.ws === window.__socket,
                      states: window.__states.filter(s => s !== 'online') };",
            json!([]),
        )
        .await
        .unwrap();
    assert_eq!(kept, json!({"same": true, "states": []}), "{kept}");

    // Manyovu loses its link, writes while offline, reloads the page.
    manyovu.hold_link().await.unwrap();
    let offline_text = "Received, sending a team (written offline)";
    manyovu.fill("#compose-text", offline_text).await.unwrap();
    manyovu.click("#compose-send").await.unwrap();
    manyovu
        .wait_text("#messages li.msg.pending", offline_text)
        .await
        .unwrap();
    manyovu.wait_text("#pending-count", "1").await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await; // the access token expires meanwhile
    manyovu.refresh().await.unwrap();
    manyovu
        .wait_text("#messages li.msg.pending", offline_text)
        .await
        .unwrap();
    manyovu
        .screenshot(&shots.join("offline-pending.png"))
        .await
        .unwrap();
    assert_eq!(stored_messages(&hub, offline_text).await, 0);

    // The link returns: the message is sent once and Mugina sees it once.
    manyovu
        .exec("window.mpaka.link.release();", json!([]))
        .await
        .unwrap();
    wait_online(&manyovu).await.unwrap();
    manyovu
        .wait_for("!document.querySelector('#pending-count')")
        .await
        .unwrap();
    mugina
        .wait_text("#messages li.msg[data-seq]", offline_text)
        .await
        .unwrap();

    // A reply lost with the link: the same id is sent again on reconnect
    // and the hub stores it once.
    let lost_reply_text = "Sent just as the link dropped";
    let reply = manyovu
        .exec_async(
            "const done = arguments[arguments.length - 1];
             window.__replies = [];
             window.mpaka.outbox.onChange((item, reply) => reply && window.__replies.push(reply));
             window.mpaka.outbox.add({ via: 'ws', frame: { type: 'publish',
                 channel: 'corridor:mugina-manyovu', text: arguments[0] } });
             window.mpaka.link.hold();
             setTimeout(() => { window.mpaka.link.release(); done(true); }, 500);",
            json!([lost_reply_text]),
        )
        .await
        .unwrap();
    assert_eq!(reply, json!(true));
    manyovu
        .wait_for("window.__replies.length > 0")
        .await
        .unwrap();
    mugina
        .wait_text("#messages li.msg[data-seq]", lost_reply_text)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (text, who) in [(offline_text, &mugina), (lost_reply_text, &mugina)] {
        assert_eq!(count_messages(who, text).await.unwrap(), 1, "{text}");
        assert_eq!(stored_messages(&hub, text).await, 1, "{text}");
    }
    assert_eq!(count_messages(&manyovu, offline_text).await.unwrap(), 1);
    mugina
        .screenshot(&shots.join("channels.png"))
        .await
        .unwrap();

    // Phone width stays usable: no horizontal scrolling of the page.
    manyovu.resize(390, 800).await.unwrap();
    manyovu
        .goto(&hub.url(&format!("/{CORRIDOR}")))
        .await
        .unwrap();
    wait_online(&manyovu).await.unwrap();
    let overflow = manyovu
        .exec(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await
        .unwrap();
    manyovu
        .screenshot(&shots.join("phone-channels.png"))
        .await
        .unwrap();
    assert!(overflow.as_i64().unwrap_or(99) <= 1, "overflow {overflow}");

    // Logging out returns to the login form, and a reload stays there.
    mugina.click("#logout").await.unwrap();
    mugina
        .wait_for("document.querySelector('#username')")
        .await
        .unwrap();
    mugina.refresh().await.unwrap();
    mugina
        .wait_for("document.querySelector('#username')")
        .await
        .unwrap();

    // A Tanzanian coordinator sees which posts are online and which are dark.
    log_in(&mugina, &hub, "tz.coordinator").await.unwrap();
    mugina.click("#nav-posts").await.unwrap();
    mugina
        .wait_for("document.querySelector('tr[data-post=manyovu].online')")
        .await
        .unwrap();
    mugina
        .wait_for("document.querySelector('tr[data-post=kibondo].dark')")
        .await
        .unwrap();
    mugina
        .screenshot(&shots.join("post-status.png"))
        .await
        .unwrap();

    mugina.close().await.unwrap();
    manyovu.close().await.unwrap();
}

#[tokio::test]
async fn the_first_load_is_small() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let browser = driver.browser().await.unwrap();
    // Files the page fetches through the service worker (once it controls
    // the page, right after the first load) would count 0 bytes: the page
    // goes to the network itself here, so every byte it causes counts. The
    // worker's own background copy of every file is not counted.
    browser.cdp("Network.enable", json!({})).await.unwrap();
    browser
        .cdp("Network.setBypassServiceWorker", json!({"bypass": true}))
        .await
        .unwrap();
    log_in(&browser, &hub, "mugina.officer").await.unwrap();
    browser
        .wait_for("document.querySelector('#alert-list')")
        .await
        .unwrap();
    let bytes = browser
        .exec(
            "const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
             return all.filter(e => !e.name.includes('/api/') && !e.name.endsWith('/ws'))
                       .map(e => [e.name, e.transferSize, e.decodedBodySize]);",
            json!([]),
        )
        .await
        .unwrap();
    let entries = bytes.as_array().unwrap();
    let transferred: u64 = entries.iter().map(|e| e[1].as_u64().unwrap_or(0)).sum();
    let decoded: u64 = entries.iter().map(|e| e[2].as_u64().unwrap_or(0)).sum();
    println!(
        "first load: {transferred} bytes transferred ({decoded} bytes decoded) in {} files",
        entries.len()
    );
    for e in entries {
        println!("  {} {} {}", e[0], e[1], e[2]);
    }
    assert!(transferred > 0);
    // 25,050 bytes measured (docs/console.md, "First load, measured");
    // the issue's budget is about 28 kB. The margin is one request:
    // Chromium counts 300 bytes of headers for every response, and
    // whether the browser asks for one more small file (the favicon, the
    // manifest icon) depends on timing. Files that arrive as 304s because
    // the service worker's background copy fetched them first count 300.
    assert!(
        transferred <= 28_300,
        "first load too heavy: {transferred} bytes"
    );
    browser.close().await.unwrap();
}

#[tokio::test]
async fn an_alert_raised_at_mugina_is_acknowledged_live_at_manyovu_also_from_offline() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let shots = screenshot_dir();
    let mugina = driver.browser().await.unwrap();
    let manyovu = driver.browser().await.unwrap();
    log_in(&mugina, &hub, "mugina.officer").await.unwrap();
    log_in(&manyovu, &hub, "manyovu.officer").await.unwrap();
    manyovu.goto(&hub.url("/#/alerts")).await.unwrap();
    wait_online(&manyovu).await.unwrap();

    // The form shows the hub's field-level messages.
    mugina.click("#raise-alert").await.unwrap();
    mugina.fill("#raise-headcount", "-5").await.unwrap();
    mugina.click("#raise-submit").await.unwrap();
    mugina
        .wait_for("document.querySelector('#raise-headcount[aria-invalid=true]')")
        .await
        .unwrap();
    let message = mugina.text("#raise-headcount-err").await.unwrap();
    assert!(!message.is_empty(), "no message next to the headcount");
    mugina
        .exec("window.scrollTo(0, 0);", json!([]))
        .await
        .unwrap();
    mugina
        .screenshot(&shots.join("alert-form.png"))
        .await
        .unwrap();

    // A valid alert reaches Manyovu live, unacknowledged.
    mugina.fill("#raise-headcount", "400").await.unwrap();
    // The vulnerable groups are folded away until opened.
    mugina.click("#raise-vulnerable summary").await.unwrap();
    mugina
        .fill("#raise-unaccompanied_or_separated_children", "12")
        .await
        .unwrap();
    mugina.click("#need-water").await.unwrap();
    mugina.click("#raise-submit").await.unwrap();
    mugina
        .wait_for("document.querySelector('#alert-detail')")
        .await
        .unwrap();
    let id = mugina
        .exec(
            "return document.querySelector('#alert-detail').dataset.alert;",
            json!([]),
        )
        .await
        .unwrap();
    let id = id.as_str().unwrap().to_owned();
    let card = format!("document.querySelector('[data-alert=\"{id}\"].alert')");
    manyovu
        .wait_for(&format!("{card}?.dataset.acked === 'no'"))
        .await
        .unwrap();

    // Manyovu acknowledges; Mugina sees it live.
    manyovu
        .click(&format!("[data-alert=\"{id}\"].alert"))
        .await
        .unwrap();
    manyovu.click("#ack-alert").await.unwrap();
    mugina
        .wait_for(&format!("{card}?.dataset.acked === 'yes'"))
        .await
        .unwrap();
    mugina.wait_text("#detail-acks", "Manyovu").await.unwrap();
    mugina
        .screenshot(&shots.join("alert-feed.png"))
        .await
        .unwrap();

    // A second alert; Manyovu acknowledges it while its link is down,
    // reloads, and the acknowledgement is sent once when the link returns.
    mugina.click("#raise-alert").await.unwrap();
    mugina.fill("#raise-headcount", "120").await.unwrap();
    mugina.click("#raise-submit").await.unwrap();
    let second = mugina
        .wait_for(&format!(
            "(() => {{ const d = document.querySelector('#alert-detail'); return d && d.dataset.alert !== '{id}' && d.dataset.alert; }})()"
        ))
        .await
        .unwrap();
    let second = second.as_str().unwrap().to_owned();
    let second_card = format!("document.querySelector('[data-alert=\"{second}\"].alert')");
    manyovu
        .wait_for(&format!("{second_card}?.dataset.acked === 'no'"))
        .await
        .unwrap();
    manyovu
        .click(&format!("[data-alert=\"{second}\"].alert"))
        .await
        .unwrap();
    manyovu
        .wait_for("document.querySelector('#ack-alert')")
        .await
        .unwrap();
    manyovu
        .exec("window.mpaka.link.hold();", json!([]))
        .await
        .unwrap();
    manyovu.click("#ack-alert").await.unwrap();
    manyovu.wait_text("#pending-count", "1").await.unwrap();
    manyovu.refresh().await.unwrap();
    manyovu.wait_text("#pending-count", "1").await.unwrap();
    manyovu
        .wait_for("document.querySelector('#conn').dataset.state === 'held'")
        .await
        .unwrap();
    manyovu
        .exec("window.mpaka.link.release();", json!([]))
        .await
        .unwrap();
    mugina
        .wait_for(&format!("{second_card}?.dataset.acked === 'yes'"))
        .await
        .unwrap();
    manyovu
        .wait_for("!document.querySelector('#pending-count')")
        .await
        .unwrap();
    let token = hub.login("mugina.officer").await.access_token;
    let (status, detail) = hub
        .get_json(&token, &format!("/api/v1/alerts/{second}"))
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["alert"]["acknowledgements"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let acks = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["step"] == "acknowledged")
        .count();
    assert_eq!(acks, 1, "{detail}");
    mugina.close().await.unwrap();
    manyovu.close().await.unwrap();
}

#[tokio::test]
async fn a_coordinator_publishes_an_sop_and_an_officer_acknowledges_it_in_the_coverage() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let shots = screenshot_dir();
    let coordinator = driver.browser().await.unwrap();
    let officer = driver.browser().await.unwrap();
    log_in(&coordinator, &hub, "bi.coordinator").await.unwrap();
    log_in(&officer, &hub, "mugina.officer").await.unwrap();
    officer.goto(&hub.url("/#/sops")).await.unwrap();
    wait_online(&officer).await.unwrap();

    // The coordinator writes a draft in two languages and publishes it.
    coordinator.goto(&hub.url("/#/sops")).await.unwrap();
    coordinator.click("#new-sop").await.unwrap();
    coordinator
        .fill("#sop-slug", "minors-reception")
        .await
        .unwrap();
    coordinator
        .fill("#sop-title-fr", "Accueil des mineurs non accompagnés")
        .await
        .unwrap();
    coordinator
        .fill(
            "#sop-body-fr",
            "# Accueil\n\n1. Enregistrer l'enfant.\n2. Prévenir la protection.",
        )
        .await
        .unwrap();
    coordinator
        .fill("#sop-title-en", "Reception of unaccompanied minors")
        .await
        .unwrap();
    coordinator
        .fill(
            "#sop-body-en",
            "# Reception\n\n1. Register the child.\n2. Call protection staff.",
        )
        .await
        .unwrap();
    coordinator.click("#sop-save").await.unwrap();
    coordinator
        .wait_for("!document.querySelector('#sop-publish').hidden")
        .await
        .unwrap();
    coordinator.click("#sop-publish").await.unwrap();
    coordinator
        .wait_for("document.querySelector('#sop-coverage')")
        .await
        .unwrap();
    let before = coordinator
        .exec(
            "return Number(document.querySelector('#sop-coverage').dataset.acknowledged);",
            json!([]),
        )
        .await
        .unwrap();

    // The officer gets it live, marked unread, reads it in French and
    // English, and acknowledges it.
    officer
        .wait_for("document.querySelector('[data-sop=\"minors-reception\"] .unread')")
        .await
        .unwrap();
    officer
        .click("[data-sop=\"minors-reception\"]")
        .await
        .unwrap();
    officer.wait_text("#sop-body", "Enregistrer").await.unwrap();
    officer.click("#sop-reader [data-lang=en]").await.unwrap();
    officer
        .wait_text("#sop-body", "Register the child")
        .await
        .unwrap();
    officer
        .screenshot(&shots.join("sop-reader.png"))
        .await
        .unwrap();
    officer.click("#ack-sop").await.unwrap();
    officer
        .wait_for("document.querySelector('#sop-acked')")
        .await
        .unwrap();

    // The coverage table counts one more acknowledgement, live (the hub
    // announces acknowledgements on the coordinators' channel).
    coordinator
        .wait_for(&format!(
            "Number(document.querySelector('#sop-coverage')?.dataset.acknowledged) === {}",
            before.as_u64().unwrap() + 1
        ))
        .await
        .unwrap();
    coordinator
        .screenshot(&shots.join("coverage.png"))
        .await
        .unwrap();
    coordinator.close().await.unwrap();
    officer.close().await.unwrap();
}

/// The first and the warm load on a thin post link (250 kbit/s down, 50 up,
/// 400 ms latency), for docs/console.md: printed, not asserted (no
/// wall-clock limits in tests).
#[tokio::test]
async fn first_and_warm_load_on_a_250_kbit_link_are_measured() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let browser = driver.browser().await.unwrap();
    browser.throttle(400, 250, 50).await.unwrap();
    let started = std::time::Instant::now();
    browser.goto(&hub.url("/")).await.unwrap();
    browser
        .wait_for("document.querySelector('#username')")
        .await
        .unwrap();
    let login_form = started.elapsed();
    browser.fill("#username", "mugina.officer").await.unwrap();
    browser
        .fill("#password", &hub.password("mugina.officer"))
        .await
        .unwrap();
    let submitted = std::time::Instant::now();
    browser.click("#login-submit").await.unwrap();
    wait_online(&browser).await.unwrap();
    browser
        .wait_for("document.querySelector('#alert-list')")
        .await
        .unwrap();
    let to_alerts = submitted.elapsed();
    let reloaded = std::time::Instant::now();
    browser.refresh().await.unwrap();
    wait_online(&browser).await.unwrap();
    browser
        .wait_for("document.querySelector('#alert-list')")
        .await
        .unwrap();
    let warm = reloaded.elapsed();
    let bytes = browser
        .exec(
            "return [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
                 .filter(e => !e.name.includes('/api/') && !e.name.endsWith('/ws'))
                 .reduce((sum, e) => sum + e.transferSize, 0);",
            json!([]),
        )
        .await
        .unwrap();
    println!(
        "250/50 kbit/s, 400 ms: login form in {login_form:?}; login to alerts in {to_alerts:?}; \
         warm reload to alerts in {warm:?} ({bytes} bytes transferred by the reload)"
    );
    browser.close().await.unwrap();
}
