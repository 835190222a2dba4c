//! What `ebm factor learn` and `ebm factor predict` share: the built-in tasks and the
//! flags of their data, the MAP decoders, and the test report of a learned model.

use crate::Failure;
use crate::args::SeedArgs;
use crate::output::Metrics;
use clap::{Args, ValueEnum};
use ebm_data::data_dir;
use ebm_data::mnist::{Split, load};
use ebm_data::puzzles::read_sudoku;
use ebm_factor::problems::check_sudoku;
use ebm_factor::solve::{Method, SolveOptions, solve};
use ebm_learn::LearnError;
use ebm_learn::learned::LearnedModel;
use ebm_learn::metrics::{Evaluation, evaluate};
use ebm_learn::tasks::denoise::{DenoiseConfig, denoise_task};
use ebm_learn::tasks::hmm::{Hmm, hmm_task, hmm_weights, weight_error};
use ebm_learn::tasks::sudoku::{puzzle_example, solved_grid_task};
use ebm_learn::tasks::{Task, TaskShape};
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

impl TaskName {
    /// The task a saved model was learned for.
    pub fn of(shape: TaskShape) -> Self {
        match shape {
            TaskShape::Denoise { .. } => TaskName::Denoise,
            TaskShape::Hmm { .. } => TaskName::Hmm,
            TaskShape::Sudoku { .. } => TaskName::Sudoku,
        }
    }

    /// The default number of training examples.
    pub fn default_train(self) -> usize {
        match self {
            TaskName::Denoise | TaskName::Hmm => 1000,
            TaskName::Sudoku => 2000,
        }
    }
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

/// A value of `--train` or `--test`: with `--task`, a number of examples; else a file of
/// the user's (a value that is an integer is a number: write `./300` for a file named
/// `300`).
#[derive(Clone, Debug, PartialEq)]
pub enum Examples {
    /// A number of examples of a built-in task.
    Count(usize),
    /// The user's data file.
    File(PathBuf),
}

/// An integer is a number of examples ([`crate::args::count`], or
/// [`crate::args::positive_count`] when `positive`); anything else a file.
fn examples(text: &str, positive: bool) -> Result<Examples, String> {
    if text.trim().parse::<i128>().is_err() {
        return Ok(Examples::File(PathBuf::from(text)));
    }
    let count = if positive {
        crate::args::positive_count(text)?
    } else {
        crate::args::count(text)?
    };
    Ok(Examples::Count(count))
}

fn train_examples(text: &str) -> Result<Examples, String> {
    examples(text, false)
}

fn test_examples(text: &str) -> Result<Examples, String> {
    examples(text, true)
}

/// The default of `--test` with a built-in task.
const DEFAULT_TEST: usize = 1000;

/// The default of `--length`.
const DEFAULT_LENGTH: usize = 40;

/// The flags of a task's data (the same data for `learn` and `predict` with the same
/// flags and seed).
#[derive(Args)]
pub struct DataArgs {
    /// Training data: the number of examples of a built-in task (images, sequences or
    /// solved grids; default per task); or, for `factor learn` without --task, your file
    /// (a CoNLL-style column file, or the per-pixel features .npy of --format npy-grid).
    #[arg(long, value_name = "N|FILE", value_parser = train_examples)]
    pub train: Option<Examples>,
    /// Test data: the number of examples of a built-in task (denoise, hmm; default
    /// 1000); or, for `factor learn` without --task, a file read like --train, scored
    /// after training.
    #[arg(long, value_name = "N|FILE", value_parser = test_examples)]
    pub test: Option<Examples>,
    /// Denoise: probability that a pixel is flipped (default 0.1).
    #[arg(long)]
    pub flip_rate: Option<f64>,
    /// HMM: sequence length (default 40).
    #[arg(long, value_parser = crate::args::count)]
    pub length: Option<usize>,
    /// Sudoku: the puzzles to solve with the learned model (default: DATA/sudoku/easy_50.txt).
    #[arg(long)]
    pub puzzles: Option<PathBuf>,
    /// Folder holding the data sets (default: $EBM_DATA, else ./data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// MAP decoder (default: graphcut for denoise, exact for hmm, bnb for sudoku; for your
    /// files, exact for chains, graphcut for grids of 2 labels, bp for more).
    #[arg(long, value_enum)]
    pub decoder: Option<DecoderName>,
    #[command(flatten)]
    pub random: SeedArgs,
}

impl DataArgs {
    /// Refuse the flags that do not apply to `task`: a file as `--train` or `--test`
    /// among them.
    pub fn check_applies(&self, task: TaskName) -> Result<(), Failure> {
        for (flag, value) in [("--train", &self.train), ("--test", &self.test)] {
            if let Some(Examples::File(path)) = value {
                return Err(Failure::input(format!(
                    "{flag} {}: with a built-in task, {flag} is a number of examples (a file is your own data: give it without --task)",
                    path.display()
                )));
            }
        }
        if self.flip_rate.is_some() && task != TaskName::Denoise {
            return Err(Failure::input("--flip-rate applies to --task denoise"));
        }
        Ok(())
    }

