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
