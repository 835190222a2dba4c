//! What the core classes share, written once: the [`Core`] trait behind their model-file
//! bytes, pickling and threads ([`core_methods!`], and [`fitted_core!`] for the cores that
//! are just a trained model), and the [`Rbm`] trait behind the transformer methods of the
//! two RBM cores ([`rbm_methods!`]).

use crate::{compute, map_rows, stacked, thread_count, to_py_err, vector};
use ebm_core::ModelFile;
use ebm_kernels::Parallelism;
use ebm_rbm::RbmError;
use ebm_rbm::metrics::AisEstimate;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::Path;

/// A core class of the module: a model file (what its `to_bytes` and pickles hold) and
/// the threads its work runs on. [`core_methods!`] gives every core the same `to_bytes`,
/// `from_bytes`, `__reduce__` and `n_jobs` setter through this trait.
pub(crate) trait Core: Sized {
    /// The model file the core is saved as.
    type File: ModelFile;

    /// The model file's contents.
    fn file(&self) -> &Self::File;

    /// A core of a loaded model file, on `threads` threads (`None`: the ones the file
    /// keeps, else 1).
    fn restore(file: Self::File, threads: Option<usize>) -> PyResult<Self>;

    /// The threads of its inference (and training).
    fn threads(&self) -> usize;

    /// Set [`Self::threads`] (already checked to be at least 1).
    fn set_threads(&mut self, threads: usize);
}

/// A library model file's bytes as Python `bytes`.
pub(crate) fn file_bytes<'py>(
    py: Python<'py>,
    file: &impl ModelFile,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = file.to_bytes().map_err(to_py_err)?;
    Ok(PyBytes::new(py, &bytes))
}

/// A core from its model-file bytes, with every check of a model file load.
pub(crate) fn core_from_bytes<C: Core>(bytes: &[u8], n_jobs: Option<usize>) -> PyResult<C> {
    let file = C::File::from_bytes(bytes, Path::new("<pickle>")).map_err(to_py_err)?;
    C::restore(file, n_jobs.map(thread_count).transpose()?)
}

/// What `__reduce__` returns: the class's `from_bytes` and its arguments (the model-file
/// bytes and the threads).
pub(crate) type Reduced<'py> = (Bound<'py, PyAny>, (Bound<'py, PyBytes>, usize));

/// Pickle support of a core: rebuilt by `from_bytes` from its model-file bytes.
pub(crate) fn reduce<'py, C: Core + pyo3::PyClass>(core: &Bound<'py, C>) -> PyResult<Reduced<'py>> {
    let constructor = core.as_any().get_type().getattr("from_bytes")?;
    let this = core.borrow();
    Ok((
        constructor,
        (file_bytes(core.py(), this.file())?, this.threads()),
    ))
}

/// The Python methods every [`Core`] shares: `to_bytes`, `from_bytes(bytes,
/// n_jobs=None)`, pickling and the `n_jobs` setter.
macro_rules! core_methods {
    ($core:ident) => {
        #[pyo3::pymethods]
        impl $core {
            /// The core as model-file bytes (of the kind of its `Core::File`).
            fn to_bytes<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyBytes>> {
                $crate::cores::file_bytes(py, $crate::cores::Core::file(self))
            }

            /// A core from [`Self::to_bytes`]' bytes, with every check of a model file
            /// load, on `n_jobs` threads (default: the file's, or 1).
            #[staticmethod]
            #[pyo3(signature = (bytes, n_jobs=None))]
            fn from_bytes(bytes: &[u8], n_jobs: Option<usize>) -> pyo3::PyResult<Self> {
                $crate::cores::core_from_bytes(bytes, n_jobs)
            }

            /// Pickle support: rebuild from the model-file bytes.
            fn __reduce__<'py>(
                slf: &pyo3::Bound<'py, Self>,
            ) -> pyo3::PyResult<$crate::cores::Reduced<'py>> {
                $crate::cores::reduce(slf)
            }

            /// Threads used by inference and training (at least 1).
            #[setter]
            fn set_n_jobs(&mut self, n_jobs: usize) -> pyo3::PyResult<()> {
                $crate::cores::Core::set_threads(self, $crate::thread_count(n_jobs)?);
                Ok(())
            }
        }
    };
}
pub(crate) use core_methods;

