//! Faults against the built binary. SIGTERM with awkward clients: a client that
//! sent half an HTTP request and stopped, a client holding an idle
//! keep-alive connection, and a WebSocket subscriber that stopped reading
//! while events pile up. The hub must still exit 0 within its documented
//! bound (docs/operations.md), and a subscriber that does read gets its
//! Close 1001 "going away".

use futures_util::{SinkExt, StreamExt};
use mpaka_protocol::{ClientFrame, ServerFrame, TokenResponse, PROTOCOL_VERSION};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_mpaka");
/// The documented bound on a SIGTERM (HTTP drain 10 s, then sessions 10 s,
/// then storage), with slack for a loaded CI machine.
const EXIT_BOUND: Duration = Duration::from_secs(40);

struct Hub {
    child: Child,
    url: String,
}

impl Hub {
    fn start(dir: &Path) -> Hub {
        let mut child = Command::new(BIN)
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("MPAKA_LIMITS__PUBLISH_PER_SEC", "100000")
            .env("MPAKA_LIMITS__PUBLISH_BURST", "100000")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mpaka starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines.next().expect("address printed").expect("line");
            if let Some(url) = line.strip_prefix("mpaka listening on ") {
                break url.to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Hub { child, url }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn password(dir: &Path, user: &str) -> String {
    std::fs::read_to_string(dir.join("demo-credentials.tsv"))
        .expect("credentials")
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{user}\t"))
                .map(|rest| rest.split('\t').next().unwrap().to_owned())
        })
        .expect("demo user")
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(hub: &Hub, dir: &Path, user: &str) -> Socket {
    let tokens: TokenResponse = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", hub.url))
        .json(&serde_json::json!({ "username": user, "password": password(dir, user) }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("tokens");
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{}/ws", hub.url.replace("http", "ws")))
            .await
            .expect("connects");
    let auth = ClientFrame::Auth {
        id: "a".into(),
        v: PROTOCOL_VERSION,
        token: tokens.access_token,
    };
    socket
        .send(Message::Text(serde_json::to_string(&auth).unwrap().into()))
        .await
        .unwrap();
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                if matches!(serde_json::from_str(&text), Ok(ServerFrame::Welcome(_))) {
                    return socket;
                }
            }
            other => panic!("no welcome: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_cleanly_whatever_the_clients_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(dir.path());
    let addr = hub.url.trim_start_matches("http://").to_owned();

    // Half an HTTP request, never finished.
    let mut half = tokio::net::TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Slow: ")
        .await
        .unwrap();
    // A finished request on a connection kept alive and idle.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
        .await
        .unwrap();
    // A subscriber that never reads while a publisher floods its channel.
    let _deaf = connect(&hub, dir.path(), "manyovu.officer").await;
    let mut listener = connect(&hub, dir.path(), "kabanga.officer").await;
    let mut publisher = connect(&hub, dir.path(), "mugina.officer").await;
    let text = "x".repeat(7000);
    for i in 0..300 {
        let frame = ClientFrame::Publish {
            id: format!("p{i}"),
            channel: "corridor:mugina-manyovu".parse().unwrap(),
            text: text.clone(),
            lang: None,
        };
        publisher
            .send(Message::Text(serde_json::to_string(&frame).unwrap().into()))
            .await
            .unwrap();
    }

    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &hub.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The reading subscriber is told the hub is going away.
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(15), listener.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(code, Some(1001));
    let status = loop {
        if let Some(status) = hub.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < EXIT_BOUND,
            "mpaka still running {EXIT_BOUND:?} after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("exited {status} {:?} after SIGTERM", started.elapsed());
    assert!(status.success(), "mpaka must exit 0 on SIGTERM: {status}");
    drop(half);
}

/// Power cut (SIGKILL) at many moments of the first `serve --demo`: every
/// next start must end with a complete credentials file whose passwords
/// log every demo account in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seeding_survives_a_kill_at_any_moment() {
    let cycles: u64 = std::env::var("MPAKA_FAULT_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let mut with_file = 0;
    for cycle in 0..cycles {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mpaka starts");
        // Spread the kill over start-up: migrations, seeding, listening.
        std::thread::sleep(Duration::from_millis(15 + cycle * 45));
        let _ = child.kill();
        let _ = child.wait();
        if dir.path().join("demo-credentials.tsv").exists() {
            with_file += 1;
        }
        let hub = Hub::start(dir.path());
        let creds = std::fs::read_to_string(dir.path().join("demo-credentials.tsv"))
            .expect("a credentials file after the second start");
        let users: Vec<&str> = creds
            .lines()
            .skip(1)
            .filter_map(|l| l.split('\t').next())
            .collect();
        assert_eq!(
            users.len(),
            11,
            "every demo account is listed (cycle {cycle})"
        );
        for user in users {
            let status = reqwest::Client::new()
                .post(format!("{}/api/v1/auth/login", hub.url))
                .json(&serde_json::json!({ "username": user, "password": password(dir.path(), user) }))
                .send()
                .await
                .expect("login")
                .status();
            assert!(
                status.is_success(),
                "{user} logs in (cycle {cycle}): {status}"
            );
        }
        assert!(
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(Result::ok)
                .all(|e| !e.file_name().to_string_lossy().ends_with(".tmp")),
            "no temporary file is left behind"
        );
    }
    eprintln!(
        "{cycles} kills during the first start ({with_file} after the credentials file was written); all recovered"
    );
}
