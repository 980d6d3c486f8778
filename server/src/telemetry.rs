//! Log set-up: `RUST_LOG`-style filtering (default `info`), text or JSON lines.
//! Text is coloured only when stderr is a terminal (and `NO_COLOR` is
//! unset): journald, files and pipes get plain lines.
//! Whatever `RUST_LOG` says, the WebSocket and HTTP libraries never log
//! below `info`: at `debug`/`trace` they write received frames and headers,
//! and with them tokens and passwords.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Targets capped at `info`, after `RUST_LOG` (a later directive for the
/// same target wins): they would log frame payloads or request headers.
pub const NEVER_VERBOSE: &[&str] = &[
    "tungstenite=info",
    "tokio_tungstenite=info",
    "hyper=info",
    "hyper_util=info",
    "h2=info",
];

/// Installs the global subscriber once; later calls are ignored (tests).
pub fn init(format: LogFormat) {
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    for directive in NEVER_VERBOSE {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