/// A core class `$core` that is a trained `$model` (its model file) and the threads its
/// inference uses, with the [`core_methods!`].
macro_rules! fitted_core {
    ($(#[$doc:meta])* $core:ident($model:ty)) => {
        $(#[$doc])*
        #[pyo3::pyclass(module = "ebm._ebm")]
        pub struct $core {
            model: $model,
            threads: usize,
        }

        impl $crate::cores::Core for $core {
            type File = $model;

            fn file(&self) -> &$model {
                &self.model
            }

            fn restore(model: $model, threads: Option<usize>) -> pyo3::PyResult<Self> {
                let threads = threads.unwrap_or(1);
                Ok(Self { model, threads })
            }

            fn threads(&self) -> usize {
                self.threads
            }

            fn set_threads(&mut self, threads: usize) {
                self.threads = threads;
            }
        }

        $crate::cores::core_methods!($core);
    };
}
pub(crate) use fitted_core;

/// The RBM of a core as the transformers of `ebm` see it: one input row at a time
/// (a Gaussian RBM standardizes each row first), and the parameters scikit-learn
/// publishes. [`rbm_methods!`] turns it into Python methods.
pub(crate) trait Rbm: Core + Sync {
    /// Visible units (input features).
    fn n_visible(&self) -> usize;

    /// Hidden units.
    fn n_hidden(&self) -> usize;

    /// `p(h = 1 | v)` of one input row.
    fn hidden_probabilities(&self, v: &[f32]) -> Vec<f32>;

    /// `-F(v)`, the unnormalized log-probability, of one input row.
    fn log_unnormalized(&self, v: &[f32]) -> f64;

    /// The weights, row-major `n_hidden x n_visible` (scikit-learn's `components_`).
    fn components(&self) -> Vec<f32>;

    /// Hidden biases.
    fn hidden_bias(&self) -> &[f32];

    /// Visible biases.
    fn visible_bias(&self) -> &[f32];

    /// Exact `ln Z`.
    fn exact_log_partition(&self, par: Parallelism) -> Result<f64, RbmError>;

    /// `ln Z` by AIS as `ais` asks.
    fn ais_log_partition(&self, ais: &Ais<'_>, par: Parallelism) -> Result<AisEstimate, RbmError>;
}

/// An AIS estimate of `ln Z` as Python asks for it: `runs` runs over `betas` inverse
/// temperatures with the streams of `seed`, from the base model `base` (a binary RBM's
/// visible biases, none: uniform; a Gaussian RBM starts from its own and takes none).
pub(crate) struct Ais<'a> {
    pub(crate) runs: usize,
    pub(crate) betas: usize,
    pub(crate) seed: u64,
    pub(crate) base: Option<&'a [f32]>,
}

/// A 2-D input array of the cores (C-contiguous float32).
pub(crate) type Rows<'py> = PyReadonlyArray2<'py, f32>;

/// A new numpy matrix.
pub(crate) type Matrix<'py> = Bound<'py, PyArray2<f32>>;

/// A new numpy vector.
pub(crate) type Vector<'py, T> = Bound<'py, PyArray1<T>>;

/// [`Rbm::hidden_probabilities`] of every row of `x` (`n x n_hidden`).
pub(crate) fn transform<'py>(rbm: &impl Rbm, x: &Rows<'py>) -> PyResult<Matrix<'py>> {
    let out = map_rows(x.py(), x, rbm.n_visible(), rbm.threads(), |_, v| {
        rbm.hidden_probabilities(v)
    })?;
    Ok(stacked(x.py(), out, rbm.n_hidden()))
}

