//! Mass-movement alerts on the server side: the steps of an alert's life
//! and who may take them ([`steps`], [`policy`]), their storage ([`store`]),
//! escalation of unacknowledged alerts ([`escalation`]), queries
//! ([`queries`]), the socket frames ([`socket`]) and REST routes ([`http`]),
//! and exchange with other systems as OASIS CAP 1.2 ([`cap`]). The alert
//! wire types are in `mpaka_protocol`.
//!
//! Every step is an event on `corridor:{slug}` of the alert's post, in the
//! hub's one event log, so it is delivered live and on resume like any
//! other event; the alert tables hold the current state and history for
//! queries and escalation.

pub mod cap;
pub mod escalation;
pub mod http;
pub mod policy;
pub mod queries;
pub mod socket;
pub mod steps;
pub mod store;
