//! The `ebm._ebm` extension module: thin PyO3 wrappers over the ebm library crates that
//! the Python estimators of the `ebm` package (`python/ebm/__init__.py`) call.
//!
//! Arrays come in as C-contiguous `float32` numpy arrays (the Python layer converts) and
//! go out as new numpy arrays. Training and inference run with the GIL released; a
//! training run checks for Ctrl-C after every epoch and stops with `KeyboardInterrupt`,
//! leaving the model at the end of the last finished epoch. Bad input is a `ValueError`
//! with the library's one-line message ([`errors`]).
//!
//! Besides the three RBM cores: [`factor`] (factor graphs: `ln Z`, marginals, MAP,
//! samples), [`crf`] (chain and grid CRFs learned by ebm-learn) and [`cf`] (the
//! collaborative-filtering RBM).

mod binary;
mod cf;
mod class;
mod cores;
mod crf;
mod errors;
mod factor;
mod gaussian;

use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::{EpochReport, TrainObserver};
use ebm_core::train::{LoopConfig, OptimizerConfig};
use ebm_data::Dataset;
use ebm_kernels::Parallelism;
use errors::{LibraryError, to_py_err};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

/// The rows of a C-contiguous 2-D array as one slice, with its shape.
fn rows<'a>(x: &'a PyReadonlyArray2<'_, f32>) -> PyResult<(&'a [f32], usize, usize)> {
    let shape = x.shape();
    let (n, d) = (shape[0], shape[1]);
    let values = x
        .as_slice()
        .map_err(|_| PyValueError::new_err("X must be a C-contiguous float32 array"))?;
    Ok((values, n, d))
}

/// An owned [`Dataset`] of a 2-D array (the trainers own their data).
fn dataset(x: &PyReadonlyArray2<'_, f32>, labels: Option<Vec<u8>>) -> PyResult<Dataset> {
    let (values, n, d) = rows(x)?;
    if n == 0 || d == 0 {
        return Err(PyValueError::new_err(format!(
            "X has shape ({n}, {d}); at least one sample and one feature are needed"
        )));
    }
    Ok(Dataset {
        features: values.to_vec(),
        n_examples: n,
        n_features: d,
        image_shape: None,
        labels,
    })
}

/// Check that a 2-D array has the model's number of features.
fn check_width(d: usize, expected: usize) -> PyResult<()> {
    if d == expected {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "X has {d} features, but the model expects {expected}"
        )))
    }
}

/// The value of the option named `value` of the string parameter `name`, or a
/// `ValueError` listing the options.
fn choose<T>(
    name: &str,
    value: &str,
    options: impl IntoIterator<Item = (&'static str, T)>,
) -> PyResult<T> {
    let mut names = Vec::new();
    for (option, chosen) in options {
        if option == value {
            return Ok(chosen);
        }
        names.push(format!("'{option}'"));
    }
    Err(PyValueError::new_err(format!(
        "invalid parameter `{name}`: {value:?} is not one of {}",
        names.join(", ")
    )))
}

/// A valid thread count (`n_jobs` of a core): at least 1.
fn thread_count(n_jobs: usize) -> PyResult<usize> {
    if n_jobs == 0 {
        return Err(PyValueError::new_err(
            "invalid parameter `n_jobs`: must be at least 1",
        ));
    }
    Ok(n_jobs)
}

/// Run `work` on a pool of `threads` threads (or on this thread for one), returning its
/// value; `work` gets the matching [`Parallelism`].
fn on_threads<T: Send>(threads: usize, work: impl FnOnce(Parallelism) -> T + Send) -> PyResult<T> {
    let par = Parallelism::with_threads(threads.max(1));
    if threads <= 1 {
        return Ok(work(par));
    }
    let pool = ebm_core::thread_pool(threads).map_err(to_py_err)?;
    Ok(pool.install(|| work(par)))
}

/// The SGD settings of a training run, as the `fit` of the Gaussian and classification
/// cores take them: one Python dict with these keys.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Sgd {
    learning_rate: f32,
    momentum: f32,
    weight_decay: f32,
    n_iter: usize,
    batch_size: usize,
    seed: u64,
    n_jobs: usize,
}

impl Sgd {
    /// The optimizer: plain SGD with a constant momentum, the learning rate following
    /// `schedule`.
    fn optimizer(&self, schedule: LearningRateSchedule) -> OptimizerConfig {
        OptimizerConfig::sgd(
            self.learning_rate,
            schedule,
            MomentumSchedule::constant(self.momentum),
            self.weight_decay,
        )
    }

    /// The loop: `n_iter` passes in batches of `batch_size` on `n_jobs` threads, with the
    /// library's divergence guard.
    fn run(&self) -> LoopConfig {
        LoopConfig {
            seed: self.seed,
            threads: self.n_jobs,
            ..LoopConfig::default()
        }
        .with_batches(self.n_iter, self.batch_size)
    }
}

/// `work` on `threads` threads with the GIL released, its library error as a Python one.
fn compute<T: Send, E: LibraryError + Send>(
    py: Python<'_>,
    threads: usize,
    work: impl FnOnce(Parallelism) -> Result<T, E> + Send,
) -> PyResult<T> {
    py.detach(|| on_threads(threads, work))?.map_err(to_py_err)
}

