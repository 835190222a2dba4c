//! Learned weights as a model file: the templates they belong to, the weights, the data
//! support when unseen combinations are forbidden, the built-in task they were learned
//! for, and the learner's name, saved and loaded through `ebm_core`'s [`ModelFile`]; and
//! [`FileModel`], the same for a task defined by the user's files, with what labels new
//! files (templates, vocabulary, label names).

use crate::LearnError;
use crate::data::Example;
use crate::support::{Support, instantiate_within};
use crate::tasks::chain::ChainSpec;
use crate::tasks::denoise::grid_structure;
use crate::tasks::grid::GridSpec;
use crate::tasks::hmm::chain_templates;
use crate::tasks::sudoku::all_pairs_structure;
use crate::tasks::{CHAIN_RATES, GRID_RATES, TaskShape, usual_config};
use crate::templates::TemplateSet;
use crate::train::{Learner, TrainConfig};
use ebm_core::ModelFile;
use ebm_factor::FactorModel;
use ebm_factor::solve::{Method, SolveOptions, solve};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A learned templated energy, ready to be used again: its file is of kind
/// `factor-weights`, shapes `[templates, weights]`.
///
/// ```
/// use ebm_core::ModelFile;
/// use ebm_learn::learned::LearnedModel;
/// use ebm_learn::tasks::hmm::{Hmm, hmm_task, hmm_weights};
/// let task = hmm_task(&Hmm::sticky(), 0, 2, 5, 1).unwrap();
/// let weights = hmm_weights(&Hmm::sticky(), &task.templates);
/// let model = LearnedModel::new(Some(task.shape), "hmm", task.templates, weights, None)
///     .unwrap();
/// let dir = std::env::temp_dir().join(format!("ebm-learned-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("hmm.ebm");
/// model.save(&path).unwrap();
/// let loaded = LearnedModel::load(&path).unwrap();
/// assert_eq!(loaded, model);
/// // The loaded model decodes as the one that was saved.
/// let factor_model = loaded.instantiate(&task.test[0]).unwrap();
/// assert_eq!(factor_model.domains().len(), 5);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnedModel {
    /// The built-in task the weights were learned for (what rebuilds its examples), or
    /// `None` for templates of the caller's own.
    pub task: Option<TaskShape>,
    /// The learner that produced the weights (a name for reports).
    pub learner: String,
    /// The templates the weights belong to.
    pub templates: TemplateSet,
    /// The shared weight vector, `templates.weight_count()` long.
    pub weights: Vec<f64>,
    /// With a support, the combinations it never saw are forbidden when the model is
    /// instantiated.
    pub support: Option<Support>,
}

impl LearnedModel {
    /// A model of `weights` for `templates`, checked as a loaded file is.
    ///
    /// # Errors
    ///
    /// [`LearnError::InvalidData`] when the weights or the support do not fit the
    /// templates, a weight is not finite, or the templates are not those of `task`.
    pub fn new(
        task: Option<TaskShape>,
        learner: &str,
        templates: TemplateSet,
        weights: Vec<f64>,
        support: Option<Support>,
    ) -> Result<Self, LearnError> {
        let model = Self {
            task,
            learner: learner.to_string(),
            templates,
            weights,
            support,
        };
        model.check().map_err(LearnError::InvalidData)?;
        Ok(model)
    }

    /// The factor model of `example` under the learned weights (unseen combinations
    /// forbidden when the model has a support), ready for `ebm_factor::solve`.
    ///
    /// # Errors
    ///
    /// [`LearnError::InvalidSetting`] when the example's structure is not over these
    /// templates' weights.
    pub fn instantiate(&self, example: &Example) -> Result<FactorModel, LearnError> {
        instantiate_within(
            &self.templates,
            example,
            &self.weights,
            false,
            self.support.as_ref(),
        )
    }

    /// The MAP labeling of every example under the learned weights, decoded with
    /// `method` (example `i` with seed `options.seed + i`), and whether its decode fell
    /// back to a weaker method. Parallel over examples; the result does not depend on the
    /// number of threads.
    ///
    /// # Errors
    ///
    /// As [`LearnedModel::instantiate`]; [`LearnError::Inference`] when a decode fails.
    pub fn decode(
        &self,
        examples: &[Example],
        method: Method,
        options: &SolveOptions,
    ) -> Result<Vec<(Vec<usize>, bool)>, LearnError> {
        examples
            .par_iter()
            .enumerate()
            .map(|(i, example)| {
                let model = self.instantiate(example)?;
                let options = SolveOptions {
                    seed: options.seed.wrapping_add(i as u64),
                    ..*options
                };
                let decoded = solve(&model, method, &options)?;
                Ok((decoded.solution.assignment, decoded.fallback))
            })
            .collect()
    }
}

