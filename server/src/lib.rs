//! The mpaka hub as a library: `App::build` binds and prepares everything,
//! `App::run` serves until its shutdown future resolves. The `mpaka` binary
//! (`main.rs`) only parses the command line and calls into this crate.

pub mod config;
pub mod sops;
