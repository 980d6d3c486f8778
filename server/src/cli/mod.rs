//! The command line: `mpaka serve`, account and post management, a client
//! for operators' scripts, and small tools (schema, healthcheck).

/// Prints a line to stdout like `println!`, but a closed pipe (`mpaka user
/// list | head -1`) ends the process quietly with status 0 instead of a
/// panic; any other write error ends it with status 1.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*), true)
    };
}
/// [`out!`] without the newline.
macro_rules! out_part {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*), false)
    };
}

mod client;
mod client_alerts;
pub mod client_flows;
mod client_sops;
mod data;
mod log;
mod manage;
mod ops;
mod peer;
mod sms;

use crate::config::{DatabaseSummary, Settings};
use crate::store::Store;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Writes to stdout; see [`out!`].
pub fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let result = stdout
        .write_fmt(args)
        .and_then(|()| {
            if newline {
                stdout.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| stdout.flush());
    if let Err(error) = result {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("mpaka: cannot write to standard output: {error}");
        std::process::exit(1);
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "mpaka",
    version = crate::build_info::LONG_VERSION,
    about = "Real-time coordination hub for border services"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the configuration and the database are; shared by every command
/// that touches storage.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// TOML configuration file.
    #[arg(long, env = "MPAKA_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, signing key, demo credentials).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…` (default: SQLite in the data directory).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
}

impl StoreArgs {
    /// Settings from file and environment, with these flags on top.
    ///
    /// # Errors
    /// Invalid configuration, naming the key.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::load(self.config.as_deref())?;
        if let Some(dir) = &self.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            settings.database_url = Some(crate::config::Secret::new(url.clone()));
        }
        Ok(settings)
    }
}

/// Opens the configured database for a command. A SQLite file that does
/// not exist yet is created only when `init` is set: otherwise a command
/// run in the wrong directory would report success into a new, empty hub.
/// PostgreSQL connections are named `mpaka/cli`.
///
/// # Errors
/// No database there (without `init`), or the database cannot be opened
/// (the message names the file or server).
pub async fn open_store(settings: &Settings, init: bool) -> anyhow::Result<Store> {
    let url = settings.database_url();
    let database = DatabaseSummary::of(&url);
    if database.kind == "sqlite" {
        let file = Path::new(&database.location);
        if !file.exists() {
            anyhow::ensure!(
                init,
                "no hub database at {}: run this where the hub keeps its data \
                 (--data-dir, --config or MPAKA_DATA_DIR), or add --init to create \
                 a new, empty hub database there",
                std::path::absolute(file)
                    .unwrap_or_else(|_| file.to_owned())
                    .display()
            );
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    anyhow::anyhow!("cannot create the directory {}: {e}", dir.display())
                })?;
            }
        }
    }
    Ok(Store::open_as(&url, "mpaka/cli").await?)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Create demo posts, corridors and users (once) and print their passwords.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit (creates the SQLite database and
    /// its directory if needed; nothing on disk for PostgreSQL).
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write every table to a file (JSON lines), e.g. to move to PostgreSQL.
    Export(data::ExportArgs),
    /// Load an export file into an empty database, then verify it.
    Import(data::ImportArgs),
    /// Copy the SQLite database while the hub serves, then check the copy.
    Backup(data::BackupArgs),
    /// Manage user accounts.
    User {
        #[command(flatten)]
        store: StoreArgs,
        /// Create the hub database if there is none yet (otherwise refused).
        #[arg(long, global = true)]
        init: bool,
        #[command(subcommand)]
        command: manage::UserCommand,
    },
    /// Manage border posts (and their corridors).
    Post {
        #[command(flatten)]
        store: StoreArgs,
        /// Create the hub database if there is none yet (otherwise refused).
        #[arg(long, global = true)]
        init: bool,
        #[command(subcommand)]
        command: manage::PostCommand,
    },
    /// The verifiable log: verify, checkpoint, prove, check a proof.
    Log(log::LogArgs),
    /// Print audit entries (id, time, actor, client address, action, target),
    /// oldest first, as tab-separated lines.
    Audit {
        #[command(flatten)]
        store: StoreArgs,
        /// Only entries with an id above this.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Only actions starting with this, e.g. `auth.`.
        #[arg(long)]
        action: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Talk to a running hub: log in, list channels, listen, send.
    Client(client::ClientArgs),
    /// Print the JSON Schema of the WebSocket protocol (or, with
    /// `--openapi`, the OpenAPI description of the REST API).
    Schema {
        /// Print the OpenAPI document of the REST API instead.
        #[arg(long)]
        openapi: bool,
    },
    /// Exit 0 if the hub at URL answers /readyz (for container health checks).
    Healthcheck {
        /// Base URL of the hub.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Also trust the CA certificates in this PEM file.
        #[arg(long, value_name = "FILE")]
        cacert: Option<PathBuf>,
    },
    /// Check the configuration: print every effective value with its
    /// source (default, file, env, flag), secrets redacted; exit 1 on problems.
    Config {
        #[command(subcommand)]
        command: ops::ConfigCommand,
    },
    /// Access-token signing keys: rotate the key file, generate a key.
    Key {
        #[command(subcommand)]
        command: ops::KeyCommand,
    },
    /// Federation peers: this hub's identity, add, list, status, remove.
    Peer {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: peer::PeerCommand,
    },
    /// The SMS gateway: send a test SMS (`mpaka sms test +25779000001`).
    Sms {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: sms::SmsCommand,
    },
}

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command fails with, for `main` to print.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            store,
            listen,
            demo,
        } => serve(store, listen, demo).await,
        Command::Migrate { store } => {
            let settings = store.settings()?;
            open_store(&settings, true).await?.close().await;
            out!(
                "migrations applied to {}",
                DatabaseSummary::of(&settings.database_url())
            );
            Ok(())
        }
        Command::Export(args) => data::export(args).await,
        Command::Import(args) => data::import(args).await,
        Command::Backup(args) => data::backup(args).await,
        Command::User {
            store,
            init,
            command,
        } => manage::user(store.settings()?, init, command).await,
        Command::Post {
            store,
            init,
            command,
        } => manage::post(store.settings()?, init, command).await,
        Command::Audit {
            store,
            after,
            action,
            limit,
        } => manage::audit(store.settings()?, after, action.as_deref(), limit).await,
        Command::Config { command } => ops::config(command),
        Command::Key { command } => ops::key(command),
        Command::Sms { store, command } => sms::run(store, command).await,
        Command::Peer { store, command } => peer::run(store, command).await,
        Command::Client(args) => client::run(args).await,
        Command::Log(args) => log::run(args).await,
        Command::Schema { openapi } => {
            let document = if openapi {
                mpaka_protocol::openapi()
            } else {
                mpaka_protocol::json_schema()
            };
            out!("{}", serde_json::to_string_pretty(&document)?);
            Ok(())
        }
        Command::Healthcheck { url, cacert } => {
            let url = client::check_server_url(&url)?;
            let http = match &cacert {
                Some(file) => mpaka_client::Trust::with_ca_file(file)?.http,
                None => reqwest::Client::new(),
            };
            let response = http
                .get(format!("{}/readyz", url.trim_end_matches('/')))
                .send()
                .await
                .map_err(|e| client::explain(url, e.into()))?;
            anyhow::ensure!(
                response.status().is_success(),
                "not ready: {}",
                response.status()
            );
            Ok(())
        }
    }
}

