//! Errors of the collaborative-filtering crate.

use thiserror::Error;

/// What can go wrong building, training or using a collaborative-filtering RBM.
#[derive(Debug, Error)]
pub enum CfError {
    /// A setting is out of range. `setting` names the field of
    /// [`crate::train::TrainConfig`] (or the argument) so front ends can name their flag.
    #[error("invalid setting `{setting}`: {message}")]
    InvalidConfig {
        /// Name of the offending field or argument, e.g. `n_hidden`.
        setting: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The ratings cannot be used (empty, duplicated pairs, too many levels, ...).
    #[error("ratings: {0}")]
    BadRatings(String),
    /// A user id that the model has never seen.
    #[error("user {0} is not in the model's training ratings")]
    UnknownUser(u64),
    /// Training produced non-finite parameters.
    #[error("training diverged in epoch {epoch}: {reason} (lower the learning rate)")]
    Diverged {
        /// 1-based epoch in which divergence was seen.
        epoch: usize,
        /// What was seen.
        reason: String,
    },
    /// Reading or writing a model file failed.
    #[error(transparent)]
    ModelFile(#[from] ebm_core::model_file::ModelFileError),
}