/// The templates a built-in task's shape makes.
fn task_templates(shape: TaskShape) -> Result<TemplateSet, LearnError> {
    Ok(match shape {
        TaskShape::Denoise {
            height,
            width,
            pairwise,
        } => grid_structure(height, width, pairwise)?.0,
        TaskShape::Hmm { states, symbols } => chain_templates(states, symbols)?,
        TaskShape::Sudoku { box_size } => all_pairs_structure(box_size * box_size)?.0,
    })
}

impl ModelFile for LearnedModel {
    const KIND: &'static str = "factor-weights";

    fn shapes(&self) -> Vec<u64> {
        vec![
            self.templates.templates().len() as u64,
            self.weights.len() as u64,
        ]
    }

    /// None in `f32`: the weights are `f64`, checked for finiteness by
    /// [`ModelFile::check`].
    fn parameters(&self) -> Vec<&[f32]> {
        Vec::new()
    }

    fn check(&self) -> Result<(), String> {
        let dim = self.templates.weight_count();
        self.templates
            .check_weights(&self.weights)
            .map_err(|e| e.to_string())?;
        if let Some(support) = &self.support
            && support.weight_count() != dim
        {
            return Err(format!(
                "a support over {} weights for templates of {dim}",
                support.weight_count()
            ));
        }
        if let Some(shape) = self.task
            && task_templates(shape).map_err(|e| e.to_string())? != self.templates
        {
            return Err(format!(
                "the templates are not those of the {} task {shape:?}",
                shape.name()
            ));
        }
        Ok(())
    }
}

/// A task defined by the user's files: what, besides the weights, labels new files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileTask {
    /// A chain CRF from a CoNLL-style column file ([`crate::tasks::chain`]).
    Chain(ChainSpec),
    /// A grid CRF from `.npy` features and labels ([`crate::tasks::grid`]).
    Grid(GridSpec),
}

impl FileTask {
    /// The format of its files: `conll` or `npy-grid`.
    pub fn format(&self) -> &'static str {
        match self {
            FileTask::Chain(_) => "conll",
            FileTask::Grid(_) => "npy-grid",
        }
    }

    /// Its templates.
    ///
    /// # Errors
    ///
    /// As [`ChainSpec::template_set`] and [`GridSpec::template_set`].
    pub fn template_set(&self) -> Result<TemplateSet, LearnError> {
        match self {
            FileTask::Chain(spec) => spec.template_set(),
            FileTask::Grid(spec) => spec.template_set(),
        }
    }

    /// The label names, in index order (a grid's label values as text).
    pub fn label_names(&self) -> Vec<String> {
        match self {
            FileTask::Chain(spec) => spec.labels.clone(),
            FileTask::Grid(spec) => spec.labels.iter().map(i64::to_string).collect(),
        }
    }

    /// The usual MAP decoder: exact elimination on chains, graph cut on grids of two
    /// labels (as the denoising task), max-product belief propagation (polished by ICM) on
    /// grids of more.
    pub fn decoder(&self) -> Method {
        match self {
            FileTask::Chain(_) => Method::Exact,
            FileTask::Grid(spec) if spec.label_count() <= 2 => Method::GraphCut,
            FileTask::Grid(_) => Method::MaxProduct,
        }
    }

    /// The usual training settings for `learner`: those of the built-in HMM chain for
    /// chains ([`CHAIN_RATES`]) and of denoising for grids ([`GRID_RATES`]), with
    /// [`FileTask::decoder`].
    pub fn train_config(&self, learner: Learner) -> TrainConfig {
        let rates = match self {
            FileTask::Chain(_) => CHAIN_RATES,
            FileTask::Grid(_) => GRID_RATES,
        };
        usual_config(learner, rates, self.decoder())
    }
}

/// A model learned from the user's files: its [`FileTask`] and its [`LearnedModel`]
/// (whose `task` is `None` and whose templates are the file task's). Its file is of kind
/// `factor-file-model`, shapes `[templates, weights]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileModel {
    /// What labels new files.
    pub task: FileTask,
    /// The learned weights and their templates.
    pub model: LearnedModel,
}

impl FileModel {
    /// The model of `weights` learned by `learner` for `task`, checked as a loaded file
    /// is.
    ///
    /// # Errors
    ///
    /// [`LearnError::InvalidData`] when the weights do not fit the task's templates.
    pub fn new(task: FileTask, learner: &str, weights: Vec<f64>) -> Result<Self, LearnError> {
        let templates = task.template_set()?;
        let model = Self {
            task,
            model: LearnedModel::new(None, learner, templates, weights, None)?,
        };
        model.check().map_err(LearnError::InvalidData)?;
        Ok(model)
    }
}

