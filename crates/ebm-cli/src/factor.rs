//! `ebm factor ...`: discrete factor-graph models from UAI files.

use crate::Failure;
use crate::output::Metrics;
use clap::{Args, Subcommand, ValueEnum};
use ebm_data::uai;
use ebm_factor::{FactorModel, exact};
use std::path::PathBuf;
use std::time::Instant;

/// Subcommands of `ebm factor`.
#[derive(Subcommand)]
pub enum FactorCommand {
    /// Inference on a .uai model: partition function, marginals or MAP.
    Infer(InferArgs),
}

/// The inference task.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TaskArg {
    /// log10 of the partition function (probability of the evidence).
    Pr,
    /// Single-variable marginals.
    Mar,
    /// The most probable assignment.
    Map,
}

/// Inference method.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MethodArg {
    /// Variable elimination with a min-fill order (refuses models that are too wide).
    Exact,
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
    /// Largest intermediate table exact inference may build (entries).
    #[arg(long, default_value_t = exact::DEFAULT_MAX_TABLE)]
    pub max_table: usize,
    /// Write the result in UAI format (.PR, .MAR or .MPE) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print metrics as one JSON object on the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

/// Run one `ebm factor` subcommand.
pub fn run(command: FactorCommand) -> Result<(), Failure> {
    match command {
        FactorCommand::Infer(args) => infer(args),
    }
}

fn infer(args: InferArgs) -> Result<(), Failure> {
    let parsed = uai::read(&args.model).map_err(Failure::input)?;
    let mut model = FactorModel::from_uai(&parsed);
    if let Some(path) = &args.evid {
        for (v, x) in uai::read_evidence(path, &parsed).map_err(Failure::input)? {
            model
                .set_evidence(v, x)
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        }
    }
    let MethodArg::Exact = args.method;
    let refused =
        |e: ebm_factor::FactorError| Failure::run(format!("{}: {e}", args.model.display()));
    let start = Instant::now();
    let mut m = Metrics::default();
    let text = match args.task {
        TaskArg::Pr => {
            let log10_z = exact::log_partition(&model, args.max_table).map_err(refused)?
                / std::f64::consts::LN_10;
            m.number("log10_z", log10_z);
            uai::format_pr(log10_z)
        }
        TaskArg::Mar => {
            let marginals = exact::marginals(&model, args.max_table).map_err(refused)?;
            m.integer("variables", marginals.len() as u64);
            uai::format_mar(&marginals)
        }
        TaskArg::Map => {
            let (assignment, ln_value) =
                exact::map_assignment(&model, args.max_table).map_err(refused)?;
            m.number("ln_value", ln_value);
            uai::format_mpe(&assignment)
        }
    };
    m.number("seconds", start.elapsed().as_secs_f64())
        .text("method", "exact");
    if let Some(out) = &args.out {
        ebm_core::atomic::write_atomic(out, text.as_bytes())
            .map_err(|e| Failure::run(format!("{}: {e}", out.display())))?;
    } else if !args.json {
        print!("{text}");
    }
    m.print(args.json);
    Ok(())
}
