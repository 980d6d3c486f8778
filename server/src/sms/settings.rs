//! The settings of the SMS bridge (`[sms]`), owned here and read by
//! `config`. Everything is off until `enabled` is set.

use mpaka_protocol::Role;
use serde::{Deserialize, Serialize};

/// A secret setting: serialised as itself, never printed (`Debug` and
/// `Display` hide it). Kept here rather than using `config::Secret`, which
/// would make `config` and this module import each other.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
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

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The `[sms]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// Whether this node plans and sends SMS and accepts the gateway's calls.
    pub enabled: bool,
    /// Kannel's `sendsms` URL, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`.
    pub gateway_url: String,
    /// The `sendsms-user` of Kannel.
    pub username: String,
    pub password: Option<Secret>,
    /// The sender id (`from`) of outgoing SMS: a short code or a name the
    /// operator allows.
    pub sender_id: String,
    /// Where Kannel reaches this hub for delivery reports (`dlr-url`),
    /// e.g. `http://127.0.0.1:8080` (the hub's own address as Kannel sees it).
    pub callback_base_url: String,
    /// Shared secret Kannel puts in its `get-url` and `dlr-url`
    /// (`…?secret=`): calls without it are refused. At least 16 characters.
    pub callback_secret: Option<Secret>,
    /// Gateway addresses allowed to call the inbound and delivery routes;
    /// empty: any (the secret still applies).
    pub gateway_addresses: Vec<std::net::IpAddr>,
    /// A post is dark when nobody has been connected there for this long;
    /// its officers then get severe and extreme alerts of their corridor.
    pub dark_after_secs: u64,
    /// An alert addressed to a post that is still unacknowledged after this
    /// long is sent to its officers even when the post is not dark; 0: never.
    pub unacknowledged_after_secs: u64,
    /// SMS handed to the gateway per second at most (all nodes together:
    /// one node sends at a time).
    pub rate_per_sec: u32,
    /// How often the planner and the sender look for work.
    pub check_interval_ms: u64,
    /// First retry delay after the gateway failed; doubles up to `retry_max_ms`.
    pub retry_min_ms: u64,
    pub retry_max_ms: u64,
    /// After this many attempts an SMS is marked failed.
    pub max_attempts: u32,
    /// An SMS handed to the gateway by a node that died before recording
    /// the answer is sent again only when no delivery report came for it
    /// within this time (see docs/sms.md, "the crash window").
    pub unconfirmed_resend_secs: u64,
    /// Roles that may not opt out of alert SMS.
    pub required_roles: Vec<Role>,
    /// Roles whose acknowledgements by SMS must carry their PIN.
    pub pin_roles: Vec<Role>,
    /// Lifetime of a phone verification code.
    pub code_ttl_secs: u64,
}

impl Default for SmsSettings {
    fn default() -> Self {
        SmsSettings {
            enabled: false,
            gateway_url: "http://127.0.0.1:13013/cgi-bin/sendsms".into(),
            username: "mpaka".into(),
            password: None,
            sender_id: "MPAKA".into(),
            callback_base_url: "http://127.0.0.1:8080".into(),
            callback_secret: None,
            gateway_addresses: Vec::new(),
            dark_after_secs: 1800,
            unacknowledged_after_secs: 1800,
            rate_per_sec: 5,
            check_interval_ms: 1000,
            retry_min_ms: 2000,
            retry_max_ms: 300_000,
            max_attempts: 50,
            unconfirmed_resend_secs: 300,
            required_roles: Vec::new(),
            pin_roles: vec![Role::Coordinator],
            code_ttl_secs: 900,
        }
    }
}

impl SmsSettings {
    /// Checks the values make sense (only when enabled).
    ///
    /// # Errors
    /// A message naming the offending key.
    pub fn check(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        if url::Url::parse(&self.gateway_url).is_err() {
            return Err("sms.gateway_url must be a URL (Kannel's sendsms)".into());
        }
        if url::Url::parse(&self.callback_base_url).is_err() {
            return Err("sms.callback_base_url must be a URL".into());
        }
        if self
            .callback_secret
            .as_ref()
            .is_none_or(|s| s.expose().len() < 16)
        {
            return Err("sms.callback_secret must be set, at least 16 characters".into());
        }
        if self.rate_per_sec == 0 || self.rate_per_sec > 1000 {
            return Err("sms.rate_per_sec must be between 1 and 1000".into());
        }
        if !(10..=3_600_000).contains(&self.check_interval_ms) {
            return Err("sms.check_interval_ms must be between 10 and 3600000".into());
        }
        if self.retry_min_ms == 0 || self.retry_max_ms < self.retry_min_ms {
            return Err("sms.retry_min_ms must be positive and at most sms.retry_max_ms".into());
        }
        if self.max_attempts == 0 {
            return Err("sms.max_attempts must be at least 1".into());
        }
        Ok(())
    }
}
