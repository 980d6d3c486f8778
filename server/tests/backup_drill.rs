//! The restore drill of docs/operations.md §12, as an operator runs it:
//! deploy/backup/mpaka-backup.sh backs up a live hub (three times, keeping
//! two), the newest backup and the copied keys are restored into a new data
//! directory, a hub starts on it, and the data and the verifiable log are
//! checked.

use mpaka_tests::ch;
use mpaka_tests::nodes::{Accounts, ClusterSpec, Node};
use std::path::{Path, PathBuf};

const BIN: &str = env!("CARGO_BIN_EXE_mpaka");

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .join("deploy/backup/mpaka-backup.sh")
}

/// Runs the backup script as its unit would, returning its output.
fn run_backup(data: &Path, backups: &Path, keep: &str) -> std::process::Output {
    std::process::Command::new("sh")
        .arg(script())
        .env("BACKUP_MPAKA", BIN)
        .env("BACKUP_CONFIG", "")
        .env("MPAKA_DATA_DIR", data)
        .env("BACKUP_DIR", backups)
        .env("BACKUP_KEEP", keep)
        .env_remove("MPAKA_CONFIG")
        .output()
        .expect("sh runs")
}

fn backups_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    files.sort();
    files
}

async fn mpaka(args: &[&str]) -> String {
    let output = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("MPAKA_CONFIG")
        .output()
        .await
        .expect("mpaka runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "mpaka {args:?}:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_a_live_hub_restores_into_a_new_directory_with_its_data_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let backups = dir.path().join("backups");
    let spec = ClusterSpec {
        binary: BIN.into(),
        database_url: format!("sqlite://{}", data.join("mpaka.db").display()),
        data_dir: data.clone(),
        jwt_secret: "a signing key of at least thirty-two bytes....".into(),
        env: Vec::new(),
    };
    let mut live = Node::start(&spec, "live", true).await.unwrap();
    let accounts = Accounts::from_data_dir(&data);
    let mut officer = accounts.connect(live.addr, "mugina.officer").await.unwrap();
    let before = officer
        .publish(&ch("post:mugina"), "Before the backup: 400 arrivals")
        .await
        .unwrap();

    // A bad retention count is refused before anything is written.
    let refused = run_backup(&data, &backups, "none");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("BACKUP_KEEP"));

    for _ in 0..3 {
        let out = run_backup(&data, &backups, "2");
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let kept = backups_in(&backups);
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(backups.join("keys/log.key").is_file());
    // Nothing half-written is left behind.
    assert!(std::fs::read_dir(&backups).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".partial")));
    let after = officer
        .publish(&ch("post:mugina"), "After the backup")
        .await
        .unwrap();
    assert!(live.terminate().await);

    // The drill: the newest backup and the keys into a new directory.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(kept.last().unwrap(), restored.join("mpaka.db")).unwrap();
    std::fs::copy(backups.join("keys/log.key"), restored.join("log.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            restored.join("log.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let restored_arg = restored.to_str().unwrap();
    let verdict = mpaka(&["log", "verify", "--data-dir", restored_arg]).await;
    assert!(verdict.to_lowercase().contains("intact"), "{verdict}");
    let restored_spec = ClusterSpec {
        database_url: format!("sqlite://{}", restored.join("mpaka.db").display()),
        data_dir: restored.clone(),
        ..spec.clone()
    };
    let mut hub = Node::start(&restored_spec, "restored", false)
        .await
        .unwrap();
    let mut client = accounts.connect(hub.addr, "mugina.officer").await.unwrap();
    let (history, _) = client
        .subscribe(&[ch("post:mugina")], Some(0))
        .await
        .unwrap();
    assert!(history.iter().any(|e| e.seq == before), "{history:?}");
    // What was written after the backup is not in it (that is what
    // continuous copies or WAL archiving are for).
    let after_text = |e: &mpaka_protocol::Event| matches!(&e.data, mpaka_protocol::EventData::Message(m) if m.text == "After the backup");
    assert!(!history.iter().any(after_text), "{after}: {history:?}");
    assert!(hub.terminate().await);
    let verdict = mpaka(&["log", "verify", "--data-dir", restored_arg]).await;
    assert!(verdict.to_lowercase().contains("intact"), "{verdict}");
}
