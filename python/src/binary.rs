//! The binary RBM behind `ebm.BernoulliRBM`: its whole training state (model, optimizer,
//! persistent chains), so `partial_fit` and pickling carry everything.

use crate::cores::{Ais, Core, Rbm, file_bytes};
use crate::{Sgd, compute, dataset, map_rows, per_row, stacked, to_py_err, train_detached, vector};
use ebm_core::schedule::LearningRateSchedule;
use ebm_core::train::LoopConfig;
use ebm_kernels::Parallelism;
use ebm_kernels::rng::{stream, uniform_f64};
use ebm_rbm::metrics::{
    AisConfig, AisEstimate, ais_log_partition, exact_log_partition, pseudo_log_likelihoods,
};
use ebm_rbm::train::{Method, TrainConfig, TrainState, train};
use ebm_rbm::{BinaryRbm, RbmError};
use numpy::{PyArray1, PyArray2, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

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

impl BinaryRbmCore {
    fn model(&self) -> &BinaryRbm {
        &self.state.model
    }
}

impl Core for BinaryRbmCore {
    type File = TrainState;

    fn file(&self) -> &TrainState {
        &self.state
    }

    fn restore(mut state: TrainState, threads: Option<usize>) -> PyResult<Self> {
        state.config.validate().map_err(to_py_err)?;
        if let Some(threads) = threads {
            state.config.run.threads = threads;
        }
        Ok(Self { state })
    }

    fn threads(&self) -> usize {
        self.state.config.run.threads
    }

    fn set_threads(&mut self, threads: usize) {
        self.state.config.run.threads = threads;
    }
}

impl Rbm for BinaryRbmCore {
    fn n_visible(&self) -> usize {
        self.model().n_visible()
    }

    fn n_hidden(&self) -> usize {
        self.model().n_hidden()
    }

    fn hidden_probabilities(&self, v: &[f32]) -> Vec<f32> {
        self.model().hidden_probabilities(v)
    }

    fn log_unnormalized(&self, v: &[f32]) -> f64 {
        self.model().log_unnormalized(v)
    }

    fn components(&self) -> Vec<f32> {
        self.model().hidden_unit_weights(self.model().n_hidden())
    }

    fn hidden_bias(&self) -> &[f32] {
        self.model().hidden_bias()
    }

    fn visible_bias(&self) -> &[f32] {
        self.model().visible_bias()
    }

    fn exact_log_partition(&self, par: Parallelism) -> Result<f64, RbmError> {
        exact_log_partition(self.model(), par)
    }

    fn ais_log_partition(&self, ais: &Ais<'_>, par: Parallelism) -> Result<AisEstimate, RbmError> {
        let uniform;
        let base = match ais.base {
            Some(base) => base,
            None => {
                uniform = vec![0.0; self.model().n_visible()];
                &uniform
            }
        };
        let config = AisConfig::new(ais.runs, ais.betas, ais.seed);
        ais_log_partition(self.model(), base, &config, par)
    }
}

crate::cores::core_methods!(BinaryRbmCore);
crate::cores::rbm_methods!(BinaryRbmCore);

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
        let sgd = Sgd {
            learning_rate,
            momentum: 0.0,
            weight_decay: 0.0,
            n_iter: 1,
            batch_size,
            seed,
            n_jobs,
        };
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
            optimizer: sgd.optimizer(LearningRateSchedule::Constant),
            run: LoopConfig {
                max_abs_parameter: f32::MAX,
                ..sgd.run()
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
        crate::check_width(data.n_features, self.model().n_visible())?;
        let run = &mut self.state.config.run;
        run.batch_size = batch_size;
        run.epochs = self.state.epochs_done + n_iter;
        let state = &mut self.state;
        train_detached(py, callback, |observer| train(state, &data, observer)).map(|_| ())
    }

    /// The full pseudo-log-likelihood `sum_i ln p(v_i | v_-i)` of every row.
    fn pseudo_log_likelihoods<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (values, _, d) = crate::rows(&x)?;
        let model = self.model();
        crate::check_width(d, model.n_visible())?;
        let out = compute(py, self.threads(), |par| {
            pseudo_log_likelihoods(model, values, par)
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
        let model = self.model();
        let out = map_rows(py, &x, model.n_visible(), self.threads(), |r, v| {
            let mut rng = stream(seed, 0, r as u64);
            let h = sample(&model.hidden_probabilities(v), &mut rng);
            sample(&model.visible_probabilities(&h), &mut rng)
        })?;
        Ok(stacked(py, out, model.n_visible()))
    }

    /// Hidden samples of the persistent chains (`chains x n_components`; no rows for CD).
    fn hidden_samples<'py>(
        &self,
        py: Python<'py>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let model = self.model();
        let chains = self.state.persistent_chains();
        let out = per_row(chains, model.n_visible(), self.threads(), |r, v| {
            let mut rng = stream(seed, 1, r as u64);
            sample(&model.hidden_probabilities(v), &mut rng)
        })?;
        Ok(stacked(py, out, model.n_hidden()))
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

    /// Only the model, as the bytes of a `binary-rbm` model file (what `ebm rbm train
    /// --out` writes).
    fn model_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        file_bytes(py, self.model())
    }
}
