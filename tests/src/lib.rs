//! Test harness for mpaka's end-to-end tests: a real hub on a loopback port
//! with its own temporary data directory and demo data, and real WebSocket
//! and HTTP clients. Set `TEST_LOG=1` to see the hub's logs.
//!
//! [`TestHub::start_on`] runs the hub on SQLite or on a fresh PostgreSQL
//! database ([`db`]); [`nodes`] runs real `mpaka serve` processes.

pub mod db;
pub mod disk;
pub mod nodes;
pub mod proxy;
pub mod totp;

pub use db::{Backend, TestDb};

pub mod browser;

use anyhow::{bail, Context};
use mpaka_client::{DemoCredentials, HubClient, Socket};
use mpaka_protocol::{
    ChannelId, ClientFrame, ErrorBody, Event, ServerFrame, TokenResponse, Welcome,
};
use mpaka_server::{App, AppState, Settings};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for something the hub should do promptly.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running hub.
pub struct TestHub {
    pub addr: SocketAddr,
    pub state: AppState,
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    credentials: DemoCredentials,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    http: reqwest::Client,
    /// The database when not the default SQLite file in `data_dir`;
    /// declared last so that it is dropped after the hub has stopped.
    db: Option<TestDb>,
}

fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        mpaka_server::telemetry::init(mpaka_server::config::LogFormat::Text);
    }
}

impl TestHub {
    /// A hub with demo data and test settings.
    pub async fn start() -> TestHub {
        TestHub::start_with(|_| {}).await
    }

