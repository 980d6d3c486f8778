//! The SMS bridge end to end, on a real Kannel: bearerbox and smsbox
//! configured from deploy/kannel/kannel.conf.template, `fakesmsc` as the
//! mobile network (what it receives is read from its log; replies are
//! typed into it), and a real `mpaka serve` process (so that it can be
//! killed with SIGKILL) on SQLite.
//!
//! Without Kannel (Debian packages `kannel`, `kannel-extras`) the tests
//! print a SKIPPED line, or fail under `CI=true`.

use mpaka_protocol::{ChannelId, EventData};
use mpaka_tests::nodes::Accounts;
use mpaka_tests::{ch, uuid_like, Client};
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

const BEARERBOX: &str = "/usr/sbin/bearerbox";
const SMSBOX: &str = "/usr/sbin/smsbox";
const FAKESMSC: &str = "/usr/lib/kannel/test/fakesmsc";
const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/kannel/kannel.conf.template"
);
const SECRET: &str = "kannel-calls-the-hub-with-this";
const PASSWORD: &str = "sendsms-password";
const MANYOVU_PHONE: &str = "+255700000001";
/// How long a test waits for an SMS or an event.
const PATIENCE: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Whether Kannel can run here; prints SKIPPED (or panics under CI) if not.
fn kannel_available(test: &str) -> bool {
    let missing: Vec<&str> = [BEARERBOX, SMSBOX, FAKESMSC]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!("{missing:?} missing (Debian packages kannel, kannel-extras)");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: Kannel is required under CI: {why}");
    }
    println!("SKIPPED {test}: {why}");
    false
}

/// One SMS the fake SMS centre received.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Received {
    to: String,
    text: String,
}

/// Parses fakesmsc's `Got message N: <FROM TO TYPE TEXT>` line.
fn parse_received(line: &str) -> Option<Received> {
    let start = line.find("Got message")?;
    let body = &line[start..];
    let open = body.find('<')?;
    let inner = body[open + 1..].strip_suffix('>')?;
    let mut parts = inner.splitn(4, ' ');
    let _from = parts.next()?;
    let to = parts.next()?.to_owned();
    let kind = parts.next()?;
    let raw = parts.next().unwrap_or("");
    let text = if kind == "ucs-2" {
        let bytes = url_decode(raw);
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        raw.to_owned()
    };
    Some(Received { to, text })
}

