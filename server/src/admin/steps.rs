//! Managing users, posts and corridors: the steps behind both the CLI
//! (`mpaka user …`, `mpaka post …`) and the admin REST routes. Each one is
//! validated here, audited, and announced on the `system` channel so that
//! every running node reacts (closing a disabled user's sessions, reloading
//! the directory) even when the change came from another process.

use crate::auth::password;
use crate::error::{AppError, AppResult};
use crate::store::{AuditEntry, NewEvent, NewUser, Post, Store, User};
use mpaka_protocol::FieldCode;
use mpaka_protocol::{Country, EventData, Role};
use serde::Deserialize;

/// Who is making a change: a user through the API, or the local operator.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    User {
        id: i64,
        username: &'a str,
        /// Where the request came from.
        client: Option<std::net::IpAddr>,
    },
    /// The command line on the server machine.
    Operator,
}

impl Actor<'_> {
    fn audit(&self) -> crate::store::AuditActor<'_> {
        match self {
            Actor::User {
                id,
                username,
                client,
            } => crate::store::AuditActor {
                user: Some((*id, username)),
                client: *client,
            },
            Actor::Operator => crate::store::AuditActor::default(),
        }
    }
}

/// An account to create.
#[derive(Clone, Deserialize, schemars::JsonSchema)]
pub struct UserSpec {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub country: Option<Country>,
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub post: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    pub password: String,
}

impl std::fmt::Debug for UserSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSpec")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

const LANGUAGES: [&str; 4] = ["fr", "en", "sw", "rn"];