/// `f(row index, row)` for every `width`-wide row of `values`, on `threads` threads, in
/// row order.
fn per_row<T: Send>(
    values: &[f32],
    width: usize,
    threads: usize,
    f: impl Fn(usize, &[f32]) -> T + Sync + Send,
) -> PyResult<Vec<T>> {
    on_threads(threads, |par| match par {
        Parallelism::Sequential => values
            .chunks_exact(width)
            .enumerate()
            .map(|(r, v)| f(r, v))
            .collect(),
        Parallelism::Threads(_) => values
            .par_chunks_exact(width)
            .enumerate()
            .map(|(r, v)| f(r, v))
            .collect(),
    })
}

/// [`per_row`] over the rows of the input `x`, checked to have the model's `width`
/// features, with the GIL released.
fn map_rows<T: Send>(
    py: Python<'_>,
    x: &PyReadonlyArray2<'_, f32>,
    width: usize,
    threads: usize,
    f: impl Fn(usize, &[f32]) -> T + Sync + Send,
) -> PyResult<Vec<T>> {
    let (values, _, d) = rows(x)?;
    check_width(d, width)?;
    py.detach(|| per_row(values, width, threads, f))
}

/// Run a trainer with the GIL released, `callback` seeing every epoch (see
/// [`PyObserver`]); the trained value, or the error that stopped it.
fn train_detached<T: Send, E: LibraryError + Send>(
    py: Python<'_>,
    callback: Option<Py<PyAny>>,
    trainer: impl FnOnce(&mut PyObserver) -> Result<T, E> + Send,
) -> PyResult<T> {
    let (result, observer) = py.detach(|| {
        let mut observer = PyObserver::new(callback);
        let result = trainer(&mut observer);
        (result, observer)
    });
    observer.finish(result)
}

/// Rows of equal length `cols` as a new `rows.len() x cols` numpy array.
fn stacked<'py>(py: Python<'py>, rows: Vec<Vec<f32>>, cols: usize) -> Bound<'py, PyArray2<f32>> {
    let n = rows.len();
    matrix(py, rows.concat(), n, cols)
}

/// The transpose of a row-major `n_visible x n_hidden` weight matrix: scikit-learn's
/// `components_` layout, `n_hidden x n_visible`.
fn transposed(weights: &[f32], n_visible: usize, n_hidden: usize) -> Vec<f32> {
    (0..n_hidden)
        .flat_map(|j| (0..n_visible).map(move |i| weights[i * n_hidden + j]))
        .collect()
}

/// A row-major `rows x cols` matrix as a new numpy array.
fn matrix<'py>(
    py: Python<'py>,
    values: Vec<f32>,
    rows: usize,
    cols: usize,
) -> Bound<'py, PyArray2<f32>> {
    Array2::from_shape_vec((rows, cols), values)
        .expect("matrix shape matches its values")
        .into_pyarray(py)
}

/// A vector as a new numpy array.
fn vector<'py, T: numpy::Element>(py: Python<'py>, values: Vec<T>) -> Bound<'py, PyArray1<T>> {
    values.into_pyarray(py)
}

/// Forwards each epoch to an optional Python callback `callback(epoch, epochs, seconds,
/// metrics: dict)` and checks for Ctrl-C; a Python error stops training and is kept to
/// be raised once the GIL is held again. The RBM and recommender trainers see it as their
/// [`TrainObserver`], the structured learners through [`PyObserver::epoch`].
struct PyObserver {
    callback: Option<Py<PyAny>>,
    error: Option<PyErr>,
}

impl PyObserver {
    fn new(callback: Option<Py<PyAny>>) -> Self {
        Self {
            callback,
            error: None,
        }
    }

    /// The outcome of a run: its Python error if the observer stopped it, else the
    /// library's result as a Python result.
    fn finish<T, E: LibraryError>(self, result: Result<T, E>) -> PyResult<T> {
        match (self.error, result) {
            (Some(error), Err(_)) => Err(error),
            (_, result) => result.map_err(to_py_err),
        }
    }

    /// One finished epoch of `epochs` with its `metrics`: checks for Ctrl-C and calls the
    /// callback; `Err` (the message of the Python error it keeps) stops training.
    fn epoch(
        &mut self,
        epoch: usize,
        epochs: usize,
        seconds: f64,
        metrics: &[(&str, f64)],
    ) -> Result<(), String> {
        let outcome = Python::attach(|py| -> PyResult<()> {
            py.check_signals()?;
            if let Some(callback) = &self.callback {
                let shown = pyo3::types::PyDict::new(py);
                for (name, value) in metrics {
                    shown.set_item(*name, *value)?;
                }
                callback.call1(py, (epoch, epochs, seconds, shown))?;
            }
            Ok(())
        });
        outcome.map_err(|error| {
            let message = error.to_string();
            self.error = Some(error);
            message
        })
    }
}

impl<S: ?Sized> TrainObserver<S> for PyObserver {
    fn on_epoch(&mut self, report: &EpochReport, _state: &S) -> Result<(), String> {
        self.epoch(report.epoch, report.epochs, report.seconds, &report.metrics)
    }
}

/// The compiled core of the `ebm` package.
#[pymodule]
fn _ebm(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<binary::BinaryRbmCore>()?;
    module.add_class::<gaussian::GaussianRbmCore>()?;
    module.add_class::<class::ClassRbmCore>()?;
    module.add_class::<factor::FactorGraphCore>()?;
    module.add_class::<crf::CrfCore>()?;
    module.add_class::<cf::CfCore>()?;
    module.add_function(pyo3::wrap_pyfunction!(cf::read_ratings, module)?)?;
    module.add_function(pyo3::wrap_pyfunction!(cf::movielens_fold_paths, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
