//! `ebm class-rbm ...`: the classification RBM (generative and discriminative at once).

use crate::Failure;
use crate::args::{GibbsSampleArgs, MeasureArgs, SeedArgs, TrainingArgs};
use crate::output::Metrics;
use crate::progress::Progress;
use crate::run_log::{Epoch, Family, On};
use crate::setup::{MnistArgs, load_mnist, load_model, rbm_failure};
use crate::user_data::ValueRange;
use clap::{Args, Subcommand, ValueEnum};
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::OptimizerConfig;
use ebm_core::train::{EpochReport, OnEpoch};
use ebm_data::image_grid::{Scaling, write_png_grid};
use ebm_data::mnist::Split;
use ebm_kernels::rng::stream;
use ebm_rbm::RbmError;
use ebm_rbm::class_rbm::{ClassRbm, ClassTrainConfig, Objective, train_class_rbm};
use std::path::PathBuf;
use std::time::Instant;

/// Subcommands of `ebm class-rbm`.
#[derive(Subcommand)]
pub enum ClassRbmCommand {
    /// Train on MNIST (grey levels in [0, 1]) or your labeled files and save the model.
    Train(TrainArgs),
    /// Test error of a saved model.
    Eval(EvalArgs),
    /// Class-conditional samples (label clamped), one row per class, as a PNG grid.
    Sample(SampleArgs),
    /// Class probabilities p(y | x) of every example of a file (one column per class),
    /// written as .npy or .csv; with labels (--label-column), also the error rate.
    Predict(crate::classifier::PredictArgs),
    /// Temperature scaling fitted on validation examples, with the test set's expected
    /// calibration error, log-likelihood and error before and after (and reliability
    /// diagrams with --png).
    Calibrate(crate::classifier::CalibrateArgs),
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
    /// Persistent CD for the generative part: this many chains of (image, label) kept
    /// from batch to batch (0: CD-1 from each batch), so class-conditional samples look
    /// like the data.
    #[arg(long, default_value_t = 0)]
    pub persistent_chains: usize,
    /// Train on the first N training images only.
    #[arg(long, value_parser = crate::args::count)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub random: SeedArgs,
    #[command(flatten)]
    pub training: TrainingArgs<ClassRbm>,
}

/// Flags of `ebm class-rbm eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// The model file.
    pub model: PathBuf,
    #[command(flatten)]
    pub data: MnistArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// Flags of `ebm class-rbm sample` (`--chains`: samples per class).
#[derive(Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub gibbs: GibbsSampleArgs<ClassRbm>,
    /// Classify the samples with this class RBM (e.g. one trained for classification)
    /// and report the share it assigns to the intended class, and the share it assigns
    /// there with probability above 0.9.
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    #[command(flatten)]
    pub output: crate::args::JsonArgs,
}

/// Run one `ebm class-rbm` subcommand.
pub fn run(command: ClassRbmCommand) -> Result<(), Failure> {
    match command {
        ClassRbmCommand::Train(args) => train(args),
        ClassRbmCommand::Eval(args) => eval(args),
        ClassRbmCommand::Sample(args) => sample(args),
        ClassRbmCommand::Predict(args) => crate::classifier::predict::<ClassRbm>(args),
        ClassRbmCommand::Calibrate(args) => crate::classifier::calibrate::<ClassRbm>(args),
    }
}

/// Why another `--dataset` than mnist is refused.
const MNIST_ONLY: &str = <ClassRbm as crate::classifier::Classifier>::MNIST_ONLY;

/// A setup or training error as a failure naming the flag.
fn setup_failure(error: RbmError) -> Failure {
    rbm_failure(error, &[("objective", "--generative-weight")])
}

/// The metric of `class-rbm train`'s learning curve.
const ERROR: Family = Family::new("error", "classification error", "fraction misclassified");

