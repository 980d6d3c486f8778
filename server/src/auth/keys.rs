//! The signing keys of access tokens and their rotation. One key signs;
//! every key in the ring verifies. Each key has an id (`kid`, derived from
//! the key itself so every node holding it agrees) carried in the token
//! header, so a node can say which key a refused token needs.
//!
//! Where keys come from:
//! - `jwt_secret` (signs) and `jwt_verify_secrets` (verify only), from the
//!   configuration: several nodes share them; the operator rotates them
//!   in two steps (docs/operations.md).
//! - otherwise `{data_dir}/jwt.key` (signs, generated on first start) and
//!   `{data_dir}/jwt.retired` (one `retired_at_ms key` line per earlier key),
//!   written by `mpaka key rotate`. A retired key verifies until every
//!   token it signed has expired (`auth.access_ttl_secs` after retirement);
//!   refresh tokens are not JWTs, so nobody is logged out by a rotation.

use crate::config::Settings;
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Seconds of clock skew allowed on expiry (as in `jwt.rs`).
const LEEWAY_MS: i64 = 5_000;

/// A key and its id.
#[derive(Clone)]
pub struct Key {
    pub kid: String,
    pub secret: Vec<u8>,
}

impl Key {
    pub fn new(secret: &[u8]) -> Key {
        Key {
            kid: kid_of(secret),
            secret: secret.to_vec(),
        }
    }
}

/// The keys of this node.
#[derive(Clone)]
pub struct KeyRing {
    pub signing: Key,
    /// Keys accepted besides the signing key.
    pub verifying: Vec<Key>,
    /// Where the signing key came from, for the start-up line: never the key.
    pub source: String,
}

/// The id of a key: 16 hex digits of a hash of it (not reversible).
pub fn kid_of(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"mpaka jwt kid\0")
        .chain_update(secret)
        .finalize();
    hex::encode(&digest[..8])
}

fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("jwt.key")
}

fn retired_file(data_dir: &Path) -> PathBuf {
    data_dir.join("jwt.retired")
}

