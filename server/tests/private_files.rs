//! The built binary, started under the common umask 022, creates its data
//! directory 0700 and its database, WAL, signing key and exports 0600.

use mpaka_tests::nodes::{ClusterSpec, Node};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_database_wal_key_and_exports_are_private_whatever_the_umask() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let spec = ClusterSpec {
        binary: env!("CARGO_BIN_EXE_mpaka").into(),
        database_url: format!("sqlite://{}/mpaka.db", data.display()),
        data_dir: data.clone(),
        jwt_secret: "a shared signing key of at least thirty-two bytes".into(),
        env: Vec::new(),
    };
    // The test process's umask is inherited by the child; make it the
    // permissive one a service manager might give.
    let previous = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let mut node = Node::start(&spec, "node-a", true).await.expect("starts");
    // Checked while the hub runs, when the WAL and shared-memory files exist.
    let running: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.clone(), mode(&p)))
        .collect();
    let export = temp.path().join("export.jsonl");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_mpaka"))
        .args(["export", "--data-dir"])
        .arg(&data)
        .arg("--database-url")
        .arg(&spec.database_url)
        .arg("--to")
        .arg(&export)
        .env_remove("MPAKA_CONFIG")
        .status()
        .unwrap();
    rustix::process::umask(previous);
    node.terminate().await;
    assert!(status.success());
    assert_eq!(mode(&data), 0o700, "data directory");
    for (path, mode) in &running {
        assert_eq!(*mode, 0o600, "{}", path.display());
    }
    let names: Vec<String> = running
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n == "mpaka.db-wal"),
        "expected the WAL among {names:?}"
    );
    assert_eq!(mode(&export), 0o600, "export");
}
