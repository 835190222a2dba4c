//! `ebm factor predict`: load a model saved by `ebm factor learn --out` and report its
//! test metrics on its task's data (the same data as `learn` with the same data flags
//! and seed): denoising or Viterbi errors, or the Sudoku puzzles it solves. A model
//! learned from files labels `--input FILE` instead ([`super::files::predict`]).

use super::ThreadArgs;
use super::tasks::{DataArgs, TaskName, report_test};
use crate::Failure;
use crate::args::{JsonArgs, output_file};
use crate::output::Metrics;
use clap::Args;
use ebm_core::ModelFile;
use ebm_learn::learned::{FileModel, LearnedModel};
use ebm_learn::tasks::TaskShape;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of `ebm factor predict`.
#[derive(Args)]
pub struct PredictArgs {
    /// The model file written by `ebm factor learn --out`.
    pub model: PathBuf,
    /// A model learned from files: the data to label, a column file (the label column
    /// may be there or not: with it, accuracy is reported) or per-pixel features .npy.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// A model learned from files: write the labels here, atomically: the input's lines
    /// with a predicted-label column appended (conll), or a .npy of label values (npy-grid).
    #[arg(long, value_name = "FILE", value_parser = output_file)]
    pub out: Option<PathBuf>,
    /// A model learned from npy-grid files: the true labels of --input, to report
    /// accuracy.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub run: ThreadArgs,
    #[command(flatten)]
    pub output: JsonArgs,
}

pub fn predict(args: PredictArgs) -> Result<(), Failure> {
    let header = ebm_core::model_file::read_header(&args.model).map_err(Failure::input)?;
    if header.kind == FileModel::KIND {
        return super::files::predict(args);
    }
    for (flag, given) in [
        ("--input", args.input.is_some()),
        ("--out", args.out.is_some()),
        ("--labels", args.labels.is_some()),
    ] {
        if given {
            return Err(Failure::input(format!(
                "{flag} applies to models learned from files (factor learn --train FILE); {} is a model of a built-in task",
                args.model.display()
            )));
        }
    }
    let model = LearnedModel::load(&args.model).map_err(Failure::input)?;
    let Some(shape) = model.task else {
        return Err(Failure::input(format!(
            "{}: the model holds no built-in task to predict on",
            args.model.display()
        )));
    };
    let task_name = TaskName::of(shape);
    args.data.check_applies(task_name)?;
    let pool = args.run.pool()?;
    let pairwise = !matches!(
        shape,
        TaskShape::Denoise {
            pairwise: false,
            ..
        }
    );
    let task = args.data.task(task_name, pairwise)?;
    if task.shape != shape {
        return Err(Failure::input(format!(
            "{}: a model of {shape:?}; the data give {:?}",
            args.model.display(),
            task.shape
        )));
    }
    let start = Instant::now();
    let mut metrics = Metrics::default();
    metrics
        .text("task", shape.name())
        .text("method", &model.learner)
        .integer("weights", model.weights.len() as u64);
    let json = args.output.json;
    pool.install(|| report_test(&args.data, &task, &model, json, &mut metrics))?;
    metrics.number("seconds", start.elapsed().as_secs_f64());
    args.output.print(&metrics);
    Ok(())
}
