//! What this binary is: its version and the git commit it was built from
//! (see build.rs; "unknown" when neither git nor `GIT_COMMIT` was there).

/// The crate version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The short commit hash, or `unknown`.
pub const COMMIT: &str = env!("BUILD_GIT_COMMIT");

/// `0.1.0 (commit 1a2b3c4d5e6f)`, as `mpaka --version` prints it.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BUILD_GIT_COMMIT"),
    ")"
);
