//! Results: the JSON written per run, its human summary, and the side-by-side
//! table (with ratios to mpaka) built from several result files.

use crate::scenario::Plan;
use crate::stats::Percentiles;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Everything measured in one run of one scenario against one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub target: String,
    pub scenario: String,
    pub plan: Plan,
    pub connections: Connections,
    pub publish: PublishStats,
    pub delivery: DeliveryStats,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerStats>,
    /// CPU time the benchmark process itself used during the run, seconds.
    pub harness_cpu_secs: f64,
    pub error_count: u64,
    /// The first few errors, verbatim.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Connections {
    /// Subscribers, idle connections and publishers asked for.
    pub requested: u64,
    /// Open when publishing ended.
    pub held: u64,
    pub failed: u64,
    /// Connected, then lost before the end.
    pub dropped: u64,
    /// Wall time until every idle connection was open and every subscriber
    /// subscribed, seconds.
    pub setup_secs: f64,
    /// Per connection: connect, authenticate and (for subscribers) subscribe.
    pub setup: Percentiles,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishStats {
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    /// From the first send to the last reply, seconds.
    pub secs: f64,
    pub per_sec: f64,
    /// Publish to reply: mpaka `published` (after the event is on disk),
    /// MQTT PUBACK, NATS echo of the message to its own publisher.
    pub reply: Percentiles,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryStats {
    /// Messages times subscribed subscribers.
    pub expected: u64,
    /// Distinct messages received, summed over subscribers.
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Payloads that were not benchmark messages of this run.
    pub unexpected: u64,
    /// Subscribers that received every message.
    pub complete_subscribers: u64,
    /// From the first send to the last delivery, seconds.
    pub secs: f64,
    pub per_sec: f64,
    /// Send (timestamp in the payload) to receipt by a subscriber.
    pub latency: Percentiles,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumeStats {
    /// From the storm's start until the last client had all it missed, seconds.
    pub storm_secs: f64,
    /// Per client: storm start until it had everything and was subscribed.
    pub completion: Percentiles,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerStats {
    pub pid: u32,
    /// `VmHWM`: peak since the server started, MiB.
    pub peak_rss_mib: f64,
    /// `VmRSS` at the end of the run, MiB.
    pub rss_mib: f64,
    /// User plus system CPU used during the run, seconds.
    pub cpu_secs: f64,
}

fn ms(p: &Percentiles) -> String {
    format!(
        "p50 {:.2} p99 {:.2} p99.9 {:.2} max {:.2} ms (n={})",
        p.p50_ms, p.p99_ms, p.p999_ms, p.max_ms, p.count
    )
}

/// A human summary of one run.
pub fn summary(r: &RunResult) -> String {
    let mut s = String::new();
    let c = &r.connections;
    let _ = writeln!(s, "== {} scenario {} ==", r.target, r.scenario);
    let _ = writeln!(
        s,
        "connections: {} held of {} (failed {}, dropped {}), setup {:.2}s; per connection {}",
        c.held,
        c.requested,
        c.failed,
        c.dropped,
        c.setup_secs,
        ms(&c.setup)
    );
    let p = &r.publish;
    let _ = writeln!(
        s,
        "publishes: {} sent, {} answered, {} failed, {:.0}/s; reply {}",
        p.sent,
        p.acked,
        p.failed,
        p.per_sec,
        ms(&p.reply)
    );
    let d = &r.delivery;
    let _ = writeln!(
        s,
        "deliveries: {} of {} ({} lost, {} duplicated, {} unexpected), {:.0}/s over {:.2}s; latency {}",
        d.delivered,
        d.expected,
        d.lost,
        d.duplicated,
        d.unexpected,
        d.per_sec,
        d.secs,
        ms(&d.latency)
    );
    if let Some(res) = &r.resume {
        let _ = writeln!(
            s,
            "resume storm: served in {:.2}s; per client {}",
            res.storm_secs,
            ms(&res.completion)
        );
    }
    if let Some(sv) = &r.server {
        let _ = writeln!(
            s,
            "server pid {}: peak RSS {:.1} MiB, RSS now {:.1} MiB, CPU {:.2}s",
            sv.pid, sv.peak_rss_mib, sv.rss_mib, sv.cpu_secs
        );
    }
    let _ = writeln!(
        s,
        "harness CPU {:.2}s; {} errors",
        r.harness_cpu_secs, r.error_count
    );
    s
}

/// mpaka's figure divided by another target's, per scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ratio {
    pub scenario: String,
    pub against: String,
    /// Above 1: mpaka delivered more per second.
    pub deliveries_per_sec: Option<f64>,
    /// Below 1: mpaka's p99 was lower.
    pub latency_p99: Option<f64>,
    /// Above 1: mpaka answered more publishes per second.
    pub publishes_per_sec: Option<f64>,
    /// Below 1: mpaka used less memory.
    pub peak_rss: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// One result per (scenario, target): the median of its runs.
    pub results: Vec<RunResult>,
    pub ratios: Vec<Ratio>,
    /// The most runs of one (scenario, target) that were combined.
    #[serde(default)]
    pub runs: usize,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (a > 0.0 && b > 0.0).then(|| a / b)
}

fn scenario_order(s: &str) -> (u8, String) {
    (s.bytes().next().unwrap_or(b'z'), s.to_owned())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn median_percentiles(runs: &[RunResult], of: fn(&RunResult) -> Percentiles) -> Percentiles {
    let pick = |f: fn(&Percentiles) -> f64| median(runs.iter().map(|r| f(&of(r))).collect());
    Percentiles {
        count: runs.iter().map(|r| of(r).count).max().unwrap_or(0),
        mean_ms: pick(|p| p.mean_ms),
        p50_ms: pick(|p| p.p50_ms),
        p90_ms: pick(|p| p.p90_ms),
        p99_ms: pick(|p| p.p99_ms),
        p999_ms: pick(|p| p.p999_ms),
        max_ms: pick(|p| p.max_ms),
    }
}

/// Several runs of one (scenario, target) as one: the median of each
/// figure, and the worst of the counts of problems (lost, duplicated,
/// failed, errors), so that a problem in any run still shows.
fn median_run(runs: &[RunResult]) -> RunResult {
    let mut m = runs[0].clone();
    let med = |f: fn(&RunResult) -> f64| median(runs.iter().map(f).collect());
    let worst = |f: fn(&RunResult) -> u64| runs.iter().map(f).max().unwrap_or(0);
    m.connections.setup_secs = med(|r| r.connections.setup_secs);
    m.connections.held = runs.iter().map(|r| r.connections.held).min().unwrap_or(0);
    m.connections.failed = worst(|r| r.connections.failed);
    m.connections.dropped = worst(|r| r.connections.dropped);
    m.connections.setup = median_percentiles(runs, |r| r.connections.setup);
    m.publish.per_sec = med(|r| r.publish.per_sec);
    m.publish.secs = med(|r| r.publish.secs);
    m.publish.acked = runs.iter().map(|r| r.publish.acked).min().unwrap_or(0);
    m.publish.failed = worst(|r| r.publish.failed);
    m.publish.reply = median_percentiles(runs, |r| r.publish.reply);
    m.delivery.per_sec = med(|r| r.delivery.per_sec);
    m.delivery.secs = med(|r| r.delivery.secs);
    m.delivery.delivered = runs.iter().map(|r| r.delivery.delivered).min().unwrap_or(0);
    m.delivery.lost = worst(|r| r.delivery.lost);
    m.delivery.duplicated = worst(|r| r.delivery.duplicated);
    m.delivery.unexpected = worst(|r| r.delivery.unexpected);
    m.delivery.complete_subscribers = runs
        .iter()
        .map(|r| r.delivery.complete_subscribers)
        .min()
        .unwrap_or(0);
    m.delivery.latency = median_percentiles(runs, |r| r.delivery.latency);
    if let Some(resume) = &mut m.resume {
        resume.storm_secs = med(|r| r.resume.as_ref().map_or(0.0, |x| x.storm_secs));
        resume.completion = median_percentiles(runs, |r| {
            r.resume.as_ref().map(|x| x.completion).unwrap_or_default()
        });
    }
    if let Some(server) = &mut m.server {
        server.peak_rss_mib = med(|r| r.server.as_ref().map_or(0.0, |s| s.peak_rss_mib));
        server.rss_mib = med(|r| r.server.as_ref().map_or(0.0, |s| s.rss_mib));
        server.cpu_secs = med(|r| r.server.as_ref().map_or(0.0, |s| s.cpu_secs));
    }
    m.harness_cpu_secs = med(|r| r.harness_cpu_secs);
    m.error_count = worst(|r| r.error_count);
    m.errors = runs
        .iter()
        .flat_map(|r| r.errors.clone())
        .take(10)
        .collect();
    m
}

/// Reads result files and builds the comparison. Several runs of the same
/// (scenario, target) are combined into their medians.
///
/// # Errors
/// When a file cannot be read or is not a result.
pub fn compare(files: &[PathBuf]) -> Result<Comparison> {
    let mut results = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let r: RunResult =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", f.display()))?;
        results.push(r);
    }
    let mut groups: Vec<Vec<RunResult>> = Vec::new();
    for r in results {
        match groups
            .iter_mut()
            .find(|g| g[0].scenario == r.scenario && g[0].target == r.target)
        {
            Some(group) => group.push(r),
            None => groups.push(vec![r]),
        }
    }
    let runs = groups.iter().map(Vec::len).max().unwrap_or(0);
    let mut results: Vec<RunResult> = groups.into_iter().map(|g| median_run(&g)).collect();
    results.sort_by(|a, b| {
        scenario_order(&a.scenario)
            .cmp(&scenario_order(&b.scenario))
            .then_with(|| (a.target != "mpaka").cmp(&(b.target != "mpaka")))
            .then_with(|| a.target.cmp(&b.target))
    });
    let mut ratios = Vec::new();
    for m in results.iter().filter(|r| r.target == "mpaka") {
        for o in results
            .iter()
            .filter(|r| r.scenario == m.scenario && r.target != "mpaka")
        {
            ratios.push(Ratio {
                scenario: m.scenario.clone(),
                against: o.target.clone(),
                deliveries_per_sec: ratio(m.delivery.per_sec, o.delivery.per_sec),
                latency_p99: ratio(m.delivery.latency.p99_ms, o.delivery.latency.p99_ms),
                publishes_per_sec: ratio(m.publish.per_sec, o.publish.per_sec),
                peak_rss: match (&m.server, &o.server) {
                    (Some(a), Some(b)) => ratio(a.peak_rss_mib, b.peak_rss_mib),
                    _ => None,
                },
            });
        }
    }
    Ok(Comparison {
        results,
        ratios,
        runs,
    })
}

/// Problems that make a run unusable as proof the tool works: lost or
/// duplicated messages, failed or dropped connections, unanswered publishes,
/// errors, each with the index of its run. Empty when every run is clean.
pub fn problems(cmp: &Comparison) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, r) in cmp.results.iter().enumerate() {
        let mut found_here = |line: String| found.push((i, line));
        let who = format!("{} scenario {}", r.target, r.scenario);
        let (c, p, d) = (&r.connections, &r.publish, &r.delivery);
        if d.lost > 0 || d.duplicated > 0 || d.unexpected > 0 {
            found_here(format!(
                "{who}: {} lost, {} duplicated, {} unexpected",
                d.lost, d.duplicated, d.unexpected
            ));
        }
        if c.failed > 0 || c.dropped > 0 || c.held < c.requested {
            found_here(format!(
                "{who}: {} of {} connections held ({} failed, {} dropped)",
                c.held, c.requested, c.failed, c.dropped
            ));
        }
        let planned = r.plan.publishers as u64 * r.plan.messages;
        if p.acked < planned || p.failed > 0 {
            found_here(format!(
                "{who}: {} of {planned} publishes answered ({} failed)",
                p.acked, p.failed
            ));
        }
        if r.error_count > 0 {
            found_here(format!("{who}: {} errors: {:?}", r.error_count, r.errors));
        }
    }
    found
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

/// The comparison as a plain-text table.
pub fn table(cmp: &Comparison) -> String {
    let mut s = String::new();
    if cmp.runs > 1 {
        let _ = writeln!(s, "medians of {} runs per scenario and target", cmp.runs);
    }
    let _ = writeln!(
        s,
        "{:<4} {:<6} {:>11} {:>7} {:>11} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>7} {:>5} {:>8} {:>7}",
        "scn", "target", "conns", "setup s", "deliv/s", "p50 ms", "p99 ms", "p999 ms", "max ms",
        "pub/s", "rep p50", "rep p99", "lost", "dup", "RSS MiB", "CPU s"
    );
    for r in &cmp.results {
        let (d, p) = (&r.delivery, &r.publish);
        let (rss, cpu) = r.server.as_ref().map_or(("-".into(), "-".into()), |sv| {
            (
                format!("{:.0}", sv.peak_rss_mib),
                format!("{:.1}", sv.cpu_secs),
            )
        });
        let extra = r
            .resume
            .as_ref()
            .map(|res| format!("  storm {:.2}s", res.storm_secs))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{:<4} {:<6} {:>11} {:>7.2} {:>11.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.0} {:>8.2} {:>8.2} {:>7} {:>5} {:>8} {:>7}{extra}",
            r.scenario,
            r.target,
            format!("{}/{}", r.connections.held, r.connections.requested),
            r.connections.setup_secs,
            d.per_sec,
            d.latency.p50_ms,
            d.latency.p99_ms,
            d.latency.p999_ms,
            d.latency.max_ms,
            p.per_sec,
            p.reply.p50_ms,
            p.reply.p99_ms,
            d.lost,
            d.duplicated,
            rss,
            cpu,
        );
    }
    if !cmp.ratios.is_empty() {
        let _ = writeln!(s, "\nmpaka ÷ other (deliveries/s and pub/s: higher is better for mpaka; p99 and RSS: lower is better)");
        let _ = writeln!(
            s,
            "{:<4} {:<6} {:>9} {:>7} {:>7} {:>7}",
            "scn", "vs", "deliv/s", "p99", "pub/s", "RSS"
        );
        for r in &cmp.ratios {
            let _ = writeln!(
                s,
                "{:<4} {:<6} {:>9} {:>7} {:>7} {:>7}",
                r.scenario,
                r.against,
                opt(r.deliveries_per_sec),
                opt(r.latency_p99),
                opt(r.publishes_per_sec),
                opt(r.peak_rss)
            );
        }
    }
    s
}
