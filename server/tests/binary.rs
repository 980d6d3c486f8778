//! The built `mpaka` binary, as an operator runs it: demo start-up, the
//! account commands against a running hub, SIGTERM, and a power cut
//! (SIGKILL) in the middle of publishing.

use futures_util::{SinkExt, StreamExt};
use mpaka_protocol::{ClientFrame, ServerFrame, TokenResponse, PROTOCOL_VERSION};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_mpaka");

struct Hub {
    child: Child,
    url: String,
}

impl Hub {
    /// Starts `mpaka serve --demo` on a free port and waits until it listens.
    fn start(dir: &Path) -> Hub {
        let mut child = Command::new(BIN)
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("MPAKA_LIMITS__POLL_MS", "50")
            .env("MPAKA_LIMITS__PUBLISH_PER_SEC", "1000")
            .env("MPAKA_LIMITS__PUBLISH_BURST", "1000")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mpaka starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("mpaka printed its address")
                .expect("line");
            if let Some(url) = line.strip_prefix("mpaka listening on ") {
                break url.to_owned();
            }
        };
        // Keep draining stdout so the hub never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Hub { child, url }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("mpaka did not exit");
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

async fn login(url: &str, user: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": user, "password": password }))
        .send()
        .await
        .expect("login request")
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, token: &str) -> Socket {
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{}/ws", url.replace("http", "ws")))
            .await
            .expect("connects");
    let auth = ClientFrame::Auth {
        id: "a".into(),
        v: PROTOCOL_VERSION,
        token: token.into(),
    };
    socket
        .send(Message::Text(serde_json::to_string(&auth).unwrap().into()))
        .await
        .unwrap();
    assert!(matches!(
        next(&mut socket).await,
        Some(ServerFrame::Welcome(_))
    ));
    socket
}

async fn next(socket: &mut Socket) -> Option<ServerFrame> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .ok()??
        {
            Ok(Message::Text(text)) => return serde_json::from_str(&text).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

fn close_code(
    message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Option<u16> {
    match message {
        Some(Ok(Message::Close(Some(frame)))) => Some(frame.code.into()),
        _ => None,
    }
}

#[tokio::test]
async fn demo_start_login_and_graceful_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(dir.path());
    for secret in ["demo-credentials.tsv", "jwt.key"] {
        let mode = std::fs::metadata(dir.path().join(secret))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "{secret} must be readable by the owner only"
        );
    }
    let response = login(
        &hub.url,
        "mugina.officer",
        &password(dir.path(), "mugina.officer"),
    )
    .await;
    assert!(response.status().is_success());
    let tokens: TokenResponse = response.json().await.unwrap();
    let mut socket = connect(&hub.url, &tokens.access_token).await;
    hub.signal("TERM");
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            other => panic!("connection ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(code, Some(1001));
    assert!(hub.wait().success(), "mpaka must exit 0 on SIGTERM");
}

#[tokio::test]
async fn account_commands_work_against_a_running_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path());
    let cli = |args: &[&str], stdin: &str| {
        let mut child = Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (ok, out) = cli(
        &[
            "user",
            "add",
            "--username",
            "amani.officer",
            "--role",
            "officer",
            "--country",
            "TZ",
            "--post",
            "manyovu",
            "--language",
            "sw",
        ],
        "a long enough password\n",
    );
    assert!(ok, "{out}");
    assert!(
        !out.contains("a long enough password"),
        "the password was echoed"
    );
    let (ok, out) = cli(
        &[
            "user",
            "add",
            "--username",
            "weak",
            "--role",
            "officer",
            "--country",
            "TZ",
            "--post",
            "manyovu",
        ],
        "short\n",
    );
    assert!(!ok && out.contains("password"), "{out}");
    let (ok, out) = cli(
        &[
            "user",
            "add",
            "--username",
            "lost",
            "--role",
            "officer",
            "--country",
            "BI",
            "--post",
            "manyovu",
        ],
        "a long enough password\n",
    );
    assert!(!ok && out.contains("country"), "{out}");
    let (ok, out) = cli(&["user", "list"], "");
    assert!(ok && out.contains("amani.officer"), "{out}");
    let (ok, out) = cli(
        &[
            "post",
            "add",
            "--slug",
            "rumonge",
            "--name",
            "Rumonge",
            "--country",
            "BI",
            "--region",
            "Rumonge",
        ],
        "",
    );
    assert!(ok, "{out}");

    // The new officer connects; disabling them from the CLI (another
    // process) closes the session within moments.
    let tokens: TokenResponse = login(&hub.url, "amani.officer", "a long enough password")
        .await
        .json()
        .await
        .unwrap();
    let mut socket = connect(&hub.url, &tokens.access_token).await;
    let (ok, out) = cli(&["user", "disable", "amani.officer"], "");
    assert!(ok, "{out}");
    let started = std::time::Instant::now();
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            other => break close_code(other),
        }
    };
    assert_eq!(code, Some(4003));
    eprintln!(
        "closed {:?} after the CLI disabled the account",
        started.elapsed()
    );
    assert_eq!(
        login(&hub.url, "amani.officer", "a long enough password")
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn a_power_cut_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(dir.path());
    let tokens: TokenResponse = login(
        &hub.url,
        "bi.coordinator",
        &password(dir.path(), "bi.coordinator"),
    )
    .await
    .json()
    .await
    .unwrap();
    let mut socket = connect(&hub.url, &tokens.access_token).await;
    let mut acked = Vec::new();
    for i in 0..200 {
        let publish = ClientFrame::Publish {
            id: format!("p{i}"),
            channel: "national:BI".parse().unwrap(),
            text: format!("{i}"),
            lang: None,
        };
        if socket
            .send(Message::Text(
                serde_json::to_string(&publish).unwrap().into(),
            ))
            .await
            .is_err()
        {
            break;
        }
        if let Some(ServerFrame::Published { seq, .. }) = next(&mut socket).await {
            acked.push(seq);
        }
        if i == 150 {
            // Pull the plug with publishes in flight.
            hub.child.kill().unwrap();
        }
    }
    let _ = hub.child.wait();
    assert!(acked.len() >= 150, "only {} acknowledged", acked.len());
    let hub = Hub::start(dir.path());
    let tokens: TokenResponse = login(
        &hub.url,
        "gisuru.officer",
        &password(dir.path(), "gisuru.officer"),
    )
    .await
    .json()
    .await
    .unwrap();
    let mut socket = connect(&hub.url, &tokens.access_token).await;
    let subscribe = ClientFrame::Subscribe {
        id: "s".into(),
        channels: vec!["national:BI".parse().unwrap()],
        since: Some(0),
    };
    socket
        .send(Message::Text(
            serde_json::to_string(&subscribe).unwrap().into(),
        ))
        .await
        .unwrap();
    let mut stored = Vec::new();
    while let Some(frame) = next(&mut socket).await {
        match frame {
            ServerFrame::Event(event) => stored.push(event.seq),
            ServerFrame::Subscribed { .. } => break,
            _ => {}
        }
    }
    for seq in &acked {
        assert!(
            stored.contains(seq),
            "acknowledged event {seq} lost in the power cut"
        );
    }
}

#[test]
fn a_bad_configuration_value_names_its_key() {
    let output = Command::new(BIN)
        .args(["migrate", "--data-dir", "/nonexistent-never"])
        .env("MPAKA_WS__HEARTBEAT_SECS", "often")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr)
        .to_lowercase()
        .contains("heartbeat_secs"));
}
