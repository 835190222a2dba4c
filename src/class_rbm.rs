//! `ebm class-rbm ...`: the classification RBM (generative and discriminative at once).

use crate::Failure;
use crate::args::{JsonArgs, OutArgs, ReportArgs, RunArgs, SeedArgs};
use crate::output::Metrics;
use crate::progress::Progress;
use crate::setup::{MnistArgs, first, load_mnist, rbm_failure, square_side};
use clap::{Args, Subcommand, ValueEnum};
use ebm_core::ModelFile;
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::{EpochReport, OnEpoch};
use ebm_core::train::{LoopConfig, OptimizerConfig, OptimizerMethod};
use ebm_data::image_grid::{Scaling, write_png_grid};
use ebm_data::mnist::Split;
use ebm_kernels::rng::stream;
use ebm_rbm::RbmError;
use ebm_rbm::class_rbm::{ClassRbm, ClassTrainConfig, Objective, train_class_rbm};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Subcommands of `ebm class-rbm`.
#[derive(Subcommand)]
pub enum ClassRbmCommand {
    /// Train on MNIST (grey levels in [0, 1]) and save the model.
    Train(TrainArgs),
    /// Test error of a saved model.
    Eval(EvalArgs),
    /// Class-conditional samples (label clamped), one row per class, as a PNG grid.
    Sample(SampleArgs),
}

/// Training objective.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ObjectiveArg {
    /// ln p(y|x) + alpha ln p(x, y).
    Hybrid,
    /// ln p(y|x), exact gradient.
    Discriminative,
    /// ln p(x, y) by CD-1.
    Generative,
}

/// Flags of `ebm class-rbm train`.
#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: MnistArgs,
    /// Hidden units.
    #[arg(long, default_value_t = 1500, value_parser = crate::args::count)]
    pub hidden: usize,
    /// Objective.
    #[arg(long, value_enum, default_value_t = ObjectiveArg::Hybrid)]
    pub objective: ObjectiveArg,
    /// Weight alpha of ln p(x, y) in the hybrid objective.
    #[arg(long, default_value_t = 0.01)]
    pub generative_weight: f32,
    /// Passes over the data.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Examples per minibatch.
    #[arg(long, default_value_t = 20, value_parser = crate::args::count)]
    pub batch: usize,
    /// Learning rate (decays linearly to zero).
    #[arg(long, default_value_t = 0.5)]
    pub lr: f32,
    /// Momentum.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f32,
    /// L2 weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Standard deviation of the initial weights.
    #[arg(long, default_value_t = 0.1)]
    pub init_std: f32,
    /// Train on the first N training images only.
    #[arg(long, value_parser = crate::args::count)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub random: SeedArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub out: OutArgs<ClassRbm>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Flags of `ebm class-rbm eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// The model file.
    pub model: PathBuf,
    #[command(flatten)]
    pub data: MnistArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub output: JsonArgs,
}

/// Flags of `ebm class-rbm sample`.
#[derive(Args)]
pub struct SampleArgs {
    /// The model file.
    pub model: PathBuf,
    /// Samples per class.
    #[arg(long, default_value_t = 10, value_parser = crate::args::count)]
    pub chains: usize,
    /// Gibbs sweeps per chain.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Output PNG.
    #[arg(long, value_parser = crate::args::output_file)]
    pub png: PathBuf,
    #[command(flatten)]
    pub random: SeedArgs,
}

/// Run one `ebm class-rbm` subcommand.
pub fn run(command: ClassRbmCommand) -> Result<(), Failure> {
    match command {
        ClassRbmCommand::Train(args) => train(args),
        ClassRbmCommand::Eval(args) => eval(args),
        ClassRbmCommand::Sample(args) => sample(args),
    }
}

fn load_model(path: &Path) -> Result<ClassRbm, Failure> {
    ClassRbm::load(path).map_err(Failure::input)
}

/// Why another `--dataset` than mnist is refused.
const MNIST_ONLY: &str = "has no labels; the class RBM needs mnist";

