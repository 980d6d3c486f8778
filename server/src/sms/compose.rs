//! The texts of the SMS the hub sends, in the recipient's language (en,
//! fr, sw, rn; anything else falls back to English): an alert (kind, post,
//! headcount, vulnerable counts, severity, reference code, how to reply),
//! an escalation, answers to replies, the open alerts for STATUS, and the
//! phone verification code. Texts are kept to the GSM 7-bit alphabet
//! ([`super::gsm::simplify`]) so that most fit one 160-character segment;
//! what cannot be said in GSM-7 (names typed by users) goes out as UCS-2.
//!
//! The Swahili and Kirundi wording is ours and wants review by native
//! speakers at the posts (docs/sms.md).

use super::gsm;
use mpaka_protocol::{Alert, AlertKind, AlertStatus, Severity, VulnerableGroups};

/// A supported SMS language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
    Sw,
    Rn,
}

impl Lang {
    /// The user's language tag (`fr`, `sw-TZ`...) as an SMS language.
    pub fn of(tag: &str) -> Lang {
        match tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
            .as_str()
        {
            "fr" => Lang::Fr,
            "sw" => Lang::Sw,
            "rn" => Lang::Rn,
            _ => Lang::En,
        }
    }
}

/// Why a reply was not applied, as told to its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownNumber,
    NotUnderstood,
    NoSuchCode,
    NotYours,
    AlreadyDone,
    Closed,
    PinNeeded,
    WrongPin,
    /// Too many wrong PINs lately: even the right one is refused for a while.
    PinLocked,
}

impl Refusal {
    /// The stable code recorded in the audit trail and the inbound table.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::UnknownNumber => "unknown_number",
            Refusal::NotUnderstood => "not_understood",
            Refusal::NoSuchCode => "no_such_code",
            Refusal::NotYours => "forbidden",
            Refusal::AlreadyDone => "already_acknowledged",
            Refusal::Closed => "invalid_state",
            Refusal::PinNeeded => "pin_required",
            Refusal::WrongPin => "wrong_pin",
            Refusal::PinLocked => "pin_locked",
        }
    }
}

fn severity(lang: Lang, s: Severity) -> &'static str {
    match (lang, s) {
        (Lang::En, Severity::Extreme) => "EXTREME",
        (Lang::En, Severity::Severe) => "SEVERE",
        (Lang::Fr, Severity::Extreme) => "EXTREME",
        (Lang::Fr, Severity::Severe) => "GRAVE",
        (Lang::Sw, Severity::Extreme) => "HATARI KUBWA",
        (Lang::Sw, Severity::Severe) => "HATARI",
        (Lang::Rn, Severity::Extreme) => "BIKOMEYE CANE",
        (Lang::Rn, Severity::Severe) => "BIKOMEYE",
        (Lang::Fr, _) => "INFO",
        (_, _) => "ALERT",
    }
}

fn kind(lang: Lang, k: AlertKind) -> &'static str {
    use AlertKind::*;
    match lang {
        Lang::En => match k {
            MassArrival => "mass arrival",
            MassDeparture => "mass departure",
            UnusualFlow => "unusual flow",
            HealthScreening => "health screening",
            SecurityIncident => "security incident",
            BorderClosure => "border closed",
            BorderReopening => "border reopened",
            Other => "alert",
        },
        Lang::Fr => match k {
            MassArrival => "arrivee massive",
            MassDeparture => "depart massif",
            UnusualFlow => "flux inhabituel",
            HealthScreening => "controle sanitaire",
            SecurityIncident => "incident securite",
            BorderClosure => "frontiere fermee",
            BorderReopening => "frontiere rouverte",
            Other => "alerte",
        },
        Lang::Sw => match k {
            MassArrival => "uingiaji mkubwa",
            MassDeparture => "utokaji mkubwa",
            UnusualFlow => "mtiririko usio wa kawaida",
            HealthScreening => "uchunguzi wa afya",
            SecurityIncident => "tukio la usalama",
            BorderClosure => "mpaka umefungwa",
            BorderReopening => "mpaka umefunguliwa",
            Other => "tahadhari",
        },
        Lang::Rn => match k {
            MassArrival => "benshi binjira",
            MassDeparture => "benshi basohoka",
            UnusualFlow => "urujya rudasanzwe",
            HealthScreening => "isuzuma ry'amagara",
            SecurityIncident => "umutekano muke",
            BorderClosure => "imbibe yugaye",
            BorderReopening => "imbibe yuguruwe",
            Other => "integuza",
        },
    }
}

