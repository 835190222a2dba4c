//! The classification RBM behind `ebm.ClassRBM`.

use crate::cores::Core;
use crate::{Sgd, choose, dataset, map_rows, matrix, stacked, train_detached, transposed};
use ebm_core::schedule::LearningRateSchedule;
use ebm_rbm::class_rbm::{ClassRbm, ClassTrainConfig, Objective, train_class_rbm};
use numpy::{PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

crate::cores::fitted_core!(
    /// A trained classification RBM and the threads its inference uses.
    ClassRbmCore(ClassRbm)
);

#[pymethods]
impl ClassRbmCore {
    /// Train a new model on inputs `x` and class indices `y` (`0..n_classes`) with the GIL
    /// released. `objective` is "discriminative", "generative" or "hybrid" (with
    /// `generative_weight`); the learning rate decays linearly to 0 when `decay` is set;
    /// `sgd` is the dict of [`Sgd`] settings.
    #[staticmethod]
    #[pyo3(signature = (x, y, n_classes, n_components, objective, generative_weight, decay, sgd, callback=None))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        y: PyReadonlyArray1<'_, u8>,
        n_classes: usize,
        n_components: usize,
        objective: &str,
        generative_weight: f32,
        decay: bool,
        sgd: Sgd,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
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
            objective: choose(
                "objective",
                objective,
                [
                    ("discriminative", Objective::Discriminative),
                    ("generative", Objective::Generative),
                    ("hybrid", Objective::Hybrid { generative_weight }),
                ],
            )?,
            init_std: 0.05,
            persistent_chains: 0,
            optimizer: sgd.optimizer(schedule),
            run: sgd.run(),
        };
        let model = train_detached(py, callback, |observer| {
            train_class_rbm(&config, &data, observer)
        })?;
        Self::restore(model, Some(sgd.n_jobs))
    }

    /// `ln p(y | x)` of every class for every row (`n x n_classes`).
    fn predict_log_proba<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let model = &self.model;
        let classes = model.n_classes();
        let out = map_rows(py, &x, model.n_visible(), self.threads, |_, v| {
            let mut log_p = vec![0.0f32; classes];
            model.row_class_log_probabilities(v, &mut log_p);
            log_p
        })?;
        Ok(stacked(py, out, classes))
    }

    /// Input weights `n_components x n_features`.
    fn components<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        let (nv, nh) = (self.model.n_visible(), self.model.n_hidden());
        matrix(py, transposed(self.model.weights(), nv, nh), nh, nv)
    }

    /// Label weights `n_classes x n_components`.
    fn class_components<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        let (c, nh) = (self.model.n_classes(), self.model.n_hidden());
        matrix(py, self.model.class_weights().to_vec(), c, nh)
    }
}
