//! `ebm factor color`: graph coloring with a given number of colors, by branch and bound
//! (complete: it also proves that too few colors are too few), tabu search on the Potts
//! energy, the hybrid evolutionary algorithm, simulated annealing on it, or an exact
//! cover by maximum independent sets (when `colors * alpha == vertices`).

use super::ThreadArgs;
use super::input_failure;
use super::puzzles::seconds_flag;
use crate::Failure;
use crate::args::{JsonArgs, SeedArgs};
use crate::output::Metrics;
use clap::{Args, ValueEnum};
use ebm_data::puzzles::{Graph, read_dimacs};
use ebm_factor::bnb::{BnbConfig, branch_and_bound};
use ebm_factor::cover_coloring::{CoverConfig, CoverOutcome, NotApplicable, cover_coloring};
use ebm_factor::hea::{HeaConfig, evolutionary_coloring};
use ebm_factor::map::{AnnealConfig, simulated_annealing};
use ebm_factor::problems::{coloring_model, is_proper_coloring};
use ebm_factor::tabucol::{TabuConfig, tabu_coloring};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How `ebm factor color` searches.
#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum ColorMethod {
    /// The exact cover by maximum independent sets when the number of colors divides the
    /// vertices (a twentieth of the time limit to prove alpha, half of it in all), then
    /// branch and bound for a tenth of the time limit, then the hybrid evolutionary
    /// algorithm for the rest.
    Auto,
    /// DSATUR-ordered branch and bound with symmetry breaking, for the whole limit.
    Bnb,
    /// Tabu search (TabuCol) on the Potts energy, for the whole limit.
    Tabu,
    /// The hybrid evolutionary algorithm (tabu-searched colorings recombined by the
    /// greedy partition crossover), for the whole limit.
    Hea,
    /// Branch and bound for half the limit, then restarted simulated annealing.
    Anneal,
    /// Exact cover by maximum independent sets, for the whole limit: complete when
    /// `colors * alpha == vertices` (alpha: the independence number), else not applicable.
    Cover,
}

/// Flags of `ebm factor color`.
#[derive(Args)]
pub struct ColorArgs {
    /// DIMACS graph (`p edge N M`, `e u v` lines).
    pub file: PathBuf,
    /// Number of colors.
    #[arg(long, value_parser = crate::args::count)]
    pub colors: usize,
    /// The search.
    #[arg(long, value_enum, default_value_t = ColorMethod::Auto)]
    pub method: ColorMethod,
    /// Seconds for the whole search.
    #[arg(long, default_value_t = 60.0, value_parser = crate::args::seconds)]
    pub time_limit: f64,
    /// Tabu moves spent on each coloring the hybrid evolutionary algorithm makes (30,000
    /// when not given; only with `--method auto` or `hea`).
    #[arg(long, value_parser = crate::args::positive_count)]
    pub moves_per_child: Option<usize>,
    #[command(flatten)]
    pub random: SeedArgs,
    // --threads is also the number of annealing runs at a time.
    #[command(flatten)]
    pub run: ThreadArgs,
    #[command(flatten)]
    pub output: JsonArgs,
}

/// What a phase of the search found.
struct Found {
    colors: Option<Vec<usize>>,
    method: &'static str,
    /// Branch and bound explored every branch: no coloring exists when none was found.
    complete: bool,
    nodes: u64,
    moves: u64,
    /// Why the exact cover did not answer, when it ran and did not.
    cover: Option<&'static str>,
}

