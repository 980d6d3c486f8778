//! What an operator sees from the real binary: strict configuration and
//! `mpaka config check`, the start-up line, `--version`, and errors that
//! name what to fix (address, path, host), once.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mpaka");

/// `mpaka args…` in `dir` without any inherited `MPAKA_…` variable.
fn mpaka(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MPAKA_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpaka runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Fails with the output when `output` did not fail, and returns stderr.
fn failure(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected a failure:\n{}\n{}",
        stdout(output),
        stderr(output)
    );
    stderr(output)
}

const KEY: &str = "a-signing-key-of-forty-bytes-for-tests!!";

#[test]
fn a_misspelt_variable_stops_the_hub_and_names_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    for (typo, meant) in [
        ("MPAKA_DATABSE_URL", "MPAKA_DATABASE_URL"),
        ("MPAKA_JWT_SECRETS", "MPAKA_JWT_SECRET"),
    ] {
        let out = mpaka(
            dir.path(),
            &["serve", "--listen", "127.0.0.1:0"],
            &[(typo, "x")],
            "",
        );
        let err = failure(&out);
        assert!(
            err.contains(&format!(
                "unknown environment variable {typo} (did you mean {meant}?)"
            )),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "said once: {err}");
    }
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created before the configuration is known good"
    );
}

#[test]
fn config_check_shows_each_value_with_its_source_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mpaka.toml"),
        "node_id = \"mugina-1\"\n[ws]\nheartbeat_secs = 7\n",
    )
    .unwrap();
    let out = mpaka(
        dir.path(),
        &[
            "config",
            "check",
            "--config",
            "mpaka.toml",
            "--listen",
            "0.0.0.0:9000",
            "--database-url",
            "postgres://mpaka:pg-password@db.internal:6432/hub",
        ],
        &[("MPAKA_JWT_SECRET", KEY), ("MPAKA_LIMITS__POLL_MS", "100")],
        "",
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let line = |key: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no line for {key}:\n{text}"))
            .to_owned()
    };
    assert!(
        line("node_id").contains("\"mugina-1\"") && line("node_id").ends_with("# file mpaka.toml")
    );
    assert!(
        line("ws.heartbeat_secs").contains(" 7 ") && line("ws.heartbeat_secs").contains("# file")
    );
    assert!(line("limits.poll_ms").ends_with("# env MPAKA_LIMITS__POLL_MS"));
    assert!(line("listen").contains("0.0.0.0:9000") && line("listen").ends_with("# flag --listen"));
    assert!(line("ws.max_connections").ends_with("# default"));
    assert!(line("jwt_secret").contains("[redacted]"));
    assert!(line("database_url").contains("db.internal:6432/hub"));
    for secret in [KEY, "pg-password"] {
        assert!(!text.contains(secret), "a secret printed:\n{text}");
    }
    assert!(text.contains("configuration OK"));
}

#[test]
fn config_check_fails_listing_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = mpaka(
        dir.path(),
        &["config", "check"],
        &[
            ("MPAKA_JWT_SECRET", "short"),
            ("MPAKA_WS_HEARTBEAT_SECS", "9"),
        ],
        "",
    );
    failure(&out);
    let text = stdout(&out);
    assert!(text.contains("problem: unknown environment variable MPAKA_WS_HEARTBEAT_SECS (did you mean MPAKA_WS__HEARTBEAT_SECS?)"), "{text}");
    assert!(
        text.contains("problem: jwt_secret must be at least 32 bytes long"),
        "{text}"
    );
    assert!(!text.contains("short"), "{text}");
}

#[test]
fn version_names_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let out = mpaka(dir.path(), &["--version"], &[], "");
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("mpaka {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn the_start_up_line_says_what_runs_where_without_secrets_or_colours() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", "hub"])
        .env("MPAKA_NODE_ID", "kobero-1")
        .env("MPAKA_JWT_SECRET", KEY)
        .env_remove("RUST_LOG")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        let done = line.contains("mpaka is serving");
        seen.push(line);
        if done {
            break;
        }
    }
    let line = seen
        .iter()
        .find(|l| l.contains("mpaka is serving"))
        .unwrap_or_else(|| panic!("no start-up line in {seen:#?}, {:?}", child.wait()))
        .clone();
    let _ = child.kill();
    let _ = child.wait();
    for field in [
        format!("version=\"{}\"", env!("CARGO_PKG_VERSION")),
        "commit=".into(),
        "listen=127.0.0.1:".into(),
        "database=\"sqlite\"".into(),
        "database_at=hub/mpaka.db".into(),
        "signing_key=jwt_secret (kid ".into(),
        "node=\"kobero-1\"".into(),
    ] {
        assert!(line.contains(&field), "{field} missing: {line}");
    }
    assert!(!line.contains(KEY));
    assert!(!line.contains('\u{1b}'), "colour codes in a pipe: {line:?}");
}

#[test]
fn a_taken_port_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = mpaka(dir.path(), &["serve", "--listen", &addr], &[], "");
    let err = failure(&out);
    assert!(
        err.contains(&format!("cannot listen on {addr}: the address is in use")),
        "{err}"
    );
}

#[test]
fn an_unusable_data_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain-file"), "").unwrap();
    let out = mpaka(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "plain-file/hub",
        ],
        &[],
        "",
    );
    let err = failure(&out);
    assert!(
        err.contains("cannot create the data directory plain-file/hub"),
        "{err}"
    );
}

