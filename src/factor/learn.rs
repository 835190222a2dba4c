//! `ebm factor learn`: learn the weights of a templated factor-graph energy on one of the
//! built-in tasks, report test metrics, and optionally save the weights.

use crate::Failure;
use crate::output::Metrics;
use crate::progress;
use crate::threads::pool;
use clap::{Args, ValueEnum};
use ebm_data::data_dir;
use ebm_data::mnist::{Split, load};
use ebm_data::puzzles::read_sudoku;
use ebm_factor::problems::check_sudoku;
use ebm_factor::solve::{Method, SolveOptions, Start, solve};
use ebm_learn::metrics::{Evaluation, evaluate};
use ebm_learn::support::Support;
use ebm_learn::support::instantiate_within;
use ebm_learn::tasks::Task;
use ebm_learn::tasks::denoise::{DenoiseConfig, denoise_task};
use ebm_learn::tasks::hmm::{Hmm, hmm_task, hmm_weights, identifiable_part};
use ebm_learn::tasks::sudoku::{puzzle_example, solved_grid_task, with_random_clues};
use ebm_learn::templates::TemplateSet;
use ebm_learn::train::{EpochReport, Learner, TrainConfig, Trained, train};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// The built-in learning tasks.
#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum TaskName {
    /// Grid CRF denoising of binarized MNIST digits with flipped pixels.
    Denoise,
    /// Chain CRF on sequences sampled from a known 3-state HMM.
    Hmm,
    /// Pairwise energies over all cell pairs learned from solved Sudoku grids.
    Sudoku,
}

/// The learners.
#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum MethodName {
    /// Structured perceptron.
    Perceptron,
    /// Averaged structured perceptron.
    AveragedPerceptron,
    /// Structured SVM by stochastic subgradient.
    Ssvm,
    /// Structured SVM by block-coordinate Frank-Wolfe.
    Bcfw,
    /// Maximum likelihood (exact marginals; acyclic structures).
    Ml,
    /// Maximum pseudo-likelihood.
    Pl,
    /// Contrastive divergence.
    Cd,
}

/// MAP decoders for training and testing.
#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum DecoderName {
    /// Variable elimination (exact; chains and trees).
    Exact,
    /// Minimum cut (exact for binary submodular models).
    Graphcut,
    /// Iterated conditional modes.
    Icm,
    /// Max-product belief propagation, polished by ICM.
    Bp,
    /// Branch and bound with a node limit.
    Bnb,
    /// Simulated annealing.
    Anneal,
}

/// Flags of `ebm factor learn`.
#[derive(Args)]
pub struct LearnArgs {
    /// The task.
    #[arg(long, value_enum)]
    pub task: TaskName,
    /// The learner.
    #[arg(long, value_enum)]
    pub method: MethodName,
    /// Epochs of pseudo-likelihood before the learner, which then starts from its weights.
    #[arg(long, default_value_t = 0)]
    pub pretrain_epochs: usize,
    /// Passes over the training set.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Step size (perceptron, ssvm, ml, pl, cd; default per task).
    #[arg(long)]
    pub lr: Option<f64>,
    /// L2 regularization lambda (default per task).
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Examples per mini-batch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Gibbs sweeps per CD sample.
    #[arg(long, default_value_t = 1)]
    pub cd_steps: usize,
    /// MAP decoder (default: graphcut for denoise, exact for hmm, bnb for sudoku).
    #[arg(long, value_enum)]
    pub decoder: Option<DecoderName>,
    /// Training examples (images, sequences or solved grids).
    #[arg(long)]
    pub train: Option<usize>,
    /// Test examples (denoise, hmm).
    #[arg(long, default_value_t = 1000)]
    pub test: usize,
    /// Denoise: probability that a pixel is flipped.
    #[arg(long, default_value_t = 0.1)]
    pub flip_rate: f64,
    /// Denoise: train the unary-only model (no pairwise factors).
    #[arg(long)]
    pub unary_only: bool,
    /// HMM: sequence length.
    #[arg(long, default_value_t = 40)]
    pub length: usize,
    /// Sudoku: fraction of cells given as clues (evidence) in the training grids of the
    /// learner, for decode-based learners that should see puzzles (pretraining sees
    /// whole grids).
    #[arg(long, default_value_t = 0.0)]
    pub clue_fraction: f64,
    /// Sudoku: forbid the pair-label combinations no training grid shows (the
    /// maximum-likelihood limit of their energies) when solving.
    #[arg(long)]
    pub forbid_unseen: bool,
    /// Sudoku: the puzzles to solve with the learned model (default: DATA/sudoku/easy_50.txt).
    #[arg(long)]
    pub puzzles: Option<PathBuf>,
    /// Folder holding the data sets (default: $EBM_DATA, else ./data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Seed of the data, the example order and sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Write the learned weights (JSON) here, atomically.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print metrics as one JSON object on the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress output on stderr.
    #[arg(long)]
    pub quiet: bool,
}

