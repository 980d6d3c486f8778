//! Field-level validation of alert requests, and JSON parsing that names the
//! field a parse error is about.
//!
//! Validation collects every problem at once, each with a dotted path
//! (`headcount.low`, `vulnerable.elderly`, `text.lang`, `needs[2]`), so the
//! server can answer one `validation_failed` listing them all.

use super::{AlertDraft, AlertPatch, Headcount, LocalizedText, Location, Need, VulnerableGroups};
use crate::{FieldCode, FieldError};
use serde::de::DeserializeOwned;

/// Longest accepted free text, in characters (not bytes).
pub const MAX_TEXT_CHARS: usize = 8_000;

/// Largest accepted headcount or group count. Far above any real crossing;
/// it keeps sums from overflowing.
pub const MAX_HEADCOUNT: i64 = 10_000_000;

/// Collects field errors.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, code: FieldCode, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    fn count(&mut self, field: &str, n: i64) {
        if n < 0 {
            self.0.push(
                FieldError::new(
                    field,
                    FieldCode::MustNotBeNegative,
                    format!("must not be negative (got {n})"),
                )
                .with("got", n),
            );
        } else if n > MAX_HEADCOUNT {
            self.0.push(
                FieldError::new(
                    field,
                    FieldCode::TooLarge,
                    format!("must be at most {MAX_HEADCOUNT} (got {n})"),
                )
                .with("max", MAX_HEADCOUNT)
                .with("got", n),
            );
        }
    }

    fn headcount(&mut self, h: &Headcount) {
        match *h {
            Headcount::Single(n) => self.count("headcount", n),
            Headcount::Range { low, high } => {
                self.count("headcount.low", low);
                self.count("headcount.high", high);
                if low > high {
                    self.0.push(
                        FieldError::new(
                            "headcount.low",
                            FieldCode::LowAboveHigh,
                            format!("must not exceed headcount.high ({low} > {high})"),
                        )
                        .with("low", low)
                        .with("high", high),
                    );
                }
            }
        }
    }

    fn vulnerable(&mut self, v: &VulnerableGroups) {
        for (group, count) in v.counts() {
            if let Some(n) = count {
                self.count(&format!("vulnerable.{group}"), n);
            }
        }
    }

    fn needs(&mut self, needs: &[Need]) {
        for (i, need) in needs.iter().enumerate() {
            if needs[..i].contains(need) {
                self.add(
                    format!("needs[{i}]"),
                    FieldCode::ListedTwice,
                    format!("`{need}` is listed twice"),
                );
            }
        }
    }

    fn location(&mut self, l: &Location) {
        if !(l.lat.is_finite() && (-90.0..=90.0).contains(&l.lat)) {
            self.0.push(
                FieldError::new(
                    "location.lat",
                    FieldCode::OutOfRange,
                    "must be between -90 and 90",
                )
                .with("min", -90)
                .with("max", 90),
            );
        }
        if !(l.lon.is_finite() && (-180.0..=180.0).contains(&l.lon)) {
            self.0.push(
                FieldError::new(
                    "location.lon",
                    FieldCode::OutOfRange,
                    "must be between -180 and 180",
                )
                .with("min", -180)
                .with("max", 180),
            );
        }
    }

    fn text(&mut self, t: &LocalizedText) {
        if t.text.trim().is_empty() {
            self.add("text.text", FieldCode::Required, "must not be empty");
        } else if t.text.chars().count() > MAX_TEXT_CHARS {
            self.0.push(
                FieldError::new(
                    "text.text",
                    FieldCode::TooLong,
                    format!("must be at most {MAX_TEXT_CHARS} characters"),
                )
                .with("max", MAX_TEXT_CHARS)
                .with("unit", "characters"),
            );
        }
        if t.text.chars().any(is_forbidden_char) {
            self.add(
                "text.text",
                FieldCode::ControlCharacters,
                "must not contain control characters other than tab and line breaks",
            );
        }
        if !is_language_tag(&t.lang) {
            self.add(
                "text.lang",
                FieldCode::NotALanguage,
                "must be a BCP 47 language tag such as fr, en, sw, rn or fr-BI",
            );
        }
    }
}

