//! `mpaka client`: a small command-line client for the README tour and
//! operators' scripts. It logs in over REST and talks over the socket like
//! any other client.

use clap::{Args, Subcommand};
use mpaka_client::HubClient;
use mpaka_protocol::{ChannelId, ClientFrame, EventData, ServerFrame, TokenResponse};

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Base URL of the hub.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "MPAKA_SERVER")]
    server: String,
    /// Username to log in as; the password is read from a prompt or stdin.
    #[arg(long, env = "MPAKA_USER")]
    user: String,
    /// Print frames as JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Also trust the CA certificates in this PEM file (a hub behind a
    /// private certificate authority). The system's store, or
    /// SSL_CERT_FILE, and the Web PKI roots are always trusted.
    #[arg(long, value_name = "FILE")]
    cacert: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// List the channels you may read (and write).
    Channels,
    /// Print events as they arrive (all readable channels unless --channel).
    Listen {
        /// Channel to follow, e.g. national:BI (repeat for several).
        #[arg(long = "channel")]
        channels: Vec<ChannelId>,
        /// Replay stored events with a higher sequence number first.
        #[arg(long)]
        since: Option<u64>,
    },
    /// Publish one message and wait until it is stored.
    Send {
        /// Channel to publish on, e.g. corridor:mugina-manyovu.
        #[arg(long)]
        channel: ChannelId,
        /// fr, en, sw, rn…
        #[arg(long)]
        lang: Option<String>,
        text: String,
    },
    /// Show which posts are online.
    Presence,
    /// Read, acknowledge and publish SOPs (see `mpaka client sop --help`).
    #[command(subcommand)]
    Sop(super::client_sops::SopCommand),
    /// Raise, acknowledge, list alerts and fetch their CAP documents.
    Alert {
        #[command(subcommand)]
        command: super::client_alerts::AlertCommand,
    },
    /// Import paper tallies of flow figures from CSV (see docs/flows.md).
    Flow {
        #[command(subcommand)]
        command: super::client_flows::FlowCommand,
    },
}

/// Logs in over REST with a password read from the prompt or stdin, then,
/// when the account has a second factor, a code read the same way (on
/// stdin: the line after the password).
async fn login(hub: &HubClient, username: &str) -> anyhow::Result<TokenResponse> {
    let password = super::read_password(&format!("Password for {username}: "), false)?;
    let refused = |error: Option<mpaka_protocol::ErrorBody>| {
        anyhow::anyhow!(
            "login failed: {}",
            error.map_or_else(|| "unknown error".into(), |e| e.message)
        )
    };
    match hub.login(username, &password).await {
        Ok(tokens) => Ok(tokens),
        Err(mpaka_client::Error::Refused {
            error: Some(body), ..
        }) if body.code == mpaka_protocol::ErrorCode::SecondFactorRequired => {
            let challenge = body.challenge.unwrap_or_default();
            let code = super::read_password(
                "Code from the authenticator app (or a recovery code): ",
                false,
            )?;
            match hub.second_factor(&challenge, code.trim()).await {
                Ok(tokens) => Ok(tokens),
                Err(mpaka_client::Error::Refused { error, .. }) => Err(refused(error)),
                Err(e) => Err(e.into()),
            }
        }
        Err(mpaka_client::Error::Refused {
            error: Some(body), ..
        }) if body.code == mpaka_protocol::ErrorCode::SecondFactorEnrolmentRequired => {
            anyhow::bail!(
                "login failed: your role requires a second factor; log in once in the web console to enrol an authenticator app"
            )
        }
        Err(mpaka_client::Error::Refused { error, .. }) => Err(refused(error)),
        Err(e) => Err(e.into()),
    }
}

