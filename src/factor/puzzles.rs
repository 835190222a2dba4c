//! `ebm factor sudoku` and `ebm factor color`: constraint problems solved as factor graphs.

use super::{ThreadArgs, input_failure};
use crate::Failure;
use crate::args::{JsonArgs, SeedArgs};
use crate::output::Metrics;
use clap::Args;
use ebm_data::puzzles::{Sudoku, read_dimacs, read_sudoku};
use ebm_factor::bnb::{BnbConfig, branch_and_bound};
use ebm_factor::map::{AnnealConfig, simulated_annealing};
use ebm_factor::problems::{check_sudoku, coloring_model, is_proper_coloring, solve_sudoku};
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

fn seconds_flag(value: f64) -> Result<Duration, Failure> {
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

/// Flags of `ebm factor color`.
#[derive(Args)]
pub struct ColorArgs {
    /// DIMACS graph (`p edge N M`, `e u v` lines).
    pub file: PathBuf,
    /// Number of colors.
    #[arg(long, value_parser = crate::args::count)]
    pub colors: usize,
    /// Seconds for the whole search (branch and bound, then annealing).
    #[arg(long, default_value_t = 60.0, value_parser = crate::args::seconds)]
    pub time_limit: f64,
    #[command(flatten)]
    pub random: SeedArgs,
    // --threads is also the number of annealing runs at a time.
    #[command(flatten)]
    pub run: ThreadArgs,
    #[command(flatten)]
    pub output: JsonArgs,
}

pub fn color(args: ColorArgs) -> Result<(), Failure> {
    let limit = seconds_flag(args.time_limit)?;
    let threads = args.run.pool()?;
    let graph = read_dimacs(&args.file).map_err(Failure::input)?;
    crate::memory::check_coloring(args.colors, graph.vertices, args.run.threads)?;
    let model = coloring_model(&graph, args.colors).map_err(input_failure)?;
    let start = Instant::now();
    // Branch and bound with DSATUR order (fewest colors left first) and symmetry breaking;
    // complete, so it can also prove that K colors are too few.
    let config = BnbConfig {
        time_limit: Some(limit / 2),
        interchangeable_values: true,
        first_solution: true,
        ..BnbConfig::default()
    };
    let result = branch_and_bound(&model, &config).map_err(Failure::run)?;
    let (mut colors, mut method) = (None, "bnb");
    if result.solution.energy.is_finite() {
        colors = Some(result.solution.assignment.clone());
    } else if !result.complete {
        // Annealing on the soft version of the constraints (energy -1 per edge whose ends
        // differ), restarted with fresh seeds until a proper coloring or the time limit.
        let mut soft = ebm_factor::FactorModel::new(vec![args.colors; graph.vertices]);
        for &(u, v) in &graph.edges {
            soft.add_potts(u, v, -1.0).map_err(Failure::run)?;
        }
        let mut restart = 0;
        while colors.is_none() && start.elapsed() < limit {
            let anneal = AnnealConfig {
                runs: args.run.threads,
                sweeps: 20_000,
                start_temperature: 2.0,
                end_temperature: 0.05,
                seed: args.random.seed.wrapping_add(restart),
                time_limit: Some(limit.saturating_sub(start.elapsed())),
            };
            let found = threads
                .install(|| simulated_annealing(&soft, &anneal))
                .map_err(Failure::run)?;
            restart += 1;
            if is_proper_coloring(&graph, &found.assignment, args.colors) {
                colors = Some(found.assignment);
                method = "anneal";
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let proper = colors
        .as_ref()
        .is_some_and(|c| is_proper_coloring(&graph, c, args.colors));
    let status = match (&colors, result.complete) {
        (Some(_), _) => "colored",
        (None, true) => "impossible",
        (None, false) => "unknown",
    };
    if let (Some(c), false) = (&colors, args.output.json) {
        let line: Vec<String> = c.iter().map(|x| (x + 1).to_string()).collect();
        crate::output::outln!("{}", line.join(" "));
    }
    let mut m = Metrics::default();
    m.integer("vertices", graph.vertices as u64)
        .integer("edges", graph.edges.len() as u64)
        .integer("colors", args.colors as u64)
        .text("status", status)
        .text("method", if colors.is_some() { method } else { "bnb" })
        .integer("nodes", result.solution.iterations)
        .number("seconds", seconds);
    args.output.print(&m);
    if colors.is_some() && !proper {
        return Err(Failure::run(format!(
            "{}: the coloring found is not proper",
            args.file.display()
        )));
    }
    Ok(())
}
