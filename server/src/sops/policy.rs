//! Who may do what with an SOP: pure functions of the user and the SOP's
//! owner, state and audience. Every SOP step asks these, on the socket and
//! over REST alike.
//!
//! - Reading a published (or superseded, or retired) version follows the
//!   channel the SOP is announced on: `national:{C}` for a national SOP,
//!   `joint` for a joint one. So national SOPs never reach the other
//!   country, observers read joint SOPs only, and admins and auditors read
//!   none.
//! - Drafts are seen and written only by coordinators of the owning country
//!   (of either country for a joint SOP).
//! - Acknowledging takes a reader who is in the version's audience.

use crate::access::{self, Principal};
use crate::error::{AppError, AppResult};
use crate::store::Directory;
use mpaka_protocol::{ChannelId, Role, SopAudience, SopOwner};

/// The channel an SOP's events go to.
pub fn channel_of(owner: SopOwner) -> ChannelId {
    match owner.country() {
        Some(country) => ChannelId::National(country),
        None => ChannelId::Joint,
    }
}

/// Whether `who` may read the published versions of an SOP of `owner`.
pub fn may_read(who: &Principal, owner: SopOwner, directory: &Directory) -> bool {
    access::channel_access(who, &channel_of(owner), directory).read
}

/// Whether `who` may see (and write) the drafts of an SOP of `owner`.
pub fn may_draft(who: &Principal, owner: SopOwner) -> bool {
    owner.drafts_visible_to(who.role, who.country)
}

/// Whether `who` is one of the users a version with `audience` addresses.
pub fn in_audience(
    who: &Principal,
    owner: SopOwner,
    audience: &SopAudience,
    directory: &Directory,
) -> bool {
    may_read(who, owner, directory) && who.is_in(audience)
}

/// Admins and auditors see no operational content: every SOP request from
/// them is refused outright rather than answered with an empty library.
pub fn require_reader(who: &Principal) -> AppResult<()> {
    match who.role {
        Role::Officer | Role::Coordinator | Role::Observer => Ok(()),
        role => Err(AppError::forbidden(format!(
            "the {role} role has no access to SOPs"
        ))),
    }
}

/// Fails with `forbidden` unless `who` is a coordinator: checked before
/// anything is looked up, by every step that writes an SOP or looks at its
/// coverage.
pub fn require_coordinator(who: &Principal) -> AppResult<()> {
    if who.role == Role::Coordinator {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only coordinators write SOPs and follow their coverage",
        ))
    }
}

/// Fails with `forbidden` unless `who` is a coordinator of `owner`.
pub fn require_owner_coordinator(who: &Principal, owner: SopOwner) -> AppResult<()> {
    require_coordinator(who)?;
    if !may_draft(who, owner) {
        return Err(AppError::forbidden(format!(
            "this SOP belongs to {}; only its coordinators may change it",
            crate::sops::store::owner_str(owner)
        )));
    }
    Ok(())
}
