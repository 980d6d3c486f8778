//! Resource usage of a process read from `/proc` (Linux only): peak and
//! current resident memory and CPU time.

use serde::{Deserialize, Serialize};

/// Clock ticks per second of `utime`/`stime` in `/proc/PID/stat`. Linux
/// reports these in USER_HZ, which is 100 on every architecture it exposes
/// to user space.
const TICKS_PER_SEC: f64 = 100.0;

/// One reading of a process's resource usage.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Peak resident set size since the process started (`VmHWM`), MiB.
    pub peak_rss_mib: f64,
    /// Resident set size now (`VmRSS`), MiB.
    pub rss_mib: f64,
    /// User plus system CPU time consumed so far, seconds.
    pub cpu_secs: f64,
}

/// Reads the usage of process `pid` ("self" for this process).
///
/// # Errors
/// When `/proc/PID` cannot be read (the process is gone, or not Linux).
pub fn read(pid: &str) -> std::io::Result<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces; fields after it follow
    // the closing parenthesis. utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| -> f64 {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok(Usage {
        peak_rss_mib: kib("VmHWM:") / 1024.0,
        rss_mib: kib("VmRSS:") / 1024.0,
        // Field 3 (state) is index 0 here, so utime (14) is index 11.
        cpu_secs: (tick(11) + tick(12)) / TICKS_PER_SEC,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_memory_and_cpu_readings() {
        let usage = super::read("self").unwrap();
        assert!(usage.peak_rss_mib > 0.0);
        assert!(usage.rss_mib > 0.0);
        assert!(usage.cpu_secs >= 0.0);
    }
}
