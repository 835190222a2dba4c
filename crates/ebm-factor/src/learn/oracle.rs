//! The MAP oracle a learner calls: which ebm-factor MAP method decodes a model.

use crate::FactorError;
use crate::bnb::{BnbConfig, branch_and_bound};
use crate::bp::{BpConfig, max_product_map};
use crate::graphcut::graph_cut_truncated;
use crate::map::{AnnealConfig, icm, simulated_annealing};
use crate::model::FactorModel;
use crate::{exact, lns};

/// How learners and metrics find `argmin_y E(y)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MapMethod {
    /// Variable elimination: exact; for chains, trees and narrow models.
    Exact,
    /// Minimum cut: exact for binary submodular pairwise models. A model that is not
    /// submodular (possible early in learning) falls back to ICM started from the cut of
    /// its submodular part, counted in [`Decoded::fallback`].
    GraphCut,
    /// Branch and bound with a node limit (deterministic, unlike a time limit); the best
    /// assignment found when the limit is hit.
    BranchAndBound {
        /// Search nodes before it stops.
        node_limit: u64,
    },
    /// Large neighbourhood search from the ICM labeling, for a number of moves.
    Lns {
        /// Moves.
        moves: usize,
        /// Variables freed per move.
        neighbourhood: usize,
    },
    /// Simulated annealing (geometric schedule from temperature 2 to 0.02), best of
    /// `runs` runs.
    Anneal {
        /// Sweeps per run.
        sweeps: usize,
        /// Independent runs.
        runs: usize,
    },
    /// Max-product belief propagation (damped), decoded from the beliefs and polished by
    /// ICM.
    MaxProduct {
        /// Most message-passing iterations.
        iterations: usize,
    },
    /// Iterated conditional modes from the all-zero labeling: fast, local.
    Icm,
}

/// A decoded labeling.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The labeling (evidence variables at their values).
    pub labels: Vec<usize>,
    /// True when the method fell back to a weaker one (see [`MapMethod::GraphCut`]).
    pub fallback: bool,
}

/// ICM sweeps allowed when ICM decodes or is the fallback.
const ICM_SWEEPS: usize = 200;

/// Decode `model` with `method`; `seed` drives the randomised methods.
pub fn decode(model: &FactorModel, method: MapMethod, seed: u64) -> Result<Decoded, FactorError> {
    let done = |labels| Decoded {
        labels,
        fallback: false,
    };
    match method {
        MapMethod::Exact => {
            exact::map_assignment(model, exact::DEFAULT_MAX_TABLE).map(|(labels, _)| done(labels))
        }
        MapMethod::GraphCut => {
            let cut = graph_cut_truncated(model)?;
            if cut.lower_bound.is_some() {
                Ok(done(cut.assignment))
            } else {
                Ok(Decoded {
                    labels: icm(model, Some(cut.assignment), ICM_SWEEPS).assignment,
                    fallback: true,
                })
            }
        }
        MapMethod::BranchAndBound { node_limit } => {
            let config = BnbConfig {
                node_limit: Some(node_limit),
                ..BnbConfig::default()
            };
            branch_and_bound(model, &config).map(|r| done(r.solution.assignment))
        }
        MapMethod::Lns {
            moves,
            neighbourhood,
        } => {
            let config = lns::LnsConfig {
                moves,
                neighbourhood,
                time_limit: None,
                seed,
                ..lns::LnsConfig::default()
            };
            let start = icm(model, None, ICM_SWEEPS).assignment;
            lns::large_neighbourhood_search(model, start, &config).map(|s| done(s.assignment))
        }
        MapMethod::Anneal { sweeps, runs } => {
            let config = AnnealConfig {
                runs,
                sweeps,
                start_temperature: 2.0,
                end_temperature: 0.02,
                seed,
                time_limit: None,
            };
            simulated_annealing(model, &config).map(|s| done(s.assignment))
        }
        MapMethod::MaxProduct { iterations } => {
            let config = BpConfig {
                iterations,
                damping: 0.5,
                tolerance: 1e-6,
            };
            max_product_map(model, &config).map(|s| done(s.assignment))
        }
        MapMethod::Icm => Ok(done(icm(model, None, ICM_SWEEPS).assignment)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_cut_falls_back_only_on_non_submodular_models() {
        let mut attractive = FactorModel::new(vec![2, 2]);
        attractive.add_energy_factor(&[0], &[0.0, -1.0]).unwrap();
        attractive
            .add_energy_factor(&[0, 1], &[0.0, 1.0, 1.0, 0.0])
            .unwrap();
        let exact = decode(&attractive, MapMethod::GraphCut, 1).unwrap();
        assert_eq!((exact.labels, exact.fallback), (vec![1, 1], false));
        let mut repulsive = FactorModel::new(vec![2, 2]);
        repulsive.add_energy_factor(&[0], &[0.0, -1.0]).unwrap();
        repulsive
            .add_energy_factor(&[0, 1], &[1.0, 0.0, 0.0, 1.0])
            .unwrap();
        let fallen = decode(&repulsive, MapMethod::GraphCut, 1).unwrap();
        assert!(fallen.fallback);
        assert_eq!(fallen.labels, vec![1, 0]);
    }
}
