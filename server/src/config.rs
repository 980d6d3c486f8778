//! Typed configuration, layered: built-in defaults, then the TOML file
//! (`--config`, or `MPAKA_CONFIG`), then `MPAKA_…` environment variables
//! (nested keys with `__`, e.g. `MPAKA_WS__HEARTBEAT_SECS`), then flags.
//! A bad value fails at start with a message naming the key; an
//! `MPAKA_…` variable that names nothing fails too ([`env`]).
//! [`report`] shows the effective values and where each came from.

mod database;
pub mod env;
pub mod report;

pub use database::DatabaseSummary;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every setting of the hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP and WebSocket listener binds to.
    pub listen: SocketAddr,
    /// Directory for the SQLite database, the generated signing key and demo credentials.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `sqlite://{data_dir}/mpaka.db`.
    pub database_url: Option<Secret>,
    /// HS256 signing key for access tokens (at least 32 bytes). When absent,
    /// one is generated on first start into `{data_dir}/jwt.key` (mode 0600).
    /// Several nodes on one database must share the same key.
    pub jwt_secret: Option<Secret>,
    /// More keys accepted (never used to sign) for access tokens: the
    /// previous `jwt_secret` after a rotation, until its tokens expire, or
    /// the next one while it is rolled out to every node.
    pub jwt_verify_secrets: Vec<Secret>,
    /// Name of this node in presence and leases; default: a random id.
    pub node_id: Option<String>,
    /// `text` (default) or `json` log lines.
    pub log_format: LogFormat,
    pub auth: AuthSettings,
    pub ws: WsSettings,
    pub limits: LimitSettings,
    pub alerts: AlertSettings,
    pub sops: SopSettings,
    pub flows: crate::flows::settings::FlowSettings,
    pub log: crate::vlog::settings::LogSettings,
    pub storage: StorageSettings,
    pub retention: crate::retention::settings::RetentionSettings,
    pub sms: crate::sms::settings::SmsSettings,
    pub federation: crate::federation::settings::FederationSettings,
}

/// Storage safety margins (`[storage]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// SQLite: writes are refused with `unavailable` while the database's
    /// file system has fewer free bytes than this (0: never refuse), so
    /// the database never has to fail a write half-way for lack of space.
    pub min_free_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Lifetime of an access token.
    pub access_ttl_secs: Seconds,
    /// Lifetime of a refresh token (rotated on every use).
    pub refresh_ttl_secs: Seconds,
    /// Absolute lifetime of a login session: after this, whatever the
    /// activity, its tokens are refused and the user logs in again.
    pub session_max_secs: Seconds,
    /// A session not refreshed for this long ends (idle lifetime).
    pub session_idle_secs: Seconds,
    /// A refresh token presented again this soon after its rotation, from
    /// the same client address, gets the same new pair instead of ending
    /// the session as stolen (two tabs, a lost reply); 0 turns it off.
    pub refresh_grace_secs: u64,
    /// Failed logins of one account before logins for it are slowed down.
    pub login_free_failures_per_account: u32,
    /// Failed logins from one client address before it is slowed down.
    pub login_free_failures_per_address: u32,
    /// Longest wait imposed after failed logins (the wait doubles from 1 s).
    pub login_backoff_max_secs: Seconds,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are
    /// believed; from anyone else they are ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// When set, `GET /metrics` needs `Authorization: Bearer <this>`;
    /// unset, `/metrics` is open (keep it off the public proxy then).
    pub metrics_token: Option<Secret>,
    /// Roles whose accounts must log in with a second factor (TOTP), e.g.
    /// `["coordinator", "admin", "auditor"]`. An account of such a role
    /// without one may only enrol one at its next login. Accounts of other
    /// roles may enrol one; once enrolled it is always asked for. Default:
    /// none required.
    pub second_factor_roles: Vec<mpaka_protocol::Role>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WsSettings {
    /// How long a new connection may take to send its `auth` frame.
    pub auth_timeout_secs: Seconds,
    /// Interval of server pings.
    pub heartbeat_secs: Seconds,
    /// A connection silent for this long is considered dead and closed.
    pub heartbeat_timeout_secs: Seconds,
    /// Largest text frame answered normally; larger ones get `frame_too_large`.
    pub max_frame_bytes: NonZeroUsize,
    /// Events queued for one connection before it is cut off as a slow consumer.
    pub outbound_queue: NonZeroUsize,
    /// Bytes of recent encoded events kept in memory, so that clients
    /// resuming after a short outage are served without reading the log;
    /// a resume from before the oldest kept event reads the log.
    pub replay_cache_bytes: NonZeroUsize,
    /// Connections accepted at once; further upgrades get 503.
    pub max_connections: NonZeroUsize,
    /// Sockets one account may have open at once (its tabs, phone,
    /// laptop), over every node on PostgreSQL; one more is refused after
    /// `auth` with `too_many_connections` and close code 4010.
    pub max_connections_per_user: NonZeroUsize,
    /// Sockets one client address may have open at once, authenticated or
    /// not (behind `auth.trusted_proxies`, the forwarded address); further
    /// upgrades get 429 `too_many_connections`. A post's officers behind
    /// one NAT share it: raise it for carrier-grade NAT.
    pub max_connections_per_address: NonZeroUsize,
    /// Largest frame accepted before a socket has authenticated (the `auth`
    /// frame is well under 2 KiB); a larger one gets `frame_too_large` and
    /// close code 1009, so an anonymous socket cannot make the hub buffer
    /// up to `max_frame_bytes`.
    pub max_auth_frame_bytes: NonZeroUsize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Sustained writes (publishes, alert steps…) per second per user.
    pub publish_per_sec: NonZeroU32,
    /// Writes allowed in a burst above the sustained rate.
    pub publish_burst: NonZeroU32,
    /// How often the hub looks for events committed by other processes
    /// (the CLI, other nodes) in milliseconds.
    pub poll_ms: Millis,
    /// Presence changes are written to the database at most this often.
    pub presence_flush_ms: Millis,
}

