//! The `MPAKA_…` environment, read strictly: every variable with the
//! prefix names a setting (`MPAKA_WS__HEARTBEAT_SECS`), a flag the command
//! line reads from the environment (`MPAKA_CONFIG`, `MPAKA_SERVER`,
//! `MPAKA_USER`) or one of the project's own tools (tests, benchmark).
//! Anything else is a mistake (`MPAKA_DATABSE_URL` would silently leave the
//! hub on SQLite with a fresh key), so loading fails and names the closest
//! known variable.

use super::Settings;
use std::collections::BTreeSet;
use std::fmt;

/// The prefix of every variable the hub reads.
pub const PREFIX: &str = "MPAKA_";

/// Flags the command line also reads from the environment.
pub const FLAG_VARIABLES: &[&str] = &["MPAKA_CONFIG", "MPAKA_SERVER", "MPAKA_USER"];

/// Variables of the project's tools (test harness, benchmark), never read
/// by the hub but often set in the same shell; `MPAKA_TEST_…` too.
pub const TOOL_VARIABLES: &[&str] = &[
    "MPAKA_BIN",
    "MPAKA_CHROMIUM",
    "MPAKA_CHROMEDRIVER",
    "MPAKA_SCREENSHOTS",
    "MPAKA_FAULT_CYCLES",
];
const TOOL_PREFIX: &str = "MPAKA_TEST_";

/// An `MPAKA_…` variable that is none of the above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariable {
    pub name: String,
    /// The closest known variable, when one is close.
    pub suggestion: Option<String>,
}

impl fmt::Display for UnknownVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown environment variable {}", self.name)?;
        match &self.suggestion {
            Some(s) => write!(f, " (did you mean {s}?)"),
            None => write!(
                f,
                " (settings are MPAKA_<KEY> or MPAKA_<SECTION>__<KEY>; `mpaka config check` lists them)"
            ),
        }
    }
}

/// Dotted keys of every setting (`ws.heartbeat_secs`), in file order.
pub fn setting_keys() -> Vec<String> {
    let defaults = serde_json::to_value(Settings::default()).expect("settings serialise");
    let mut keys = Vec::new();
    flatten(&defaults, "", &mut keys);
    keys
}

fn flatten(value: &serde_json::Value, prefix: &str, keys: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (name, inner) in map {
                let key = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(inner, &key, keys);
            }
        }
        _ => keys.push(prefix.to_owned()),
    }
}

/// The variable that sets a dotted key: `ws.heartbeat_secs` →
/// `MPAKA_WS__HEARTBEAT_SECS`.
pub fn variable_of(key: &str) -> String {
    format!("{PREFIX}{}", key.replace('.', "__").to_ascii_uppercase())
}

/// Names of every variable that sets a setting.
pub fn setting_variables() -> BTreeSet<String> {
    setting_keys().iter().map(|k| variable_of(k)).collect()
}

/// Whether `name` (any case) sets a setting.
pub fn is_setting_variable(name: &str) -> bool {
    setting_variables().contains(&name.to_ascii_uppercase())
}

/// The `MPAKA_…` variables among `names` that nothing reads.
pub fn unknown_variables(names: impl IntoIterator<Item = String>) -> Vec<UnknownVariable> {
    let settings = setting_variables();
    let known: Vec<&str> = settings
        .iter()
        .map(String::as_str)
        .chain(FLAG_VARIABLES.iter().copied())
        .collect();
    let mut unknown: Vec<UnknownVariable> = names
        .into_iter()
        .filter(|name| {
            let upper = name.to_ascii_uppercase();
            upper.starts_with(PREFIX)
                && !known.contains(&upper.as_str())
                && !TOOL_VARIABLES.contains(&upper.as_str())
                && !upper.starts_with(TOOL_PREFIX)
        })
        .map(|name| UnknownVariable {
            suggestion: closest(&name.to_ascii_uppercase(), &known),
            name,
        })
        .collect();
    unknown.sort_by(|a, b| a.name.cmp(&b.name));
    unknown
}

/// The unknown `MPAKA_…` variables of this process's environment.
pub fn unknown_in_environment() -> Vec<UnknownVariable> {
    unknown_variables(std::env::vars_os().map(|(name, _)| name.to_string_lossy().into_owned()))
}

/// The known name nearest to `name` by edit distance (transpositions count
/// once), if it is near enough to be a typo rather than another name.
fn closest(name: &str, known: &[&str]) -> Option<String> {
    let rest = name.trim_start_matches(PREFIX);
    known
        .iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(rest, k.trim_start_matches(PREFIX)),
                k,
            )
        })
        .filter(|(distance, k)| *distance <= 3.max(k.len() / 6))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| (*k).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(names: &[&str]) -> Vec<UnknownVariable> {
        unknown_variables(names.iter().map(|n| (*n).to_owned()))
    }

    #[test]
    fn a_misspelt_variable_is_unknown_and_the_right_one_is_suggested() {
        for (typo, meant) in [
            ("MPAKA_DATABSE_URL", "MPAKA_DATABASE_URL"),
            ("MPAKA_JWT_SECRETS", "MPAKA_JWT_SECRET"),
            ("MPAKA_WS_HEARTBEAT_SECS", "MPAKA_WS__HEARTBEAT_SECS"),
            ("MPAKA_NODEID", "MPAKA_NODE_ID"),
        ] {
            let found = unknown(&[typo]);
            assert_eq!(found.len(), 1, "{typo}");
            assert_eq!(found[0].suggestion.as_deref(), Some(meant), "{typo}");
            assert!(found[0].to_string().contains(meant));
        }
    }

    #[test]
    fn settings_flags_tools_and_other_prefixes_are_known() {
        assert!(unknown(&[
            "MPAKA_DATABASE_URL",
            "MPAKA_WS__HEARTBEAT_SECS",
            "MPAKA_ALERTS__CAP_SENDER",
            "MPAKA_CONFIG",
            "MPAKA_USER",
            "MPAKA_BIN",
            "MPAKA_TEST_POSTGRES_URL",
            "PATH",
            "MPAKAX",
        ])
        .is_empty());
    }

    #[test]
    fn a_name_far_from_every_key_gets_no_guess() {
        let found = unknown(&["MPAKA_SOMETHING_ELSE_ENTIRELY"]);
        assert_eq!(found[0].suggestion, None);
    }
}
