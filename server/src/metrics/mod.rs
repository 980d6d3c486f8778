//! Prometheus metrics, one registry per running hub (no globals, so tests
//! can run several hubs in one process). Rendered at `GET /metrics`.
//!
//! Every series with a closed set of labels (event kinds, severities,
//! pools, auth codes) exists at zero from start, so that rates and alerting
//! rules see a zero rather than nothing. Series whose labels come from data
//! (posts) or from traffic (HTTP route and status) appear with the post or
//! the first request. Figures that live in the database (open alerts, post
//! last seen) and in the process are brought up to date at each scrape
//! ([`Metrics::set_alerts`], [`Metrics::set_posts`], [`Metrics::refresh`]).

mod federation;
mod process;

pub use federation::FederationMetrics;

pub use process::Reading as ProcessReading;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// Every metric the hub exports.
pub struct Metrics {
    registry: Registry,
    pub connections: Gauge,
    pub subscriptions: Gauge,
    pub events_published: Family<Vec<(String, String)>, Counter>,
    pub events_delivered: Counter,
    pub publish_latency: Histogram,
    pub slow_consumer_disconnects: Counter,
    pub auth_failures: Family<Vec<(String, String)>, Counter>,
    pub frame_errors: Family<Vec<(String, String)>, Counter>,
    pub commit_batch_size: Histogram,
    storage_free_bytes: Gauge,
    storage_writable: Gauge,
    storage_write_refusals: Counter,
    storage_write_failures: Counter,
    db_pool_connections: Family<Vec<(String, String)>, Gauge>,
    db_pool_idle: Family<Vec<(String, String)>, Gauge>,
    db_pool_max: Family<Vec<(String, String)>, Gauge>,
    db_acquire_errors: Family<Vec<(String, String)>, Counter>,
    db_listen_connected: Gauge,
    db_listen_reconnects: Counter,
    post_last_seen: Family<Vec<(String, String)>, Gauge>,
    post_online: Family<Vec<(String, String)>, Gauge>,
    alerts_open: Family<Vec<(String, String)>, Gauge>,
    alerts_unacknowledged: Family<Vec<(String, String)>, Gauge>,
    sms_messages: Family<Vec<(String, String)>, Gauge>,
    sms_events: Family<Vec<(String, String)>, Counter>,
    sms_replies: Family<Vec<(String, String)>, Counter>,
    pub http_requests: Family<Vec<(String, String)>, Counter>,
    pub http_request_duration: Family<Vec<(String, String)>, Histogram>,
    /// Per-peer series of federation.
    pub federation: FederationMetrics,
    /// The post label sets last exported, to drop posts that went.
    posts_known: std::sync::Mutex<Vec<Vec<(String, String)>>>,
    /// The process series, in their own unprefixed registry.
    process_registry: Registry,
    process: process::ProcessMetrics,
}

/// Severities of alerts, as labelled in the alert gauges.
const SEVERITIES: [&str; 5] = ["extreme", "severe", "moderate", "minor", "unknown"];

/// States of SMS in the outbox, as labelled in `mpaka_sms_messages`.
const SMS_STATES: [&str; 5] = ["queued", "sending", "sent", "delivered", "failed"];
/// Steps counted in `mpaka_sms_events_total`.
const SMS_EVENTS: [&str; 6] = ["queued", "sent", "delivered", "failed", "retried", "resent"];
/// Outcomes counted in `mpaka_sms_replies_total`.
const SMS_REPLY_OUTCOMES: [&str; 3] = ["accepted", "refused", "duplicate"];

/// Codes counted in `auth_failures_total`, present at zero from start.
const AUTH_CODES: [&str; 7] = [
    "auth_required",
    "auth_timeout",
    "invalid_token",
    "token_expired",
    "invalid_credentials",
    "account_disabled",
    "too_many_attempts",
];

/// Codes counted in `frame_errors_total`, present at zero from start (the
/// refusals a socket request can meet; others appear when first counted).
const FRAME_CODES: [&str; 12] = [
    "bad_frame",
    "unsupported_version",
    "frame_too_large",
    "forbidden",
    "unknown_channel",
    "not_found",
    "validation_failed",
    "rate_limited",
    "idempotency_conflict",
    "invalid_state",
    "unavailable",
    "internal",
];

/// The connection pools of the store: SQLite has a one-connection writer
/// and a reader pool; PostgreSQL one pool for both (reported as `write`
/// and `read` alike).
const POOLS: [&str; 2] = ["read", "write"];

/// What the hub reports about a connection pool at a scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFigures {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
    pub acquire_errors: u64,
}

