//! Building and running the hub: `App::build` opens the store, starts the
//! hub's tasks and binds the listener (so tests can use port 0 and read
//! `local_addr`); `App::run` serves until the given shutdown future resolves,
//! then closes every session with "going away", waits for them and flushes
//! storage.

use crate::auth::{self, Auth};
use crate::config::Settings;
use crate::hub::{Committer, Hub};
use crate::metrics::Metrics;
use crate::store::Store;
use axum::serve::ListenerExt;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for sessions and tasks before giving up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub hub: Hub,
    pub auth: Auth,
    pub committer: Committer,
    pub metrics: Arc<Metrics>,
    /// The verifiable log's signer and witness.
    pub log: crate::vlog::Log,
    /// Writes per user (publishes, alert and SOP steps).
    pub write_limiter: Arc<DefaultKeyedRateLimiter<i64>>,
    /// Sessions end when this is cancelled.
    pub shutdown: CancellationToken,
    /// Every spawned session and background task, awaited at shutdown.
    pub tracker: TaskTracker,
    /// Open WebSocket connections, for the `max_connections` limit.
    pub open_sockets: Arc<tokio::sync::Semaphore>,
}

/// A built hub, bound and ready to serve.
pub struct App {
    listener: TcpListener,
    state: AppState,
}

impl App {
    /// Opens storage, starts the hub and binds the listener.
    ///
    /// # Errors
    /// Unusable data directory or database, or an address that cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        settings
            .alerts
            .check()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        settings
            .log
            .check()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        std::fs::create_dir_all(&settings.data_dir)?;
        let store = Store::open(&settings.database_url()).await?;
        let secret = auth::signing_key(&settings)?;
        let metrics = Arc::new(Metrics::new());
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let node_id = settings
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
        let hub = Hub::start(
            store.clone(),
            metrics.clone(),
            node_id,
            Duration::from_millis(settings.limits.poll_ms),
            Duration::from_millis(settings.limits.presence_flush_ms),
            &tracker,
            shutdown.clone(),
        )
        .await?;
        let committer =
            Committer::start(store.clone(), metrics.clone(), &tracker, shutdown.clone());
        let log =
            crate::vlog::Log::open(store.clone(), settings.log.clone(), &settings.data_dir).await?;
        log.start(&tracker, shutdown.clone());
        let quota = Quota::per_second(
            NonZeroU32::new(settings.limits.publish_per_sec.max(1)).unwrap_or(NonZeroU32::MIN),
        )
        .allow_burst(
            NonZeroU32::new(settings.limits.publish_burst.max(1)).unwrap_or(NonZeroU32::MIN),
        );
        let listener = TcpListener::bind(settings.listen).await?;
        let state = AppState {
            auth: Auth::new(store.clone(), &secret, &settings),
            open_sockets: Arc::new(tokio::sync::Semaphore::new(settings.ws.max_connections)),
            settings: Arc::new(settings),
            store,
            hub,
            committer,
            metrics,
            log,
            write_limiter: Arc::new(RateLimiter::keyed(quota)),
            shutdown,
            tracker,
        };
        crate::alerts::escalation::start(&state);
        Ok(App { listener, state })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops gracefully.
    ///
    /// # Errors
    /// The listener fails.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App { listener, state } = self;
        let router = crate::http::router(state.clone());
        let token = state.shutdown.clone();
        // Events are small frames written as they commit: without
        // TCP_NODELAY, Nagle's algorithm holds a frame back until the
        // previous one is acknowledged, and a delayed ACK stretches that to
        // tens of milliseconds.
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
        });
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: closing sessions");
            token.cancel();
        });
        tracing::info!(node = state.hub.presence.node_id(), "mpaka is serving");
        serve.await?;
        state.shutdown.cancel();
        state.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, state.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sessions did not finish within the grace period");
        }
        // Every write has finished: sign what the log holds now.
        if let Err(error) = state.log.checkpoint().await {
            tracing::warn!(%error, "cannot sign the shutdown checkpoint");
        }
        state.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
