//! The data sets of the learning use cases, built from real or sampled data:
//! - [`denoise`]: grid CRFs that clean binarized MNIST digits with flipped pixels;
//! - [`hmm`]: chain CRFs on sequences sampled from a known hidden Markov model;
//! - [`sudoku`]: pairwise energies over all cell pairs, learned from solved grids;
//! - [`chain`]: chain CRFs defined by the user's CoNLL-style column files and feature
//!   templates;
//! - [`grid`]: grid CRFs labeling the pixels of the user's images (`.npy` features and
//!   labels).

pub mod chain;
pub mod denoise;
pub mod grid;
pub mod hmm;
pub mod sudoku;

use super::LearnError;
use super::data::Example;
use super::metrics::{Evaluation, evaluate};
use super::templates::TemplateSet;
use super::train::{EpochReport, Learner, TrainConfig, Trained, train};
use ebm_factor::solve::{Method, SolveOptions};
use serde::{Deserialize, Serialize};

/// Bytes a position of a chain example's own structure takes at most: its label count
/// (8), a unary and a pairwise slot (2 x 32), their scope entries (3 x 8), and its list of
/// factors (a 24-byte header and room for four 16-byte entries, with the allocator's
/// header): see [`TaskShape::example_bytes`].
pub const CHAIN_STRUCTURE_BYTES: u128 = 8 + 64 + 24 + 24 + 64 + 16;

/// The usual `(learning rate, lambda)` of grid CRFs: the denoising task's, and the
/// default of grids learned from files ([`grid`]).
pub const GRID_RATES: (f64, f64) = (0.001, 0.1);

/// The usual `(learning rate, lambda)` of chain CRFs: the HMM task's, and the default of
/// chains learned from column files ([`chain`]).
pub const CHAIN_RATES: (f64, f64) = (0.02, 1e-4);

/// A task's usual training settings: `learner` with `(learning rate, lambda)` and the MAP
/// decoder `method` with [`SolveOptions::deterministic`] budgets; the rest as
/// [`TrainConfig::default`].
pub fn usual_config(learner: Learner, rates: (f64, f64), method: Method) -> TrainConfig {
    let (learning_rate, regularization) = rates;
    TrainConfig {
        learner,
        learning_rate,
        regularization,
        map_method: method,
        map_options: SolveOptions::deterministic(),
        ..TrainConfig::default()
    }
}

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
        let rates = match self {
            TaskShape::Denoise { .. } => GRID_RATES,
            TaskShape::Hmm { .. } => CHAIN_RATES,
            TaskShape::Sudoku { .. } => (1.0, 1e-3),
        };
        usual_config(learner, rates, self.decoder())
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

    /// An upper estimate of the bytes one example of the task holds, so that a front end
    /// can bound `examples x example_bytes` by the memory it has before building the data:
    /// its features and labels (8 bytes each) and, for the HMM, whose chains of `length`
    /// positions each get their own structure, that structure's slots, scopes and
    /// per-variable factor lists ([`CHAIN_STRUCTURE_BYTES`] a position). Denoising also
    /// counts the noisy image kept beside each example. `length` is used by the HMM only
    /// (the other shapes fix their variables).
    pub fn example_bytes(&self, length: usize) -> u128 {
        const HEADER_BYTES: u128 = 128;
        HEADER_BYTES
            + match *self {
                TaskShape::Denoise { height, width, .. } => {
                    // Two unary and two pairwise features, the label and the noisy pixel.
                    48 * height as u128 * width as u128
                }
                TaskShape::Hmm { symbols, .. } => {
                    // Initial, emission (one per symbol) and transition features, the label.
                    let per_position = 8 * (symbols as u128 + 2) + 8 + CHAIN_STRUCTURE_BYTES;
                    per_position * length as u128
                }
                TaskShape::Sudoku { box_size } => {
                    // One feature per pair of cells, the cells' labels.
                    let cells = (box_size as u128).pow(4);
                    8 * cells * cells.saturating_sub(1) / 2 + 8 * cells
                }
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

#[cfg(test)]
mod tests {
    use super::denoise::{DenoiseConfig, denoise_task};
    use super::hmm::{Hmm, hmm_task};
    use super::sudoku::solved_grid_task;
    use super::*;

    /// The 8-byte values an example holds itself (features and labels).
    fn own_bytes(example: &Example) -> u128 {
        8 * (example.features.len() + example.labels.len()) as u128
    }

    #[test]
    fn example_bytes_bound_what_an_example_holds() {
        let hmm = hmm_task(&Hmm::sticky(), 2, 0, 50, 1).unwrap();
        let bytes = hmm.shape.example_bytes(50);
        let example = &hmm.train[0];
        assert!(own_bytes(example) + CHAIN_STRUCTURE_BYTES * 50 <= bytes);
        assert!(bytes < 2 * (own_bytes(example) + CHAIN_STRUCTURE_BYTES * 50));
        let sudoku = solved_grid_task(2, 1, 1).unwrap();
        assert!(own_bytes(&sudoku.train[0]) <= sudoku.shape.example_bytes(0));
        let images = vec![0.7f32; 2 * 12];
        let denoise = denoise_task(&images, &[], 3, 4, &DenoiseConfig::default()).unwrap();
        assert!(own_bytes(&denoise.train[0]) <= denoise.shape.example_bytes(0));
    }
}
