//! `ebm factor infer`: partition function, marginals or MAP of a .uai model by any method.

use super::{ThreadArgs, input_failure};
use crate::Failure;
use crate::args::JsonArgs;
use crate::output::Metrics;
use clap::{Args, ValueEnum};
use ebm_data::uai;
use ebm_factor::andor::SearchReport;
use ebm_factor::bp::{BpConfig, BpResult, Semiring, loopy_bp};
use ebm_factor::gibbs::{GibbsConfig, Tempering, estimate_marginals};
use ebm_factor::solve::{Method, SolveOptions, solve};
use ebm_factor::{FactorError, FactorModel, InvalidSetting, exact};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The inference task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// log10 of the partition function (probability of the evidence).
    Pr,
    /// Single-variable marginals.
    Mar,
    /// The most probable assignment.
    Map,
}

/// Inference method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Variable elimination with a min-fill order (pr, mar, map; refuses wide models).
    Exact,
    /// Chromatic Gibbs sampling, optionally with parallel tempering (mar).
    Gibbs,
    /// Loopy belief propagation: sum-product (pr via Bethe, mar) or max-product (map).
    Bp,
    /// Iterated conditional modes (map).
    Icm,
    /// Simulated annealing (map).
    Anneal,
    /// MPLP dual block-coordinate ascent with a lower bound (map).
    Mplp,
    /// Depth-first branch and bound with propagation, anytime (map).
    Bnb,
    /// Large neighbourhood search from the MPLP assignment, anytime (map).
    Lns,
}

/// Flags of `ebm factor infer`.
#[derive(Args)]
pub struct InferArgs {
    /// The .uai model.
    pub model: PathBuf,
    /// Evidence file (.uai.evid).
    #[arg(long)]
    pub evid: Option<PathBuf>,
    /// pr, mar or map.
    #[arg(long, value_enum)]
    pub task: TaskArg,
    /// Inference method.
    #[arg(long, value_enum, default_value_t = MethodArg::Exact)]
    pub method: MethodArg,
    /// Largest intermediate table exact inference may build (entries; mar: all the
    /// calibrated cliques together). Default: from --max-memory.
    #[arg(long)]
    pub max_table: Option<usize>,
    /// Memory exact inference may use (bytes, or e.g. 8G, 512M); it allows tables of
    /// one entry per 16 bytes (an f64 table and what it is built from). Default: the
    /// available memory (MemAvailable of /proc/meminfo).
    #[arg(long, value_parser = crate::args::bytes)]
    pub max_memory: Option<u128>,
    /// Seed of every random choice (gibbs, anneal).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Gibbs chains or annealing runs (run in parallel).
    #[arg(long, default_value_t = 4, value_parser = crate::args::count)]
    pub chains: usize,
    /// Sweeps per chain after the burn-in (gibbs) or per run (anneal).
    #[arg(long, default_value_t = 2000)]
    pub sweeps: usize,
    /// Gibbs burn-in sweeps per chain.
    #[arg(long, default_value_t = 200)]
    pub burn_in: usize,
    /// Parallel-tempering replicas per Gibbs chain (1: plain Gibbs).
    #[arg(long, default_value_t = 1, value_parser = crate::args::count)]
    pub replicas: usize,
    /// Hottest replica's temperature, as a multiple of the model's.
    #[arg(long, default_value_t = 20.0)]
    pub max_temperature_ratio: f64,
    /// Annealing start and end temperatures.
    #[arg(long, default_value_t = 10.0)]
    pub start_temperature: f64,
    /// Annealing end temperature.
    #[arg(long, default_value_t = 0.02)]
    pub end_temperature: f64,
    /// Most passes (bp, mplp).
    #[arg(long, default_value_t = 500)]
    pub iterations: usize,
    /// BP damping in [0, 1).
    #[arg(long, default_value_t = 0.5)]
    pub damping: f64,
    /// Time limit in seconds (bnb; the best so far and the bound are reported).
    #[arg(long, value_parser = crate::args::seconds)]
    pub time_limit: Option<f64>,
    /// Variables freed per move (lns).
    #[arg(long, default_value_t = 40)]
    pub neighbourhood: usize,
    #[command(flatten)]
    pub run: ThreadArgs,
    /// Write the result in UAI format (.PR, .MAR or .MPE) to this file.
    #[arg(long, value_parser = crate::args::output_file)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: JsonArgs,
}

