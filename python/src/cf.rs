//! The collaborative-filtering RBM behind `ebm.cf.RBMRecommender` (ebm-cf's [`CfModel`]),
//! and the rating-file readers of `ebm.cf` (ebm-data's, the formats `ebm cf` sniffs).

use crate::cores::Core;
use crate::errors::to_py_err;
use crate::{choose, on_threads, train_detached, vector};
use ebm_cf::metrics::{accuracy, ranking};
use ebm_cf::train::{CdSchedule, TrainConfig, initial_model, train};
use ebm_cf::{CfModel, Orientation, Query, RatingsData};
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::OptimizerConfig;
use ebm_data::ratings::{self, Rating};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::PathBuf;

crate::cores::fitted_core!(
    /// A trained recommender (the shared RBM and the ratings it conditions on) and the
    /// threads its predictions use.
    CfCore(CfModel)
);

/// Ratings as the three columns numpy holds them in.
type Columns<'py> = (
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<f32>>,
);

/// A recommendation list: the items and their expected ratings.
type Recommended<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<f32>>);

/// The settings of a training run, as the Python layer passes them: one dict with these
/// keys (the `ebm cf train` flags of the same meaning).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Settings {
    variant: String,
    conditional: bool,
    n_components: usize,
    n_iter: usize,
    batch_size: usize,
    learning_rate: f32,
    lr_schedule: String,
    momentum: f32,
    weight_decay: f32,
    cd_steps: Vec<usize>,
    cd_stage_epochs: Option<usize>,
    seed: u64,
    n_jobs: usize,
}

impl Settings {
    /// The library's config, checked.
    fn config(&self) -> PyResult<TrainConfig> {
        let variants = [
            ("user", Orientation::UserBased),
            ("item", Orientation::ItemBased),
        ];
        let final_rate = LearningRateSchedule::Linear {
            final_fraction: 0.0,
        };
        let schedules = [
            ("linear", final_rate),
            ("constant", LearningRateSchedule::Constant),
        ];
        // The CLI's default: the epochs split evenly over the CD stages.
        let even = self.n_iter.div_ceil(self.cd_steps.len().max(1)).max(1);
        let defaults = TrainConfig::default();
        let mut run = defaults.run.with_batches(self.n_iter, self.batch_size);
        (run.seed, run.threads) = (self.seed, self.n_jobs);
        let config = TrainConfig {
            orientation: choose("variant", &self.variant, variants)?,
            conditional: self.conditional,
            n_hidden: self.n_components,
            cd: CdSchedule {
                stages: self.cd_steps.clone(),
                epochs_per_stage: self.cd_stage_epochs.unwrap_or(even),
            },
            optimizer: OptimizerConfig::sgd(
                self.learning_rate,
                choose("lr_schedule", &self.lr_schedule, schedules)?,
                MomentumSchedule::constant(self.momentum),
                self.weight_decay,
            ),
            run,
            ..defaults
        };
        config.validate().map_err(to_py_err)?;
        Ok(config)
    }
}

/// A numpy column as a slice.
fn slice<'a, T: numpy::Element>(column: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    column
        .as_slice()
        .map_err(|_| PyValueError::new_err("rating columns must be contiguous"))
}

/// Ratings of equally long columns (`values` absent: pairs to predict, valued 0).
fn rows(
    users: &PyReadonlyArray1<'_, u64>,
    items: &PyReadonlyArray1<'_, u64>,
    values: Option<&PyReadonlyArray1<'_, f32>>,
) -> PyResult<Vec<Rating>> {
    let (users, items) = (slice(users)?, slice(items)?);
    let values = match values {
        Some(values) => slice(values)?.to_vec(),
        None => vec![0.0; users.len()],
    };
    if users.len() != items.len() || users.len() != values.len() {
        return Err(PyValueError::new_err(format!(
            "{} users, {} items and {} ratings: one of each per rating",
            users.len(),
            items.len(),
            values.len()
        )));
    }
    let ratings = users.iter().zip(items).zip(values);
    Ok(ratings
        .map(|((&user, &item), value)| Rating { user, item, value })
        .collect())
}

