//! The data sets of the learning use cases, built from real or sampled data:
//! - [`denoise`]: grid CRFs that clean binarized MNIST digits with flipped pixels;
//! - [`hmm`]: chain CRFs on sequences sampled from a known hidden Markov model;
//! - [`sudoku`]: pairwise energies over all cell pairs, learned from solved grids.

pub mod denoise;
pub mod hmm;
pub mod sudoku;

use super::data::Example;
use super::templates::TemplateSet;

/// Templates with training and test examples.
#[derive(Clone, Debug)]
pub struct Task {
    /// The templates of the model.
    pub templates: TemplateSet,
    /// Training examples.
    pub train: Vec<Example>,
    /// Test examples.
    pub test: Vec<Example>,
}
