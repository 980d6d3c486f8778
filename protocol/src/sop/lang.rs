//! The languages SOP content is written in.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A content language, by its ISO 639-1 code.
///
/// The order of the variants is the order languages are listed in (and the
/// key order of maps keyed by language).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// French (`fr`).
    Fr,
    /// English (`en`).
    En,
    /// Swahili (`sw`).
    Sw,
    /// Kirundi (`rn`).
    Rn,
}

impl Lang {
    /// Every language, in listing order.
    pub const ALL: [Lang; 4] = [Lang::Fr, Lang::En, Lang::Sw, Lang::Rn];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
            Lang::Sw => "sw",
            Lang::Rn => "rn",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a known language code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLangError(pub String);

impl fmt::Display for ParseLangError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown language `{}` (expected fr, en, sw or rn)",
            self.0
        )
    }
}

impl std::error::Error for ParseLangError {}

impl FromStr for Lang {
    type Err = ParseLangError;

    /// Accepts exactly the lowercase codes `fr`, `en`, `sw` and `rn`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| ParseLangError(s.chars().take(16).collect()))
    }
}
