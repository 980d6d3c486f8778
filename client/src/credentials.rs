//! The demo credentials file, `{data_dir}/demo-credentials.tsv`: written
//! once by `mpaka serve --demo` (mode 0600) and read by the test harnesses
//! and the benchmark to log the demo users in.
//!
//! Format: a header line `username⇥password⇥role⇥country⇥post`, then one
//! tab-separated line per account; `country` and `post` are empty when the
//! account has none. Usernames and passwords never contain tabs or newlines
//! (the hub's account rules forbid them).

use crate::CredentialsError;
use mpaka_protocol::{Country, Role};
use std::path::Path;

/// Name of the credentials file in a hub's data directory.
pub const CREDENTIALS_FILE: &str = "demo-credentials.tsv";

const HEADER: &str = "username\tpassword\trole\tcountry\tpost";
const COLUMNS: usize = 5;

/// One demo account. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DemoAccount {
    /// Login name, e.g. `mugina.officer`.
    pub username: String,
    /// The account's password, in clear.
    pub password: String,
    /// The account's role.
    pub role: Role,
    /// The account's country; `None` for partner organisations.
    pub country: Option<Country>,
    /// The officer's post slug; `None` for other roles.
    pub post: Option<String>,
}

impl std::fmt::Debug for DemoAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoAccount")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("country", &self.country)
            .field("post", &self.post)
            .finish_non_exhaustive()
    }
}

/// The accounts of a demo credentials file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoCredentials {
    accounts: Vec<DemoAccount>,
}

impl DemoCredentials {
    /// Credentials holding `accounts` (for writing the file).
    pub fn new(accounts: Vec<DemoAccount>) -> Self {
        DemoCredentials { accounts }
    }

    /// Reads `{data_dir}/demo-credentials.tsv`.
    ///
    /// # Errors
    /// The file is missing or unreadable, or not in the format above.
    pub fn from_data_dir(data_dir: &Path) -> Result<Self, CredentialsError> {
        Self::read(&data_dir.join(CREDENTIALS_FILE))
    }

    /// Reads a credentials file at `path`.
    ///
    /// # Errors
    /// The file is missing or unreadable, or not in the format above.
    pub fn read(path: &Path) -> Result<Self, CredentialsError> {
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses the text of a credentials file. Blank lines are ignored.
    ///
    /// # Errors
    /// A missing or different header, a line without exactly five columns,
    /// an empty username or password, an unknown role or country, or the
    /// same username twice. The error names the line, never its content.
    pub fn parse(text: &str) -> Result<Self, CredentialsError> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, header)) if header.trim_end_matches('\r') == HEADER => {}
            _ => return Err(CredentialsError::Header { expected: HEADER }),
        }
        let mut accounts: Vec<DemoAccount> = Vec::new();
        for (index, line) in lines {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| CredentialsError::Line {
                line: index + 1,
                reason,
            };
            let cols: Vec<&str> = line.split('\t').collect();
            let [username, password, role, country, post] = cols[..] else {
                return Err(bad(format!(
                    "expected {COLUMNS} tab-separated columns, found {}",
                    cols.len()
                )));
            };
            if username.is_empty() || password.is_empty() {
                return Err(bad("empty username or password".into()));
            }
            if accounts.iter().any(|a| a.username == username) {
                return Err(bad(format!("{username} appears twice")));
            }
            let role: Role = role.parse().map_err(|e| bad(format!("role: {e}")))?;
            let country = match country {
                "" => None,
                c => Some(c.parse().map_err(|e| bad(format!("country: {e}")))?),
            };
            accounts.push(DemoAccount {
                username: username.to_owned(),
                password: password.to_owned(),
                role,
                country,
                post: (!post.is_empty()).then(|| post.to_owned()),
            });
        }
        Ok(DemoCredentials { accounts })
    }

    /// The file's text, as [`DemoCredentials::parse`] reads it.
    pub fn to_tsv(&self) -> String {
        let mut text = format!("{HEADER}\n");
        for a in &self.accounts {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                a.username,
                a.password,
                a.role,
                a.country.map(|c| c.to_string()).unwrap_or_default(),
                a.post.as_deref().unwrap_or_default()
            ));
        }
        text
    }

    /// The accounts, in file order.
    pub fn accounts(&self) -> &[DemoAccount] {
        &self.accounts
    }

    /// The account called `username`.
    pub fn account(&self, username: &str) -> Option<&DemoAccount> {
        self.accounts.iter().find(|a| a.username == username)
    }

    /// The password of `username`.
    pub fn password(&self, username: &str) -> Option<&str> {
        self.account(username).map(|a| a.password.as_str())
    }

    /// Every username, in file order.
    pub fn usernames(&self) -> impl Iterator<Item = &str> {
        self.accounts.iter().map(|a| a.username.as_str())
    }
}