/// One post at a scrape: seconds since someone was last connected there
/// (0 while someone is; since the post was created if never), and whether
/// someone is connected now.
#[derive(Debug, Clone, PartialEq)]
pub struct PostFigures {
    pub post: String,
    pub country: String,
    pub seconds_since_seen: f64,
    pub online: bool,
}

fn label(name: &str, value: &str) -> Vec<(String, String)> {
    vec![(name.into(), value.into())]
}

impl Metrics {
    /// A registry with every series at zero; `database` (`sqlite` or
    /// `postgres`) is a label of `mpaka_build_info`.
    pub fn new() -> Metrics {
        Metrics::for_database("sqlite")
    }

    /// As [`Metrics::new`], naming the database kind in the build info.
    pub fn for_database(database: &str) -> Metrics {
        let mut registry = Registry::with_prefix("mpaka");
        let connections = Gauge::default();
        let subscriptions = Gauge::default();
        let events_published = Family::default();
        let events_delivered = Counter::default();
        // 0.1 ms to ~3.3 s.
        let publish_latency = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        let slow_consumer_disconnects = Counter::default();
        let auth_failures = Family::default();
        let frame_errors = Family::default();
        let commit_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register(
            "connections",
            "Open authenticated WebSocket sessions",
            connections.clone(),
        );
        registry.register(
            "subscriptions",
            "Channel subscriptions held by open sessions",
            subscriptions.clone(),
        );
        registry.register(
            "events_published",
            "Events committed by this node, by kind",
            events_published.clone(),
        );
        registry.register(
            "events_delivered",
            "Event frames queued to sessions",
            events_delivered.clone(),
        );
        registry.register(
            "publish_latency_seconds",
            "Time from receiving a publish to its durable reply",
            publish_latency.clone(),
        );
        registry.register(
            "slow_consumer_disconnects",
            "Sessions cut off because their outbound queue overflowed",
            slow_consumer_disconnects.clone(),
        );
        registry.register(
            "auth_failures",
            "Failed logins and socket authentications, by code",
            auth_failures.clone(),
        );
        registry.register(
            "frame_errors",
            "Client frames answered with an error, by code",
            frame_errors.clone(),
        );
        registry.register(
            "commit_batch_size",
            "Publishes committed per group-commit transaction",
            commit_batch_size.clone(),
        );
        let storage_free_bytes = Gauge::default();
        let storage_writable = Gauge::default();
        let storage_write_refusals = Counter::default();
        let storage_write_failures = Counter::default();
        registry.register(
            "storage_free_bytes",
            "Bytes free on the SQLite database's file system (absent guard: 0)",
            storage_free_bytes.clone(),
        );
        registry.register(
            "storage_writable",
            "1 when this node can write, 0 while writes are refused or failing",
            storage_writable.clone(),
        );
        registry.register(
            "storage_write_refusals",
            "Writes refused early because free space was below storage.min_free_bytes",
            storage_write_refusals.clone(),
        );
        registry.register(
            "storage_write_failures",
            "Write transactions that failed for a storage reason (disk full, I/O, link)",
            storage_write_failures.clone(),
        );
        registry.register(
            "build",
            "The hub's version, git commit and database kind (value always 1)",
            Info::new(vec![
                ("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
                ("commit".to_owned(), crate::build_info::COMMIT.to_owned()),
                ("database".to_owned(), database.to_owned()),
            ]),
        );
        let db_pool_connections = Family::default();
        let db_pool_idle = Family::default();
        let db_pool_max = Family::default();
        let db_acquire_errors = Family::default();
        registry.register(
            "db_pool_connections",
            "Open database connections, by pool",
            db_pool_connections.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections, by pool",
            db_pool_idle.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Largest number of connections a pool may open",
            db_pool_max.clone(),
        );
        registry.register(
            "db_acquire_errors",
            "Failures to get a database connection from a pool (timeout, unreachable server)",
            db_acquire_errors.clone(),
        );
        let db_listen_connected = Gauge::default();
        let db_listen_reconnects = Counter::default();
        registry.register(
            "db_listen_connected",
            "PostgreSQL: 1 while this node's LISTEN connection is up (always 0 on SQLite)",
            db_listen_connected.clone(),
        );
        registry.register(
            "db_listen_reconnects",
            "PostgreSQL: times the LISTEN connection was lost and opened again",
            db_listen_reconnects.clone(),
        );
        let post_last_seen = Family::default();
        let post_online = Family::default();
        registry.register(
            "post_last_seen_seconds",
            "Seconds since someone was last connected at the post (0 while someone is; since its creation if never)",
            post_last_seen.clone(),
        );
        registry.register(
            "post_online",
            "1 while someone at the post is connected to any node",
            post_online.clone(),
        );
        let alerts_open = Family::default();
        let alerts_unacknowledged = Family::default();
        registry.register(
            "alerts_open",
            "Open alerts, by severity",
            alerts_open.clone(),
        );
        registry.register(
            "alerts_unacknowledged",
            "Open alerts nobody has acknowledged yet, by severity",
            alerts_unacknowledged.clone(),
        );
        let sms_messages = Family::default();
        let sms_events = Family::default();
        let sms_replies = Family::default();
        registry.register(
            "sms_messages",
            "SMS in the outbox, by state (queued, sending, sent, delivered, failed), all nodes",
            sms_messages.clone(),
        );
        registry.register(
            "sms_events",
            "SMS steps taken by this node: queued, sent (accepted by the gateway), delivered, failed, retried, resent",
            sms_events.clone(),
        );
        registry.register(
            "sms_replies",
            "Incoming SMS handled by this node, by outcome (accepted, refused, duplicate)",
            sms_replies.clone(),
        );
        for state in SMS_STATES {
            let _ = sms_messages.get_or_create(&label("state", state));
        }
        for event in SMS_EVENTS {
            let _ = sms_events.get_or_create(&label("event", event));
        }
        for outcome in SMS_REPLY_OUTCOMES {
            let _ = sms_replies.get_or_create(&label("outcome", outcome));
        }
        let http_requests = Family::default();
        let http_request_duration: Family<Vec<(String, String)>, Histogram> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 4.0, 8)));
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            http_request_duration.clone(),
        );
        for kind in mpaka_protocol::EventData::KINDS {
            let _ = events_published.get_or_create(&label("kind", kind));
        }
        for code in AUTH_CODES {
            let _ = auth_failures.get_or_create(&label("code", code));
        }
        for code in FRAME_CODES {
            let _ = frame_errors.get_or_create(&label("code", code));
        }
        for severity in SEVERITIES {
            let _ = alerts_open.get_or_create(&label("severity", severity));
            let _ = alerts_unacknowledged.get_or_create(&label("severity", severity));
        }
        for pool in POOLS {
            let _ = db_pool_connections.get_or_create(&label("pool", pool));
            let _ = db_pool_idle.get_or_create(&label("pool", pool));
            let _ = db_pool_max.get_or_create(&label("pool", pool));
            let _ = db_acquire_errors.get_or_create(&label("pool", pool));
        }
        let federation = FederationMetrics::register(&mut registry);
        let mut process_registry = Registry::default();
        let process = process::ProcessMetrics::register(&mut process_registry);
        Metrics {
            federation,
            db_pool_connections,
            db_pool_idle,
            db_pool_max,
            db_acquire_errors,
            db_listen_connected,
            db_listen_reconnects,
            post_last_seen,
            post_online,
            alerts_open,
            alerts_unacknowledged,
            sms_messages,
            sms_events,
            sms_replies,
            http_requests,
            http_request_duration,
            posts_known: std::sync::Mutex::default(),
            process_registry,
            process,
            storage_free_bytes,
            storage_writable,
            storage_write_refusals,
            storage_write_failures,
            registry,
            connections,
            subscriptions,
            events_published,
            events_delivered,
            publish_latency,
            slow_consumer_disconnects,
            auth_failures,
            frame_errors,
            commit_batch_size,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_registry(&mut out, &self.process_registry);
        let _ = encode_eof(&mut out);
        out
    }

    /// Reads the process's figures (called before rendering).
    pub fn refresh(&self) {
        self.process.refresh();
    }

    /// Brings a pool's series up to date (called before rendering).
    pub fn pool(&self, pool: &str, figures: PoolFigures) {
        let key = label("pool", pool);
        self.db_pool_connections
            .get_or_create(&key)
            .set(figures.connections.into());
        self.db_pool_idle
            .get_or_create(&key)
            .set(figures.idle.into());
        self.db_pool_max.get_or_create(&key).set(figures.max.into());
        let counter = self.db_acquire_errors.get_or_create(&key);
        counter.inc_by(figures.acquire_errors.saturating_sub(counter.get()));
    }

    /// The LISTEN connection's state and how often it was re-established.
    pub fn listen(&self, connected: bool, reconnects: u64) {
        self.db_listen_connected.set(i64::from(connected));
        self.db_listen_reconnects
            .inc_by(reconnects.saturating_sub(self.db_listen_reconnects.get()));
    }

    /// Open and unacknowledged alerts per severity (severities not given
    /// are zero).
    /// One SMS step taken by this node (see [`SMS_EVENTS`]).
    pub fn sms_event(&self, event: &str) {
        self.sms_events.get_or_create(&label("event", event)).inc();
    }

    /// One incoming SMS handled, by outcome.
    pub fn sms_reply(&self, outcome: &str) {
        self.sms_replies
            .get_or_create(&label("outcome", outcome))
            .inc();
    }

    /// SMS in the outbox per state, at a scrape.
    pub fn set_sms(&self, counts: &[(String, i64)]) {
        for state in SMS_STATES {
            let n = counts
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            self.sms_messages
                .get_or_create(&label("state", state))
                .set(n);
        }
    }

    pub fn set_alerts(&self, open: &[(String, i64)], unacknowledged: &[(String, i64)]) {
        for (family, figures) in [
            (&self.alerts_open, open),
            (&self.alerts_unacknowledged, unacknowledged),
        ] {
            for severity in SEVERITIES {
                let n = figures
                    .iter()
                    .find(|(s, _)| s == severity)
                    .map_or(0, |(_, n)| *n);
                family.get_or_create(&label("severity", severity)).set(n);
            }
        }
    }

    /// Every post's last-seen figures; posts no longer listed are dropped
    /// (without clearing first, so a concurrent scrape never sees none).
    pub fn set_posts(&self, posts: &[PostFigures]) {
        let keys: Vec<Vec<(String, String)>> = posts
            .iter()
            .map(|post| {
                vec![
                    ("post".to_owned(), post.post.clone()),
                    ("country".to_owned(), post.country.clone()),
                ]
            })
            .collect();
        {
            let mut known = crate::sync::lock(&self.posts_known);
            for gone in known.iter().filter(|k| !keys.contains(k)) {
                self.post_last_seen.remove(gone);
                self.post_online.remove(gone);
            }
            known.clone_from(&keys);
        }
        for (post, key) in posts.iter().zip(keys) {
            // Whole seconds: enough for "dark for hours".
            self.post_last_seen
                .get_or_create(&key)
                .set(post.seconds_since_seen.max(0.0) as i64);
            self.post_online
                .get_or_create(&key)
                .set(i64::from(post.online));
        }
    }

    /// Counts one answered HTTP request.
    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.http_requests
            .get_or_create(&vec![
                ("route".to_owned(), route.to_owned()),
                ("method".to_owned(), method.to_owned()),
                ("status".to_owned(), status.to_string()),
            ])
            .inc();
        self.http_request_duration
            .get_or_create(&label("route", route))
            .observe(seconds);
    }

    /// Brings the storage gauges up to date (called before rendering).
    pub fn storage(&self, free_bytes: Option<u64>, writable: bool, refusals: u64, failures: u64) {
        self.storage_free_bytes
            .set(free_bytes.map_or(0, |b| i64::try_from(b).unwrap_or(i64::MAX)));
        self.storage_writable.set(i64::from(writable));
        for (counter, total) in [
            (&self.storage_write_refusals, refusals),
            (&self.storage_write_failures, failures),
        ] {
            counter.inc_by(total.saturating_sub(counter.get()));
        }
    }

    pub fn auth_failed(&self, code: mpaka_protocol::ErrorCode) {
        self.auth_failures
            .get_or_create(&vec![("code".into(), code.as_str().into())])
            .inc();
    }

    pub fn frame_error(&self, code: mpaka_protocol::ErrorCode) {
        self.frame_errors
            .get_or_create(&vec![("code".into(), code.as_str().into())])
            .inc();
    }

    pub fn published(&self, kind: &str) {
        self.events_published
            .get_or_create(&vec![("kind".into(), kind.into())])
            .inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(slug: &str, seconds: f64) -> PostFigures {
        PostFigures {
            post: slug.into(),
            country: "BI".into(),
            seconds_since_seen: seconds,
            online: seconds == 0.0,
        }
    }

    #[test]
    fn a_post_that_is_gone_is_no_longer_exported_and_the_others_are_updated() {
        let metrics = Metrics::new();
        metrics.set_posts(&[post("mugina", 0.0), post("gisuru", 7200.0)]);
        metrics.set_posts(&[post("mugina", 30.0)]);
        let text = metrics.render();
        assert!(!text.contains("gisuru"), "{text}");
        assert!(text.contains("mpaka_post_last_seen_seconds{post=\"mugina\",country=\"BI\"} 30"));
        assert!(text.contains("mpaka_post_online{post=\"mugina\",country=\"BI\"} 0"));
    }

    #[test]
    fn escalations_and_severe_alerts_are_exported_at_zero_before_any() {
        let text = Metrics::for_database("postgres").render();
        for line in [
            "mpaka_events_published_total{kind=\"alert.escalated\"} 0",
            "mpaka_alerts_unacknowledged{severity=\"extreme\"} 0",
            "mpaka_db_acquire_errors_total{pool=\"write\"} 0",
            "mpaka_build_info{version=\"",
            "database=\"postgres\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