fn learner(method: MethodName, cd_steps: usize) -> Learner {
    match method {
        MethodName::Perceptron => Learner::Perceptron { averaged: false },
        MethodName::AveragedPerceptron => Learner::Perceptron { averaged: true },
        MethodName::Ssvm => Learner::SsvmSubgradient,
        MethodName::Bcfw => Learner::SsvmFrankWolfe,
        MethodName::Ml => Learner::MaximumLikelihood,
        MethodName::Pl => Learner::PseudoLikelihood,
        MethodName::Cd => Learner::ContrastiveDivergence { steps: cd_steps },
    }
}

/// The decoder's method and its deterministic budgets: no time limits, so that training
/// and test metrics do not depend on the machine's speed.
fn decoder(name: DecoderName) -> (Method, SolveOptions) {
    let method = match name {
        DecoderName::Exact => Method::Exact,
        DecoderName::Graphcut => Method::GraphCut,
        DecoderName::Icm => Method::Icm,
        DecoderName::Bp => Method::MaxProduct,
        DecoderName::Bnb => Method::BranchAndBound,
        DecoderName::Anneal => Method::Anneal,
    };
    let options = SolveOptions {
        icm_sweeps: 200,
        iterations: 200,
        tolerance: 1e-6,
        node_limit: Some(100_000),
        runs: 2,
        sweeps: 2000,
        start_temperature: 2.0,
        start: Start::Cold,
        ..SolveOptions::default()
    };
    (method, options)
}

/// Per-task defaults: (training examples, learning rate, lambda, decoder).
fn defaults(task: TaskName) -> (usize, f64, f64, DecoderName) {
    match task {
        TaskName::Denoise => (1000, 0.001, 0.1, DecoderName::Graphcut),
        TaskName::Hmm => (1000, 0.02, 1e-4, DecoderName::Exact),
        TaskName::Sudoku => (2000, 1.0, 1e-3, DecoderName::Bnb),
    }
}

fn check_flags(args: &LearnArgs) -> Result<(), Failure> {
    let positive = |value: Option<f64>, flag: &str| match value {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(Failure::input(format!(
            "{flag} must be a positive number, got {v}"
        ))),
        _ => Ok(()),
    };
    positive(args.lr, "--lr")?;
    if let Some(l) = args.lambda
        && !(l.is_finite() && l >= 0.0)
    {
        return Err(Failure::input(format!("--lambda must be >= 0, got {l}")));
    }
    if args.epochs == 0 || args.batch == 0 {
        return Err(Failure::input("--epochs and --batch must be at least 1"));
    }
    if args.train == Some(0) {
        return Err(Failure::input("--train must be at least 1"));
    }
    if !(0.0..=0.5).contains(&args.flip_rate) {
        return Err(Failure::input(format!(
            "--flip-rate must be in [0, 0.5], got {}",
            args.flip_rate
        )));
    }
    if !(0.0..=1.0).contains(&args.clue_fraction) {
        return Err(Failure::input(format!(
            "--clue-fraction must be in [0, 1], got {}",
            args.clue_fraction
        )));
    }
    if args.cd_steps == 0 {
        return Err(Failure::input("--cd-steps must be at least 1"));
    }
    if args.length == 0 {
        return Err(Failure::input("--length must be at least 1"));
    }
    if args.forbid_unseen && args.task != TaskName::Sudoku {
        return Err(Failure::input("--forbid-unseen applies to --task sudoku"));
    }
    if args.unary_only && args.task != TaskName::Denoise {
        return Err(Failure::input("--unary-only applies to --task denoise"));
    }
    if args.pretrain_epochs > 0 && args.method == MethodName::Bcfw {
        return Err(Failure::input(
            "--pretrain-epochs cannot be used with --method bcfw (it starts from zero)",
        ));
    }
    Ok(())
}

