//! A small real file system for disk-full tests: a `tmpfs` of a chosen size
//! mounted on a temporary directory (the tests run as root in CI). Where
//! mounting is impossible a test prints `SKIPPED (…)` and passes, except
//! under `CI=true`, where that is a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted `tmpfs`, unmounted on drop.
pub struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a `tmpfs` of `bytes` bytes; `None` when the test must be skipped.
    ///
    /// # Panics
    /// Mounting is impossible and `CI=true`.
    pub fn mount(bytes: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes},mode=0700")])
            .arg("tmpfs")
            .arg(dir.path())
            .output();
        let why = match output {
            Ok(out) if out.status.success() => {
                return Some(SmallDisk {
                    path: dir.path().to_owned(),
                    _dir: dir,
                })
            }
            Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            Err(error) => error.to_string(),
        };
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("cannot mount a tmpfs ({why}) and CI=true: disk-full tests must run in CI");
        }
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED (cannot mount a small tmpfs; run as root): {why}"
        );
        None
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes available to an unprivileged writer, as `df` reports them.
    pub fn free_bytes(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.path)
            .output()
            .expect("df runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .expect("df prints the available bytes")
    }

    /// Writes a filler file until the file system is full, or until only
    /// `leave` bytes are free; returns the filler's path.
    pub fn fill(&self, name: &str, leave: u64) -> PathBuf {
        let path = self.path.join(name);
        let mut file = std::fs::File::create(&path).expect("filler file");
        let chunk = vec![0x5a_u8; 64 * 1024];
        loop {
            let free = self.free_bytes();
            if free <= leave {
                break;
            }
            let n = usize::try_from((free - leave).min(chunk.len() as u64)).unwrap_or(chunk.len());
            match file.write(&chunk[..n]) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a hub that still holds files open must not keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
