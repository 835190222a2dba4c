//! `ebm factor ...`: discrete factor-graph models: inference on UAI files, Sudoku and
//! graph coloring, and learning templated energies.

mod infer;
mod learn;
mod puzzles;

use crate::Failure;
use clap::Subcommand;

/// Subcommands of `ebm factor`.
#[derive(Subcommand)]
pub enum FactorCommand {
    /// Inference on a .uai model: partition function, marginals or MAP.
    Infer(infer::InferArgs),
    /// Solve every Sudoku puzzle of a file (one puzzle a line) and check the solutions.
    Sudoku(puzzles::SudokuArgs),
    /// Color a DIMACS .col graph with K colors.
    Color(puzzles::ColorArgs),
    /// Learn the weights of a templated energy on a built-in task and report test metrics.
    Learn(learn::LearnArgs),
}

/// Run one `ebm factor` subcommand.
pub fn run(command: FactorCommand) -> Result<(), Failure> {
    match command {
        FactorCommand::Infer(args) => infer::infer(args),
        FactorCommand::Sudoku(args) => puzzles::sudoku(args),
        FactorCommand::Color(args) => puzzles::color(args),
        FactorCommand::Learn(args) => learn::learn(args),
    }
}
