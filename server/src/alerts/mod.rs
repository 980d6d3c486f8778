//! Mass-movement alerts on the server side. For now only their exchange
//! with other systems as OASIS CAP 1.2 ([`cap`]); the alert wire types are
//! in `mpaka_protocol`.

pub mod cap;
