//! The login throttle over a cluster (issue 11): failed logins counted on
//! one node count on every node, so a guesser spreading attempts over the
//! nodes behind a load balancer gets no more tries than against one. Two
//! real `mpaka serve` processes on one PostgreSQL database; skipped without
//! PostgreSQL except under `CI=true`.

use mpaka_tests::nodes::{Accounts, ClusterSpec, Node};
use mpaka_tests::{Backend, TestDb};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Failures of one account allowed before the first back-off.
const FREE: u32 = 4;

async fn post(node: SocketAddr, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{node}{path}"))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn attempt(node: SocketAddr, username: &str, password: &str) -> (u16, Value) {
    loop {
        let answer = post(
            node,
            "/api/v1/auth/login",
            json!({ "username": username, "password": password }),
        )
        .await;
        // The hashing queue is full: a client retries.
        if answer.0 != 503 {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_guesser_spreading_over_two_nodes_gets_no_more_tries_than_against_one() {
    let Some(db) = TestDb::fresh(Backend::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = ClusterSpec {
        binary: env!("CARGO_BIN_EXE_mpaka").into(),
        database_url: db.url.clone(),
        data_dir: dir.path().to_owned(),
        jwt_secret: "a shared signing key of at least thirty-two bytes".into(),
        env: vec![(
            "MPAKA_AUTH__LOGIN_FREE_FAILURES_PER_ACCOUNT".into(),
            FREE.to_string(),
        )],
    };
    let node_a = Node::start(&spec, "node-a", true).await.expect("node a");
    let node_b = Node::start(&spec, "node-b", false).await.expect("node b");
    let (a, b) = (node_a.addr, node_b.addr);
    let accounts = Accounts::from_data_dir(dir.path());
    let victim = "mugina.officer";

    // Wrong passwords, alternating between the nodes, until one refuses.
    let mut wrong = 0;
    let mut refused = None;
    for i in 0..(4 * FREE) {
        let node = if i % 2 == 0 { a } else { b };
        let (status, body) = attempt(node, victim, &format!("guess number {i}")).await;
        match status {
            401 => wrong += 1,
            429 => {
                refused = Some((node, body));
                break;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let (last, body) = refused.expect("the guesser was stopped");
    assert_eq!(
        wrong,
        FREE,
        "as many guesses over two nodes as against one (per-node counters would allow {})",
        2 * FREE
    );
    assert_eq!(body["code"], "too_many_attempts", "{body}");
    // The right password on the other node is held back too.
    let other = if last == a { b } else { a };
    let (status, body) = attempt(other, victim, &accounts.password(victim)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_attempts")),
        "{body}"
    );

    // An administrator on either node sees the cluster's count.
    let admin = accounts.login(b, "admin").await.expect("admin login");
    let blocks: Value = reqwest::Client::new()
        .get(format!("http://{a}/api/v1/login-blocks"))
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let entry = blocks
        .as_array()
        .expect("list")
        .iter()
        .find(|e| e["kind"] == "account" && e["key"] == victim)
        .cloned()
        .unwrap_or_else(|| panic!("no count for {victim}: {blocks}"));
    assert_eq!(entry["failures"], FREE, "{blocks}");

    // The back-off ends by itself; the right password then works on either
    // node and clears the count everywhere.
    let started = Instant::now();
    loop {
        let (status, body) = attempt(other, victim, &accounts.password(victim)).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 429, "{body}");
        assert!(started.elapsed() < Duration::from_secs(30), "still blocked");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, _) = attempt(last, victim, "one more wrong guess").await;
    assert_eq!(status, 401, "counting starts again from zero");
}
