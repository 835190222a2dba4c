//! What can go wrong in learning.

use ebm_core::InvalidSetting;
use ebm_core::train::TrainError;
use ebm_factor::FactorError;
use thiserror::Error;

/// Why learning, evaluating or building a task failed.
#[derive(Debug, Error)]
pub enum LearnError {
    /// A setting out of range (the toolkit's one invalid-setting error), whether this
    /// crate or ebm-factor's inference found it.
    #[error(transparent)]
    InvalidSetting(#[from] InvalidSetting),
    /// Templates, structures, examples or weights that do not fit together.
    #[error("{0}")]
    InvalidData(String),
    /// A data file (a column file, a `.npy` array) that cannot be read or does not hold
    /// what the task needs; the message names the file.
    #[error(transparent)]
    Data(#[from] ebm_data::DataError),
    /// Inference on an instantiated model failed: exact elimination too wide, a loopy
    /// structure for maximum likelihood, a model the graph cut cannot solve.
    #[error(transparent)]
    Inference(FactorError),
    /// Training diverged: the training core's guard ([`TrainError::Diverged`]) saw a weight
    /// that is not finite or too large, or an objective that is not finite.
    #[error(transparent)]
    Train(TrainError),
}

impl From<TrainError> for LearnError {
    /// An invalid setting stays one; anything else is a training failure.
    fn from(error: TrainError) -> Self {
        match error {
            TrainError::InvalidSetting(setting) => Self::InvalidSetting(setting),
            other => Self::Train(other),
        }
    }
}

impl From<FactorError> for LearnError {
    /// An invalid setting stays one; anything else is an inference failure.
    fn from(error: FactorError) -> Self {
        match error {
            FactorError::InvalidSetting(setting) => Self::InvalidSetting(setting),
            other => Self::Inference(other),
        }
    }
}
