//! Pieces the model commands share: loading a model file, the memory its chains need,
//! where MNIST grey levels come from, the first N examples, the model-fits-the-data check, and turning a library's
//! setup error into a failure that names the command's flag.

use crate::Failure;
use crate::user_data::ValueRange;
use clap::Args;
use ebm_core::ModelFile;
use ebm_data::Dataset;
use ebm_data::data_dir;
use ebm_data::mnist::Split;
use ebm_rbm::RbmError;
use std::path::{Path, PathBuf};

/// Load the model file at `path` (a model of kind `M`), or fail as bad input.
pub fn load_model<M: ModelFile>(path: &Path) -> Result<M, Failure> {
    M::load(path).map_err(Failure::input)
}

/// An RBM the commands run chains of (Gibbs samplers, AIS runs).
pub trait ChainModel {
    /// The units of one chain's state: the visible and the hidden ones.
    fn units(&self) -> usize;
}

impl ChainModel for ebm_rbm::BinaryRbm {
    fn units(&self) -> usize {
        self.n_visible() + self.n_hidden()
    }
}

impl ChainModel for ebm_rbm::gaussian::GaussianRbm {
    fn units(&self) -> usize {
        self.n_visible() + self.n_hidden()
    }
}

/// Refuse, as bad input before any sampling, `count` chains or runs of `model` (the flag
/// `flag`, e.g. `--chains`) whose states do not fit in memory.
pub fn check_chains(flag: &str, count: usize, model: &impl ChainModel) -> Result<(), Failure> {
    crate::memory::check_chains(flag, count, model.units())
}

/// Where the grey levels come from (the commands that read them, not binarized pixels):
/// MNIST, or the user's files.
#[derive(Args, Clone)]
pub struct MnistArgs {
    /// Data set: mnist (grey levels in [0, 1]); --train FILE reads your own instead.
    #[arg(long, default_value = "mnist")]
    pub dataset: String,
    /// Folder holding the data sets (default: $EBM_DATA, else ./data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub files: crate::user_data::FileArgs,
}

impl MnistArgs {
    /// The training split, its first `--limit` examples (see [`first`]); another
    /// `--dataset` is refused as in [`load_mnist`].
    pub fn train_set(
        &self,
        limit: Option<usize>,
        why_not: &str,
        range: ValueRange,
    ) -> Result<Dataset, Failure> {
        first(load_mnist(self, Split::Train, why_not, range)?, limit)
    }

    /// The held-out examples of a logged run (`logged`): the first
    /// [`crate::run_log::LOGGED_EXAMPLES`] of the test split when there is one (MNIST's,
    /// or a `--test` file), which must have the training data's `n_features`; `None`
    /// otherwise.
    pub fn held_out_set(
        &self,
        logged: bool,
        n_features: usize,
        why_not: &str,
        range: ValueRange,
    ) -> Result<Option<Dataset>, Failure> {
        let has_test = self.files.train.is_none() || self.files.test.is_some();
        if !(logged && has_test) {
            return Ok(None);
        }
        let test = load_mnist(self, Split::Test, why_not, range)?;
        crate::run_log::held_out(test, n_features, crate::run_log::LOGGED_EXAMPLES).map(Some)
    }
}

/// Load a split of the user's files (`--train`/`--test`, values as `range` says), else
/// of MNIST; any other
/// `--dataset` is refused with `--dataset: 'NAME' ` and
/// `why_not` (what this command needs instead).
pub fn load_mnist(
    args: &MnistArgs,
    split: Split,
    why_not: &str,
    range: ValueRange,
) -> Result<Dataset, Failure> {
    if let Some(data) = args.files.load(split, range)? {
        return Ok(data);
    }
    if args.dataset != "mnist" {
        return Err(Failure::input(format!(
            "--dataset: '{}' {why_not}",
            args.dataset
        )));
    }
    let dir = data_dir::resolve(args.data.as_deref()).join("mnist");
    ebm_data::mnist::load(&dir, split).map_err(Failure::input)
}

/// The first `limit` examples of `data` (all without `--limit`; `--limit 0` is bad input).
pub fn first(data: Dataset, limit: Option<usize>) -> Result<Dataset, Failure> {
    match limit {
        Some(0) => Err(Failure::input("--limit must be at least 1")),
        Some(limit) => Ok(data.head(limit)),
        None => Ok(data),
    }
}

