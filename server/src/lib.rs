//! The mpaka hub as a library: `App::build` binds and prepares everything,
//! `App::run` serves until its shutdown future resolves. The `mpaka` binary
//! (`main.rs`) only parses the command line and calls into this crate.

pub mod access;
pub mod admin;
pub mod alerts;
pub mod app;
pub mod auth;
pub mod build_info;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod demo;
pub mod error;
pub mod federation;
pub mod files;
pub mod flows;
pub mod http;
pub mod hub;
pub mod limits;
pub mod logins;
pub mod messaging;
pub mod metrics;
pub mod once;
pub mod private_files;
pub mod retention;
pub mod sessions;
pub mod sms;
pub mod sops;
pub mod state;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod vlog;
pub mod written;
pub mod ws;

pub use app::App;
pub use config::Settings;
pub use state::AppState;

#[cfg(test)]
mod import_graph;
