//! The REST API's OpenAPI document is generated from the wire types; it must
//! be current in docs/ and describe only routes the hub really serves.

use mpaka_tests::TestHub;
use std::path::PathBuf;

#[test]
fn the_published_openapi_document_matches_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("docs/openapi.json"))
            .expect("JSON");
    assert!(
        published == mpaka_protocol::openapi(),
        "docs/openapi.json is stale: regenerate it with `cargo run -- schema --openapi > docs/openapi.json`"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let hub = TestHub::start().await;
    let (status, served) = hub.get_json("none", "/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(served, mpaka_protocol::openapi());
    for (method, path) in mpaka_protocol::documented_operations() {
        let url = hub.url(&path.replace(['{', '}'], ""));
        let request = match method {
            "get" => hub.http().get(&url),
            "post" => hub.http().post(&url),
            "put" => hub.http().put(&url),
            "delete" => hub.http().delete(&url),
            other => panic!("unexpected method {other}"),
        };
        let status = request.send().await.unwrap().status().as_u16();
        // Unauthenticated: 401 for protected routes, 4xx for bad bodies —
        // never "no such route" or "method not allowed".
        assert!(
            ![404, 405].contains(&status),
            "{method} {path} answered {status}"
        );
    }
}