/// Build the task's data.
fn build_task(args: &LearnArgs, train_count: usize) -> Result<Task, Failure> {
    match args.task {
        TaskName::Denoise => {
            let dir = data_dir::resolve(args.data.as_deref()).join("mnist");
            let train_set = load(&dir, Split::Train).map_err(Failure::input)?;
            let test_set = load(&dir, Split::Test).map_err(Failure::input)?;
            let (height, width) = train_set.image_shape.unwrap_or((28, 28));
            let pixels = height * width;
            if train_count > train_set.n_examples || args.test > test_set.n_examples {
                return Err(Failure::input(format!(
                    "--train must be at most {} and --test at most {}",
                    train_set.n_examples, test_set.n_examples
                )));
            }
            let config = DenoiseConfig {
                flip_rate: args.flip_rate,
                pairwise: !args.unary_only,
                seed: args.seed,
                ..DenoiseConfig::default()
            };
            denoise_task(
                &train_set.features[..train_count * pixels],
                &test_set.features[..args.test * pixels],
                height,
                width,
                &config,
            )
            .map_err(Failure::run)
        }
        TaskName::Hmm => hmm_task(
            &Hmm::sticky(),
            train_count,
            args.test,
            args.length,
            args.seed,
        )
        .map_err(Failure::run),
        TaskName::Sudoku => solved_grid_task(3, train_count, args.seed).map_err(Failure::run),
    }
}

/// Train with progress lines on stderr.
fn run_training(
    templates: &TemplateSet,
    examples: &[ebm_learn::data::Example],
    config: &TrainConfig,
    label: &str,
    quiet: bool,
) -> Result<Trained, Failure> {
    let bar = progress::bar(config.epochs as u64, quiet);
    bar.set_prefix(label.to_string());
    let trained = train(templates, examples, config, |r: &EpochReport| {
        let line = format!(
            "{label} epoch {}/{}: objective {:.4}, mistakes {}, fallbacks {}, {:.2} s",
            r.epoch, config.epochs, r.objective, r.mistakes, r.fallbacks, r.seconds
        );
        if bar.is_hidden() {
            if !quiet {
                eprintln!("{line}");
            }
        } else {
            bar.println(line);
            bar.set_position(r.epoch as u64);
        }
    })
    .map_err(|e| {
        let decoder = config.map_method.name();
        Failure::input(format!("--method {label} (decoder {decoder}): {e}"))
    })?;
    bar.finish_and_clear();
    Ok(trained)
}

pub fn learn(args: LearnArgs) -> Result<(), Failure> {
    check_flags(&args)?;
    let threads = pool(args.threads)?;
    let (default_train, default_lr, default_lambda, default_decoder) = defaults(args.task);
    let train_count = args.train.unwrap_or(default_train);
    let (map_method, map_options) = decoder(args.decoder.unwrap_or(default_decoder));
    let task = build_task(&args, train_count)?;
    let mut config = TrainConfig {
        learner: learner(args.method, args.cd_steps),
        epochs: args.epochs,
        learning_rate: args.lr.unwrap_or(default_lr),
        regularization: args.lambda.unwrap_or(default_lambda),
        batch: args.batch,
        map_method,
        map_options,
        seed: args.seed,
        initial_weights: None,
    };
    let start = Instant::now();
    let mut metrics = Metrics::default();
    let trained = threads.install(|| -> Result<Trained, Failure> {
        let mut pretrain_seconds = 0.0;
        if args.pretrain_epochs > 0 {
            let pretrain = TrainConfig {
                learner: Learner::PseudoLikelihood,
                epochs: args.pretrain_epochs,
                ..config.clone()
            };
            let pre = run_training(&task.templates, &task.train, &pretrain, "pl", args.quiet)?;
            pretrain_seconds = pre.train_seconds;
            config.initial_weights = Some(pre.weights);
        }
        // The Sudoku learner sees grids with random clues, like the puzzles it must solve.
        let clued;
        let examples = if args.task == TaskName::Sudoku && args.clue_fraction > 0.0 {
            clued = with_random_clues(&task.train, args.clue_fraction, args.seed)
                .map_err(Failure::run)?;
            &clued
        } else {
            &task.train
        };
        let name = args
            .method
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string());
        let mut trained = run_training(&task.templates, examples, &config, &name, args.quiet)?;
        trained.train_seconds += pretrain_seconds;
        Ok(trained)
    })?;
    let train_seconds = trained.train_seconds;
    metrics
        .text("task", &format!("{:?}", args.task).to_lowercase())
        .text("method", config.learner.name())
        .integer("train_examples", task.train.len() as u64)
        .integer("epochs", args.epochs as u64)
        .integer("pretrain_epochs", args.pretrain_epochs as u64)
        .integer("weights", task.templates.weight_count() as u64)
        .number(
            "objective",
            trained.epochs.last().map_or(f64::NAN, |e| e.objective),
        )
        .number("train_seconds", train_seconds)
        .number(
            "seconds_per_epoch",
            trained.epochs.iter().map(|e| e.seconds).sum::<f64>() / args.epochs as f64,
        );
    threads.install(|| report_test(&args, &task, &trained.weights, &config, &mut metrics))?;
    if let Some(out) = &args.out {
        let templates: Vec<_> = task
            .templates
            .templates()
            .iter()
            .map(|t| json!({"name": t.name, "label_counts": t.label_counts, "feature_dim": t.feature_dim}))
            .collect();
        let document = json!({
            "format": "ebm-factor-weights",
            "version": 1,
            "task": format!("{:?}", args.task).to_lowercase(),
            "method": config.learner.name(),
            "templates": templates,
            "weights": trained.weights,
        });
        ebm_core::atomic::write_atomic(out, document.to_string().as_bytes())
            .map_err(|e| Failure::run(format!("{}: {e}", out.display())))?;
    }
    metrics.number("seconds", start.elapsed().as_secs_f64());
    metrics.print(args.json);
    Ok(())
}