/// Escalation of unacknowledged alerts and CAP export (`[alerts]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// An Extreme alert nobody on the other side has acknowledged after this
    /// many milliseconds escalates to the coordinators of both countries.
    pub extreme_escalation_ms: Millis,
    /// The same for a Severe alert. Less severe alerts never escalate.
    pub severe_escalation_ms: Millis,
    /// Still unacknowledged this long after the first escalation, the alert
    /// escalates again, to `headquarters`.
    pub second_level_ms: Millis,
    /// Usernames that receive second-level escalations in their personal
    /// channel (`user:{id}`), e.g. headquarters duty officers. The
    /// coordinators' joint channel receives them too.
    pub headquarters: Vec<String>,
    /// CAP `sender` of exported alerts, e.g. `mpaka@migration.gov.bi`.
    pub cap_sender: String,
    /// How often the escalation loop looks for due alerts, in milliseconds.
    pub check_interval_ms: Millis,
}

impl AlertSettings {
    /// Checks the values make sense.
    ///
    /// # Errors
    /// A message naming the offending key.
    pub fn check(&self) -> Result<(), String> {
        if !(10..=60_000).contains(&self.check_interval_ms.get()) {
            return Err("alerts.check_interval_ms must be between 10 and 60000".into());
        }
        if self.cap_sender.trim().is_empty() || self.cap_sender.contains([' ', ',', '<', '&']) {
            return Err(
                "alerts.cap_sender must be a non-empty name without spaces, commas, < or &".into(),
            );
        }
        Ok(())
    }
}

