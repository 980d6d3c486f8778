//! Markdown to HTML for SOP bodies: CommonMark with tables and
//! strikethrough, then sanitized so that nothing an author writes can run in
//! a reader's browser.

use ammonia::Builder;
use pulldown_cmark::{html, Options, Parser};
use std::collections::HashSet;
use std::sync::LazyLock;

/// URL schemes a link or image may use. Relative URLs are kept as written.
/// Everything else (`javascript:`, `data:`, `vbscript:`, `file:`…) is dropped
/// with the attribute that carried it.
const ALLOWED_SCHEMES: [&str; 4] = ["http", "https", "mailto", "tel"];

/// The sanitizer, built once. Ammonia's defaults already keep only a list of
/// harmless tags and attributes (no `script`, `style`, `iframe`, `object`,
/// `svg`, no `on*` handlers, no `style` attributes) and drop the content of
/// `script` and `style`; on top of that the URL schemes are narrowed and every
/// link is marked `noopener noreferrer`.
static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::default();
    builder
        .url_schemes(HashSet::from(ALLOWED_SCHEMES))
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true);
    builder
});

/// Renders an SOP body written in CommonMark (with GitHub-style tables and
/// `~~strikethrough~~`) to HTML that is safe to insert into a page.
///
/// Raw HTML in the source is allowed through the Markdown stage and then
/// cleaned with everything else, so harmless markup (`<br>`, `<sub>`) keeps
/// working while scripts, event handlers and dangerous URLs are removed.
/// Table column alignment is lost, as it is expressed with `style`.
pub fn render_markdown_html(md: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut unsafe_html = String::with_capacity(md.len() + md.len() / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(md, options));
    SANITIZER.clean(&unsafe_html).to_string()
}

#[cfg(test)]
mod tests;
