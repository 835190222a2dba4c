//! The binary RBM behind `ebm.BernoulliRBM`: its whole training state (model, optimizer,
//! persistent chains), so `partial_fit` and pickling carry everything.

use crate::{PyObserver, check_width, dataset, matrix, on_threads, rows, to_py_err, vector};
use ebm_core::ModelFile;
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::{LoopConfig, OptimizerConfig};
use ebm_kernels::rng::{stream, uniform_f64};
use ebm_rbm::metrics::{AisConfig, ais_log_partition, exact_log_partition, pseudo_log_likelihoods};
use ebm_rbm::train::{Method, TrainConfig, TrainState, train};
use ebm_rbm::{BinaryRbm, RbmError};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rayon::prelude::*;
use std::path::Path;

/// A binary RBM with its training state (CD-k or PCD-k, plain SGD on batch means).
#[pyclass(module = "ebm._ebm")]
pub struct BinaryRbmCore {
    state: TrainState,
}

/// Bernoulli samples of `probs` from `rng`.
fn sample(probs: &[f32], rng: &mut ebm_kernels::rng::StreamRng) -> Vec<f32> {
    probs
        .iter()
        .map(|&p| f32::from(uniform_f64(rng) < f64::from(p)))
        .collect()
}

/// `f(model, row)` for every row of `x`, on `threads` threads, in row order.
fn per_row<T: Send>(
    model: &BinaryRbm,
    x: &[f32],
    threads: usize,
    f: impl Fn(usize, &[f32]) -> T + Sync + Send,
) -> PyResult<Vec<T>> {
    let nv = model.n_visible();
    on_threads(threads, |par| match par {
        ebm_kernels::Parallelism::Sequential => x
            .chunks_exact(nv)
            .enumerate()
            .map(|(r, v)| f(r, v))
            .collect(),
        ebm_kernels::Parallelism::Threads(_) => x
            .par_chunks_exact(nv)
            .enumerate()
            .map(|(r, v)| f(r, v))
            .collect(),
    })
}

impl BinaryRbmCore {
    fn model(&self) -> &BinaryRbm {
        &self.state.model
    }

    fn threads(&self) -> usize {
        self.state.config.run.threads
    }
}

#[pymethods]
impl BinaryRbmCore {
    /// A fresh state for the data `x`: weights `N(0, 0.01^2)`, visible biases at the
    /// log-odds of the feature means, `persistent_chains` PCD chains drawn from those
    /// rates (0 chains: CD-k).
    #[staticmethod]
    #[pyo3(signature = (x, n_components, persistent_chains, k, learning_rate, batch_size, seed, n_jobs))]
    #[allow(clippy::too_many_arguments)]
    fn initialize(
        x: PyReadonlyArray2<'_, f32>,
        n_components: usize,
        persistent_chains: usize,
        k: usize,
        learning_rate: f32,
        batch_size: usize,
        seed: u64,
        n_jobs: usize,
    ) -> PyResult<Self> {
        let data = dataset(&x, None)?;
        let method = if persistent_chains == 0 {
            Method::ContrastiveDivergence
        } else {
            Method::Persistent {
                chains: persistent_chains,
            }
        };
        let config = TrainConfig {
            n_hidden: n_components,
            method,
            gibbs_steps: k,
            sparsity: None,
            optimizer: OptimizerConfig::sgd(
                learning_rate,
                LearningRateSchedule::Constant,
                MomentumSchedule::constant(0.0),
                0.0,
            ),
            run: LoopConfig {
                epochs: 1,
                batch_size,
                seed,
                threads: n_jobs,
                max_abs_parameter: f32::MAX,
            },
            monitor_examples: 1000,
        };
        let state = TrainState::new(config, &data).map_err(to_py_err)?;
        Ok(Self { state })
    }

    /// Train `n_iter` more epochs on `x` in minibatches of `batch_size`, with the GIL
    /// released; `callback(epoch, epochs, seconds, metrics)` after each epoch. Ctrl-C
    /// stops after the current epoch with `KeyboardInterrupt`.
    #[pyo3(signature = (x, n_iter, batch_size, callback=None))]
    fn train(
        &mut self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        n_iter: usize,
        batch_size: usize,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let data = dataset(&x, None)?;
        check_width(data.n_features, self.model().n_visible())?;
        let run = &mut self.state.config.run;
        run.batch_size = batch_size;
        run.epochs = self.state.epochs_done + n_iter;
        let state = &mut self.state;
        let (result, observer) = py.detach(|| {
            let mut observer = PyObserver::new(callback);
            let result = train(state, &data, &mut observer);
            (result, observer)
        });
        observer.finish(result).map(|_| ())
    }