/// The SOP library (`[sops]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SopSettings {
    /// Languages tried, in order, when an SOP version is not written in the
    /// reader's language (`fr`, `en`, `sw`, `rn`). A version in none of them
    /// is served in its first language.
    pub fallback_languages: Vec<mpaka_protocol::Lang>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            data_dir: PathBuf::from("data"),
            database_url: None,
            jwt_secret: None,
            jwt_verify_secrets: Vec::new(),
            node_id: None,
            log_format: LogFormat::Text,
            auth: AuthSettings {
                access_ttl_secs: Seconds::of(15 * 60),
                refresh_ttl_secs: Seconds::of(30 * 24 * 3600),
                session_max_secs: Seconds::of(30 * 24 * 3600),
                session_idle_secs: Seconds::of(7 * 24 * 3600),
                refresh_grace_secs: 5,
                login_free_failures_per_account: 5,
                login_free_failures_per_address: 20,
                login_backoff_max_secs: Seconds::of(15 * 60),
                trusted_proxies: Vec::new(),
                metrics_token: None,
                second_factor_roles: Vec::new(),
            },
            ws: WsSettings {
                auth_timeout_secs: Seconds::of(5),
                heartbeat_secs: Seconds::of(20),
                heartbeat_timeout_secs: Seconds::of(60),
                max_frame_bytes: nonzero(64 * 1024),
                outbound_queue: nonzero(4096),
                replay_cache_bytes: nonzero(16 * 1024 * 1024),
                max_connections: nonzero(20_000),
                max_connections_per_user: nonzero(20),
                max_connections_per_address: nonzero(500),
                max_auth_frame_bytes: nonzero(4 * 1024),
            },
            limits: LimitSettings {
                publish_per_sec: NonZeroU32::new(20).expect("non-zero"),
                publish_burst: NonZeroU32::new(40).expect("non-zero"),
                poll_ms: Millis::of(250),
                presence_flush_ms: Millis::of(500),
            },
            alerts: AlertSettings {
                extreme_escalation_ms: Millis::of(5 * 60 * 1000),
                severe_escalation_ms: Millis::of(15 * 60 * 1000),
                second_level_ms: Millis::of(15 * 60 * 1000),
                headquarters: Vec::new(),
                cap_sender: "mpaka@hub.invalid".into(),
                check_interval_ms: Millis::of(1000),
            },
            sops: SopSettings {
                fallback_languages: mpaka_protocol::Lang::ALL.to_vec(),
            },
            flows: crate::flows::settings::FlowSettings::default(),
            storage: StorageSettings {
                min_free_bytes: 64 * 1024 * 1024,
            },
            log: crate::vlog::settings::LogSettings::default(),
            retention: crate::retention::settings::RetentionSettings::default(),
            sms: crate::sms::settings::SmsSettings::default(),
            federation: crate::federation::settings::FederationSettings::default(),
        }
    }
}

impl Settings {
    /// Loads defaults, then `config_file` if given, then `MPAKA_…` variables.
    ///
    /// # Errors
    /// An unknown `MPAKA_…` variable (with the closest known name), a
    /// missing file, a syntax error or a value of the wrong type, with the
    /// offending key in the message.
    pub fn load(config_file: Option<&Path>) -> Result<Settings, Box<figment::Error>> {
        let unknown = env::unknown_in_environment();
        if !unknown.is_empty() {
            let lines: Vec<String> = unknown.iter().map(ToString::to_string).collect();
            return Err(Box::new(figment::Error::from(lines.join("; "))));
        }
        Settings::figment(config_file)?.extract().map_err(Box::new)
    }

    /// The layers (defaults, file, environment) before extraction; unknown
    /// variables are not read here (see [`env`]).
    ///
    /// # Errors
    /// A configuration file that does not exist.
    pub fn figment(config_file: Option<&Path>) -> Result<Figment, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config_file {
            if !path.exists() {
                return Err(Box::new(figment::Error::from(format!(
                    "configuration file {} does not exist",
                    path.display()
                ))));
            }
            figment = figment.merge(Toml::file(path));
        }
        Ok(figment.merge(
            Env::prefixed(env::PREFIX)
                .filter(|key| env::is_setting_variable(&format!("{}{}", env::PREFIX, key.as_str())))
                .split("__"),
        ))
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("mpaka.db").display()),
        }
    }

    /// What would stop the hub at start, one message per problem, each
    /// naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = self.alerts.check() {
            problems.push(e);
        }
        if let Err(e) = self.log.check() {
            problems.push(e);
        }
        if let Err(e) = self.retention.check() {
            problems.push(e);
        }
        if let Err(e) = self.sms.check() {
            problems.push(e);
        }
        if let Err(e) = self.federation.check() {
            problems.push(e);
        }
        if self
            .jwt_secret
            .as_ref()
            .is_some_and(|s| s.expose().len() < 32)
        {
            problems.push("jwt_secret must be at least 32 bytes long".into());
        }
        if self
            .jwt_verify_secrets
            .iter()
            .any(|s| s.expose().len() < 32)
        {
            problems.push("every key in jwt_verify_secrets must be at least 32 bytes long".into());
        }
        let database = DatabaseSummary::of(&self.database_url());
        if database.kind == "unsupported" {
            problems.push(format!(
                "database_url: unsupported {} (expected sqlite:// or postgres://)",
                database.location
            ));
        }
        problems
    }

    /// Settings for tests: loopback port 0, the given data directory, fast timers.
    pub fn for_tests(data_dir: &Path) -> Settings {
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            data_dir: data_dir.to_owned(),
            ..Settings::default()
        };
        settings.limits.poll_ms = Millis::of(50);
        settings.limits.presence_flush_ms = Millis::of(50);
        settings
    }
}

