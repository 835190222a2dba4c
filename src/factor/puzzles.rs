//! `ebm factor sudoku`: Sudoku puzzles solved as factor graphs.

use crate::Failure;
use crate::args::JsonArgs;
use crate::output::Metrics;
use clap::Args;
use ebm_data::puzzles::{Sudoku, read_sudoku};
use ebm_factor::bnb::BnbConfig;
use ebm_factor::problems::{check_sudoku, solve_sudoku};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Flags of `ebm factor sudoku`.
#[derive(Args)]
pub struct SudokuArgs {
    /// Puzzle file: one puzzle per line (`.` or `0` blank).
    pub file: PathBuf,
    /// Give up on a puzzle after this many seconds.
    #[arg(long, default_value_t = 60.0, value_parser = crate::args::seconds)]
    pub time_limit: f64,
    #[command(flatten)]
    pub output: JsonArgs,
}

pub(super) fn seconds_flag(value: f64) -> Result<Duration, Failure> {
    if value.is_finite() && value > 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Failure::input(
            "--time-limit must be a positive number of seconds",
        ))
    }
}

pub fn sudoku(args: SudokuArgs) -> Result<(), Failure> {
    let limit = seconds_flag(args.time_limit)?;
    let puzzles = read_sudoku(&args.file).map_err(Failure::input)?;
    let config = BnbConfig {
        time_limit: Some(limit),
        ..BnbConfig::default()
    };
    let (mut solved, mut checked, mut unsolvable, mut nodes) = (0u64, 0u64, 0u64, 0u64);
    let mut slowest: f64 = 0.0;
    let start = Instant::now();
    for puzzle in &puzzles {
        let begin = Instant::now();
        let (solution, result) = solve_sudoku(puzzle, &config)
            .map_err(|e| Failure::input(format!("{}: {e}", args.file.display())))?;
        slowest = slowest.max(begin.elapsed().as_secs_f64());
        nodes += result.solution.iterations;
        let line = match solution {
            Some(values) => {
                solved += 1;
                if check_sudoku(puzzle, &values) {
                    checked += 1;
                }
                Sudoku::format(&values.into_iter().map(Some).collect::<Vec<_>>())
            }
            None if result.complete => {
                unsolvable += 1;
                "unsolvable".to_string()
            }
            None => "unknown (time limit)".to_string(),
        };
        if !args.output.json {
            crate::output::outln!("{line}");
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut m = Metrics::default();
    m.integer("puzzles", puzzles.len() as u64)
        .integer("solved", solved)
        .integer("checked", checked)
        .integer("unsolvable", unsolvable)
        .integer("nodes", nodes)
        .number("seconds", seconds)
        .number("max_seconds", slowest);
    args.output.print(&m);
    if checked != solved {
        return Err(Failure::run(format!(
            "{}: {} solutions broke the rules",
            args.file.display(),
            solved - checked
        )));
    }
    Ok(())
}
