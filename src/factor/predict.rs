//! `ebm factor predict`: load a model saved by `ebm factor learn --out` and report its
//! test metrics on its task's data (the same data as `learn` with the same data flags
//! and seed): denoising or Viterbi errors, or the Sudoku puzzles it solves.

use super::ThreadArgs;
use super::tasks::{DataArgs, TaskName, report_test};
use crate::Failure;
use crate::args::JsonArgs;
use crate::output::Metrics;
use clap::Args;
use ebm_core::ModelFile;
use ebm_learn::learned::LearnedModel;
use ebm_learn::tasks::TaskShape;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of `ebm factor predict`.
#[derive(Args)]
pub struct PredictArgs {
    /// The model file written by `ebm factor learn --out`.
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub run: ThreadArgs,
    #[command(flatten)]
    pub output: JsonArgs,
}

pub fn predict(args: PredictArgs) -> Result<(), Failure> {
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
