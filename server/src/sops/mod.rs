//! SOP library: the pure parts the hub's SOP handlers build on — Markdown
//! rendering to safe HTML, line diffs between versions, the choice of
//! language for a reader, and read coverage of an audience.

pub mod coverage;
pub mod diff;
pub mod lang;
pub mod render;

pub use coverage::coverage;
pub use diff::{line_diff, unified};
pub use lang::{pick_language, DEFAULT_FALLBACK};
pub use render::render_markdown_html;
