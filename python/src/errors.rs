//! Library errors as Python exceptions, in one place: a bad setting is a `ValueError`
//! naming the Python parameter (`invalid parameter `n_iter`: must be at least 1`), bad
//! data or a model that cannot answer is a `ValueError` with the library's one-line
//! message, a file that cannot be read an `OSError`, and a run that diverged (or a
//! sampler that found nothing) a `RuntimeError`.

use ebm_cf::CfError;
use ebm_core::train::TrainError;
use ebm_core::{InvalidSetting, ModelFileError};
use ebm_data::DataError;
use ebm_factor::FactorError;
use ebm_learn::LearnError;
use ebm_rbm::RbmError;
use pyo3::PyErr;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};

/// The Python parameter name of a library setting name (the library names the fields of
/// its configs; the estimators use scikit-learn's and the CLI's vocabulary).
fn parameter_name(setting: &str) -> &str {
    match setting {
        "n_hidden" => "n_components",
        "gibbs_steps" => "k",
        "epochs" => "n_iter",
        "threads" => "n_jobs",
        "chains" => "batch_size",
        "batch" => "batch_size",
        "steps" | "cd" => "cd_steps",
        other => other,
    }
}

/// A bad setting as a `ValueError` naming its Python parameter.
fn invalid_parameter(invalid: &InvalidSetting) -> PyErr {
    PyValueError::new_err(format!(
        "invalid parameter `{}`: {}",
        parameter_name(invalid.setting),
        invalid.message
    ))
}

/// A diverged run is a `RuntimeError`; a stopped one only happens when the observer
/// stopped it, whose own error then wins ([`crate::PyObserver`]).
fn train_error(error: &TrainError) -> PyErr {
    PyRuntimeError::new_err(error.to_string())
}

/// An error of a library crate that a Python call can end with.
pub(crate) trait LibraryError {
    /// The Python exception.
    fn into_py(self) -> PyErr;
}

/// `error` as a Python exception.
pub(crate) fn to_py_err(error: impl LibraryError) -> PyErr {
    error.into_py()
}

impl LibraryError for PyErr {
    fn into_py(self) -> PyErr {
        self
    }
}

impl LibraryError for InvalidSetting {
    fn into_py(self) -> PyErr {
        invalid_parameter(&self)
    }
}

impl LibraryError for ModelFileError {
    fn into_py(self) -> PyErr {
        PyValueError::new_err(self.to_string())
    }
}

/// The errors of the crates whose trainers run through ebm-core's loop (the RBMs and the
/// recommender): a bad setting names its parameter, a diverged run is a `RuntimeError`,
/// the rest are `ValueError`s.
macro_rules! trainer_errors {
    ($($error:ident),*) => {$(
        impl LibraryError for $error {
            fn into_py(self) -> PyErr {
                match &self {
                    $error::InvalidSetting(invalid) => invalid_parameter(invalid),
                    $error::Train(error) => train_error(error),
                    _ => PyValueError::new_err(self.to_string()),
                }
            }
        }
    )*};
}

trainer_errors!(RbmError, CfError);

impl LibraryError for FactorError {
    fn into_py(self) -> PyErr {
        match &self {
            FactorError::InvalidSetting(invalid) => invalid_parameter(invalid),
            FactorError::NoPositiveState(_) => PyRuntimeError::new_err(self.to_string()),
            _ => PyValueError::new_err(self.to_string()),
        }
    }
}

impl LibraryError for LearnError {
    fn into_py(self) -> PyErr {
        match self {
            LearnError::InvalidSetting(invalid) => invalid_parameter(&invalid),
            LearnError::Inference(error) => error.into_py(),
            LearnError::Train(error) => train_error(&error),
            other => PyValueError::new_err(other.to_string()),
        }
    }
}

impl LibraryError for DataError {
    fn into_py(self) -> PyErr {
        match &self {
            DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                PyFileNotFoundError::new_err(self.to_string())
            }
            DataError::Io { .. } => PyOSError::new_err(self.to_string()),
            _ => PyValueError::new_err(self.to_string()),
        }
    }
}
