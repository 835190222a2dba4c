//! The Gaussian-Bernoulli RBM behind `ebm.GaussianRBM`.

use crate::cores::{Ais, Core, Rbm};
use crate::{Sgd, choose, dataset, train_detached, transposed, vector};
use ebm_core::schedule::LearningRateSchedule;
use ebm_kernels::Parallelism;
use ebm_kernels::activation::sigmoid_scalar;
use ebm_rbm::RbmError;
use ebm_rbm::gaussian::{
    GaussianMethod, GaussianRbm, GaussianTrainConfig, gaussian_ais_log_partition,
    train_gaussian_rbm,
};
use ebm_rbm::metrics::AisEstimate;
use numpy::{PyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

crate::cores::fitted_core!(
    /// A trained Gaussian RBM (it standardizes its inputs with the training data's mean
    /// and spread) and the threads its inference uses.
    GaussianRbmCore(GaussianRbm)
);
crate::cores::rbm_methods!(GaussianRbmCore);

impl GaussianRbmCore {
    /// An input row in the model's standardized units.
    fn standardized(&self, v: &[f32]) -> Vec<f32> {
        let (mean, std) = (self.model.feature_mean(), self.model.feature_std());
        v.iter()
            .zip(mean)
            .zip(std)
            .map(|((&x, &m), &s)| (x - m) / s)
            .collect()
    }
}

impl Rbm for GaussianRbmCore {
    fn n_visible(&self) -> usize {
        self.model.n_visible()
    }

    fn n_hidden(&self) -> usize {
        self.model.n_hidden()
    }

    fn hidden_probabilities(&self, v: &[f32]) -> Vec<f32> {
        let z = self.standardized(v);
        self.model
            .hidden_input(&z)
            .iter()
            .map(|&a| sigmoid_scalar(a as f32))
            .collect()
    }

    fn log_unnormalized(&self, v: &[f32]) -> f64 {
        -self.model.free_energy(&self.standardized(v))
    }

    fn components(&self) -> Vec<f32> {
        let model = &self.model;
        transposed(model.weights(), model.n_visible(), model.n_hidden())
    }

    fn hidden_bias(&self) -> &[f32] {
        self.model.hidden_bias()
    }

    fn visible_bias(&self) -> &[f32] {
        self.model.visible_bias()
    }

    fn exact_log_partition(&self, _: Parallelism) -> Result<f64, RbmError> {
        self.model.exact_log_partition()
    }

    /// A Gaussian RBM's AIS starts from its own base model: `ais.base` is not used.
    fn ais_log_partition(&self, ais: &Ais<'_>, _: Parallelism) -> Result<AisEstimate, RbmError> {
        gaussian_ais_log_partition(&self.model, ais.runs, ais.betas, ais.seed)
    }
}

#[pymethods]
impl GaussianRbmCore {
    /// Train a new model on `x` (raw units; standardized inside) with the GIL released.
    /// `method` is "cd", "pcd" or "dsm" (denoising score matching with noise `noise`);
    /// `sgd` the dict of [`Sgd`] settings.
    #[staticmethod]
    #[pyo3(signature = (x, n_components, method, k, learn_variance, noise, sgd, callback=None))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        n_components: usize,
        method: &str,
        k: usize,
        learn_variance: bool,
        noise: f32,
        sgd: Sgd,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let data = dataset(&x, None)?;
        let config = GaussianTrainConfig {
            n_hidden: n_components,
            method: choose(
                "method",
                method,
                [
                    ("cd", GaussianMethod::ContrastiveDivergence),
                    ("pcd", GaussianMethod::Persistent),
                    (
                        "dsm",
                        GaussianMethod::DenoisingScoreMatching { noise_std: noise },
                    ),
                ],
            )?,
            gibbs_steps: k,
            learn_variance,
            init_std: 0.01,
            optimizer: sgd.optimizer(LearningRateSchedule::Constant),
            run: sgd.run(),
        };
        let model = train_detached(py, callback, |observer| {
            train_gaussian_rbm(&config, &data, observer)
        })?;
        Self::restore(model, Some(sgd.n_jobs))
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
}
