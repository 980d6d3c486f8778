//! `mpaka peer identity|add|list|status|remove`: this hub's name and key
//! (what the other side pins), and the peers stored in the database. A
//! running hub picks up added and removed peers within a second or two.
//! Peers of the configuration file are listed too, but changed only there.

use super::StoreArgs;
use crate::federation::identity::Identity;
use crate::federation::peers::{self, Peer};
use crate::federation::store::{self as fed_store, StoredPeer};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// Print this hub's federation name and the key peers pin.
    Identity,
    /// Add (or replace) a peer: its hub name, base URL and pinned key.
    Add {
        /// The peer's hub name, e.g. `tz.mpaka`.
        name: String,
        /// Its base URL, e.g. `wss://tz.example.org`.
        #[arg(long)]
        url: String,
        /// Its key, as `mpaka peer identity` prints it there.
        #[arg(long)]
        key: String,
        /// A corridor both hubs are party to (repeat for several).
        #[arg(long = "corridor")]
        corridors: Vec<String>,
    },
    /// List the peers in force (configuration and database).
    List,
    /// Each peer's link: resume point, lag, last contact, refused items.
    Status,
    /// Remove a peer added with `peer add`.
    Remove { name: String },
}

/// Runs `mpaka peer …`.
///
/// # Errors
/// Bad configuration or arguments; the database cannot be opened.
pub async fn run(args: StoreArgs, command: PeerCommand) -> anyhow::Result<()> {
    let settings = args.settings()?;
    let fed = &settings.federation;
    if let PeerCommand::Identity = command {
        let identity = Identity::load(&settings)?;
        anyhow::ensure!(
            fed.enabled(),
            "federation.name is not set: this hub has no federation name yet"
        );
        out!("name\t{}", identity.name);
        out!("key\t{}", identity.vkey);
        return Ok(());
    }
    let store = super::open_store(&settings, false).await?;
    let configured = fed
        .peers
        .iter()
        .map(|p| Peer::from_settings(p, fed.allow_plain_links))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("federation.peers: {e}"))?;
    let stored = || async {
        let rows = fed_store::peers(&store).await?;
        anyhow::Ok(
            rows.into_iter()
                .filter_map(|p| {
                    Peer::new(
                        &p.name,
                        &p.url,
                        &p.vkey,
                        &p.corridors,
                        fed.allow_plain_links,
                        "database",
                    )
                    .ok()
                })
                .collect::<Vec<_>>(),
        )
    };
    match command {
        PeerCommand::Identity => unreachable!("answered above"),
        PeerCommand::Add {
            name,
            url,
            key,
            corridors,
        } => {
            let peer = Peer::new(
                &name,
                &url,
                &key,
                &corridors,
                fed.allow_plain_links,
                "database",
            )
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            anyhow::ensure!(
                !configured.iter().any(|p| p.name == name),
                "{name} is a peer of the configuration file: change it there"
            );
            anyhow::ensure!(name != fed.name, "{name} is this hub's own name");
            fed_store::put_peer(
                &store,
                &StoredPeer {
                    name: peer.name.clone(),
                    url: peer.url.to_string(),
                    vkey: peer.vkey.clone(),
                    corridors: peer.corridors.iter().cloned().collect(),
                },
            )
            .await?;
            out!("peer {name} stored; a running hub dials it within seconds");
        }
        PeerCommand::List => {
            let all = peers::merge(&configured, stored().await?).map_err(anyhow::Error::msg)?;
            for peer in all {
                let corridors: Vec<&str> = peer.corridors.iter().map(String::as_str).collect();
                out!(
                    "{}\t{}\t{}\t{}\t{}",
                    peer.name,
                    peer.url,
                    peer.source,
                    corridors.join(","),
                    peer.vkey
                );
            }
        }
        PeerCommand::Status => {
            let all = peers::merge(&configured, stored().await?).map_err(anyhow::Error::msg)?;
            let now = crate::store::now_ms();
            let ago = |at: Option<i64>| {
                at.map_or_else(
                    || "never".to_owned(),
                    |at| format!("{}s ago", (now - at).max(0) / 1000),
                )
            };
            out!("peer\treceived_through\tpeer_head\tlag_events\tlast_contact\tcaught_up\trefused\tlast_error");
            for peer in all {
                let link = fed_store::link(&store, &peer.name).await?;
                out!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    peer.name,
                    link.received_through,
                    link.peer_head,
                    link.pending,
                    ago(link.last_contact_at),
                    ago(link.caught_up_at),
                    link.refused,
                    link.last_error.as_deref().unwrap_or("-")
                );
            }
        }
        PeerCommand::Remove { name } => {
            anyhow::ensure!(
                fed_store::remove_peer(&store, &name).await?,
                "no peer {name} in the database"
            );
            out!("peer {name} removed; a running hub stops its link within seconds");
        }
    }
    store.close().await;
    Ok(())
}