fn url_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Kannel's two boxes and the fake SMS centre.
struct Kannel {
    dir: PathBuf,
    config: PathBuf,
    sendsms_port: u16,
    bearerbox: Option<Child>,
    smsbox: Option<Child>,
    fake: Option<Child>,
    fake_in: Option<ChildStdin>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Kannel {
    /// Writes the configuration for a hub at `hub_port` and starts it all.
    async fn start(dir: &Path, hub_port: u16) -> Kannel {
        let smsc_port = free_port();
        let sendsms_port = free_port();
        let template = std::fs::read_to_string(TEMPLATE).expect("the Kannel template");
        let config_text = template
            .replace("{{DIR}}", &dir.display().to_string())
            .replace("{{ADMIN_PORT}}", &free_port().to_string())
            .replace("{{SMSBOX_PORT}}", &free_port().to_string())
            .replace("{{SMSC_PORT}}", &smsc_port.to_string())
            .replace("{{SENDSMS_PORT}}", &sendsms_port.to_string())
            .replace("{{PASSWORD}}", PASSWORD)
            .replace("{{HUB}}", &format!("http://127.0.0.1:{hub_port}"))
            .replace("{{SECRET}}", SECRET);
        let config = dir.join("kannel.conf");
        std::fs::write(&config, config_text).expect("writes the Kannel configuration");
        let mut kannel = Kannel {
            dir: dir.to_owned(),
            config,
            sendsms_port,
            bearerbox: None,
            smsbox: None,
            fake: None,
            fake_in: None,
            received: Arc::default(),
        };
        kannel.bearerbox = Some(kannel.spawn(BEARERBOX, &[]));
        wait_for_port(smsc_port).await;
        kannel.start_smsbox().await;
        let mut fake = Command::new(FAKESMSC)
            .args([
                "-H",
                "127.0.0.1",
                "-r",
                &smsc_port.to_string(),
                "-i",
                "0.01",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starts fakesmsc");
        kannel.fake_in = fake.stdin.take();
        let log = dir.join("fakesmsc.log");
        for stream in [
            fake.stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            fake.stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let received = kannel.received.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&log)
                        .and_then(|mut f| {
                            std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes())
                        });
                    if let Some(sms) = parse_received(&line) {
                        received.lock().expect("lock").push(sms);
                    }
                }
            });
        }
        kannel.fake = Some(fake);
        kannel
    }

    fn spawn(&self, program: &str, extra: &[&str]) -> Child {
        Command::new(program)
            .args(extra)
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir(&self.dir)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starts {program}: {e}"))
    }

    async fn start_smsbox(&mut self) {
        self.smsbox = Some(self.spawn(SMSBOX, &[]));
        wait_for_port(self.sendsms_port).await;
    }

    /// Stops smsbox: the hub's `sendsms` calls fail from now on.
    async fn stop_smsbox(&mut self) {
        if let Some(mut child) = self.smsbox.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    fn gateway_url(&self) -> String {
        format!("http://127.0.0.1:{}/cgi-bin/sendsms", self.sendsms_port)
    }

    /// A phone sends an SMS to the hub.
    async fn send_from(&mut self, phone: &str, text: &str) {
        let stdin = self.fake_in.as_mut().expect("fakesmsc's input");
        stdin
            .write_all(format!("{phone} 1234 text {text}\n").as_bytes())
            .await
            .expect("types into fakesmsc");
        stdin.flush().await.expect("flushes");
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits for the first SMS to `to` whose text satisfies `matches`.
    async fn wait_for(&self, to: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(sms) = self
                .received()
                .into_iter()
                .find(|s| s.to == to && matches(&s.text))
            {
                return sms.text;
            }
            assert!(
                Instant::now() < deadline,
                "no matching SMS to {to}; received: {:#?}",
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Kannel {
    fn drop(&mut self) {
        for child in [&mut self.fake, &mut self.smsbox, &mut self.bearerbox]
            .into_iter()
            .flatten()
        {
            let _ = child.start_kill();
        }
    }
}

async fn wait_for_port(port: u16) {
    let deadline = Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A real `mpaka serve` on a fixed port (Kannel's URLs name it), SQLite in
/// `dir`, the SMS bridge on with short test delays.
struct Hub {
    dir: PathBuf,
    port: u16,
    gateway_url: String,
    child: Option<Child>,
    accounts: Option<Accounts>,
    /// More `MPAKA_…` settings.
    env: Vec<(String, String)>,
    http: reqwest::Client,
}

impl Hub {
    async fn start(dir: &Path, port: u16, gateway_url: String, env: &[(&str, &str)]) -> Hub {
        let mut hub = Hub {
            dir: dir.to_owned(),
            port,
            gateway_url,
            child: None,
            accounts: None,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            http: reqwest::Client::new(),
        };
        hub.launch(true).await;
        hub.accounts = Some(Accounts::from_data_dir(dir));
        hub
    }

    async fn launch(&mut self, demo: bool) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mpaka"));
        command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.dir)
            .env_remove("MPAKA_CONFIG")
            .env("MPAKA_NODE_ID", "sms-node")
            .env("MPAKA_LIMITS__PUBLISH_PER_SEC", "100000")
            .env("MPAKA_LIMITS__PUBLISH_BURST", "100000")
            .env("MPAKA_SMS__ENABLED", "true")
            .env("MPAKA_SMS__GATEWAY_URL", &self.gateway_url)
            .env("MPAKA_SMS__PASSWORD", PASSWORD)
            .env(
                "MPAKA_SMS__CALLBACK_BASE_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .env("MPAKA_SMS__CALLBACK_SECRET", SECRET)
            .env("MPAKA_SMS__DARK_AFTER_SECS", "2")
            .env("MPAKA_SMS__CHECK_INTERVAL_MS", "200")
            .env("MPAKA_SMS__RATE_PER_SEC", "4")
            .env("MPAKA_SMS__RETRY_MIN_MS", "300")
            .env("MPAKA_SMS__RETRY_MAX_MS", "1000")
            .env("MPAKA_SMS__UNCONFIRMED_RESEND_SECS", "15")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.join("hub.log"))
                    .expect("hub log"),
            ))
            .kill_on_drop(true);
        if demo {
            command.arg("--demo");
        }
        let mut child = command.spawn().expect("starts mpaka");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("reads stdout") {
                if line.starts_with("mpaka listening on http://") {
                    return;
                }
            }
            panic!(
                "mpaka exited before listening; see {}",
                self.dir.join("hub.log").display()
            );
        })
        .await
        .expect("mpaka starts in time");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    async fn token(&self, username: &str) -> String {
        self.accounts
            .as_ref()
            .expect("accounts")
            .login(self.addr(), username)
            .await
            .expect("logs in")
            .access_token
    }

    async fn connect(&self, username: &str) -> Client {
        self.accounts
            .as_ref()
            .expect("accounts")
            .connect(self.addr(), username)
            .await
            .expect("connects")
    }

    async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("http://{}{path}", self.addr()))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid_like());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("answers");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Registers `phone` for `username` and verifies it with the code that
    /// arrives on the fake SMS centre.
    async fn register_phone(&self, kannel: &Kannel, username: &str, phone: &str) {
        let token = self.token(username).await;
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &token,
                "/api/v1/me/sms/phone",
                Some(json!({"phone": phone})),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["verified"], false);
        let text = kannel
            .wait_for(phone, |t| {
                t.chars().filter(char::is_ascii_digit).count() == 6
            })
            .await;
        let code: String = text.chars().filter(char::is_ascii_digit).collect();
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &token,
                "/api/v1/me/sms/verify",
                Some(json!({"code": "000000x"})),
            )
            .await;
        assert_eq!(status, 422, "a wrong code is refused: {body}");
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &token,
                "/api/v1/me/sms/verify",
                Some(json!({"code": code})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["verified"], true);
    }

    /// Mugina's officer raises a severe alert over REST; returns its id.
    async fn raise(&self, token: &str, headcount: u32) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                token,
                "/api/v1/alerts",
                Some(json!({
                    "kind": "mass_arrival", "direction": "into_burundi", "headcount": headcount,
                    "vulnerable": {"unaccompanied_or_separated_children": 35},
                    "severity": "severe", "urgency": "immediate", "certainty": "observed",
                    "status": "actual"
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["alert"]["id"].as_str().expect("an id").to_owned()
    }

    async fn sms_of(&self, token: &str, alert_id: &str) -> Vec<Value> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                token,
                &format!("/api/v1/alerts/{alert_id}/sms"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array().expect("a list").clone()
    }
}

/// Kannel and a hub in one temp dir; `None` when skipped.
async fn setup(test: &str) -> Option<(tempfile::TempDir, Kannel, Hub)> {
    setup_with(test, &[]).await
}

/// As [`setup`], with more `MPAKA_…` settings for the hub.
async fn setup_with(test: &str, env: &[(&str, &str)]) -> Option<(tempfile::TempDir, Kannel, Hub)> {
    if !kannel_available(test) {
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let kannel_dir = dir.path().join("kannel");
    let hub_dir = dir.path().join("hub");
    std::fs::create_dir_all(&kannel_dir).expect("kannel dir");
    std::fs::create_dir_all(&hub_dir).expect("hub dir");
    let hub_port = free_port();
    let kannel = Kannel::start(&kannel_dir, hub_port).await;
    let hub = Hub::start(&hub_dir, hub_port, kannel.gateway_url(), env).await;
    Some((dir, kannel, hub))
}

/// The reference code in an alert SMS (`… Ref 4F7. …`).
fn code_in(text: &str) -> String {
    let at = text.find("Ref ").expect("a reference") + 4;
    text[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

fn corridor() -> ChannelId {
    ch("corridor:mugina-manyovu")
}

#[tokio::test]
async fn a_severe_alert_reaches_the_dark_post_by_sms_and_the_reply_acknowledges_it_live() {
    let Some((_dir, mut kannel, hub)) = setup("sms::a_severe_alert_reaches_the_dark_post").await
    else {
        return;
    };
    hub.register_phone(&kannel, "manyovu.officer", MANYOVU_PHONE)
        .await;
    let mut mugina = hub.connect("mugina.officer").await;
    mugina
        .subscribe(&[corridor()], None)
        .await
        .expect("subscribes");
    let mugina_token = hub.token("mugina.officer").await;
    let alert_id = hub.raise(&mugina_token, 400).await;

    // Manyovu has had nobody connected for longer than the dark time.
    let text = kannel.wait_for(MANYOVU_PHONE, |t| t.contains("Ref ")).await;
    // In the officer's language (Swahili for the demo's Tanzanian officers).
    assert!(
        text.starts_with("MPAKA HATARI uingiaji mkubwa Mugina: 400 watu"),
        "{text}"
    );
    assert!(text.contains("35 watoto peke yao"), "{text}");
    assert!(
        text.ends_with(&format!("Jibu ACK {}", code_in(&text))),
        "{text}"
    );
    let code = code_in(&text);
    assert_eq!(code.len(), 3, "{text}");

    kannel
        .send_from(MANYOVU_PHONE, &format!("ack {code}"))
        .await;
    let deadline = Instant::now() + PATIENCE;
    let acknowledged = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, mugina.next_event())
            .await
            .expect("Mugina sees the acknowledgement in time")
            .expect("an event");
        if let EventData::AlertAcknowledged(body) = event.data {
            break body;
        }
    };
    assert_eq!(acknowledged.alert.id, alert_id);
    let by = &acknowledged.alert.acknowledgements[0].by;
    assert_eq!(by.username.as_deref(), Some("manyovu.officer"));
    let answer = kannel
        .wait_for(MANYOVU_PHONE, |t| t.contains("imepokelewa"))
        .await;
    assert!(answer.contains(&code), "{answer}");

    // Coordinators see where each SMS stands; fakesmsc reports delivery.
    let coordinator = hub.token("tz.coordinator").await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let states = hub.sms_of(&coordinator, &alert_id).await;
        let alert_sms: Vec<&Value> = states.iter().filter(|s| s["purpose"] == "alert").collect();
        assert_eq!(alert_sms.len(), 1, "{states:?}");
        if alert_sms[0]["state"] == "delivered" {
            assert_eq!(alert_sms[0]["phone_ends"], "001");
            break;
        }
        assert!(Instant::now() < deadline, "never delivered: {states:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let officer = hub.token("manyovu.officer").await;
    let (status, _) = hub
        .call(
            reqwest::Method::GET,
            &officer,
            &format!("/api/v1/alerts/{alert_id}/sms"),
            None,
        )
        .await;
    assert_eq!(status, 403, "delivery states are for coordinators");
    let alert_sms = kannel
        .received()
        .into_iter()
        .filter(|s| s.text.contains(&format!("Ref {code}")))
        .count();
    assert_eq!(alert_sms, 1, "one SMS per recipient and alert step");
}

#[tokio::test]
async fn replies_from_unknown_numbers_with_wrong_codes_or_replayed_are_refused_answered_and_audited(
) {
    let Some((_dir, mut kannel, hub)) = setup("sms::replies_refused").await else {
        return;
    };
    hub.register_phone(&kannel, "manyovu.officer", MANYOVU_PHONE)
        .await;
    let mugina_token = hub.token("mugina.officer").await;
    let alert_id = hub.raise(&mugina_token, 120).await;
    let text = kannel.wait_for(MANYOVU_PHONE, |t| t.contains("Ref ")).await;
    let code = code_in(&text);

    // An unregistered number, answered in Swahili by its country code.
    kannel
        .send_from("+255799999999", &format!("ACK {code}"))
        .await;
    let answer = kannel.wait_for("+255799999999", |_| true).await;
    assert!(answer.contains("haijasajiliwa"), "{answer}");
    // A code no alert has.
    kannel.send_from(MANYOVU_PHONE, "ACK 999").await;
    let answer = kannel
        .wait_for(MANYOVU_PHONE, |t| t.contains("hakuna tahadhari 999"))
        .await;
    assert!(answer.contains("HALI"), "{answer}");
    // Not understood.
    kannel.send_from(MANYOVU_PHONE, "hello?").await;
    kannel
        .wait_for(MANYOVU_PHONE, |t| t.contains("haieleweki"))
        .await;
    // Accepted once, then the same reply again: refused.
    kannel
        .send_from(MANYOVU_PHONE, &format!("Pokea {code}"))
        .await;
    kannel
        .wait_for(MANYOVU_PHONE, |t| t.contains("imepokelewa"))
        .await;
    kannel
        .send_from(MANYOVU_PHONE, &format!("ACK {code}"))
        .await;
    kannel
        .wait_for(MANYOVU_PHONE, |t| t.contains("tayari umepokea"))
        .await;
    // STATUS answers with the open alerts of the corridor.
    kannel.send_from(MANYOVU_PHONE, "status").await;
    let status = kannel
        .wait_for(MANYOVU_PHONE, |t| {
            t.starts_with("MPAKA: ") && t.contains("uingiaji mkubwa")
        })
        .await;
    assert!(status.contains(&code) && status.contains("120"), "{status}");

    // The gateway's routes need the shared secret.
    for query in [
        "from=%2B255700000001&text=ACK",
        "secret=wrong&from=%2B255700000001&text=ACK",
    ] {
        let response = reqwest::get(format!(
            "http://{}/api/v1/sms/kannel/inbound?{query}",
            hub.addr()
        ))
        .await
        .expect("answers");
        assert_eq!(response.status().as_u16(), 401, "{query}");
    }

    let auditor = hub.token("auditor").await;
    let (status_code, audit) = hub
        .call(
            reqwest::Method::GET,
            &auditor,
            "/api/v1/audit?limit=1000",
            None,
        )
        .await;
    assert_eq!(status_code, 200, "{audit}");
    let entries = audit.as_array().cloned().unwrap_or_default();
    let outcomes: Vec<String> = entries
        .iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("sms.reply"))
        })
        .map(|e| e["detail"]["outcome"].as_str().unwrap_or("").to_owned())
        .collect();
    for expected in [
        "refused:unknown_number",
        "refused:no_such_code",
        "refused:not_understood",
        "accepted:acknowledged",
        "refused:already_acknowledged",
        "accepted:status",
    ] {
        assert!(
            outcomes.iter().any(|o| o == expected),
            "{expected} not in {outcomes:?}"
        );
    }
    let acks = entries
        .iter()
        .filter(|e| {
            e["action"] == "alert.acknowledged" && e["target"] == format!("alert:{alert_id}")
        })
        .count();
    assert_eq!(acks, 1, "acknowledged once");
}