/// A setup or training error as a failure naming the flag.
fn setup_failure(error: RbmError) -> Failure {
    rbm_failure(error, &[("objective", "--generative-weight")])
}

fn train(args: TrainArgs) -> Result<(), Failure> {
    let objective = match args.objective {
        ObjectiveArg::Hybrid => Objective::Hybrid {
            generative_weight: args.generative_weight,
        },
        ObjectiveArg::Discriminative => Objective::Discriminative,
        ObjectiveArg::Generative => Objective::Generative,
    };
    let config = ClassTrainConfig {
        n_hidden: args.hidden,
        n_classes: 10,
        objective,
        init_std: args.init_std,
        optimizer: OptimizerConfig {
            learning_rate: args.lr,
            learning_rate_schedule: LearningRateSchedule::Linear {
                final_fraction: 0.0,
            },
            weight_decay: args.weight_decay,
            method: OptimizerMethod::Sgd {
                momentum: MomentumSchedule::constant(args.momentum),
            },
        },
        run: LoopConfig {
            epochs: args.epochs,
            batch_size: args.batch,
            seed: args.random.seed,
            threads: args.run.threads,
            ..ClassTrainConfig::default().run
        },
    };
    config.validate().map_err(setup_failure)?;
    let data = first(
        load_mnist(&args.data, Split::Train, MNIST_ONLY)?,
        args.limit,
    )?;
    crate::memory::check_rbm(data.n_features, args.hidden, args.batch, 0)?;
    let (model, mut m) = Progress::timed(config.run.epochs, args.report.quiet, |progress| {
        let mut observer = OnEpoch(|r: &EpochReport, _: &ClassRbm| {
            let line = format!(
                "epoch {}/{}: train error {:.4}, {:.1} s, lr {:.4}",
                r.epoch,
                r.epochs,
                r.metric("train_error").unwrap_or(f64::NAN),
                r.seconds,
                r.rates.learning_rate
            );
            progress.epoch(r.epoch, &line);
        });
        train_class_rbm(&config, &data, &mut observer).map_err(setup_failure)
    })?;
    let par = args.run.parallelism();
    let train_error = args
        .run
        .install(|| model.error_rate(&data, par))?
        .map_err(Failure::run)?;
    m.number("train_error", train_error)
        .integer("hidden", config.n_hidden as u64)
        .integer("epochs", config.run.epochs as u64)
        .integer("threads", config.run.threads as u64);
    args.out.save_and_report(&model, m, args.report.output)
}

fn eval(args: EvalArgs) -> Result<(), Failure> {
    let model = load_model(&args.model)?;
    let test = load_mnist(&args.data, Split::Test, MNIST_ONLY)?;
    let par = args.run.parallelism();
    let start = Instant::now();
    let error = args
        .run
        .install(|| model.error_rate(&test, par))?
        .map_err(|e| Failure::input(format!("{}: {e}", args.model.display())))?;
    let mut m = Metrics::default();
    m.number("test_error", error)
        .integer("n_test", test.n_examples as u64)
        .number("seconds", start.elapsed().as_secs_f64());
    args.output.print(&m);
    Ok(())
}

fn sample(args: SampleArgs) -> Result<(), Failure> {
    if args.chains == 0 {
        return Err(Failure::input("--chains must be at least 1"));
    }
    let model = load_model(&args.model)?;
    // The tiles of every class are kept until the grid is written.
    crate::memory::check_chains(
        "--chains",
        args.chains,
        model.n_classes() * (model.n_visible() + model.n_hidden()),
    )?;
    let side = square_side(&args.model, model.n_visible())?;
    let mut rng = stream(args.random.seed, 0, 0);
    let mut tiles = Vec::new();
    for class in 0..model.n_classes() {
        tiles.extend(model.sample_class(class, args.chains, args.steps, &mut rng));
    }
    write_png_grid(&args.png, &tiles, side, side, args.chains, Scaling::Unit)
        .map_err(Failure::run)?;
    crate::output::outln!("wrote {}", args.png.display());
    Ok(())
}