fn supports(method: MethodArg, task: TaskArg) -> bool {
    match method {
        MethodArg::Exact => true,
        MethodArg::Gibbs => task == TaskArg::Mar,
        MethodArg::Bp => true,
        MethodArg::Icm | MethodArg::Anneal | MethodArg::Mplp | MethodArg::Bnb | MethodArg::Lns => {
            task == TaskArg::Map
        }
    }
}

pub fn infer(args: InferArgs) -> Result<(), Failure> {
    if !supports(args.method, args.task) {
        return Err(Failure::input(
            format!(
                "--method {:?} does not do --task {:?}",
                args.method, args.task
            )
            .to_lowercase(),
        ));
    }
    if args.time_limit.is_some_and(|t| !(t.is_finite() && t > 0.0)) {
        return Err(Failure::input(
            "--time-limit must be a positive number of seconds",
        ));
    }
    let parsed = uai::read(&args.model).map_err(Failure::input)?;
    let mut model = FactorModel::from_uai(&parsed);
    if let Some(path) = &args.evid {
        for (v, x) in uai::read_evidence(path, &parsed).map_err(Failure::input)? {
            model
                .set_evidence(v, x)
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        }
    }
    check_memory(&args, &model)?;
    // Every task and method: a model that has probability zero with its evidence for a
    // reason local to one factor is bad input, before any work.
    let source = match &args.evid {
        Some(evid) => format!("{} with {}", args.model.display(), evid.display()),
        None => args.model.display().to_string(),
    };
    model
        .check_possible()
        .map_err(|e| Failure::input(format!("{source}: {e}")))?;
    let (max_table, bound) = table_bound(&args);
    let failed = |e: FactorError| match e {
        FactorError::InvalidSetting(_) => input_failure(e),
        FactorError::TooWide { .. } => Failure::run(format!("{source}: {e} ({bound})")),
        // Proven (Z = 0): bad input, like any file that cannot be answered.
        FactorError::ZeroProbability(_) => Failure::input(format!("{source}: {e}")),
        other => Failure::run(format!("{source}: {other}")),
    };
    let start = Instant::now();
    let mut m = Metrics::default();
    let text = args
        .run
        .pool()?
        .install(|| run_task(&args, max_table, &model, &mut m).map_err(failed))?;
    m.number("seconds", start.elapsed().as_secs_f64())
        .text("method", &format!("{:?}", args.method).to_lowercase());
    if let Some(out) = &args.out {
        ebm_core::atomic::write_atomic(out, text.as_bytes())
            .map_err(|e| Failure::run(format!("{}: {e}", out.display())))?;
    } else if !args.output.json {
        crate::output::out!("{text}");
    }
    args.output.print(&m);
    Ok(())
}

/// Bytes per table entry the memory bound allows: an f64 entry and as much again for
/// the tables it is built from.
const BYTES_PER_ENTRY: u128 = 16;

/// The table bound of exact inference (entries) and where it comes from: `--max-table`,
/// else `--max-memory`, else the available memory, at [`BYTES_PER_ENTRY`] bytes an entry.
fn table_bound(args: &InferArgs) -> (usize, String) {
    if let Some(entries) = args.max_table {
        return (entries, format!("--max-table {entries}"));
    }
    let (bytes, from) = match args.max_memory {
        Some(bytes) => (bytes, "--max-memory"),
        None => (crate::memory::available_bytes(), "the available memory"),
    };
    let entries = usize::try_from(bytes / BYTES_PER_ENTRY).unwrap_or(usize::MAX);
    (
        entries,
        format!(
            "bound from {from}, {} MiB, at {BYTES_PER_ENTRY} bytes an entry",
            bytes >> 20
        ),
    )
}

/// Refuse sampler copies (`--chains`, times `--replicas` for tempered Gibbs) of the
/// model's states that would not fit in memory, before sampling.
fn check_memory(args: &InferArgs, model: &FactorModel) -> Result<(), Failure> {
    match (args.method, args.task) {
        (MethodArg::Gibbs, TaskArg::Mar) => crate::memory::check_samplers(
            &format!("--chains {} x --replicas {}", args.chains, args.replicas),
            args.chains as u128 * args.replicas as u128,
            model,
        ),
        (MethodArg::Anneal, TaskArg::Map) => crate::memory::check_samplers(
            &format!("--chains {}", args.chains),
            args.chains as u128,
            model,
        ),
        _ => Ok(()),
    }
}

