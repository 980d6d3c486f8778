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

mod backup_drill;
mod binary;
mod connection_limits_nodes;
mod data_cli;
mod faults;
mod federation;
mod install;
mod io_errors;
mod least_privilege;
mod login_throttle_nodes;
mod nodes;
mod operations;
mod private_files;
mod sessions_nodes;
mod sms;

/// With `autotests = false` Cargo no longer builds every file in this
/// folder on its own, so a file nobody declared above would silently never
/// run: refuse that.
#[test]
fn every_test_file_in_the_folder_is_a_module_of_this_binary() {
    mpaka_tests::assert_every_test_file_is_declared(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
    );
}
