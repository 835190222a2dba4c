//! `ebm factor ...`: discrete factor-graph models: inference on UAI files, Sudoku and
//! graph coloring, and learning templated energies (on built-in tasks or the user's
//! files) and predicting with them.

mod color;
mod export;
mod files;
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
    /// Learn the weights of a templated energy on a built-in task (--task) or on your
    /// files (--train FILE: CoNLL-style column files, npy-grid arrays) and report test
    /// metrics.
    #[command(after_help = LEARN_EXAMPLES)]
    Learn(learn::LearnArgs),
    /// Load a model saved by `learn --out`: report its test metrics on its task, or label
    /// --input FILE with a model learned from files.
    Predict(predict::PredictArgs),
    /// Write a built-in task's data as files `learn --train` reads (hmm: column files;
    /// denoise: .npy arrays).
    Export(export::ExportArgs),
}

/// The examples at the end of `factor learn --help`.
const LEARN_EXAMPLES: &str = "Examples:
  ebm factor learn --task hmm --method ml --out hmm.ebm
  ebm factor learn --train train.conll --test test.conll --template 0@0 --template 0@-1 \\
      --template '0@-1|0@0' --method bcfw --out tagger.ebm
  ebm factor predict tagger.ebm --input new.conll --out tagged.conll
  ebm factor learn --train features.npy --labels labels.npy --method bcfw --out grid.ebm
  ebm factor predict grid.ebm --input new-features.npy --out new-labels.npy

A column file has one token a line (feature columns, then the label), a blank line
between sequences; '#' lines opening a sequence and -DOCSTART- lines are skipped.
Templates: COLUMN@OFFSET, joined by '|' for conjunctions (0@1 is column 0 of the next
token). Words the training file never shows add no feature; a label it never shows is
counted wrong (test_unknown_labels).";

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
        FactorCommand::Export(args) => export::export(args),
    }
}
