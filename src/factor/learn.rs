//! `ebm factor learn`: learn the weights of a templated factor-graph energy on one of the
//! built-in tasks (or on the user's files, [`super::files`]), report test metrics, and
//! optionally save the learned model (a model file that `ebm factor predict` loads) and
//! export its weights as JSON.

use super::ThreadArgs;
use super::files::FileArgs;
use super::tasks::{DataArgs, Examples, TaskName, learn_failure, report_test};
use crate::Failure;
use crate::args::ReportArgs;
use crate::output::Metrics;
use crate::progress::Progress;
use crate::run_log::{Epoch, EpochLog, Family, LogArgs, On};
use clap::{Args, ValueEnum};
use ebm_core::ModelFile;
use ebm_core::train::TrainError;
use ebm_factor::solve::{Method, SolveOptions};
use ebm_learn::LearnError;
use ebm_learn::data::Example;
use ebm_learn::learned::LearnedModel;
use ebm_learn::support::Support;
use ebm_learn::tasks::sudoku::with_random_clues;
use ebm_learn::templates::TemplateSet;
use ebm_learn::train::{EpochReport, Learner, TrainConfig, Trained, train};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

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

/// Flags of `ebm factor learn`.
#[derive(Args)]
pub struct LearnArgs {
    /// The built-in task (or, instead, --train FILE: your own data).
    #[arg(long, value_enum)]
    pub task: Option<TaskName>,
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
    #[arg(long, default_value_t = 16, value_parser = crate::args::count)]
    pub batch: usize,
    /// Gibbs sweeps per CD sample.
    #[arg(long, default_value_t = 1)]
    pub cd_steps: usize,
    /// Denoise and npy-grid: train the unary-only model (no pairwise factors).
    #[arg(long)]
    pub unary_only: bool,
    /// Sudoku: fraction of cells given as clues (evidence) in the training grids of the
    /// learner, for decode-based learners that should see puzzles (pretraining sees
    /// whole grids; default 0).
    #[arg(long)]
    pub clue_fraction: Option<f64>,
    /// Sudoku: forbid the pair-label combinations no training grid shows (the
    /// maximum-likelihood limit of their energies) when solving; the saved model keeps
    /// them forbidden.
    #[arg(long)]
    pub forbid_unseen: bool,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub files: FileArgs,
    #[command(flatten)]
    pub run: ThreadArgs,
    /// Save the learned model here (a model file, atomically; `ebm factor predict` loads
    /// it).
    #[arg(long, value_parser = crate::args::output_file)]
    pub out: Option<PathBuf>,
    /// Also export the templates and weights as JSON here, atomically.
    #[arg(long, value_parser = crate::args::output_file)]
    pub export_json: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

/// The metrics of `factor learn`'s learning curves.
const OBJECTIVE: Family = Family::new("objective", "training objective", "per example, with L2");
const MISTAKES: Family = Family::new("mistakes", "decoding mistakes", "examples decoded wrong");
const FALLBACKS: Family = Family::new("fallbacks", "decoder fallbacks", "decodes that fell back");

pub(super) fn learner(method: MethodName, cd_steps: usize) -> Learner {
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

/// Refuse the flags that do not apply to the task (the library checks the ranges).
fn check_applies(args: &LearnArgs, task: TaskName) -> Result<(), Failure> {
    args.data.check_applies(task)?;
    args.files.check_not_given()?;
    if args.forbid_unseen && task != TaskName::Sudoku {
        return Err(Failure::input("--forbid-unseen applies to --task sudoku"));
    }
    if args.clue_fraction.is_some() && task != TaskName::Sudoku {
        return Err(Failure::input("--clue-fraction applies to --task sudoku"));
    }
    if args.unary_only && task != TaskName::Denoise {
        return Err(Failure::input(
            "--unary-only applies to --task denoise (and to --format npy-grid)",
        ));
    }
    Ok(())
}

/// Train with progress lines on stderr, each epoch recorded in `log` as stage `label`; a
/// divergence is a failed run that says `out` (the model file, if any) was left alone.
fn run_training(
    templates: &TemplateSet,
    examples: &[Example],
    config: &TrainConfig,
    label: &str,
    quiet: bool,
    out: Option<&Path>,
    log: &mut EpochLog,
) -> Result<Trained, Failure> {
    let progress = Progress::new(config.epochs as u64, quiet);
    progress.bar.set_prefix(label.to_string());
    let trained = train(templates, examples, config, |r: &EpochReport| {
        let line = format!(
            "{label} epoch {}/{}: objective {:.4}, mistakes {}, fallbacks {}, {:.2} s",
            r.epoch, config.epochs, r.objective, r.mistakes, r.fallbacks, r.seconds
        );
        progress.epoch(r.epoch, &line);
        let epoch = Epoch {
            number: r.epoch,
            seconds: r.seconds,
            // Block-coordinate Frank-Wolfe chooses its own step sizes.
            learning_rate: (config.learner != Learner::SsvmFrankWolfe)
                .then_some(config.learning_rate),
            stage: Some(label),
        };
        log.record(
            epoch,
            &[
                (&OBJECTIVE, On::Train, r.objective),
                (&MISTAKES, On::Train, r.mistakes as f64),
                (&FALLBACKS, On::Run, r.fallbacks as f64),
            ],
        );
    });
    progress.bar.finish_and_clear();
    trained.map_err(|e| match e {
        // The training core's guard: a failed run (exit code 1), not bad input.
        LearnError::Train(TrainError::Diverged {
            epoch,
            reason,
            last_good_epoch,
        }) => {
            let kept = out.map_or_else(String::new, |out| {
                format!(", and nothing was saved over {}", out.display())
            });
            Failure::run(format!(
                "--method {label}: training diverged in epoch {epoch} ({reason}); the weights of epoch {last_good_epoch} are not a trained model{kept} (lower --lr)"
            ))
        }
        e => {
            let decoder = config.map_method.name();
            Failure::input(format!("--method {label} (decoder {decoder}): {e}"))
        }
    })
}

/// Run `ebm factor learn`: on a built-in task (`--task`), or on the user's files
/// (`--train FILE`).
pub fn learn(args: LearnArgs) -> Result<(), Failure> {
    match (args.task, &args.data.train) {
        (Some(task), _) => learn_task(args, task),
        (None, Some(Examples::File(path))) => {
            let path = path.clone();
            super::files::learn(args, &path)
        }
        (None, Some(Examples::Count(n))) => Err(Failure::input(format!(
            "--train {n} is a number of examples of a built-in task: give --task too (or name your file ./{n})"
        ))),
        (None, None) => Err(Failure::input(
            "give --task NAME (a built-in task: denoise, hmm or sudoku) or --train FILE (your own data)",
        )),
    }
}

/// The learner's and the pretraining's settings from the flags over the task's `usual`
/// ones with the decoder `map`, both checked for `examples` training examples and `dim`
/// weights before any training (the learner's start included).
pub(super) fn settings(
    args: &LearnArgs,
    usual: TrainConfig,
    map: (Method, SolveOptions),
    examples: usize,
    dim: usize,
) -> Result<(TrainConfig, TrainConfig), Failure> {
    let (map_method, map_options) = map;
    let config = TrainConfig {
        epochs: args.epochs,
        learning_rate: args.lr.unwrap_or(usual.learning_rate),
        regularization: args.lambda.unwrap_or(usual.regularization),
        batch: args.batch,
        map_method,
        map_options,
        seed: args.data.random.seed,
        ..usual
    };
    let pretrain = TrainConfig {
        learner: Learner::PseudoLikelihood,
        epochs: args.pretrain_epochs,
        ..config.clone()
    };
    let start_weights = (args.pretrain_epochs > 0).then(|| vec![0.0; dim]);
    let checked = TrainConfig {
        initial_weights: start_weights,
        ..config.clone()
    };
    checked.validate(examples, dim).map_err(learn_failure)?;
    if args.pretrain_epochs > 0 {
        pretrain.validate(examples, dim).map_err(learn_failure)?;
    }
    Ok((config, pretrain))
}

/// Run `train` in `pool` with the epoch log of `ebm factor learn` (`--log`), then close
/// the log into fresh metrics: the trained weights and those metrics. A log that cannot
/// be finished is the error before a training failure.
pub(super) fn fit_logged(
    args: &LearnArgs,
    pool: &rayon::ThreadPool,
    train: impl FnOnce(&mut EpochLog) -> Result<Trained, Failure> + Send,
) -> Result<(Trained, Metrics), Failure> {
    let mut log = EpochLog::new(&args.log, "ebm factor learn");
    let trained = pool.install(|| train(&mut log));
    let mut metrics = Metrics::default();
    log.finish(&mut metrics)?;
    Ok((trained?, metrics))
}

/// Pretrain on `examples` by pseudo-likelihood when asked, then train with `config`
/// (from the pretrained weights) on `learner_examples` (`examples` when `None`), with
/// progress lines on stderr and every epoch recorded in `log`.
pub(super) fn fit(
    args: &LearnArgs,
    templates: &TemplateSet,
    examples: &[Example],
    learner_examples: Option<&[Example]>,
    mut config: TrainConfig,
    pretrain: &TrainConfig,
    log: &mut EpochLog,
) -> Result<Trained, Failure> {
    let quiet = args.report.quiet;
    let mut pretrain_seconds = 0.0;
    if args.pretrain_epochs > 0 {
        let pre = run_training(
            templates,
            examples,
            pretrain,
            "pl",
            quiet,
            args.out.as_deref(),
            log,
        )?;
        pretrain_seconds = pre.train_seconds;
        config.initial_weights = Some(pre.weights);
    }
    let name = args
        .method
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string());
    let mut trained = run_training(
        templates,
        learner_examples.unwrap_or(examples),
        &config,
        &name,
        quiet,
        args.out.as_deref(),
        log,
    )?;
    trained.train_seconds += pretrain_seconds;
    Ok(trained)
}

/// What every run reports about its training: the learner, the examples, the epochs, the
/// weights, the final objective and the times.
pub(super) fn add_training(
    metrics: &mut Metrics,
    args: &LearnArgs,
    config: &TrainConfig,
    trained: &Trained,
    train_examples: usize,
    dim: usize,
) {
    metrics
        .text("method", config.learner.name())
        .integer("train_examples", train_examples as u64)
        .integer("epochs", args.epochs as u64)
        .integer("pretrain_epochs", args.pretrain_epochs as u64)
        .integer("weights", dim as u64)
        .number(
            "objective",
            trained.epochs.last().map_or(f64::NAN, |e| e.objective),
        )
        .number("train_seconds", trained.train_seconds)
        .number(
            "seconds_per_epoch",
            trained.epochs.iter().map(|e| e.seconds).sum::<f64>() / args.epochs as f64,
        );
}

/// `ebm factor learn --task ...`.
fn learn_task(args: LearnArgs, task_name: TaskName) -> Result<(), Failure> {
    check_applies(&args, task_name)?;
    let pool = args.run.pool()?;
    let task = args.data.task(task_name, !args.unary_only)?;
    let usual = task.shape.train_config(learner(args.method, args.cd_steps));
    let map = args.data.decoder(task.shape);
    let seed = args.data.random.seed;
    let dim = task.templates.weight_count();
    let (config, pretrain) = settings(&args, usual, map, task.train.len(), dim)?;
    let start = Instant::now();
    let (trained, mut metrics) = fit_logged(&args, &pool, |log| {
        // The Sudoku learner sees grids with random clues, like the puzzles it must solve.
        let clued = match args.clue_fraction {
            Some(fraction) if fraction != 0.0 => {
                Some(with_random_clues(&task.train, fraction, seed).map_err(learn_failure)?)
            }
            _ => None,
        };
        fit(
            &args,
            &task.templates,
            &task.train,
            clued.as_deref(),
            config.clone(),
            &pretrain,
            log,
        )
    })?;
    let support = args
        .forbid_unseen
        .then(|| Support::of_data(&task.templates, &task.train));
    let model = LearnedModel::new(
        Some(task.shape),
        config.learner.name(),
        task.templates.clone(),
        trained.weights.clone(),
        support,
    )
    .map_err(Failure::run)?;
    metrics.text("task", task.shape.name());
    add_training(
        &mut metrics,
        &args,
        &config,
        &trained,
        task.train.len(),
        dim,
    );
    let json = args.report.output.json;
    pool.install(|| report_test(&args.data, &task, &model, json, &mut metrics))?;
    if let Some(out) = &args.out {
        model.save(out).map_err(Failure::run)?;
        metrics.text("out", &out.display().to_string());
    }
    if let Some(path) = &args.export_json {
        export_json(&model, None, path)?;
    }
    metrics.number("seconds", start.elapsed().as_secs_f64());
    args.report.output.print(&metrics);
    Ok(())
}

/// The model's templates and weights as JSON (format `ebm-factor-weights`, version 1),
/// written atomically; a model learned from files adds its `format` and `labels` (with
/// them its `task` is null).
pub(super) fn export_json(
    model: &LearnedModel,
    files: Option<(&str, Vec<String>)>,
    path: &Path,
) -> Result<(), Failure> {
    let templates: Vec<_> = model
        .templates
        .templates()
        .iter()
        .map(|t| json!({"name": t.name, "label_counts": t.label_counts, "feature_dim": t.feature_dim}))
        .collect();
    let mut document = json!({
        "format": "ebm-factor-weights",
        "version": 1,
        "task": model.task.map(|shape| shape.name()),
        "method": model.learner,
        "templates": templates,
        "weights": model.weights,
    });
    if let (Some((format, labels)), Value::Object(fields)) = (files, &mut document) {
        fields.insert("data_format".into(), Value::from(format));
        fields.insert("labels".into(), Value::from(labels));
    }
    ebm_core::atomic::write_atomic(path, document.to_string().as_bytes())
        .map_err(|e| Failure::run(format!("{}: {e}", path.display())))
}
