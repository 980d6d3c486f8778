//! Evaluation of the surge detector on synthetic series (docs/flows.md).
//!
//! The generator draws one direction of one post's daily movements for a
//! year: a level taken from the published DTM Burundi–Tanzania figures
//! (28,000–47,000 movements a month over five to eight monitoring points,
//! so roughly 60–130 a day per point and direction), a weekly rhythm (one
//! market day at 1.8–2.5 times the level, quieter Sundays), a slow seasonal
//! swing of ±15%, over-dispersed noise (log-normal day effect on Poisson
//! counts), power cuts (3% of days start an outage of one to three days
//! with no report at all), and four injected surges per post-year of one
//! size (0.5, 1, 2 or 4 times the level on top of it) and shape (a one-day
//! spike, a five-day plateau, or a ramp over five days held two more).
//!
//! [`evaluate`] runs a detector setting day by day over complete days and
//! counts: surges detected (an alarm on any day of the surge), the delay
//! from the surge's first day to the first alarm, and false alarms (alarm
//! days outside every surge and the three days after it) per post and
//! month.

use super::detector::{test_day, Setting};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Days of warm-up before the evaluated year (the baseline's history).
const WARM_UP: usize = 42;
/// Days evaluated per series.
const YEAR: usize = 365;
/// Days after a surge in which alarms are neither hits nor false alarms.
const GRACE: usize = 3;

/// Surge shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Spike,
    Plateau,
    Ramp,
}

/// One injected surge.
#[derive(Debug, Clone, Copy)]
pub struct Surge {
    pub start: usize,
    pub size: f64,
    pub shape: Shape,
}

impl Surge {
    fn days(&self) -> usize {
        match self.shape {
            Shape::Spike => 1,
            Shape::Plateau => 5,
            Shape::Ramp => 7,
        }
    }

    /// Extra movements on day `d` as a multiple of the level.
    fn extra(&self, d: usize) -> f64 {
        if d < self.start || d >= self.start + self.days() {
            return 0.0;
        }
        let k = d - self.start;
        match self.shape {
            Shape::Spike | Shape::Plateau => self.size,
            #[allow(clippy::cast_precision_loss)]
            Shape::Ramp => self.size * ((k + 1) as f64 / 5.0).min(1.0),
        }
    }
}

/// One synthetic series: counts (`None` on dark days) and its surges.
#[derive(Debug, Clone)]
pub struct Series {
    pub counts: Vec<Option<f64>>,
    pub surges: Vec<Surge>,
}

/// The surge sizes evaluated, as multiples of the post's level.
pub const SIZES: [f64; 4] = [0.5, 1.0, 2.0, 4.0];

fn normal(rng: &mut StdRng) -> f64 {
    // Box–Muller.
    let u: f64 = rng.random::<f64>().max(1e-12);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn poisson(rng: &mut StdRng, lambda: f64) -> f64 {
    if lambda > 50.0 {
        return (lambda + lambda.sqrt() * normal(rng)).round().max(0.0);
    }
    // Knuth's method for small means.
    let limit = (-lambda).exp();
    let mut k = 0.0;
    let mut p = 1.0;
    loop {
        p *= rng.random::<f64>();
        if p <= limit {
            return k;
        }
        k += 1.0;
    }
}

/// Draws one post-year with surges of `size` (shapes cycling).
pub fn generate(rng: &mut StdRng, size: f64) -> Series {
    let days = WARM_UP + YEAR;
    let level = rng.random_range(60.0..130.0);
    let market = rng.random_range(0..7);
    let market_factor = rng.random_range(1.8..2.5);
    let phase = rng.random_range(0.0..std::f64::consts::TAU);
    let mut surges = Vec::new();
    let shapes = [Shape::Spike, Shape::Plateau, Shape::Ramp];
    // Four surges, spread over the year, at least five weeks apart.
    for i in 0..4 {
        let start = WARM_UP + 10 + i * 88 + rng.random_range(0..40);
        surges.push(Surge {
            start,
            size,
            shape: shapes[(i + rng.random_range(0..3)) % 3],
        });
    }
    let mut counts = Vec::with_capacity(days);
    let mut dark = 0;
    for d in 0..days {
        if dark == 0 && rng.random::<f64>() < 0.03 {
            dark = rng.random_range(1..=3);
        }
        if dark > 0 {
            dark -= 1;
            counts.push(None);
            continue;
        }
        let weekday = d % 7;
        let rhythm = if weekday == market {
            market_factor
        } else if weekday == (market + 3) % 7 {
            0.7
        } else {
            1.0
        };
        #[allow(clippy::cast_precision_loss)]
        let season = 1.0 + 0.15 * (phase + d as f64 / 365.0 * std::f64::consts::TAU).sin();
        let extra: f64 = surges.iter().map(|s| s.extra(d)).sum();
        let mean = level * (rhythm * season + extra) * (0.15 * normal(rng)).exp();
        counts.push(Some(poisson(rng, mean)));
    }
    Series { counts, surges }
}

/// What one setting achieved.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub surges: usize,
    pub detected: usize,
    /// Detected surges per size in [`SIZES`] order: (detected, total).
    pub by_size: [(usize, usize); 4],
    pub delays: Vec<usize>,
    pub false_alarms: usize,
    pub post_months: f64,
}

