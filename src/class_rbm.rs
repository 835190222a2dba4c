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
use ebm_rbm::class_rbm::{ClassRbm, ClassTrainConfig, Objective, most_probable, train_class_rbm};
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
    Predict(PredictArgs),
    /// Temperature scaling fitted on validation examples, with the test set's expected
    /// calibration error, log-likelihood and error before and after (and reliability
    /// diagrams with --png).
    Calibrate(CalibrateArgs),
}

/// Flags of `ebm class-rbm predict`.
#[derive(Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub table: crate::tables::TableArgs,
    /// Write softmax(ln p(y | x) / T): the temperature `ebm class-rbm calibrate` fitted
    /// (T > 1 flattens the probabilities, T < 1 sharpens them; the predicted class is the
    /// same).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
}

/// Flags of `ebm class-rbm calibrate`.
#[derive(Args)]
pub struct CalibrateArgs {
    /// The model file.
    pub model: PathBuf,
    #[command(flatten)]
    pub data: MnistArgs,
    #[command(flatten)]
    pub calibration: crate::calibrate::CalibrateArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
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
        ClassRbmCommand::Predict(args) => predict(args),
        ClassRbmCommand::Calibrate(args) => calibrate(args),
    }
}

/// Why another `--dataset` than mnist is refused.
const MNIST_ONLY: &str = "has no labels; the class RBM needs mnist";

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
        config.n_classes = n_classes(train, &data)?;
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

/// The classes of the user's training file `train`: one more than its largest label (at
/// least 2), or bad input when it has no labels.
fn n_classes(train: &std::path::Path, data: &ebm_data::Dataset) -> Result<usize, Failure> {
    let Some(labels) = &data.labels else {
        return Err(Failure::input(format!(
            "--train: {}: has no labels; the class RBM needs them (give --labels FILE or --label-column C)",
            train.display()
        )));
    };
    Ok(labels
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(0)
        .max(2))
}

/// `ebm class-rbm predict`.
fn predict(args: PredictArgs) -> Result<(), Failure> {
    let temperature = args.temperature;
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(Failure::input(format!(
            "--temperature: {temperature} must be a positive number"
        )));
    }
    let (run, model, data) = args.table.open(ValueRange::Unit, ClassRbm::n_visible)?;
    let classes = model.n_classes();
    let mut probabilities = log_probabilities(&model, &data.features, run)?;
    for row in probabilities.chunks_exact_mut(classes) {
        softmax_at(row, temperature);
    }
    let mut m = Metrics::default();
    if let Some(labels) = &data.labels {
        // The error of the probabilities written, not of a second pass over the input.
        let wrong = probabilities
            .chunks_exact(classes)
            .zip(labels)
            .filter(|(p, l)| most_probable(p) != usize::from(**l))
            .count();
        m.number("error_rate", wrong as f64 / data.n_examples.max(1) as f64);
    }
    args.table.finish(probabilities, classes, &["class"], m)
}

/// `ln p(y | x)` of every row of `features`, `n x classes`.
fn log_probabilities(
    model: &ClassRbm,
    features: &[f32],
    run: crate::args::RunArgs,
) -> Result<Vec<f32>, Failure> {
    let mut out = vec![0.0f32; features.len() / model.n_visible() * model.n_classes()];
    let par = run.parallelism();
    run.install(|| model.class_log_probabilities(features, &mut out, par))?;
    Ok(out)
}

/// `row` (normalized log-probabilities) replaced by `softmax(row / temperature)`.
fn softmax_at(row: &mut [f32], temperature: f64) {
    if temperature == 1.0 {
        row.iter_mut().for_each(|v| *v = v.exp());
        return;
    }
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0.0f64;
    for v in row.iter_mut() {
        let e = ((f64::from(*v) - f64::from(max)) / temperature).exp();
        *v = e as f32;
        sum += e;
    }
    row.iter_mut()
        .for_each(|v| *v = (f64::from(*v) / sum) as f32);
}