/// Run the task; returns the UAI-format answer and fills the metrics.
fn run_task(
    args: &InferArgs,
    max_table: usize,
    model: &FactorModel,
    m: &mut Metrics,
) -> Result<String, FactorError> {
    let bp_config = BpConfig {
        iterations: args.iterations,
        damping: args.damping,
        ..BpConfig::default()
    };
    Ok(match args.task {
        TaskArg::Pr => {
            let log_z = match args.method {
                MethodArg::Bp => sum_product(model, &bp_config, m)?.bethe_log_z,
                _ => {
                    let (log_z, search) = exact::log_partition_reported(model, max_table)?;
                    report_search(search.as_ref(), m);
                    log_z
                }
            };
            let log10_z = log_z / std::f64::consts::LN_10;
            m.number("log10_z", log10_z);
            uai::format_pr(log10_z)
        }
        TaskArg::Mar => {
            let marginals = match args.method {
                MethodArg::Gibbs => {
                    let config = GibbsConfig {
                        chains: args.chains,
                        burn_in: args.burn_in,
                        sweeps: args.sweeps,
                        seed: args.seed,
                        tempering: (args.replicas > 1).then_some(Tempering {
                            replicas: args.replicas,
                            max_temperature_ratio: args.max_temperature_ratio,
                        }),
                    };
                    let estimate = estimate_marginals(model, &config)?;
                    m.integer("updates", estimate.updates);
                    estimate.marginals
                }
                MethodArg::Bp => sum_product(model, &bp_config, m)?.beliefs,
                _ => exact::marginals(model, max_table)?,
            };
            m.integer("variables", marginals.len() as u64);
            uai::format_mar(&marginals)
        }
        TaskArg::Map => {
            let solved = solve(
                model,
                map_method(args.method)?,
                &map_options(args, max_table),
            )?;
            if let Some(complete) = solved.complete {
                m.text("complete", if complete { "yes" } else { "no" });
            }
            // "optimal" only for a proof (a finished search or a bound that meets the
            // energy), never for an incumbent; the proved bound beside it.
            m.flag("optimal", solved.proved_optimal());
            if let Some(bound) = solved.proved_bound() {
                m.number("ln_upper_bound", -bound / model.temperature());
            }
            let solution = solved.solution;
            m.number("ln_value", solution.ln_value(model))
                .number("energy", solution.energy)
                .integer("iterations", solution.iterations);
            uai::format_mpe(&solution.assignment)
        }
    })
}

/// How exact `ln Z` was answered, in the metrics: `"exact": "elimination"`, or
/// `"and/or search"` (elimination too wide) with what the search did.
fn report_search(search: Option<&SearchReport>, m: &mut Metrics) {
    let Some(r) = search else {
        m.text("exact", "elimination");
        return;
    };
    m.text("exact", "and/or search")
        .integer("search_width", r.width as u64)
        .number("search_largest_context_log2", r.largest_context_log2)
        .integer("search_values_removed", r.values_removed as u64)
        .integer("search_expanded", r.expanded)
        .integer("search_cached", r.cached as u64);
}

/// Sum-product loopy BP, its passes and convergence in the metrics.
fn sum_product(
    model: &FactorModel,
    config: &BpConfig,
    m: &mut Metrics,
) -> Result<BpResult, FactorError> {
    let r = loopy_bp(model, Semiring::SumProduct, config)?;
    m.integer("iterations", r.iterations as u64)
        .text("converged", if r.converged { "yes" } else { "no" });
    Ok(r)
}

/// The MAP method of `--method`.
fn map_method(method: MethodArg) -> Result<Method, FactorError> {
    Ok(match method {
        MethodArg::Exact => Method::Exact,
        MethodArg::Bp => Method::MaxProduct,
        MethodArg::Icm => Method::Icm,
        MethodArg::Anneal => Method::Anneal,
        MethodArg::Mplp => Method::Mplp,
        MethodArg::Bnb => Method::BranchAndBound,
        MethodArg::Lns => Method::Lns,
        MethodArg::Gibbs => {
            return Err(InvalidSetting::new("method", "gibbs does not do map").into());
        }
    })
}

/// The MAP budgets of the flags: time-limited (LNS runs 10 s unless told otherwise),
/// searches warm-started from the dual.
fn map_options(args: &InferArgs, max_table: usize) -> SolveOptions {
    let default_limit = (args.method == MethodArg::Lns).then_some(10.0);
    SolveOptions {
        seed: args.seed,
        time_limit: args
            .time_limit
            .or(default_limit)
            .map(Duration::from_secs_f64),
        max_table,
        iterations: args.iterations,
        damping: args.damping,
        runs: args.chains,
        sweeps: args.sweeps,
        start_temperature: args.start_temperature,
        end_temperature: args.end_temperature,
        neighbourhood: args.neighbourhood,
        ..SolveOptions::default()
    }
}
