//! The running federation of one hub: its identity, the peers in force
//! (the configuration's and the database's, re-read as `mpaka peer`
//! changes them), the settings, and handles on the store and metrics.
//! Cheap to clone; it knows no transport, so `AppState` can hold it.

use super::identity::Identity;
use super::peers::{self, Peer};
use super::settings::FederationSettings;
use super::store as fed_store;
use crate::metrics::Metrics;
use crate::store::Store;
use std::sync::{Arc, RwLock};

/// A handle on this hub's federation; disabled when `federation.name` is
/// not set.
#[derive(Clone)]
pub struct Federation {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    identity: Identity,
    settings: FederationSettings,
    configured: Vec<Peer>,
    peers: RwLock<Arc<Vec<Peer>>>,
    store: Store,
    metrics: Arc<Metrics>,
}

impl Federation {
    /// Federation off: no link served, no peer dialled.
    pub fn disabled() -> Federation {
        Federation { inner: None }
    }

    /// Federation as configured, with the stored peers read once.
    ///
    /// # Errors
    /// A configured peer that does not check, a peer both configured and
    /// stored, or a database failure, as a message.
    pub async fn start(
        identity: Identity,
        settings: FederationSettings,
        store: Store,
        metrics: Arc<Metrics>,
    ) -> Result<Federation, String> {
        let configured = settings
            .peers
            .iter()
            .map(|p| Peer::from_settings(p, settings.allow_plain_links))
            .collect::<Result<Vec<_>, _>>()?;
        let federation = Federation {
            inner: Some(Arc::new(Inner {
                identity,
                settings,
                configured,
                peers: RwLock::new(Arc::new(Vec::new())),
                store,
                metrics,
            })),
        };
        federation.reload().await?;
        Ok(federation)
    }

    fn inner(&self) -> Option<&Inner> {
        self.inner.as_deref()
    }

    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// This hub's identity, when federating.
    pub fn identity(&self) -> Option<&Identity> {
        self.inner().map(|i| &i.identity)
    }

    /// The settings (defaults when disabled).
    pub fn settings(&self) -> FederationSettings {
        self.inner().map(|i| i.settings.clone()).unwrap_or_default()
    }

    /// Every peer in force.
    pub fn peers(&self) -> Arc<Vec<Peer>> {
        self.inner()
            .map(|i| crate::sync::read(&i.peers).clone())
            .unwrap_or_default()
    }

    /// The peer named `name`, if it is one.
    pub fn peer(&self, name: &str) -> Option<Peer> {
        self.peers().iter().find(|p| p.name == name).cloned()
    }

    pub fn store(&self) -> Option<&Store> {
        self.inner().map(|i| &i.store)
    }

    pub fn metrics(&self) -> Option<&Metrics> {
        self.inner().map(|i| &*i.metrics)
    }

    /// Re-reads the stored peers. A stored peer that no longer checks is
    /// left out, with a warning, rather than stopping the others.
    ///
    /// # Errors
    /// A peer both configured and stored, or a database failure.
    pub async fn reload(&self) -> Result<(), String> {
        let Some(inner) = self.inner() else {
            return Ok(());
        };
        let stored = fed_store::peers(&inner.store)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter_map(|p| {
                Peer::new(
                    &p.name,
                    &p.url,
                    &p.vkey,
                    &p.corridors,
                    inner.settings.allow_plain_links,
                    "database",
                )
                .inspect_err(|e| tracing::warn!(peer = %p.name, "stored peer ignored: {e}"))
                .ok()
            })
            .collect();
        let all = peers::merge(&inner.configured, stored)?;
        for peer in &all {
            inner
                .metrics
                .federation
                .know(&peer.name, &super::wire::EventRefusal::REASONS);
        }
        *crate::sync::write(&inner.peers) = Arc::new(all);
        Ok(())
    }
}
