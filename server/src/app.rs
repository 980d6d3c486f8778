//! Building and running the hub: `App::build` opens the store, starts the
//! hub's tasks and binds the listener (so tests can use port 0 and read
//! `local_addr`); `App::run` serves until the given shutdown future resolves,
//! then closes every session with "going away", waits for them and flushes
//! storage.

use crate::auth::{self, Auth};
use crate::config::Settings;
use crate::hub::{Committer, Hub};
use crate::limits::{SocketCount, WriteLimiter};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for sessions and tasks before giving up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A built hub, bound and ready to serve.
pub struct App {
    listener: TcpListener,
    state: AppState,
    /// Where the signing key came from, for the start-up line.
    key_source: String,
}

impl App {
    /// Opens storage, starts the hub and binds the listener.
    ///
    /// # Errors
    /// Unusable data directory or database, or an address that cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        if let Some(problem) = settings.problems().into_iter().next() {
            anyhow::bail!("invalid configuration: {problem}");
        }
        // Bound first: a taken port is reported before anything else starts.
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| listen_error(settings.listen, &e))?;
        let database_url = settings.database_url();
        // The SQLite database, generated keys and demo credentials live here.
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the data directory {}: {e}",
                settings.data_dir.display()
            )
        })?;
        let node_id = settings
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
        let store = Store::open_as(&database_url, &format!("mpaka/{node_id}")).await?;
        store.guard_free_space(settings.storage.min_free_bytes);
        let keys = auth::keys::load(&settings, crate::store::now_ms())?;
        let metrics = Arc::new(Metrics::for_database(store.backend().name()));
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let hub = Hub::start(
            store.clone(),
            metrics.clone(),
            node_id,
            crate::hub::HubSettings {
                poll: settings.limits.poll_ms.duration(),
                presence_flush: settings.limits.presence_flush_ms.duration(),
                replay_cache_bytes: settings.ws.replay_cache_bytes.get(),
            },
            &tracker,
            shutdown.clone(),
        )
        .await?;
        let committer =
            Committer::start(store.clone(), metrics.clone(), &tracker, shutdown.clone());
        let log =
            crate::vlog::Log::open(store.clone(), settings.log.clone(), &settings.data_dir).await?;
        log.start(&tracker, shutdown.clone());
        let federation = if settings.federation.enabled() {
            let identity = crate::federation::identity::Identity::load(&settings)?;
            crate::federation::Federation::start(
                identity,
                settings.federation.clone(),
                store.clone(),
                metrics.clone(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("federation: {e}"))?
        } else {
            crate::federation::Federation::disabled()
        };
        let settings_rate = (
            settings.limits.publish_per_sec,
            settings.limits.publish_burst,
        );
        let state = AppState {
            auth: Auth::new(store.clone(), &keys, &settings),
            open_sockets: Arc::new(tokio::sync::Semaphore::new(
                settings.ws.max_connections.get(),
            )),
            sockets_per_user: SocketCount::new(settings.ws.max_connections_per_user.get()),
            sockets_per_address: SocketCount::new(settings.ws.max_connections_per_address.get()),
            settings: Arc::new(settings),
            store,
            hub,
            committer,
            metrics,
            log,
            federation,
            write_limiter: WriteLimiter::new(settings_rate.0, settings_rate.1),
            shutdown,
            tracker,
        };
        crate::alerts::escalation::start(
            state.store.clone(),
            state.settings.clone(),
            &state.tracker,
            state.shutdown.clone(),
        );
        crate::logins::start(&state);
        crate::retention::start(&state);
        crate::sms::start(&state)?;
        crate::federation::pull::start(&state);
        Ok(App {
            listener,
            state,
            key_source: keys.source,
        })
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
        let local_addr = self.local_addr();
        let App {
            listener,
            state,
            key_source,
        } = self;
        let router = crate::http::router(state.clone());
        let token = state.shutdown.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: closing sessions");
            token.cancel();
        });
        let database = crate::config::DatabaseSummary::of(&state.settings.database_url());
        tracing::info!(
            version = crate::build_info::VERSION,
            commit = crate::build_info::COMMIT,
            listen = %local_addr,
            database = database.kind,
            database_at = %database.location,
            signing_key = %key_source,
            node = state.hub.presence.node_id(),
            "mpaka is serving"
        );
        crate::http::serve(listener, router, state.shutdown.clone(), SHUTDOWN_GRACE).await;
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

/// What to say when the listener cannot bind: the address and what to do.
fn listen_error(addr: SocketAddr, error: &std::io::Error) -> anyhow::Error {
    let hint = match error.kind() {
        std::io::ErrorKind::AddrInUse => {
            "the address is in use (another mpaka or another program listens there); \
             stop it or choose another address with --listen or MPAKA_LISTEN"
        }
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges: use a higher port behind the proxy)"
        }
        std::io::ErrorKind::AddrNotAvailable => "no interface of this machine has that address",
        _ => "",
    };
    if hint.is_empty() {
        anyhow::anyhow!("cannot listen on {addr}: {error}")
    } else {
        anyhow::anyhow!("cannot listen on {addr}: {hint}")
    }
}
