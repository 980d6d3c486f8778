//! The per-account socket cap over a cluster (issue 11): sockets an account
//! holds on one node count on the other, as soon as that node's presence
//! snapshot is written (`limits.presence_flush_ms`). Two real `mpaka serve`
//! processes on one PostgreSQL database; skipped without PostgreSQL except
//! under `CI=true`.

use mpaka_protocol::{ClientFrame, ErrorCode, ServerFrame, PROTOCOL_VERSION};
use mpaka_tests::nodes::{Accounts, ClusterSpec, Node};
use mpaka_tests::{Backend, Client, Ending, TestDb};
use std::time::{Duration, Instant};

/// Waits until the database counts `want` sockets of `user_id` on every node.
async fn wait_for_sockets(db: &TestDb, user_id: i64, want: i64) {
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url)
        .await
        .expect("database");
    let started = Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(sessions), 0) AS BIGINT) FROM presence WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(&mut conn)
        .await
        .expect("presence");
        if n == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "presence shows {n} sockets, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_account_cannot_exceed_its_socket_cap_by_spreading_over_nodes() {
    let Some(db) = TestDb::fresh(Backend::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = ClusterSpec {
        binary: env!("CARGO_BIN_EXE_mpaka").into(),
        database_url: db.url.clone(),
        data_dir: dir.path().to_owned(),
        jwt_secret: "a shared signing key of at least thirty-two bytes".into(),
        env: vec![
            ("MPAKA_WS__MAX_CONNECTIONS_PER_USER".into(), "2".into()),
            ("MPAKA_LIMITS__PRESENCE_FLUSH_MS".into(), "50".into()),
        ],
    };
    let node_a = Node::start(&spec, "node-a", true).await.expect("node a");
    let node_b = Node::start(&spec, "node-b", false).await.expect("node b");
    let (a, b) = (node_a.addr, node_b.addr);
    let accounts = Accounts::from_data_dir(dir.path());
    let tokens = accounts.login(a, "mugina.officer").await.expect("login");
    let user_id = tokens.user.id;

    let first = accounts_socket(a, &tokens.access_token).await;
    let _second = accounts_socket(b, &tokens.access_token).await;
    wait_for_sockets(&db, user_id, 2).await;
    // A third, on either node, is refused.
    for node in [a, b] {
        let mut third = Client::connect(node).await.expect("connects");
        third
            .send(&ClientFrame::Auth {
                id: "a3".into(),
                v: PROTOCOL_VERSION,
                token: tokens.access_token.clone(),
                encoding: None,
                batch: false,
            })
            .await;
        let reply = third.recv().await.expect("an error frame");
        let code = match &reply {
            ServerFrame::Error { error, .. } => Some(error.code),
            _ => None,
        };
        assert_eq!(code, Some(ErrorCode::TooManyConnections), "{reply:?}");
        assert_eq!(third.ending().await, Ending::Closed(Some(4010)));
    }
    // Closing the one on node A frees a place on node B.
    first.close().await;
    wait_for_sockets(&db, user_id, 1).await;
    let _again = accounts_socket(b, &tokens.access_token).await;
}

async fn accounts_socket(node: std::net::SocketAddr, token: &str) -> Client {
    let mut client = Client::connect(node).await.expect("connects");
    client.auth(token).await.expect("authenticates");
    client
}