/// Run `ebm factor color`.
pub fn color(args: ColorArgs) -> Result<(), Failure> {
    let limit = seconds_flag(args.time_limit)?;
    args.run.pool()?;
    let graph = read_dimacs(&args.file).map_err(Failure::input)?;
    crate::memory::check_coloring(args.colors, graph.vertices, args.run.threads)?;
    if args.moves_per_child.is_some()
        && !matches!(args.method, ColorMethod::Auto | ColorMethod::Hea)
    {
        return Err(Failure::input(format!(
            "--moves-per-child: only --method auto or hea uses it, not {}",
            args.method
                .to_possible_value()
                .map_or(String::new(), |v| v.get_name().to_string())
        )));
    }
    let start = Instant::now();
    let mut cover_note = None;
    if matches!(args.method, ColorMethod::Cover | ColorMethod::Auto)
        && (args.method == ColorMethod::Cover || graph.vertices % args.colors.max(1) == 0)
    {
        let config = match args.method {
            ColorMethod::Cover => CoverConfig {
                time_limit: Some(limit),
                ..CoverConfig::default()
            },
            _ => CoverConfig {
                alpha_time_limit: Some(limit / 20),
                time_limit: Some(limit / 2),
                ..CoverConfig::default()
            },
        };
        let result = cover_coloring(&graph, args.colors, &config).map_err(input_failure)?;
        let mut found = Found {
            colors: None,
            method: "cover",
            complete: false,
            nodes: result.nodes,
            moves: 0,
            cover: None,
        };
        match result.outcome {
            CoverOutcome::Colored(colors) => found.colors = Some(colors),
            CoverOutcome::Impossible => found.complete = true,
            CoverOutcome::NotApplicable(why) => {
                found.cover = Some(match why {
                    NotApplicable::Indivisible => "the colors do not divide the vertices",
                    NotApplicable::AlphaAbove { .. } => "alpha is above vertices / colors",
                    NotApplicable::AlphaUnknown { .. } => "alpha not proved in time",
                    NotApplicable::TooManySets => "too many maximum independent sets",
                    NotApplicable::Stopped => "out of time",
                });
            }
        }
        if found.colors.is_some() || found.complete || args.method == ColorMethod::Cover {
            return report(&args, &graph, found, start.elapsed().as_secs_f64());
        }
        cover_note = found.cover;
    }
    let bnb_share = match args.method {
        ColorMethod::Auto => Some(limit / 10),
        ColorMethod::Bnb => Some(limit),
        ColorMethod::Anneal => Some(limit / 2),
        ColorMethod::Tabu | ColorMethod::Hea | ColorMethod::Cover => None,
    };
    let mut found = match bnb_share {
        Some(share) => bnb(
            &graph,
            args.colors,
            share.min(limit.saturating_sub(start.elapsed())),
        )?,
        None => Found {
            colors: None,
            method: if args.method != ColorMethod::Tabu {
                "hea"
            } else {
                "tabu"
            },
            complete: false,
            nodes: 0,
            moves: 0,
            cover: None,
        },
    };
    found.cover = cover_note;
    if found.colors.is_none() && !found.complete {
        let left = limit.saturating_sub(start.elapsed());
        match args.method {
            ColorMethod::Tabu => {
                let config = TabuConfig {
                    seed: args.random.seed,
                    max_iterations: u64::MAX,
                    time_limit: Some(left),
                    ..TabuConfig::default()
                };
                let result = tabu_coloring(&graph, args.colors, &config).map_err(input_failure)?;
                found.moves = result.iterations;
                if result.conflicts == 0 {
                    (found.colors, found.method) = (Some(result.assignment), "tabu");
                }
            }
            ColorMethod::Auto | ColorMethod::Hea => {
                let config = HeaConfig {
                    seed: args.random.seed,
                    max_generations: u64::MAX,
                    moves_per_child: args.moves_per_child.unwrap_or(30_000) as u64,
                    time_limit: Some(left),
                    ..HeaConfig::default()
                };
                let result =
                    evolutionary_coloring(&graph, args.colors, &config).map_err(input_failure)?;
                found.moves = result.best.iterations;
                if result.best.conflicts == 0 {
                    (found.colors, found.method) = (Some(result.best.assignment), "hea");
                }
            }
            ColorMethod::Anneal => {
                if let Some(colors) = anneal(&args, &graph, left)? {
                    (found.colors, found.method) = (Some(colors), "anneal");
                }
            }
            ColorMethod::Bnb | ColorMethod::Cover => {}
        }
    }
    report(&args, &graph, found, start.elapsed().as_secs_f64())
}

