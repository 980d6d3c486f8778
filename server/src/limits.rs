//! The per-user write rate: publishes and every domain write step (alert,
//! SOP) share one budget per account, so a stuck client or a script cannot
//! flood the log whatever route it takes.

use crate::error::{AppError, AppResult};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;

/// Writes allowed per user; cheap to clone.
#[derive(Clone)]
pub struct WriteLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<i64>>,
}

impl WriteLimiter {
    /// `per_sec` writes a second with bursts of `burst`.
    pub fn new(per_sec: NonZeroU32, burst: NonZeroU32) -> WriteLimiter {
        WriteLimiter {
            limiter: Arc::new(RateLimiter::keyed(
                Quota::per_second(per_sec).allow_burst(burst),
            )),
        }
    }

    /// Takes one write from `user_id`'s budget.
    ///
    /// # Errors
    /// `rate_limited` with the wait in `retry_after_ms`.
    pub fn check(&self, user_id: i64) -> AppResult<()> {
        self.limiter.check_key(&user_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            AppError::rate_limited(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1))
        })
    }
}

/// Open sockets per key (an account's id or a client address), for the
/// per-account and per-address socket caps; cheap to clone. A slot is given
/// back when its [`SocketSlot`] is dropped, however the socket ends.
#[derive(Clone)]
pub struct SocketCount<K: std::hash::Hash + Eq + Clone> {
    counts: Arc<std::sync::Mutex<std::collections::HashMap<K, usize>>>,
    max: usize,
}

/// One socket counted against its key; dropping it frees the place.
pub struct SocketSlot<K: std::hash::Hash + Eq + Clone> {
    count: SocketCount<K>,
    key: K,
}

impl<K: std::hash::Hash + Eq + Clone> SocketCount<K> {
    /// At most `max` sockets per key.
    pub fn new(max: usize) -> SocketCount<K> {
        SocketCount {
            counts: Arc::default(),
            max,
        }
    }

    /// A place for one more socket of `key`, or `None` when `key` already
    /// has `max`.
    pub fn try_take(&self, key: K) -> Option<SocketSlot<K>> {
        let mut counts = crate::sync::lock(&self.counts);
        let open = counts.entry(key.clone()).or_insert(0);
        if *open >= self.max {
            return None;
        }
        *open += 1;
        drop(counts);
        Some(SocketSlot {
            count: self.clone(),
            key,
        })
    }

    /// Sockets `key` has open now.
    pub fn open(&self, key: &K) -> usize {
        crate::sync::lock(&self.counts)
            .get(key)
            .copied()
            .unwrap_or(0)
    }
}

impl<K: std::hash::Hash + Eq + Clone> Drop for SocketSlot<K> {
    fn drop(&mut self) {
        let mut counts = crate::sync::lock(&self.count.counts);
        if let Some(open) = counts.get_mut(&self.key) {
            *open -= 1;
            if *open == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod socket_count_tests {
    use super::SocketCount;

    #[test]
    fn a_key_gets_at_most_max_slots_and_dropping_one_frees_a_place() {
        let count = SocketCount::new(2);
        let a = count.try_take("a").expect("first");
        let _b = count.try_take("a").expect("second");
        assert!(count.try_take("a").is_none(), "third refused");
        assert!(count.try_take("b").is_some(), "other keys are not affected");
        drop(a);
        assert_eq!(count.open(&"a"), 1);
        assert!(
            count.try_take("a").is_some(),
            "a freed place is given again"
        );
    }
}
