//! RFC 6238 codes (HMAC-SHA-1, 6 digits, 30 s) computed by hand for the
//! second-factor tests, so that they do not trust the hub's own code.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::time::{SystemTime, UNIX_EPOCH};

/// Decodes RFC 4648 base32 (no padding).
fn base32_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buffer: u64 = 0;
    let mut bits = 0;
    for c in text.trim_end_matches('=').chars() {
        let value = match c {
            'A'..='Z' => c as u64 - 'A' as u64,
            '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => panic!("not base32: {c}"),
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    out
}

/// The RFC 6238 code (SHA-1, 6 digits) of time step `step`.
pub fn code_at(secret_base32: &str, step: u64) -> String {
    let key = base32_decode(secret_base32);
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("any key length");
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

/// The current 30-second step.
pub fn step_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        / 30
}
