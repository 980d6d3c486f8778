//! End-to-end tests of the built `mpaka` binary (they need
//! `CARGO_BIN_EXE_mpaka`, which only this package's tests get), linked into
//! one test binary: each file in this folder is a module here
//! (`cargo test -p mpaka-server --test main nodes::` runs one file's tests).
//!
//! Why one binary: each file used to be its own executable linking the
//! whole hub and the test harness. The files stay where they were
//! (server/Cargo.toml sets `autotests = false` and names this file as the
//! only integration test target), which keeps their history and lets
//! parallel edits merge. A new test file needs one `mod` line below; the
//! test at the end fails when it is missing.

mod binary;
mod data_cli;
mod faults;
mod nodes;
mod private_files;
mod sessions_nodes;

/// With `autotests = false` Cargo no longer builds every file in this
/// folder on its own, so a file nobody declared above would silently never
/// run: refuse that.
#[test]
fn every_test_file_in_the_folder_is_a_module_of_this_binary() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let main = std::fs::read_to_string(folder.join("main.rs")).expect("main.rs");
    for entry in std::fs::read_dir(&folder).expect("tests folder") {
        let path = entry.expect("entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs") && stem != "main" {
            assert!(
                main.lines().any(|l| l.trim() == format!("mod {stem};")),
                "tests/{stem}.rs is not declared in tests/main.rs: add `mod {stem};`"
            );
        }
    }
}