fn valid_name(name: &str) -> bool {
    (3..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Checks that role, country and post fit together.
async fn check_placement(
    store: &Store,
    role: Role,
    country: Option<Country>,
    org: Option<&str>,
    post: Option<&str>,
) -> AppResult<()> {
    match role {
        Role::Officer => {
            let slug = post.ok_or_else(|| {
                AppError::coded("post", FieldCode::Required, "an officer needs a post")
            })?;
            let directory = store.directory().await?;
            let post = directory.post(slug).ok_or_else(|| {
                AppError::coded("post", FieldCode::UnknownValue, format!("no post {slug}"))
            })?;
            if country != Some(post.country) {
                return Err(AppError::coded_with(
                    "country",
                    FieldCode::Mismatch,
                    format!(
                        "an officer of {} must have country {}",
                        post.slug, post.country
                    ),
                    &[("other", "post".into())],
                ));
            }
        }
        Role::Coordinator => {
            if country.is_none() {
                return Err(AppError::coded(
                    "country",
                    FieldCode::Required,
                    "a coordinator needs a country",
                ));
            }
            if post.is_some() {
                return Err(AppError::coded(
                    "post",
                    FieldCode::NotAllowed,
                    "only officers belong to a post",
                ));
            }
        }
        Role::Observer => {
            if org.is_none_or(|o| o.trim().is_empty()) {
                return Err(AppError::coded(
                    "org",
                    FieldCode::Required,
                    "an observer needs a partner organisation",
                ));
            }
            if post.is_some() || country.is_some() {
                return Err(AppError::coded(
                    "country",
                    FieldCode::NotAllowed,
                    "observers belong to an organisation, not a country or post",
                ));
            }
        }
        Role::Admin | Role::Auditor => {
            if post.is_some() {
                return Err(AppError::coded(
                    "post",
                    FieldCode::NotAllowed,
                    "only officers belong to a post",
                ));
            }
        }
    }
    Ok(())
}

/// Creates an account.
///
/// # Errors
/// `validation_failed` naming the field, `already_exists`, storage failures.
pub async fn create_user(store: &Store, actor: Actor<'_>, spec: UserSpec) -> AppResult<User> {
    if !valid_name(&spec.username) {
        return Err(AppError::coded_with(
            "username",
            FieldCode::BadFormat,
            "3–64 characters of a–z, 0–9, dot, dash or underscore",
            &[("format", "a-z 0-9 . - _ (3–64)".into())],
        ));
    }
    crate::auth::strength::check(
        &spec.password,
        &[
            spec.username.as_str(),
            spec.display_name.as_deref().unwrap_or_default(),
        ],
    )?;
    let language = spec.language.clone().unwrap_or_else(|| "fr".into());
    if !LANGUAGES.contains(&language.as_str()) {
        return Err(AppError::coded(
            "language",
            FieldCode::NotALanguage,
            "one of fr, en, sw, rn",
        ));
    }
    check_placement(
        store,
        spec.role,
        spec.country,
        spec.org.as_deref(),
        spec.post.as_deref(),
    )
    .await?;
    let password_hash = password::hash(spec.password).await?;
    let new = NewUser {
        display_name: spec.display_name.unwrap_or_else(|| spec.username.clone()),
        username: spec.username,
        password_hash,
        role: spec.role,
        country: spec.country,
        org: spec.org,
        post: spec.post,
        language,
    };
    let mut tx = store.write().await?;
    let id = tx.insert_user(&new).await?;
    // Nodes reload the directory, which knows every account's `user:{id}`.
    tx.append(NewEvent::system(EventData::DirectoryChanged {}))
        .await?;
    tx.audit(AuditEntry::new(
        actor.audit(),
        "user.created",
        format!("user:{id}"),
        serde_json::json!({
            "username": new.username, "role": new.role, "country": new.country,
            "org": new.org, "post": new.post,
        }),
    ))
    .await?;
    tx.commit().await?;
    store
        .user_by_id(id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("user {id} vanished after creation")))
}

/// Looks a user up by username.
///
/// # Errors
/// `not_found`.
pub async fn find_user(store: &Store, username: &str) -> AppResult<User> {
    store
        .user_by_name(username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no user {username}")))
}

/// Disables or re-enables an account. Its sessions on every node close and
/// its tokens stop working.
///
/// # Errors
/// `not_found`, storage failures.
pub async fn set_disabled(
    store: &Store,
    actor: Actor<'_>,
    user_id: i64,
    disabled: bool,
) -> AppResult<()> {
    let mut tx = store.write().await?;
    tx.set_user_disabled(user_id, disabled).await?;
    if disabled {
        crate::sessions::steps::end_all(
            &mut tx,
            user_id,
            None,
            crate::sessions::EndReason::AccountDisabled,
        )
        .await?;
    }
    tx.append(account_changed(user_id)).await?;
    tx.audit(AuditEntry::new(
        actor.audit(),
        if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        },
        format!("user:{user_id}"),
        serde_json::json!({}),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password for an account (an administrator's reset): every
/// session of the account ends, on every node, and its next login answers
/// `password_change_required` until the user chooses their own.
///
/// # Errors
/// `weak_password`, `not_found`, storage failures.
pub async fn reset_password(
    store: &Store,
    actor: Actor<'_>,
    user_id: i64,
    new_password: String,
) -> AppResult<()> {
    let user = store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no user {user_id}")))?;
    crate::auth::strength::check(&new_password, &[&user.username, &user.display_name])?;
    let hash = password::hash(new_password).await?;
    let mut tx = store.write().await?;
    tx.set_user_password(user_id, &hash, true).await?;
    let ended = crate::sessions::steps::end_all(
        &mut tx,
        user_id,
        None,
        crate::sessions::EndReason::PasswordChanged,
    )
    .await?;
    tx.audit(AuditEntry::new(
        actor.audit(),
        "user.password_reset",
        format!("user:{user_id}"),
        serde_json::json!({ "sessions_ended": ended }),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes an account's second factor (a lost phone): its TOTP secret,
/// recovery codes and pending login challenges go, and every session of
/// the account ends on every node. Its next login asks for the password
/// only, or for an enrolment when its role requires a second factor.
///
/// # Errors
/// `not_found` when the account has none; storage failures.
pub async fn reset_second_factor(store: &Store, actor: Actor<'_>, user_id: i64) -> AppResult<()> {
    let mut tx = store.write().await?;
    if !crate::auth::second_factor::remove(tx.conn(), user_id).await? {
        return Err(AppError::not_found("this account has no second factor"));
    }
    let ended = crate::sessions::steps::end_all(
        &mut tx,
        user_id,
        None,
        crate::sessions::EndReason::SecondFactorReset,
    )
    .await?;
    tx.audit(AuditEntry::new(
        actor.audit(),
        "user.second_factor_reset",
        format!("user:{user_id}"),
        serde_json::json!({ "sessions_ended": ended }),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Changes an account's role (with its country and post).
///
/// # Errors
/// `validation_failed` when role, country and post do not fit; `not_found`.
pub async fn set_role(
    store: &Store,
    actor: Actor<'_>,
    user_id: i64,
    role: Role,
    country: Option<Country>,
    post: Option<&str>,
) -> AppResult<()> {
    let user = store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no user {user_id}")))?;
    check_placement(store, role, country, user.org.as_deref(), post).await?;
    let mut tx = store.write().await?;
    tx.set_user_role(user_id, role, country, post).await?;
    crate::sessions::steps::end_all(
        &mut tx,
        user_id,
        None,
        crate::sessions::EndReason::RoleChanged,
    )
    .await?;
    tx.append(account_changed(user_id)).await?;
    tx.audit(AuditEntry::new(
        actor.audit(),
        "user.role_changed",
        format!("user:{user_id}"),
        serde_json::json!({ "from": user.role, "to": role, "country": country, "post": post }),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

fn account_changed(user_id: i64) -> NewEvent {
    NewEvent::system(EventData::AccountChanged { user_id })
}

/// A post to create, with its corridor (created when new).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct PostSpec {
    pub slug: String,
    pub name: String,
    pub country: Country,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub corridor: Option<String>,
    #[serde(default)]
    pub corridor_name: Option<String>,
}

/// Creates a post (and its corridor if new).
///
/// # Errors
/// `validation_failed`, `already_exists`, storage failures.
pub async fn create_post(store: &Store, actor: Actor<'_>, spec: PostSpec) -> AppResult<Post> {
    let slug_ok = |s: &str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !slug_ok(&spec.slug) {
        return Err(AppError::coded(
            "slug",
            FieldCode::NotASlug,
            "1–64 characters of a–z, 0–9 and dash",
        ));
    }
    if spec.name.trim().is_empty() {
        return Err(AppError::coded(
            "name",
            FieldCode::Required,
            "must not be empty",
        ));
    }
    if let Some(corridor) = &spec.corridor {
        if !slug_ok(corridor) {
            return Err(AppError::coded(
                "corridor",
                FieldCode::NotASlug,
                "1–64 characters of a–z, 0–9 and dash",
            ));
        }
    }
    let post = Post {
        slug: spec.slug,
        name: spec.name,
        country: spec.country,
        region: spec.region,
        corridor: spec.corridor.clone(),
        last_seen_at: None,
    };
    let mut tx = store.write().await?;
    if let Some(corridor) = &spec.corridor {
        let name = spec
            .corridor_name
            .clone()
            .unwrap_or_else(|| corridor.clone());
        tx.ensure_corridor(corridor, &name).await?;
    }
    tx.insert_post(&post).await?;
    tx.append(NewEvent::system(EventData::DirectoryChanged {}))
        .await?;
    tx.audit(AuditEntry::new(
        actor.audit(),
        "post.created",
        format!("post:{}", post.slug),
        serde_json::json!({ "name": post.name, "country": post.country, "corridor": post.corridor }),
    ))
    .await?;
    tx.commit().await?;
    Ok(post)
}
