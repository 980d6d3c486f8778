//! Files the hub creates are its own: the process umask is set to 077 at
//! start, so the database, its WAL and shared-memory files, the signing key,
//! exports and backups are created 0600 and directories 0700, whatever the
//! umask the hub was started with (a service manager's default is often 022,
//! which would leave them world-readable).

/// The mask: no permission for group or others.
pub const UMASK: u32 = 0o077;

/// Sets the process umask to [`UMASK`]; returns the one it replaces.
pub fn restrict_umask() -> u32 {
    let previous = rustix::process::umask(rustix::fs::Mode::from_raw_mode(UMASK));
    previous.as_raw_mode()
}
