//! `mpaka user …` and `mpaka post …`: direct changes to the database, safe
//! while the hub runs (running nodes notice through the `system` channel).

use crate::admin::{self, Actor, PostSpec, UserSpec};
use crate::config::Settings;
use crate::store::Store;
use clap::Subcommand;
use mpaka_protocol::{Country, Role};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from a prompt or stdin.
    Add {
        /// Login name, e.g. amani.officer (letters, digits, `.`, `-`, `_`).
        #[arg(long)]
        username: String,
        /// officer, coordinator, observer, admin or auditor.
        #[arg(long)]
        role: Role,
        /// BI or TZ: required for officers and coordinators.
        #[arg(long)]
        country: Option<Country>,
        /// Post slug (officers), e.g. manyovu.
        #[arg(long)]
        post: Option<String>,
        /// Partner organisation (observers), e.g. UNHCR.
        #[arg(long)]
        org: Option<String>,
        /// Name shown to other users (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// fr, en, sw or rn.
        #[arg(long)]
        language: Option<String>,
    },
    /// List accounts.
    List,
    /// Disable an account: its sessions close and its tokens stop working.
    Disable { username: String },
    /// Re-enable a disabled account.
    Enable { username: String },
    /// Change an account's password: asks for the current one, then the new
    /// one (read from a prompt, or as two lines on stdin). Every session of
    /// the account ends.
    Passwd { username: String },
    /// Set a new password for an account as its administrator (from a
    /// prompt or stdin): its sessions end and its next login answers
    /// `password_change_required` until the user chooses their own.
    ResetPassword { username: String },
    /// Remove an account's second factor (a lost phone) as its
    /// administrator: its TOTP secret and recovery codes go, its sessions
    /// end; its next login enrols a new one if its role requires it.
    ResetTotp { username: String },
    /// Change an account's role (with country and post as the role needs).
    SetRole {
        username: String,
        /// officer, coordinator, observer, admin or auditor.
        #[arg(long)]
        role: Role,
        /// BI or TZ: required for officers and coordinators.
        #[arg(long)]
        country: Option<Country>,
        /// Post slug (officers), e.g. manyovu.
        #[arg(long)]
        post: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PostCommand {
    /// Create a post, and its corridor if new.
    Add {
        /// Short unique name, e.g. rumonge.
        #[arg(long)]
        slug: String,
        /// Name shown to users, e.g. Rumonge.
        #[arg(long)]
        name: String,
        /// BI or TZ: required for officers and coordinators.
        #[arg(long)]
        country: Country,
        /// Province or region, e.g. Makamba.
        #[arg(long, default_value = "")]
        region: String,
        /// Corridor (border crossing) slug, e.g. mugina-manyovu.
        #[arg(long)]
        corridor: Option<String>,
        /// Name of the corridor when --corridor creates it.
        #[arg(long)]
        corridor_name: Option<String>,
    },
    /// List posts.
    List,
}

async fn open(settings: &Settings, init: bool) -> anyhow::Result<Store> {
    super::open_store(settings, init).await
}

fn plain<T>(result: crate::error::AppResult<T>) -> anyhow::Result<T> {
    result.map_err(|e| anyhow::anyhow!("{}", e.body().message))
}

pub async fn user(settings: Settings, init: bool, command: UserCommand) -> anyhow::Result<()> {
    let store = open(&settings, init).await?;
    match command {
        UserCommand::Add {
            username,
            role,
            country,
            post,
            org,
            display_name,
            language,
        } => {
            let password = super::read_password(&format!("Password for {username}: "), true)?;
            let user = plain(
                admin::create_user(
                    &store,
                    Actor::Operator,
                    UserSpec {
                        username,
                        display_name,
                        role,
                        country,
                        org,
                        post,
                        language,
                        password,
                    },
                )
                .await,
            )?;
            out!("created user {} (id {})", user.username, user.id);
        }
        UserCommand::List => {
            out!(
                "{:<5} {:<20} {:<12} {:<8} {:<12} {:<8}",
                "id",
                "username",
                "role",
                "country",
                "post",
                "status"
            );
            for u in store.users().await? {
                out!(
                    "{:<5} {:<20} {:<12} {:<8} {:<12} {:<8}",
                    u.id,
                    u.username,
                    u.role,
                    u.country
                        .map(|c| c.to_string())
                        .or(u.org.clone())
                        .unwrap_or_default(),
                    u.post.clone().unwrap_or_default(),
                    if u.disabled { "disabled" } else { "active" }
                );
            }
        }
        UserCommand::Passwd { username } => {
            let current =
                super::read_password(&format!("Current password for {username}: "), false)?;
            let new = super::read_password("New password: ", true)?;
            // The hub's own rules (strength, throttle, sessions), run here
            // on the database directly: the address is this machine.
            let auth = crate::auth::Auth::new(
                store.clone(),
                &crate::auth::keys::load(&settings, crate::store::now_ms())?,
                &settings,
            );
            plain(
                auth.change_password(
                    &username,
                    current,
                    new,
                    std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                    None,
                    false,
                )
                .await,
            )?;
            println!("password of {username} changed; its sessions ended");
        }
        UserCommand::ResetPassword { username } => {
            let user = plain(admin::find_user(&store, &username).await)?;
            let new = super::read_password(&format!("New password for {username}: "), true)?;
            plain(admin::reset_password(&store, Actor::Operator, user.id, new).await)?;
            println!("password of {username} reset; it must be changed at the next login");
        }
        UserCommand::ResetTotp { username } => {
            let user = plain(admin::find_user(&store, &username).await)?;
            plain(admin::reset_second_factor(&store, Actor::Operator, user.id).await)?;
            println!("second factor of {username} removed; its sessions ended");
        }
        UserCommand::Disable { username } => {
            let user = plain(admin::find_user(&store, &username).await)?;
            plain(admin::set_disabled(&store, Actor::Operator, user.id, true).await)?;
            out!("disabled {username}");
        }
        UserCommand::Enable { username } => {
            let user = plain(admin::find_user(&store, &username).await)?;
            plain(admin::set_disabled(&store, Actor::Operator, user.id, false).await)?;
            out!("enabled {username}");
        }
        UserCommand::SetRole {
            username,
            role,
            country,
            post,
        } => {
            let user = plain(admin::find_user(&store, &username).await)?;
            plain(
                admin::set_role(
                    &store,
                    Actor::Operator,
                    user.id,
                    role,
                    country,
                    post.as_deref(),
                )
                .await,
            )?;
            out!("{username} is now {role}");
        }
    }
    store.close().await;
    Ok(())
}

pub async fn post(settings: Settings, init: bool, command: PostCommand) -> anyhow::Result<()> {
    let store = open(&settings, init).await?;
    match command {
        PostCommand::Add {
            slug,
            name,
            country,
            region,
            corridor,
            corridor_name,
        } => {
            let post = plain(
                admin::create_post(
                    &store,
                    Actor::Operator,
                    PostSpec {
                        slug,
                        name,
                        country,
                        region,
                        corridor,
                        corridor_name,
                    },
                )
                .await,
            )?;
            out!("created post {}", post.slug);
        }
        PostCommand::List => {
            out!(
                "{:<12} {:<14} {:<8} {:<12} corridor",
                "slug",
                "name",
                "country",
                "region"
            );
            for p in store.directory().await?.posts.values() {
                out!(
                    "{:<12} {:<14} {:<8} {:<12} {}",
                    p.slug,
                    p.name,
                    p.country,
                    p.region,
                    p.corridor.clone().unwrap_or_default()
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

/// `mpaka audit`: entries after `after`, of actions starting with `action`.
pub async fn audit(
    settings: Settings,
    after: i64,
    action: Option<&str>,
    limit: u32,
) -> anyhow::Result<()> {
    // Reading the audit trail never creates a database.
    let store = open(&settings, false).await?;
    println!("id\tat\tactor\tclient\taction\ttarget");
    for entry in store.audit_entries(after, action, limit).await? {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            entry.id,
            crate::store::format_ms(entry.at_ms),
            entry.actor,
            entry.client_addr.as_deref().unwrap_or("-"),
            entry.action,
            entry.target
        );
    }
    store.close().await;
    Ok(())
}
