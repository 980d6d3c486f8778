//! Measuring code shared by every target: latency histograms, per-subscriber
//! loss and duplicate accounting, and the live counters behind the progress
//! line.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Highest latency a histogram records, in microseconds (10 minutes);
/// larger values are clamped to it.
const MAX_LATENCY_US: u64 = 600_000_000;

/// Number of independently locked histograms. Tasks pick one by index, so
/// two worker threads rarely contend for the same lock.
const SHARDS: usize = 32;

/// A latency histogram in microseconds that many tasks record into at once.
pub struct SharedHistogram {
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl Default for SharedHistogram {
    fn default() -> Self {
        Self::new()
    }
}

fn empty_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("static histogram bounds are valid")
}

impl SharedHistogram {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(empty_histogram())).collect(),
        }
    }

    /// Records `n` samples of `micros` from the task numbered `task`.
    pub fn record_n(&self, task: usize, micros: u64, n: u64) {
        let mut h = self.shards[task % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Clamped to the bounds, so recording cannot fail.
        let _ = h.record_n(micros.clamp(1, MAX_LATENCY_US), n);
    }

    pub fn record(&self, task: usize, micros: u64) {
        self.record_n(task, micros, 1);
    }

    /// Percentiles over everything recorded so far.
    pub fn summary(&self) -> Percentiles {
        let mut all = empty_histogram();
        for shard in &self.shards {
            let h = shard.lock().unwrap_or_else(|e| e.into_inner());
            let _ = all.add(&*h);
        }
        Percentiles::of(&all)
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// Which `(publisher, seq)` pairs one subscriber has seen: one bit each.
pub struct SeqTracker {
    per_publisher: u64,
    bits: Vec<u64>,
    pub unique: u64,
    pub duplicates: u64,
    /// Payloads whose stamp was outside the expected range.
    pub unexpected: u64,
}

impl SeqTracker {
    pub fn new(publishers: u32, per_publisher: u64) -> Self {
        let total = u64::from(publishers) * per_publisher;
        let words = usize::try_from(total.div_ceil(64)).unwrap_or(0);
        Self {
            per_publisher,
            bits: vec![0; words],
            unique: 0,
            duplicates: 0,
            unexpected: 0,
        }
    }

    /// Notes one delivery of `(publisher, seq)`; false if it was a duplicate.
    pub fn see(&mut self, publisher: u32, seq: u64) -> bool {
        if seq >= self.per_publisher {
            self.unexpected += 1;
            return false;
        }
        let index = u64::from(publisher) * self.per_publisher + seq;
        let Some(word) = usize::try_from(index / 64)
            .ok()
            .and_then(|w| self.bits.get_mut(w))
        else {
            self.unexpected += 1;
            return false;
        };
        let mask = 1u64 << (index % 64);
        if *word & mask != 0 {
            self.duplicates += 1;
            false
        } else {
            *word |= mask;
            self.unique += 1;
            true
        }
    }
}

/// Counters updated by every task and read by the progress line.
#[derive(Default)]
pub struct Counters {
    pub connected: AtomicU64,
    pub connect_failed: AtomicU64,
    pub subscribed: AtomicU64,
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub publish_failed: AtomicU64,
    pub delivered: AtomicU64,
    pub subscribers_done: AtomicU64,
    /// `payload::now_ns` of the latest delivery.
    pub last_delivery_ns: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracker_counts_each_pair_once_and_flags_repeats() {
        let mut t = SeqTracker::new(2, 100);
        assert!(t.see(0, 5));
        assert!(t.see(1, 5));
        assert!(!t.see(1, 5));
        assert!(!t.see(0, 100));
        assert_eq!((t.unique, t.duplicates, t.unexpected), (2, 1, 1));
    }

    #[test]
    fn percentiles_come_out_in_milliseconds() {
        let h = SharedHistogram::new();
        for us in 1..=1000 {
            h.record(us as usize, us * 1000);
        }
        let p = h.summary();
        assert_eq!(p.count, 1000);
        assert!((p.p50_ms - 500.0).abs() < 1.0, "{p:?}");
        assert!((p.max_ms - 1000.0).abs() < 1.0, "{p:?}");
    }
}
