//! `--log FILE` and `--plot DIR`: the per-epoch record of every training command, written
//! as JSON lines, and the PNG plots of the commands ([`draw`]: the learning curves of the
//! training commands, and the pictures `rbm anomaly` and `rbm eval` draw).
//!
//! A training command describes each metric it computes per epoch by a [`Family`] (what
//! it measures, with its unit: one learning-curve PNG) and the data it was measured on
//! ([`On`]); [`EpochLog::record`] keeps one line per epoch, and [`EpochLog::finish`]
//! writes the log (atomically) and the learning curves once training has stopped, also
//! when it diverged. A log line holds `epoch`, `seconds` (the epoch's training time),
//! `learning_rate` where the trainer has one, `stage` where a command trains in stages,
//! and each metric as `train_KEY`, `held_out_KEY` or `KEY` (neither: e.g. the CD steps of
//! a schedule); a metric that is not finite is `null`.

use crate::Failure;
use crate::output::Metrics;
use clap::Args;
use ebm_core::train::EpochReport;
use ebm_data::Dataset;
use ebm_plot::{Chart, Layout, learning_curve};
use std::path::{Path, PathBuf};

/// The value parser of `--plot`: a folder, or a path that can become one (its parent is
/// a folder); checked before any work.
pub fn plot_dir(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => return Ok(path),
        Ok(_) => return Err(format!("{text}: exists and is not a folder")),
        Err(_) => {}
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if parent.is_dir() {
        Ok(path)
    } else {
        Err(format!(
            "{text}: folder {} does not exist",
            parent.display()
        ))
    }
}

/// Examples a logged run measures its per-epoch metrics on (of the training data where
/// the trainer does not choose its own, and of the held-out data).
pub const LOGGED_EXAMPLES: usize = 1000;

/// The first `count` examples of `test`: the held-out data a logged run measures each
/// epoch, which must have the training data's `n_features`.
///
/// # Errors
///
/// Bad input naming `--test` when the feature counts differ.
pub fn held_out(test: Dataset, n_features: usize, count: usize) -> Result<Dataset, Failure> {
    if test.n_features != n_features {
        return Err(Failure::input(format!(
            "--test: the test data have {} features, the training data {n_features}",
            test.n_features
        )));
    }
    Ok(test.head(count.max(1)))
}

/// Draw `charts` (laid out as `layout`) into `DIR/NAME.png` when there is a `--plot DIR`,
/// creating DIR; the file goes into `m` as `plot_NAME`.
///
/// # Errors
///
/// A failed run naming `--plot` when DIR cannot be made or the PNG written.
pub fn draw(
    dir: Option<&Path>,
    name: &str,
    charts: &[Chart],
    layout: Layout,
    m: &mut Metrics,
) -> Result<(), Failure> {
    let Some(dir) = dir else {
        return Ok(());
    };
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return Err(Failure::run(format!("--plot: {}: {e}", dir.display())));
        }
        _ => {}
    }
    let path = dir.join(format!("{name}.png"));
    ebm_plot::write_png(&path, charts, layout).map_err(|e| Failure::run(format!("--plot: {e}")))?;
    m.text(&format!("plot_{name}"), &path.display().to_string());
    Ok(())
}

/// `--log FILE` and `--plot DIR`: the flags of every training command.
#[derive(Args, Clone, Default)]
pub struct LogArgs {
    /// Write each epoch's metrics to FILE as JSON lines, one object per epoch (epoch,
    /// seconds, learning_rate, train_* and held_out_* metrics).
    #[arg(long, value_name = "FILE", value_parser = crate::args::output_file)]
    pub log: Option<PathBuf>,
    /// Draw the learning curves (each metric per epoch, train and held-out) as PNG files
    /// into DIR (created if missing), one per metric: learning_curve_METRIC.png.
    #[arg(long, value_name = "DIR", value_parser = plot_dir)]
    pub plot: Option<PathBuf>,
}

