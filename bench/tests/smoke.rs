//! CI's proof that the benchmark works: the comparison script at smoke sizes
//! against fresh mpaka, NATS and Mosquitto servers, with the binaries this
//! build produced. It fails on any lost or duplicated message. Real figures
//! come from `bench/run-comparison.sh` on release builds (docs/benchmarks.md).

use std::path::{Path, PathBuf};
use std::process::Command;

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args([
            "-c",
            &format!("command -v {program} || test -x /usr/sbin/{program}"),
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `target/<profile>/mpaka`, built by the workspace's test build.
fn mpaka_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    profile_dir.join("mpaka")
}

#[test]
fn the_comparison_runs_at_smoke_sizes_without_loss() {
    let missing: Vec<&str> = ["nats-server", "mosquitto"]
        .into_iter()
        .filter(|p| !installed(p))
        .collect();
    let mpaka = mpaka_binary();
    if !missing.is_empty() || !mpaka.exists() {
        let why = if mpaka.exists() {
            format!("{} not installed", missing.join(" and "))
        } else {
            format!(
                "{} not built (run `cargo test --workspace`)",
                mpaka.display()
            )
        };
        println!("SKIPPED: benchmark smoke: {why}");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "benchmark smoke skipped under CI: {why}"
        );
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new("bash")
        .arg(root.join("bench/run-comparison.sh"))
        .arg("--smoke")
        .env("SKIP_BUILD", "1")
        .env("MPAKA_BIN", &mpaka)
        .env("BENCH_BIN", env!("CARGO_BIN_EXE_mpaka-bench"))
        .output()
        .expect("the script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "smoke comparison failed:\n{stdout}\n{stderr}"
    );
    let verdict = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("smoke:"))
        .unwrap_or_default();
    assert!(
        verdict.ends_with(" 0 failed"),
        "unexpected verdict `{verdict}`"
    );
}