impl Outcome {
    #[allow(clippy::cast_precision_loss)]
    pub fn rate(&self) -> f64 {
        self.detected as f64 / self.surges.max(1) as f64
    }

    pub fn false_alarms_per_post_month(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let n = self.false_alarms as f64;
        n / self.post_months.max(1.0)
    }

    #[allow(clippy::cast_precision_loss)]
    pub fn mean_delay(&self) -> f64 {
        self.delays.iter().sum::<usize>() as f64 / self.delays.len().max(1) as f64
    }
}

/// Runs `setting` over `posts` synthetic post-years per surge size, drawn
/// from `seed` (the same seed gives the same series for every setting).
pub fn evaluate(setting: &Setting, posts: usize, seed: u64) -> Outcome {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut outcome = Outcome::default();
    for (s, &size) in SIZES.iter().enumerate() {
        for _ in 0..posts {
            let series = generate(&mut rng, size);
            score(setting, &series, s, &mut outcome);
        }
    }
    outcome
}

fn score(setting: &Setting, series: &Series, size_index: usize, outcome: &mut Outcome) {
    let counts = &series.counts;
    #[allow(clippy::cast_possible_wrap)]
    let alarms: Vec<bool> = (0..counts.len())
        .map(|d| {
            d >= WARM_UP
                && counts[d].is_some_and(|x| {
                    test_day(setting, d as i64, x, |e| {
                        usize::try_from(e)
                            .ok()
                            .and_then(|e| counts.get(e).copied().flatten())
                    })
                    .is_some_and(|v| v.surge)
                })
        })
        .collect();
    let mut excused = vec![false; counts.len()];
    for surge in &series.surges {
        outcome.surges += 1;
        outcome.by_size[size_index].1 += 1;
        let end = (surge.start + surge.days()).min(counts.len());
        for e in excused
            .iter_mut()
            .take((end + GRACE).min(counts.len()))
            .skip(surge.start)
        {
            *e = true;
        }
        if let Some(first) = (surge.start..end).find(|&d| alarms[d]) {
            outcome.detected += 1;
            outcome.by_size[size_index].0 += 1;
            outcome.delays.push(first - surge.start);
        }
    }
    outcome.false_alarms += alarms
        .iter()
        .zip(&excused)
        .filter(|(alarm, excused)| **alarm && !**excused)
        .count();
    #[allow(clippy::cast_precision_loss)]
    let months = YEAR as f64 / 30.4;
    outcome.post_months += months;
}

/// The settings compared in docs/flows.md.
pub fn grid() -> Vec<Setting> {
    let mut settings = Vec::new();
    for weekly in [true, false] {
        for threshold in [2.0, 2.5, 3.0, 4.0, 5.0] {
            settings.push(Setting {
                threshold,
                weeks: 4,
                min_excess: 30.0,
                weekly,
            });
        }
    }
    settings
}

/// The evaluation table in Markdown.
pub fn table(posts: usize, seed: u64) -> String {
    let mut out = String::from(
        "| baseline | threshold | detected | 0.5× | 1× | 2× | 4× | mean delay (days) | false alarms / post / month |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for setting in grid() {
        let o = evaluate(&setting, posts, seed);
        #[allow(clippy::cast_precision_loss)]
        let pct = |(d, n): (usize, usize)| format!("{:.0}%", 100.0 * d as f64 / n.max(1) as f64);
        out.push_str(&format!(
            "| {} | {:.1} | {:.0}% | {} | {} | {} | {} | {:.2} | {:.2} |\n",
            if setting.weekly {
                "same weekday, 4 weeks"
            } else {
                "last 7 days (C2)"
            },
            setting.threshold,
            100.0 * o.rate(),
            pct(o.by_size[0]),
            pct(o.by_size[1]),
            pct(o.by_size[2]),
            pct(o.by_size[3]),
            o.mean_delay(),
            o.false_alarms_per_post_month(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_matches_the_published_levels() {
        let mut rng = StdRng::seed_from_u64(1);
        // Six points, both directions, one month without surges: DTM's
        // 28,000–47,000 a month (generous bounds: the draw is random).
        let mut month = 0.0;
        for _ in 0..6 {
            let s = generate(&mut rng, 0.0);
            month += 2.0
                * s.counts[WARM_UP..WARM_UP + 30]
                    .iter()
                    .flatten()
                    .sum::<f64>();
        }
        assert!((15_000.0..70_000.0).contains(&month), "{month}");
    }

    #[test]
    fn the_default_finds_large_surges_and_rarely_cries_wolf() {
        let o = evaluate(&super::super::detector::DEFAULT, 20, 42);
        assert!(o.by_size[3].0 * 10 >= o.by_size[3].1 * 9, "{o:?}");
        assert!(o.false_alarms_per_post_month() < 1.0, "{o:?}");
    }

    /// Prints the table for docs/flows.md:
    /// `cargo test -p mpaka-server --lib flows::evaluate -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints the evaluation table for docs/flows.md"]
    fn print_the_evaluation_table() {
        println!("{}", table(100, 2026));
    }
}
