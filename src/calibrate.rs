//! The calibration report every classifier's `calibrate` verb prints: temperature
//! scaling fitted on validation examples, expected calibration error, negative
//! log-likelihood and error on the test examples before and after, and reliability
//! diagrams as one PNG.

use crate::Failure;
use crate::output::Metrics;
use clap::Args;
use ebm_core::calibration::{Calibration, fit_temperature};
use std::path::PathBuf;

/// Flags of the `calibrate` verbs, beside the data flags.
#[derive(Args)]
pub struct CalibrateArgs {
    /// Fit the temperature on the last N examples of the training split (MNIST's, or
    /// --train FILE). Train the model without them (e.g. `--limit 50000` for MNIST) so
    /// the temperature is fitted on examples it has not seen.
    #[arg(long, default_value_t = 10000, value_parser = crate::args::count)]
    pub validation_size: usize,
    /// Equal-width confidence bins of the expected calibration error and the diagrams.
    #[arg(long, default_value_t = 15, value_parser = crate::args::count)]
    pub bins: usize,
    /// Draw the test set's reliability diagrams, before and after temperature scaling,
    /// as this PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
}

/// Log-probabilities `n x classes` (row-major) of labeled examples.
pub struct Scored<'a> {
    /// `ln p(y | x)` (or logits), one row per example.
    pub log_probs: &'a [f32],
    /// The true classes.
    pub labels: &'a [u8],
}

/// Fit the temperature on `validation`, measure `test` before and after, draw the
/// diagrams when `--png` asks, and return the metrics (`temperature`, and `ece`, `nll`,
/// `error` of the test set `_before` and `_after`, the validation's too).
pub fn report(
    args: &CalibrateArgs,
    model_name: &str,
    classes: usize,
    validation: Scored<'_>,
    test: Scored<'_>,
) -> Result<Metrics, Failure> {
    let invalid = |e: ebm_core::InvalidSetting| Failure::input(format!("calibrate: {e}"));
    let temperature =
        fit_temperature(validation.log_probs, classes, validation.labels).map_err(invalid)?;
    let measure = |s: &Scored<'_>, t: f64| {
        Calibration::measure_at(s.log_probs, classes, s.labels, args.bins, t).map_err(invalid)
    };
    let (val_before, val_after) = (
        measure(&validation, 1.0)?,
        measure(&validation, temperature)?,
    );
    let (before, after) = (measure(&test, 1.0)?, measure(&test, temperature)?);
    let mut m = Metrics::default();
    m.number("temperature", temperature)
        .integer("n_validation", validation.labels.len() as u64)
        .integer("n_test", test.labels.len() as u64);
    for (name, c) in [
        ("validation_before", &val_before),
        ("validation_after", &val_after),
        ("test_before", &before),
        ("test_after", &after),
    ] {
        m.number(&format!("ece_{name}"), c.ece)
            .number(&format!("nll_{name}"), c.nll)
            .number(&format!("error_{name}"), c.error);
    }
    if let Some(png) = &args.png {
        let charts = [
            ebm_plot::reliability_chart(&format!("{model_name}: test set, as trained"), &before),
            ebm_plot::reliability_chart(
                &format!("{model_name}: test set, temperature fitted on validation"),
                &after,
            ),
        ];
        let layout = ebm_plot::Layout {
            columns: 2,
            ..ebm_plot::Layout::SINGLE
        };
        ebm_plot::write_png(png, &charts, layout)
            .map_err(|e| Failure::run(format!("--png: {e}")))?;
        m.text("png", &png.display().to_string());
    }
    Ok(m)
}

/// The last `n` examples of `data` (all but at least one must remain for training: the
/// split is refused when `n` covers the whole set).
pub fn validation_tail(data: &ebm_data::Dataset, n: usize) -> Result<ebm_data::Dataset, Failure> {
    if n >= data.n_examples {
        return Err(Failure::input(format!(
            "--validation-size: {n} is not below the {} training examples",
            data.n_examples
        )));
    }
    Ok(data.rows(data.n_examples - n..data.n_examples))
}