fn train(args: TrainArgs) -> Result<(), Failure> {
    let objective = match args.objective {
        ObjectiveArg::Hybrid => Objective::Hybrid {
            generative_weight: args.generative_weight,
        },
        ObjectiveArg::Discriminative => Objective::Discriminative,
        ObjectiveArg::Generative => Objective::Generative,
    };
    let mut config = ClassTrainConfig {
        n_hidden: args.hidden,
        n_classes: 10,
        objective,
        init_std: args.init_std,
        persistent_chains: args.persistent_chains,
        optimizer: OptimizerConfig::sgd(
            args.lr,
            LearningRateSchedule::Linear {
                final_fraction: 0.0,
            },
            MomentumSchedule::constant(args.momentum),
            args.weight_decay,
        ),
        run: args.training.loop_config(
            args.epochs,
            args.batch,
            args.random,
            ClassTrainConfig::default().run,
        ),
    };
    config.validate().map_err(setup_failure)?;
    let data = args
        .data
        .train_set(args.limit, MNIST_ONLY, ValueRange::Unit)?;
    if let Some(train) = &args.data.files.train {
        config.n_classes = crate::classifier::label_classes(Some(train), &data, "the class RBM")?;
    }
    crate::memory::check_rbm(data.n_features, args.hidden, args.batch, 0)?;
    let mut log = args.training.epoch_log("ebm class-rbm train");
    let test = args.data.held_out_set(
        log.is_active(),
        data.n_features,
        MNIST_ONLY,
        ValueRange::Unit,
    )?;
    let logged_par = args.training.run.parallelism();
    let trained = Progress::timed(config.run.epochs, args.training.report.quiet, |progress| {
        let mut observer = OnEpoch(|r: &EpochReport, model: &ClassRbm| {
            let error = r.metric("train_error").unwrap_or(f64::NAN);
            let (seconds, lr) = (r.seconds, r.rates.learning_rate);
            progress.epoch_report(
                r,
                &format!("train error {error:.4}, {seconds:.1} s, lr {lr:.4}"),
            );
            let mut values = vec![(&ERROR, On::Train, error)];
            if let Some(test) = test.as_ref().filter(|_| log.is_active()) {
                let error = model.error_rate(test, logged_par).unwrap_or(f64::NAN);
                values.push((&ERROR, On::HeldOut, error));
            }
            log.record(Epoch::of(r), &values);
        });
        train_class_rbm(&config, &data, &mut observer).map_err(setup_failure)
    });
    let mut logged = Metrics::default();
    log.finish(&mut logged)?;
    let (model, mut m) = trained?;
    m.extend(logged);
    let run = args.training.run;
    let par = run.parallelism();
    let train_error = run
        .install(|| model.error_rate(&data, par))?
        .map_err(Failure::run)?;
    m.number("train_error", train_error)
        .integer("hidden", config.n_hidden as u64)
        .integer("epochs", config.run.epochs as u64)
        .integer("threads", config.run.threads as u64);
    args.training.save_and_report(&model, m)
}

fn eval(args: EvalArgs) -> Result<(), Failure> {
    let model: ClassRbm = load_model(&args.model)?;
    let test = load_mnist(&args.data, Split::Test, MNIST_ONLY, ValueRange::Unit)?;
    let run = args.measure.run;
    let par = run.parallelism();
    let start = Instant::now();
    let error = run
        .install(|| model.error_rate(&test, par))?
        .map_err(|e| Failure::input(format!("{}: {e}", args.model.display())))?;
    let mut m = Metrics::default();
    m.number("test_error", error)
        .integer("n_test", test.n_examples as u64)
        .number("seconds", start.elapsed().as_secs_f64());
    args.measure.output.print(&m);
    Ok(())
}

fn sample(args: SampleArgs) -> Result<(), Failure> {
    let gibbs = &args.gibbs;
    if gibbs.chains == 0 {
        return Err(Failure::input("--chains must be at least 1"));
    }
    let model: ClassRbm = load_model(&gibbs.model)?;
    let classifier = args
        .classifier
        .as_deref()
        .map(|path| crate::classifier::load_classifier(path, model.n_visible(), model.n_classes()))
        .transpose()?;
    // The tiles of every class are kept until the grid is written.
    crate::memory::check_chains(
        "--chains",
        gibbs.chains,
        model.n_classes() * (model.n_visible() + model.n_hidden()),
    )?;
    let Some(shape) = gibbs
        .image
        .resolve_or_note(&gibbs.model, model.n_visible())?
    else {
        return Ok(());
    };
    let mut rng = stream(gibbs.random.seed, 0, 0);
    let mut tiles = Vec::new();
    for class in 0..model.n_classes() {
        tiles.extend(model.sample_class(class, gibbs.chains, gibbs.steps, &mut rng));
    }
    write_png_grid(
        &gibbs.png,
        &tiles,
        shape.height,
        shape.width,
        gibbs.chains,
        Scaling::Unit,
    )
    .map_err(Failure::run)?;
    let mut m = Metrics::default();
    m.text("png", &gibbs.png.display().to_string());
    if let Some(classifier) = &classifier {
        let intended: Vec<usize> = (0..tiles.len() / model.n_visible())
            .map(|k| k / gibbs.chains)
            .collect();
        crate::classifier::recognized_shares(classifier, &tiles, &intended, &mut m);
    }
    args.output.print(&m);
    Ok(())
}
