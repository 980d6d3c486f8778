//! Runs one scenario against one target through the [`Driver`] interface:
//! holds idle connections, subscribes, publishes at a fixed or maximum rate,
//! drains, and measures. Nothing here knows which target it drives.

use crate::driver::{AckReceiver, Driver, Incoming, PubSender, SubConn};
use crate::payload;
use crate::procstat;
use crate::report::{
    Connections, DeliveryStats, PublishStats, ResumeStats, RunResult, ServerStats,
};
use crate::stats::{Counters, SeqTracker, SharedHistogram};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Errors kept for the result file; the rest are only counted.
const MAX_KEPT_ERRORS: usize = 20;

/// How often readiness and completion are polled.
const POLL: Duration = Duration::from_millis(20);

/// How long tasks may take to stop after the run.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What to run: sizes for one scenario, after defaults and flags.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// `a`, `b`, `c`, `c2`, `d`, `e` or `f`.
    pub scenario: String,
    /// Connections subscribed to the benchmark channel, measuring deliveries.
    pub subscribers: usize,
    /// Connections opened and authenticated but not subscribed.
    pub idle: usize,
    pub publishers: usize,
    /// Messages sent by each publisher.
    pub messages: u64,
    /// Payload size, bytes.
    pub size: usize,
    /// Messages per second per publisher; `None` for as fast as replies allow.
    pub rate: Option<f64>,
    /// Unanswered publishes a publisher may have at once.
    pub window: usize,
    /// Publish first, then connect every subscriber at once asking for what
    /// it missed (scenario d).
    pub resume: bool,
    /// Publishers rotate over several channels (scenario e).
    pub spread: bool,
    /// Connection handshakes in progress at once.
    pub connect_concurrency: usize,
    /// Give up waiting for deliveries after this long without progress, seconds.
    pub drain_timeout_secs: f64,
}

/// State shared by every task of a run.
struct Shared {
    counters: Counters,
    latency: SharedHistogram,
    setup: SharedHistogram,
    reply: SharedHistogram,
    completion: SharedHistogram,
    stop: CancellationToken,
    errors: Mutex<Vec<String>>,
    error_count: AtomicU64,
    dropped: AtomicU64,
    /// Subscribers that are subscribed, or failed before they could be.
    subs_settled: AtomicU64,
    last_complete_ns: AtomicU64,
    lost: AtomicU64,
    duplicated: AtomicU64,
    unexpected: AtomicU64,
    unique: AtomicU64,
    first_send_ns: AtomicU64,
    last_ack_ns: AtomicU64,
    min_server_seq: AtomicU64,
    /// Start of the resume storm, `payload::now_ns`.
    storm_start_ns: AtomicU64,
    phase: Mutex<&'static str>,
}

impl Shared {
    fn error(&self, context: &str, e: &anyhow::Error) {
        self.error_count.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < MAX_KEPT_ERRORS {
            let line = format!("{context}: {e:#}");
            eprintln!("  ! {line}");
            kept.push(line);
        }
    }

    fn set_phase(&self, phase: &'static str) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = phase;
    }
}

fn micros_since(ns: u64) -> u64 {
    payload::now_ns().saturating_sub(ns) / 1000
}

/// Polls `done` until it holds, or `limit` passes (then false).
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
    true
}

/// Prints one progress line a second to stderr until cancelled.
fn spawn_progress(shared: Arc<Shared>, label: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let start = Instant::now();
        let mut last_delivered = 0;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tokio::select! {
                () = shared.stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let c = &shared.counters;
            let delivered = Counters::get(&c.delivered);
            let phase = *shared.phase.lock().unwrap_or_else(|p| p.into_inner());
            eprintln!(
                "[{label}] {:5.1}s {phase:<10} conns {} (failed {}, dropped {}) subscribed {} sent {} acked {} delivered {} ({}/s)",
                start.elapsed().as_secs_f64(),
                Counters::get(&c.connected),
                Counters::get(&c.connect_failed),
                shared.dropped.load(Ordering::Relaxed),
                Counters::get(&c.subscribed),
                Counters::get(&c.sent),
                Counters::get(&c.acked),
                delivered,
                delivered - last_delivered,
            );
            last_delivered = delivered;
        }
    })
}

