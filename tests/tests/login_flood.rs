//! A login flood against the bounded password-hashing pool: logins beyond
//! the pool and its queue get a fast `503 unavailable` with `Retry-After`
//! instead of queueing, publishing goes on, and a real login gets through
//! once the flood passes. (Publish latency under a flood is measured, not
//! asserted: see docs/benchmarks.md.)

use mpaka_tests::{ch, TestHub};
use serde_json::json;

#[tokio::test]
async fn a_login_flood_gets_fast_refusals_and_publishing_goes_on() {
    let hub = TestHub::start_with(|s| {
        // Many addresses through a trusted proxy, so the throttle does not
        // stop the flood before it reaches the hashing pool.
        s.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.auth.login_free_failures_per_account = 100_000;
        s.auth.login_free_failures_per_address = 100_000;
    })
    .await;
    let mut officer = hub.connect("mugina.officer").await;
    let flood: Vec<_> = (0..300)
        .map(|i| {
            let http = hub.http().clone();
            let url = hub.url("/api/v1/auth/login");
            tokio::spawn(async move {
                let response = http
                    .post(url)
                    .header("x-forwarded-for", format!("10.9.{}.{}", i / 250, i % 250))
                    .json(
                        &json!({ "username": format!("nobody{i}"), "password": "a guess of many" }),
                    )
                    .send()
                    .await
                    .expect("answered");
                let status = response.status().as_u16();
                let retry = response.headers().get("retry-after").cloned();
                let body: serde_json::Value = response.json().await.unwrap();
                (
                    status,
                    body["code"].as_str().unwrap_or("").to_owned(),
                    retry,
                )
            })
        })
        .collect();
    // Publishing goes on during the flood.
    for i in 0..20 {
        officer
            .publish(&ch("post:mugina"), &format!("during the flood {i}"))
            .await
            .expect("published");
    }
    let mut busy = 0;
    for task in flood {
        let (status, code, retry) = task.await.unwrap();
        match (status, code.as_str()) {
            (401, "invalid_credentials") => {}
            (503, "unavailable") => {
                assert_eq!(retry.unwrap(), "1");
                busy += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(
        busy > 0,
        "300 logins at once never filled the hashing queue"
    );
    // The flood over, a real login works.
    let (status, _) = {
        let response = hub
            .http()
            .post(hub.url("/api/v1/auth/login"))
            .json(&json!({ "username": "manyovu.officer", "password": hub.password("manyovu.officer") }))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), ())
    };
    assert_eq!(status, 200);
}
