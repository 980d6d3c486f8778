//! The comparison as an SVG chart: end-to-end latency percentiles (p50, p99,
//! p99.9, max) per target for each delivery scenario, publish-to-reply
//! latency for the durable-publish scenario, and deliveries per second.
//!
//! Text is left to the SVG viewer (plotters' SVG backend writes `<text>`
//! elements), so no system font is needed to draw it.

use crate::report::{Comparison, RunResult};
use crate::stats::Percentiles;
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;

/// Width and height of the chart, pixels.
const SIZE: (u32, u32) = (1500, 950);
/// The percentiles on the x axis of each latency panel.
const PERCENTILES: [&str; 4] = ["p50", "p99", "p99.9", "max"];
/// Targets in a fixed order and colour, so charts of several runs match.
const TARGETS: [(&str, RGBColor); 3] = [
    ("mpaka", RGBColor(0x1b, 0x6a, 0xc9)),
    ("nats", RGBColor(0x2a, 0x9d, 0x3c)),
    ("mqtt", RGBColor(0xd3, 0x6b, 0x12)),
];

/// One latency panel: which scenario and which of its latencies.
struct Panel {
    scenario: &'static str,
    title: &'static str,
    latency: fn(&RunResult) -> Percentiles,
}

const PANELS: [Panel; 5] = [
    Panel {
        scenario: "a",
        title: "(a) fan-out, 1,000 subscribers: delivery latency",
        latency: |r| r.delivery.latency,
    },
    Panel {
        scenario: "b",
        title: "(b) 200 msg/s to 1,000 subscribers: delivery latency",
        latency: |r| r.delivery.latency,
    },
    Panel {
        scenario: "c",
        title: "(c) fan-out, 5,000 subscribers: delivery latency",
        latency: |r| r.delivery.latency,
    },
    Panel {
        scenario: "c2",
        title: "(c2) (b) with 10,000 idle connections: delivery latency",
        latency: |r| r.delivery.latency,
    },
    Panel {
        scenario: "e",
        title: "(e) durable publish: publish-to-reply latency",
        latency: |r| r.publish.reply,
    },
];

fn values(p: &Percentiles) -> [f64; 4] {
    [p.p50_ms, p.p99_ms, p.p999_ms, p.max_ms]
}

fn colour_of(target: &str) -> RGBColor {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map_or(RGBColor(0x55, 0x55, 0x55), |(_, c)| *c)
}

/// Draws `cmp` (medians when it holds several runs per target) to `out`.
///
/// # Errors
/// When the file cannot be written.
pub fn draw(cmp: &Comparison, out: &Path) -> Result<()> {
    let root = SVGBackend::new(out, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let title = if cmp.runs > 1 {
        format!(
            "mpaka vs NATS vs Mosquitto over WebSocket (medians of {} runs)",
            cmp.runs
        )
    } else {
        "mpaka vs NATS vs Mosquitto over WebSocket".to_owned()
    };
    let root = root
        .titled(&title, ("sans-serif", 24))
        .map_err(plot_error)?;
    let areas = root.split_evenly((2, 3));
    for (panel, area) in PANELS.iter().zip(&areas) {
        latency_panel(cmp, panel, area)?;
    }
    if let Some(area) = areas.get(PANELS.len()) {
        throughput_panel(cmp, area)?;
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error<E: std::error::Error + Send + Sync>(error: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow!("drawing the chart: {error}")
}

fn latency_panel<DB: DrawingBackend>(
    cmp: &Comparison,
    panel: &Panel,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let runs: Vec<&RunResult> = cmp
        .results
        .iter()
        .filter(|r| r.scenario == panel.scenario && (panel.latency)(r).count > 0)
        .collect();
    let highest = runs
        .iter()
        .flat_map(|r| values(&(panel.latency)(r)))
        .fold(1.0_f64, f64::max);
    let lowest = runs
        .iter()
        .flat_map(|r| values(&(panel.latency)(r)))
        .filter(|v| *v > 0.0)
        .fold(highest, f64::min);
    let y_range = (lowest / 2.0).max(0.01)..highest * 2.0;
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, ("sans-serif", 15))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(62)
        .build_cartesian_2d(-0.3_f64..3.3_f64, y_range.log_scale())
        .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    chart
        .configure_mesh()
        .x_labels(PERCENTILES.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && (0.0..4.0).contains(&i) {
                PERCENTILES[i as usize].to_owned()
            } else {
                String::new()
            }
        })
        .y_desc("milliseconds (log)")
        .y_label_formatter(&|y| format!("{y}"))
        .draw()
        .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    if runs.is_empty() {
        return Ok(());
    }
    for run in runs {
        let colour = colour_of(&run.target);
        let points: Vec<(f64, f64)> = values(&(panel.latency)(run))
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as f64, v.max(0.01)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(|e| anyhow!("drawing the chart: {e}"))?
            .label(run.target.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled())))
            .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    Ok(())
}

fn throughput_panel<DB: DrawingBackend>(
    cmp: &Comparison,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let scenarios = ["a", "b", "c", "c2"];
    let highest = cmp
        .results
        .iter()
        .map(|r| r.delivery.per_sec / 1e6)
        .fold(0.1_f64, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption("deliveries per second (millions)", ("sans-serif", 15))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(62)
        .build_cartesian_2d(-0.5_f64..scenarios.len() as f64 - 0.5, 0.0..highest * 1.15)
        .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(scenarios.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 && (i as usize) < scenarios.len() {
                format!("({})", scenarios[i as usize])
            } else {
                String::new()
            }
        })
        .y_desc("million deliveries/s")
        .draw()
        .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    let width = 0.8 / TARGETS.len() as f64;
    for (t, (target, colour)) in TARGETS.iter().enumerate() {
        let colour = *colour;
        let bars: Vec<Rectangle<(f64, f64)>> = scenarios
            .iter()
            .enumerate()
            .filter_map(|(s, scenario)| {
                let run = cmp
                    .results
                    .iter()
                    .find(|r| r.scenario == *scenario && r.target == *target)?;
                let x0 = s as f64 - 0.4 + t as f64 * width;
                Some(Rectangle::new(
                    [(x0, 0.0), (x0 + width * 0.9, run.delivery.per_sec / 1e6)],
                    colour.filled(),
                ))
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        chart
            .draw_series(bars)
            .map_err(|e| anyhow!("drawing the chart: {e}"))?
            .label(*target)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(|e| anyhow!("drawing the chart: {e}"))?;
    Ok(())
}