    /// `p(h = 1 | v)` of every row (`n x n_components`).
    fn transform<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (values, n, d) = rows(&x)?;
        check_width(d, self.model().n_visible())?;
        let model = self.model();
        let out = py.detach(|| {
            per_row(model, values, self.threads(), |_, v| {
                model.hidden_probabilities(v)
            })
        })?;
        Ok(matrix(py, out.concat(), n, model.n_hidden()))
    }

    /// The full pseudo-log-likelihood `sum_i ln p(v_i | v_-i)` of every row.
    fn pseudo_log_likelihoods<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (values, _, d) = rows(&x)?;
        check_width(d, self.model().n_visible())?;
        let model = self.model();
        let threads = self.threads();
        let out = py
            .detach(|| on_threads(threads, |par| pseudo_log_likelihoods(model, values, par)))?
            .map_err(to_py_err)?;
        Ok(vector(py, out))
    }

    /// `-F(v)`, the unnormalized log-probability, of every row.
    fn log_unnormalized<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (values, _, d) = rows(&x)?;
        check_width(d, self.model().n_visible())?;
        let model = self.model();
        let out = py.detach(|| {
            per_row(model, values, self.threads(), |_, v| {
                model.log_unnormalized(v)
            })
        })?;
        Ok(vector(py, out))
    }

    /// One block-Gibbs step `v -> h -> v` from every row, sampled with the stream of
    /// `seed` (row `r` draws from its own stream, so rows are independent).
    fn gibbs<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (values, n, d) = rows(&x)?;
        check_width(d, self.model().n_visible())?;
        let model = self.model();
        let out = py.detach(|| {
            per_row(model, values, self.threads(), |r, v| {
                let mut rng = stream(seed, 0, r as u64);
                let h = sample(&model.hidden_probabilities(v), &mut rng);
                sample(&model.visible_probabilities(&h), &mut rng)
            })
        })?;
        Ok(matrix(py, out.concat(), n, d))
    }

    /// Hidden samples of the persistent chains (`chains x n_components`; no rows for CD).
    fn hidden_samples<'py>(
        &self,
        py: Python<'py>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let model = self.model();
        let chains = self.state.persistent_chains();
        let out = per_row(model, chains, self.threads(), |r, v| {
            let mut rng = stream(seed, 1, r as u64);
            sample(&model.hidden_probabilities(v), &mut rng)
        })?;
        let n = chains.len() / model.n_visible();
        Ok(matrix(py, out.concat(), n, model.n_hidden()))
    }

    /// Exact `ln Z` (the smaller layer must have at most 25 units).
    fn exact_log_partition(&self, py: Python<'_>) -> PyResult<f64> {
        let model = self.model();
        py.detach(|| on_threads(self.threads(), |par| exact_log_partition(model, par)))?
            .map_err(to_py_err)
    }

    /// `(ln Z, its standard deviation)` by AIS with `runs` runs over `betas` inverse
    /// temperatures from the base-rate model `base` (visible biases).
    #[pyo3(signature = (runs, betas, seed, base))]
    fn ais_log_partition(
        &self,
        py: Python<'_>,
        runs: usize,
        betas: usize,
        seed: u64,
        base: PyReadonlyArray1<'_, f32>,
    ) -> PyResult<(f64, f64)> {
        let base = base
            .as_slice()
            .map_err(|_| PyValueError::new_err("base must be contiguous"))?;
        let model = self.model();
        let config = AisConfig::new(runs, betas, seed);
        let estimate = py
            .detach(|| {
                on_threads(self.threads(), |par| {
                    ais_log_partition(model, base, &config, par)
                })
            })?
            .map_err(to_py_err)?;
        Ok((estimate.log_z, estimate.log_z_std))
    }

    /// The weights as scikit-learn's `components_`: `n_components x n_features`.
    fn components<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        let model = self.model();
        let (nv, nh) = (model.n_visible(), model.n_hidden());
        matrix(py, model.hidden_unit_weights(nh), nh, nv)
    }

    /// Hidden biases.
    fn intercept_hidden<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        vector(py, self.model().hidden_bias().to_vec())
    }

    /// Visible biases.
    fn intercept_visible<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        vector(py, self.model().visible_bias().to_vec())
    }

    /// Epochs trained so far (a `partial_fit` counts as one).
    #[getter]
    fn epochs_done(&self) -> usize {
        self.state.epochs_done
    }

    /// Visible units.
    #[getter]
    fn n_visible(&self) -> usize {
        self.model().n_visible()
    }

    /// Threads used by inference and training.
    #[setter]
    fn set_n_jobs(&mut self, n_jobs: usize) -> PyResult<()> {
        if n_jobs == 0 {
            return Err(PyValueError::new_err(
                "invalid parameter `n_jobs`: must be at least 1",
            ));
        }
        self.state.config.run.threads = n_jobs;
        Ok(())
    }

    /// The training state as model-file bytes (kind `binary-rbm-train-state`).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self
            .state
            .to_bytes()
            .map_err(|e| to_py_err(RbmError::from(e)))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// A state from [`Self::to_bytes`]' bytes, with every check of a model file load.
    #[staticmethod]
    fn from_bytes(bytes: &[u8]) -> PyResult<Self> {
        let state = TrainState::from_bytes(bytes, Path::new("<pickle>"))
            .map_err(|e| to_py_err(RbmError::from(e)))?;
        state.config.validate().map_err(to_py_err)?;
        Ok(Self { state })
    }

    /// Only the model, as the bytes of a `binary-rbm` model file (what `ebm rbm train
    /// --out` writes).
    fn model_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self
            .model()
            .to_bytes()
            .map_err(|e| to_py_err(RbmError::from(e)))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Pickle support: rebuild from the model-file bytes.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> crate::Reduced<'py, (Bound<'py, PyBytes>,)> {
        let constructor = slf.get_type().getattr("from_bytes")?;
        Ok((constructor, (slf.borrow().to_bytes(slf.py())?,)))
    }
}
