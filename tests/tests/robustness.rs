//! Bad input, slow and dead clients, shutdown, presence, metrics and the
//! audit trail.

use mpaka_protocol::{ClientFrame, ErrorCode, ServerFrame};
use mpaka_tests::{ch, Ending, TestHub};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn error_code(frame: &ServerFrame) -> Option<ErrorCode> {
    match frame {
        ServerFrame::Error { error, .. } => Some(error.code),
        _ => None,
    }
}

#[tokio::test]
async fn malformed_oversized_and_unknown_frames_get_errors_and_the_hub_keeps_serving() {
    let hub = TestHub::start_with(|s| {
        s.ws.max_frame_bytes = std::num::NonZeroUsize::new(4096).expect("non-zero")
    })
    .await;
    let mut bad = hub.connect("mugina.officer").await;
    let mut good = hub.connect("manyovu.officer").await;
    good.subscribe(&[ch("corridor:mugina-manyovu")], None)
        .await
        .unwrap();
    let cases = [
        ("{not json".to_owned(), ErrorCode::BadFrame),
        (
            r#"{"type":"teleport","id":"t1"}"#.to_owned(),
            ErrorCode::BadFrame,
        ),
        (
            r#"{"type":"publish","id":"p1"}"#.to_owned(),
            ErrorCode::BadFrame,
        ),
        (
            r#"{"type":"publish","id":"p2","channel":"corridor:nowhere","text":"x"}"#.to_owned(),
            ErrorCode::UnknownChannel,
        ),
        (
            r#"{"type":"subscribe","id":"s1","channels":["national:KE"]}"#.to_owned(),
            ErrorCode::BadFrame,
        ),
        (
            format!(
                r#"{{"type":"publish","id":"big","channel":"post:mugina","text":"{}"}}"#,
                "x".repeat(5000)
            ),
            ErrorCode::FrameTooLarge,
        ),
        (r#"{"type":"ping","id":""}"#.to_owned(), ErrorCode::BadFrame),
    ];
    for (text, code) in cases {
        bad.send_text(&text).await;
        let reply = bad.recv().await.expect("a reply");
        assert_eq!(error_code(&reply), Some(code), "{text:.60}: {reply:?}");
    }
    bad.send_message(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(
        error_code(&bad.recv().await.unwrap()),
        Some(ErrorCode::BadFrame)
    );
    // The connection and the hub still work.
    let seq = bad
        .publish(&ch("corridor:mugina-manyovu"), "still here")
        .await
        .unwrap();
    assert_eq!(good.next_event().await.unwrap().seq, seq);
    assert!(hub.metric("mpaka_frame_errors_total").await >= 8.0);
}

#[tokio::test]
async fn a_frame_beyond_the_hard_limit_closes_only_that_connection() {
    let hub = TestHub::start().await;
    let mut bad = hub.connect("mugina.officer").await;
    let mut good = hub.connect("manyovu.officer").await;
    let huge = format!(
        r#"{{"type":"ping","id":"{}"}}"#,
        "x".repeat(3 * 1024 * 1024)
    );
    let _ = bad.send_message(Message::Text(huge.into())).await;
    assert!(matches!(
        bad.ending().await,
        Ending::Closed(Some(1009)) | Ending::Dropped
    ));
    let reply = good
        .request(&ClientFrame::Ping { id: "alive".into() })
        .await;
    assert!(matches!(reply, ServerFrame::Pong { .. }));
}

#[tokio::test]
async fn a_slow_consumer_is_cut_off_without_slowing_others() {
    let hub = TestHub::start_with(|s| {
        s.ws.outbound_queue = std::num::NonZeroUsize::new(32).expect("non-zero")
    })
    .await;
    let channel = ch("national:TZ");
    let mut slow = hub.connect("kibondo.officer").await;
    slow.subscribe(std::slice::from_ref(&channel), None)
        .await
        .unwrap();
    let mut fast = hub.connect("kabanga.officer").await;
    fast.subscribe(std::slice::from_ref(&channel), None)
        .await
        .unwrap();
    // The fast reader drains concurrently; the slow one reads nothing.
    let reader = tokio::spawn(async move {
        let mut count = 0;
        while count < 600 {
            fast.next_event()
                .await
                .expect("fast reader keeps receiving");
            count += 1;
        }
        count
    });
    let mut publisher = hub.connect("tz.coordinator").await;
    let text = "y".repeat(7000);
    for _ in 0..600 {
        publisher
            .publish(&channel, &text)
            .await
            .expect("publisher is never held up");
    }
    assert_eq!(reader.await.unwrap(), 600);
    assert!(hub.metric("mpaka_slow_consumer_disconnects_total").await >= 1.0);
    // When the slow client reads again it finds the reason and the close.
    assert_eq!(slow.ending().await, Ending::Closed(Some(4008)));
    let told = slow
        .inbox()
        .iter()
        .any(|f| error_code(f) == Some(ErrorCode::SlowConsumer));
    assert!(told, "no slow_consumer error before the close");
}

#[tokio::test]
async fn a_silent_link_is_closed_by_the_heartbeat() {
    let hub = TestHub::start_with(|s| {
        s.ws.heartbeat_secs = mpaka_server::config::Seconds::of(1);
        s.ws.heartbeat_timeout_secs = mpaka_server::config::Seconds::of(2);
    })
    .await;
    let mut silent = hub.connect("mugina.officer").await;
    // Not reading means not answering pings.
    tokio::time::sleep(Duration::from_secs(4)).await;
    // The close frame may be lost with the connection: a client that did
    // not read cannot always see it before the reset. Either way the hub
    // ended the link by itself (`ending` panics if it stays open).
    let ending = silent.ending().await;
    assert!(
        matches!(ending, Ending::Closed(Some(4009)) | Ending::Dropped),
        "{ending:?}"
    );
    let reply = hub
        .connect("mugina.officer")
        .await
        .request(&ClientFrame::Ping { id: "p".into() })
        .await;
    assert!(matches!(reply, ServerFrame::Pong { .. }));
}

#[tokio::test]
async fn shutdown_closes_sessions_with_going_away() {
    let mut hub = TestHub::start().await;
    let mut client = hub.connect("mugina.officer").await;
    client.subscribe(&[ch("post:mugina")], None).await.unwrap();
    hub.shutdown().await;
    assert_eq!(client.ending().await, Ending::Closed(Some(1001)));
}

#[tokio::test]
async fn presence_shows_who_is_online_and_when_dark_posts_were_last_seen() {
    let hub = TestHub::start().await;
    let mut coordinator = hub.connect("bi.coordinator").await;
    let statuses = |frame: ServerFrame| match frame {
        ServerFrame::Presence { posts, .. } => posts,
        other => panic!("{other:?}"),
    };
    let officer = hub.connect("mugina.officer").await;
    let mut online = false;
    for _ in 0..50 {
        let posts = statuses(
            coordinator
                .request(&ClientFrame::Presence {
                    id: mpaka_tests::uuid_like(),
                })
                .await,
        );
        // Coordinators see their own country's posts only.
        assert!(posts
            .iter()
            .all(|p| p.country == mpaka_protocol::Country::BI));
        let mugina = posts.iter().find(|p| p.post == "mugina").unwrap();
        if mugina.online {
            assert_eq!(mugina.users[0].username, "mugina.officer");
            online = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(online, "mugina never showed online");
    officer.close().await;
    let mut dark = false;
    for _ in 0..50 {
        let posts = statuses(
            coordinator
                .request(&ClientFrame::Presence {
                    id: mpaka_tests::uuid_like(),
                })
                .await,
        );
        let mugina = posts.iter().find(|p| p.post == "mugina").unwrap();
        if !mugina.online {
            assert!(mugina.last_seen.is_some());
            dark = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dark, "mugina never went dark");
    let gisuru = statuses(
        coordinator
            .request(&ClientFrame::Presence { id: "p".into() })
            .await,
    )
    .into_iter()
    .find(|p| p.post == "gisuru")
    .unwrap();
    assert_eq!((gisuru.online, gisuru.last_seen), (false, None));
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let hub = TestHub::start().await;
    let get = |path: &'static str| {
        let hub = &hub;
        async move {
            let response = hub.http().get(hub.url(path)).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(get("/healthz").await, (200, "ok".into()));
    assert_eq!(get("/readyz").await, (200, "ready".into()));
    let mut client = hub.connect("mugina.officer").await;
    client.publish(&ch("post:mugina"), "counted").await.unwrap();
    assert!(hub.connect_with_token("not a token").await.is_err());
    let (status, text) = get("/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "mpaka_connections",
        "mpaka_subscriptions",
        "mpaka_events_published_total",
        "mpaka_events_delivered_total",
        "mpaka_publish_latency_seconds_bucket",
        "mpaka_slow_consumer_disconnects_total",
        "mpaka_auth_failures_total",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    assert!(hub.metric("mpaka_connections").await >= 1.0);
}

#[tokio::test]
async fn the_audit_trail_records_who_did_what_and_detects_tampering() {
    let hub = TestHub::start().await;
    let _ = hub.login("mugina.officer").await;
    let admin = hub.login("admin").await;
    hub.post_json(
        &admin.access_token,
        "/api/v1/users/kobero.officer/disable",
        &serde_json::json!({}),
    )
    .await;
    let auditor = hub.login("auditor").await;
    let (status, entries) = hub
        .get_json(&auditor.access_token, "/api/v1/audit?limit=1000")
        .await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "user.created",
        "post.created",
        "auth.login",
        "user.disabled",
    ] {
        assert!(
            actions.contains(&action),
            "{action} not audited: {actions:?}"
        );
    }
    // Others may not read it.
    let (status, _) = hub.get_json(&admin.access_token, "/api/v1/audit").await;
    assert_eq!(status, 403);
    let (_, verdict) = hub
        .get_json(&auditor.access_token, "/api/v1/audit/verify")
        .await;
    assert_eq!(verdict["intact"], true);
    // Someone edits the database behind the hub's back.
    let url = format!("sqlite://{}", hub.data_dir.join("mpaka.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE audit SET actor = 'someone else' WHERE id = 3")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (_, verdict) = hub
        .get_json(&auditor.access_token, "/api/v1/audit/verify")
        .await;
    assert_eq!(verdict["intact"], false);
    assert_eq!(verdict["first_broken_id"], 3);
}
