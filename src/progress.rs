//! Progress on stderr while a command trains: a bar when stderr is a terminal, else one
//! line per epoch; nothing with `--quiet`.

use crate::Failure;
use crate::output::Metrics;
use ebm_core::train::EpochReport;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// A progress bar that may be hidden.
pub fn bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    bar
}

/// The line of a training epoch: `epoch E/N: ` and `details`, what the command reports of
/// it.
pub fn epoch_line(report: &EpochReport, details: &str) -> String {
    format!("epoch {}/{}: {details}", report.epoch, report.epochs)
}

/// A training run's progress: the bar, and whether epoch lines go to stderr alone
/// (stderr is not a terminal and `--quiet` is off).
pub struct Progress {
    /// The bar (hidden when stderr is not a terminal or with `--quiet`).
    pub bar: ProgressBar,
    /// Epoch lines are printed on their own lines of stderr, there being no bar.
    pub log_lines: bool,
}

impl Progress {
    /// Progress over `total` steps.
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = bar(total, quiet);
        Self {
            log_lines: bar.is_hidden() && !quiet,
            bar,
        }
    }

    /// Progress over `epochs` epochs, the bar labelled `epochs`.
    pub fn epochs(epochs: usize, quiet: bool) -> Self {
        let progress = Self::new(epochs as u64, quiet);
        progress.bar.set_prefix("epochs");
        progress
    }

    /// Show one line: above the bar, or alone on stderr when there is no bar (nothing
    /// with `--quiet`).
    pub fn line(&self, line: &str) {
        if self.log_lines {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Run `train` (which reports its epochs to the progress it is given) with progress
    /// over `epochs` epochs; returns what it trained and the metrics `train_seconds` and
    /// `seconds_per_epoch` of the run.
    pub fn timed<T>(
        epochs: usize,
        quiet: bool,
        train: impl FnOnce(&Self) -> Result<T, Failure>,
    ) -> Result<(T, Metrics), Failure> {
        let progress = Self::epochs(epochs, quiet);
        let start = Instant::now();
        let trained = train(&progress);
        progress.bar.finish_and_clear();
        let seconds = start.elapsed().as_secs_f64();
        Ok((
            trained?,
            Metrics::training(seconds, seconds / epochs as f64),
        ))
    }

    /// Show `line` for epoch `epoch` and move the bar to it.
    pub fn epoch(&self, epoch: usize, line: &str) {
        self.line(line);
        self.bar.set_position(epoch as u64);
    }

    /// Show the [`epoch_line`] of `report` and move the bar to its epoch.
    pub fn epoch_report(&self, report: &EpochReport, details: &str) {
        self.epoch(report.epoch, &epoch_line(report, details));
    }
}