/// Short labels of the vulnerable groups, in `VulnerableGroups::GROUPS` order.
fn groups(lang: Lang) -> [&'static str; 5] {
    match lang {
        Lang::En => [
            "children alone",
            "pregnant/nursing",
            "elderly",
            "sick/injured",
            "disabled",
        ],
        Lang::Fr => [
            "enfants seuls",
            "enceintes",
            "ages",
            "malades",
            "handicapes",
        ],
        Lang::Sw => [
            "watoto peke yao",
            "wajawazito",
            "wazee",
            "wagonjwa",
            "walemavu",
        ],
        Lang::Rn => [
            "abana bonyene",
            "abibungenze",
            "abakuze",
            "abarwayi",
            "abamugaye",
        ],
    }
}

fn people(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "people",
        Lang::Fr => "pers.",
        Lang::Sw => "watu",
        Lang::Rn => "abantu",
    }
}

fn reply_hint(lang: Lang, code: &str) -> String {
    match lang {
        Lang::En => format!("Reply ACK {code}"),
        Lang::Fr => format!("Repondez ACK {code}"),
        Lang::Sw => format!("Jibu ACK {code}"),
        Lang::Rn => format!("Ishura ACK {code}"),
    }
}

fn vulnerable(lang: Lang, v: &VulnerableGroups) -> Vec<String> {
    let counts = [
        v.unaccompanied_or_separated_children,
        v.pregnant_or_lactating_women,
        v.elderly,
        v.injured_or_sick,
        v.persons_with_disabilities,
    ];
    counts
        .iter()
        .zip(groups(lang))
        .filter_map(|(n, label)| n.filter(|n| *n > 0).map(|n| format!("{n} {label}")))
        .collect()
}

/// The SMS telling of an alert: `[ESC1] SEVERE mass arrival Mugina: 400
/// people (30 children alone). Ref 4F7. Reply ACK 4F7`. `escalation` is the
/// level for coordinators' escalation messages. `post_name` is the post's
/// display name.
pub fn alert(
    lang: Lang,
    alert: &Alert,
    post_name: &str,
    code: &str,
    escalation: Option<u8>,
    pin: bool,
) -> String {
    let mut text = String::from("MPAKA ");
    // An exercise must never be read as the real thing.
    if alert.status == AlertStatus::Exercise {
        text.push_str(match lang {
            Lang::En => "EXERCISE ",
            Lang::Fr => "EXERCICE ",
            Lang::Sw => "ZOEZI ",
            Lang::Rn => "IMYITOZO ",
        });
    }
    if let Some(level) = escalation {
        text.push_str(&format!("ESC{level} "));
    }
    text.push_str(severity(lang, alert.severity));
    text.push(' ');
    text.push_str(kind(lang, alert.kind));
    text.push(' ');
    text.push_str(post_name);
    text.push_str(&format!(": {} {}", alert.headcount, people(lang)));
    let groups = vulnerable(lang, &alert.vulnerable);
    if !groups.is_empty() {
        text.push_str(&format!(" ({})", groups.join(", ")));
    }
    text.push_str(&format!(". Ref {code}. {}", reply_hint(lang, code)));
    if pin {
        text.push_str(" PIN");
    }
    gsm::simplify(&text)
}

/// The answer to an accepted acknowledgement.
pub fn acknowledged(lang: Lang, code: &str) -> String {
    match lang {
        Lang::En => format!("MPAKA: alert {code} acknowledged. Thank you."),
        Lang::Fr => format!("MPAKA: alerte {code} accusee reception. Merci."),
        Lang::Sw => format!("MPAKA: tahadhari {code} imepokelewa. Asante."),
        Lang::Rn => format!("MPAKA: integuza {code} yakiriwe. Murakoze."),
    }
}