/// Opens `count` idle connections and keeps them open until the run stops.
async fn hold_idle<D: Driver>(
    driver: &Arc<D>,
    shared: &Arc<Shared>,
    tasks: &TaskTracker,
    gate: &Arc<Semaphore>,
    count: usize,
) {
    let settled = Arc::new(AtomicUsize::new(0));
    for idx in 0..count {
        let (driver, shared, gate, settled) = (
            driver.clone(),
            shared.clone(),
            gate.clone(),
            settled.clone(),
        );
        tasks.spawn(async move {
            let t0 = payload::now_ns();
            let permit = gate.acquire_owned().await;
            let opened = tokio::select! {
                () = shared.stop.cancelled() => return,
                r = driver.idle(idx) => r,
            };
            drop(permit);
            settled.fetch_add(1, Ordering::Relaxed);
            let mut conn = match opened {
                Ok(conn) => conn,
                Err(e) => {
                    Counters::add(&shared.counters.connect_failed, 1);
                    shared.error("idle connect", &e);
                    return;
                }
            };
            Counters::add(&shared.counters.connected, 1);
            shared.setup.record(idx, micros_since(t0));
            loop {
                tokio::select! {
                    () = shared.stop.cancelled() => return,
                    r = conn.recv() => if let Err(e) = r {
                        shared.dropped.fetch_add(1, Ordering::Relaxed);
                        shared.error("idle connection", &e);
                        return;
                    }
                }
            }
        });
    }
    let limit = Duration::from_secs(120 + count as u64 / 50);
    wait_until(limit, || settled.load(Ordering::Relaxed) >= count).await;
}

