//! `ebm factor ...`: discrete factor-graph models: inference on UAI files, Sudoku and
//! graph coloring.

mod infer;
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
}

/// Run one `ebm factor` subcommand.
pub fn run(command: FactorCommand) -> Result<(), Failure> {
    match command {
        FactorCommand::Infer(args) => infer::infer(args),
        FactorCommand::Sudoku(args) => puzzles::sudoku(args),
        FactorCommand::Color(args) => puzzles::color(args),
    }
}