/// The answer to a reply that was not applied.
pub fn refused(lang: Lang, why: Refusal, code: Option<&str>) -> String {
    let code = code.unwrap_or("?");
    let text = match (lang, why) {
        (Lang::En, Refusal::UnknownNumber) => "MPAKA: this number is not registered.".to_owned(),
        (Lang::En, Refusal::NotUnderstood) => {
            "MPAKA: not understood. Send ACK <ref> or STATUS.".to_owned()
        }
        (Lang::En, Refusal::NoSuchCode) => {
            format!("MPAKA: no alert {code}. Send STATUS for the open ones.")
        }
        (Lang::En, Refusal::NotYours) => format!("MPAKA: you may not acknowledge alert {code}."),
        (Lang::En, Refusal::AlreadyDone) => {
            format!("MPAKA: alert {code} was already acknowledged by you.")
        }
        (Lang::En, Refusal::Closed) => format!("MPAKA: alert {code} is closed."),
        (Lang::En, Refusal::PinNeeded) => format!("MPAKA: add your PIN: ACK {code} <PIN>."),
        (Lang::En, Refusal::WrongPin) => "MPAKA: wrong PIN.".to_owned(),
        (Lang::En, Refusal::PinLocked) => {
            "MPAKA: too many wrong PINs. Use the console or try in an hour.".to_owned()
        }
        (Lang::Fr, Refusal::UnknownNumber) => "MPAKA: ce numero n'est pas enregistre.".to_owned(),
        (Lang::Fr, Refusal::NotUnderstood) => {
            "MPAKA: message non compris. Envoyez ACK <ref> ou ETAT.".to_owned()
        }
        (Lang::Fr, Refusal::NoSuchCode) => format!("MPAKA: pas d'alerte {code}. Envoyez ETAT."),
        (Lang::Fr, Refusal::NotYours) => {
            format!("MPAKA: vous ne pouvez pas accuser reception de {code}.")
        }
        (Lang::Fr, Refusal::AlreadyDone) => format!("MPAKA: alerte {code} deja accusee par vous."),
        (Lang::Fr, Refusal::Closed) => format!("MPAKA: alerte {code} close."),
        (Lang::Fr, Refusal::PinNeeded) => format!("MPAKA: ajoutez votre PIN: ACK {code} <PIN>."),
        (Lang::Fr, Refusal::WrongPin) => "MPAKA: PIN incorrect.".to_owned(),
        (Lang::Fr, Refusal::PinLocked) => {
            "MPAKA: trop de PIN incorrects. Utilisez la console ou reessayez dans une heure."
                .to_owned()
        }
        (Lang::Sw, Refusal::UnknownNumber) => "MPAKA: namba hii haijasajiliwa.".to_owned(),
        (Lang::Sw, Refusal::NotUnderstood) => {
            "MPAKA: haieleweki. Tuma ACK <kumb> au HALI.".to_owned()
        }
        (Lang::Sw, Refusal::NoSuchCode) => format!("MPAKA: hakuna tahadhari {code}. Tuma HALI."),
        (Lang::Sw, Refusal::NotYours) => format!("MPAKA: huruhusiwi kupokea {code}."),
        (Lang::Sw, Refusal::AlreadyDone) => format!("MPAKA: tayari umepokea {code}."),
        (Lang::Sw, Refusal::Closed) => format!("MPAKA: tahadhari {code} imefungwa."),
        (Lang::Sw, Refusal::PinNeeded) => format!("MPAKA: ongeza PIN: ACK {code} <PIN>."),
        (Lang::Sw, Refusal::WrongPin) => "MPAKA: PIN si sahihi.".to_owned(),
        (Lang::Sw, Refusal::PinLocked) => {
            "MPAKA: PIN zisizo sahihi nyingi. Tumia konsoli au jaribu baada ya saa moja.".to_owned()
        }
        (Lang::Rn, Refusal::UnknownNumber) => "MPAKA: iyi numero ntiyanditswe.".to_owned(),
        (Lang::Rn, Refusal::NotUnderstood) => {
            "MPAKA: ntivyumvikanye. Rungika ACK <ref> canke AMAKURU.".to_owned()
        }
        (Lang::Rn, Refusal::NoSuchCode) => format!("MPAKA: nta ntegu {code}. Rungika AMAKURU."),
        (Lang::Rn, Refusal::NotYours) => format!("MPAKA: ntushobora kwakira {code}."),
        (Lang::Rn, Refusal::AlreadyDone) => format!("MPAKA: {code} waramaze kuyakira."),
        (Lang::Rn, Refusal::Closed) => format!("MPAKA: integuza {code} yarugaye."),
        (Lang::Rn, Refusal::PinNeeded) => format!("MPAKA: ongerako PIN: ACK {code} <PIN>."),
        (Lang::Rn, Refusal::WrongPin) => "MPAKA: PIN si yo.".to_owned(),
        (Lang::Rn, Refusal::PinLocked) => {
            "MPAKA: PIN zitari zo ni nyinshi. Koresha konsole canke mugaruke haciye isaha."
                .to_owned()
        }
    };
    gsm::simplify(&text)
}

