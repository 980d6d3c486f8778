//! The password policy: at least [`MIN_PASSWORD_CHARS`] characters and a
//! strength estimate of at least [`MIN_SCORE`] from zxcvbn, which knows the
//! common-password lists, dictionary words, names, keyboard patterns,
//! dates and repeats, and is told the account's own names so that a
//! password built from them scores low. Applied whenever a password is
//! set: account creation, self-service change, administrator reset.

use crate::error::AppError;
use mpaka_protocol::ErrorCode;
use zxcvbn::Score;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Lowest zxcvbn score accepted: 3, "safely unguessable: moderate
/// protection from an offline slow-hash scenario" (about 10^8 guesses).
pub const MIN_SCORE: Score = Score::Three;

/// Checks `password` for the account known by `names` (username, display
/// name).
///
/// # Errors
/// `weak_password` with the reason and zxcvbn's advice in the message.
pub fn check(password: &str, names: &[&str]) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::new(
            ErrorCode::WeakPassword,
            format!("a password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    let estimate = zxcvbn::zxcvbn(password, names);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let advice = estimate
        .feedback()
        .map(|feedback| {
            let mut parts: Vec<String> = feedback
                .warning()
                .map(|w| w.to_string())
                .into_iter()
                .collect();
            parts.extend(feedback.suggestions().iter().map(ToString::to_string));
            parts.join(" ")
        })
        .filter(|advice| !advice.is_empty())
        .unwrap_or_else(|| "Add another word or two; uncommon words are better.".into());
    Err(AppError::new(
        ErrorCode::WeakPassword,
        format!("this password is too easy to guess. {advice}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::check;
    use mpaka_protocol::ErrorCode;

    fn code(password: &str) -> Option<ErrorCode> {
        check(password, &["mugina.officer", "Officer at Mugina"])
            .err()
            .map(|e| e.body().code)
    }

    #[test]
    fn short_common_patterned_and_personal_passwords_are_weak() {
        for weak in [
            "short",
            "1234567890",
            "password12",
            "qwertyuiop",
            "aaaaaaaaaaaa",
            "mugina.officer1",
            "Password2026!",
        ] {
            assert_eq!(code(weak), Some(ErrorCode::WeakPassword), "{weak}");
        }
    }

    #[test]
    fn long_unusual_passwords_pass() {
        for strong in [
            "maize lorry kitenge umbrella",
            "Tq7#vR9!pL2@xZ",
            "Ruyigi-kibondo-mvua-nyingi-2026",
        ] {
            assert_eq!(code(strong), None, "{strong}");
        }
    }
}