fn add_evaluation(metrics: &mut Metrics, e: &Evaluation) {
    metrics
        .integer("test_examples", e.examples as u64)
        .number("test_pixel_error", e.per_variable_error)
        .number("test_structure_error", e.structure_error)
        .number("test_energy_gap", e.energy_gap)
        .integer("decode_fallbacks", e.fallbacks as u64);
}

/// Test metrics of the task: errors on the test set, or puzzles solved for Sudoku.
fn report_test(
    args: &LearnArgs,
    task: &Task,
    weights: &[f64],
    config: &TrainConfig,
    metrics: &mut Metrics,
) -> Result<(), Failure> {
    let start = Instant::now();
    let (map_method, map_options) = (config.map_method, config.map_options);
    let options = SolveOptions {
        seed: args.seed,
        ..map_options
    };
    match args.task {
        TaskName::Denoise => {
            let e = evaluate(&task.templates, &task.test, weights, map_method, &options)
                .map_err(Failure::run)?;
            add_evaluation(metrics, &e);
        }
        TaskName::Hmm => {
            let e = evaluate(&task.templates, &task.test, weights, map_method, &options)
                .map_err(Failure::run)?;
            let hmm = Hmm::sticky();
            let truth = hmm_weights(&hmm, &task.templates);
            let exact = SolveOptions::default();
            let true_eval = evaluate(&task.templates, &task.test, &truth, Method::Exact, &exact)
                .map_err(Failure::run)?;
            let truth = identifiable_part(&task.templates, &task.train, &truth, args.seed);
            let learned = identifiable_part(&task.templates, &task.train, weights, args.seed);
            let norm = truth.iter().map(|w| w * w).sum::<f64>().sqrt();
            let differences: Vec<f64> = learned.iter().zip(&truth).map(|(a, b)| a - b).collect();
            let max_abs = differences.iter().fold(0.0f64, |m, d| m.max(d.abs()));
            let relative = differences.iter().map(|d| d * d).sum::<f64>().sqrt() / norm;
            metrics
                .integer("test_examples", e.examples as u64)
                .number("viterbi_accuracy", 1.0 - e.per_variable_error)
                .number(
                    "true_model_viterbi_accuracy",
                    1.0 - true_eval.per_variable_error,
                )
                .number("test_sequence_error", e.structure_error)
                .number("weight_error_max_abs", max_abs)
                .number("weight_error_relative", relative);
        }
        TaskName::Sudoku => {
            let path = args.puzzles.clone().unwrap_or_else(|| {
                data_dir::resolve(args.data.as_deref())
                    .join("sudoku")
                    .join("easy_50.txt")
            });
            let puzzles = read_sudoku(&path).map_err(Failure::input)?;
            let structure = task
                .train
                .first()
                .map(|e| e.structure.clone())
                .ok_or_else(|| Failure::input("--train must be at least 1"))?;
            let support = args
                .forbid_unseen
                .then(|| Support::of_data(&task.templates, &task.train));
            if let Some(s) = &support {
                metrics.integer("forbidden_entries", s.unseen_count() as u64);
            }
            let mut solved = 0u64;
            for (i, puzzle) in puzzles.iter().enumerate() {
                let example = puzzle_example(&structure, puzzle)
                    .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
                let model =
                    instantiate_within(&task.templates, &example, weights, false, support.as_ref())
                        .map_err(Failure::run)?;
                let options = SolveOptions {
                    seed: args.seed + i as u64,
                    ..map_options
                };
                let labels = solve(&model, map_method, &options)
                    .map_err(Failure::run)?
                    .solution
                    .assignment;
                let ok = check_sudoku(puzzle, &labels);
                solved += u64::from(ok);
                if !args.json {
                    let cells: Vec<Option<usize>> = labels.iter().map(|&x| Some(x)).collect();
                    let text = ebm_data::puzzles::Sudoku::format(&cells);
                    println!("{} {text}", if ok { "solved" } else { "wrong " });
                }
            }
            metrics
                .integer("puzzles", puzzles.len() as u64)
                .integer("puzzles_solved", solved);
        }
    }
    metrics.number("test_seconds", start.elapsed().as_secs_f64());
    Ok(())
}