async fn serve(
    store_args: StoreArgs,
    listen: Option<SocketAddr>,
    demo: bool,
) -> anyhow::Result<()> {
    let mut settings = store_args.settings()?;
    if let Some(listen) = listen {
        settings.listen = listen;
    }
    crate::telemetry::init(settings.log_format);
    let data_dir = settings.data_dir.clone();
    let app = crate::App::build(settings).await?;
    if demo {
        match crate::demo::seed(&app.state().store, &data_dir).await? {
            Some(credentials) => {
                out!(
                    "Demo data created. These passwords are shown once; they are also in {}:",
                    data_dir.join(crate::demo::CREDENTIALS_FILE).display()
                );
                out!(
                    "{:<18} {:<20} {:<12} {:<8} post",
                    "username",
                    "password",
                    "role",
                    "country"
                );
                for c in credentials {
                    out!(
                        "{:<18} {:<20} {:<12} {:<8} {}",
                        c.username,
                        c.password,
                        c.role,
                        c.country.map(|c| c.to_string()).unwrap_or_default(),
                        c.post.unwrap_or_default()
                    );
                }
            }
            None => out!(
                "Demo data already present; passwords are in {}",
                data_dir.join(crate::demo::CREDENTIALS_FILE).display()
            ),
        }
    }
    out!("mpaka listening on http://{}", app.local_addr());
    app.run(shutdown_signal()).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Reads a password: from a prompt on a terminal, else one line of stdin.
/// Never from the command line, where `ps` and shell history would show it.
///
/// # Errors
/// Empty input or an unreadable stdin.
pub fn read_password(prompt: &str, confirm: bool) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        if confirm {
            let again = rpassword::prompt_password("Again: ")?;
            anyhow::ensure!(first == again, "the passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    anyhow::ensure!(!password.is_empty(), "empty password");
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    fn options_without_help(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if arg.get_long().is_some() && arg.get_help().is_none() && arg.get_id() != "help" {
                missing.push(format!("{path} --{}", arg.get_long().unwrap_or_default()));
            }
        }
        for sub in command.get_subcommands() {
            options_without_help(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }

    #[test]
    fn every_option_has_help_text() {
        let mut missing = Vec::new();
        options_without_help(&Cli::command(), "mpaka", &mut missing);
        assert!(missing.is_empty(), "options without help: {missing:#?}");
    }
}
