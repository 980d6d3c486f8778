//! The built `mpaka` binary, as an operator runs it: demo start-up, the
//! account commands against a running hub, `mpaka client` with a second
//! factor, SIGTERM, and a power cut (SIGKILL) in the middle of publishing.

use mpaka_client::HubClient;
use mpaka_tests::nodes::{Accounts, Node};
use mpaka_tests::{ch, Client, Ending};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mpaka");

/// Starts `mpaka serve --demo` on a free port with `dir` as its data
/// directory and waits until it listens.
async fn start(dir: &Path) -> Node {
    Node::start_alone(
        Path::new(BIN),
        dir,
        &[
            ("MPAKA_LIMITS__POLL_MS", "50"),
            ("MPAKA_LIMITS__PUBLISH_PER_SEC", "1000"),
            ("MPAKA_LIMITS__PUBLISH_BURST", "1000"),
        ],
    )
    .await
    .expect("mpaka starts")
}

#[tokio::test]
async fn demo_start_login_and_graceful_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = start(dir.path()).await;
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
    let accounts = Accounts::from_data_dir(dir.path());
    let mut socket = accounts
        .connect(hub.addr, "mugina.officer")
        .await
        .expect("the demo officer logs in and connects");
    hub.signal_term();
    assert_eq!(socket.ending().await, Ending::Closed(Some(1001)));
    assert!(hub.wait().await, "mpaka must exit 0 on SIGTERM");
}

#[tokio::test]
async fn account_commands_work_against_a_running_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path()).await;
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
    let rest = HubClient::new(&hub.url());
    let tokens = rest
        .login("amani.officer", "a long enough password")
        .await
        .expect("the new officer logs in");
    let mut socket = Client::connect(hub.addr).await.expect("connects");
    socket.auth(&tokens.access_token).await.expect("welcome");
    let (ok, out) = cli(&["user", "disable", "amani.officer"], "");
    assert!(ok, "{out}");
    let started = std::time::Instant::now();
    assert_eq!(socket.ending().await, Ending::Closed(Some(4003)));
    eprintln!(
        "closed {:?} after the CLI disabled the account",
        started.elapsed()
    );
    let refused = rest
        .login("amani.officer", "a long enough password")
        .await
        .expect_err("a disabled account cannot log in");
    assert_eq!(refused.status(), Some(403), "{refused}");

    // Password commands: a reset forces a change, `passwd` makes it (and
    // checks the current password and the new one's strength).
    let (ok, out) = cli(&["user", "enable", "amani.officer"], "");
    assert!(ok, "{out}");
    let (ok, out) = cli(
        &["user", "reset-password", "amani.officer"],
        "reset by the operator 7721\n",
    );
    assert!(ok, "{out}");
    let forced = rest
        .login("amani.officer", "reset by the operator 7721")
        .await
        .expect_err("a reset password must be changed first");
    assert_eq!(forced.status(), Some(403), "{forced}");
    assert!(
        format!("{forced}").contains("reset this password"),
        "{forced}"
    );
    let (ok, out) = cli(
        &["user", "passwd", "amani.officer"],
        "a wrong current one\nsome brand new sentence\n",
    );
    assert!(!ok && out.contains("wrong"), "{out}");
    let (ok, out) = cli(
        &["user", "passwd", "amani.officer"],
        "reset by the operator 7721\npassword123\n",
    );
    assert!(!ok && out.contains("too easy to guess"), "{out}");
    let (ok, out) = cli(
        &["user", "passwd", "amani.officer"],
        "reset by the operator 7721\namani chooses her own sentence\n",
    );
    assert!(ok, "{out}");
    rest.login("amani.officer", "amani chooses her own sentence")
        .await
        .expect("the chosen password works");
    let (ok, out) = cli(&["audit", "--action", "user.password"], "");
    assert!(
        ok && out.contains("user.password_reset") && out.contains("user.password_changed"),
        "{out}"
    );
}

fn run(dir: &Path, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("MPAKA_DATA_DIR", dir)
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
}

#[tokio::test]
async fn the_client_asks_for_the_second_factor_and_reset_totp_removes_it() {
    use mpaka_tests::totp::{code_at, step_now};
    let dir = tempfile::tempdir().unwrap();
    let hub = start(dir.path()).await;
    let accounts = Accounts::from_data_dir(dir.path());
    let user = "mugina.officer";
    let password = accounts.password(user);
    // Enrol over REST, the code computed here from the secret.
    let token = accounts.login(hub.addr, user).await.unwrap().access_token;
    let http = reqwest::Client::new();
    let enrolment: serde_json::Value = http
        .post(format!("{}/api/v1/me/second-factor", hub.url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrolment["secret"].as_str().expect("secret").to_owned();
    let step = step_now();
    let confirmed = http
        .post(format!("{}/api/v1/me/second-factor/confirm", hub.url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "code": code_at(&secret, step) }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status().as_u16(), 200);

    let client = |stdin: String| {
        run(
            dir.path(),
            &["client", "--server", &hub.url(), "--user", user, "channels"],
            &stdin,
        )
    };
    // A wrong code: refused, and the code is not echoed.
    let (ok, out) = client(format!("{password}\n000000\n"));
    assert!(!ok && out.contains("wrong"), "{out}");
    // The password, then the code, as two lines on stdin.
    let code = code_at(&secret, step + 1);
    let (ok, out) = client(format!("{password}\n{code}\n"));
    assert!(ok && out.contains("corridor:mugina-manyovu"), "{out}");
    assert!(!out.contains(&code) && !out.contains(&password), "{out}");
    // The password alone is no longer enough.
    let (ok, out) = client(format!("{password}\n"));
    assert!(!ok, "{out}");

    // The operator removes it (a lost phone): the password alone works again.
    let (ok, out) = run(dir.path(), &["user", "reset-totp", user], "");
    assert!(ok, "{out}");
    let (ok, out) = client(format!("{password}\n"));
    assert!(ok && out.contains("corridor:mugina-manyovu"), "{out}");
    let (ok, out) = run(dir.path(), &["user", "reset-totp", user], "");
    assert!(!ok && out.contains("no second factor"), "{out}");
}

#[tokio::test]
async fn a_power_cut_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = start(dir.path()).await;
    let accounts = Accounts::from_data_dir(dir.path());
    let mut socket = accounts
        .connect(hub.addr, "bi.coordinator")
        .await
        .expect("coordinator connects");
    let mut acked = Vec::new();
    for i in 0..200 {
        match socket
            .try_publish_with_id(&format!("p{i}"), &ch("national:BI"), &format!("{i}"))
            .await
        {
            Ok(Ok((seq, _duplicate))) => acked.push(seq),
            Ok(Err(refused)) => panic!("publish {i} refused: {refused:?}"),
            // The connection broke: the hub is gone.
            Err(_) => break,
        }
        if i == 150 {
            // Pull the plug with publishes in flight.
            hub.kill().await;
        }
    }
    assert!(acked.len() >= 150, "only {} acknowledged", acked.len());
    let hub = start(dir.path()).await;
    let mut socket = accounts
        .connect(hub.addr, "gisuru.officer")
        .await
        .expect("officer connects after the restart");
    let (replayed, _) = socket
        .subscribe(&[ch("national:BI")], Some(0))
        .await
        .expect("subscribed");
    let stored: Vec<u64> = replayed.iter().map(|event| event.seq).collect();
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
