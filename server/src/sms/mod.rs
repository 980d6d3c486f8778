//! The SMS bridge: severe alerts and escalations reach officers of dark
//! posts and coordinators by SMS through a gateway (Kannel), and a reply
//! such as `ACK 4F7` acknowledges the alert as its sender. docs/sms.md
//! tells the whole story; in short:
//!
//! - [`planner`] decides which SMS should exist (durable state in, unique
//!   outbox rows out), on every node;
//! - [`sender`] hands them to the [`gateway`], one node at a time, with
//!   retries and a rate, and [`http`] takes Kannel's delivery reports;
//! - [`inbound`] reads replies ([`reply`]) and applies them through the
//!   alerts' own steps;
//! - [`steps`] are the user's phone, verification and preferences;
//!   [`policy`] the pure rules; [`compose`] and [`gsm`] the texts and what
//!   they cost; [`store`] the SQL; [`settings`] the `[sms]` settings.

pub mod compose;
pub mod gateway;
pub mod gsm;
pub mod http;
pub mod inbound;
pub mod planner;
pub mod policy;
pub mod reply;
pub mod sender;
pub mod settings;
pub mod steps;
pub mod store;

use crate::state::AppState;
use std::sync::Arc;
use std::time::Duration;

/// SMS in the outbox per state, for the metrics.
///
/// # Errors
/// A database failure.
pub async fn counts(state: &AppState) -> crate::store::Result<Vec<(String, i64)>> {
    let mut conn = state.store.reader().await?;
    store::state_counts(&mut conn).await
}

/// Starts the planner and the sender on this node (nothing when
/// `sms.enabled` is off).
///
/// # Errors
/// The gateway's HTTP client cannot be built.
pub fn start(state: &AppState) -> anyhow::Result<()> {
    let settings = state.settings.sms.clone();
    if !settings.enabled {
        return Ok(());
    }
    let gateway: Arc<dyn gateway::Gateway> = Arc::new(gateway::Kannel::new(&settings)?);
    let state_for_task = state.clone();
    state.tracker.spawn(async move {
        let state = state_for_task;
        let mut every = tokio::time::interval(Duration::from_millis(settings.check_interval_ms));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = state.shutdown.cancelled() => break,
                _ = every.tick() => {}
            }
            if let Err(error) = planner::plan(&state).await {
                tracing::warn!(%error, "SMS planning failed; will retry");
            }
            if let Err(error) = sender::send_due(&state, gateway.as_ref()).await {
                tracing::warn!(%error, "SMS sending failed; will retry");
            }
        }
        tracing::debug!("SMS bridge stopped");
    });
    Ok(())
}