/// [`Rbm::log_unnormalized`] of every row of `x`.
pub(crate) fn log_unnormalized<'py>(rbm: &impl Rbm, x: &Rows<'py>) -> PyResult<Vector<'py, f64>> {
    let out = map_rows(x.py(), x, rbm.n_visible(), rbm.threads(), |_, v| {
        rbm.log_unnormalized(v)
    })?;
    Ok(vector(x.py(), out))
}

/// [`Rbm::ais_log_partition`] with the GIL released: `(ln Z, its standard deviation)`.
pub(crate) fn ais_log_partition(
    rbm: &impl Rbm,
    py: Python<'_>,
    (runs, betas, seed): (usize, usize, u64),
    base: Option<PyReadonlyArray1<'_, f32>>,
) -> PyResult<(f64, f64)> {
    let base = base
        .as_ref()
        .map(|base| base.as_slice())
        .transpose()
        .map_err(|_| PyValueError::new_err("base must be contiguous"))?;
    let ais = Ais {
        runs,
        betas,
        seed,
        base,
    };
    let estimate = compute(py, rbm.threads(), |par| rbm.ais_log_partition(&ais, par))?;
    Ok((estimate.log_z, estimate.log_z_std))
}

/// The Python methods of an [`Rbm`] core: `transform`, `log_unnormalized`, `components`,
/// `intercept_hidden`, `intercept_visible`, `exact_log_partition` and
/// `ais_log_partition`.
macro_rules! rbm_methods {
    ($core:ident) => {
        const _: () = {
            use pyo3::prelude::*;
            use $crate::cores::{Matrix, Rbm, Rows, Vector};
            use $crate::{compute, matrix, vector};

            #[pymethods]
            impl $core {
                /// `p(h = 1 | v)` of every row (`n x n_components`).
                fn transform<'py>(&self, x: Rows<'py>) -> PyResult<Matrix<'py>> {
                    $crate::cores::transform(self, &x)
                }

                /// `-F(v)`, the unnormalized log-probability, of every row (a Gaussian
                /// RBM's in standardized units).
                fn log_unnormalized<'py>(&self, x: Rows<'py>) -> PyResult<Vector<'py, f64>> {
                    $crate::cores::log_unnormalized(self, &x)
                }

                /// The weights as scikit-learn's `components_`: `n_components x n_features`.
                fn components<'py>(&self, py: Python<'py>) -> Matrix<'py> {
                    matrix(py, Rbm::components(self), self.n_hidden(), self.n_visible())
                }

                /// Hidden biases.
                fn intercept_hidden<'py>(&self, py: Python<'py>) -> Vector<'py, f32> {
                    vector(py, self.hidden_bias().to_vec())
                }

                /// Visible biases (a Gaussian RBM's in standardized units).
                fn intercept_visible<'py>(&self, py: Python<'py>) -> Vector<'py, f32> {
                    vector(py, self.visible_bias().to_vec())
                }

                /// Exact `ln Z` (a binary RBM's smaller layer must have at most 25 units, a
                /// Gaussian RBM at most 24 hidden units; its `ln Z` in standardized units).
                fn exact_log_partition(&self, py: Python<'_>) -> PyResult<f64> {
                    compute(py, self.threads(), |par| {
                        Rbm::exact_log_partition(self, par)
                    })
                }

                /// `(ln Z, its standard deviation)` by AIS with `runs` runs over `betas`
                /// inverse temperatures, from a binary RBM's base-rate model `base`
                /// (visible biases; none: uniform).
                #[pyo3(signature = (runs, betas, seed, base=None))]
                fn ais_log_partition(
                    &self,
                    py: Python<'_>,
                    runs: usize,
                    betas: usize,
                    seed: u64,
                    base: Option<numpy::PyReadonlyArray1<'_, f32>>,
                ) -> PyResult<(f64, f64)> {
                    $crate::cores::ais_log_partition(self, py, (runs, betas, seed), base)
                }
            }
        };
    };
}
pub(crate) use rbm_methods;