/// What a metric measures: its key in the log and the one learning-curve PNG it is drawn
/// in, with the chart's title and the unit of its axis.
#[derive(Debug, PartialEq, Eq)]
pub struct Family {
    /// The log's key (after `train_`/`held_out_`) and the PNG's name.
    pub key: &'static str,
    /// What it is, e.g. `reconstruction error`.
    pub title: &'static str,
    /// The axis label, with the unit.
    pub unit: &'static str,
}

impl Family {
    /// The family of key `key`, titled `title`, measured in `unit`.
    pub const fn new(key: &'static str, title: &'static str, unit: &'static str) -> Self {
        Self { key, title, unit }
    }
}

/// On what data a metric was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum On {
    /// The training data.
    Train,
    /// Data the model was not trained on.
    HeldOut,
    /// Neither: a figure of the run (e.g. its CD steps).
    Run,
}

impl On {
    fn key(self, family: &Family) -> String {
        match self {
            Self::Train => format!("train_{}", family.key),
            Self::HeldOut => format!("held_out_{}", family.key),
            Self::Run => family.key.to_string(),
        }
    }

    fn legend(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::HeldOut => "held-out",
            Self::Run => "run",
        }
    }
}

/// A metric's value in one epoch.
pub type Value = (&'static Family, On, f64);

/// An epoch, as the log numbers it.
pub struct Epoch<'a> {
    /// 1-based epoch (of its stage).
    pub number: usize,
    /// Wall time of the epoch's training.
    pub seconds: f64,
    /// The learning rate used, where the trainer has one.
    pub learning_rate: Option<f64>,
    /// The stage of a run that trains in stages (`factor learn --pretrain-epochs`).
    pub stage: Option<&'a str>,
}

impl<'a> Epoch<'a> {
    /// The epoch of a report of the training core (its number, time and learning rate).
    pub fn of(report: &EpochReport) -> Self {
        Self {
            number: report.epoch,
            seconds: report.seconds,
            // The f32 rate's shortest decimal (0.05, not 0.05000000074505806).
            learning_rate: report.rates.learning_rate.to_string().parse().ok(),
            stage: None,
        }
    }
}

/// One epoch as recorded.
struct Record {
    line: String,
    epoch: usize,
    stage: Option<String>,
    values: Vec<Value>,
}

/// The per-epoch record of a training run (nothing is kept without `--log` or `--plot`).
pub struct EpochLog {
    args: LogArgs,
    command: &'static str,
    records: Vec<Record>,
}

impl EpochLog {
    /// The record of a run of `command` (e.g. `ebm rbm train`, for the plots' titles) as
    /// `args` ask.
    pub fn new(args: &LogArgs, command: &'static str) -> Self {
        Self {
            args: args.clone(),
            command,
            records: Vec::new(),
        }
    }

    /// Whether anything is recorded (`--log` or `--plot` was given): held-out metrics are
    /// computed only then.
    pub fn is_active(&self) -> bool {
        self.args.log.is_some() || self.args.plot.is_some()
    }

    /// Record `epoch` and its metric `values`.
    pub fn record(&mut self, epoch: Epoch<'_>, values: &[Value]) {
        if !self.is_active() {
            return;
        }
        let mut line = Metrics::default();
        line.integer("epoch", epoch.number as u64)
            .number("seconds", epoch.seconds);
        if let Some(rate) = epoch.learning_rate {
            line.number("learning_rate", rate);
        }
        if let Some(stage) = epoch.stage {
            line.text("stage", stage);
        }
        for &(family, on, value) in values {
            line.number(&on.key(family), value);
        }
        self.records.push(Record {
            line: line.json_line(),
            epoch: epoch.number,
            stage: epoch.stage.map(str::to_string),
            values: values.to_vec(),
        });
    }

