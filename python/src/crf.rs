//! The structured learners behind `ebm.factor.ChainCRF` and `ebm.factor.GridCRF`: the
//! chain CRF of ebm-learn's HMM task (initial, emission and transition templates over
//! symbol sequences) and the binary grid CRF of its denoising task (unary `(1, pixel)`
//! and horizontal / vertical pair templates), trained by `ebm_learn::train::train` and
//! decoded by `ebm_factor::solve` (as `ebm_learn::metrics::evaluate` decodes), as
//! `ebm factor learn` / `predict` do.

use crate::cores::Core;
use crate::errors::to_py_err;
use crate::{PyObserver, choose, on_threads, train_detached, vector};
use ebm_factor::solve::{Method, SolveOptions, solve};
use ebm_learn::data::Example;
use ebm_learn::learned::LearnedModel;
use ebm_learn::tasks::TaskShape;
use ebm_learn::tasks::denoise::{grid_example, grid_structure};
use ebm_learn::tasks::hmm::{chain_example, chain_templates};
use ebm_learn::templates::TemplateSet;
use ebm_learn::train::{Learner, TrainConfig, train};
use numpy::{IntoPyArray, PyArray1, PyArray3, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

crate::cores::fitted_core!(
    /// A learned chain or grid CRF (its task shape says which) and the threads its
    /// decoding uses.
    CrfCore(LearnedModel)
);

/// The settings of a training run, as the Python layer passes them: one dict with these
/// keys (`None`: the task's default, as `ebm factor learn`).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Learning {
    method: String,
    n_iter: usize,
    learning_rate: Option<f64>,
    regularization: Option<f64>,
    batch_size: usize,
    decoder: Option<String>,
    cd_steps: usize,
    seed: u64,
    n_jobs: usize,
}

/// The learner called `name` (the CLI's `--method` names).
fn learner(name: &str, cd_steps: usize) -> PyResult<Learner> {
    let learners = [
        Learner::Perceptron { averaged: false },
        Learner::Perceptron { averaged: true },
        Learner::SsvmSubgradient,
        Learner::SsvmFrankWolfe,
        Learner::MaximumLikelihood,
        Learner::PseudoLikelihood,
        Learner::ContrastiveDivergence { steps: cd_steps },
    ];
    choose("method", name, learners.map(|l| (l.name(), l)))
}

/// The MAP decoder called `name` (the CLI's `--decoder` names), or the task's own.
fn decoder(name: Option<&str>, shape: TaskShape) -> PyResult<Method> {
    let Some(name) = name else {
        return Ok(shape.decoder());
    };
    let methods = [
        Method::Exact,
        Method::GraphCut,
        Method::Icm,
        Method::MaxProduct,
        Method::BranchAndBound,
        Method::Anneal,
    ];
    choose("decoder", name, methods.map(|m| (m.name(), m)))
}

/// Train on `examples` of `shape` as `settings` ask (GIL released; `callback` after every
/// epoch, Ctrl-C stops with `KeyboardInterrupt`) into a new core.
fn fit_task(
    py: Python<'_>,
    shape: TaskShape,
    templates: TemplateSet,
    examples: Vec<Example>,
    settings: Learning,
    callback: Option<Py<PyAny>>,
) -> PyResult<CrfCore> {
    let usual = shape.train_config(learner(&settings.method, settings.cd_steps)?);
    let config = TrainConfig {
        epochs: settings.n_iter,
        learning_rate: settings.learning_rate.unwrap_or(usual.learning_rate),
        regularization: settings.regularization.unwrap_or(usual.regularization),
        batch: settings.batch_size,
        map_method: decoder(settings.decoder.as_deref(), shape)?,
        seed: settings.seed,
        ..usual
    };
    let epochs = config.epochs;
    let trained = train_detached(py, callback, |observer: &mut PyObserver| {
        on_threads(settings.n_jobs, |_| {
            train(&templates, &examples, &config, |r| {
                let metrics = [("objective", r.objective), ("mistakes", r.mistakes as f64)];
                observer.epoch(r.epoch, epochs, r.seconds, &metrics)
            })
        })?
        .map_err(to_py_err)
    })?;
    let name = config.learner.name();
    let model = LearnedModel::new(Some(shape), name, templates, trained.weights, None)
        .map_err(to_py_err)?;
    CrfCore::restore(model, Some(settings.n_jobs))
}

