//! The one place that knows how to talk to an mpaka hub as a client. The
//! `mpaka client` command, both end-to-end test trees and the benchmark use
//! it, so logging in, reading the demo credentials and the socket handshake
//! are written once.
//!
//! - [`HubClient`]: the REST side of a session — log in, refresh, log out —
//!   and the URLs of a hub's API and socket.
//! - [`Socket`]: a typed client of `GET /ws` — send the `auth` frame, get the
//!   `welcome`, send [`ClientFrame`]s, receive [`ServerFrame`]s, and wait for
//!   the reply to a request while events keep arriving.
//! - [`DemoCredentials`]: the `demo-credentials.tsv` file that
//!   `mpaka serve --demo` writes (its only writer and its only parser).
//!
//! Errors are [`Error`] (talking to the hub) and [`CredentialsError`]
//! (reading the file). Nothing here times out by itself: wrap calls in
//! `tokio::time::timeout` where a deadline matters.
//!
//! ```no_run
//! # async fn tour() -> Result<(), mpaka_client::Error> {
//! use mpaka_client::HubClient;
//! use mpaka_protocol::{ClientFrame, ServerFrame};
//!
//! let hub = HubClient::new("http://127.0.0.1:8080");
//! let tokens = hub.login("mugina.officer", "its password").await?;
//! let (mut socket, welcome) = hub.connect(&tokens.access_token).await?;
//! println!("{} may read {} channels", welcome.user.username, welcome.channels.len());
//! let reply = socket.request(&ClientFrame::Presence { id: "p1".into() }).await?;
//! assert!(matches!(reply, ServerFrame::Presence { .. }));
//! hub.logout(&tokens.refresh_token).await?;
//! # Ok(()) }
//! ```
//!
//! [`ClientFrame`]: mpaka_protocol::ClientFrame
//! [`ServerFrame`]: mpaka_protocol::ServerFrame

mod credentials;
mod error;
mod rest;
mod socket;
#[cfg(feature = "tls")]
mod trust;

pub use credentials::{DemoAccount, DemoCredentials, CREDENTIALS_FILE};
pub use error::{CredentialsError, Error};
pub use rest::HubClient;
pub use socket::{Socket, WebSocket};
#[cfg(feature = "tls")]
pub use trust::Trust;

/// The WebSocket library the [`Socket`] is built on, for callers that need
/// raw messages (close codes, binary frames) or its configuration.
pub use tokio_tungstenite::tungstenite;