#[tokio::test]
async fn a_hub_killed_while_sending_sends_each_sms_exactly_once_after_restart() {
    let Some((_dir, kannel, mut hub)) = setup("sms::a_hub_killed_while_sending").await else {
        return;
    };
    hub.register_phone(&kannel, "manyovu.officer", MANYOVU_PHONE)
        .await;
    let mugina_token = hub.token("mugina.officer").await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(hub.raise(&mugina_token, 100 + i).await);
    }
    // At 4 SMS a second, kill the hub once the first two arrived.
    let deadline = Instant::now() + PATIENCE;
    while kannel
        .received()
        .iter()
        .filter(|s| s.text.contains("Ref "))
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "no alert SMS: {:?}",
            kannel.received()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hub.kill().await;
    let at_kill = kannel
        .received()
        .iter()
        .filter(|s| s.text.contains("Ref "))
        .count();
    hub.launch(false).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = kannel
            .received()
            .iter()
            .filter(|s| s.text.contains("Ref "))
            .count();
        if got >= 8 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {got} of 8 after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Longer than a round of planning and sending, and than the delay for
    // resending unconfirmed SMS: nothing more may come.
    tokio::time::sleep(Duration::from_secs(17)).await;
    let alert_sms: Vec<Received> = kannel
        .received()
        .into_iter()
        .filter(|s| s.text.contains("Ref "))
        .collect();
    let mut codes: Vec<String> = alert_sms.iter().map(|s| code_in(&s.text)).collect();
    codes.sort();
    let before = codes.len();
    codes.dedup();
    assert_eq!(
        before, 8,
        "each SMS exactly once (killed after {at_kill}): {alert_sms:#?}"
    );
    assert_eq!(codes.len(), 8, "eight alerts, eight codes");
    assert!(alert_sms.iter().all(|s| s.to == MANYOVU_PHONE));
    let coordinator = hub.token("tz.coordinator").await;
    for id in &ids {
        let states = hub.sms_of(&coordinator, id).await;
        assert_eq!(states.len(), 1, "{states:?}");
        assert!(
            ["sent", "delivered"].contains(&states[0]["state"].as_str().unwrap_or("")),
            "{states:?}"
        );
    }
}

