//! SOP library: versioned, multilingual standard operating procedures,
//! published live to their audience, acknowledged per version, with read
//! coverage, reminders, history and diffs.
//!
//! The pure parts — Markdown rendering to safe HTML (`render`), line diffs
//! (`diff`), the choice of language (`lang`) and coverage (`coverage`) — sit
//! beside the hub-facing ones: storage (`store`), permissions (`policy`),
//! the write steps (`steps`, idempotent through `once`), the reads
//! (`queries`), and the socket (`socket`) and REST (`http`) interfaces.

pub mod coverage;
pub mod diff;
pub mod http;
pub mod lang;
pub mod policy;
pub mod queries;
pub mod render;
pub mod socket;
pub mod steps;
pub mod store;

pub use coverage::coverage;
pub use diff::{line_diff, unified};
pub use lang::{pick_language, DEFAULT_FALLBACK};
pub use render::render_markdown_html;