/// Loads (or, on first start without a configured key, generates) the keys.
///
/// # Errors
/// A configured key shorter than 32 bytes; a key file that cannot be read
/// or written (the message names it).
pub fn load(settings: &Settings, now_ms: i64) -> anyhow::Result<KeyRing> {
    if let Some(secret) = &settings.jwt_secret {
        anyhow::ensure!(
            secret.expose().len() >= 32,
            "jwt_secret must be at least 32 bytes long"
        );
        let verifying = settings
            .jwt_verify_secrets
            .iter()
            .map(|s| {
                anyhow::ensure!(
                    s.expose().len() >= 32,
                    "every key in jwt_verify_secrets must be at least 32 bytes long"
                );
                Ok(Key::new(s.expose().as_bytes()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let signing = Key::new(secret.expose().as_bytes());
        return Ok(KeyRing {
            source: format!(
                "jwt_secret (kid {}, {} more verifying)",
                signing.kid,
                verifying.len()
            ),
            signing,
            verifying,
        });
    }
    let path = key_file(&settings.data_dir);
    let (secret, how) = if path.exists() {
        let key = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the signing key {}", path.display()))?;
        (key.trim().as_bytes().to_vec(), "file")
    } else {
        let key = crate::auth::random_token();
        crate::files::write_private(&path, key.as_bytes())
            .with_context(|| format!("cannot write a new signing key to {}", path.display()))?;
        (key.into_bytes(), "generated")
    };
    let keep_ms = keep_retired_ms(settings);
    let verifying: Vec<Key> = read_retired(&settings.data_dir)?
        .into_iter()
        .filter(|(retired_at, _)| retired_at + keep_ms > now_ms)
        .map(|(_, secret)| Key::new(&secret))
        .collect();
    let signing = Key::new(&secret);
    Ok(KeyRing {
        source: format!(
            "{how} {} (kid {}, {} retired still verifying)",
            path.display(),
            signing.kid,
            verifying.len()
        ),
        signing,
        verifying,
    })
}

/// How long a retired key keeps verifying: the longest an access token it
/// signed can still be valid.
fn keep_retired_ms(settings: &Settings) -> i64 {
    i64::try_from(settings.auth.access_ttl_secs.get().saturating_mul(1000)).unwrap_or(i64::MAX)
        + LEEWAY_MS
}

fn read_retired(data_dir: &Path) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    let path = retired_file(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (at, key) = line.split_once(' ').with_context(|| {
                format!("{}: a line is not `retired_at_ms key`", path.display())
            })?;
            let at: i64 = at
                .parse()
                .with_context(|| format!("{}: bad retirement time", path.display()))?;
            Ok((at, key.trim().as_bytes().to_vec()))
        })
        .collect()
}

/// What `mpaka key rotate` did.
#[derive(Debug)]
pub struct Rotation {
    pub new_kid: String,
    pub retired_kid: String,
    /// When the retired key stops verifying (Unix ms).
    pub retired_until_ms: i64,
}

/// Replaces `{data_dir}/jwt.key` with a new key and keeps the old one in
/// `jwt.retired` (dropping retired keys whose tokens have all expired).
/// Running hubs pick the new key up when restarted; until then they keep
/// signing with the old one, which stays valid everywhere.
///
/// # Errors
/// `jwt_secret` is configured (rotate it in the configuration instead), no
/// key file exists yet, or a file cannot be written.
pub fn rotate(settings: &Settings, now_ms: i64) -> anyhow::Result<Rotation> {
    anyhow::ensure!(
        settings.jwt_secret.is_none(),
        "jwt_secret is set in the configuration, so the key is not in a file: \
         rotate it there (docs/operations.md, \"Rotating the signing key\"): \
         1. add a new key (`mpaka key generate`) to jwt_verify_secrets on every node and restart them; \
         2. make it jwt_secret and move the old one to jwt_verify_secrets, restart; \
         3. after auth.access_ttl_secs, drop the old one"
    );
    let path = key_file(&settings.data_dir);
    anyhow::ensure!(
        path.exists(),
        "no signing key at {} (it is created on the hub's first start)",
        path.display()
    );
    let old = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let old = old.trim().to_owned();
    let keep_ms = keep_retired_ms(settings);
    let mut lines: Vec<String> = read_retired(&settings.data_dir)?
        .into_iter()
        .filter(|(at, _)| at + keep_ms > now_ms)
        .map(|(at, key)| format!("{at} {}\n", String::from_utf8_lossy(&key)))
        .collect();
    lines.push(format!("{now_ms} {old}\n"));
    // The old key is kept before the new one replaces it: a crash between
    // the two writes leaves the old key both current and retired, harmless.
    let retired = retired_file(&settings.data_dir);
    crate::files::write_private(&retired, lines.concat().as_bytes())
        .with_context(|| format!("cannot write {}", retired.display()))?;
    let new = crate::auth::random_token();
    crate::files::write_private(&path, new.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Rotation {
        new_kid: kid_of(new.as_bytes()),
        retired_kid: kid_of(old.as_bytes()),
        retired_until_ms: now_ms + keep_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_key_verifies_until_its_tokens_expire() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::for_tests(dir.path());
        let first = load(&settings, 1_000).unwrap();
        assert!(first.source.starts_with("generated"));
        let rotation = rotate(&settings, 2_000).unwrap();
        assert_eq!(rotation.retired_kid, first.signing.kid);
        let after = load(&settings, 3_000).unwrap();
        assert_eq!(after.signing.kid, rotation.new_kid);
        assert_eq!(after.verifying.len(), 1);
        assert_eq!(after.verifying[0].kid, first.signing.kid);
        let later = load(&settings, rotation.retired_until_ms + 1).unwrap();
        assert!(later.verifying.is_empty());
    }

    #[test]
    fn a_configured_key_is_not_rotated_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_tests(dir.path());
        settings.jwt_secret = Some(crate::config::Secret::new("k".repeat(40)));
        let err = rotate(&settings, 1).unwrap_err().to_string();
        assert!(err.contains("jwt_verify_secrets"), "{err}");
    }
}
