//! Operators' checks and chores: `mpaka config check` (the effective
//! configuration with its sources, secrets redacted) and `mpaka key …`
//! (rotate the access-token signing key, generate one for the
//! configuration).

use super::StoreArgs;
use crate::config::report::Report;
use clap::Subcommand;
use std::net::SocketAddr;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (value and source of every key,
    /// secrets redacted) and every problem; exit 1 if there is one.
    Check {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on, as `mpaka serve --listen` would.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Replace the signing key in {data_dir}/jwt.key with a new one; the
    /// old one keeps verifying until its tokens expire (nobody is logged
    /// out). Restart the hub to sign with the new key.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a new random key for jwt_secret / jwt_verify_secrets.
    Generate,
}

/// Runs `mpaka config …`.
///
/// # Errors
/// The configuration has problems (they are printed first).
pub fn config(command: ConfigCommand) -> anyhow::Result<()> {
    let ConfigCommand::Check { store, listen } = command;
    let mut flags: Vec<(&str, &str)> = Vec::new();
    if store.data_dir.is_some() {
        flags.push(("data_dir", "--data-dir"));
    }
    if store.database_url.is_some() {
        flags.push(("database_url", "--database-url"));
    }
    if listen.is_some() {
        flags.push(("listen", "--listen"));
    }
    let (report, _) = Report::build(store.config.as_deref(), &flags, |settings| {
        if let Some(dir) = &store.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(url) = &store.database_url {
            settings.database_url = Some(crate::config::Secret::new(url.clone()));
        }
        if let Some(listen) = listen {
            settings.listen = listen;
        }
    });
    out!(
        "# mpaka {} (commit {})",
        crate::build_info::VERSION,
        crate::build_info::COMMIT
    );
    out_part!("{report}");
    anyhow::ensure!(
        report.problems.is_empty(),
        "{} configuration problem(s)",
        report.problems.len()
    );
    Ok(())
}

/// Runs `mpaka key …`.
///
/// # Errors
/// See [`crate::auth::keys::rotate`].
pub fn key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Generate => {
            out!("{}", crate::auth::random_token());
            Ok(())
        }
        KeyCommand::Rotate { store } => {
            let settings = store.settings()?;
            let rotation = crate::auth::keys::rotate(&settings, crate::store::now_ms())?;
            out!(
                "new signing key {} in {}; key {} retired, still verifying for {} s",
                rotation.new_kid,
                settings.data_dir.join("jwt.key").display(),
                rotation.retired_kid,
                (rotation.retired_until_ms - crate::store::now_ms()) / 1000
            );
            out!("restart the hub to sign with the new key (sessions continue)");
            Ok(())
        }
    }
}
