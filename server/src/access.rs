//! Who may read and write what. Every decision the hub makes about delivery
//! and permission comes from these pure functions of the user, the channel
//! and the directory; the client is never trusted with it.

use crate::error::{AppError, AppResult};
use crate::store::{Directory, NewEvent, User};
use mpaka_protocol::{ChannelGrant, ChannelId, Country, ErrorCode, EventData, Role};

/// An authenticated user as the hub sees them for access decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub country: Option<Country>,
    pub org: Option<String>,
    pub post: Option<String>,
    /// The corridor of the officer's post.
    pub corridor: Option<String>,
    pub language: String,
    /// The address the request or socket came from (behind a trusted
    /// proxy, the forwarded one); it goes into audit entries.
    pub client: Option<std::net::IpAddr>,
}

impl Principal {
    pub fn new(user: &User, directory: &Directory) -> Principal {
        let corridor = user
            .post
            .as_deref()
            .and_then(|p| directory.post(p))
            .and_then(|p| p.corridor.clone());
        Principal {
            user_id: user.id,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role: user.role,
            country: user.country,
            org: user.org.clone(),
            post: user.post.clone(),
            corridor,
            language: user.language.clone(),
            client: None,
        }
    }

    /// The same user, acting from `client`.
    pub fn from_client(self, client: std::net::IpAddr) -> Principal {
        Principal {
            client: Some(client),
            ..self
        }
    }

    /// The author record stamped on events this user causes.
    /// An event this user writes on `channel`, for the whole channel (set
    /// `audience` on the result to narrow it).
    pub fn writes(&self, channel: ChannelId, data: EventData) -> NewEvent {
        NewEvent {
            channel,
            author_id: Some(self.user_id),
            author: Some(self.author()),
            audience: None,
            data,
        }
    }

    /// This user, from their address, as the actor of an audit entry.
    pub fn audit_actor(&self) -> crate::store::AuditActor<'_> {
        crate::store::AuditActor {
            user: Some((self.user_id, self.username.as_str())),
            client: self.client,
        }
    }

    pub fn author(&self) -> mpaka_protocol::Author {
        mpaka_protocol::Author {
            id: Some(self.user_id),
            username: Some(self.username.clone()),
            display_name: Some(self.display_name.clone()),
            role: self.role,
            country: self.country,
            post: self.post.clone(),
        }
    }

    /// Observers receive redacted events.
    pub fn sees_redacted(&self) -> bool {
        self.role == Role::Observer
    }

    fn is(&self, role: Role, country: Country) -> bool {
        self.role == role && self.country == Some(country)
    }
}

/// What a user may do on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    pub read: bool,
    pub write: bool,
}

impl Access {
    const NONE: Access = Access {
        read: false,
        write: false,
    };
    const READ: Access = Access {
        read: true,
        write: false,
    };
    const READ_WRITE: Access = Access {
        read: true,
        write: true,
    };

    fn read_write_if(allowed: bool) -> Access {
        if allowed {
            Access::READ_WRITE
        } else {
            Access::NONE
        }
    }
}

/// Whether the channel names something that exists.
pub fn channel_exists(channel: &ChannelId, directory: &Directory) -> bool {
    match channel {
        ChannelId::Corridor(slug) => directory.corridor(slug).is_some(),
        ChannelId::Post(slug) => directory.post(slug).is_some(),
        ChannelId::User(id) => directory.users.contains(id),
        _ => true,
    }
}