#[test]
fn an_unreachable_postgres_is_named_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://mpaka:pg-password@127.0.0.1:{port}/hub");
    let out = mpaka(dir.path(), &["migrate", "--database-url", &url], &[], "");
    let err = failure(&out);
    assert!(
        err.contains(&format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused"
        )),
        "{err}"
    );
    assert!(
        !err.contains("pg-password") && !err.contains("pool timed out"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "said once: {err}");
    assert!(
        !dir.path().join("data").exists(),
        "migrate created a data directory for a PostgreSQL URL"
    );
}

#[test]
fn backup_of_postgres_points_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let out = mpaka(
        dir.path(),
        &[
            "backup",
            "--to",
            "copy.db",
            "--database-url",
            "postgres://mpaka@127.0.0.1:1/hub",
        ],
        &[],
        "",
    );
    let err = failure(&out);
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!err.contains("corrupt"), "{err}");
}

#[test]
fn management_commands_refuse_to_create_a_database_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    let add = [
        "user",
        "add",
        "--username",
        "alice.admin",
        "--role",
        "admin",
    ];
    let out = mpaka(dir.path(), &add, &[], "a long password\n");
    let err = failure(&out);
    let expected = dir.path().canonicalize().unwrap().join("data/mpaka.db");
    assert!(
        err.contains(&format!("no hub database at {}", expected.display()))
            && err.contains("--init"),
        "{err}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "created a database anyway"
    );
    let mut with_init = add.to_vec();
    with_init.push("--init");
    let out = mpaka(dir.path(), &with_init, &[], "a long password\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = mpaka(dir.path(), &["user", "list"], &[], "");
    assert!(stdout(&out).contains("alice.admin"));
}

#[test]
fn import_into_a_database_with_data_says_so_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let d = |args: &[&str]| mpaka(dir.path(), args, &[], "");
    assert!(d(&[
        "post",
        "add",
        "--init",
        "--slug",
        "mugina",
        "--name",
        "Mugina",
        "--country",
        "BI"
    ])
    .status
    .success());
    assert!(d(&["export", "--to", "hub.jsonl"]).status.success());
    let err = failure(&d(&["import", "--from", "hub.jsonl"]));
    assert!(err.contains("the target database is not empty"), "{err}");
    assert!(!err.contains("already exists"), "{err}");
}

#[test]
fn a_server_url_without_scheme_or_with_the_wrong_one_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = mpaka(
        dir.path(),
        &[
            "client",
            "--server",
            "hub.example.org",
            "--user",
            "u",
            "channels",
        ],
        &[],
        "pw\n",
    );
    let err = failure(&out);
    assert!(err.contains("write https://hub.example.org"), "{err}");

    // A plain HTTP listener, reached with https://.
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = plain.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in plain.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let server = format!("https://{addr}");
    let out = mpaka(
        dir.path(),
        &["client", "--server", &server, "--user", "u", "channels"],
        &[],
        "pw\n",
    );
    let err = failure(&out);
    assert!(
        err.contains("answered in plain HTTP, not TLS: use http://"),
        "{err}"
    );
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["schema", "--openapi"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (as `| head -1` leaves it).
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert!(output.status.success(), "{:?}: {err}", output.status);
    assert!(!err.contains("panicked"), "{err}");
}

/// Runs `openssl args…` in `dir`; false when it fails.
fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_hub_behind_a_private_ca_is_trusted_with_cacert_or_ssl_cert_file() {
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is needed for this test (Debian package openssl)"
        );
        println!("SKIPPED (openssl not installed)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    for args in [
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=mpaka test CA",
        ][..],
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "hub.key",
            "-out",
            "hub.csr",
            "-subj",
            "/CN=hub",
        ][..],
        &[
            "x509",
            "-req",
            "-in",
            "hub.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "hub.pem",
            "-days",
            "2",
            "-extfile",
            "ext",
        ][..],
    ] {
        assert!(openssl(d, args), "openssl {args:?}");
    }
    // A TLS server answering GET /readyz from a file.
    std::fs::write(d.join("readyz"), "ok").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("openssl")
        .args([
            "s_server", "-quiet", "-WWW", "-cert", "hub.pem", "-key", "hub.key",
        ])
        .args(["-accept", &port.to_string()])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}");
    // Until the server listens (no sleeping: the TLS port answering is the signal).
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            server.try_wait().unwrap().is_none(),
            "openssl s_server exited"
        );
        std::thread::yield_now();
    }
    let untrusted = mpaka(d, &["healthcheck", "--url", &url], &[], "");
    let with_flag = mpaka(
        d,
        &["healthcheck", "--url", &url, "--cacert", "ca.pem"],
        &[],
        "",
    );
    let with_env_var = {
        let mut c = Command::new(BIN);
        c.args(["healthcheck", "--url", &url])
            .env("SSL_CERT_FILE", d.join("ca.pem"))
            .output()
            .unwrap()
    };
    let _ = server.kill();
    let _ = server.wait();
    let err = failure(&untrusted);
    assert!(err.contains("pass --cacert FILE"), "{err}");
    assert!(with_flag.status.success(), "{}", stderr(&with_flag));
    assert!(with_env_var.status.success(), "{}", stderr(&with_env_var));
}
