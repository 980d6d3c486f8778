//! Prometheus metrics, one registry per running hub (no globals, so tests
//! can run several hubs in one process). Rendered at `GET /metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
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
}

impl Metrics {
    pub fn new() -> Metrics {
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
        Metrics {
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
        let _ = encode(&mut out, &self.registry);
        out
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