    /// Write the log file and the learning curves (one PNG per metric family,
    /// `learning_curve_KEY.png`), and name them in `m`.
    ///
    /// # Errors
    ///
    /// A failed run naming `--log` or `--plot` when a file cannot be written.
    pub fn finish(&self, m: &mut Metrics) -> Result<(), Failure> {
        if let Some(path) = &self.args.log {
            let mut text = String::new();
            for record in &self.records {
                text.push_str(&record.line);
                text.push('\n');
            }
            ebm_core::atomic::write_atomic(path, text.as_bytes())
                .map_err(|e| Failure::run(format!("--log: {}: {e}", path.display())))?;
            m.text("log", &path.display().to_string());
        }
        for (family, chart) in self.learning_curves() {
            let name = format!("learning_curve_{}", family.key);
            draw(
                self.args.plot.as_deref(),
                &name,
                &[chart],
                Layout::SINGLE,
                m,
            )?;
        }
        Ok(())
    }

    /// One chart per metric family with a finite value, a series per data set (and
    /// stage).
    fn learning_curves(&self) -> Vec<(&'static Family, Chart)> {
        let mut families: Vec<&'static Family> = Vec::new();
        for &(family, _, value) in self.records.iter().flat_map(|r| &r.values) {
            if value.is_finite() && !families.contains(&family) {
                families.push(family);
            }
        }
        families
            .into_iter()
            .map(|family| {
                let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
                for record in &self.records {
                    for &(f, on, value) in &record.values {
                        if f != family {
                            continue;
                        }
                        let name = match &record.stage {
                            Some(stage) => format!("{} ({stage})", on.legend()),
                            None => on.legend().to_string(),
                        };
                        let point = (record.epoch as f64, value);
                        match curves.iter_mut().find(|(n, _)| *n == name) {
                            Some((_, points)) => points.push(point),
                            None => curves.push((name, vec![point])),
                        }
                    }
                }
                let title = format!("{} per epoch ({})", family.title, self.command);
                (family, learning_curve(&title, family.unit, curves))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERROR: Family = Family::new("error", "error", "fraction wrong");

    #[test]
    fn lines_name_the_data_and_curves_group_by_family() {
        let args = LogArgs {
            log: Some(PathBuf::from("unused.jsonl")),
            ..LogArgs::default()
        };
        let mut log = EpochLog::new(&args, "ebm test");
        for epoch in 1..=3 {
            let e = Epoch {
                number: epoch,
                seconds: 0.5,
                learning_rate: None,
                stage: None,
            };
            let x = epoch as f64;
            log.record(
                e,
                &[
                    (&ERROR, On::Train, 1.0 / x),
                    (&ERROR, On::HeldOut, f64::NAN),
                ],
            );
        }
        let line: serde_json::Value = serde_json::from_str(&log.records[0].line).unwrap();
        assert_eq!(line["epoch"], 1);
        assert_eq!(line["train_error"], 1.0);
        assert!(line["held_out_error"].is_null() && line.get("learning_rate").is_none());
        let curves = log.learning_curves();
        assert_eq!(curves.len(), 1);
        let chart = &curves[0].1;
        assert_eq!(chart.series.len(), 2);
        assert_eq!(chart.series[0].name, "train");
        assert_eq!(chart.series[0].points[2], (3.0, 1.0 / 3.0));
        assert!(chart.title.contains("ebm test"));
        let inactive = EpochLog::new(&LogArgs::default(), "ebm test");
        assert!(!inactive.is_active());
    }

    #[test]
    fn plot_dirs_must_be_or_become_folders() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(plot_dir(dir.path().to_str().unwrap()).is_ok());
        assert!(plot_dir(dir.path().join("new").to_str().unwrap()).is_ok());
        let e = plot_dir(file.to_str().unwrap()).unwrap_err();
        assert!(e.contains("not a folder"), "{e}");
        let e = plot_dir(dir.path().join("no/such").to_str().unwrap()).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
    }
}
