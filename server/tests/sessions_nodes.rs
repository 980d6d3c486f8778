//! A login session ended on one node is ended on every node: the access
//! token is refused by the other node from the commit on, and the session's
//! sockets there close with 4003 (the delay is printed, never asserted; the
//! target is under a second). Two real `mpaka serve` processes on one
//! PostgreSQL database; skipped without PostgreSQL except under `CI=true`.

use mpaka_tests::nodes::{Accounts, ClusterSpec, Node};
use mpaka_tests::{Backend, Client, Ending, TestDb};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Instant;

struct Cluster {
    nodes: Vec<Node>,
    accounts: Accounts,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

async fn two_nodes() -> Option<Cluster> {
    let db = TestDb::fresh(Backend::Postgres).await?;
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = ClusterSpec {
        binary: env!("CARGO_BIN_EXE_mpaka").into(),
        database_url: db.url.clone(),
        data_dir: dir.path().to_owned(),
        jwt_secret: "a shared signing key of at least thirty-two bytes".into(),
        env: Vec::new(),
    };
    let a = Node::start(&spec, "node-a", true).await.expect("node a");
    let b = Node::start(&spec, "node-b", false).await.expect("node b");
    Some(Cluster {
        nodes: vec![a, b],
        accounts: Accounts::from_data_dir(dir.path()),
        _db: db,
        _dir: dir,
    })
}

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

async fn me(node: SocketAddr, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("http://{node}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn socket(node: SocketAddr, token: &str) -> Client {
    let mut client = Client::connect(node).await.expect("connects");
    client.auth(token).await.expect("authenticates");
    client
}

#[tokio::test]
async fn a_logout_on_one_node_ends_the_session_on_the_other_at_once() {
    let Some(cluster) = two_nodes().await else {
        return;
    };
    let (a, b) = (cluster.nodes[0].addr, cluster.nodes[1].addr);
    let tokens = cluster.accounts.login(a, "mugina.officer").await.unwrap();
    let mut on_b = socket(b, &tokens.access_token).await;
    assert_eq!(me(b, &tokens.access_token).await.0, 200);

    let sent = Instant::now();
    let (status, _) = post(
        a,
        "/api/v1/auth/logout",
        json!({ "refresh_token": tokens.refresh_token }),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = me(b, &tokens.access_token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );
    assert_eq!(on_b.ending().await, Ending::Closed(Some(4003)));
    println!(
        "socket on the other node closed {:?} after the logout was sent",
        sent.elapsed()
    );
}

#[tokio::test]
async fn a_replayed_refresh_token_on_one_node_cuts_the_thief_off_on_the_other() {
    let Some(cluster) = two_nodes().await else {
        return;
    };
    let (a, b) = (cluster.nodes[0].addr, cluster.nodes[1].addr);
    let stolen = cluster.accounts.login(a, "manyovu.officer").await.unwrap();
    // The thief refreshes on node B and keeps a socket open there.
    let (status, body) = post(
        b,
        "/api/v1/auth/refresh",
        json!({ "refresh_token": stolen.refresh_token }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let thief_access = body["access_token"].as_str().unwrap().to_owned();
    let mut thief = socket(b, &thief_access).await;
    // The owner's client replays the spent token on node A.
    let sent = Instant::now();
    let (status, _) = post(
        a,
        "/api/v1/auth/refresh",
        json!({ "refresh_token": stolen.refresh_token }),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(me(b, &thief_access).await.0, 401);
    assert_eq!(thief.ending().await, Ending::Closed(Some(4003)));
    println!(
        "thief's socket on the other node closed {:?} after the replay",
        sent.elapsed()
    );
}
