//! Who may record and read flow figures, and verify surges: pure functions
//! of the user and the report's place, used by every step, query and
//! route (and matching the channel the report's events go to).
//!
//! | action | who |
//! |---|---|
//! | record, correct | an officer of the post (a post records for itself), or a coordinator of the post's country (paper tallies entered at headquarters) |
//! | read a national report | the post's officers and the coordinators of its country |
//! | read a joint report | the officers of both posts of its corridor, the coordinators of both countries, observers |
//! | see, confirm, dismiss a surge | the post's officers and the coordinators of its country |
//! | set sensitivity | coordinators of the post's country (a post), of either country (a corridor) |
//!
//! Admins, auditors and officers of other posts may do none of it;
//! national figures never reach the other country.

use crate::access::Principal;
use mpaka_protocol::{Country, FlowSharing, Role};

/// Where a report is: what the rules need to know of it.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub post: &'a str,
    pub corridor: &'a str,
    pub country: Country,
}

/// Whether `who` may record or correct figures for the post at `place`.
pub fn may_record(who: &Principal, place: Place<'_>) -> bool {
    match who.role {
        Role::Officer => who.post.as_deref() == Some(place.post),
        Role::Coordinator => who.country == Some(place.country),
        _ => false,
    }
}

/// Whether `who` may read a report at `place` shared as `sharing`.
/// `corridor_countries` are the countries of the report's corridor.
pub fn may_read(
    who: &Principal,
    place: Place<'_>,
    sharing: FlowSharing,
    corridor_countries: &[Country],
) -> bool {
    let own_side = match who.role {
        Role::Officer => who.post.as_deref() == Some(place.post),
        Role::Coordinator => who.country == Some(place.country),
        _ => false,
    };
    if own_side {
        return true;
    }
    sharing == FlowSharing::Joint
        && match who.role {
            Role::Officer => who.corridor.as_deref() == Some(place.corridor),
            Role::Coordinator => who.country.is_some_and(|c| corridor_countries.contains(&c)),
            Role::Observer => true,
            _ => false,
        }
}

/// Whether `who` may see, confirm or dismiss a surge at `place`.
pub fn may_verify(who: &Principal, place: Place<'_>) -> bool {
    may_record(who, place)
}

/// Whether `who` may set the detector's threshold for a post of `country`
/// (`corridor_countries` empty) or for a corridor of those countries.
pub fn may_tune(who: &Principal, country: Option<Country>, corridor_countries: &[Country]) -> bool {
    who.role == Role::Coordinator
        && match country {
            Some(c) => who.country == Some(c),
            None => who.country.is_some_and(|c| corridor_countries.contains(&c)),
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, role: Role, country: Option<Country>, post: Option<&str>) -> Principal {
        let corridor = match post {
            Some("mugina" | "manyovu") => Some("mugina-manyovu".to_owned()),
            Some("gisuru" | "kibondo") => Some("gisuru-kibondo".to_owned()),
            _ => None,
        };
        Principal {
            user_id: 1,
            username: name.into(),
            display_name: name.into(),
            role,
            country,
            org: None,
            post: post.map(str::to_owned),
            corridor,
            language: "fr".into(),
            client: None,
        }
    }

    fn everyone() -> Vec<Principal> {
        use Country::{BI, TZ};
        vec![
            person("mugina.officer", Role::Officer, Some(BI), Some("mugina")),
            person("manyovu.officer", Role::Officer, Some(TZ), Some("manyovu")),
            person("gisuru.officer", Role::Officer, Some(BI), Some("gisuru")),
            person("kibondo.officer", Role::Officer, Some(TZ), Some("kibondo")),
            person("bi.coordinator", Role::Coordinator, Some(BI), None),
            person("tz.coordinator", Role::Coordinator, Some(TZ), None),
            person("unhcr.observer", Role::Observer, None, None),
            person("admin", Role::Admin, None, None),
            person("auditor", Role::Auditor, None, None),
        ]
    }

    const MUGINA: Place<'static> = Place {
        post: "mugina",
        corridor: "mugina-manyovu",
        country: Country::BI,
    };
    const BOTH: &[Country] = &[Country::BI, Country::TZ];

    /// The users for whom `rule` holds, by name.
    fn allowed(rule: impl Fn(&Principal) -> bool) -> Vec<String> {
        everyone()
            .into_iter()
            .filter(|p| rule(p))
            .map(|p| p.username)
            .collect()
    }

    #[test]
    fn a_post_records_for_itself_and_its_coordinators_for_it() {
        assert_eq!(
            allowed(|p| may_record(p, MUGINA)),
            ["mugina.officer", "bi.coordinator"]
        );
    }

    #[test]
    fn national_figures_stay_with_the_post_and_its_country() {
        assert_eq!(
            allowed(|p| may_read(p, MUGINA, FlowSharing::National, BOTH)),
            ["mugina.officer", "bi.coordinator"]
        );
    }

    #[test]
    fn joint_figures_reach_both_sides_of_the_corridor_and_observers() {
        assert_eq!(
            allowed(|p| may_read(p, MUGINA, FlowSharing::Joint, BOTH)),
            [
                "mugina.officer",
                "manyovu.officer",
                "bi.coordinator",
                "tz.coordinator",
                "unhcr.observer"
            ]
        );
    }

    #[test]
    fn surges_are_verified_by_the_post_and_its_country() {
        assert_eq!(
            allowed(|p| may_verify(p, MUGINA)),
            ["mugina.officer", "bi.coordinator"]
        );
    }

    #[test]
    fn coordinators_tune_their_posts_and_their_corridors() {
        assert_eq!(
            allowed(|p| may_tune(p, Some(Country::TZ), &[])),
            ["tz.coordinator"]
        );
        assert_eq!(
            allowed(|p| may_tune(p, None, BOTH)),
            ["bi.coordinator", "tz.coordinator"]
        );
    }
}
