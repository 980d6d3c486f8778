//! Read coverage of an SOP version: who in its audience has acknowledged it
//! and who has not, overall, per post and per country.

use mpaka_protocol::{CoverageGroup, SopCoverage, SopReader};
use std::collections::BTreeMap;

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Builds one group from its members: acknowledged earliest first, missing
/// by name, so the coordinator's list is stable between requests.
fn group(key: Option<String>, members: Vec<&SopReader>) -> CoverageGroup {
    let (mut acked, mut missing): (Vec<SopReader>, Vec<SopReader>) = members
        .into_iter()
        .cloned()
        .partition(|r| r.acknowledged_at.is_some());
    acked.sort_by(|a, b| {
        (&a.acknowledged_at, &a.display_name, a.user_id).cmp(&(
            &b.acknowledged_at,
            &b.display_name,
            b.user_id,
        ))
    });
    missing.sort_by(|a, b| (&a.display_name, a.user_id).cmp(&(&b.display_name, b.user_id)));
    CoverageGroup {
        key,
        total: count(acked.len() + missing.len()),
        acknowledged: count(acked.len()),
        missing: count(missing.len()),
        acknowledged_by: acked,
        missing_users: missing,
    }
}

/// Groups readers by `key`, keyed groups in key order and the group of
/// readers without a key last.
fn groups_by(
    readers: &[SopReader],
    key: impl Fn(&SopReader) -> Option<String>,
) -> Vec<CoverageGroup> {
    let mut by_key: BTreeMap<(bool, Option<String>), Vec<&SopReader>> = BTreeMap::new();
    for reader in readers {
        let k = key(reader);
        by_key.entry((k.is_none(), k)).or_default().push(reader);
    }
    by_key
        .into_iter()
        .map(|((_, k), members)| group(k, members))
        .collect()
}

/// The coverage of version `version` of SOP `slug`, given every member of
/// its audience with their acknowledgement time (if any). Deciding who is in
/// the audience is the caller's job (see `SopAudience::admits`); a user
/// listed twice is counted twice.
pub fn coverage(slug: &str, version: u32, audience: &[SopReader]) -> SopCoverage {
    let acknowledged = audience
        .iter()
        .filter(|r| r.acknowledged_at.is_some())
        .count();
    SopCoverage {
        slug: slug.to_string(),
        version,
        audience_total: count(audience.len()),
        acknowledged: count(acknowledged),
        missing: count(audience.len() - acknowledged),
        by_post: groups_by(audience, |r| r.post.clone()),
        by_country: groups_by(audience, |r| r.country.map(|c| c.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpaka_protocol::{Country, Role};

    fn reader(
        id: i64,
        name: &str,
        country: Country,
        post: Option<&str>,
        at: Option<&str>,
    ) -> SopReader {
        SopReader {
            user_id: id,
            display_name: name.into(),
            role: if post.is_some() {
                Role::Officer
            } else {
                Role::Coordinator
            },
            country: Some(country),
            post: post.map(Into::into),
            acknowledged_at: at.map(Into::into),
        }
    }

    fn audience() -> Vec<SopReader> {
        vec![
            reader(
                1,
                "Jean Niyonzima",
                Country::BI,
                Some("mugina"),
                Some("2025-02-20T09:10:00.000Z"),
            ),
            reader(2, "Claudine Irakoze", Country::BI, Some("mugina"), None),
            reader(
                3,
                "Amina Juma",
                Country::TZ,
                Some("manyovu"),
                Some("2025-02-20T08:30:00.000Z"),
            ),
            reader(
                4,
                "Baraka Mushi",
                Country::TZ,
                Some("manyovu"),
                Some("2025-02-20T08:05:00.000Z"),
            ),
            reader(5, "Esther Mwakyusa", Country::TZ, Some("manyovu"), None),
            reader(6, "Pascal Ndikumana", Country::BI, None, None),
        ]
    }

    #[test]
    fn totals_count_acknowledged_and_missing_readers() {
        let c = coverage("minors-reception", 3, &audience());
        assert_eq!((c.audience_total, c.acknowledged, c.missing), (6, 3, 3));
        assert_eq!((c.slug.as_str(), c.version), ("minors-reception", 3));
    }

    #[test]
    fn posts_are_grouped_in_order_with_readers_without_a_post_last() {
        let c = coverage("minors-reception", 3, &audience());
        let keys: Vec<_> = c.by_post.iter().map(|g| g.key.as_deref()).collect();
        assert_eq!(keys, [Some("manyovu"), Some("mugina"), None]);
        let manyovu = &c.by_post[0];
        assert_eq!(
            (manyovu.total, manyovu.acknowledged, manyovu.missing),
            (3, 2, 1)
        );
        let first_to_read: Vec<_> = manyovu.acknowledged_by.iter().map(|r| r.user_id).collect();
        assert_eq!(first_to_read, [4, 3]);
        assert_eq!(manyovu.missing_users[0].display_name, "Esther Mwakyusa");
        assert_eq!(c.by_post[2].missing_users[0].user_id, 6);
    }

    #[test]
    fn countries_are_grouped_by_code() {
        let c = coverage("minors-reception", 3, &audience());
        let summary: Vec<_> = c
            .by_country
            .iter()
            .map(|g| (g.key.as_deref(), g.total, g.acknowledged, g.missing))
            .collect();
        assert_eq!(summary, [(Some("BI"), 3, 1, 2), (Some("TZ"), 3, 2, 1)]);
        let missing: Vec<_> = c.by_country[0]
            .missing_users
            .iter()
            .map(|r| r.user_id)
            .collect();
        assert_eq!(missing, [2, 6]);
    }

    #[test]
    fn an_empty_audience_has_no_groups() {
        let c = coverage("minors-reception", 1, &[]);
        assert_eq!((c.audience_total, c.acknowledged, c.missing), (0, 0, 0));
        assert!(c.by_post.is_empty() && c.by_country.is_empty());
    }
}