/// `ebm class-rbm calibrate`.
fn calibrate(args: CalibrateArgs) -> Result<(), Failure> {
    let model: ClassRbm = load_model(&args.model)?;
    let train = load_mnist(&args.data, Split::Train, MNIST_ONLY, ValueRange::Unit)?;
    let validation = crate::calibrate::validation_tail(&train, args.calibration.validation_size)?;
    drop(train);
    let test = load_mnist(&args.data, Split::Test, MNIST_ONLY, ValueRange::Unit)?;
    let classes = model.n_classes();
    let score = |flag: &str, data: &ebm_data::Dataset| {
        let labels = data.labels.as_deref().ok_or_else(|| {
            Failure::input(format!("{flag}: has no labels; calibration needs them"))
        })?;
        if data.n_features != model.n_visible() {
            return Err(Failure::input(format!(
                "{flag}: {} features per example where the model has {}",
                data.n_features,
                model.n_visible()
            )));
        }
        if let Some(&bad) = labels.iter().find(|&&l| usize::from(l) >= classes) {
            return Err(Failure::input(format!(
                "{flag}: label {bad} is not one of the model's {classes} classes"
            )));
        }
        log_probabilities(&model, &data.features, args.measure.run)
    };
    let (val_lp, test_lp) = (score("--train", &validation)?, score("--test", &test)?);
    let labels = |data: &ebm_data::Dataset| data.labels.clone().unwrap_or_default();
    let (val_labels, test_labels) = (labels(&validation), labels(&test));
    let m = crate::calibrate::report(
        &args.calibration,
        "class RBM",
        classes,
        crate::calibrate::Scored {
            log_probs: &val_lp,
            labels: &val_labels,
        },
        crate::calibrate::Scored {
            log_probs: &test_lp,
            labels: &test_labels,
        },
    )?;
    args.measure.output.print(&m);
    Ok(())
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

/// The class probability above which a classified sample counts as confident.
pub const CONFIDENT: f32 = 0.9;

/// How `classifier` sees `samples` (rows of its `n_visible` values in [0, 1]): each
/// row's most probable class and that class's probability.
pub fn classify_samples(classifier: &ClassRbm, samples: &[f32]) -> Vec<(usize, f32)> {
    let classes = classifier.n_classes();
    let mut log_probs = vec![0.0f32; samples.len() / classifier.n_visible() * classes];
    classifier.class_log_probabilities(
        samples,
        &mut log_probs,
        ebm_kernels::Parallelism::Sequential,
    );
    log_probs
        .chunks_exact(classes)
        .map(|row| {
            let class = most_probable(row);
            (class, row[class].exp())
        })
        .collect()
}

fn sample(args: SampleArgs) -> Result<(), Failure> {
    let gibbs = &args.gibbs;
    if gibbs.chains == 0 {
        return Err(Failure::input("--chains must be at least 1"));
    }
    let model: ClassRbm = load_model(&gibbs.model)?;
    let classifier: Option<ClassRbm> = args.classifier.as_deref().map(load_model).transpose()?;
    if let (Some(c), Some(path)) = (&classifier, &args.classifier) {
        if c.n_visible() != model.n_visible() || c.n_classes() != model.n_classes() {
            return Err(Failure::input(format!(
                "--classifier: {}: reads {} values into {} classes where the model has {} and {}",
                path.display(),
                c.n_visible(),
                c.n_classes(),
                model.n_visible(),
                model.n_classes()
            )));
        }
    }
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
        let classes = model.n_classes();
        let (mut recognized, mut confident) = (0usize, 0usize);
        for (k, (class, probability)) in
            classify_samples(classifier, &tiles).into_iter().enumerate()
        {
            if class == k / gibbs.chains {
                recognized += 1;
                confident += usize::from(probability > CONFIDENT);
            }
        }
        let total = (gibbs.chains * classes) as f64;
        m.number("recognized_share", recognized as f64 / total)
            .number("confident_share", confident as f64 / total)
            .integer("samples", total as u64);
    }
    args.output.print(&m);
    Ok(())
}