impl IntoIterator for DemoCredentials {
    type Item = DemoAccount;
    type IntoIter = std::vec::IntoIter<DemoAccount>;
    fn into_iter(self) -> Self::IntoIter {
        self.accounts.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "username\tpassword\trole\tcountry\tpost\n\
        mugina.officer\tpw-one\tofficer\tBI\tmugina\n\
        bi.coordinator\tpw-two\tcoordinator\tBI\t\n\
        unhcr.observer\tpw-three\tobserver\t\t\n";

    #[test]
    fn a_file_written_by_the_demo_reads_back_account_by_account() {
        let creds = DemoCredentials::parse(SAMPLE).unwrap();
        assert_eq!(
            creds.usernames().collect::<Vec<_>>(),
            ["mugina.officer", "bi.coordinator", "unhcr.observer"]
        );
        let officer = creds.account("mugina.officer").unwrap();
        assert_eq!(officer.password, "pw-one");
        assert_eq!(officer.role, Role::Officer);
        assert_eq!(officer.country, Some(Country::BI));
        assert_eq!(officer.post.as_deref(), Some("mugina"));
        let observer = creds.account("unhcr.observer").unwrap();
        assert_eq!((observer.country, observer.post.as_deref()), (None, None));
        assert_eq!(creds.password("bi.coordinator"), Some("pw-two"));
        assert_eq!(creds.password("nobody"), None);
    }

    #[test]
    fn writing_and_parsing_round_trip() {
        let creds = DemoCredentials::parse(SAMPLE).unwrap();
        assert_eq!(creds.to_tsv(), SAMPLE);
        assert_eq!(DemoCredentials::parse(&creds.to_tsv()).unwrap(), creds);
    }

    #[test]
    fn crlf_line_ends_and_blank_lines_are_tolerated() {
        let text = SAMPLE.replace('\n', "\r\n") + "\r\n";
        assert_eq!(
            DemoCredentials::parse(&text).unwrap(),
            DemoCredentials::parse(SAMPLE).unwrap()
        );
    }

    #[test]
    fn a_file_without_the_header_is_refused() {
        let without = SAMPLE.split_once('\n').unwrap().1;
        assert!(matches!(
            DemoCredentials::parse(without),
            Err(CredentialsError::Header { .. })
        ));
        assert!(matches!(
            DemoCredentials::parse(""),
            Err(CredentialsError::Header { .. })
        ));
    }

    #[test]
    fn a_bad_line_is_named_by_number_without_its_password() {
        for (line, expect) in [
            ("x.officer\tsecret-pw\tofficer\tBI", "columns"),
            ("x.officer\tsecret-pw\tchief\tBI\t", "role"),
            ("x.officer\tsecret-pw\tofficer\tKE-X\t", "country"),
            ("x.officer\t\tofficer\tBI\t", "empty"),
            ("mugina.officer\tsecret-pw\tofficer\tBI\tmugina", "twice"),
        ] {
            let text = format!("{SAMPLE}{line}\n");
            let error = DemoCredentials::parse(&text).unwrap_err();
            let CredentialsError::Line { line: number, .. } = &error else {
                panic!("{line}: {error:?}");
            };
            assert_eq!(*number, 5, "{line}");
            let shown = error.to_string();
            assert!(shown.contains(expect), "{line}: {shown}");
            assert!(!shown.contains("secret-pw"), "password leaked: {shown}");
        }
    }

    #[test]
    fn debug_output_hides_passwords() {
        let creds = DemoCredentials::parse(SAMPLE).unwrap();
        let shown = format!("{creds:?}");
        assert!(shown.contains("mugina.officer"));
        assert!(!shown.contains("pw-one"), "{shown}");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let error = DemoCredentials::from_data_dir(dir.path()).unwrap_err();
        assert!(error.to_string().contains(CREDENTIALS_FILE), "{error}");
    }
}
