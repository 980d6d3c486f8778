//! Guessing an alert's kind, direction and headcount from the wording of a
//! CAP document that carries no `mpaka:*` parameters. Deliberately
//! conservative: when the words are ambiguous nothing is guessed, and the
//! import is refused rather than invented.

use mpaka_protocol::{AlertKind, Direction, Headcount, MAX_HEADCOUNT};

/// Words (prefixes, lowercase) that name people, in English, French,
/// Swahili and Kirundi.
const PEOPLE: &[&str] = &[
    "people",
    "persons",
    "person",
    "individuals",
    "refugee",
    "returnee",
    "asylum",
    "migrant",
    "personnes",
    "réfugié",
    "refugié",
    "rapatrié",
    "migrants",
    "watu",
    "wakimbizi",
    "abantu",
    "impunzi",
];

const INTO_TANZANIA: &[&str] = &[
    "into tanzania",
    "to tanzania",
    "from burundi",
    "vers la tanzanie",
    "en tanzanie",
    "du burundi",
    // Swahili: "(wana)ingia Tanzania", "kuelekea Tanzania", "(ku|wakit)oka Burundi".
    "ingia tanzania",
    "kwenda tanzania",
    "elekea tanzania",
    "toka burundi",
    // Kirundi: "binjira muri Tanzaniya", "berekeza Tanzaniya", "bava mu Burundi".
    "injira muri tanzaniya",
    "injira mu tanzaniya",
    "erekeza tanzaniya",
    "erekeza muri tanzaniya",
    "va mu burundi",
    "va i burundi",
];

const INTO_BURUNDI: &[&str] = &[
    "into burundi",
    "to burundi",
    "from tanzania",
    "vers le burundi",
    "au burundi",
    "de la tanzanie",
    "de tanzanie",
    "ingia burundi",
    "kwenda burundi",
    "elekea burundi",
    "toka tanzania",
    "injira mu burundi",
    "injira i burundi",
    "erekeza mu burundi",
    "erekeza i burundi",
    "va muri tanzaniya",
    "va mu tanzaniya",
];

/// The kind named by `event`/`headline`, falling back on the CAP categories.
pub(super) fn kind(event: &str, headline: &str, categories: &[String]) -> AlertKind {
    let words = format!("{event} {headline}").to_lowercase();
    let has = |list: &[&str]| list.iter().any(|w| words.contains(w));
    let category = |c: &str| categories.iter().any(|x| x == c);
    if has(&["reopen", "re-open", "réouverture", "kufunguliwa"]) {
        AlertKind::BorderReopening
    } else if has(&["closure", "closed", "fermeture", "fermée", "kufungwa"]) {
        AlertKind::BorderClosure
    } else if has(&["departure", "exodus", "outflow", "départ", "leaving"]) {
        AlertKind::MassDeparture
    } else if has(&[
        "arrival",
        "influx",
        "inflow",
        "refugee",
        "returnee",
        "arrivée",
        "afflux",
        "wakimbizi",
        "impunzi",
    ]) {
        AlertKind::MassArrival
    } else if category("Health") || has(&["screening", "ebola", "cholera", "mpox", "outbreak"]) {
        AlertKind::HealthScreening
    } else if category("Security") {
        AlertKind::SecurityIncident
    } else if has(&["flow", "movement", "mouvement"]) {
        AlertKind::UnusualFlow
    } else {
        AlertKind::Other
    }
}

/// The direction, when the text names exactly one.
pub(super) fn direction(text: &str) -> Option<Direction> {
    let t = text.to_lowercase();
    let tz = INTO_TANZANIA.iter().any(|p| t.contains(p));
    let bi = INTO_BURUNDI.iter().any(|p| t.contains(p));
    match (tz, bi) {
        (true, false) => Some(Direction::IntoTanzania),
        (false, true) => Some(Direction::IntoBurundi),
        _ => None,
    }
}

