//! `mpaka config check`: the effective configuration, one line per key,
//! with where each value came from (default, file, environment, flag) and
//! secrets redacted, plus every problem found (unknown variables, bad
//! values, checks that would stop the hub at start).

use super::{env, Settings};
use figment::providers::{Format, Toml};
use figment::Figment;
use std::fmt;
use std::path::{Path, PathBuf};

/// Keys whose values are never shown.
pub const SECRET_KEYS: &[&str] = &[
    "jwt_secret",
    "jwt_verify_secrets",
    "auth.metrics_token",
    "sms.password",
    "sms.callback_secret",
];

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Flag(name) => write!(f, "flag {name}"),
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    /// As written in TOML, or `[redacted]`.
    pub value: String,
    pub source: Source,
}

/// The effective configuration and what is wrong with it.
#[derive(Debug, Default)]
pub struct Report {
    pub entries: Vec<Entry>,
    pub problems: Vec<String>,
}

impl Report {
    /// Builds the report for `config_file` and the environment, with the
    /// flags already applied to `apply` (named in `flags` by dotted key).
    /// `Settings` are returned when they load.
    pub fn build(
        config_file: Option<&Path>,
        flags: &[(&str, &str)],
        apply: impl FnOnce(&mut Settings),
    ) -> (Report, Option<Settings>) {
        let mut report = Report::default();
        for unknown in env::unknown_in_environment() {
            report.problems.push(unknown.to_string());
        }
        let settings = Settings::figment(config_file)
            .and_then(|figment| figment.extract::<Settings>().map_err(Box::new));
        let mut settings = match settings {
            Ok(settings) => settings,
            Err(error) => {
                report.problems.push(error.to_string());
                return (report, None);
            }
        };
        apply(&mut settings);
        let file = config_file.map(|path| (path, Figment::from(Toml::file(path))));
        let values = serde_json::to_value(&settings).expect("settings serialise");
        for key in env::setting_keys() {
            let variable = env::variable_of(&key);
            let source = if let Some((_, flag)) = flags.iter().find(|(k, _)| *k == key) {
                Source::Flag((*flag).to_owned())
            } else if std::env::var_os(&variable).is_some() {
                Source::Env(variable)
            } else if let Some((path, _)) = file.as_ref().filter(|(_, f)| f.contains(&key)) {
                Source::File(path.to_path_buf())
            } else {
                Source::Default
            };
            let value = lookup(&values, &key);
            let shown = if SECRET_KEYS.contains(&key.as_str()) {
                redact(value)
            } else if key == "database_url" {
                match value.as_str() {
                    Some(url) => super::DatabaseSummary::of(url).to_string(),
                    None => format!("(unset: {})", settings.database_url()),
                }
            } else {
                toml_value(value)
            };
            report.entries.push(Entry {
                key,
                value: shown,
                source,
            });
        }
        report.problems.extend(settings.problems());
        (report, Some(settings))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.entries.iter().map(|e| e.key.len()).max().unwrap_or(0);
        let values = self
            .entries
            .iter()
            .map(|e| e.value.chars().count())
            .filter(|n| *n <= 40)
            .max()
            .unwrap_or(0);
        for entry in &self.entries {
            writeln!(
                f,
                "{:<width$}  {:<values$}  # {}",
                entry.key, entry.value, entry.source
            )?;
        }
        if self.problems.is_empty() {
            writeln!(f, "configuration OK")
        } else {
            for problem in &self.problems {
                writeln!(f, "problem: {problem}")?;
            }
            Ok(())
        }
    }
}

fn lookup<'a>(value: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    key.split('.')
        .try_fold(value, |v, part| v.get(part))
        .unwrap_or(&serde_json::Value::Null)
}

fn redact(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "(unset)".into(),
        serde_json::Value::Array(items) if items.is_empty() => "[]".into(),
        serde_json::Value::Array(items) => format!("[{} redacted]", items.len()),
        _ => "[redacted]".into(),
    }
}

fn toml_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "(unset)".into(),
        other => other.to_string(),
    }
}
