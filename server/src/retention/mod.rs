//! Retention: personal free text is redacted once it is older than
//! `retention.redact_after_secs`, while counts, alert structure, authors of
//! record and the audit trail remain. One node at a time does the work
//! (a lease in the `jobs` table); every redacted event gets a tombstone
//! leaf in the verifiable log in the same transaction (docs/audit.md §7),
//! and every batch an audit entry. Each node also drops its in-memory
//! copies of redacted events, so a resuming client is served the log's
//! redacted bodies. Legal mapping: docs/operations.md, "Retention".

pub mod policy;
pub mod settings;
mod steps;
mod store;

pub use steps::{run_once, Outcome};

use crate::state::AppState;
use std::time::Duration;

/// Starts the periodic job on every node (does nothing while
/// `redact_after_secs` is 0).
pub fn start(state: &AppState) {
    let settings = state.settings.retention.clone();
    if settings.redact_after_secs == 0 {
        return;
    }
    let state_for_task = state.clone();
    state.tracker.spawn(async move {
        let state = state_for_task;
        let mut every = tokio::time::interval(Duration::from_millis(settings.check_interval_ms));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut forgotten = 0;
        loop {
            tokio::select! {
                () = state.shutdown.cancelled() => break,
                _ = every.tick() => {}
            }
            match run_once(&state, crate::store::now_ms()).await {
                Ok(Some(outcome))
                    if outcome.events + outcome.alerts + outcome.flow_versions > 0 =>
                {
                    tracing::info!(
                        events = outcome.events,
                        alerts = outcome.alerts,
                        flow_versions = outcome.flow_versions,
                        "retention: personal text redacted"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "retention run failed; will retry"),
            }
            // Whichever node redacted, drop what this node keeps in memory.
            match store::last_redacted_event(&state.store).await {
                Ok(Some(seq)) if seq > forgotten => {
                    state.hub.forget_through(seq).await;
                    forgotten = seq;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "retention: cannot read redactions"),
            }
        }
    });
}
