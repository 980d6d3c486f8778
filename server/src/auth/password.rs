//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB,
//! 2 passes), run off the async workers because it is deliberately slow.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::LazyLock;

/// Shortest password accepted when creating or changing an account.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Hashes computed at once. Each takes 19 MiB and a core for tens of
/// milliseconds; when a thousand posts log in together after a power cut,
/// they queue here instead of exhausting memory. Process-wide because the
/// memory and cores are.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Hashes a password into a PHC string.
///
/// # Errors
/// Only if the hasher itself fails (it does not for valid parameters).
pub async fn hash(password: String) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// Checks a password against a PHC string. A malformed hash never matches.
pub async fn verify(password: String, phc: String) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of nothing anyone knows: verifying against it for unknown
/// usernames makes a failed login take as long whether or not the user exists.
pub static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"decoy password nobody has", &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});
