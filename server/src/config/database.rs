//! What may be said about a database URL in logs and reports: its kind and
//! where it is (host and port, or the SQLite file), never user or password.

use std::fmt;

/// A database URL without its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSummary {
    /// `sqlite`, `postgres` or `unsupported`.
    pub kind: &'static str,
    /// `host:port/dbname` for PostgreSQL, the file for SQLite.
    pub location: String,
}

impl DatabaseSummary {
    /// Summarises `url` (which may hold a password).
    pub fn of(url: &str) -> DatabaseSummary {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            return DatabaseSummary {
                kind: "sqlite",
                location: path.split('?').next().unwrap_or(path).to_owned(),
            };
        }
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let location = match url::Url::parse(url) {
                Ok(parsed) => format!(
                    "{}:{}{}",
                    parsed
                        .host_str()
                        .filter(|h| !h.is_empty())
                        .unwrap_or("localhost"),
                    parsed.port().unwrap_or(5432),
                    parsed.path()
                ),
                Err(_) => "(unparsable URL)".into(),
            };
            return DatabaseSummary {
                kind: "postgres",
                location,
            };
        }
        DatabaseSummary {
            kind: "unsupported",
            location: url
                .split_once("://")
                .map(|(scheme, _)| format!("{scheme}://…"))
                .unwrap_or_else(|| "(no scheme)".into()),
        }
    }

    /// `host:port` of a PostgreSQL URL, for error messages.
    pub fn host_port(&self) -> &str {
        self.location.split('/').next().unwrap_or(&self.location)
    }
}

impl fmt::Display for DatabaseSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            "sqlite" => write!(f, "sqlite://{}", self.location),
            "postgres" => write!(f, "postgres://{} (credentials hidden)", self.location),
            _ => write!(f, "unsupported {}", self.location),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_appear() {
        let s = DatabaseSummary::of("postgres://mpaka:hunter2@db.example:6432/hub?sslmode=require");
        assert_eq!(
            (s.kind, s.location.as_str()),
            ("postgres", "db.example:6432/hub")
        );
        assert!(!s.to_string().contains("hunter2"));
        assert_eq!(s.host_port(), "db.example:6432");
        let s = DatabaseSummary::of("sqlite:///var/lib/mpaka/mpaka.db?mode=rwc");
        assert_eq!(s.to_string(), "sqlite:///var/lib/mpaka/mpaka.db");
    }
}
