//! The toolkit's figures as [`Chart`]s: learning curves, ROC curves, reliability
//! diagrams, AIS diagnostics and 2-D densities side by side (the sampler traces of
//! `examples/samplers_2d.rs` are charts built there).

use crate::chart::{Chart, Series, Shading, Style};
use ebm_core::calibration::Calibration;

/// Curves with more points than this are drawn as lines without markers.
const MARKED_POINTS: usize = 60;

/// A learning curve: the metric `title` (its axis label `y_label`, with the unit) per
/// epoch, one series per `(name, points)` (e.g. `train` and `held-out`), points
/// `(epoch, value)`.
///
/// ```
/// let chart = ebm_plot::learning_curve(
///     "reconstruction error",
///     "squared error per image",
///     vec![("train".into(), vec![(1.0, 9.0), (2.0, 7.5)]),
///          ("held-out".into(), vec![(1.0, 9.4), (2.0, 8.1)])],
/// );
/// assert_eq!(chart.series.len(), 2);
/// assert_eq!(chart.x_label, "epoch");
/// ```
pub fn learning_curve(title: &str, y_label: &str, curves: Vec<(String, Vec<(f64, f64)>)>) -> Chart {
    let mut chart = Chart::new(title, "epoch", y_label).counting_x();
    for (name, points) in curves {
        let style = if points.len() > MARKED_POINTS {
            Style::Line
        } else {
            Style::LineAndPoints
        };
        chart = chart.with(Series::new(name, points, style));
    }
    chart
}

/// A ROC curve: `points` `(false-positive rate, true-positive rate)` from `(0, 0)` to
/// `(1, 1)` of the detector `score` with area `auc` (in the legend), over the chance
/// diagonal, with the operating point `(fpr, tpr)` of a chosen threshold if given.
///
/// ```
/// let chart = ebm_plot::roc_chart("ROC", "free energy", &[(0.0, 0.0), (0.2, 0.7), (1.0, 1.0)],
///                                 0.75, Some((0.2, 0.7)));
/// assert!(chart.series[0].name.contains("AUC 0.750"));
/// ```
pub fn roc_chart(
    title: &str,
    score: &str,
    points: &[(f64, f64)],
    auc: f64,
    operating_point: Option<(f64, f64)>,
) -> Chart {
    let mut chart = Chart::new(
        title,
        "false-positive rate (fraction of normal examples flagged)",
        "true-positive rate (fraction of anomalies flagged)",
    )
    .x_range(0.0, 1.0)
    .y_range(0.0, 1.0)
    .with(Series::new(
        format!("{score} (AUC {auc:.3})"),
        points.to_vec(),
        Style::Line,
    ))
    .with(diagonal("chance (AUC 0.500)"));
    if let Some((fpr, tpr)) = operating_point {
        chart = chart.with(Series::new(
            format!("chosen threshold: FPR {fpr:.3}, TPR {tpr:.3}"),
            vec![(fpr, tpr)],
            Style::Points,
        ));
    }
    chart
}

/// A reliability diagram: each non-empty bin's accuracy against its mean confidence, over
/// the diagonal of perfect calibration; the legend gives the temperature, the expected
/// calibration error and the test error.
///
/// ```
/// let c = ebm_core::calibration::Calibration::measure(&[0.9f32.ln(), 0.1f32.ln()], 2, &[0], 10)?;
/// let chart = ebm_plot::reliability_chart("class RBM", &c);
/// let (confidence, accuracy) = chart.series[0].points[0];
/// assert!((confidence - 0.9).abs() < 1e-6 && accuracy == 1.0);
/// # Ok::<(), ebm_core::InvalidSetting>(())
/// ```
pub fn reliability_chart(title: &str, calibration: &Calibration) -> Chart {
    let points = calibration
        .bins
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| (b.confidence, b.accuracy))
        .collect();
    Chart::new(
        title,
        "confidence: largest p(y | x), mean over the bin",
        "accuracy: share of the bin classified correctly",
    )
    .x_range(0.0, 1.0)
    .y_range(0.0, 1.0)
    .with(Series::new(
        format!(
            "T = {:.3}: ECE {:.4}, error {:.4}",
            calibration.temperature, calibration.ece, calibration.error
        ),
        points,
        Style::LineAndPoints,
    ))
    .with(diagonal("perfect calibration"))
}

