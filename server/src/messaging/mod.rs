//! Messaging: text messages on channels (publish), a channel's stored
//! history, the channels a user may use, and presence at the posts. The
//! socket and REST adapters are thin layers over the same steps and
//! queries, so both answer the same request the same way.

pub mod http;
pub mod queries;
pub mod socket;
pub mod steps;
