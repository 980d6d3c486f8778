//! mpaka's end-to-end tests, linked into one test binary: each file in
//! this folder is a module here (`cargo test -p mpaka-tests --test main
//! alerts::` runs one file's tests).
//!
//! Why one binary: every test file used to be its own executable, each
//! linking the whole hub, so linking dominated `cargo test`. The files stay
//! where they were (tests/Cargo.toml sets `autotests = false` and names
//! this file as the only test target), which keeps their history and lets
//! parallel edits merge. A new test file needs one `mod` line below; the
//! test at the end fails when it is missing.

mod access_matrix;
mod alerts;
mod audit_client;
mod auth;
mod client;
mod client_author;
mod connection_limits;
mod console;
mod console_a11y;
mod console_account;
mod console_audience;
mod console_field_errors;
mod console_i18n;
mod console_install;
mod console_phone;
mod console_tabs;
mod console_written_at;
mod data_tools;
mod deploy_monitoring;
mod epoch;
mod faults;
mod flows;
mod flows_console;
mod hardening;
mod hub_backends;
mod key_rotation;
mod login_flood;
mod login_throttle;
mod messaging;
mod metrics;
mod openapi;
mod passwords;
mod protocol_docs;
mod refresh_cookie;
mod retention;
mod robustness;
mod second_factor;
mod sessions;
mod sms_store;
mod sops;
mod storage;
mod verifiable_log;
mod verifiable_log_console;
mod verifiable_log_hub;
mod wire;

/// With `autotests = false` Cargo no longer builds every file in this
/// folder on its own, so a file nobody declared above would silently never
/// run: refuse that.
#[test]
fn every_test_file_in_the_folder_is_a_module_of_this_binary() {
    mpaka_tests::assert_every_test_file_is_declared(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
    );
}