/// Ratings as three numpy columns.
fn columns(py: Python<'_>, ratings: Vec<Rating>) -> Columns<'_> {
    (
        vector(py, ratings.iter().map(|r| r.user).collect()),
        vector(py, ratings.iter().map(|r| r.item).collect()),
        vector(py, ratings.iter().map(|r| r.value).collect()),
    )
}

impl CfCore {
    /// The model's queries of the pairs (their true values, if any, in `values`).
    fn queries(
        &self,
        users: &PyReadonlyArray1<'_, u64>,
        items: &PyReadonlyArray1<'_, u64>,
        values: Option<&PyReadonlyArray1<'_, f32>>,
    ) -> PyResult<Vec<Query>> {
        Ok(self.model.queries(&rows(users, items, values)?))
    }
}

#[pymethods]
impl CfCore {
    /// A fresh model of the ratings `(users[i], items[i], values[i])`; the pairs `asked`
    /// (users, items) are the ones to be predicted (the conditional variant's inputs).
    #[staticmethod]
    fn initialize(
        users: PyReadonlyArray1<'_, u64>,
        items: PyReadonlyArray1<'_, u64>,
        values: PyReadonlyArray1<'_, f32>,
        asked: (PyReadonlyArray1<'_, u64>, PyReadonlyArray1<'_, u64>),
        settings: Settings,
    ) -> PyResult<Self> {
        let config = settings.config()?;
        let data = RatingsData::from_ratings(&rows(&users, &items, Some(&values))?);
        let data = data.map_err(to_py_err)?;
        let queries = data.queries(&rows(&asked.0, &asked.1, None)?);
        let model = initial_model(&config, &data, &queries).map_err(to_py_err)?;
        Self::restore(model, Some(settings.n_jobs))
    }

    /// Train for `settings["n_iter"]` epochs with the GIL released, `callback(epoch,
    /// epochs, seconds, metrics)` after each; the epochs run. Ctrl-C stops after the
    /// current epoch with `KeyboardInterrupt`, the model at the end of the last finished
    /// epoch.
    #[pyo3(signature = (settings, callback=None))]
    fn train(
        &mut self,
        py: Python<'_>,
        settings: Settings,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<usize> {
        let config = settings.config()?;
        let model = &mut self.model;
        let summary = train_detached(py, callback, |observer| train(model, &config, observer))?;
        Ok(summary.epochs_run)
    }

    /// The expected rating of every `(users[i], items[i])` pair (an unknown user or item
    /// gets the library's fallback).
    fn predict<'py>(
        &self,
        py: Python<'py>,
        users: PyReadonlyArray1<'py, u64>,
        items: PyReadonlyArray1<'py, u64>,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let queries = self.queries(&users, &items, None)?;
        let predicted = py.detach(|| on_threads(self.threads, |_| self.model.predict(&queries)))?;
        Ok(vector(py, predicted))
    }

    /// The `top` unrated items with the highest expected rating for `user`: `(items,
    /// expected ratings)`, best first.
    fn recommend<'py>(&self, py: Python<'py>, user: u64, top: usize) -> PyResult<Recommended<'py>> {
        let list = py.detach(|| on_threads(self.threads, |_| self.model.recommend(user, top)))?;
        let list = list.map_err(to_py_err)?;
        let items = list.iter().map(|&(item, _)| item).collect();
        let scores = list.iter().map(|&(_, score)| score).collect();
        Ok((vector(py, items), vector(py, scores)))
    }

    /// What `ebm cf eval` reports of held-out ratings: RMSE and MAE of the predictions,
    /// precision, recall and NDCG of the top `k` lists (relevant: rated at least
    /// `relevant_from`), the users ranked, and the unknown users and items.
    fn evaluate(
        &self,
        py: Python<'_>,
        users: PyReadonlyArray1<'_, u64>,
        items: PyReadonlyArray1<'_, u64>,
        values: PyReadonlyArray1<'_, f32>,
        k: usize,
        relevant_from: f32,
    ) -> PyResult<Vec<(&'static str, f64)>> {
        let queries = self.queries(&users, &items, Some(&values))?;
        if queries.is_empty() || k == 0 {
            return Err(PyValueError::new_err(
                "evaluate needs at least one held-out rating and k of at least 1",
            ));
        }
        let model = &self.model;
        let (acc, rank) = py.detach(|| {
            on_threads(self.threads, |_| {
                let predicted = model.predict(&queries);
                let acc = accuracy(&queries, &predicted);
                (acc, ranking(model, &queries, k, relevant_from))
            })
        })?;
        let unknown = |f: fn(&Query) -> bool| queries.iter().filter(|q| f(q)).count() as f64;
        Ok(vec![
            ("rmse", acc.rmse),
            ("mae", acc.mae),
            ("precision", rank.precision),
            ("recall", rank.recall),
            ("ndcg", rank.ndcg),
            ("ranked_users", rank.users as f64),
            ("n_test", queries.len() as f64),
            ("unknown_users", unknown(|q| q.user.is_none())),
            ("unknown_items", unknown(|q| q.item.is_none())),
        ])
    }

    /// The user ids the model knows, ascending.
    fn users<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        let users = self.model.users();
        vector(py, (0..users.len() as u32).map(|u| users.id(u)).collect())
    }

    /// The item ids the model knows, ascending.
    fn items<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        let items = self.model.items();
        vector(py, (0..items.len() as u32).map(|i| items.id(i)).collect())
    }

    /// The rating levels, ascending.
    fn levels<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        vector(py, self.model.levels().values().to_vec())
    }

    /// Training ratings the model conditions on.
    #[getter]
    fn n_ratings(&self) -> usize {
        self.model.n_ratings()
    }
}

/// Every rating of a file (MovieLens 100k tab, 1M `::` or `ratings.csv`; sniffed) as
/// `(users, items, ratings)` columns.
#[pyfunction]
pub fn read_ratings(py: Python<'_>, path: PathBuf) -> PyResult<Columns<'_>> {
    let ratings = py.detach(|| ratings::read(&path)).map_err(to_py_err)?;
    Ok(columns(py, ratings))
}

/// The `uN.base` and `uN.test` files of a predefined fold (u1..u5, ua, ub) of the
/// MovieLens 100k folder `folder`.
#[pyfunction]
pub fn movielens_fold_paths(folder: PathBuf, fold: &str) -> PyResult<(PathBuf, PathBuf)> {
    ratings::movielens_100k_fold_paths(&folder, fold)
        .map_err(|message| PyValueError::new_err(format!("fold: {message}")))
}