    /// A hub with demo data and test settings changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> TestHub {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_owned();
        let mut hub = TestHub::start_in(&dir, adjust).await;
        hub._temp = Some(temp);
        hub
    }

    /// A hub with demo data on a fresh database of `backend`; `None` when
    /// PostgreSQL is not reachable and the test is skipped (see [`db`]).
    pub async fn start_on(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<TestHub> {
        let db = TestDb::fresh(backend).await?;
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_owned();
        let url = db.url.clone();
        let mut hub = TestHub::start_in(&dir, |settings| {
            settings.database_url = Some(mpaka_server::config::Secret::new(url));
            adjust(settings);
        })
        .await;
        hub._temp = Some(temp);
        hub.db = Some(db);
        Some(hub)
    }

    /// The database URL the hub uses.
    pub fn database_url(&self) -> String {
        self.state.settings.database_url()
    }

    /// A hub on an existing data directory (for restarts). Seeds demo data
    /// only when the directory is new.
    pub async fn start_in(dir: &Path, adjust: impl FnOnce(&mut Settings)) -> TestHub {
        init_logs();
        let mut settings = Settings::for_tests(dir);
        // Tests publish quickly; the rate limit has its own test.
        settings.limits.publish_per_sec = std::num::NonZeroU32::new(10_000).expect("non-zero");
        settings.limits.publish_burst = std::num::NonZeroU32::new(10_000).expect("non-zero");
        adjust(&mut settings);
        let app = App::build(settings).await.expect("hub builds");
        mpaka_server::demo::seed(&app.state().store, dir)
            .await
            .expect("demo data");
        let credentials = read_credentials(dir);
        let addr = app.local_addr();
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        TestHub {
            addr,
            state,
            data_dir: dir.to_owned(),
            _temp: None,
            credentials,
            stop: Some(stop),
            task: Some(task),
            http: reqwest::Client::new(),
            db: None,
        }
    }

    /// Stops the hub gracefully and waits until it has finished.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("hub task").expect("hub ran cleanly");
        }
    }

    /// Stops the hub and starts a new one on the same data directory.
    pub async fn restart(mut self) -> TestHub {
        self.shutdown().await;
        let temp = self._temp.take();
        let db = self.db.take();
        let url = self.state.settings.database_url.clone();
        let mut hub = TestHub::start_in(&self.data_dir, |settings| {
            settings.database_url = url;
        })
        .await;
        hub._temp = temp;
        hub.db = db;
        hub
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn password(&self, username: &str) -> String {
        self.credentials
            .password(username)
            .unwrap_or_else(|| panic!("no demo user {username}"))
            .to_owned()
    }

    pub fn usernames(&self) -> Vec<String> {
        let mut names: Vec<String> = self.credentials.usernames().map(String::from).collect();
        names.sort();
        names
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Logs in over REST.
    /// Many tests run in one process and share the password-hashing pool,
    /// whose full queue answers 503 `unavailable`: retried, as the protocol
    /// tells clients to.
    pub async fn login(&self, username: &str) -> TokenResponse {
        let mut attempt = 0;
        loop {
            match login_at(&self.http, self.addr, username, &self.password(username)).await {
                Ok(tokens) => return tokens,
                Err(e) if attempt < 20 && format!("{e:#}").contains("503") => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                Err(e) => panic!("{e:#}"),
            }
        }
    }

    /// A raw, unauthenticated socket.
    pub async fn raw_socket(&self) -> Client {
        Client::connect(self.addr)
            .await
            .expect("websocket connects")
    }

    /// A socket authenticated as `username`.
    pub async fn connect(&self, username: &str) -> Client {
        let tokens = self.login(username).await;
        self.connect_with_token(&tokens.access_token)
            .await
            .unwrap_or_else(|e| panic!("{username} could not connect: {e}"))
    }

    /// A socket authenticated with `token`; the `welcome` is consumed.
    pub async fn connect_with_token(&self, token: &str) -> anyhow::Result<Client> {
        let mut client = self.raw_socket().await;
        client.auth(token).await?;
        Ok(client)
    }

    /// Sends an authenticated GET and returns status and JSON.
    pub async fn get_json(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// Sends an authenticated POST with a JSON body and returns status and JSON.
    pub async fn post_json(
        &self,
        token: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// The value of a counter or gauge from `/metrics` (summed over labels).
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| {
                let key = l.split([' ', '{']).next().unwrap_or("");
                key == name
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Logs in over REST at the hub listening on `addr`.
///
/// # Errors
/// The hub is unreachable or refuses the login.
pub async fn login_at(
    http: &reqwest::Client,
    addr: SocketAddr,
    username: &str,
    password: &str,
) -> anyhow::Result<TokenResponse> {
    HubClient::with_http(&format!("http://{addr}"), http.clone())
        .login(username, password)
        .await
        .with_context(|| format!("login of {username} failed"))
}

/// The demo users' credentials written by `--demo` into `dir`.
pub fn read_credentials(dir: &Path) -> DemoCredentials {
    DemoCredentials::from_data_dir(dir).unwrap_or_else(|e| panic!("{e}"))
}

/// A WebSocket client that keeps frames it was not waiting for: the
/// [`mpaka_client::Socket`] with the test suite's patience and panics.
pub struct Client {
    socket: Socket,
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Closed(Option<u16>),
    Dropped,
}

/// `what` within [`PATIENCE`], else an error.
async fn patiently<T>(
    what: impl std::future::Future<Output = Result<T, mpaka_client::Error>>,
) -> anyhow::Result<T> {
    Ok(tokio::time::timeout(PATIENCE, what)
        .await
        .context("timed out waiting for a frame")??)
}

impl Client {
    /// A raw, unauthenticated socket to the hub listening on `addr`.
    ///
    /// # Errors
    /// The connection or the upgrade fails.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Client> {
        Ok(Client {
            socket: Socket::connect(&format!("ws://{addr}/ws")).await?,
        })
    }

    pub async fn auth(&mut self, token: &str) -> anyhow::Result<Welcome> {
        patiently(self.socket.auth(token)).await
    }

    /// Authenticates asking for an event encoding and batching.
    pub async fn auth_with(
        &mut self,
        token: &str,
        encoding: mpaka_protocol::wire::Encoding,
        batch: bool,
    ) -> anyhow::Result<Welcome> {
        patiently(self.socket.auth_with(token, encoding, batch)).await
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        self.socket.send(frame).await.expect("send");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send_message(Message::text(text))
            .await
            .expect("send");
    }

    pub async fn send_message(&mut self, message: Message) -> anyhow::Result<()> {
        Ok(self.socket.send_message(message).await?)
    }

    /// The next frame from the server (buffered ones first).
    pub async fn recv(&mut self) -> anyhow::Result<ServerFrame> {
        patiently(self.socket.recv()).await
    }

    async fn read(&mut self) -> anyhow::Result<ServerFrame> {
        patiently(self.socket.read()).await
    }

    /// Sends a request and waits for the reply carrying its id; other
    /// frames (events) stay in the inbox.
    pub async fn request(&mut self, frame: &ClientFrame) -> ServerFrame {
        self.send(frame).await;
        self.reply_to(frame.id()).await
    }

    /// Like [`Client::request`], but a broken connection is an error rather
    /// than a panic (for tests that kill nodes).
    ///
    /// # Errors
    /// The connection failed before the reply arrived.
    pub async fn try_request(&mut self, frame: &ClientFrame) -> anyhow::Result<ServerFrame> {
        patiently(self.socket.request(frame)).await
    }

    /// Publishes with a chosen id; `Err` when the connection broke, so the
    /// caller may retry the same id elsewhere.
    ///
    /// # Errors
    /// The connection failed before the reply arrived.
    pub async fn try_publish_with_id(
        &mut self,
        id: &str,
        channel: &ChannelId,
        text: &str,
    ) -> anyhow::Result<Result<(u64, bool), ErrorBody>> {
        let frame = ClientFrame::Publish {
            written_at: None,
            id: id.into(),
            channel: channel.clone(),
            text: text.into(),
            lang: None,
        };
        Ok(match self.try_request(&frame).await? {
            ServerFrame::Published { seq, duplicate, .. } => Ok((seq, duplicate)),
            ServerFrame::Error { error, .. } => Err(error),
            other => anyhow::bail!("unexpected reply {other:?}"),
        })
    }

    /// Waits for the reply to request `id`.
    pub async fn reply_to(&mut self, id: &str) -> ServerFrame {
        patiently(self.socket.reply_to(id))
            .await
            .unwrap_or_else(|e| panic!("waiting for reply to {id}: {e}"))
    }

    /// Subscribes and returns the replayed events and `through_seq`.
    pub async fn subscribe(
        &mut self,
        channels: &[ChannelId],
        since: Option<u64>,
    ) -> anyhow::Result<(Vec<Event>, u64)> {
        let id = format!("sub-{}", uuid_like());
        self.send(&ClientFrame::Subscribe {
            id: id.clone(),
            channels: channels.to_vec(),
            since,
            epoch: None,
        })
        .await;
        let mut replayed = Vec::new();
        loop {
            match self.read().await? {
                ServerFrame::Event(event) => replayed.push(event),
                ServerFrame::Subscribed {
                    id: got,
                    through_seq,
                    ..
                } if got == id => return Ok((replayed, through_seq)),
                ServerFrame::Error {
                    id: Some(got),
                    error,
                } if got == id => bail!("{}: {}", error.code, error.message),
                other => self.socket.inbox_mut().push_back(other),
            }
        }
    }

    /// Publishes a message and returns its `seq`.
    pub async fn publish(&mut self, channel: &ChannelId, text: &str) -> Result<u64, ErrorBody> {
        let id = format!("pub-{}", uuid_like());
        self.publish_with_id(&id, channel, text)
            .await
            .map(|(seq, _)| seq)
    }

    /// Publishes with a chosen id; returns `seq` and `duplicate`.
    pub async fn publish_with_id(
        &mut self,
        id: &str,
        channel: &ChannelId,
        text: &str,
    ) -> Result<(u64, bool), ErrorBody> {
        let frame = ClientFrame::Publish {
            written_at: None,
            id: id.into(),
            channel: channel.clone(),
            text: text.into(),
            lang: None,
        };
        match self.request(&frame).await {
            ServerFrame::Published { seq, duplicate, .. } => Ok((seq, duplicate)),
            ServerFrame::Error { error, .. } => Err(error),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// The next event (buffered first).
    pub async fn next_event(&mut self) -> anyhow::Result<Event> {
        loop {
            match self.recv().await? {
                ServerFrame::Event(event) => return Ok(event),
                _ => continue,
            }
        }
    }

    /// Events arriving within `window`, after the buffered ones.
    pub async fn events_within(&mut self, window: Duration) -> Vec<Event> {
        let mut events: Vec<Event> = self
            .socket
            .inbox_mut()
            .drain(..)
            .filter_map(|f| match f {
                ServerFrame::Event(e) => Some(e),
                _ => None,
            })
            .collect();
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout_at(deadline, self.socket.next_message()).await
        {
            if let Message::Text(text) = message {
                for frame in self.socket.decode(&text).unwrap_or_default() {
                    if let ServerFrame::Event(event) = frame {
                        events.push(event);
                    }
                }
            }
        }
        events
    }

    /// The next raw WebSocket text message (frames not yet decoded), for
    /// tests of how frames are packed into messages.
    pub async fn next_text(&mut self) -> anyhow::Result<String> {
        loop {
            match patiently(async { Ok(self.socket.next_message().await) }).await? {
                Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => bail!("connection ended"),
            }
        }
    }

    /// Reads until the connection ends and reports how.
    pub async fn ending(&mut self) -> Ending {
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next_message()).await {
                Err(_) => panic!("connection did not end in time"),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Ending::Closed(frame.map(|f: CloseFrame| u16::from(f.code)))
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    let frames = self.socket.decode(&text).unwrap_or_default();
                    self.socket.inbox_mut().extend(frames);
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_)) | None) => return Ending::Dropped,
            }
        }
    }

    /// Frames received so far and not yet consumed.
    pub fn inbox(&self) -> &VecDeque<ServerFrame> {
        self.socket.inbox()
    }

    pub async fn close(self) {
        self.socket.close().await;
    }
}

/// A unique enough id for requests in tests.
pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn ch(name: &str) -> ChannelId {
    name.parse().expect("valid channel")
}

/// Fails unless every `.rs` file in `folder` (a test tree folded into one
/// binary by `autotests = false`) is declared as a module of its `main.rs`:
/// an undeclared file would otherwise silently never run.
///
/// # Panics
/// Naming the first undeclared file.
pub fn assert_every_test_file_is_declared(folder: &Path) {
    let main = std::fs::read_to_string(folder.join("main.rs")).expect("main.rs");
    for entry in std::fs::read_dir(folder).expect("tests folder") {
        let path = entry.expect("entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs") && stem != "main" {
            assert!(
                main.lines().any(|l| l.trim() == format!("mod {stem};")),
                "{}/{stem}.rs is not declared in main.rs: add `mod {stem};`",
                folder.display()
            );
        }
    }
}
