//! Federation (docs/federation.md): each country runs its own hub and the
//! hubs share exactly the joint part of the work. This module owns the
//! hub's identity among peers (`identity`: its name and the log's key),
//! the peers (`peers`, configured or stored, each with a pinned key and
//! its corridors), what may cross (`policy`: fixed channel rules and the
//! per-field hook), the link protocol (`wire`), both ends of the link
//! (`serve`: the origin streams its own shared events, signed; `pull`: the
//! receiver verifies them and stores each once through the normal write
//! path, resuming by itself after any cut), their SQL (`store`) and the
//! running state (`runtime`). Phase 1: replication of shared events;
//! actions across the border and witnessing come next.

pub mod http;
pub mod identity;
pub mod peers;
pub mod policy;
pub mod pull;
pub mod runtime;
pub mod serve;
pub mod settings;
pub mod store;
pub mod wire;

pub use runtime::Federation;