/// The first count of people in the text: "400 people", "1,200 refugees",
/// "300-500 persons", "300 to 500 people", "watu 400", "abantu nka 400".
pub(super) fn headcount(text: &str) -> Option<Headcount> {
    let lower = text.to_lowercase();
    let tokens: Vec<&str> = lower
        .split_whitespace()
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric() && c != '-'))
        .filter(|t| !t.is_empty())
        .collect();
    let is_people = |i: usize| {
        tokens
            .get(i)
            .is_some_and(|t| PEOPLE.iter().any(|p| t.starts_with(p)))
    };
    for (i, token) in tokens.iter().enumerate() {
        // "300-500 people"
        if let Some((a, b)) = token.split_once('-') {
            if let (Some(low), Some(high)) = (number(a), number(b)) {
                if is_people(i + 1) {
                    return Some(Headcount::Range { low, high });
                }
            }
        }
        let Some(n) = number(token) else { continue };
        // "300 to 500 people", "300 à 500 personnes"
        if matches!(tokens.get(i + 1), Some(&("to" | "à" | "a" | "hadi"))) {
            if let Some(high) = tokens.get(i + 2).and_then(|t| number(t)) {
                if is_people(i + 3) {
                    return Some(Headcount::Range { low: n, high });
                }
            }
        }
        // "400 people", or "watu 400" / "abantu nka 400"
        if is_people(i + 1) || (i >= 1 && is_people(i - 1)) || (i >= 2 && is_people(i - 2)) {
            return Some(Headcount::Single(n));
        }
    }
    None
}

/// A plain count: digits, optionally grouped by thousands with `,`, `.` or
/// a narrow space ("1,200", "1.200"). Bounded by [`MAX_HEADCOUNT`].
fn number(token: &str) -> Option<i64> {
    let groups: Vec<&str> = token.split([',', '.', '\u{202F}']).collect();
    let well_grouped =
        groups.len() == 1 || (groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
    if !well_grouped
        || groups
            .iter()
            .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let digits: String = groups.concat();
    if digits.len() > 9 {
        return None;
    }
    digits.parse().ok().filter(|n| *n <= MAX_HEADCOUNT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_is_read_in_swahili_and_kirundi() {
        for (text, want) in [
            (
                "Watu 400 wanaingia Tanzania kupitia Manyovu",
                Direction::IntoTanzania,
            ),
            (
                "Wakimbizi wakitoka Burundi kuelekea Kibondo",
                Direction::IntoTanzania,
            ),
            ("Watu 200 wanaelekea Burundi", Direction::IntoBurundi),
            (
                "Abantu 400 binjira muri Tanzaniya i Manyovu",
                Direction::IntoTanzania,
            ),
            (
                "Impunzi zirenga 300 bava muri Tanzaniya",
                Direction::IntoBurundi,
            ),
            ("Abantu berekeza mu Burundi", Direction::IntoBurundi),
        ] {
            assert_eq!(direction(text), Some(want), "{text}");
        }
        assert_eq!(direction("Watu 400 mpakani"), None);
    }

    #[test]
    fn counts_are_found_in_four_languages() {
        let cases = [
            (
                "About 1,200 refugees crossed at Manyovu",
                Headcount::Single(1200),
            ),
            (
                "300-500 people waiting",
                Headcount::Range {
                    low: 300,
                    high: 500,
                },
            ),
            (
                "between 300 to 500 persons",
                Headcount::Range {
                    low: 300,
                    high: 500,
                },
            ),
            ("Environ 400 personnes à pied", Headcount::Single(400)),
            ("Watu 400 wamefika kwa miguu", Headcount::Single(400)),
            ("Abantu nka 400 bashitse", Headcount::Single(400)),
        ];
        for (text, expected) in cases {
            assert_eq!(headcount(text), Some(expected), "{text}");
        }
        for text in [
            "Magnitude 3.4 at 11 mi depth",
            "Route 66 closed",
            "12,34 people",
            "",
        ] {
            assert_eq!(headcount(text), None, "{text}");
        }
    }

    #[test]
    fn a_direction_is_only_taken_when_unambiguous() {
        assert_eq!(
            direction("People crossing from Burundi into Kigoma"),
            Some(Direction::IntoTanzania)
        );
        assert_eq!(
            direction("Retour de réfugiés de la Tanzanie vers le Burundi"),
            Some(Direction::IntoBurundi)
        );
        assert_eq!(direction("Movements between Burundi and Tanzania"), None);
        assert_eq!(direction("from Tanzania to Tanzania from Burundi"), None);
    }

    #[test]
    fn kinds_come_from_the_event_wording_then_the_category() {
        assert_eq!(kind("Refugee influx", "", &[]), AlertKind::MassArrival);
        assert_eq!(
            kind("Border reopened after closure", "", &[]),
            AlertKind::BorderReopening
        );
        assert_eq!(kind("Earthquake", "", &["Geo".into()]), AlertKind::Other);
        assert_eq!(
            kind("Cholera", "", &["Health".into()]),
            AlertKind::HealthScreening
        );
        assert_eq!(
            kind("Terrorist threat", "", &["Security".into()]),
            AlertKind::SecurityIncident
        );
    }
}