    /// Refuse the flags that apply to the built-in tasks only, for a task of the user's
    /// files (`what` says which command or model, e.g. `--train FILE`).
    pub fn check_files_only(&self, what: &str) -> Result<(), Failure> {
        let given = [
            ("--flip-rate", self.flip_rate.is_some()),
            ("--length", self.length.is_some()),
            ("--puzzles", self.puzzles.is_some()),
            ("--data", self.data.is_some()),
        ];
        refuse_given(&given, |flag| {
            format!("{flag} applies to the built-in tasks (--task), not to {what}")
        })
    }

    /// The number of training examples.
    pub fn train_count(&self, task: TaskName) -> usize {
        match self.train {
            Some(Examples::Count(n)) => n,
            _ => task.default_train(),
        }
    }

    /// The number of test examples of a built-in task.
    pub fn test_count(&self) -> usize {
        match self.test {
            Some(Examples::Count(n)) => n,
            _ => DEFAULT_TEST,
        }
    }

    /// The HMM's sequence length.
    pub fn length(&self) -> usize {
        self.length.unwrap_or(DEFAULT_LENGTH)
    }

    /// The decoder (`--decoder`, else the task's usual one) and its deterministic
    /// budgets: no time limits, so that training and test metrics do not depend on the
    /// machine's speed.
    pub fn decoder(&self, shape: TaskShape) -> (Method, SolveOptions) {
        self.decoder_or(shape.decoder())
    }

    /// The decoder (`--decoder`, else `usual`) and its deterministic budgets.
    pub fn decoder_or(&self, usual: Method) -> (Method, SolveOptions) {
        let method = match self.decoder {
            None => usual,
            Some(DecoderName::Exact) => Method::Exact,
            Some(DecoderName::Graphcut) => Method::GraphCut,
            Some(DecoderName::Icm) => Method::Icm,
            Some(DecoderName::Bp) => Method::MaxProduct,
            Some(DecoderName::Bnb) => Method::BranchAndBound,
            Some(DecoderName::Anneal) => Method::Anneal,
        };
        (method, SolveOptions::deterministic())
    }

    /// Refuse `--train` plus `--test` examples of `shape` (of `--length` positions for
    /// the HMM) that would not fit in memory, before any is built.
    pub fn check_memory(&self, shape: TaskShape, train: usize, test: usize) -> Result<(), Failure> {
        let flags = match shape {
            TaskShape::Hmm { .. } => format!(
                "--train {train} + --test {test} examples of --length {}",
                self.length()
            ),
            TaskShape::Sudoku { .. } => format!("--train {train} examples"),
            TaskShape::Denoise { .. } => format!("--train {train} + --test {test} examples"),
        };
        let examples = train.saturating_add(test);
        crate::memory::check_examples(&flags, examples, shape.example_bytes(self.length()))
    }

