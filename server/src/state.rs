//! `AppState`: the handles every request handler and background task
//! shares (settings, store, hub, auth, committer, metrics, limiter,
//! shutdown). It knows no feature and no transport, so features and
//! transports can both depend on it without a circle.

use crate::auth::Auth;
use crate::config::Settings;
use crate::hub::{Committer, Hub};
use crate::limits::{SocketCount, WriteLimiter};
use crate::metrics::Metrics;
use crate::store::Store;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
    pub log: crate::vlog::log::Log,
    /// This hub's federation with peer hubs (disabled unless configured).
    pub federation: crate::federation::runtime::Federation,
    /// Writes per user (publishes, alert and SOP steps).
    pub write_limiter: WriteLimiter,
    /// Sessions end when this is cancelled.
    pub shutdown: CancellationToken,
    /// Every spawned session and background task, awaited at shutdown.
    pub tracker: TaskTracker,
    /// Open WebSocket connections, for the `max_connections` limit.
    pub open_sockets: Arc<tokio::sync::Semaphore>,
    /// Open sockets per account (`ws.max_connections_per_user`).
    pub sockets_per_user: SocketCount<i64>,
    /// Open sockets per client address (`ws.max_connections_per_address`),
    /// counted from the upgrade, before authentication.
    pub sockets_per_address: SocketCount<std::net::IpAddr>,
}