/// Opens the subscribers; each records what it receives until the run stops.
fn spawn_subscribers<D: Driver>(
    driver: &Arc<D>,
    shared: &Arc<Shared>,
    tasks: &TaskTracker,
    gate: &Arc<Semaphore>,
    plan: &Plan,
    since: Option<u64>,
) {
    let publishers = u32::try_from(plan.publishers).unwrap_or(u32::MAX);
    let expected = plan.publishers as u64 * plan.messages;
    let record_latency = !plan.resume;
    for idx in 0..plan.subscribers {
        let (driver, shared, gate) = (driver.clone(), shared.clone(), gate.clone());
        let per_publisher = plan.messages;
        tasks.spawn(async move {
            let t0 = payload::now_ns();
            let permit = gate.acquire_owned().await;
            let opened = tokio::select! {
                () = shared.stop.cancelled() => return,
                r = driver.subscriber(idx, since) => r,
            };
            drop(permit);
            let mut conn = match opened {
                Ok(conn) => conn,
                Err(e) => {
                    Counters::add(&shared.counters.connect_failed, 1);
                    shared.subs_settled.fetch_add(1, Ordering::Relaxed);
                    shared.error("subscriber connect", &e);
                    return;
                }
            };
            Counters::add(&shared.counters.connected, 1);
            let mut seen = SeqTracker::new(publishers, per_publisher);
            // Redacted deliveries (observers) are counted, not tracked.
            let mut redacted = 0;
            let mut subscribed = false;
            let mut complete = false;
            loop {
                let incoming = tokio::select! {
                    () = shared.stop.cancelled() => break,
                    r = conn.recv() => r,
                };
                match incoming {
                    Ok(Incoming::Subscribed) => {
                        if !subscribed {
                            subscribed = true;
                            shared.setup.record(idx, micros_since(t0));
                            Counters::add(&shared.counters.subscribed, 1);
                            shared.subs_settled.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(Incoming::Payload(bytes)) => {
                        let now = payload::now_ns();
                        let Some(stamp) = payload::parse(&bytes) else {
                            seen.unexpected += 1;
                            continue;
                        };
                        if seen.see(stamp.publisher, stamp.seq) {
                            if record_latency {
                                shared
                                    .latency
                                    .record(idx, now.saturating_sub(stamp.sent_ns) / 1000);
                            }
                            Counters::add(&shared.counters.delivered, 1);
                            shared
                                .counters
                                .last_delivery_ns
                                .fetch_max(now, Ordering::Relaxed);
                        }
                    }
                    Ok(Incoming::Redacted) => {
                        redacted += 1;
                        Counters::add(&shared.counters.delivered, 1);
                        shared
                            .counters
                            .last_delivery_ns
                            .fetch_max(payload::now_ns(), Ordering::Relaxed);
                    }
                    Err(e) => {
                        shared.dropped.fetch_add(1, Ordering::Relaxed);
                        if !subscribed {
                            shared.subs_settled.fetch_add(1, Ordering::Relaxed);
                        }
                        shared.error("subscriber", &e);
                        break;
                    }
                }
                if !complete && subscribed && seen.unique + redacted >= expected {
                    complete = true;
                    let storm = shared.storm_start_ns.load(Ordering::Relaxed);
                    shared.completion.record(idx, micros_since(storm));
                    shared
                        .last_complete_ns
                        .fetch_max(payload::now_ns(), Ordering::Relaxed);
                    Counters::add(&shared.counters.subscribers_done, 1);
                }
            }
            let received = seen.unique + redacted;
            shared
                .lost
                .fetch_add(expected.saturating_sub(received), Ordering::Relaxed);
            shared.unique.fetch_add(received, Ordering::Relaxed);
            shared
                .duplicated
                .fetch_add(seen.duplicates, Ordering::Relaxed);
            shared
                .unexpected
                .fetch_add(seen.unexpected, Ordering::Relaxed);
        });
    }
}

/// Connects every publisher, then sends all their messages and waits for
/// every reply (or the deadline). Returns false on timeout.
async fn publish_all<D: Driver>(
    driver: &Arc<D>,
    shared: &Arc<Shared>,
    plan: &Plan,
) -> Result<bool> {
    let mut connected = Vec::with_capacity(plan.publishers);
    for idx in 0..plan.publishers {
        let t0 = payload::now_ns();
        match driver.publisher(idx, plan.window).await {
            Ok(pair) => {
                shared.setup.record(idx, micros_since(t0));
                connected.push(pair);
            }
            Err(e) => {
                shared.error("publisher connect", &e);
                bail!("publisher {idx} could not connect: {e:#}");
            }
        }
    }
    let tasks = TaskTracker::new();
    let start = Instant::now();
    shared
        .first_send_ns
        .fetch_min(payload::now_ns(), Ordering::Relaxed);
    for (idx, (mut tx, mut rx)) in connected.into_iter().enumerate() {
        let messages = plan.messages;
        let sent_at: Arc<Vec<AtomicU64>> =
            Arc::new((0..messages).map(|_| AtomicU64::new(0)).collect());
        let window = Arc::new(Semaphore::new(plan.window.max(1)));
        let (shared_tx, shared_rx) = (shared.clone(), shared.clone());
        let (sent_tx, sent_rx) = (sent_at.clone(), sent_at);
        let window_rx = window.clone();
        let (publisher, size, rate) = (u32::try_from(idx)?, plan.size, plan.rate);
        tasks.spawn(async move {
            for seq in 0..messages {
                let Ok(permit) = window.acquire().await else {
                    return;
                };
                permit.forget();
                if let Some(rate) = rate {
                    tokio::time::sleep_until(start + Duration::from_secs_f64(seq as f64 / rate))
                        .await;
                }
                let (body, sent_ns) = payload::build(publisher, seq, size);
                sent_tx[seq as usize].store(sent_ns, Ordering::Relaxed);
                let sending = tokio::select! {
                    () = shared_tx.stop.cancelled() => return,
                    r = tx.send(seq, body) => r,
                };
                if let Err(e) = sending {
                    shared_tx.error("publish", &e);
                    return;
                }
                Counters::add(&shared_tx.counters.sent, 1);
            }
        });
        tasks.spawn(async move {
            let mut answered = 0;
            while answered < messages {
                let ack = tokio::select! {
                    () = shared_rx.stop.cancelled() => return,
                    r = rx.next_ack() => r,
                };
                let ack = match ack {
                    Ok(ack) => ack,
                    Err(e) => {
                        shared_rx.error("publish replies", &e);
                        return;
                    }
                };
                answered += 1;
                window_rx.add_permits(1);
                let sent = sent_rx
                    .get(ack.seq as usize)
                    .map_or(0, |t| t.load(Ordering::Relaxed));
                if !ack.ok || sent == 0 {
                    Counters::add(&shared_rx.counters.publish_failed, 1);
                    continue;
                }
                shared_rx.reply.record(idx, micros_since(sent));
                Counters::add(&shared_rx.counters.acked, 1);
                shared_rx
                    .last_ack_ns
                    .fetch_max(payload::now_ns(), Ordering::Relaxed);
                if let Some(server_seq) = ack.server_seq {
                    shared_rx
                        .min_server_seq
                        .fetch_min(server_seq, Ordering::Relaxed);
                }
            }
        });
    }
    tasks.close();
    let planned = plan
        .rate
        .map_or(0.0, |r| plan.messages as f64 / r.max(0.001));
    let limit = Duration::from_secs_f64(planned + plan.drain_timeout_secs.max(1.0) * 3.0);
    let finished = tokio::time::timeout(limit, tasks.wait()).await.is_ok();
    Ok(finished)
}

/// Waits until every subscribed connection has everything, or deliveries
/// stop progressing for `drain_timeout_secs`.
async fn drain(shared: &Shared, plan: &Plan) -> bool {
    let idle_limit = Duration::from_secs_f64(plan.drain_timeout_secs.max(0.1));
    let mut last = Counters::get(&shared.counters.delivered);
    let mut last_change = Instant::now();
    loop {
        let c = &shared.counters;
        let live = Counters::get(&c.subscribed);
        if Counters::get(&c.subscribers_done) >= live {
            return true;
        }
        let now = Counters::get(&c.delivered);
        if now != last {
            last = now;
            last_change = Instant::now();
        } else if last_change.elapsed() >= idle_limit {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

fn server_usage(pid: Option<u32>) -> Option<procstat::Usage> {
    pid.and_then(|p| procstat::read(&p.to_string()).ok())
}

/// Runs `plan` against `driver`. `server_pid` is the target's process, for
/// its memory and CPU figures.
///
/// # Errors
/// When a publisher cannot connect; other failures are counted in the result.
pub async fn run<D: Driver>(
    driver: Arc<D>,
    plan: Plan,
    server_pid: Option<u32>,
) -> Result<RunResult> {
    let shared = Arc::new(Shared {
        counters: Counters::default(),
        latency: SharedHistogram::new(),
        setup: SharedHistogram::new(),
        reply: SharedHistogram::new(),
        completion: SharedHistogram::new(),
        stop: CancellationToken::new(),
        errors: Mutex::new(Vec::new()),
        error_count: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        subs_settled: AtomicU64::new(0),
        last_complete_ns: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        duplicated: AtomicU64::new(0),
        unexpected: AtomicU64::new(0),
        unique: AtomicU64::new(0),
        first_send_ns: AtomicU64::new(u64::MAX),
        last_ack_ns: AtomicU64::new(0),
        min_server_seq: AtomicU64::new(u64::MAX),
        storm_start_ns: AtomicU64::new(0),
        phase: Mutex::new("connect"),
    });
    let label = format!("{} {}", driver.name(), plan.scenario);
    let server_before = server_usage(server_pid);
    let harness_before = procstat::read("self").ok();
    let progress = spawn_progress(shared.clone(), label.clone());
    let tasks = TaskTracker::new();
    let gate = Arc::new(Semaphore::new(plan.connect_concurrency.max(1)));

    let setup_start = Instant::now();
    shared.set_phase("idle");
    hold_idle(&driver, &shared, &tasks, &gate, plan.idle).await;

    let mut since = None;
    let mut publish_secs = 0.0;
    let mut published_in_time = true;
    if plan.resume {
        shared.set_phase("backlog");
        published_in_time = publish_all(&driver, &shared, &plan).await?;
        publish_secs = secs_between(
            shared.first_send_ns.load(Ordering::Relaxed),
            shared.last_ack_ns.load(Ordering::Relaxed),
        );
        let first = shared.min_server_seq.load(Ordering::Relaxed);
        since = Some(if first == u64::MAX { 0 } else { first - 1 });
        shared.set_phase("storm");
        shared
            .storm_start_ns
            .store(payload::now_ns(), Ordering::Relaxed);
    } else {
        shared.set_phase("subscribe");
    }

    spawn_subscribers(&driver, &shared, &tasks, &gate, &plan, since);
    let n = plan.subscribers as u64;
    let limit = Duration::from_secs(120 + n / 50);
    wait_until(limit, || shared.subs_settled.load(Ordering::Relaxed) >= n).await;
    let setup_secs = setup_start.elapsed().as_secs_f64();

    if !plan.resume {
        shared.set_phase("publish");
        published_in_time = publish_all(&driver, &shared, &plan).await?;
        publish_secs = secs_between(
            shared.first_send_ns.load(Ordering::Relaxed),
            shared.last_ack_ns.load(Ordering::Relaxed),
        );
    }
    shared.set_phase("drain");
    let drained = drain(&shared, &plan).await;
    let held = Counters::get(&shared.counters.connected) - shared.dropped.load(Ordering::Relaxed);
    let server_after = server_usage(server_pid);
    let storm_secs = plan.resume.then(|| {
        let done = shared
            .counters
            .last_delivery_ns
            .load(Ordering::Relaxed)
            .max(shared.last_complete_ns.load(Ordering::Relaxed));
        secs_between(shared.storm_start_ns.load(Ordering::Relaxed), done)
    });

    shared.stop.cancel();
    tasks.close();
    let stopped = tokio::time::timeout(STOP_GRACE, tasks.wait()).await.is_ok();
    let _ = progress.await;
    if !stopped {
        eprintln!("[{label}] some connections did not stop within {STOP_GRACE:?}");
    }

    let c = &shared.counters;
    let delivered = Counters::get(&c.delivered);
    let first_send = shared.first_send_ns.load(Ordering::Relaxed);
    let delivery_secs = if plan.resume {
        storm_secs.unwrap_or(0.0)
    } else {
        secs_between(first_send, c.last_delivery_ns.load(Ordering::Relaxed))
    };
    let acked = Counters::get(&c.acked);
    let mut errors = shared
        .errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if !published_in_time {
        errors.push("publishers did not finish before the deadline".into());
    }
    if !drained {
        errors.push(format!(
            "deliveries stalled for {}s before every subscriber had everything",
            plan.drain_timeout_secs
        ));
    }
    let harness_after = procstat::read("self").ok();

    Ok(RunResult {
        target: driver.name().to_owned(),
        scenario: plan.scenario.clone(),
        connections: Connections {
            requested: (plan.subscribers + plan.idle + plan.publishers) as u64,
            held: held + plan.publishers as u64,
            failed: Counters::get(&c.connect_failed),
            dropped: shared.dropped.load(Ordering::Relaxed),
            setup_secs,
            setup: shared.setup.summary(),
        },
        publish: PublishStats {
            sent: Counters::get(&c.sent),
            acked,
            failed: Counters::get(&c.publish_failed),
            secs: publish_secs,
            per_sec: rate(acked, publish_secs),
            reply: shared.reply.summary(),
        },
        delivery: DeliveryStats {
            expected: (plan.publishers as u64 * plan.messages) * Counters::get(&c.subscribed),
            delivered,
            lost: shared.lost.load(Ordering::Relaxed),
            duplicated: shared.duplicated.load(Ordering::Relaxed),
            unexpected: shared.unexpected.load(Ordering::Relaxed),
            complete_subscribers: Counters::get(&c.subscribers_done),
            secs: delivery_secs,
            per_sec: rate(delivered, delivery_secs),
            latency: shared.latency.summary(),
        },
        resume: storm_secs.map(|secs| ResumeStats {
            storm_secs: secs,
            completion: shared.completion.summary(),
        }),
        server: match (server_pid, server_before, server_after) {
            (Some(pid), Some(before), Some(after)) => Some(ServerStats {
                pid,
                peak_rss_mib: after.peak_rss_mib,
                rss_mib: after.rss_mib,
                cpu_secs: after.cpu_secs - before.cpu_secs,
            }),
            _ => None,
        },
        harness_cpu_secs: match (harness_before, harness_after) {
            (Some(b), Some(a)) => a.cpu_secs - b.cpu_secs,
            _ => 0.0,
        },
        error_count: shared.error_count.load(Ordering::Relaxed),
        errors,
        plan,
    })
}

fn secs_between(from_ns: u64, to_ns: u64) -> f64 {
    if from_ns == u64::MAX || to_ns <= from_ns {
        0.0
    } else {
        (to_ns - from_ns) as f64 / 1e9
    }
}

fn rate(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}
