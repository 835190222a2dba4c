//! Errors of the RBM crate.

use ebm_core::InvalidSetting;
use ebm_core::train::TrainError;
use thiserror::Error;

/// What can go wrong building, training or measuring an RBM.
#[derive(Debug, Error)]
pub enum RbmError {
    /// A setting is out of range; `setting` names the field (of a trainer's config,
    /// [`crate::metrics::AisConfig`], or the function argument) so front ends can name
    /// their own flag for it.
    #[error(transparent)]
    InvalidSetting(#[from] InvalidSetting),
    /// Data does not fit the model.
    #[error("data mismatch: {0}")]
    DataMismatch(String),
    /// Training diverged (the model was restored to the last good epoch) or was stopped
    /// by its observer.
    #[error(transparent)]
    Train(TrainError),
    /// Exact enumeration asked for a model whose smaller layer is too wide.
    #[error(
        "exact log Z needs a layer of at most {max} units; the smaller layer has {found} (use AIS)"
    )]
    TooLargeForExact {
        /// Widest layer that can be enumerated.
        max: usize,
        /// Width of the model's smaller layer.
        found: usize,
    },
    /// The model file could not be read or written.
    #[error(transparent)]
    ModelFile(#[from] ebm_core::ModelFileError),
}

impl From<TrainError> for RbmError {
    /// A bad setting stays a bad setting, whichever layer found it.
    fn from(error: TrainError) -> Self {
        match error {
            TrainError::InvalidSetting(setting) => Self::InvalidSetting(setting),
            other => Self::Train(other),
        }
    }
}