    /// Build the task's data: with the pairwise factors or not (denoise).
    pub fn task(&self, task: TaskName, pairwise: bool) -> Result<Task, Failure> {
        let train_count = self.train_count(task);
        let test_count = self.test_count();
        let seed = self.random.seed;
        match task {
            TaskName::Denoise => {
                let dir = data_dir::resolve(self.data.as_deref()).join("mnist");
                let train_set = load(&dir, Split::Train).map_err(Failure::input)?;
                let test_set = load(&dir, Split::Test).map_err(Failure::input)?;
                let (height, width) = train_set.image_shape.unwrap_or((28, 28));
                let pixels = height * width;
                if train_count > train_set.n_examples || test_count > test_set.n_examples {
                    return Err(Failure::input(format!(
                        "--train must be at most {} and --test at most {}",
                        train_set.n_examples, test_set.n_examples
                    )));
                }
                let shape = TaskShape::Denoise {
                    height,
                    width,
                    pairwise,
                };
                self.check_memory(shape, train_count, test_count)?;
                let config = DenoiseConfig {
                    flip_rate: self.flip_rate.unwrap_or(0.1),
                    pairwise,
                    seed,
                    ..DenoiseConfig::default()
                };
                denoise_task(
                    &train_set.features[..train_count * pixels],
                    &test_set.features[..test_count * pixels],
                    height,
                    width,
                    &config,
                )
            }
            TaskName::Hmm => {
                let hmm = Hmm::sticky();
                let shape = TaskShape::Hmm {
                    states: hmm.states(),
                    symbols: hmm.symbols(),
                };
                self.check_memory(shape, train_count, test_count)?;
                hmm_task(&hmm, train_count, test_count, self.length(), seed)
            }
            TaskName::Sudoku => {
                self.check_memory(TaskShape::Sudoku { box_size: 3 }, train_count, 0)?;
                solved_grid_task(3, train_count, seed)
            }
        }
        .map_err(learn_failure)
    }
}

/// A learning error as a failure: an invalid setting is bad input naming its flag (from
/// the CLI's one table, [`crate::setup::setting_failure`]); bad data and inference
/// failures are bad input too (a loopy structure for maximum likelihood, say: the flags
/// asked for what cannot be done).
pub fn learn_failure(error: LearnError) -> Failure {
    match &error {
        LearnError::InvalidSetting(invalid) => {
            crate::setup::setting_failure(invalid.setting, &invalid.message, &[], &error)
        }
        _ => Failure::input(error),
    }
}

fn add_evaluation(metrics: &mut Metrics, e: &Evaluation) {
    metrics
        .integer("test_examples", e.examples as u64)
        .number("test_pixel_error", e.per_variable_error)
        .number("test_structure_error", e.structure_error)
        .number("test_energy_gap", e.energy_gap)
        .integer("decode_fallbacks", e.fallbacks as u64);
}

/// Test metrics of `model` on `task`: errors on the test set, or puzzles solved for
/// Sudoku (each solution printed unless `json`).
pub fn report_test(
    data: &DataArgs,
    task: &Task,
    model: &LearnedModel,
    json: bool,
    metrics: &mut Metrics,
) -> Result<(), Failure> {
    let start = Instant::now();
    let name = TaskName::of(task.shape);
    let (method, budgets) = data.decoder(task.shape);
    let options = SolveOptions {
        seed: data.random.seed,
        ..budgets
    };
    let (templates, weights) = (&model.templates, &model.weights);
    match name {
        TaskName::Denoise => {
            let e =
                evaluate(templates, &task.test, weights, method, &options).map_err(Failure::run)?;
            add_evaluation(metrics, &e);
        }
        TaskName::Hmm => {
            let e =
                evaluate(templates, &task.test, weights, method, &options).map_err(Failure::run)?;
            let hmm = Hmm::sticky();
            let truth = hmm_weights(&hmm, templates);
            let exact = SolveOptions::default();
            let true_eval = evaluate(templates, &task.test, &truth, Method::Exact, &exact)
                .map_err(Failure::run)?;
            let error = weight_error(&hmm, templates, &task.train, weights, options.seed);
            metrics
                .integer("test_examples", e.examples as u64)
                .number("viterbi_accuracy", 1.0 - e.per_variable_error)
                .number(
                    "true_model_viterbi_accuracy",
                    1.0 - true_eval.per_variable_error,
                )
                .number("test_sequence_error", e.structure_error)
                .number("weight_error_max_abs", error.max_abs)
                .number("weight_error_relative", error.relative);
        }
        TaskName::Sudoku => {
            let path = data.puzzles.clone().unwrap_or_else(|| {
                data_dir::resolve(data.data.as_deref())
                    .join("sudoku")
                    .join("easy_50.txt")
            });
            let puzzles = read_sudoku(&path).map_err(Failure::input)?;
            let structure = task
                .train
                .first()
                .map(|e| e.structure.clone())
                .ok_or_else(|| Failure::input("--train must be at least 1"))?;
            if let Some(s) = &model.support {
                metrics.integer("forbidden_entries", s.unseen_count() as u64);
            }
            let mut solved = 0u64;
            for (i, puzzle) in puzzles.iter().enumerate() {
                let example = puzzle_example(&structure, puzzle)
                    .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
                let factor_model = model.instantiate(&example).map_err(Failure::run)?;
                let options = SolveOptions {
                    seed: options.seed + i as u64,
                    ..options
                };
                let labels = solve(&factor_model, method, &options)
                    .map_err(Failure::run)?
                    .solution
                    .assignment;
                let ok = check_sudoku(puzzle, &labels);
                solved += u64::from(ok);
                if !json {
                    let cells: Vec<Option<usize>> = labels.iter().map(|&x| Some(x)).collect();
                    let text = ebm_data::puzzles::Sudoku::format(&cells);
                    crate::output::outln!("{} {text}", if ok { "solved" } else { "wrong " });
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

/// Refuse the first of `flags` (each with whether it is given) that is given, with the
/// input error `why(flag)`; none given is fine.
pub(super) fn refuse_given(
    flags: &[(&str, bool)],
    why: impl FnOnce(&str) -> String,
) -> Result<(), Failure> {
    match flags.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(Failure::input(why(flag))),
        None => Ok(()),
    }
}