impl CrfCore {
    /// The chain's number of symbols, or a `ValueError` for a grid model.
    fn chain(&self) -> PyResult<usize> {
        match self.model.task {
            Some(TaskShape::Hmm { symbols, .. }) => Ok(symbols),
            _ => Err(PyValueError::new_err("not a chain CRF")),
        }
    }

    /// Whether the grid model has pairwise factors, once `images` are checked to be of its
    /// size; a `ValueError` for a chain model or images of another size.
    fn grid(&self, images: &PyReadonlyArray3<'_, f64>) -> PyResult<bool> {
        let Some(TaskShape::Denoise {
            height,
            width,
            pairwise,
        }) = self.model.task
        else {
            return Err(PyValueError::new_err("not a grid CRF"));
        };
        let shape = images.shape();
        if (shape[1], shape[2]) != (height, width) {
            return Err(PyValueError::new_err(format!(
                "X has images of {}x{}, but the model was fit on {height}x{width}",
                shape[1], shape[2]
            )));
        }
        Ok(pairwise)
    }

    /// The MAP labeling of every example by `decoder` (example `i` with seed `seed + i`,
    /// as `ebm_learn::metrics::evaluate` decodes), with the GIL released.
    fn decode(
        &self,
        py: Python<'_>,
        examples: &[Example],
        decoder: Option<&str>,
        seed: u64,
    ) -> PyResult<Vec<Vec<usize>>> {
        let method = decoder_of(decoder, &self.model)?;
        let budgets = SolveOptions::deterministic();
        py.detach(|| {
            on_threads(self.threads, |_| {
                let decode = |(i, example): (usize, &Example)| {
                    let model = self.model.instantiate(example).map_err(to_py_err)?;
                    let options = SolveOptions {
                        seed: seed.wrapping_add(i as u64),
                        ..budgets
                    };
                    let solved = solve(&model, method, &options).map_err(to_py_err)?;
                    Ok(solved.solution.assignment)
                };
                examples.par_iter().enumerate().map(decode).collect()
            })
        })?
    }
}

/// The decoder of a learned model's task (see [`decoder`]).
fn decoder_of(name: Option<&str>, model: &LearnedModel) -> PyResult<Method> {
    let shape = model
        .task
        .ok_or_else(|| PyValueError::new_err("the model holds no task"))?;
    decoder(name, shape)
}

/// Chain examples of symbol sequences, labeled by `states` (zeros to predict).
fn chain_examples(
    templates: &TemplateSet,
    states: &[Vec<usize>],
    symbols: &[Vec<usize>],
    symbol_count: usize,
) -> PyResult<Vec<Example>> {
    states
        .iter()
        .zip(symbols)
        .map(|(y, x)| chain_example(templates, y, x, symbol_count).map_err(to_py_err))
        .collect()
}

/// Grid examples of `n x height x width` images, labeled by `labels` (zeros to predict),
/// on the structure of `height x width` grids (with the pairwise factors or not).
fn grid_examples(
    images: &PyReadonlyArray3<'_, f64>,
    labels: Option<&PyReadonlyArray3<'_, i64>>,
    pairwise: bool,
) -> PyResult<(TemplateSet, Vec<Example>)> {
    let shape = images.shape();
    let (height, width) = (shape[1], shape[2]);
    let pixels = images
        .as_slice()
        .map_err(|_| PyValueError::new_err("X must be C-contiguous"))?;
    let truth = match labels {
        Some(labels) => Some(
            labels
                .as_slice()
                .map_err(|_| PyValueError::new_err("Y must be C-contiguous"))?,
        ),
        None => None,
    };
    let (templates, structure) = grid_structure(height, width, pairwise).map_err(to_py_err)?;
    let size = height * width;
    let examples = (0..shape[0])
        .map(|i| {
            let y = match truth {
                Some(t) => t[i * size..(i + 1) * size]
                    .iter()
                    .map(|&l| usize::try_from(l).unwrap_or(usize::MAX))
                    .collect(),
                None => vec![0; size],
            };
            grid_example(&structure, &pixels[i * size..(i + 1) * size], y).map_err(to_py_err)
        })
        .collect::<PyResult<_>>()?;
    Ok((templates, examples))
}

