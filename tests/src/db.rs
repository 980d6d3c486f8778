//! Databases for tests: a temporary SQLite file, or a freshly created
//! PostgreSQL database on the test server, dropped when the test ends.
//!
//! PostgreSQL is found at `MPAKA_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`, trust auth). When it is not
//! reachable a test prints `SKIPPED (PostgreSQL not reachable at …)` and
//! passes, except under `CI=true`, where that is a failure.

use sqlx::{Connection, Executor, PgConnection};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The administrative database used to create and drop test databases.
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Which database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server URL tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("MPAKA_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned())
}

/// A database for one test; dropped (PostgreSQL) or deleted (SQLite) with it.
pub struct TestDb {
    pub backend: Backend,
    /// The URL to give the hub (`Settings::database_url`).
    pub url: String,
    /// The PostgreSQL database name, to drop at the end.
    pg_name: Option<String>,
    _temp: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh, empty database; `None` (after printing why) when the test
    /// must be skipped because PostgreSQL is not reachable.
    ///
    /// # Panics
    /// PostgreSQL is not reachable and `CI=true`, or it refuses to create
    /// a database.
    pub async fn fresh(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let temp = tempfile::tempdir().expect("temp dir");
                let path: PathBuf = temp.path().join("mpaka.db");
                Some(TestDb {
                    backend,
                    url: format!("sqlite://{}", path.display()),
                    pg_name: None,
                    _temp: Some(temp),
                })
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = admin_connection(&admin).await?;
                static NEXT: AtomicU64 = AtomicU64::new(0);
                let name = format!(
                    "mpaka_test_{}_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed),
                    rand_suffix()
                );
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
                let _ = conn.close().await;
                Some(TestDb {
                    backend,
                    url: replace_database(&admin, &name),
                    pg_name: Some(name),
                    _temp: None,
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = postgres_admin_url();
        // Drop runs inside the test's runtime: use a thread of our own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&admin).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop a test database");
        }
    }
}

/// Connects to the administrative database, or decides the test is skipped.
async fn admin_connection(admin: &str) -> Option<PgConnection> {
    let attempt = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(admin)).await;
    match attempt {
        Ok(Ok(conn)) => Some(conn),
        Ok(Err(error)) => skip(admin, &error.to_string()),
        Err(_) => skip(admin, "timed out"),
    }
}

fn skip<T>(admin: &str, why: &str) -> Option<T> {
    let shown = redact(admin);
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("PostgreSQL not reachable at {shown} ({why}) and CI=true: PostgreSQL tests must run in CI");
    }
    // Straight to stderr: the test harness captures `eprintln!` of passing
    // tests, and a skip must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED (PostgreSQL not reachable at {shown}): {why}"
    );
    None
}

/// The URL without any password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// `url` with its database name replaced by `name` (query string kept).
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:08x}")
}

/// Runs each named `async fn(Backend)` as two tests, `sqlite::name` and
/// `postgres::name`, so one suite covers both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::Backend::Postgres).await;
                }
            )+
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_and_passwords_hidden() {
        assert_eq!(
            replace_database("postgres://u:p@h:5432/test?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u@h/db");
    }
}
