//! The back-off: pure arithmetic, unit-tested below.

use std::time::Duration;

/// How a key (an account or an address) is slowed down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before any wait.
    pub free: u32,
    /// The first wait; each further failure doubles it.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Backoff {
    /// How long logins are blocked after the `failures`-th consecutive failure.
    pub fn block_after(&self, failures: u32) -> Duration {
        if failures < self.free.max(1) {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free.max(1)).min(30);
        self.base.saturating_mul(1u32 << doublings).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        free: 5,
        base: Duration::from_secs(1),
        max: Duration::from_secs(900),
    };

    #[test]
    fn the_first_failures_are_free() {
        for n in 0..5 {
            assert_eq!(B.block_after(n), Duration::ZERO, "{n}");
        }
    }

    #[test]
    fn each_further_failure_doubles_the_wait_up_to_the_cap() {
        assert_eq!(B.block_after(5), Duration::from_secs(1));
        assert_eq!(B.block_after(6), Duration::from_secs(2));
        assert_eq!(B.block_after(9), Duration::from_secs(16));
        assert_eq!(B.block_after(15), Duration::from_secs(900));
        assert_eq!(B.block_after(u32::MAX), Duration::from_secs(900));
    }
}
