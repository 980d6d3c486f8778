//! The surge detector: a pure function of one post's daily counts in one
//! direction. It is EARS-like (CDC's Early Aberration Reporting System
//! compares a day with the mean and deviation of a short baseline) with a
//! baseline that respects the weekly rhythm of market days: the same
//! weekday in the previous weeks. See docs/flows.md for its evaluation.
//!
//! For the day under test with `x` movements so far:
//! 1. the baseline is the counts of the same weekday 1..=`weeks` weeks
//!    earlier, skipping days without any report (a dark post is not a
//!    quiet post); with fewer than two such days it falls back to the
//!    seven days ending two days earlier (EARS C2's guard band);
//! 2. `expected` is the baseline's mean, `spread` its standard deviation,
//!    floored at `sqrt(expected)` (Poisson noise) and at 1;
//! 3. `score = (x - expected) / spread`; a surge when `score >= threshold`
//!    and `x - expected >= min_excess` people (so a quiet post going from
//!    2 to 9 is not a surge).
//!
//! A partial day is tested as it stands, so a surge is found during the
//! day it starts, as soon as the figures recorded so far exceed the bar.

/// Days in a week.
const WEEK: i64 = 7;

/// How sensitive the detector is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    /// Score at or above which a day is a surge (lower is more sensitive).
    pub threshold: f64,
    /// Same weekdays in the baseline.
    pub weeks: u32,
    /// Fewest extra people for a surge.
    pub min_excess: f64,
    /// Whether the baseline is the same weekday (true) or the last seven
    /// days (false; plain EARS C2, kept for the evaluation).
    pub weekly: bool,
}

/// The default setting, chosen from the evaluation in docs/flows.md.
pub const DEFAULT: Setting = Setting {
    threshold: 4.0,
    weeks: 4,
    min_excess: 30.0,
    weekly: true,
};

/// What the detector concluded about one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub observed: f64,
    pub expected: f64,
    pub spread: f64,
    pub score: f64,
    pub surge: bool,
}

impl Verdict {
    /// The CAP severity a suggested alert starts with, from the size of the
    /// excess: `extreme` at five times the expectation, `severe` at two and
    /// a half times or twice the threshold, otherwise `moderate`.
    pub fn severity(&self, threshold: f64) -> mpaka_protocol::Severity {
        use mpaka_protocol::Severity;
        let ratio = self.observed / self.expected.max(1.0);
        if ratio >= 5.0 {
            Severity::Extreme
        } else if ratio >= 2.5 || self.score >= 2.0 * threshold {
            Severity::Severe
        } else {
            Severity::Moderate
        }
    }
}

/// Tests day `day` with `observed` movements. `count(d)` is the count of
/// an earlier day `d`, `None` when no report covers it.
pub fn test_day(
    setting: &Setting,
    day: i64,
    observed: f64,
    count: impl Fn(i64) -> Option<f64>,
) -> Option<Verdict> {
    let mut baseline: Vec<f64> = if setting.weekly {
        (1..=i64::from(setting.weeks))
            .filter_map(|w| count(day - w * WEEK))
            .collect()
    } else {
        Vec::new()
    };
    if baseline.len() < 2 {
        baseline = (3..3 + WEEK).filter_map(|d| count(day - d)).collect();
        if baseline.len() < 3 {
            return None;
        }
    }
    let n = baseline.len() as f64;
    let expected = baseline.iter().sum::<f64>() / n;
    let variance =
        baseline.iter().map(|v| (v - expected).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let spread = variance.sqrt().max(expected.sqrt()).max(1.0);
    let score = (observed - expected) / spread;
    Some(Verdict {
        observed,
        expected,
        spread,
        score,
        surge: score >= setting.threshold && observed - expected >= setting.min_excess,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A market on day 0 of each week: 300 movements, 100 on other days.
    fn rhythm(d: i64) -> Option<f64> {
        Some(if d.rem_euclid(7) == 0 { 300.0 } else { 100.0 })
    }

    #[test]
    fn a_market_day_is_not_a_surge_but_a_doubled_weekday_is() {
        let market = test_day(&DEFAULT, 28, 310.0, rhythm).unwrap();
        assert!(!market.surge, "{market:?}");
        let busy = test_day(&DEFAULT, 30, 200.0, rhythm).unwrap();
        assert!(busy.surge, "{busy:?}");
        // At a sensitive threshold plain C2 (last seven days) calls every
        // market day a surge; the weekly baseline does not.
        let sensitive = Setting {
            threshold: 2.0,
            ..DEFAULT
        };
        let c2 = Setting {
            weekly: false,
            ..sensitive
        };
        assert!(!test_day(&sensitive, 28, 310.0, rhythm).unwrap().surge);
        assert!(test_day(&c2, 28, 310.0, rhythm).unwrap().surge);
    }

    #[test]
    fn missing_days_are_skipped_and_too_little_history_decides_nothing() {
        let dark = |d: i64| if d == 21 { None } else { rhythm(d) };
        let v = test_day(&DEFAULT, 28, 300.0, dark).unwrap();
        assert!((v.expected - 300.0).abs() < 1e-9);
        assert_eq!(
            test_day(&DEFAULT, 3, 500.0, |d| (d >= 0).then_some(1.0)),
            None
        );
    }

    #[test]
    fn a_small_post_needs_a_real_excess() {
        let quiet = |_| Some(2.0);
        assert!(!test_day(&DEFAULT, 28, 9.0, quiet).unwrap().surge);
        assert!(test_day(&DEFAULT, 28, 60.0, quiet).unwrap().surge);
    }

    #[test]
    fn severity_grows_with_the_excess() {
        use mpaka_protocol::Severity;
        let v = |observed: f64| Verdict {
            observed,
            expected: 100.0,
            spread: 10.0,
            score: (observed - 100.0) / 10.0,
            surge: true,
        };
        assert_eq!(v(140.0).severity(3.0), Severity::Moderate);
        assert_eq!(v(260.0).severity(3.0), Severity::Severe);
        assert_eq!(v(600.0).severity(3.0), Severity::Extreme);
    }
}