#[pymethods]
impl CrfCore {
    /// Learn a chain CRF over `n_states` labels and `n_symbols` symbols from symbol
    /// sequences and their label sequences.
    #[staticmethod]
    #[pyo3(signature = (states, symbols, n_states, n_symbols, settings, callback=None))]
    fn fit_chain(
        py: Python<'_>,
        states: Vec<Vec<usize>>,
        symbols: Vec<Vec<usize>>,
        n_states: usize,
        n_symbols: usize,
        settings: Learning,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let templates = chain_templates(n_states, n_symbols).map_err(to_py_err)?;
        let examples = chain_examples(&templates, &states, &symbols, n_symbols)?;
        let shape = TaskShape::Hmm {
            states: n_states,
            symbols: n_symbols,
        };
        fit_task(py, shape, templates, examples, settings, callback)
    }

    /// Learn a binary grid CRF from `(images, labels)`: `n x height x width` images and
    /// their 0/1 labels.
    #[staticmethod]
    #[pyo3(signature = (data, pairwise, settings, callback=None))]
    fn fit_grid(
        py: Python<'_>,
        data: (PyReadonlyArray3<'_, f64>, PyReadonlyArray3<'_, i64>),
        pairwise: bool,
        settings: Learning,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let (images, labels) = data;
        let (templates, examples) = grid_examples(&images, Some(&labels), pairwise)?;
        let shape = images.shape();
        let task = TaskShape::Denoise {
            height: shape[1],
            width: shape[2],
            pairwise,
        };
        fit_task(py, task, templates, examples, settings, callback)
    }

    /// The MAP label sequence of every symbol sequence.
    #[pyo3(signature = (symbols, decoder=None, seed=1))]
    fn predict_chain(
        &self,
        py: Python<'_>,
        symbols: Vec<Vec<usize>>,
        decoder: Option<&str>,
        seed: u64,
    ) -> PyResult<Vec<Vec<usize>>> {
        let n_symbols = self.chain()?;
        let zeros: Vec<Vec<usize>> = symbols.iter().map(|x| vec![0; x.len()]).collect();
        let examples = chain_examples(&self.model.templates, &zeros, &symbols, n_symbols)?;
        self.decode(py, &examples, decoder, seed)
    }

    /// The MAP labeling (`n x height x width`, 0/1) of every image.
    #[pyo3(signature = (images, decoder=None, seed=1))]
    fn predict_grid<'py>(
        &self,
        py: Python<'py>,
        images: PyReadonlyArray3<'py, f64>,
        decoder: Option<&str>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyArray3<i64>>> {
        let pairwise = self.grid(&images)?;
        let shape = images.shape();
        let (n, height, width) = (shape[0], shape[1], shape[2]);
        let (_, examples) = grid_examples(&images, None, pairwise)?;
        let labels = self.decode(py, &examples, decoder, seed)?;
        let flat: Vec<i64> = labels.iter().flatten().map(|&l| l as i64).collect();
        let array = numpy::ndarray::Array3::from_shape_vec((n, height, width), flat)
            .expect("one label per pixel");
        Ok(array.into_pyarray(py))
    }

    /// The learned weight vector (the templates' blocks one after another).
    fn weights<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.model.weights.clone())
    }

    /// `(name, label counts, feature dimension)` of every template, in weight order.
    fn templates(&self) -> Vec<(String, Vec<usize>, usize)> {
        let templates = self.model.templates.templates().iter();
        templates
            .map(|t| (t.name.clone(), t.label_counts.clone(), t.feature_dim))
            .collect()
    }

    /// The learner that produced the weights.
    #[getter]
    fn learner(&self) -> String {
        self.model.learner.clone()
    }
}
