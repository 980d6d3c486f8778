//! `/metrics` of a real hub: every series with a closed label set is there
//! at zero from start; REST writes and escalations are counted with socket
//! publishes; open and unacknowledged alerts, posts' last seen, HTTP
//! requests by route template, pools, build info and the process are
//! reported. The exposed names are also what the dashboard and alerting
//! rules in deploy/ are checked against (see `deploy_monitoring.rs`).

use mpaka_tests::{Backend, TestHub, PATIENCE};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One scrape: every sample line, `name{labels}` → value.
pub async fn scrape(hub: &TestHub) -> BTreeMap<String, f64> {
    let text = hub
        .http()
        .get(hub.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The value of one exact sample (`name{labels}` as rendered), or panics.
fn sample(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("{key} missing from /metrics"))
}

/// Scrapes until `key` reaches `at_least` (the escalation loop and
/// presence flush run in the background).
async fn until(hub: &TestHub, key: &str, at_least: f64) -> BTreeMap<String, f64> {
    let started = Instant::now();
    loop {
        let samples = scrape(hub).await;
        if samples.get(key).copied().unwrap_or(f64::NAN) >= at_least {
            return samples;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{key} never reached {at_least}: {:?}",
            samples.get(key)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An authenticated POST with a fresh `Idempotency-Key`.
async fn post(
    hub: &TestHub,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = hub
        .http()
        .post(hub.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", mpaka_tests::uuid_like())
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

fn mugina_draft(severity: &str) -> serde_json::Value {
    json!({
        "kind": "mass_arrival", "direction": "into_burundi", "headcount": 400,
        "severity": severity, "urgency": "immediate", "certainty": "observed",
        "text": {"text": "Abantu 400 bashitse n'amaguru.", "lang": "rn"},
        "status": "actual"
    })
}

#[tokio::test]
async fn a_fresh_hub_exports_every_closed_series_at_zero() {
    let hub = TestHub::start().await;
    let samples = scrape(&hub).await;
    for kind in mpaka_protocol::EventData::KINDS {
        // Demo seeding writes directory events; alert kinds stay at zero.
        assert!(
            samples.contains_key(&format!("mpaka_events_published_total{{kind=\"{kind}\"}}")),
            "events_published_total for {kind} missing"
        );
    }
    for severity in ["extreme", "severe", "moderate", "minor", "unknown"] {
        for name in ["mpaka_alerts_open", "mpaka_alerts_unacknowledged"] {
            let key = format!("{name}{{severity=\"{severity}\"}}");
            assert_eq!(sample(&samples, &key), 0.0, "{key}");
        }
    }
    for pool in ["read", "write"] {
        assert_eq!(
            sample(
                &samples,
                &format!("mpaka_db_acquire_errors_total{{pool=\"{pool}\"}}")
            ),
            0.0
        );
        assert!(
            sample(
                &samples,
                &format!("mpaka_db_pool_max_connections{{pool=\"{pool}\"}}")
            ) >= 1.0
        );
        assert!(samples.contains_key(&format!(
            "mpaka_db_pool_idle_connections{{pool=\"{pool}\"}}"
        )));
    }
    assert_eq!(sample(&samples, "mpaka_db_listen_connected"), 0.0);
    assert_eq!(sample(&samples, "mpaka_db_listen_reconnects_total"), 0.0);
    assert_eq!(
        sample(
            &samples,
            &format!(
                "mpaka_build_info{{version=\"{}\",commit=\"{}\",database=\"sqlite\"}}",
                env!("CARGO_PKG_VERSION"),
                mpaka_server::build_info::COMMIT
            )
        ),
        1.0
    );
    assert_eq!(
        sample(
            &samples,
            "mpaka_auth_failures_total{code=\"invalid_credentials\"}"
        ),
        0.0
    );
    assert!(sample(&samples, "process_resident_memory_bytes") > 0.0);
    assert!(sample(&samples, "process_open_fds") > 0.0);
    assert!(sample(&samples, "process_max_fds") > 0.0);
    assert!(samples.contains_key("process_cpu_seconds_total"));
    assert!(sample(&samples, "process_start_time_seconds") > 1.6e9);
    // Every demo post, dark since it was created, nobody online.
    for post in ["mugina", "manyovu", "gisuru", "kobero", "kabanga"] {
        let online = samples
            .iter()
            .find(|(k, _)| k.starts_with(&format!("mpaka_post_online{{post=\"{post}\"")))
            .unwrap_or_else(|| panic!("post_online for {post} missing"));
        assert_eq!(*online.1, 0.0);
        assert!(samples
            .keys()
            .any(|k| k.starts_with(&format!("mpaka_post_last_seen_seconds{{post=\"{post}\""))));
    }
}

#[tokio::test]
async fn rest_writes_and_escalations_are_counted_with_alert_and_http_figures() {
    let hub = TestHub::start_with(|s| {
        s.alerts.severe_escalation_ms = mpaka_server::config::Millis::of(300);
        s.alerts.extreme_escalation_ms = mpaka_server::config::Millis::of(150);
        s.alerts.second_level_ms = mpaka_server::config::Millis::of(300);
        s.alerts.check_interval_ms = mpaka_server::config::Millis::of(50);
    })
    .await;
    let mugina = hub.login("mugina.officer").await.access_token;
    let manyovu = hub.login("manyovu.officer").await.access_token;
    let (status, severe) = post(&hub, &mugina, "/api/v1/alerts", mugina_draft("severe")).await;
    assert_eq!(status, 201, "{severe}");
    let (status, acknowledged) =
        post(&hub, &mugina, "/api/v1/alerts", mugina_draft("moderate")).await;
    assert_eq!(status, 201, "{acknowledged}");
    let id = acknowledged["alert"]["id"].as_str().unwrap();
    let (status, _) = post(
        &hub,
        &manyovu,
        &format!("/api/v1/alerts/{id}/ack"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    // A wrong password is an auth failure.
    let (status, _) = hub
        .post_json(
            "",
            "/api/v1/auth/login",
            &json!({"username": "mugina.officer", "password": "wrong"}),
        )
        .await;
    assert_eq!(status, 401);

    // The severe alert escalates twice (levels 1 and 2).
    let samples = until(
        &hub,
        "mpaka_events_published_total{kind=\"alert.escalated\"}",
        2.0,
    )
    .await;
    assert_eq!(
        sample(
            &samples,
            "mpaka_events_published_total{kind=\"alert.raised\"}"
        ),
        2.0
    );
    assert_eq!(
        sample(
            &samples,
            "mpaka_events_published_total{kind=\"alert.acknowledged\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(&samples, "mpaka_alerts_open{severity=\"severe\"}"),
        1.0
    );
    assert_eq!(
        sample(&samples, "mpaka_alerts_open{severity=\"moderate\"}"),
        1.0
    );
    assert_eq!(
        sample(&samples, "mpaka_alerts_unacknowledged{severity=\"severe\"}"),
        1.0
    );
    assert_eq!(
        sample(
            &samples,
            "mpaka_alerts_unacknowledged{severity=\"moderate\"}"
        ),
        0.0
    );
    assert_eq!(
        sample(
            &samples,
            "mpaka_auth_failures_total{code=\"invalid_credentials\"}"
        ),
        1.0
    );
    // Route templates, never raw ids.
    assert_eq!(
        sample(
            &samples,
            "mpaka_http_requests_total{route=\"/api/v1/alerts\",method=\"POST\",status=\"201\"}"
        ),
        2.0
    );
    assert_eq!(
        sample(
            &samples,
            "mpaka_http_requests_total{route=\"/api/v1/alerts/{id}/ack\",method=\"POST\",status=\"200\"}"
        ),
        1.0
    );
    assert!(
        !samples.keys().any(|k| k.contains(id)),
        "a raw id in a label"
    );
    assert!(
        sample(
            &samples,
            "mpaka_http_request_duration_seconds_count{route=\"/api/v1/alerts\"}"
        ) >= 2.0
    );
}

#[tokio::test]
async fn a_connected_officer_makes_the_post_online_and_seen_now() {
    let hub = TestHub::start().await;
    let _client = hub.connect("mugina.officer").await;
    let samples = until(
        &hub,
        "mpaka_post_online{post=\"mugina\",country=\"BI\"}",
        1.0,
    )
    .await;
    assert_eq!(
        sample(
            &samples,
            "mpaka_post_last_seen_seconds{post=\"mugina\",country=\"BI\"}"
        ),
        0.0
    );
    assert_eq!(
        sample(
            &samples,
            "mpaka_post_online{post=\"manyovu\",country=\"TZ\"}"
        ),
        0.0
    );
}

#[tokio::test]
async fn a_postgresql_node_reports_its_listen_connection_and_pool() {
    let Some(hub) = TestHub::start_on(Backend::Postgres, |_| {}).await else {
        return;
    };
    let samples = until(&hub, "mpaka_db_listen_connected", 1.0).await;
    assert!(samples
        .keys()
        .any(|k| k.starts_with("mpaka_build_info{") && k.contains("database=\"postgres\"")));
    assert!(sample(&samples, "mpaka_db_pool_connections{pool=\"write\"}") >= 1.0);
}