/// The labels of `data`, when it has them and every one of `wanted` (the list of flag
/// `flag`: `--exclude-labels`, `--anomalous-labels`, ...) is among them; else bad input
/// naming the flag (e.g. 10 for MNIST's 0-9).
pub fn check_labels<'d>(data: &'d Dataset, flag: &str, wanted: &[u8]) -> Result<&'d [u8], Failure> {
    let Some(labels) = &data.labels else {
        return Err(Failure::input(format!(
            "{flag}: this data set has no labels"
        )));
    };
    let mut present = [false; 256];
    labels.iter().for_each(|&l| present[usize::from(l)] = true);
    if let Some(&missing) = wanted.iter().find(|&&l| !present[usize::from(l)]) {
        let known: Vec<String> = (0..=255u8)
            .filter(|&l| present[usize::from(l)])
            .map(|l| l.to_string())
            .collect();
        return Err(Failure::input(format!(
            "{flag}: {missing} is not a label of this data set (its labels: {})",
            known.join(", ")
        )));
    }
    Ok(labels)
}

/// `data` without the examples whose label is in `excluded` (see [`check_labels`]); a
/// list that leaves no example is bad input too.
pub fn without_labels(data: &Dataset, flag: &str, excluded: &[u8]) -> Result<Dataset, Failure> {
    check_labels(data, flag, excluded)?;
    let kept = data
        .select_labels(|label| !excluded.contains(&label))
        .ok_or_else(|| Failure::input(format!("{flag}: this data set has no labels")))?;
    if kept.n_examples == 0 {
        return Err(Failure::input(format!(
            "{flag}: no training examples are left"
        )));
    }
    Ok(kept)
}

/// Refuse data whose examples do not have the model's `n_visible` features.
pub fn check_features(model: &Path, n_visible: usize, data: &Dataset) -> Result<(), Failure> {
    if data.n_features == n_visible {
        return Ok(());
    }
    let hint = if data.n_features == n_visible + 1 && data.labels.is_none() {
        " (is one of its columns the label? give --label-column)"
    } else {
        ""
    };
    Err(Failure::input(format!(
        "{}: model has {n_visible} visible units, the data {} features{hint}",
        model.display(),
        data.n_features
    )))
}

/// The flag that sets each training setting (the field of a trainer's configuration)
/// in every command; a command passes its own exceptions to [`setting_failure`].
const FLAGS: &[(&str, &str)] = &[
    ("n_hidden", "--hidden"),
    ("epochs", "--epochs"),
    ("batch_size", "--batch"),
    ("learning_rate", "--lr"),
    ("momentum", "--momentum"),
    ("weight_decay", "--weight-decay"),
    ("gibbs_steps", "--k"),
    ("init_std", "--init-std"),
    ("threads", "--threads"),
    // ebm-learn (`ebm factor learn`, `predict`).
    ("batch", "--batch"),
    ("regularization", "--lambda"),
    ("steps", "--cd-steps"),
    ("initial_weights", "--pretrain-epochs"),
    ("examples", "--train"),
    ("learner", "--method"),
    ("flip_rate", "--flip-rate"),
    ("clue_fraction", "--clue-fraction"),
    ("length", "--length"),
    // ebm-factor (`ebm factor infer`, `color`).
    ("iterations", "--iterations"),
    ("time_limit", "--time-limit"),
    ("bp", "--damping/--iterations"),
    (
        "anneal",
        "--chains/--sweeps/--start-temperature/--end-temperature",
    ),
    ("gibbs", "--chains/--sweeps"),
    ("tempering", "--replicas/--max-temperature-ratio"),
    ("lns", "--neighbourhood"),
    ("colors", "--colors"),
];

/// An invalid training setting as bad input: `FLAG: message` with the flag `exceptions`
/// (this command's own, first) or [`FLAGS`] give for `setting`, else the library's own
/// message `error`.
pub fn setting_failure(
    setting: &str,
    message: &str,
    exceptions: &[(&str, &str)],
    error: impl std::fmt::Display,
) -> Failure {
    match exceptions.iter().chain(FLAGS).find(|(s, _)| *s == setting) {
        Some((_, flag)) => Failure::input(format!("{flag}: {message}")),
        None => Failure::input(error),
    }
}

/// A model's setup or training error as a failure: an invalid setting is bad input
/// naming its flag (see [`setting_failure`]), a divergence is a failed run (exit code 1),
/// anything else is bad input.
pub fn rbm_failure(error: RbmError, exceptions: &[(&str, &str)]) -> Failure {
    match &error {
        RbmError::InvalidSetting(invalid) => {
            setting_failure(invalid.setting, &invalid.message, exceptions, &error)
        }
        RbmError::Train(_) => Failure::run(error),
        _ => Failure::input(error),
    }
}

/// A neural model's setup or training error as a failure: an invalid setting is bad input
/// naming its flag (see [`setting_failure`]), a divergence beyond recovery is a failed
/// run, anything else (data, shapes) is bad input.
pub fn neural_failure(error: ebm_neural::NeuralError, exceptions: &[(&str, &str)]) -> Failure {
    use ebm_neural::NeuralError;
    match &error {
        NeuralError::InvalidSetting(invalid) => {
            setting_failure(invalid.setting, &invalid.message, exceptions, &error)
        }
        NeuralError::Train(_) => Failure::run(error),
        _ => Failure::input(error),
    }
}
