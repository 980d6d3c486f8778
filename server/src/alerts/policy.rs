//! Who may see and do what with an alert: pure functions of the user, the
//! alert's place and the directory, used by every step, query and route.
//!
//! | step | who |
//! |---|---|
//! | see (list, get, CAP, live events) | whoever may read the alert's corridor channel: its two posts' officers, coordinators of both countries, observers (redacted) |
//! | raise | an officer of the post, or a coordinator of the post's country |
//! | acknowledge | the counterpart side: an officer of the facing post, or a coordinator of the other country |
//! | update, resolve, cancel | the raising side: an officer of the alert's post, or a coordinator of its country |
//! | import CAP | a coordinator, for a post of their country |
//!
//! Observers, admins, auditors and officers of other corridors may do none
//! of the steps.

use crate::access::{self, Principal};
use crate::store::{Directory, Post};
use mpaka_protocol::{ChannelId, Country, Role};

/// Where an alert is: what the rules need to know of it.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub post: &'a str,
    pub corridor: &'a str,
    pub country: Country,
}

/// Whether `who` may see alerts of `corridor`.
pub fn may_see(who: &Principal, corridor: &str, directory: &Directory) -> bool {
    access::channel_access(who, &ChannelId::Corridor(corridor.to_owned()), directory).read
}

/// Whether `who` may raise an alert at `post`.
pub fn may_raise(who: &Principal, post: &Post) -> bool {
    match who.role {
        Role::Officer => who.post.as_deref() == Some(post.slug.as_str()),
        Role::Coordinator => who.country == Some(post.country),
        _ => false,
    }
}

/// Whether `who` is on the raising side of an alert at `place`.
pub fn is_raising_side(who: &Principal, place: Place<'_>) -> bool {
    match who.role {
        Role::Officer => who.post.as_deref() == Some(place.post),
        Role::Coordinator => who.country == Some(place.country),
        _ => false,
    }
}

/// Whether `who` is on the counterpart side of an alert at `place`: the
/// facing post of the same corridor, or the other country's coordinators.
pub fn is_counterpart(who: &Principal, place: Place<'_>) -> bool {
    match who.role {
        Role::Officer => {
            who.corridor.as_deref() == Some(place.corridor)
                && who.country == Some(place.country.other())
        }
        Role::Coordinator => who.country == Some(place.country.other()),
        _ => false,
    }
}

/// Whether `who` may import CAP documents at all.
pub fn may_import(who: &Principal) -> bool {
    who.role == Role::Coordinator
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(role: Role, country: Option<Country>, post: Option<&str>) -> Principal {
        let corridor = match post {
            Some("mugina" | "manyovu") => Some("mugina-manyovu".to_owned()),
            Some("gisuru" | "kibondo") => Some("gisuru-kibondo".to_owned()),
            _ => None,
        };
        Principal {
            user_id: 1,
            username: "u".into(),
            display_name: "U".into(),
            role,
            country,
            org: None,
            post: post.map(str::to_owned),
            corridor,
            language: "fr".into(),
            client: None,
        }
    }

    const MUGINA: Place<'static> = Place {
        post: "mugina",
        corridor: "mugina-manyovu",
        country: Country::BI,
    };

    #[test]
    fn only_the_facing_post_and_the_other_country_acknowledge() {
        let facing = person(Role::Officer, Some(Country::TZ), Some("manyovu"));
        let raiser = person(Role::Officer, Some(Country::BI), Some("mugina"));
        let elsewhere = person(Role::Officer, Some(Country::TZ), Some("kibondo"));
        let tz = person(Role::Coordinator, Some(Country::TZ), None);
        let bi = person(Role::Coordinator, Some(Country::BI), None);
        let observer = person(Role::Observer, None, None);
        assert!(is_counterpart(&facing, MUGINA));
        assert!(is_counterpart(&tz, MUGINA));
        for who in [&raiser, &elsewhere, &bi, &observer] {
            assert!(!is_counterpart(who, MUGINA), "{who:?}");
        }
    }

    #[test]
    fn only_the_raising_side_updates() {
        let raiser = person(Role::Officer, Some(Country::BI), Some("mugina"));
        let bi = person(Role::Coordinator, Some(Country::BI), None);
        let other_bi_post = person(Role::Officer, Some(Country::BI), Some("gisuru"));
        let facing = person(Role::Officer, Some(Country::TZ), Some("manyovu"));
        assert!(is_raising_side(&raiser, MUGINA));
        assert!(is_raising_side(&bi, MUGINA));
        assert!(!is_raising_side(&other_bi_post, MUGINA));
        assert!(!is_raising_side(&facing, MUGINA));
        assert!(!is_raising_side(&person(Role::Admin, None, None), MUGINA));
    }
}