/// The dashed grey diagonal from `(0, 0)` to `(1, 1)`: chance on a ROC curve, perfect
/// calibration on a reliability diagram.
pub fn diagonal(name: &str) -> Series {
    Series::new(name, vec![(0.0, 0.0), (1.0, 1.0)], Style::Dashed).color(6)
}

/// What AIS measured: each run's estimate of `ln Z` (its log importance weight plus
/// `ln Z` of the base model), and the combined estimate with its ±3 standard-deviation
/// bounds; an exact `ln Z` to compare with, when known.
#[derive(Clone, Debug, PartialEq)]
pub struct AisRuns<'a> {
    /// `ln w_r + ln Z_A` of every run, nats.
    pub run_log_z: &'a [f64],
    /// The estimate `ln mean(w) + ln Z_A`, nats.
    pub log_z: f64,
    /// Its lower and upper ±3 sd bounds, nats.
    pub bounds: (f64, f64),
    /// Intermediate distributions of each run.
    pub temperatures: usize,
    /// The exact `ln Z`, when known.
    pub exact: Option<f64>,
}

/// AIS diagnostics: the runs' `ln Z` estimates sorted (a flat curve means the runs
/// agree; a few runs far above the rest mean the estimate rests on them), with the
/// combined estimate, its bounds and the exact value marked.
///
/// ```
/// let runs = [10.0, 10.2, 9.9, 10.1];
/// let chart = ebm_plot::ais_chart(&ebm_plot::AisRuns {
///     run_log_z: &runs, log_z: 10.06, bounds: (9.95, 10.15), temperatures: 1000, exact: None,
/// });
/// assert_eq!(chart.series[0].points[0], (1.0, 9.9));
/// ```
pub fn ais_chart(runs: &AisRuns<'_>) -> Chart {
    let mut sorted = runs.run_log_z.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let span = |y: f64| vec![(1.0, y), (n.max(2) as f64, y)];
    let mut chart = Chart::new(
        format!(
            "AIS: {n} runs of {} temperatures, sorted by their estimate",
            runs.temperatures
        ),
        "run (sorted by its estimate)",
        "ln Z estimate of one run: ln w + ln Z_A (nats)",
    )
    .counting_x()
    .with(Series::new(
        "one run",
        sorted
            .iter()
            .enumerate()
            .map(|(i, &y)| ((i + 1) as f64, y))
            .collect(),
        if n > MARKED_POINTS {
            Style::Line
        } else {
            Style::LineAndPoints
        },
    ))
    .with(Series::new(
        format!("estimate ln Z = {:.4}", runs.log_z),
        span(runs.log_z),
        Style::Line,
    ))
    .with(Series::new(
        format!("±3 sd: [{:.4}, {:.4}]", runs.bounds.0, runs.bounds.1),
        span(runs.bounds.0),
        Style::Dashed,
    ))
    .with(Series::new(String::new(), span(runs.bounds.1), Style::Dashed).color(2));
    if let Some(exact) = runs.exact {
        chart = chart.with(Series::new(
            format!("exact ln Z = {exact:.4}"),
            span(exact),
            Style::Dashed,
        ));
    }
    chart
}

/// Densities over the square `[-bound, bound]^2`, one chart each, on one shade scale:
/// `panels` are `(title, values)` with `values` a `side x side` picture (row 0 at the top,
/// the largest second coordinate) of densities; each value is shaded as its share of the
/// largest value over all panels, so the panels compare.
///
/// ```
/// let flat = vec![0.25; 4];
/// let peaked = vec![0.0, 1.0, 0.0, 0.0];
/// let charts = ebm_plot::density_charts(1.0, 2, vec![("model".into(), flat), ("truth".into(), peaked)]);
/// assert_eq!(charts.len(), 2);
/// assert_eq!(charts[1].shading.as_ref().unwrap().values, [0.0, 1.0, 0.0, 0.0]);
/// assert_eq!(charts[0].shading.as_ref().unwrap().values, [0.25; 4]);
/// ```
pub fn density_charts(bound: f64, side: usize, panels: Vec<(String, Vec<f64>)>) -> Vec<Chart> {
    let top = panels
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let scale = if top > 0.0 { 1.0 / top } else { 0.0 };
    panels
        .into_iter()
        .map(|(title, values)| {
            Chart::new(title, "x1", "x2")
                .x_range(-bound, bound)
                .y_range(-bound, bound)
                .shaded(Shading {
                    x: (-bound, bound),
                    y: (-bound, bound),
                    columns: side,
                    values: values.iter().map(|&v| (v * scale) as f32).collect(),
                })
        })
        .collect()
}
