//! The log's Ed25519 key file: 32 random bytes, base64, one line, mode
//! 0600, created on first start. A file readable by others is refused, as
//! ssh refuses such a private key. The key never enters the database or a
//! log line.

use super::LogError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use std::path::Path;

fn error(path: &Path, reason: impl Into<String>) -> LogError {
    LogError::Key {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Reads the key at `path`, creating it (mode 0600) when absent.
///
/// # Errors
/// The file cannot be read or created, is readable by group or others, or
/// does not hold a 32-byte base64 key.
pub fn load_or_create(path: &Path) -> Result<SigningKey, LogError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            check_mode(path)?;
            let bytes = B64
                .decode(text.trim())
                .map_err(|_| error(path, "not base64"))?;
            let seed: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| error(path, "not a 32-byte Ed25519 seed"))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(error(path, e.to_string())),
    }
}

/// Written like every secret file of the hub (atomically, 0600, directory
/// synced): a power cut while creating it leaves no half-written key that
/// would stop the next start.
fn create(path: &Path) -> Result<SigningKey, LogError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| error(path, e.to_string()))?;
    }
    let seed: [u8; 32] = rand::random();
    crate::files::write_private(path, format!("{}\n", B64.encode(seed)).as_bytes())
        .map_err(|e| error(path, e.to_string()))?;
    tracing::info!(path = %path.display(), "created the log signing key");
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), LogError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(|e| error(path, e.to_string()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(error(
            path,
            format!("mode {:o} lets others read it; chmod 600", mode & 0o777),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<(), LogError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_private_and_reloads_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = load_or_create(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
            assert!(!err.contains(&B64.encode(a.to_bytes())));
        }
    }
}
