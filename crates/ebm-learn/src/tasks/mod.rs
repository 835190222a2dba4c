//! The data sets of the learning use cases, built from real or sampled data:
//! - [`denoise`]: grid CRFs that clean binarized MNIST digits with flipped pixels;
//! - [`hmm`]: chain CRFs on sequences sampled from a known hidden Markov model;
//! - [`sudoku`]: pairwise energies over all cell pairs, learned from solved grids.

pub mod denoise;
pub mod hmm;
pub mod sudoku;

use super::data::Example;
use super::templates::TemplateSet;
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