/// The answer to STATUS: the open alerts of the user's corridor, most
/// recent first, as `4F7 SEVERE mass arrival Mugina 400`.
pub fn status(lang: Lang, open: &[(String, Alert, String)]) -> String {
    if open.is_empty() {
        return match lang {
            Lang::En => "MPAKA: no open alerts.",
            Lang::Fr => "MPAKA: aucune alerte ouverte.",
            Lang::Sw => "MPAKA: hakuna tahadhari wazi.",
            Lang::Rn => "MPAKA: nta ntegu zuguruye.",
        }
        .to_owned();
    }
    let lines: Vec<String> = open
        .iter()
        .map(|(code, a, post)| {
            format!(
                "{code} {} {} {post} {}",
                severity(lang, a.severity),
                kind(lang, a.kind),
                a.headcount
            )
        })
        .collect();
    gsm::simplify(&format!("MPAKA: {}", lines.join("; ")))
}

/// The phone verification message.
pub fn verification(lang: Lang, code: &str) -> String {
    match lang {
        Lang::En => format!("MPAKA verification code: {code}"),
        Lang::Fr => format!("MPAKA code de verification: {code}"),
        Lang::Sw => format!("MPAKA nambari ya uthibitisho: {code}"),
        Lang::Rn => format!("MPAKA kode yo kwemeza: {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::gsm::{measure, Encoding};

    pub(crate) fn sample(severity: Severity) -> Alert {
        let json = serde_json::json!({
            "id": "a1", "post": "mugina", "corridor": "mugina-manyovu", "country": "BI",
            "raised_by": {"role": "officer"}, "raised_at": "2026-12-01T10:00:00Z",
            "kind": "mass_arrival", "direction": "into_tanzania", "headcount": 400,
            "vulnerable": {"unaccompanied_or_separated_children": 35, "pregnant_or_lactating_women": 20},
            "severity": severity.as_str(), "urgency": "immediate", "certainty": "observed",
            "status": "actual", "state": "open", "version": 1, "updated_at": "2026-12-01T10:00:00Z"
        });
        serde_json::from_value(json).expect("sample alert")
    }

    #[test]
    fn an_alert_fits_one_gsm_segment_in_every_language() {
        for lang in [Lang::En, Lang::Fr, Lang::Sw, Lang::Rn] {
            for severity in [Severity::Severe, Severity::Extreme] {
                let text = alert(lang, &sample(severity), "Mugina", "4F7", None, false);
                let m = measure(&text);
                assert_eq!(m.encoding, Encoding::Gsm7, "{text}");
                assert_eq!(m.segments, 1, "{text} ({} septets)", m.units);
                assert!(text.contains("4F7") && text.contains("400"), "{text}");
            }
        }
    }

    #[test]
    fn the_alert_text_names_kind_post_counts_severity_code_and_reply() {
        let text = alert(
            Lang::En,
            &sample(Severity::Severe),
            "Mugina",
            "4F7",
            None,
            false,
        );
        assert_eq!(
            text,
            "MPAKA SEVERE mass arrival Mugina: 400 people (35 children alone, 20 pregnant/nursing). Ref 4F7. Reply ACK 4F7"
        );
        let text = alert(
            Lang::Fr,
            &sample(Severity::Extreme),
            "Mugina",
            "4F7",
            Some(1),
            true,
        );
        assert!(
            text.starts_with("MPAKA ESC1 EXTREME arrivee massive Mugina: 400 pers."),
            "{text}"
        );
        assert!(text.ends_with("Repondez ACK 4F7 PIN"), "{text}");
    }

    #[test]
    fn an_exercise_says_so_first() {
        let mut exercise = sample(Severity::Severe);
        exercise.status = AlertStatus::Exercise;
        let text = alert(Lang::Fr, &exercise, "Mugina", "4F7", None, false);
        assert!(text.starts_with("MPAKA EXERCICE GRAVE"), "{text}");
        let text = alert(Lang::Sw, &exercise, "Mugina", "4F7", None, false);
        assert!(text.starts_with("MPAKA ZOEZI HATARI"), "{text}");
    }

    #[test]
    fn a_post_name_outside_gsm7_makes_the_text_ucs2() {
        let text = alert(
            Lang::Sw,
            &sample(Severity::Severe),
            "Мугина",
            "4F7",
            None,
            false,
        );
        let m = measure(&text);
        assert_eq!(m.encoding, Encoding::Ucs2);
        assert!(m.segments >= 2, "{text}: {m:?}");
    }

    #[test]
    fn every_answer_is_gsm7() {
        for lang in [Lang::En, Lang::Fr, Lang::Sw, Lang::Rn] {
            for why in [
                Refusal::UnknownNumber,
                Refusal::NotUnderstood,
                Refusal::NoSuchCode,
                Refusal::NotYours,
                Refusal::AlreadyDone,
                Refusal::Closed,
                Refusal::PinNeeded,
                Refusal::WrongPin,
                Refusal::PinLocked,
            ] {
                let text = refused(lang, why, Some("4F7"));
                assert_eq!(measure(&text).encoding, Encoding::Gsm7, "{text}");
                assert_eq!(measure(&text).segments, 1, "{text}");
            }
            assert_eq!(measure(&acknowledged(lang, "4F7")).encoding, Encoding::Gsm7);
            assert_eq!(measure(&verification(lang, "123456")).segments, 1);
        }
    }

    /// Prints the figures of docs/sms.md ("Texts and what they cost"):
    /// `cargo test -p mpaka-server --lib -- sms::compose -- --nocapture`.
    #[test]
    fn bytes_and_segments_per_alert_are_measured() {
        let full = {
            let mut a = sample(Severity::Extreme);
            a.vulnerable.elderly = Some(12);
            a.vulnerable.injured_or_sick = Some(7);
            a.vulnerable.persons_with_disabilities = Some(3);
            a
        };
        for (name, alert_of, escalation) in [
            ("severe", sample(Severity::Severe), None),
            ("extreme, all groups, escalation 2", full, Some(2)),
        ] {
            for lang in [Lang::En, Lang::Fr, Lang::Sw, Lang::Rn] {
                let text = alert(
                    lang,
                    &alert_of,
                    "Mugina",
                    "4F7",
                    escalation,
                    escalation.is_some(),
                );
                let m = measure(&text);
                println!(
                    "| {lang:?} | {name} | `{text}` | {} | {} | {} | {} |",
                    m.encoding.as_str(),
                    m.units,
                    m.bytes,
                    m.segments
                );
                assert_eq!(m.segments, 1, "{text}");
            }
        }
    }

    #[test]
    fn languages_are_read_from_tags() {
        assert_eq!(Lang::of("fr"), Lang::Fr);
        assert_eq!(Lang::of("sw-TZ"), Lang::Sw);
        assert_eq!(Lang::of("rn"), Lang::Rn);
        assert_eq!(Lang::of("de"), Lang::En);
    }
}
