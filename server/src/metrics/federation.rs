//! The federation series, per peer: whether the link is up, how far
//! behind this hub is (events and seconds), when the peer last answered,
//! events received and items refused. A peer's series appear when it is
//! first dialled; refusal reasons exist at zero from then on.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Every federation series.
#[derive(Default)]
pub struct FederationMetrics {
    link_up: Family<Labels, Gauge>,
    lag_events: Family<Labels, Gauge>,
    lag_seconds: Family<Labels, Gauge>,
    last_contact: Family<Labels, Gauge>,
    received: Family<Labels, Counter>,
    refused: Family<Labels, Counter>,
}

fn peer(name: &str) -> Labels {
    vec![("peer".into(), name.into())]
}

impl FederationMetrics {
    /// Registers the families in `registry` (prefixed `mpaka_`).
    pub fn register(registry: &mut Registry) -> FederationMetrics {
        let metrics = FederationMetrics::default();
        registry.register(
            "federation_link_up",
            "1 while the pull link from the peer is authenticated and open",
            metrics.link_up.clone(),
        );
        registry.register(
            "federation_lag_events",
            "Shared events the peer still had to send this hub when it last said",
            metrics.lag_events.clone(),
        );
        registry.register(
            "federation_lag_seconds",
            "While behind: age of the newest event received from the peer; 0 when caught up",
            metrics.lag_seconds.clone(),
        );
        registry.register(
            "federation_last_contact_timestamp_seconds",
            "When the peer last answered on the link (Unix seconds)",
            metrics.last_contact.clone(),
        );
        registry.register(
            "federation_received_events",
            "Events received from the peer and stored in this hub's log",
            metrics.received.clone(),
        );
        registry.register(
            "federation_refused_items",
            "Items refused from the peer or a caller claiming to be it, by reason",
            metrics.refused.clone(),
        );
        metrics
    }

    /// Makes a peer's series exist (at zero) before anything happens.
    pub fn know(&self, name: &str, reasons: &[&str]) {
        let _ = self.link_up.get_or_create(&peer(name));
        let _ = self.lag_events.get_or_create(&peer(name));
        let _ = self.lag_seconds.get_or_create(&peer(name));
        let _ = self.last_contact.get_or_create(&peer(name));
        let _ = self.received.get_or_create(&peer(name));
        for reason in reasons {
            let _ = self.refused.get_or_create(&refusal(name, reason));
        }
    }

    pub fn set_up(&self, name: &str, up: bool) {
        self.link_up.get_or_create(&peer(name)).set(i64::from(up));
    }

    /// The peer answered at `unix_secs`; `pending` events still to come,
    /// the newest received being `age_secs` old.
    pub fn contact(&self, name: &str, unix_secs: i64, pending: u64, age_secs: i64) {
        self.last_contact.get_or_create(&peer(name)).set(unix_secs);
        self.lag_events
            .get_or_create(&peer(name))
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
        let lag = if pending == 0 { 0 } else { age_secs.max(0) };
        self.lag_seconds.get_or_create(&peer(name)).set(lag);
    }

    pub fn received(&self, name: &str, n: usize) {
        self.received.get_or_create(&peer(name)).inc_by(n as u64);
    }

    pub fn refused(&self, name: &str, reason: &str) {
        self.refused.get_or_create(&refusal(name, reason)).inc();
    }
}

fn refusal(name: &str, reason: &str) -> Labels {
    vec![
        ("peer".into(), name.into()),
        ("reason".into(), reason.into()),
    ]
}
