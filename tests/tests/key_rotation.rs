//! Rotating the access-token signing key: a new key signs, tokens signed
//! with the old one keep working until they expire, sessions survive
//! (refresh tokens are not JWTs), and a node with another key refuses.
//! Also: PostgreSQL sessions carry the node's `application_name`.

use jsonwebtoken::decode_header;
use mpaka_server::store::Store;
use mpaka_tests::{Backend, TestDb, TestHub};
use serde_json::json;
use sqlx::Connection;

fn kid(token: &str) -> String {
    decode_header(token)
        .unwrap()
        .kid
        .expect("tokens name their key")
}

#[tokio::test]
async fn after_a_rotation_old_tokens_still_work_and_new_ones_use_the_new_key() {
    let hub = TestHub::start().await;
    let before = hub.login("mugina.officer").await;
    let old_kid = kid(&before.access_token);
    let settings = (*hub.state.settings).clone();
    let rotation =
        mpaka_server::auth::keys::rotate(&settings, mpaka_server::store::now_ms()).unwrap();
    assert_eq!(rotation.retired_kid, old_kid);

    let hub = hub.restart().await;
    let (status, me) = hub.get_json(&before.access_token, "/api/v1/me").await;
    assert_eq!(status, 200, "a token of the retired key is refused: {me}");

    // The session goes on: the refresh token still works and the new
    // access token is signed with the new key.
    let response = hub
        .http()
        .post(hub.url("/api/v1/auth/refresh"))
        .json(&json!({ "refresh_token": before.refresh_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let refreshed: mpaka_protocol::TokenResponse = response.json().await.unwrap();
    assert_eq!(kid(&refreshed.access_token), rotation.new_kid);
    let fresh = hub.login("manyovu.officer").await;
    assert_eq!(kid(&fresh.access_token), rotation.new_kid);
}

#[tokio::test]
async fn a_node_with_another_key_refuses_the_token() {
    let one = TestHub::start().await;
    let other = TestHub::start().await;
    let tokens = one.login("mugina.officer").await;
    let (status, _) = other.get_json(&tokens.access_token, "/api/v1/me").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn postgres_sessions_are_named_after_the_node() {
    let Some(db) = TestDb::fresh(Backend::Postgres).await else {
        return;
    };
    let store = Store::open_as(&db.url, "mpaka/kabanga-2").await.unwrap();
    store.ping().await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let named: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'mpaka/kabanga-2'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(named >= 1, "no session named mpaka/kabanga-2");
    conn.close().await.unwrap();
    store.close().await;
}
