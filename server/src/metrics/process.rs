//! The process's own figures (resident memory, open file descriptors, CPU
//! time, start time), read from `/proc/self` on Linux at each scrape and
//! exported under the names every Prometheus dashboard already knows
//! (`process_*`, unprefixed). On other systems nothing is read and the
//! series stay at zero.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// One reading of `/proc/self`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
    pub max_fds: u64,
    pub cpu_seconds: f64,
    pub start_time_seconds: f64,
}

/// The exported process series.
pub(super) struct ProcessMetrics {
    resident: Gauge,
    virtual_memory: Gauge,
    open_fds: Gauge,
    max_fds: Gauge,
    cpu: Counter<f64, AtomicU64>,
    start_time: Gauge<f64, AtomicU64>,
}

impl ProcessMetrics {
    pub(super) fn register(registry: &mut Registry) -> ProcessMetrics {
        let metrics = ProcessMetrics {
            resident: Gauge::default(),
            virtual_memory: Gauge::default(),
            open_fds: Gauge::default(),
            max_fds: Gauge::default(),
            cpu: Counter::default(),
            start_time: Gauge::default(),
        };
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            metrics.resident.clone(),
        );
        registry.register(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            metrics.virtual_memory.clone(),
        );
        registry.register(
            "process_open_fds",
            "Open file descriptors",
            metrics.open_fds.clone(),
        );
        registry.register(
            "process_max_fds",
            "Limit on open file descriptors",
            metrics.max_fds.clone(),
        );
        registry.register(
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            metrics.cpu.clone(),
        );
        registry.register(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds",
            metrics.start_time.clone(),
        );
        metrics
    }

    /// Brings the series up to date; a failed read leaves them unchanged.
    pub(super) fn refresh(&self) {
        if let Some(reading) = read() {
            let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            self.resident.set(clamp(reading.resident_bytes));
            self.virtual_memory.set(clamp(reading.virtual_bytes));
            self.open_fds.set(clamp(reading.open_fds));
            self.max_fds.set(clamp(reading.max_fds));
            let grown = reading.cpu_seconds - self.cpu.get();
            if grown > 0.0 {
                self.cpu.inc_by(grown);
            }
            self.start_time.set(reading.start_time_seconds);
        }
    }
}

/// Reads `/proc/self`; `None` where there is no such thing.
pub fn read() -> Option<Reading> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let boot_time = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| boot_time(&s));
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    let mut reading = parse_stat(&stat, page_size(), CLOCK_TICKS, boot_time)?;
    // The directory listing itself holds one descriptor.
    reading.open_fds = open_fds.saturating_sub(1);
    reading.max_fds = max_open_files(&limits).unwrap_or(0);
    Some(reading)
}

/// Clock ticks per second as `/proc` counts them: 100 on every Linux
/// architecture the hub is built for (USER_HZ is fixed by the kernel ABI).
const CLOCK_TICKS: f64 = 100.0;

fn page_size() -> u64 {
    // rustix asks the auxiliary vector, no unsafe code here.
    rustix::param::page_size() as u64
}

/// Parses `/proc/self/stat` (see proc(5)). The command name in parentheses
/// may contain spaces, so fields are counted after its closing parenthesis.
fn parse_stat(stat: &str, page: u64, ticks: f64, boot_time: Option<u64>) -> Option<Reading> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state); field n is fields[n - 3].
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let utime = field(14)?;
    let stime = field(15)?;
    let start_ticks = field(22)?;
    let vsize = field(23)?;
    let rss_pages = field(24)?;
    Some(Reading {
        resident_bytes: rss_pages.saturating_mul(page),
        virtual_bytes: vsize,
        open_fds: 0,
        max_fds: 0,
        cpu_seconds: (utime + stime) as f64 / ticks,
        start_time_seconds: boot_time.map_or(0.0, |b| b as f64 + start_ticks as f64 / ticks),
    })
}

/// The `btime` line of `/proc/stat`: boot time, seconds since the epoch.
fn boot_time(proc_stat: &str) -> Option<u64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_with_spaces_in_the_name_is_parsed_by_field_position() {
        // Fields 1..=24 of proc(5); utime 150, stime 50, start 1000 ticks,
        // vsize 8192, rss 3 pages.
        let stat = "42 (my hub (x)) S 1 42 42 0 -1 4194560 10 0 0 0 150 50 0 0 20 0 5 0 1000 8192 3 18446744073709551615";
        let r = parse_stat(stat, 4096, 100.0, Some(1_700_000_000)).unwrap();
        assert_eq!(r.resident_bytes, 3 * 4096);
        assert_eq!(r.virtual_bytes, 8192);
        assert!((r.cpu_seconds - 2.0).abs() < 1e-9);
        assert!((r.start_time_seconds - 1_700_000_010.0).abs() < 1e-6);
    }

    #[test]
    fn limits_and_boot_time_are_found_by_their_labels() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(
            boot_time("cpu 1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reads_as_alive() {
        let r = read().expect("/proc/self on Linux");
        assert!(r.resident_bytes > 0 && r.open_fds > 0 && r.max_fds > 0);
        assert!(r.start_time_seconds > 1_600_000_000.0);
    }
}