impl ModelFile for FileModel {
    const KIND: &'static str = "factor-file-model";

    fn shapes(&self) -> Vec<u64> {
        self.model.shapes()
    }

    /// None in `f32` (see [`LearnedModel`]).
    fn parameters(&self) -> Vec<&[f32]> {
        Vec::new()
    }

    fn check(&self) -> Result<(), String> {
        self.model.check()?;
        if self.model.task.is_some() {
            return Err("a model of files with a built-in task".into());
        }
        if self.task.template_set().map_err(|e| e.to_string())? != self.model.templates {
            return Err(format!(
                "the templates are not those of its {} task (its vocabulary and labels)",
                self.task.format()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::sudoku::solved_grid_task;

    fn temp_file(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ebm-learned-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("model.ebm")
    }

    /// A Sudoku model with its support round-trips, and instantiates the same factor model
    /// after loading (forbidden entries included).
    #[test]
    fn a_model_with_its_support_round_trips() {
        let task = solved_grid_task(2, 30, 1).unwrap();
        let weights: Vec<f64> = (0..task.templates.weight_count())
            .map(|k| (k as f64 * 0.37).sin())
            .collect();
        let support = Support::of_data(&task.templates, &task.train);
        assert!(support.unseen_count() > 0);
        let model = LearnedModel::new(
            Some(task.shape),
            "pl",
            task.templates.clone(),
            weights,
            Some(support),
        )
        .unwrap();
        let path = temp_file("sudoku");
        model.save(&path).unwrap();
        let loaded = LearnedModel::load(&path).unwrap();
        assert_eq!(loaded, model);
        let example = &task.train[0];
        let (a, b) = (
            model.instantiate(example).unwrap(),
            loaded.instantiate(example).unwrap(),
        );
        let grid = &example.labels;
        assert_eq!(a.energy(grid), b.energy(grid));
        let mut broken = grid.clone();
        broken[1] = broken[0];
        assert_eq!(b.energy(&broken), f64::INFINITY);
    }

    /// A model of a column file round-trips with its vocabulary and labels; one whose
    /// vocabulary no longer makes its templates, or of another kind, is refused on load.
    #[test]
    fn a_file_model_round_trips_and_checks_its_vocabulary() {
        let text = "the DT\ndog NN\n\na DT\ncat NN\n";
        let file = ebm_data::conll::parse(std::path::Path::new("t.conll"), text.into()).unwrap();
        let spec = ChainSpec::fit(&file, &[]).unwrap();
        let dim = spec.template_set().unwrap().weight_count();
        let weights: Vec<f64> = (0..dim).map(|k| k as f64 * 0.25).collect();
        let model = FileModel::new(FileTask::Chain(spec.clone()), "ml", weights.clone()).unwrap();
        let path = temp_file("file-model");
        model.save(&path).unwrap();
        let loaded = FileModel::load(&path).unwrap();
        assert_eq!(loaded, model);
        assert!(LearnedModel::load(&path).is_err(), "another kind");
        let mut other = spec;
        other.vocabulary[0].pop();
        let broken = FileModel {
            task: FileTask::Chain(other),
            model: model.model.clone(),
        };
        broken.save(&path).unwrap();
        let e = FileModel::load(&path).unwrap_err().to_string();
        assert!(e.contains("invalid model") && e.contains("conll"), "{e}");
        assert!(FileModel::new(model.task.clone(), "ml", vec![0.0; dim + 1]).is_err());
    }

    /// Weights that do not fit the templates, non-finite weights, a support of the wrong
    /// length and templates that are not the task's are refused.
    #[test]
    fn inconsistent_models_are_refused() {
        let task = solved_grid_task(2, 3, 1).unwrap();
        let dim = task.templates.weight_count();
        let make = |weights: Vec<f64>, support: Option<Support>, shape: Option<TaskShape>| {
            LearnedModel::new(shape, "pl", task.templates.clone(), weights, support)
        };
        assert!(make(vec![0.0; dim - 1], None, Some(task.shape)).is_err());
        let mut nan = vec![0.0; dim];
        nan[3] = f64::NAN;
        assert!(make(nan, None, Some(task.shape)).is_err());
        let other = solved_grid_task(3, 3, 1).unwrap();
        let wrong_support = Support::of_data(&other.templates, &other.train);
        assert!(make(vec![0.0; dim], Some(wrong_support), None).is_err());
        let not_hmm = Some(TaskShape::Hmm {
            states: 2,
            symbols: 2,
        });
        assert!(make(vec![0.0; dim], None, not_hmm).is_err());
        assert!(make(vec![0.0; dim], None, None).is_ok());
    }
}
