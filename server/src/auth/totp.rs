//! TOTP codes (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, computed by
//! the `totp-rs` crate) and recovery codes: pure functions, no I/O.
//!
//! A code is accepted for the current step or one step either side (±30 s
//! of clock skew, RFC 6238 §5.2), and only for a step later than the last
//! one accepted for the account, so a code seen over a shoulder or in a
//! proxy log cannot be used again.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Steps accepted either side of the current one.
pub const SKEW_STEPS: u64 = 1;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "mpaka";

/// A new random secret: 160 bits, as RFC 4226 recommends.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// The secret in base32 (RFC 4648, no padding), as stored and shown.
pub fn encode_secret(secret: &[u8]) -> String {
    base32_encode(secret)
}

/// The secret from its base32 form; `None` when malformed.
pub fn decode_secret(text: &str) -> Option<Vec<u8>> {
    totp_rs::Secret::Encoded(text.to_owned()).to_bytes().ok()
}

fn totp(secret: &[u8], account: &str) -> Option<TOTP> {
    // `:` separates issuer and account in the URI; usernames never hold it.
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        u8::try_from(SKEW_STEPS).unwrap_or(1),
        STEP_SECS,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account.replace(':', "_"),
    )
    .ok()
}

/// The `otpauth://totp/…` URI an authenticator app reads from the QR code.
pub fn otpauth_url(secret: &[u8], account: &str) -> String {
    totp(secret, account)
        .map(|t| t.get_url())
        .unwrap_or_default()
}

/// The QR code of `text` as an SVG document.
pub fn qr_svg(text: &str) -> String {
    qrcode::QrCode::new(text.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(240, 240)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

/// The time step of Unix time `secs`.
pub fn step_of(secs: u64) -> u64 {
    secs / STEP_SECS
}

/// The code of step `step`.
pub fn code_at(secret: &[u8], step: u64) -> Option<String> {
    totp(secret, "").map(|t| t.generate(step * STEP_SECS))
}

/// The step whose code `code` is, among the current step ±[`SKEW_STEPS`]
/// and later than `after` (the last step accepted); `None` when it is none
/// of them. Every candidate is compared, in constant time.
pub fn matching_step(secret: &[u8], code: &str, now_secs: u64, after: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(now_secs);
    let mut found = None;
    for step in now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS {
        let Some(expected) = code_at(secret, step) else {
            continue;
        };
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) && step > after {
            found = found.or(Some(step));
        }
    }
    found
}

/// Whether `code` looks like a TOTP code (digits only) rather than a
/// recovery code.
pub fn is_totp_code(code: &str) -> bool {
    let code = code.trim();
    code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// New recovery codes, as shown to the user: ten groups `xxxxx-xxxxx` of
/// lower-case base32 (50 random bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rng().fill_bytes(&mut bytes);
            let text = base32_encode(&bytes).to_lowercase();
            format!("{}-{}", &text[..5], &text[5..10])
        })
        .collect()
}

/// The stored form of a recovery code: the hash of its letters and
/// digits, lower-cased (dashes and spaces as typed do not matter).
pub fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let digest = Sha256::digest(format!("mpaka-recovery:{normal}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, truncated to 6 digits.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(
                code_at(secret, step_of(time)).as_deref(),
                Some(code),
                "{time}"
            );
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_only_after_the_last_used_step() {
        let secret = new_secret();
        let now = 1_800_000_000u64;
        let step = step_of(now);
        let code = |s| code_at(&secret, s).unwrap();
        assert_eq!(matching_step(&secret, &code(step), now, 0), Some(step));
        assert_eq!(
            matching_step(&secret, &code(step - 1), now, 0),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(&secret, &code(step + 1), now, 0),
            Some(step + 1)
        );
        assert_eq!(matching_step(&secret, &code(step - 2), now, 0), None);
        assert_eq!(matching_step(&secret, &code(step + 2), now, 0), None);
        // Replay: the step was used.
        assert_eq!(matching_step(&secret, &code(step), now, step), None);
        assert_eq!(
            matching_step(&secret, &code(step + 1), now, step),
            Some(step + 1)
        );
        assert_eq!(matching_step(&secret, "12345", now, 0), None);
        assert_eq!(matching_step(&secret, "abcdef", now, 0), None);
    }

    #[test]
    fn secrets_round_trip_through_base32_and_the_uri_names_issuer_and_account() {
        let secret = new_secret();
        let text = encode_secret(&secret);
        assert_eq!(text.len(), 32);
        assert_eq!(decode_secret(&text), Some(secret.clone()));
        let url = otpauth_url(&secret, "mugina.coordinator");
        assert!(
            url.starts_with("otpauth://totp/mpaka:mugina.coordinator?"),
            "{url}"
        );
        assert!(url.contains(&format!("secret={text}")), "{url}");
        assert!(qr_svg(&url).contains("<svg"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_hashed_without_their_dashes() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        let code = &codes[0];
        assert_eq!(code.len(), 11);
        assert_eq!(
            recovery_hash(code),
            recovery_hash(&code.replace('-', " ").to_uppercase())
        );
        assert_ne!(recovery_hash(code), recovery_hash(&codes[1]));
        assert!(!is_totp_code(code));
        assert!(is_totp_code(" 123456 "));
    }
}