/// One line for people about what an event says.
fn describe(data: &EventData) -> String {
    let alert = |step: &str, a: &mpaka_protocol::Alert| {
        format!(
            "{step} alert {} — {} {} {} people, {} ({}{})",
            a.id,
            a.kind,
            a.direction,
            a.headcount,
            a.severity,
            a.state,
            if a.status == mpaka_protocol::AlertStatus::Actual {
                String::new()
            } else {
                format!(", {}", a.status).to_uppercase()
            }
        )
    };
    match data {
        EventData::Message(m) => m.text.clone(),
        EventData::AlertRaised(b) => alert("raised", &b.alert),
        EventData::AlertAcknowledged(b) => alert("acknowledged", &b.alert),
        EventData::AlertUpdated(b) => alert("updated", &b.alert),
        EventData::AlertResolved(b) => alert("resolved", &b.alert),
        EventData::AlertCancelled(b) => alert("cancelled", &b.alert),
        EventData::AlertEscalated(b) => alert(&format!("escalated to level {}", b.level), &b.alert),
        EventData::SopPublished(v) => format!(
            "published SOP {} version {} ({})",
            v.slug,
            v.version,
            v.titles.values().next().cloned().unwrap_or_default()
        ),
        EventData::SopRetired(r) => format!("retired SOP {}: {}", r.slug, r.reason),
        EventData::SopReminder(r) => format!(
            "reminder: please read and acknowledge {} version {} ({}) {}",
            r.slug, r.version, r.title, r.message
        ),
        EventData::SopAcknowledged(a) => {
            format!("acknowledged SOP {} version {}", a.slug, a.version)
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn print(frame: &ServerFrame, json: bool) {
    if json {
        out!("{}", serde_json::to_string(frame).unwrap_or_default());
        return;
    }
    match frame {
        ServerFrame::Event(event) => {
            let who = event
                .author
                .as_ref()
                .and_then(|a| a.username.clone().or_else(|| Some(a.role.to_string())))
                .unwrap_or_else(|| "hub".into());
            let what = describe(&event.data);
            out!(
                "#{} {} [{}] {}: {}",
                event.seq,
                event.at,
                event.channel,
                who,
                what
            );
        }
        ServerFrame::Error { error, .. } => eprintln!("error {}: {}", error.code, error.message),
        ServerFrame::Published {
            seq, at, duplicate, ..
        } => out!(
            "stored as #{seq} at {at}{}",
            if *duplicate {
                " (already sent before)"
            } else {
                ""
            }
        ),
        ServerFrame::Subscribed { through_seq, .. } => {
            eprintln!("-- caught up to #{through_seq}; live from here --")
        }
        other => out!("{}", serde_json::to_string(other).unwrap_or_default()),
    }
}

/// The hub's base URL as given, if it names its scheme: `hub.example.org`
/// would otherwise fail later with an unhelpful "relative URL" error.
///
/// # Errors
/// No `http://` or `https://` in front, with the URL to type instead.
pub fn check_server_url(url: &str) -> anyhow::Result<&str> {
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(url);
    }
    anyhow::bail!(
        "the hub's URL {url:?} has no scheme: write https://{url} (behind the TLS proxy) \
         or http://{url} (a node's own port)"
    )
}

/// Says what a failed request to `server` most likely means, once.
pub fn explain(server: &str, error: anyhow::Error) -> anyhow::Error {
    let chain = format!("{error:#}");
    if server.starts_with("https://")
        && (chain.contains("InvalidContentType") || chain.contains("corrupt message"))
    {
        return anyhow::anyhow!(
            "{server} answered in plain HTTP, not TLS: use http:// for a node's own port, \
             or https:// for the TLS proxy in front of it"
        );
    }
    if chain.contains("UnknownIssuer") || chain.contains("invalid peer certificate") {
        return anyhow::anyhow!(
            "cannot verify {server}'s certificate ({}): if it is signed by a private CA, \
             pass --cacert FILE (PEM) or set SSL_CERT_FILE",
            chain.rsplit(": ").next().unwrap_or_default()
        );
    }
    if chain.contains("Connection refused") || chain.contains("tcp connect error") {
        return anyhow::anyhow!("cannot reach the hub at {server}: connection refused");
    }
    error
}

pub async fn run(args: ClientArgs) -> anyhow::Result<()> {
    let server = check_server_url(&args.server)?.to_owned();
    run_checked(args).await.map_err(|e| explain(&server, e))
}

async fn run_checked(args: ClientArgs) -> anyhow::Result<()> {
    let hub = match &args.cacert {
        Some(file) => HubClient::with_trust(&args.server, mpaka_client::Trust::with_ca_file(file)?),
        None => HubClient::new(&args.server),
    };
    let http = hub.http().clone();
    let server = hub.base_url().to_owned();
    let tokens = login(&hub, &args.user).await?;
    if let ClientCommand::Alert { command } = args.command {
        return super::client_alerts::run(&server, &http, &tokens.access_token, command, args.json)
            .await;
    }
    if let ClientCommand::Flow { command } = args.command {
        return super::client_flows::run(&server, &http, &tokens.access_token, command, args.json)
            .await;
    }
    if let ClientCommand::Sop(command) = args.command {
        return super::client_sops::run(&server, &http, &tokens.access_token, command, args.json)
            .await;
    }
    let (mut socket, welcome) = hub.connect(&tokens.access_token).await?;
    match args.command {
        ClientCommand::Channels => {
            for grant in welcome.channels {
                out!(
                    "{:<28} {:<28} {}",
                    grant.channel.to_string(),
                    grant.name,
                    if grant.can_write {
                        "read/write"
                    } else {
                        "read"
                    }
                );
            }
        }
        ClientCommand::Listen { channels, since } => {
            let channels = if channels.is_empty() {
                welcome.channels.into_iter().map(|g| g.channel).collect()
            } else {
                channels
            };
            eprintln!(
                "listening as {} on {} channel(s); Ctrl-C to stop",
                welcome.user.username,
                channels.len()
            );
            socket
                .send(&ClientFrame::Subscribe {
                    id: "sub".into(),
                    channels,
                    since,
                    epoch: None,
                })
                .await?;
            loop {
                let frame = socket.recv().await?;
                print(&frame, args.json);
            }
        }
        ClientCommand::Send {
            channel,
            lang,
            text,
        } => {
            let publish = ClientFrame::Publish {
                written_at: None,
                id: uuid::Uuid::new_v4().to_string(),
                channel,
                text,
                lang,
            };
            match socket.request(&publish).await? {
                frame @ ServerFrame::Published { .. } => print(&frame, args.json),
                ServerFrame::Error { error, .. } => {
                    anyhow::bail!("{}: {}", error.code, error.message)
                }
                other => anyhow::bail!("unexpected frame {other:?}"),
            }
        }
        ClientCommand::Sop(_) => unreachable!("answered over REST above"),
        ClientCommand::Presence => {
            let presence = ClientFrame::Presence {
                id: "presence".into(),
            };
            match socket.request(&presence).await? {
                ServerFrame::Presence { posts, .. } => {
                    for post in posts {
                        let users: Vec<String> =
                            post.users.iter().map(|u| u.username.clone()).collect();
                        out!(
                            "{:<10} {:<3} {:<8} last seen {:<26} {}",
                            post.post,
                            post.country,
                            if post.online { "online" } else { "dark" },
                            post.last_seen.unwrap_or_else(|| "never".into()),
                            users.join(", ")
                        );
                    }
                }
                ServerFrame::Error { error, .. } => {
                    anyhow::bail!("{}: {}", error.code, error.message)
                }
                other => anyhow::bail!("unexpected frame {other:?}"),
            }
        }
        ClientCommand::Alert { .. } | ClientCommand::Flow { .. } => {}
    }
    socket.close().await;
    Ok(())
}
