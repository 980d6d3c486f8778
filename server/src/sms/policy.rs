//! Pure rules of the SMS bridge: valid phone numbers, who may opt out,
//! quiet hours, who must give a PIN, and the reference codes of alerts.

use super::settings::SmsSettings;
use mpaka_protocol::{Role, Severity};

/// Characters of reference codes: digits and capitals without the ones
/// read or typed as another (0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B) and without
/// vowels that could spell words.
pub const CODE_ALPHABET: &[u8] = b"3479CDFHJKMNPRTVWXY";
/// Characters of a reference code (19^3 = 6859 codes).
pub const CODE_LEN: usize = 3;

/// Whether `phone` is an E.164 number: `+`, a country code not starting
/// with 0, at most 15 digits in all.
pub fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A phone number as typed, with spaces, dashes, dots and brackets removed
/// and a leading `00` read as `+`.
pub fn tidy_phone(typed: &str) -> String {
    let kept: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    match kept.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => kept,
    }
}

/// Whether a user of `role` may opt out of alert SMS.
pub fn may_opt_out(settings: &SmsSettings, role: Role) -> bool {
    !settings.required_roles.contains(&role)
}

/// Whether acknowledgements by SMS of a user of `role` need their PIN.
pub fn needs_pin(settings: &SmsSettings, role: Role) -> bool {
    settings.pin_roles.contains(&role)
}

/// Whether `minute` (after midnight UTC) is inside quiet hours `from..to`
/// (which may wrap past midnight).
pub fn in_quiet_hours(quiet: Option<(i64, i64)>, minute: i64) -> bool {
    match quiet {
        None => false,
        Some((from, to)) if from == to => false,
        Some((from, to)) if from < to => (from..to).contains(&minute),
        Some((from, to)) => minute >= from || minute < to,
    }
}

/// Whether an SMS about an alert of `severity` goes out now: extreme alerts
/// ignore quiet hours, and opting out only counts where the role allows it.
pub fn sends_now(
    settings: &SmsSettings,
    role: Role,
    opted_out: bool,
    quiet: Option<(i64, i64)>,
    severity: Severity,
    now_ms: i64,
) -> bool {
    if opted_out && may_opt_out(settings, role) {
        return false;
    }
    let minute = (now_ms / 60_000).rem_euclid(24 * 60);
    severity == Severity::Extreme || !in_quiet_hours(quiet, minute)
}

/// A fresh random reference code.
pub fn new_code(rng: &mut impl rand::Rng) -> String {
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_must_be_e164() {
        assert!(is_e164("+25779000001"));
        assert!(is_e164("+255700000001"));
        assert!(!is_e164("25779000001"));
        assert!(!is_e164("+0579000001"));
        assert!(!is_e164("+2557000000011234"));
        assert!(!is_e164("+2557x0000001"));
        assert_eq!(tidy_phone("00 257 79-00.00(01)"), "+25779000001");
    }

    #[test]
    fn quiet_hours_may_wrap_past_midnight() {
        let night = Some((22 * 60, 6 * 60));
        assert!(in_quiet_hours(night, 23 * 60));
        assert!(in_quiet_hours(night, 60));
        assert!(!in_quiet_hours(night, 12 * 60));
        let lunch = Some((12 * 60, 13 * 60));
        assert!(in_quiet_hours(lunch, 12 * 60 + 30));
        assert!(!in_quiet_hours(lunch, 13 * 60));
        assert!(!in_quiet_hours(None, 0));
    }

    #[test]
    fn extreme_alerts_ignore_quiet_hours_and_required_roles_ignore_opting_out() {
        let mut s = SmsSettings::default();
        let always = Some((0, 24 * 60 - 1));
        let noon = 12 * 3_600_000;
        assert!(!sends_now(
            &s,
            Role::Officer,
            false,
            always,
            Severity::Severe,
            noon
        ));
        assert!(sends_now(
            &s,
            Role::Officer,
            false,
            always,
            Severity::Extreme,
            noon
        ));
        assert!(!sends_now(
            &s,
            Role::Officer,
            true,
            None,
            Severity::Extreme,
            noon
        ));
        s.required_roles = vec![Role::Officer];
        assert!(sends_now(
            &s,
            Role::Officer,
            true,
            None,
            Severity::Extreme,
            noon
        ));
        assert!(!sends_now(
            &s,
            Role::Coordinator,
            true,
            None,
            Severity::Extreme,
            noon
        ));
    }

    #[test]
    fn codes_use_the_unambiguous_alphabet() {
        let mut rng = rand::rng();
        for _ in 0..100 {
            let code = new_code(&mut rng);
            assert_eq!(code.len(), CODE_LEN);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        }
        for ambiguous in b"0O1IL2Z5S6G8B" {
            assert!(!CODE_ALPHABET.contains(ambiguous));
        }
    }
}
