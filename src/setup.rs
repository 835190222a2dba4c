//! Pieces the RBM commands share: where MNIST grey levels come from, and turning an
//! `RbmError` from a model's setup into a failure that names the command's flag.

use crate::Failure;
use clap::Args;
use ebm_data::Dataset;
use ebm_data::data_dir;
use ebm_data::mnist::Split;
use ebm_rbm::RbmError;
use std::path::PathBuf;

/// Where MNIST is (the commands that read grey levels, not binarized pixels).
#[derive(Args, Clone)]
pub struct MnistArgs {
    /// Data set: mnist (grey levels in [0, 1]).
    #[arg(long, default_value = "mnist")]
    pub dataset: String,
    /// Folder holding the data sets (default: $EBM_DATA, else ./data).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// Load a split of MNIST; any other `--dataset` is refused with `--dataset: 'NAME' ` and
/// `why_not` (what this command needs instead).
pub fn load_mnist(args: &MnistArgs, split: Split, why_not: &str) -> Result<Dataset, Failure> {
    if args.dataset != "mnist" {
        return Err(Failure::input(format!(
            "--dataset: '{}' {why_not}",
            args.dataset
        )));
    }
    let dir = data_dir::resolve(args.data.as_deref()).join("mnist");
    ebm_data::mnist::load(&dir, split).map_err(Failure::input)
}

/// A model's setup or training error as a failure: an invalid setting is bad input
/// naming the flag `flag_of` gives for it (or the setting when it gives none), a
/// divergence is a failed run (exit code 1), anything else is bad input.
pub fn rbm_failure(error: RbmError, flag_of: fn(&str) -> Option<&'static str>) -> Failure {
    match &error {
        RbmError::InvalidConfig { setting, message } => match flag_of(setting) {
            Some(flag) => Failure::input(format!("{flag}: {message}")),
            None => Failure::input(error),
        },
        RbmError::Diverged { .. } => Failure::run(error),
        _ => Failure::input(error),
    }
}
