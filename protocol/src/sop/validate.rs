//! Checks on what a client submits as an SOP draft, reported field by field.

use super::{Lang, SopAudience, SopDraftInput};
use crate::{FieldCode, FieldError};

/// Largest body in one language, in bytes of UTF-8 (200 KiB).
pub const MAX_BODY_BYTES: usize = 200 * 1024;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest change summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 2_000;
/// Most entries in one audience list.
pub const MAX_AUDIENCE_ENTRIES: usize = 500;

/// Whether `s` is an SOP slug: 3–64 characters of lowercase ASCII letters,
/// digits and single hyphens, starting with a letter and not ending with a
/// hyphen (`minors-reception`).
pub fn is_sop_slug(s: &str) -> bool {
    (3..=64).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether `s` is a post or corridor slug, as in channel names.
fn is_place_slug(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether `s` is a calendar date written `YYYY-MM-DD` (years 1970–9999).
pub fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let (Some(year), Some(month), Some(day)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1970 && (1..=days_in_month).contains(&day)
}

/// Collects field errors in the order the fields are checked.
struct Report(Vec<FieldError>);

impl Report {
    fn add(&mut self, field: impl Into<String>, code: FieldCode, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    fn too_long(&mut self, field: impl Into<String>, max: usize, unit: &str, message: String) {
        self.0.push(
            FieldError::new(field, FieldCode::TooLong, message)
                .with("max", max)
                .with("unit", unit),
        );
    }
}

/// A map key as it may be echoed back in a field path: short and printable.
fn shown(key: &str) -> String {
    key.chars()
        .take(16)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Control characters other than tab and line breaks (NUL in particular,
/// which PostgreSQL refuses in text).
fn has_bad_control(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

pub(super) fn draft_input(input: &SopDraftInput) -> Vec<FieldError> {
    let mut r = Report(Vec::new());

    if !is_sop_slug(&input.slug) {
        r.add(
            "slug",
            FieldCode::NotASlug,
            "must be 3-64 lowercase letters, digits and single hyphens, starting with a letter",
        );
    }

    if input.bodies.is_empty() {
        r.add(
            "bodies",
            FieldCode::Required,
            "at least one language is required",
        );
    }
    for (key, body) in &input.bodies {
        let field = format!("bodies.{}", shown(key));
        if let Err(e) = key.parse::<Lang>() {
            r.add(field, FieldCode::NotALanguage, e.to_string());
            continue;
        }
        if body.trim().is_empty() {
            r.add(field, FieldCode::Required, "must not be empty");
        } else if body.len() > MAX_BODY_BYTES {
            r.too_long(
                field,
                MAX_BODY_BYTES,
                "bytes",
                format!("is {} bytes, more than {MAX_BODY_BYTES}", body.len()),
            );
        } else if has_bad_control(body) {
            r.add(
                field,
                FieldCode::ControlCharacters,
                "must not contain control characters",
            );
        }
        if !input.titles.contains_key(key) {
            r.add(
                format!("titles.{}", shown(key)),
                FieldCode::Required,
                "a title is required for every body",
            );
        }
    }

    for (key, title) in &input.titles {
        let field = format!("titles.{}", shown(key));
        if let Err(e) = key.parse::<Lang>() {
            r.add(field, FieldCode::NotALanguage, e.to_string());
            continue;
        }
        if !input.bodies.contains_key(key) {
            r.0.push(
                FieldError::new(
                    field,
                    FieldCode::Mismatch,
                    "there is no body in this language",
                )
                .with("other", "bodies"),
            );
        } else if title.trim().is_empty() {
            r.add(field, FieldCode::Required, "must not be empty");
        } else if title.chars().count() > MAX_TITLE_CHARS {
            r.too_long(
                field,
                MAX_TITLE_CHARS,
                "characters",
                format!("longer than {MAX_TITLE_CHARS} characters"),
            );
        } else if title.chars().any(char::is_control) {
            r.add(
                field,
                FieldCode::ControlCharacters,
                "must be one line without control characters",
            );
        }
    }

    if input.change_summary.chars().count() > MAX_SUMMARY_CHARS {
        r.too_long(
            "change_summary",
            MAX_SUMMARY_CHARS,
            "characters",
            format!("longer than {MAX_SUMMARY_CHARS} characters"),
        );
    } else if has_bad_control(&input.change_summary) {
        r.add(
            "change_summary",
            FieldCode::ControlCharacters,
            "must not contain control characters",
        );
    }

    if !is_iso_date(&input.effective_date) {
        r.0.push(
            FieldError::new(
                "effective_date",
                FieldCode::NotADate,
                "must be a date written YYYY-MM-DD",
            )
            .with("format", "YYYY-MM-DD"),
        );
    }

    audience(&mut r, input, &input.audience);
    r.0
}

fn audience(r: &mut Report, input: &SopDraftInput, a: &SopAudience) {
    if let Some(owner) = input.owner.country() {
        if a.countries.iter().any(|&c| c != owner) {
            r.0.push(
                FieldError::new(
                    "audience.countries",
                    FieldCode::NotAllowed,
                    format!("an SOP owned by {owner} can only address {owner}"),
                )
                .with("allowed", owner.to_string()),
            );
        }
    }
    check_list(r, "audience.countries", &a.countries, |_| true);
    check_list(r, "audience.roles", &a.roles, |_| true);
    check_list(r, "audience.posts", &a.posts, |s| is_place_slug(s));
    check_list(r, "audience.corridors", &a.corridors, |s| is_place_slug(s));
}

/// Checks one audience list: its length, each entry, then duplicates (only
/// for lists within the length limit, as that check is quadratic).
fn check_list<T: PartialEq>(r: &mut Report, field: &str, list: &[T], valid: impl Fn(&T) -> bool) {
    if list.len() > MAX_AUDIENCE_ENTRIES {
        r.too_long(
            field,
            MAX_AUDIENCE_ENTRIES,
            "entries",
            format!("more than {MAX_AUDIENCE_ENTRIES} entries"),
        );
        return;
    }
    for (i, item) in list.iter().enumerate() {
        if !valid(item) {
            r.add(
                format!("{field}[{i}]"),
                FieldCode::NotASlug,
                "must be 1-64 lowercase letters, digits and hyphens",
            );
        }
    }
    if has_duplicates(list) {
        r.add(field, FieldCode::ListedTwice, "lists the same entry twice");
    }
}

fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, x)| items[..i].contains(x))
}