/// What `who` may do on `channel`. National content never reaches the other
/// country: every national channel requires the user's own country.
pub fn channel_access(who: &Principal, channel: &ChannelId, directory: &Directory) -> Access {
    use ChannelId as C;
    use Role::{Coordinator, Observer, Officer};
    match (who.role, channel) {
        (Officer, C::Corridor(slug)) => {
            Access::read_write_if(who.corridor.as_deref() == Some(slug))
        }
        (Coordinator, C::Corridor(slug)) => Access::read_write_if(
            who.country
                .is_some_and(|c| directory.corridor_countries(slug).contains(&c)),
        ),
        (Observer, C::Corridor(_)) => Access::READ,
        (Officer, C::National(country)) if who.is(Officer, *country) => Access::READ,
        (Coordinator, C::National(country)) => Access::read_write_if(who.is(Coordinator, *country)),
        (Officer, C::Post(slug)) => Access::read_write_if(who.post.as_deref() == Some(slug)),
        (Coordinator, C::Post(slug)) => Access::read_write_if(
            directory
                .post(slug)
                .is_some_and(|p| who.country == Some(p.country)),
        ),
        (Coordinator, C::Coordination(country)) => {
            Access::read_write_if(who.is(Coordinator, *country))
        }
        (Coordinator, C::JointCoordination) => Access::READ_WRITE,
        (Coordinator, C::Joint) => Access::READ_WRITE,
        (Officer | Observer, C::Joint) => Access::READ,
        (_, C::User(id)) if *id == who.user_id => Access::READ,
        _ => Access::NONE,
    }
}

/// Every channel `who` may read, with names for display.
pub fn readable_channels(who: &Principal, directory: &Directory) -> Vec<ChannelGrant> {
    use ChannelId as C;
    let mut candidates: Vec<(ChannelId, String)> = Vec::new();
    for corridor in directory.corridors.values() {
        candidates.push((C::Corridor(corridor.slug.clone()), corridor.name.clone()));
    }
    for post in directory.posts.values() {
        candidates.push((C::Post(post.slug.clone()), post.name.clone()));
    }
    for country in Country::ALL {
        candidates.push((C::National(country), format!("National {country}")));
        candidates.push((C::Coordination(country), format!("Coordination {country}")));
    }
    candidates.push((C::JointCoordination, "Joint coordination".into()));
    candidates.push((C::Joint, "Joint broadcasts".into()));
    candidates.push((C::User(who.user_id), "Personal".into()));
    candidates
        .into_iter()
        .filter_map(|(channel, name)| {
            let access = channel_access(who, &channel, directory);
            access.read.then_some(ChannelGrant {
                channel,
                name,
                can_write: access.write,
            })
        })
        .collect()
}

/// A restriction of an event to part of its channel's readers, stored with
/// the event: today an SOP version's audience. One rule serves both the
/// delivery decision and the SOP's coverage (see `SopAudience::admits`).
pub type Audience = mpaka_protocol::SopAudience;

impl Principal {
    /// Whether this user is within `audience`.
    pub fn is_in(&self, audience: &Audience) -> bool {
        audience.admits(
            self.role,
            self.country,
            self.post.as_deref(),
            self.corridor.as_deref(),
        )
    }
}

/// Whether `who` may receive an event on `channel` restricted to `audience`.
pub fn may_receive(
    who: &Principal,
    channel: &ChannelId,
    audience: Option<&Audience>,
    directory: &Directory,
) -> bool {
    channel_access(who, channel, directory).read && audience.is_none_or(|a| who.is_in(a))
}

/// Fails unless `who` may read `channel`, which must exist.
///
/// # Errors
/// `unknown_channel`, `forbidden`.
pub fn check_readable(
    who: &Principal,
    channel: &ChannelId,
    directory: &Directory,
) -> AppResult<()> {
    if !channel_exists(channel, directory) {
        return Err(AppError::new(
            ErrorCode::UnknownChannel,
            format!("no channel {channel}"),
        ));
    }
    if !channel_access(who, channel, directory).read {
        return Err(AppError::forbidden(format!("you may not read {channel}")));
    }
    Ok(())
}

/// Fails unless `who` may write `channel`, which must exist.
///
/// # Errors
/// `unknown_channel`, `forbidden`.
pub fn check_writable(
    who: &Principal,
    channel: &ChannelId,
    directory: &Directory,
) -> AppResult<()> {
    if !channel_exists(channel, directory) {
        return Err(AppError::new(
            ErrorCode::UnknownChannel,
            format!("no channel {channel}"),
        ));
    }
    // A write is refused as a write, even where reading is refused too.
    let access = channel_access(who, channel, directory);
    if !(access.read && access.write) {
        return Err(AppError::forbidden(format!(
            "you may not write to {channel}"
        )));
    }
    Ok(())
}
