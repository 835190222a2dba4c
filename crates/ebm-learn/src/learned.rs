//! Learned weights as a model file: the templates they belong to, the weights, the data
//! support when unseen combinations are forbidden, the built-in task they were learned
//! for, and the learner's name, saved and loaded through `ebm_core`'s [`ModelFile`].

use crate::LearnError;
use crate::data::Example;
use crate::support::{Support, instantiate_within};
use crate::tasks::TaskShape;
use crate::tasks::denoise::grid_structure;
use crate::tasks::hmm::chain_templates;
use crate::tasks::sudoku::all_pairs_structure;
use crate::templates::TemplateSet;
use ebm_core::ModelFile;
use ebm_factor::FactorModel;
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
