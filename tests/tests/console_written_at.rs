//! An action composed offline keeps the time it was written: the hub
//! checks `written_at` and keeps it in the event body beside its own time;
//! the console sends it for a message written while the link was down and
//! shows both times ("written 10:05, sent 10:42") on both sides.

use mpaka_tests::browser::{Browser, Driver};
use mpaka_tests::{uuid_like, TestHub};
use serde_json::{json, Value};
use std::time::Duration;

const CORRIDOR: &str = "#/channels/corridor%3Amugina-manyovu";
const MESSAGES: &str = "/api/v1/channels/corridor:mugina-manyovu/messages";

fn rfc3339(offset: time::Duration) -> String {
    (time::OffsetDateTime::now_utc() + offset)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn post(hub: &TestHub, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = hub
        .http()
        .post(hub.url(path))
        .bearer_auth(token)
        .header("idempotency-key", uuid_like())
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn written_at_is_kept_beside_the_hubs_time_and_a_time_ahead_is_refused_with_its_code() {
    let hub = TestHub::start().await;
    let manyovu = hub.login("manyovu.officer").await.access_token;
    let mugina = hub.login("mugina.officer").await.access_token;

    // A message written 40 minutes ago, sent now.
    let written = rfc3339(time::Duration::minutes(-40));
    let (status, reply) = post(
        &hub,
        &manyovu,
        MESSAGES,
        json!({"text": "Watu 400 wamefika.", "lang": "sw", "written_at": written}),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let (_, events) = hub.get_json(&mugina, MESSAGES).await;
    let event = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["seq"] == reply["seq"])
        .expect("stored")
        .clone();
    let kept = event["body"]["written_at"]
        .as_str()
        .expect("written_at kept");
    let parse = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    };
    assert_eq!(
        parse(kept).unix_timestamp(),
        parse(&written).unix_timestamp()
    );
    assert!(parse(event["at"].as_str().unwrap()) - parse(kept) >= time::Duration::minutes(39));

    // Ten minutes ahead of the hub's clock: refused, with a stable code.
    let (status, refused) = post(
        &hub,
        &manyovu,
        MESSAGES,
        json!({"text": "from the future", "written_at": rfc3339(time::Duration::minutes(10))}),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["fields"],
        json!([{"field": "written_at", "code": "in_future", "params": {"max_skew_s": 120},
                "message": refused["fields"][0]["message"]}])
    );
    let (status, refused) = post(
        &hub,
        &manyovu,
        MESSAGES,
        json!({"text": "when?", "written_at": "yesterday at ten"}),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["fields"][0]["code"], "not_a_date");

    // An alert raised and acknowledged offline: both steps keep their time.
    let (status, raised) = post(
        &hub,
        &mugina,
        "/api/v1/alerts",
        json!({"kind": "mass_arrival", "direction": "into_burundi", "headcount": 400,
               "severity": "severe", "urgency": "immediate", "certainty": "observed",
               "status": "actual", "written_at": rfc3339(time::Duration::minutes(-30))}),
    )
    .await;
    assert_eq!(status, 201, "{raised}");
    let id = raised["alert"]["id"].as_str().unwrap().to_owned();
    let (status, acked) = post(
        &hub,
        &manyovu,
        &format!("/api/v1/alerts/{id}/ack"),
        json!({"written_at": rfc3339(time::Duration::minutes(-5))}),
    )
    .await;
    assert_eq!(status, 200, "{acked}");
    assert!(acked["alert"]["acknowledgements"][0]["written_at"].is_string());
    let (_, detail) = hub.get_json(&mugina, &format!("/api/v1/alerts/{id}")).await;
    let history = detail["history"].as_array().expect("history");
    assert!(
        history.iter().all(|c| c["written_at"].is_string()),
        "{detail}"
    );
    // Without a body the acknowledgement still works (older clients).
    let (status, _) = post(
        &hub,
        &mugina,
        &format!("/api/v1/alerts/{id}/ack"),
        json!({}),
    )
    .await;
    assert_eq!(status, 403, "Mugina is the raising side");
}

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
async fn a_message_written_offline_shows_when_it_was_written_and_when_it_was_sent() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let hub = TestHub::start().await;
    let manyovu = driver.browser().await.unwrap();
    let mugina = driver.browser().await.unwrap();
    log_in(&manyovu, &hub, "manyovu.officer").await.unwrap();
    log_in(&mugina, &hub, "mugina.officer").await.unwrap();
    for browser in [&manyovu, &mugina] {
        browser
            .goto(&hub.url(&format!("/{CORRIDOR}")))
            .await
            .unwrap();
        browser
            .wait_for("document.querySelector('#compose-text')")
            .await
            .unwrap();
    }

    // Written while the link is down; the link comes back later.
    manyovu.hold_link().await.unwrap();
    let text = "Tumepokea, timu inakuja (imeandikwa nje ya mtandao)";
    manyovu.fill("#compose-text", text).await.unwrap();
    manyovu.click("#compose-send").await.unwrap();
    manyovu
        .wait_text("#messages li.msg.pending", text)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    manyovu
        .exec("window.mpaka.link.release();", json!([]))
        .await
        .unwrap();

    // Both sides show the two times, each in their language; a message
    // sent at once shows only one.
    let shown = |lang_word: &'static str| {
        format!(
            "[...document.querySelectorAll('#messages li.msg[data-seq]')]
               .filter(li => li.querySelector('p')?.textContent === {text:?})
               .map(li => li.querySelector('.written')?.textContent ?? '')
               .find(s => s.includes('{lang_word}')) ?? null"
        )
    };
    let sw = manyovu.wait_for(&shown("imetumwa")).await.unwrap();
    let fr = mugina.wait_for(&shown("envoyé")).await.unwrap();
    for line in [&sw, &fr] {
        let line = line.as_str().unwrap();
        let times: Vec<&str> = line
            .split(|c: char| !(c.is_ascii_digit() || c == ':'))
            .filter(|s| s.contains(':'))
            .collect();
        assert_eq!(times.len(), 2, "{line}");
        assert_ne!(times[0], times[1], "written and sent look the same: {line}");
    }
    assert!(sw.as_str().unwrap().contains("imeandikwa"), "{sw}");
    assert!(fr.as_str().unwrap().contains("écrit"), "{fr}");

    mugina
        .fill("#compose-text", "Merci, bien reçu")
        .await
        .unwrap();
    mugina.click("#compose-send").await.unwrap();
    let written = mugina
        .wait_for(
            "[...document.querySelectorAll('#messages li.msg[data-seq]')]
               .filter(li => li.querySelector('p')?.textContent === 'Merci, bien reçu')
               .map(li => li.querySelector('.written') ? 'two times' : 'one time')[0]",
        )
        .await
        .unwrap();
    assert_eq!(
        written,
        json!("one time"),
        "a message sent at once shows one time"
    );
    manyovu.close().await.unwrap();
    mugina.close().await.unwrap();
}
