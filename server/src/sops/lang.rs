//! Which language a reader gets an SOP in, among those it was written in.

/// The fallback order used when the reader's language is not available:
/// French, English, Swahili, then Kirundi.
pub const DEFAULT_FALLBACK: [&str; 4] = ["fr", "en", "sw", "rn"];

/// The primary subtag of a BCP 47 tag (`fr` for `fr-BI`).
fn primary(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or(tag)
}

/// The entry of `available` that best serves a reader asking for `wanted`:
/// the same tag, else the same primary language (`fr-BI` is served by `fr`,
/// `fr` by `fr-BI`). Tags compare case-insensitively.
fn find<'a>(available: &[&'a str], wanted: &str) -> Option<&'a str> {
    if wanted.is_empty() {
        return None;
    }
    available
        .iter()
        .find(|a| a.eq_ignore_ascii_case(wanted))
        .or_else(|| {
            available
                .iter()
                .find(|a| primary(a).eq_ignore_ascii_case(primary(wanted)))
        })
        .copied()
}

/// Chooses the language to show a reader: their `preferred` language if the
/// content exists in it, else the first of `fallback_order` that exists
/// (typically [`DEFAULT_FALLBACK`]), else the first of `available`.
///
/// Returns one of the `available` entries as given, or `None` only when
/// `available` is empty.
pub fn pick_language<'a>(
    available: &[&'a str],
    preferred: &[&str],
    fallback_order: &[&str],
) -> Option<&'a str> {
    preferred
        .iter()
        .chain(fallback_order)
        .copied()
        .find_map(|wanted| find(available, wanted))
        .or_else(|| available.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readers_language_wins_when_available() {
        let all = ["fr", "en", "sw", "rn"];
        for lang in all {
            assert_eq!(pick_language(&all, &[lang], &DEFAULT_FALLBACK), Some(lang));
        }
    }

    #[test]
    fn a_kirundi_reader_of_a_french_and_swahili_sop_gets_french() {
        assert_eq!(
            pick_language(&["sw", "fr"], &["rn"], &DEFAULT_FALLBACK),
            Some("fr")
        );
    }

    #[test]
    fn the_configured_fallback_order_is_followed() {
        let tanzanian_order = ["sw", "en", "fr", "rn"];
        assert_eq!(
            pick_language(&["fr", "sw"], &["rn"], &tanzanian_order),
            Some("sw")
        );
        assert_eq!(
            pick_language(&["en", "rn"], &["fr"], &DEFAULT_FALLBACK),
            Some("en")
        );
        assert_eq!(
            pick_language(&["rn", "sw"], &["en"], &DEFAULT_FALLBACK),
            Some("sw")
        );
    }

    #[test]
    fn the_asked_language_then_the_accounts_then_the_fallback_order() {
        // Asked for Kirundi, which the SOP lacks: the Swahili-speaking
        // account gets Swahili, not the fallback order's French.
        assert_eq!(
            pick_language(&["fr", "sw"], &["rn", "sw"], &DEFAULT_FALLBACK),
            Some("sw")
        );
        assert_eq!(
            pick_language(&["fr", "sw", "rn"], &["rn", "sw"], &DEFAULT_FALLBACK),
            Some("rn")
        );
    }

    #[test]
    fn any_available_language_is_better_than_none() {
        assert_eq!(
            pick_language(&["rn"], &["en"], &DEFAULT_FALLBACK),
            Some("rn")
        );
        assert_eq!(pick_language(&["ln", "de"], &["en"], &[]), Some("ln"));
        assert_eq!(pick_language(&[], &["fr"], &DEFAULT_FALLBACK), None);
    }

    #[test]
    fn regional_tags_and_case_match_the_primary_language() {
        assert_eq!(
            pick_language(&["en", "fr"], &["fr-BI"], &DEFAULT_FALLBACK),
            Some("fr")
        );
        assert_eq!(
            pick_language(&["en", "sw"], &["SW_tz"], &DEFAULT_FALLBACK),
            Some("sw")
        );
        assert_eq!(
            pick_language(&["en", "fr-BI"], &["fr"], &DEFAULT_FALLBACK),
            Some("fr-BI")
        );
    }

    #[test]
    fn an_empty_preference_goes_straight_to_the_fallbacks() {
        assert_eq!(
            pick_language(&["sw", "en"], &[""], &DEFAULT_FALLBACK),
            Some("en")
        );
    }
}
