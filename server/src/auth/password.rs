//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB,
//! 2 passes), run off the async workers because it is deliberately slow, on
//! a bounded pool with a bounded queue: a login flood gets fast `unavailable`
//! answers instead of queueing without end, and leaves cores to the hub.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::LazyLock;

/// Logins waiting for a hashing thread beyond those hashing. When a
/// thousand posts log in together after a power cut, the first ones queue
/// here (a verification takes tens of milliseconds); the rest are told to
/// retry in a second rather than piling up for minutes.
pub const VERIFY_QUEUE: usize = 32;

/// Hashes computed at once: half the cores (at least one). Each takes 19 MiB
/// and a core; the other half stays with event delivery, so that a login
/// flood does not slow publishing. Process-wide because memory and cores are.
static HASHING: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(hashing_threads()));

/// Verifications one hub admits at once: hashing plus queued. One per hub
/// (a process runs one), so that a flood against one hub never refuses
/// logins at another in the same process (the tests run many); the cores
/// stay shared through [`HASHING`].
#[derive(Debug)]
pub struct Admission(tokio::sync::Semaphore);

impl Admission {
    pub fn new() -> Admission {
        Admission(tokio::sync::Semaphore::new(
            hashing_threads() + VERIFY_QUEUE,
        ))
    }
}

impl Default for Admission {
    fn default() -> Admission {
        Admission::new()
    }
}

fn hashing_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| (n.get() / 2).max(1))
        .unwrap_or(1)
}

/// The hashing pool and its queue are full: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

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
///
/// # Errors
/// [`Busy`] at once, without hashing, when the pool and its queue are full.
pub async fn verify(admission: &Admission, password: String, phc: String) -> Result<bool, Busy> {
    let Ok(_admitted) = admission.0.try_acquire() else {
        return Err(Busy);
    };
    let Ok(_permit) = HASHING.acquire().await else {
        return Ok(false);
    };
    Ok(tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false))
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
