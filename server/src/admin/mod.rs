//! Administration: users, posts and corridors (the `steps` behind both the
//! CLI, `mpaka user …` / `mpaka post …`, and the admin REST routes in
//! `http`), and the audit trail's REST view for auditors.

pub mod http;
pub mod steps;

pub use steps::*;
