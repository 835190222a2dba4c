//! Errors of the collaborative-filtering crate.

use ebm_core::InvalidSetting;
use ebm_core::train::TrainError;
use thiserror::Error;

/// What can go wrong building, training or using a collaborative-filtering RBM.
#[derive(Debug, Error)]
pub enum CfError {
    /// A setting is out of range; `setting` names the field of
    /// [`crate::train::TrainConfig`] (or the argument) so front ends can name their flag.
    #[error(transparent)]
    InvalidSetting(#[from] InvalidSetting),
    /// The ratings cannot be used (empty, duplicated pairs, too many levels, ...).
    #[error("ratings: {0}")]
    BadRatings(String),
    /// A user id that the model has never seen.
    #[error("user {0} is not in the model's training ratings")]
    UnknownUser(u64),
    /// Training diverged (the model was restored to the last good epoch) or was stopped
    /// by its observer.
    #[error(transparent)]
    Train(TrainError),
    /// Reading or writing a model file failed.
    #[error(transparent)]
    ModelFile(#[from] ebm_core::model_file::ModelFileError),
}

impl From<TrainError> for CfError {
    /// A bad setting stays a bad setting, whichever layer found it.
    fn from(error: TrainError) -> Self {
        match error {
            TrainError::InvalidSetting(setting) => Self::InvalidSetting(setting),
            other => Self::Train(other),
        }
    }
}
