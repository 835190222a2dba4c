//! Errors of the RBM crate.

use thiserror::Error;

/// What can go wrong building, training or measuring an RBM.
#[derive(Debug, Error)]
pub enum RbmError {
    /// A setting is out of range. `setting` names the field (of [`crate::train::TrainConfig`],
    /// [`crate::metrics::AisConfig`], or the function argument) so front ends can name their
    /// own flag for it.
    #[error("invalid setting `{setting}`: {message}")]
    InvalidConfig {
        /// Name of the offending field or argument, e.g. `gibbs_steps`.
        setting: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Data does not fit the model.
    #[error("data mismatch: {0}")]
    DataMismatch(String),
    /// Training produced non-finite or exploding parameters; the model was restored to the
    /// end of the last good epoch.
    #[error(
        "training diverged in epoch {epoch}: {reason}; model restored to the end of epoch {last_good_epoch} (lower the learning rate)"
    )]
    Diverged {
        /// 1-based epoch in which divergence was seen.
        epoch: usize,
        /// What was seen.
        reason: String,
        /// 1-based epoch whose parameters were restored (0 = the initial model).
        last_good_epoch: usize,
    },
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
    /// Training was stopped by the observer (e.g. a checkpoint could not be written).
    #[error("training stopped: {0}")]
    Stopped(String),
}
