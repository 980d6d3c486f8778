//! The verifiable log (docs/audit.md): one append-only RFC 9162 Merkle tree
//! whose leaves are every event and every audit entry, each appended in the
//! same transaction as its row (`store::WriteTx`). The hub signs
//! checkpoints of the tree (C2SP signed notes, Ed25519, with a key kept in
//! its own file, never in the database) every N entries or T seconds and
//! at shutdown, keeps every one, writes them to an append-only directory
//! and offers them to witnesses; it serves inclusion and consistency
//! proofs; the verifier recomputes the tree from the rows and names the
//! first entry that differs. The hub can itself witness other hubs' logs.

pub mod http;
pub mod key;
pub mod leaf;
pub mod log;
pub mod merkle;
pub mod note;
pub mod proof;
/// The log's tables live with the other core tables, in the store layer.
pub use crate::store::log as store;
pub mod settings;
pub use log::{Log, LogError};
pub use settings::{LogSettings, WitnessPeer};
pub mod verify;
pub mod witness;
