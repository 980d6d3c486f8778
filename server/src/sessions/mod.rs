//! Server-side login sessions. A session is one login: its id is the refresh
//! token family and the `sid` claim of every access token issued in it, so a
//! stolen access token dies with its session. A session ends on logout,
//! refresh-token reuse, an account change (disabled, new role, new password),
//! after its idle lifetime without a refresh, or at its absolute end. Ending
//! one is a row update plus a `session.ended` event on `system`, written in
//! one transaction: every node's dispatcher reads the event from the log and
//! closes the session's sockets with 4003, and every token check reads the
//! row, so the access token is refused from the commit on, on every node.

pub mod policy;
pub mod steps;
pub mod store;

pub use policy::{EndReason, Refusal};
pub use store::SessionRow;