/// Characters that have no place in human text and that XML 1.0 cannot carry.
fn is_forbidden_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// True for BCP 47-looking tags: a 2–3 letter primary language subtag
/// (`fr`, `en`, `sw`, `rn`, `kin`) then subtags of 1–8 letters or digits
/// (`fr-BI`, `sw-TZ`, `zh-Hant-TW`); at most 35 characters. Made-up words
/// such as `french` or `fr_BI` are refused.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && tag.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl AlertDraft {
    /// Every problem with this draft; empty when it is valid. Unknown enum
    /// values never get here: they fail deserialization (see [`from_json_named`]).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut p = Problems::default();
        if let Some(post) = &self.post {
            if !crate::channel::is_slug(post) {
                p.add(
                    "post",
                    FieldCode::NotASlug,
                    "must be a post slug: 1-64 lowercase letters, digits or hyphens",
                );
            }
        }
        p.headcount(&self.headcount);
        p.vulnerable(&self.vulnerable);
        p.needs(&self.needs);
        if let Some(l) = &self.location {
            p.location(l);
        }
        if let Some(t) = &self.text {
            p.text(t);
        }
        p.0
    }
}

impl AlertPatch {
    /// Every problem with this patch; empty when it is valid. An empty
    /// patch is valid here; see [`AlertPatch::is_empty`].
    pub fn validate(&self) -> Vec<FieldError> {
        let mut p = Problems::default();
        if let Some(h) = &self.headcount {
            p.headcount(h);
        }
        if let Some(v) = &self.vulnerable {
            p.vulnerable(v);
        }
        if let Some(n) = &self.needs {
            p.needs(n);
        }
        if let Some(t) = &self.text {
            p.text(t);
        }
        p.0
    }
}

/// Parses JSON into `T`; on failure the error names the field at fault
/// (`kind`, `headcount`, `vulnerable.elderly`, or `body` when the document
/// itself is broken), ready for a `validation_failed` answer.
///
/// # Errors
/// A [`FieldError`] when the JSON is malformed or does not fit `T`.
pub fn from_json_named<T: DeserializeOwned>(json: &str) -> Result<T, FieldError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| FieldError::new("body", FieldCode::Invalid, e.to_string()))?;
    from_value_named(value)
}

/// Like [`from_json_named`], from an already parsed JSON value (for example
/// the `body` of a frame).
///
/// # Errors
/// A [`FieldError`] when the value does not fit `T`.
pub fn from_value_named<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(&value).map_err(|e| path_error(e, &value))
}

fn path_error(
    e: serde_path_to_error::Error<serde_json::Error>,
    root: &serde_json::Value,
) -> FieldError {
    let path = e.path().to_string();
    // `.` is the root and `?` a key that could not be read: the document
    // itself is at fault.
    let field = if path == "." || path == "?" {
        "body".to_owned()
    } else {
        path
    };
    let message = e.into_inner().to_string();
    let code = if field == "body" {
        FieldCode::WrongType
    } else if message.starts_with("missing field") {
        FieldCode::Required
    } else if matches!(at_path(root, &field), None | Some(serde_json::Value::Null)) {
        // Absent or null where a value is needed (an empty form field).
        FieldCode::Required
    } else if message.starts_with("unknown variant") {
        FieldCode::UnknownValue
    } else if message.starts_with("invalid type") || message.contains("did not match any variant") {
        FieldCode::WrongType
    } else {
        FieldCode::Invalid
    };
    FieldError::new(field, code, message)
}

/// The value at a `serde_path_to_error` path (`headcount.low`, `needs[2]`).
fn at_path<'a>(root: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut here = root;
    for part in path.split('.') {
        let (key, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            here = here.get(key)?;
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            here = here.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(here)
}
