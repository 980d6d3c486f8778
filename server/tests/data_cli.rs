//! The data tools of the real binary while a real hub serves: `mpaka
//! backup` and `mpaka export` during publishing, then `mpaka import` of the
//! export into PostgreSQL (skipped without PostgreSQL, except in CI).

use mpaka_server::store::Store;
use mpaka_tests::nodes::{Accounts, ClusterSpec, Node};
use mpaka_tests::{ch, Backend, TestDb};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_mpaka");

/// Runs `mpaka args…`, asserts it succeeds and returns its stdout.
async fn mpaka(args: &[&str]) -> String {
    let output = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("MPAKA_CONFIG")
        .output()
        .await
        .expect("mpaka runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "mpaka {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_export_while_serving_then_import_into_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap().to_owned();
    let spec = ClusterSpec {
        binary: BIN.into(),
        database_url: sqlite_url(&data.join("mpaka.db")),
        data_dir: data.clone(),
        jwt_secret: "a signing key of at least thirty-two bytes....".into(),
        env: Vec::new(),
    };
    let mut node = Node::start(&spec, "solo", true).await.unwrap();
    let accounts = Accounts::from_data_dir(&data);
    let acked = Arc::new(AtomicU64::new(0));
    let publishing = {
        let acked = acked.clone();
        let mut client = accounts.connect(node.addr, "mugina.officer").await.unwrap();
        tokio::spawn(async move {
            for i in 0..400 {
                client
                    .publish(&ch("corridor:mugina-manyovu"), &format!("Abantu {i}"))
                    .await
                    .unwrap();
                acked.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while acked.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let backup = dir.path().join("backup.db");
    let out = mpaka(&[
        "backup",
        "--data-dir",
        &data_arg,
        "--to",
        backup.to_str().unwrap(),
    ])
    .await;
    assert!(
        out.contains("integrity ok") && out.contains("audit chain intact"),
        "{out}"
    );
    let dump = dir.path().join("dump.jsonl");
    let out = mpaka(&[
        "export",
        "--data-dir",
        &data_arg,
        "--to",
        dump.to_str().unwrap(),
    ])
    .await;
    assert!(out.contains("events"), "{out}");
    let during = acked.load(Ordering::SeqCst);
    publishing.await.unwrap();
    assert!(during < 400, "the tools ran while the hub was publishing");
    assert!(node.terminate().await, "the hub stops cleanly");

    let original = Store::open(&spec.database_url).await.unwrap();
    let all = original.events_after(0, 100_000).await.unwrap();
    let prefix = |head: u64| -> Vec<_> { all.iter().filter(|e| e.seq <= head).cloned().collect() };

    let copy = Store::open(&sqlite_url(&backup)).await.unwrap();
    let head = copy.head_seq().await.unwrap();
    assert_eq!(copy.events_after(0, 100_000).await.unwrap(), prefix(head));
    println!("backup holds events 1..={head} of {}", all.len());

    let Some(pg) = TestDb::fresh(Backend::Postgres).await else {
        return;
    };
    let target = dir.path().join("pg-data");
    let out = mpaka(&[
        "import",
        "--data-dir",
        target.to_str().unwrap(),
        "--database-url",
        &pg.url,
        "--from",
        dump.to_str().unwrap(),
    ])
    .await;
    assert!(out.contains("audit chain intact"), "{out}");
    print!("{out}");
    let moved = Store::open(&pg.url).await.unwrap();
    let head = moved.head_seq().await.unwrap();
    assert!(head > 0);
    assert_eq!(moved.events_after(0, 100_000).await.unwrap(), prefix(head));
    assert_eq!(
        moved.users().await.unwrap(),
        original.users().await.unwrap()
    );
    moved.close().await;
}
