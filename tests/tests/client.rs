//! `mpaka-client` against a real hub: the session's REST side (login,
//! refresh, logout) and the socket's handshake and request/reply matching
//! while events keep arriving.

use mpaka_client::{DemoCredentials, Error, HubClient, Socket};
use mpaka_protocol::{ClientFrame, ErrorCode, ServerFrame};
use mpaka_tests::{ch, TestHub, PATIENCE};

async fn reply(socket: &mut Socket, id: &str) -> ServerFrame {
    tokio::time::timeout(PATIENCE, socket.reply_to(id))
        .await
        .expect("replied in time")
        .expect("reply")
}

fn client_of(hub: &TestHub) -> HubClient {
    HubClient::new(&hub.url(""))
}

#[tokio::test]
async fn a_session_logs_in_refreshes_and_logs_out() {
    let hub = TestHub::start().await;
    let rest = client_of(&hub);
    let first = rest
        .login("mugina.officer", &hub.password("mugina.officer"))
        .await
        .expect("login");
    assert_eq!(first.user.username, "mugina.officer");

    let second = rest.refresh(&first.refresh_token).await.expect("refresh");
    assert_ne!(second.refresh_token, first.refresh_token);
    rest.logout(&second.refresh_token).await.expect("logout");
    let after_logout = rest
        .refresh(&second.refresh_token)
        .await
        .expect_err("a logged-out refresh token is spent");
    assert_eq!(after_logout.status(), Some(401), "{after_logout}");
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_the_documented_error_body() {
    let hub = TestHub::start().await;
    let refused = client_of(&hub)
        .login("mugina.officer", "not the password")
        .await
        .expect_err("wrong password");
    let Error::Refused {
        status: 401,
        error: Some(body),
    } = &refused
    else {
        panic!("expected a 401 with an error body, got {refused:?}");
    };
    assert_eq!(body.code, ErrorCode::InvalidCredentials);
    assert!(!refused.to_string().contains("not the password"));
}

#[tokio::test]
async fn the_demo_credentials_file_written_by_the_hub_logs_every_user_in() {
    let hub = TestHub::start().await;
    let credentials = DemoCredentials::from_data_dir(&hub.data_dir).expect("credentials");
    let rest = client_of(&hub);
    assert!(credentials.accounts().len() >= 5);
    for account in credentials.accounts() {
        let tokens = rest
            .login(&account.username, &account.password)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", account.username));
        assert_eq!(tokens.user.role, account.role, "{}", account.username);
        assert_eq!(tokens.user.post, account.post, "{}", account.username);
    }
}

#[tokio::test]
async fn a_bad_token_is_rejected_and_the_socket_closed_with_4001() {
    let hub = TestHub::start().await;
    let mut socket = Socket::connect(&client_of(&hub).ws_url())
        .await
        .expect("connects");
    let rejected = socket.auth("not a token").await.expect_err("refused");
    assert!(
        matches!(&rejected, Error::Rejected(body) if body.code == ErrorCode::InvalidToken),
        "{rejected:?}"
    );
    let ending = tokio::time::timeout(PATIENCE, socket.read())
        .await
        .expect("closed in time");
    assert!(
        matches!(
            ending,
            Err(Error::Closed {
                code: Some(4001),
                ..
            })
        ),
        "{ending:?}"
    );
}

#[tokio::test]
async fn replies_are_matched_by_id_while_events_keep_arriving() {
    let hub = TestHub::start().await;
    let rest = client_of(&hub);
    let corridor = ch("corridor:mugina-manyovu");
    let tokens = rest
        .login("manyovu.officer", &hub.password("manyovu.officer"))
        .await
        .unwrap();
    let (mut listener, welcome) = rest.connect(&tokens.access_token).await.expect("welcome");
    assert_eq!(welcome.user.username, "manyovu.officer");
    let subscribe = ClientFrame::Subscribe {
        id: "sub".into(),
        channels: vec![corridor.clone()],
        since: None,
        epoch: None,
    };
    let subscribed = tokio::time::timeout(PATIENCE, listener.request(&subscribe))
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(subscribed, ServerFrame::Subscribed { .. }),
        "{subscribed:?}"
    );

    let mut speaker = hub.connect("mugina.officer").await;
    let mut published = Vec::new();
    for i in 0..3 {
        published.push(
            speaker
                .publish(&corridor, &format!("convoy {i}"))
                .await
                .unwrap(),
        );
    }

    // Two requests in flight: waiting for the second keeps the first's
    // reply and the events in the inbox, where the next waits find them.
    for id in ["p1", "p2"] {
        listener
            .send(&ClientFrame::Presence { id: id.into() })
            .await
            .unwrap();
    }
    let second = reply(&mut listener, "p2").await;
    assert!(matches!(&second, ServerFrame::Presence { id, .. } if id == "p2"));
    let first = reply(&mut listener, "p1").await;
    assert!(matches!(&first, ServerFrame::Presence { id, .. } if id == "p1"));

    let mut seen = Vec::new();
    while seen.len() < published.len() {
        match tokio::time::timeout(PATIENCE, listener.recv())
            .await
            .unwrap()
        {
            Ok(ServerFrame::Event(event)) => seen.push(event.seq),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(seen, published, "every event once, in order");
    assert!(listener.inbox().is_empty());
    listener.close().await;
}
