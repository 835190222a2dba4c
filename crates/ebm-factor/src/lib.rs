//! Discrete energy models as factor graphs over petgraph, with exact, sampling,
//! message-passing and search inference.
//!
//! A [`FactorModel`] holds variables with finite domains, factors stored as energies
//! (`-ln potential`; `+inf` forbids a combination) or as specialised factors ([`Factor`]:
//! Potts/Ising, all-different, equality, at-most-one), evidence and a temperature
//! (`p(x) ∝ exp(-E(x) / T)`); [`FactorModel::factor_graph`] is its petgraph graph.
//! Inference, one module per method:
//! - [`exact`]: variable elimination with a min-fill order (`ln Z`, marginals, MAP);
//! - [`gibbs`]: chromatic Gibbs sweeps, parallel tempering, marginal estimates;
//!   [`ising`]: the fast checkerboard sampler of a periodic Ising grid;
//! - [`bp`]: loopy belief propagation, sum- and max-product, with damping;
//! - MAP: [`map`] (ICM, simulated annealing), [`dual`] (MPLP with a lower bound), [`bnb`]
//!   (branch and bound with propagation, anytime), [`lns`] (large neighbourhood search);
//!   [`graphcut`] (exact minimum cut for binary submodular models); [`solve`], the one
//!   entry point that runs any of them (with the pipelines that warm-start the searches
//!   from the dual) under time, node or move budgets;
//! - [`tree`]: exact sum-product on acyclic factor graphs (`ln Z`, factor marginals);
//! - [`problems`]: Sudoku, graph coloring and N-queens as factor graphs, with checkers;
//!   [`tabucol`]: tabu search on the Potts energy of graph coloring; [`hea`]: the hybrid
//!   evolutionary algorithm over tabu-searched colorings; [`cover_coloring`]: coloring as
//!   an exact cover by maximum independent sets ([`clique`]: maximum cliques by branch
//!   and bound; [`exact_cover`]: Algorithm X with dancing links).
//!
//! Learning the weights of such energies is the `ebm-learn` crate's.
//!
//! Models are read from UAI files (`ebm_data::uai`).
//!
//! ```
//! use ebm_factor::{FactorModel, exact};
//! // Two binary variables that prefer to agree.
//! let mut model = FactorModel::new(vec![2, 2]);
//! model.add_energy_factor(&[0, 1], &[0.0, 1.0, 1.0, 0.0]).unwrap();
//! let log_z = exact::log_partition(&model, exact::DEFAULT_MAX_TABLE).unwrap();
//! assert!((log_z - (2.0 + 2.0 * (-1.0f64).exp()).ln()).abs() < 1e-12);
//! let (best, _) = exact::map_assignment(&model, exact::DEFAULT_MAX_TABLE).unwrap();
//! assert_eq!(best[0], best[1]);
//! ```

pub mod andor;
pub mod bnb;
pub mod bp;
pub mod clique;
pub mod cover_coloring;
pub mod determinism;
pub mod dual;
pub mod exact;
pub mod exact_cover;
pub mod gibbs;
pub mod graphcut;
pub mod hea;
pub mod ising;
mod joint_marginals;
pub mod jtree;
mod kept;
pub mod kernels;
pub mod lns;
pub mod map;
pub mod model;
pub mod network;
pub mod order_search;
pub mod problems;
pub mod rows;
pub mod solve;
pub mod spare;
pub mod table;
pub mod tabucol;
#[cfg(test)]
mod test_models;
pub mod tree;

pub use ebm_core::InvalidSetting;
pub use model::{Factor, FactorModel, Node};
pub use network::Network;
use thiserror::Error;

/// The largest absolute difference between two sets of per-variable distributions (such
/// as marginals from two methods, or against a `.MAR` file); `+inf` when their shapes
/// differ, so a comparison can never pass by truncation.
pub fn max_abs_difference(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    if a.len() != b.len() || a.iter().zip(b).any(|(x, y)| x.len() != y.len()) {
        return f64::INFINITY;
    }
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// What can go wrong in inference.
#[derive(Debug, Error)]
pub enum FactorError {
    /// Exact inference would build a table larger than the memory bound.
    #[error(
        "exact inference needs {table} of {entries} entries (induced width {width} of the elimination order), above the bound of {max_entries} entries"
    )]
    TooWide {
        /// Which table: the clique of a variable, or the calibrated cliques together.
        table: String,
        /// Induced width of the elimination order.
        width: usize,
        /// Entries of the table that was refused.
        entries: usize,
        /// The bound.
        max_entries: usize,
    },
    /// A factor, evidence or setting that does not fit the model.
    #[error("{0}")]
    InvalidFactor(String),
    /// A setting out of range (the toolkit's one invalid-setting error).
    #[error(transparent)]
    InvalidSetting(#[from] InvalidSetting),
    /// The model, with its evidence, has probability zero (`Z = 0`), proven: a factor that
    /// forbids everything the evidence allows ([`FactorModel::check_possible`]), exact
    /// elimination's `Z = 0`, or BP leaving a variable no possible value. There are no
    /// marginals or `ln Z` to give.
    #[error("{0}")]
    ZeroProbability(String),
    /// A sampler found no state of positive probability (every chain ended in a state of
    /// infinite energy): the model or its evidence may have probability zero, and the
    /// samples say nothing about it.
    #[error("{0}")]
    NoPositiveState(String),
}

#[cfg(test)]
mod tests {
    use super::max_abs_difference;

    #[test]
    fn differences_need_equal_shapes() {
        let a = vec![vec![0.2, 0.8], vec![1.0]];
        assert!((max_abs_difference(&a, &[vec![0.25, 0.75], vec![0.9]]) - 0.1).abs() < 1e-12);
        assert_eq!(max_abs_difference(&a, &a[..1]), f64::INFINITY);
        assert_eq!(
            max_abs_difference(&a, &[vec![0.2, 0.8], vec![1.0, 0.0]]),
            f64::INFINITY
        );
    }
}
