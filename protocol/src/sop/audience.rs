//! Who an SOP version is addressed to: the users who must read it and whose
//! acknowledgements its coverage counts.

use crate::{Country, Role};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The users an SOP version is addressed to.
///
/// Each list restricts one axis; an empty list puts no restriction on that
/// axis, so the default (all lists empty) admits everyone. A user is admitted
/// when they match every restricted axis:
///
/// - `countries`: the user's country is listed;
/// - `roles`: the user's role is listed;
/// - place: `posts` and `corridors` are two grains of one axis, so when either
///   is non-empty the user's post must be listed in `posts` *or* their post's
///   corridor in `corridors` (e.g. "Kobero, plus every post of the
///   Mugina–Manyovu corridor").
///
/// A user without a value on a restricted axis (a coordinator has no post, an
/// observer no country) is not admitted on it. The audience says who must
/// read a version; it does not widen who may: the hub still never shows a
/// national SOP to the other country.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SopAudience {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<Country>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// Post slugs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub posts: Vec<String>,
    /// Corridor slugs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corridors: Vec<String>,
}

impl SopAudience {
    /// An audience with no restriction: everyone who may read the SOP.
    pub fn everyone() -> Self {
        SopAudience::default()
    }

    /// Whether a user with this role, country, post and post corridor is in
    /// the audience (see the type's documentation for the rules).
    pub fn admits(
        &self,
        role: Role,
        country: Option<Country>,
        post: Option<&str>,
        corridor: Option<&str>,
    ) -> bool {
        let country_ok =
            self.countries.is_empty() || country.is_some_and(|c| self.countries.contains(&c));
        let role_ok = self.roles.is_empty() || self.roles.contains(&role);
        let place_ok = (self.posts.is_empty() && self.corridors.is_empty())
            || post.is_some_and(|p| self.posts.iter().any(|x| x == p))
            || corridor.is_some_and(|c| self.corridors.iter().any(|x| x == c));
        country_ok && role_ok && place_ok
    }
}