/// DSATUR-ordered branch and bound (fewest colors left first) with symmetry breaking,
/// stopped at the first coloring or after `time_limit`.
fn bnb(graph: &Graph, colors: usize, time_limit: Duration) -> Result<Found, Failure> {
    let model = coloring_model(graph, colors).map_err(input_failure)?;
    let config = BnbConfig {
        time_limit: Some(time_limit),
        interchangeable_values: true,
        first_solution: true,
        ..BnbConfig::default()
    };
    let result = branch_and_bound(&model, &config).map_err(Failure::run)?;
    Ok(Found {
        colors: result
            .solution
            .energy
            .is_finite()
            .then(|| result.solution.assignment.clone()),
        method: "bnb",
        complete: result.complete,
        nodes: result.solution.iterations,
        moves: 0,
        cover: None,
    })
}

/// Annealing on the soft version of the constraints (energy -1 per edge whose ends
/// differ), restarted with fresh seeds until a proper coloring or `time_limit`.
fn anneal(
    args: &ColorArgs,
    graph: &Graph,
    time_limit: Duration,
) -> Result<Option<Vec<usize>>, Failure> {
    let threads = args.run.pool()?;
    let mut soft = ebm_factor::FactorModel::new(vec![args.colors; graph.vertices]);
    for &(u, v) in &graph.edges {
        soft.add_potts(u, v, -1.0).map_err(Failure::run)?;
    }
    let start = Instant::now();
    let mut restart = 0;
    while start.elapsed() < time_limit {
        let anneal = AnnealConfig {
            runs: args.run.threads,
            sweeps: 20_000,
            start_temperature: 2.0,
            end_temperature: 0.05,
            seed: args.random.seed.wrapping_add(restart),
            time_limit: Some(time_limit.saturating_sub(start.elapsed())),
        };
        let found = threads
            .install(|| simulated_annealing(&soft, &anneal))
            .map_err(Failure::run)?;
        restart += 1;
        if is_proper_coloring(graph, &found.assignment, args.colors) {
            return Ok(Some(found.assignment));
        }
    }
    Ok(None)
}

/// Print the coloring (without `--json`) and the metrics; a coloring that is not proper
/// would be a bug, reported as a failed run.
fn report(args: &ColorArgs, graph: &Graph, found: Found, seconds: f64) -> Result<(), Failure> {
    let proper = found
        .colors
        .as_ref()
        .is_some_and(|c| is_proper_coloring(graph, c, args.colors));
    let status = match (&found.colors, found.complete) {
        (Some(_), _) => "colored",
        (None, true) => "impossible",
        (None, false) => "unknown",
    };
    if let (Some(c), false) = (&found.colors, args.output.json) {
        let line: Vec<String> = c.iter().map(|x| (x + 1).to_string()).collect();
        crate::output::outln!("{}", line.join(" "));
    }
    let mut m = Metrics::default();
    m.integer("vertices", graph.vertices as u64)
        .integer("edges", graph.edges.len() as u64)
        .integer("colors", args.colors as u64)
        .text("status", status)
        .text(
            "method",
            if found.colors.is_some() {
                found.method
            } else {
                "-"
            },
        )
        .integer("nodes", found.nodes)
        .integer("tabu_moves", found.moves)
        .number("seconds", seconds);
    if let Some(why) = found.cover {
        m.text("cover", why);
    }
    args.output.print(&m);
    if found.colors.is_some() && !proper {
        return Err(Failure::run(format!(
            "{}: the coloring found is not proper",
            args.file.display()
        )));
    }
    Ok(())
}
