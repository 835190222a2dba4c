//! The data sets of the learning use cases, built from real or sampled data:
//! - [`denoise`]: grid CRFs that clean binarized MNIST digits with flipped pixels;
//! - [`hmm`]: chain CRFs on sequences sampled from a known hidden Markov model;
//! - [`sudoku`]: pairwise energies over all cell pairs, learned from solved grids.

pub mod denoise;
pub mod hmm;
pub mod sudoku;

use super::LearnError;
use super::data::Example;
use super::metrics::{Evaluation, evaluate};
use super::templates::TemplateSet;
use super::train::{EpochReport, Learner, TrainConfig, Trained, train};
use ebm_factor::solve::{Method, SolveOptions};
use serde::{Deserialize, Serialize};

/// Which built-in task, with the sizes that fix its templates and structure: what a saved
/// model needs, besides its weights, to be used again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskShape {
    /// Grid-CRF denoising of `height x width` binary images ([`denoise`]), with or without
    /// the pairwise factors.
    Denoise {
        /// Image rows.
        height: usize,
        /// Image columns.
        width: usize,
        /// With the horizontal and vertical pairwise templates.
        pairwise: bool,
    },
    /// A chain CRF over `states` hidden states emitting `symbols` symbols ([`hmm`]).
    Hmm {
        /// Hidden states.
        states: usize,
        /// Observed symbols.
        symbols: usize,
    },
    /// Energies on every pair of cells of a Sudoku of box size `box_size` ([`sudoku`]).
    Sudoku {
        /// Box size (3 for 9x9 grids).
        box_size: usize,
    },
}

impl TaskShape {
    /// The task's usual training settings for `learner` (`ebm factor learn`'s defaults):
    /// learning rate and lambda, and the MAP decoder (graph cut, exact elimination, branch
    /// and bound) with [`SolveOptions::deterministic`] budgets; the rest as
    /// [`TrainConfig::default`].
    pub fn train_config(&self, learner: Learner) -> TrainConfig {
        let (learning_rate, regularization) = match self {
            TaskShape::Denoise { .. } => (0.001, 0.1),
            TaskShape::Hmm { .. } => (0.02, 1e-4),
            TaskShape::Sudoku { .. } => (1.0, 1e-3),
        };
        TrainConfig {
            learner,
            learning_rate,
            regularization,
            map_method: self.decoder(),
            map_options: SolveOptions::deterministic(),
            ..TrainConfig::default()
        }
    }

    /// The task's usual MAP decoder: graph cut (binary submodular grids), exact
    /// elimination (chains), branch and bound (Sudoku's dense, constrained model).
    pub fn decoder(&self) -> Method {
        match self {
            TaskShape::Denoise { .. } => Method::GraphCut,
            TaskShape::Hmm { .. } => Method::Exact,
            TaskShape::Sudoku { .. } => Method::BranchAndBound,
        }
    }

    /// The task's name: `denoise`, `hmm` or `sudoku`.
    pub fn name(&self) -> &'static str {
        match self {
            TaskShape::Denoise { .. } => "denoise",
            TaskShape::Hmm { .. } => "hmm",
            TaskShape::Sudoku { .. } => "sudoku",
        }
    }
}

/// Templates with training and test examples.
#[derive(Clone, Debug)]
pub struct Task {
    /// Which task, and its sizes.
    pub shape: TaskShape,
    /// The templates of the model.
    pub templates: TemplateSet,
    /// Training examples.
    pub train: Vec<Example>,
    /// Test examples.
    pub test: Vec<Example>,
}

impl Task {
    /// [`train`] on the training examples.
    ///
    /// # Errors
    ///
    /// As [`train`].
    pub fn train(
        &self,
        config: &TrainConfig,
        on_epoch: impl FnMut(&EpochReport),
    ) -> Result<Trained, LearnError> {
        train(&self.templates, &self.train, config, on_epoch)
    }

    /// [`evaluate`] `weights` on the test examples, decoded as `config` decodes (its MAP
    /// method and budgets, seed 1).
    ///
    /// # Errors
    ///
    /// As [`evaluate`].
    pub fn evaluate(
        &self,
        weights: &[f64],
        config: &TrainConfig,
    ) -> Result<Evaluation, LearnError> {
        let options = SolveOptions {
            seed: 1,
            ..config.map_options
        };
        evaluate(
            &self.templates,
            &self.test,
            weights,
            config.map_method,
            &options,
        )
    }
}
