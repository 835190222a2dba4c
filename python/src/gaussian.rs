//! The Gaussian-Bernoulli RBM behind `ebm.GaussianRBM`.

use crate::{PyObserver, check_width, dataset, matrix, on_threads, rows, to_py_err, vector};
use ebm_core::ModelFile;
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::{LoopConfig, OptimizerConfig};
use ebm_kernels::Parallelism;
use ebm_kernels::activation::sigmoid_scalar;
use ebm_rbm::RbmError;
use ebm_rbm::gaussian::{
    GaussianMethod, GaussianRbm, GaussianTrainConfig, gaussian_ais_log_partition,
    train_gaussian_rbm,
};
use numpy::{PyArray1, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rayon::prelude::*;
use std::path::Path;

/// A trained Gaussian RBM (it standardizes its inputs with the training data's mean and
/// spread) and the threads its inference uses.
#[pyclass(module = "ebm._ebm")]
pub struct GaussianRbmCore {
    model: GaussianRbm,
    threads: usize,
}

impl GaussianRbmCore {
    /// `f(standardized row)` for every row of `x`, in row order.
    fn per_row<T: Send>(
        &self,
        x: &[f32],
        f: impl Fn(&[f32]) -> T + Sync + Send,
    ) -> PyResult<Vec<T>> {
        let model = &self.model;
        let nv = model.n_visible();
        let (mean, std) = (model.feature_mean(), model.feature_std());
        let one = |v: &[f32]| {
            let z: Vec<f32> = v
                .iter()
                .zip(mean)
                .zip(std)
                .map(|((&x, &m), &s)| (x - m) / s)
                .collect();
            f(&z)
        };
        on_threads(self.threads, |par| match par {
            Parallelism::Sequential => x.chunks_exact(nv).map(one).collect(),
            Parallelism::Threads(_) => x.par_chunks_exact(nv).map(one).collect(),
        })
    }
}

#[pymethods]
impl GaussianRbmCore {
    /// Train a new model on `x` (raw units; standardized inside) with the GIL released.
    /// `method` is "cd", "pcd" or "dsm" (denoising score matching with noise `noise`).
    #[staticmethod]
    #[pyo3(signature = (x, n_components, method, k, learn_variance, noise, learning_rate, momentum, weight_decay, n_iter, batch_size, seed, n_jobs, callback=None))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        n_components: usize,
        method: &str,
        k: usize,
        learn_variance: bool,
        noise: f32,
        learning_rate: f32,
        momentum: f32,
        weight_decay: f32,
        n_iter: usize,
        batch_size: usize,
        seed: u64,
        n_jobs: usize,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let method = match method {
            "cd" => GaussianMethod::ContrastiveDivergence,
            "pcd" => GaussianMethod::Persistent,
            "dsm" => GaussianMethod::DenoisingScoreMatching { noise_std: noise },
            other => {
                return Err(PyValueError::new_err(format!(
                    "invalid parameter `method`: {other:?} is not one of 'cd', 'pcd', 'dsm'"
                )));
            }
        };
        let data = dataset(&x, None)?;
        let config = GaussianTrainConfig {
            n_hidden: n_components,
            method,
            gibbs_steps: k,
            learn_variance,
            init_std: 0.01,
            optimizer: OptimizerConfig::sgd(
                learning_rate,
                LearningRateSchedule::Constant,
                MomentumSchedule::constant(momentum),
                weight_decay,
            ),
            run: LoopConfig {
                epochs: n_iter,
                batch_size,
                seed,
                threads: n_jobs,
                max_abs_parameter: 1e4,
            },
        };
        let (result, observer) = py.detach(|| {
            let mut observer = PyObserver::new(callback);
            let result = train_gaussian_rbm(&config, &data, &mut observer);
            (result, observer)
        });
        let model = observer.finish(result)?;
        Ok(Self {
            model,
            threads: n_jobs,
        })
    }

    /// `p(h = 1 | v)` of every row.
    fn transform<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (values, n, d) = rows(&x)?;
        check_width(d, self.model.n_visible())?;
        let model = &self.model;
        let out = py.detach(|| {
            self.per_row(values, |z| {
                model
                    .hidden_input(z)
                    .iter()
                    .map(|&a| sigmoid_scalar(a as f32))
                    .collect::<Vec<f32>>()
            })
        })?;
        Ok(matrix(py, out.concat(), n, model.n_hidden()))
    }

    /// `-F(v)` of every row, in standardized units.
    fn log_unnormalized<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (values, _, d) = rows(&x)?;
        check_width(d, self.model.n_visible())?;
        let model = &self.model;
        let out = py.detach(|| self.per_row(values, |z| -model.free_energy(z)))?;
        Ok(vector(py, out))
    }

    /// Exact `ln Z` (at most 24 hidden units), standardized units.
    fn exact_log_partition(&self) -> PyResult<f64> {
        self.model.exact_log_partition().map_err(to_py_err)
    }

    /// `(ln Z, its standard deviation)` by AIS.
    fn ais_log_partition(
        &self,
        py: Python<'_>,
        runs: usize,
        betas: usize,
        seed: u64,
    ) -> PyResult<(f64, f64)> {
        let model = &self.model;
        let estimate = py
            .detach(|| {
                on_threads(self.threads, |_| {
                    gaussian_ais_log_partition(model, runs, betas, seed)
                })
            })?
            .map_err(to_py_err)?;
        Ok((estimate.log_z, estimate.log_z_std))
    }

    /// Weights `n_components x n_features` (standardized units).
    fn components<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        let (nv, nh) = (self.model.n_visible(), self.model.n_hidden());
        let w = self.model.weights();
        let t: Vec<f32> = (0..nh)
            .flat_map(|j| (0..nv).map(move |i| w[i * nh + j]))
            .collect();
        matrix(py, t, nh, nv)
    }

    /// Hidden biases.
    fn intercept_hidden<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        vector(py, self.model.hidden_bias().to_vec())
    }

    /// Visible biases (standardized units).
    fn intercept_visible<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        vector(py, self.model.visible_bias().to_vec())
    }

    /// Standard deviations of the visible units (standardized units).
    fn visible_std<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        vector(py, self.model.visible_std())
    }

    /// `(mean, std)` of the training features.
    fn standardization<'py>(
        &self,
        py: Python<'py>,
    ) -> (Bound<'py, PyArray1<f32>>, Bound<'py, PyArray1<f32>>) {
        (
            vector(py, self.model.feature_mean().to_vec()),
            vector(py, self.model.feature_std().to_vec()),
        )
    }

    /// Threads used by inference.
    #[setter]
    fn set_n_jobs(&mut self, n_jobs: usize) {
        self.threads = n_jobs.max(1);
    }

    /// The model as model-file bytes (kind `gaussian-rbm`).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self
            .model
            .to_bytes()
            .map_err(|e| to_py_err(RbmError::from(e)))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// A model from [`Self::to_bytes`]' bytes, with every check of a model file load.
    #[staticmethod]
    #[pyo3(signature = (bytes, n_jobs=1))]
    fn from_bytes(bytes: &[u8], n_jobs: usize) -> PyResult<Self> {
        let model = GaussianRbm::from_bytes(bytes, Path::new("<pickle>"))
            .map_err(|e| to_py_err(RbmError::from(e)))?;
        Ok(Self {
            model,
            threads: n_jobs.max(1),
        })
    }

    /// Pickle support: rebuild from the model-file bytes.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> crate::Reduced<'py, (Bound<'py, PyBytes>, usize)> {
        let constructor = slf.get_type().getattr("from_bytes")?;
        let this = slf.borrow();
        Ok((constructor, (this.to_bytes(slf.py())?, this.threads)))
    }
}
