//! Socket limits as an attacker meets them (issue 11): an anonymous socket
//! cannot make the hub buffer large frames, one account cannot hold more
//! than its share of sockets, and one address (the forwarded one behind a
//! trusted proxy) cannot take the whole socket pool.

use futures_util::{SinkExt, StreamExt};
use mpaka_protocol::{ClientFrame, ErrorCode, ServerFrame, PROTOCOL_VERSION};
use mpaka_tests::{Ending, TestHub};
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn nonzero(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).expect("non-zero")
}

fn error_code(frame: &ServerFrame) -> Option<ErrorCode> {
    match frame {
        ServerFrame::Error { error, .. } => Some(error.code),
        _ => None,
    }
}

/// Opens a socket claiming to come from `forwarded` (believed only from a
/// trusted proxy); the HTTP status when the upgrade is refused.
async fn open_from(
    addr: SocketAddr,
    forwarded: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    (u16, String),
> {
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", forwarded.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err((
            response.status().as_u16(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned(),
        )),
        Err(other) => panic!("unexpected connect error: {other}"),
    }
}

#[tokio::test]
async fn a_frame_larger_than_the_auth_limit_before_authentication_is_refused_and_closed() {
    let hub = TestHub::start().await;
    // Just over the default 4 KiB: refused with frame_too_large, closed 1009.
    let mut anonymous = hub.raw_socket().await;
    anonymous
        .send_text(&format!(r#"{{"type":"ping","id":"{}"}}"#, "x".repeat(5000)))
        .await;
    let reply = anonymous.recv().await.expect("an error frame");
    assert_eq!(
        error_code(&reply),
        Some(ErrorCode::FrameTooLarge),
        "{reply:?}"
    );
    assert_eq!(anonymous.ending().await, Ending::Closed(Some(1009)));

    // A 1 MiB frame is refused from its header, before it is buffered.
    let mut flooder = hub.raw_socket().await;
    let _ = flooder
        .send_message(Message::Text("y".repeat(1024 * 1024).into()))
        .await;
    assert!(matches!(
        flooder.ending().await,
        Ending::Closed(Some(1009)) | Ending::Dropped
    ));

    // Once authenticated, frames up to max_frame_bytes (64 KiB) are read:
    // a 20 KiB one gets an ordinary answer and the socket stays open.
    let mut officer = hub.connect("mugina.officer").await;
    officer
        .send_text(&format!(
            r#"{{"type":"ping","id":"big","pad":"{}"}}"#,
            "z".repeat(20 * 1024)
        ))
        .await;
    let reply = officer.recv().await.expect("a reply");
    assert_ne!(
        error_code(&reply),
        Some(ErrorCode::FrameTooLarge),
        "{reply:?}"
    );
    let pong = officer
        .request(&ClientFrame::Ping { id: "after".into() })
        .await;
    assert!(matches!(pong, ServerFrame::Pong { .. }), "{pong:?}");
}

#[tokio::test]
async fn one_account_cannot_open_more_sockets_than_its_cap() {
    let hub = TestHub::start_with(|s| s.ws.max_connections_per_user = nonzero(2)).await;
    let tokens = hub.login("mugina.officer").await;
    let first = hub.connect_with_token(&tokens.access_token).await.unwrap();
    let _second = hub.connect_with_token(&tokens.access_token).await.unwrap();
    let mut third = hub.raw_socket().await;
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
    assert_eq!(
        error_code(&reply),
        Some(ErrorCode::TooManyConnections),
        "{reply:?}"
    );
    assert_eq!(third.ending().await, Ending::Closed(Some(4010)));
    // Other accounts are not affected.
    let _other = hub.connect("manyovu.officer").await;
    // Closing one socket frees its place (once the hub has seen the close).
    first.close().await;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match hub.connect_with_token(&tokens.access_token).await {
            Ok(_socket) => break,
            Err(error) if attempts < 200 => {
                assert!(
                    format!("{error:#}").contains("too_many_connections"),
                    "{error:#}"
                );
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(error) => panic!("the freed place was never given back: {error:#}"),
        }
    }
}

#[tokio::test]
async fn anonymous_sockets_from_one_address_cannot_take_the_whole_pool() {
    // Behind the trusted proxy (127.0.0.1) the forwarded address counts.
    let hub = TestHub::start_with(|s| {
        s.auth.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        s.ws.max_connections_per_address = nonzero(3);
        s.ws.max_connections = nonzero(10);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(
            open_from(hub.addr, "192.0.2.66")
                .await
                .expect("under the cap"),
        );
    }
    let Err(refused) = open_from(hub.addr, "192.0.2.66").await else {
        panic!("a fourth socket from the same address was accepted");
    };
    assert_eq!(refused.0, 429);
    assert!(refused.1.contains("too_many_connections"), "{}", refused.1);
    // An officer at another address still gets in and authenticates.
    let mut socket = open_from(hub.addr, "198.51.100.7")
        .await
        .expect("another address");
    let tokens = hub.login("mugina.officer").await;
    let auth = ClientFrame::Auth {
        id: "a1".into(),
        v: PROTOCOL_VERSION,
        token: tokens.access_token,
        encoding: None,
        batch: false,
    };
    socket
        .send(Message::Text(serde_json::to_string(&auth).unwrap().into()))
        .await
        .unwrap();
    let welcome = loop {
        match socket.next().await.expect("a frame").expect("readable") {
            Message::Text(text) => break serde_json::from_str::<ServerFrame>(&text).unwrap(),
            _ => continue,
        }
    };
    assert!(matches!(welcome, ServerFrame::Welcome(_)), "{welcome:?}");
    drop(held);
}
