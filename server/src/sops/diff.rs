//! Line-level differences between two versions of an SOP body, as
//! structured lines for the client and as unified-diff text.

use mpaka_protocol::{DiffLine, DiffOp};
use similar::{Algorithm, ChangeTag, TextDiff};
use std::borrow::Cow;
use std::time::Duration;

/// Upper bound on the time spent looking for the smallest diff; past it the
/// diff is still correct, only possibly longer than necessary.
const DIFF_TIMEOUT: Duration = Duration::from_millis(500);

/// Unchanged lines shown around each change in [`unified`].
pub const UNIFIED_CONTEXT: usize = 3;

/// Makes two texts comparable line by line: `\r\n` and lone `\r` become
/// `\n`, and a missing final newline is added, so neither line endings nor
/// the last line's terminator show up as changes.
fn normalize(text: &str) -> Cow<'_, str> {
    if !text.contains('\r') && (text.is_empty() || text.ends_with('\n')) {
        return Cow::Borrowed(text);
    }
    let mut out = text.replace("\r\n", "\n").replace('\r', "\n");
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    Cow::Owned(out)
}

fn text_diff<'a>(old: &'a str, new: &'a str) -> TextDiff<'a, 'a, str> {
    TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new)
}

fn line_number(index: Option<usize>) -> Option<u32> {
    index.map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX))
}

/// Every line of `old` and `new` in diff order: unchanged lines with both
/// line numbers, deleted lines with their old number, inserted lines with
/// their new number (1-based). A changed line is a delete followed by an
/// insert. Line-ending differences are ignored (see `normalize`).
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let (old, new) = (normalize(old), normalize(new));
    let diff = text_diff(&old, &new);
    diff.iter_all_changes()
        .map(|change| DiffLine {
            op: match change.tag() {
                ChangeTag::Equal => DiffOp::Equal,
                ChangeTag::Insert => DiffOp::Insert,
                ChangeTag::Delete => DiffOp::Delete,
            },
            old_line: line_number(change.old_index()),
            new_line: line_number(change.new_index()),
            text: change.value().trim_end_matches('\n').to_string(),
        })
        .collect()
}

/// A unified diff (as `diff -u` writes it) from `old` to `new`, with
/// [`UNIFIED_CONTEXT`] lines of context and `old_label` / `new_label` in the
/// `---` / `+++` header, e.g. `minors-reception@2/fr`. Empty when the texts
/// have the same lines.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    let (old, new) = (normalize(old), normalize(new));
    let diff = text_diff(&old, &new);
    if diff
        .ops()
        .iter()
        .all(|op| op.tag() == similar::DiffTag::Equal)
    {
        return String::new();
    }
    diff.unified_diff()
        .context_radius(UNIFIED_CONTEXT)
        .header(old_label, new_label)
        .to_string()
}

#[cfg(test)]
mod tests;