/// A positive whole number of seconds: written as an integer in files and
/// variables, refused at load when zero (no setting here means "never").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Seconds(NonZeroU64);

/// A positive whole number of milliseconds, like [`Seconds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Millis(NonZeroU64);

macro_rules! positive_duration {
    ($t:ident, $from:path, $unit:literal) => {
        impl $t {
            /// A constant setting.
            ///
            /// # Panics
            /// When `value` is zero: a programming error, not a user's.
            pub const fn of(value: u64) -> $t {
                match NonZeroU64::new(value) {
                    Some(v) => $t(v),
                    None => panic!(concat!("a zero ", $unit, " setting")),
                }
            }

            /// The number as written in the configuration.
            pub const fn get(self) -> u64 {
                self.0.get()
            }

            pub fn duration(self) -> Duration {
                $from(self.0.get())
            }
        }

        impl TryFrom<u64> for $t {
            type Error = String;

            fn try_from(value: u64) -> Result<$t, String> {
                NonZeroU64::new(value)
                    .map($t)
                    .ok_or_else(|| concat!("must be at least 1 (", $unit, ")").to_owned())
            }
        }

        impl From<$t> for u64 {
            fn from(value: $t) -> u64 {
                value.get()
            }
        }
    };
}

positive_duration!(Seconds, Duration::from_secs, "seconds");
positive_duration!(Millis, Duration::from_millis, "milliseconds");

const fn nonzero(value: usize) -> NonZeroUsize {
    match NonZeroUsize::new(value) {
        Some(v) => v,
        None => panic!("a zero default"),
    }
}

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
// figment's `Jail` closures return its large error type by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "mpaka.toml",
                "listen = \"0.0.0.0:9000\"\n[ws]\nheartbeat_secs = 7\n",
            )?;
            jail.set_env("MPAKA_WS__HEARTBEAT_SECS", "9");
            let settings = Settings::load(Some(Path::new("mpaka.toml"))).expect("loads");
            assert_eq!(settings.listen.port(), 9000);
            assert_eq!(settings.ws.heartbeat_secs.get(), 9);
            assert_eq!(settings.ws.max_frame_bytes.get(), 64 * 1024);
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MPAKA_WS__HEARTBEAT_SECS", "often");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.to_lowercase().contains("heartbeat_secs"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unrelated_mpaka_variables_are_ignored() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MPAKA_BIN", "/usr/bin/mpaka");
            jail.set_env("MPAKA_USER", "mugina.officer");
            jail.set_env("MPAKA_LISTEN", "0.0.0.0:9999");
            let settings = Settings::load(None).expect("loads");
            assert_eq!(settings.listen.port(), 9999);
            Ok(())
        });
    }

    #[test]
    fn the_sop_fallback_order_is_configurable_and_checked() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "mpaka.toml",
                "[sops]\nfallback_languages = [\"sw\", \"en\"]\n",
            )?;
            let settings = Settings::load(Some(Path::new("mpaka.toml"))).expect("loads");
            assert_eq!(
                settings.sops.fallback_languages,
                [mpaka_protocol::Lang::Sw, mpaka_protocol::Lang::En]
            );
            jail.create_file("bad.toml", "[sops]\nfallback_languages = [\"de\"]\n")?;
            let err = Settings::load(Some(Path::new("bad.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("fallback_languages"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_misspelt_variable_stops_loading_and_names_the_right_one() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MPAKA_DATABSE_URL", "postgres://db/hub");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("MPAKA_DATABSE_URL"), "{err}");
            assert!(err.contains("did you mean MPAKA_DATABASE_URL?"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn zero_where_zero_is_meaningless_fails_at_load_naming_the_key() {
        figment::Jail::expect_with(|jail| {
            for (key, name) in [
                ("MPAKA_LIMITS__POLL_MS", "poll_ms"),
                ("MPAKA_WS__HEARTBEAT_SECS", "heartbeat_secs"),
                ("MPAKA_WS__OUTBOUND_QUEUE", "outbound_queue"),
                ("MPAKA_LIMITS__PUBLISH_PER_SEC", "publish_per_sec"),
            ] {
                jail.set_env(key, "0");
                let err = Settings::load(None).unwrap_err().to_string();
                assert!(err.to_lowercase().contains(name), "{key}: {err}");
                jail.set_env(key, "7");
            }
            Ok(())
        });
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "[redacted] [redacted]");
    }
}