#[tokio::test]
async fn sms_queued_while_the_gateway_is_down_go_out_once_when_it_is_back() {
    let Some((_dir, mut kannel, hub)) = setup("sms::gateway_down").await else {
        return;
    };
    hub.register_phone(&kannel, "manyovu.officer", MANYOVU_PHONE)
        .await;
    kannel.stop_smsbox().await;
    let mugina_token = hub.token("mugina.officer").await;
    let alert_id = hub.raise(&mugina_token, 250).await;
    let coordinator = hub.token("tz.coordinator").await;
    // The hub tries, fails, and keeps the SMS queued with its attempts counted.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let states = hub.sms_of(&coordinator, &alert_id).await;
        if states
            .first()
            .is_some_and(|s| s["attempts"].as_i64() >= Some(3))
        {
            assert_eq!(states[0]["state"], "queued", "{states:?}");
            assert!(
                states[0]["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("connect")),
                "{states:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no retries: {states:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!kannel.received().iter().any(|s| s.text.contains("Ref ")));
    kannel.start_smsbox().await;
    kannel.wait_for(MANYOVU_PHONE, |t| t.contains("Ref ")).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let count = kannel
        .received()
        .iter()
        .filter(|s| s.text.contains("Ref "))
        .count();
    assert_eq!(count, 1, "{:?}", kannel.received());
    let metrics = reqwest::get(format!("http://{}/metrics", hub.addr()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("mpaka_sms_events_total{event=\"retried\"}"),
        "{metrics}"
    );

    // `mpaka sms test NUMBER` goes straight through the configured gateway.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mpaka"))
        .args(["sms", "test", "+255 700 000 003", "--data-dir"])
        .arg(&hub.dir)
        .env_remove("MPAKA_CONFIG")
        .env("MPAKA_SMS__GATEWAY_URL", kannel.gateway_url())
        .env("MPAKA_SMS__PASSWORD", PASSWORD)
        .output()
        .expect("runs mpaka sms test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Accepted for delivery"), "{stdout}");
    kannel
        .wait_for("+255700000003", |t| t == "MPAKA test message")
        .await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mpaka"))
        .args(["sms", "test", "+255700000003", "--data-dir"])
        .arg(&hub.dir)
        .env_remove("MPAKA_CONFIG")
        .env("MPAKA_SMS__GATEWAY_URL", kannel.gateway_url())
        .env("MPAKA_SMS__PASSWORD", "not-the-password")
        .output()
        .expect("runs mpaka sms test");
    assert!(!output.status.success(), "a wrong password is refused");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("not-the-password"),
        "the password is never printed"
    );
}

#[tokio::test]
async fn coordinators_get_escalations_by_sms_and_acknowledge_with_their_pin() {
    let Some((_dir, mut kannel, hub)) = setup_with(
        "sms::coordinators_get_escalations",
        &[
            ("MPAKA_ALERTS__SEVERE_ESCALATION_MS", "1000"),
            ("MPAKA_ALERTS__CHECK_INTERVAL_MS", "100"),
            // Nobody is dark during this test: only escalations send.
            ("MPAKA_SMS__DARK_AFTER_SECS", "3600"),
        ],
    )
    .await
    else {
        return;
    };
    const TZ_PHONE: &str = "+255700000009";
    const BI_PHONE: &str = "+25779000009";
    hub.register_phone(&kannel, "tz.coordinator", TZ_PHONE)
        .await;
    hub.register_phone(&kannel, "bi.coordinator", BI_PHONE)
        .await;
    let tz = hub.token("tz.coordinator").await;
    let (status, profile) = hub
        .call(reqwest::Method::GET, &tz, "/api/v1/me/sms", None)
        .await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["pin_required"], true, "{profile}");
    let mugina_token = hub.token("mugina.officer").await;
    let alert_id = hub.raise(&mugina_token, 600).await;

    // Both countries' coordinators get the level-1 escalation, each in
    // their language, with the PIN hint.
    let text = kannel.wait_for(TZ_PHONE, |t| t.contains("Ref ")).await;
    assert!(
        text.starts_with("MPAKA ESC1 SEVERE mass arrival Mugina: 600 people"),
        "{text}"
    );
    assert!(text.ends_with(" PIN"), "{text}");
    let french = kannel.wait_for(BI_PHONE, |t| t.contains("Ref ")).await;
    assert!(
        french.starts_with("MPAKA ESC1 GRAVE arrivee massive Mugina"),
        "{french}"
    );
    let code = code_in(&text);

    // Without the PIN, with a wrong one, then with the right one.
    kannel.send_from(TZ_PHONE, &format!("ACK {code}")).await;
    kannel
        .wait_for(TZ_PHONE, |t| t.contains("add your PIN"))
        .await;
    let (status, body) = hub
        .call(
            reqwest::Method::PUT,
            &tz,
            "/api/v1/me/sms/pin",
            Some(json!({"pin": "4821"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pin_set"], true);
    kannel
        .send_from(TZ_PHONE, &format!("ACK {code} 1111"))
        .await;
    kannel.wait_for(TZ_PHONE, |t| t.contains("wrong PIN")).await;
    // The raising side's coordinator may not acknowledge, PIN or not.
    let bi = hub.token("bi.coordinator").await;
    let (status, _) = hub
        .call(
            reqwest::Method::PUT,
            &bi,
            "/api/v1/me/sms/pin",
            Some(json!({"pin": "2468"})),
        )
        .await;
    assert_eq!(status, 200);
    kannel
        .send_from(BI_PHONE, &format!("RECU {code} 2468"))
        .await;
    kannel
        .wait_for(BI_PHONE, |t| t.contains("ne pouvez pas"))
        .await;
    kannel
        .send_from(TZ_PHONE, &format!("ACK {code} 4821"))
        .await;
    kannel
        .wait_for(TZ_PHONE, |t| t.contains("acknowledged. Thank you"))
        .await;
    let (status, detail) = hub
        .call(
            reqwest::Method::GET,
            &tz,
            &format!("/api/v1/alerts/{alert_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let acks = detail["alert"]["acknowledgements"]
        .as_array()
        .expect("acks");
    assert_eq!(acks.len(), 1, "{detail}");
    assert_eq!(acks[0]["by"]["username"], "tz.coordinator");
}
