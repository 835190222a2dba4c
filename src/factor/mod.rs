//! `ebm factor ...`: discrete factor-graph models: inference on UAI files, Sudoku and
//! graph coloring, and learning templated energies and predicting with them.

mod color;
mod infer;
mod learn;
mod predict;
mod puzzles;
mod tasks;

use crate::Failure;
use clap::{Args, Subcommand};

/// Subcommands of `ebm factor`.
#[derive(Subcommand)]
pub enum FactorCommand {
    /// Inference on a .uai model: partition function, marginals or MAP.
    Infer(infer::InferArgs),
    /// Solve every Sudoku puzzle of a file (one puzzle a line) and check the solutions.
    Sudoku(puzzles::SudokuArgs),
    /// Color a DIMACS .col graph with K colors.
    Color(color::ColorArgs),
    /// Learn the weights of a templated energy on a built-in task and report test metrics.
    Learn(learn::LearnArgs),
    /// Load a model saved by `learn --out` and report its test metrics on its task.
    Predict(predict::PredictArgs),
}

/// `--threads` of the factor commands (two by default: the README's factor timings were
/// measured so).
#[derive(Args, Clone, Copy)]
pub struct ThreadArgs {
    /// Threads.
    #[arg(long, default_value_t = 2, value_parser = crate::args::threads)]
    pub threads: usize,
}

impl ThreadArgs {
    /// A rayon pool of `--threads` threads; `--threads 0` is bad input.
    pub fn pool(self) -> Result<rayon::ThreadPool, Failure> {
        crate::threads::pool(self.threads)
    }
}

/// A factor-graph error as bad input; an invalid setting names its flag (from the CLI's
/// one table, [`crate::setup::setting_failure`]).
fn input_failure(error: ebm_factor::FactorError) -> Failure {
    match &error {
        ebm_factor::FactorError::InvalidSetting(invalid) => {
            crate::setup::setting_failure(invalid.setting, &invalid.message, &[], &error)
        }
        _ => Failure::input(error),
    }
}

/// Run one `ebm factor` subcommand.
pub fn run(command: FactorCommand) -> Result<(), Failure> {
    match command {
        FactorCommand::Infer(args) => infer::infer(args),
        FactorCommand::Sudoku(args) => puzzles::sudoku(args),
        FactorCommand::Color(args) => color::color(args),
        FactorCommand::Learn(args) => learn::learn(args),
        FactorCommand::Predict(args) => predict::predict(args),
    }
}
