//! The classification RBM behind `ebm.ClassRBM`.

use crate::{PyObserver, check_width, dataset, matrix, on_threads, rows, to_py_err};
use ebm_core::ModelFile;
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::{LoopConfig, OptimizerConfig};
use ebm_kernels::Parallelism;
use ebm_rbm::RbmError;
use ebm_rbm::class_rbm::{ClassRbm, ClassTrainConfig, Objective, train_class_rbm};
use numpy::{PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rayon::prelude::*;
use std::path::Path;

/// A trained classification RBM and the threads its inference uses.
#[pyclass(module = "ebm._ebm")]
pub struct ClassRbmCore {
    model: ClassRbm,
    threads: usize,
}

#[pymethods]
impl ClassRbmCore {
    /// Train a new model on inputs `x` and class indices `y` (`0..n_classes`) with the GIL
    /// released. `objective` is "discriminative", "generative" or "hybrid" (with
    /// `generative_weight`); the learning rate decays linearly to 0 when `decay` is set.
    #[staticmethod]
    #[pyo3(signature = (x, y, n_classes, n_components, objective, generative_weight, learning_rate, decay, momentum, weight_decay, n_iter, batch_size, seed, n_jobs, callback=None))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        y: PyReadonlyArray1<'_, u8>,
        n_classes: usize,
        n_components: usize,
        objective: &str,
        generative_weight: f32,
        learning_rate: f32,
        decay: bool,
        momentum: f32,
        weight_decay: f32,
        n_iter: usize,
        batch_size: usize,
        seed: u64,
        n_jobs: usize,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let objective = match objective {
            "discriminative" => Objective::Discriminative,
            "generative" => Objective::Generative,
            "hybrid" => Objective::Hybrid { generative_weight },
            other => {
                return Err(PyValueError::new_err(format!(
                    "invalid parameter `objective`: {other:?} is not one of 'discriminative', 'generative', 'hybrid'"
                )));
            }
        };
        let labels = y
            .as_slice()
            .map_err(|_| PyValueError::new_err("y must be contiguous"))?
            .to_vec();
        let data = dataset(&x, Some(labels))?;
        if data
            .labels
            .as_ref()
            .is_some_and(|l| l.len() != data.n_examples)
        {
            return Err(PyValueError::new_err(
                "X and y have different numbers of samples",
            ));
        }
        let schedule = if decay {
            LearningRateSchedule::Linear {
                final_fraction: 0.0,
            }
        } else {
            LearningRateSchedule::Constant
        };
        let config = ClassTrainConfig {
            n_hidden: n_components,
            n_classes,
            objective,
            init_std: 0.05,
            optimizer: OptimizerConfig::sgd(
                learning_rate,
                schedule,
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
            let result = train_class_rbm(&config, &data, &mut observer);
            (result, observer)
        });
        let model = observer.finish(result)?;
        Ok(Self {
            model,
            threads: n_jobs,
        })
    }

    /// `ln p(y | x)` of every class for every row (`n x n_classes`).
    fn predict_log_proba<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (values, n, d) = rows(&x)?;
        check_width(d, self.model.n_visible())?;
        let model = &self.model;
        let classes = model.n_classes();
        let nv = model.n_visible();
        let mut out = vec![0.0f32; n * classes];
        py.detach(|| {
            on_threads(self.threads, |par| match par {
                Parallelism::Sequential => values
                    .chunks_exact(nv)
                    .zip(out.chunks_exact_mut(classes))
                    .for_each(|(v, o)| model.row_class_log_probabilities(v, o)),
                Parallelism::Threads(_) => values
                    .par_chunks_exact(nv)
                    .zip(out.par_chunks_exact_mut(classes))
                    .for_each(|(v, o)| model.row_class_log_probabilities(v, o)),
            })
        })?;
        Ok(matrix(py, out, n, classes))
    }

    /// Input weights `n_components x n_features`.
    fn components<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        let (nv, nh) = (self.model.n_visible(), self.model.n_hidden());
        let w = self.model.weights();
        let t: Vec<f32> = (0..nh)
            .flat_map(|j| (0..nv).map(move |i| w[i * nh + j]))
            .collect();
        matrix(py, t, nh, nv)
    }

    /// Label weights `n_classes x n_components`.
    fn class_components<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        let (c, nh) = (self.model.n_classes(), self.model.n_hidden());
        matrix(py, self.model.class_weights().to_vec(), c, nh)
    }

    /// Threads used by inference.
    #[setter]
    fn set_n_jobs(&mut self, n_jobs: usize) {
        self.threads = n_jobs.max(1);
    }

    /// The model as model-file bytes (kind `class-rbm`).
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
        let model = ClassRbm::from_bytes(bytes, Path::new("<pickle>"))
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
