//! I/O errors on the database file (issue 17): a real `mpaka serve` on
//! SQLite whose writes to `mpaka.db*` fail with EIO for a while, injected
//! with a small LD_PRELOAD library (`support/eio.c`, built here with the C
//! compiler) because a `tmpfs` can be filled but not made to fail. While the
//! "disk" fails, writes are refused with `unavailable` naming an I/O error
//! and the hub reports itself not ready; once it heals, writes resume by
//! themselves, without a restart, and every acknowledged message is there.
//! Needs `cc` (gcc); without it the test says it skipped, except under
//! `CI=true`.

use mpaka_protocol::ErrorCode;
use mpaka_tests::ch;
use mpaka_tests::nodes::{Accounts, Node};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mpaka");
/// How long writes may take to resume once the disk heals.
const PATIENCE: Duration = Duration::from_secs(30);

/// Builds the fault library into `dir`; `None` (skipped) without a compiler.
fn build_library(dir: &Path) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/eio.c");
    let library = dir.join("libeio.so");
    let built = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(&source)
        .arg("-ldl")
        .status();
    match built {
        Ok(status) if status.success() => Some(library),
        other => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but the EIO library could not be built: {other:?}"
            );
            eprintln!("SKIPPED io_errors: no C compiler to build the EIO library ({other:?})");
            None
        }
    }
}

async fn readyz(node: &Node) -> u16 {
    reqwest::get(format!("{}/readyz", node.url()))
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_errors_on_the_database_refuse_writes_and_heal_without_a_restart() {
    let tools = tempfile::tempdir().expect("temp dir");
    let Some(library) = build_library(tools.path()) else {
        return;
    };
    let data = tempfile::tempdir().expect("temp dir");
    let flag = tools.path().join("failing");
    let db_path = format!("{}/mpaka.db", data.path().display());
    let node = Node::start_alone(
        BIN.as_ref(),
        data.path(),
        &[
            ("LD_PRELOAD", library.to_str().unwrap()),
            ("EIO_FLAG", flag.to_str().unwrap()),
            ("EIO_MATCH", &db_path),
            ("MPAKA_LIMITS__PUBLISH_PER_SEC", "100000"),
            ("MPAKA_LIMITS__PUBLISH_BURST", "100000"),
        ],
    )
    .await
    .expect("the hub starts");
    let accounts = Accounts::from_data_dir(data.path());
    let corridor = ch("corridor:mugina-manyovu");
    let mut officer = accounts.connect(node.addr, "mugina.officer").await.unwrap();
    let mut acked = vec![(
        officer
            .publish(&corridor, "before")
            .await
            .expect("published"),
        "before".to_owned(),
    )];

    // The disk starts failing.
    std::fs::write(&flag, b"").unwrap();
    let mut refusals = Vec::new();
    for i in 0..5 {
        let text = format!("during {i}");
        match officer.publish(&corridor, &text).await {
            Ok(seq) => acked.push((seq, text)),
            Err(error) => refusals.push((text, error)),
        }
    }
    assert!(!refusals.is_empty(), "writes fail while the disk fails");
    for (_, error) in &refusals {
        assert_eq!(error.code, ErrorCode::Unavailable, "{error:?}");
        assert!(
            error.message.contains("I/O"),
            "the reason is told: {}",
            error.message
        );
    }
    assert_eq!(readyz(&node).await, 503, "not ready while writes fail");

    // The disk heals: writes resume by themselves.
    std::fs::remove_file(&flag).unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        match officer.publish(&corridor, "after").await {
            Ok(seq) => {
                acked.push((seq, "after".to_owned()));
                break;
            }
            Err(error) if Instant::now() < deadline => {
                assert_eq!(error.code, ErrorCode::Unavailable, "{error:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("writes did not resume after the disk healed: {error:?}"),
        }
    }
    for i in 0..20 {
        let text = format!("later {i}");
        let seq = officer
            .publish(&corridor, &text)
            .await
            .expect("published after healing");
        acked.push((seq, text));
    }
    let deadline = Instant::now() + PATIENCE;
    while readyz(&node).await != 200 {
        assert!(Instant::now() < deadline, "ready again after healing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A fresh login writes too (its session). Every acknowledged message is
    // stored once, at its seq (a retry of "after" has a new id, so a refused
    // write that was stored after all would show as a second copy), and no
    // refused one is stored.
    let token = accounts
        .login(node.addr, "manyovu.officer")
        .await
        .expect("a login after healing")
        .access_token;
    let events: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/channels/corridor:mugina-manyovu/messages?limit=500",
            node.url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: Vec<(u64, String)> = events
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| Some((e["seq"].as_u64()?, e["body"]["text"].as_str()?.to_owned())))
        .collect();
    for (seq, text) in &acked {
        let copies: Vec<u64> = stored
            .iter()
            .filter(|(_, t)| t == text)
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(
            copies,
            [*seq],
            "acknowledged {text:?} stored once, at {seq}"
        );
    }
    for (text, _) in &refusals {
        assert!(
            stored.iter().all(|(_, t)| t != text),
            "refused {text:?} is not stored"
        );
    }
}
