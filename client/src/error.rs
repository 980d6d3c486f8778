//! What can go wrong talking to a hub, and reading the credentials file.
//! Messages never contain a password or a token.

use mpaka_protocol::{ErrorBody, ServerFrame};
use std::path::PathBuf;

/// A failure talking to a hub over REST or the socket.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The hub could not be reached over HTTP, or its answer was not the
    /// expected JSON.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// The hub answered a REST call with an error status. `error` is the
    /// documented JSON error body when the answer carried one.
    #[error("{status}: {}", .error.as_ref().map_or("unknown error", |e| e.message.as_str()))]
    Refused {
        /// The HTTP status, e.g. 401 for a wrong password.
        status: u16,
        /// The body, when it was the documented error body.
        error: Option<ErrorBody>,
    },
    /// The hub refused a socket frame with an `error` frame (for example
    /// the `auth` frame with an expired token).
    #[error("{}: {}", .0.code, .0.message)]
    Rejected(ErrorBody),
    /// The WebSocket connection failed.
    #[error(transparent)]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
    /// Certificates to trust could not be loaded (names the file).
    #[error("cannot use the CA certificates in {0}")]
    Trust(String),
    /// The hub closed the socket; `code` is the close code when it sent one
    /// (1001: the hub is shutting down; see docs/protocol.md).
    #[error("connection closed{}", .code.map(|c| format!(": {c} {reason}")).unwrap_or_default())]
    Closed {
        /// The close code, when the hub sent a close frame.
        code: Option<u16>,
        /// The close reason (may be empty).
        reason: String,
    },
    /// A text frame from the hub was not a [`ServerFrame`].
    #[error("undecodable frame {text}: {source}")]
    Decode {
        /// The frame as received.
        text: String,
        /// Why it does not decode.
        source: serde_json::Error,
    },
    /// The hub answered with a frame the exchange does not allow (for
    /// example anything but `welcome` or `error` to `auth`).
    #[error("unexpected frame {0:?}")]
    Unexpected(Box<ServerFrame>),
}

impl Error {
    /// The HTTP status of a refused REST call.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A demo credentials file that cannot be read or is not in the format
/// `mpaka serve --demo` writes.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why not.
        source: std::io::Error,
    },
    /// The first line is not the expected header.
    #[error("not a demo credentials file: the first line must be `{expected}`")]
    Header {
        /// The header the parser expects.
        expected: &'static str,
    },
    /// A line is malformed; `line` counts from 1, including the header.
    /// The line itself is not repeated: it holds a password.
    #[error("line {line} of the demo credentials: {reason}")]
    Line {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}
