//! MAP in one call: [`solve`] runs a [`Method`] with [`SolveOptions`] and returns the
//! assignment with its energy, a lower bound when the method proves one, and whether a
//! search finished.
//!
//! Every caller that wants `argmin_x E(x)` goes through here (the `ebm factor infer
//! --task map` command, the learners' decodes, their test metrics), so a method name
//! means one pipeline. What differs between callers is the budget: time limits for a
//! command line, node limits and move counts (deterministic) for learning, and where the
//! searches start ([`Start`]).

use crate::bnb::{BnbConfig, branch_and_bound};
use crate::bp::{BpConfig, max_product_map};
use crate::dual::{DualConfig, mplp, mplp_reparametrized};
use crate::graphcut::graph_cut_truncated;
use crate::lns::{LnsConfig, large_neighbourhood_search};
use crate::map::{AnnealConfig, MapSolution, icm, simulated_annealing};
use crate::model::FactorModel;
use crate::{FactorError, InvalidSetting, exact};
use std::time::Duration;

/// A MAP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Variable elimination with a min-fill order: exact, for narrow models (refuses a
    /// table above [`SolveOptions::max_table`]).
    Exact,
    /// Minimum cut: exact for binary submodular pairwise models. A model that is not
    /// submodular falls back to ICM started from the cut of its submodular part, said by
    /// [`Solved::fallback`].
    GraphCut,
    /// Iterated conditional modes from the all-zero labeling: fast, local.
    Icm,
    /// Simulated annealing, best of [`SolveOptions::runs`] runs, finished by ICM.
    Anneal,
    /// Max-product belief propagation (damped), decoded from the beliefs and polished by
    /// ICM.
    MaxProduct,
    /// MPLP dual block-coordinate ascent, with a lower bound.
    Mplp,
    /// Depth-first branch and bound with propagation; anytime, optimal when it finishes.
    BranchAndBound,
    /// Large neighbourhood search; anytime.
    Lns,
}

impl Method {
    /// The short name used in reports (`exact`, `graphcut`, `icm`, `anneal`, `bp`,
    /// `mplp`, `bnb`, `lns`).
    pub fn name(self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::GraphCut => "graphcut",
            Method::Icm => "icm",
            Method::Anneal => "anneal",
            Method::MaxProduct => "bp",
            Method::Mplp => "mplp",
            Method::BranchAndBound => "bnb",
            Method::Lns => "lns",
        }
    }
}

/// Where branch and bound and large neighbourhood search start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Start {
    /// From the model alone: branch and bound searches the model as given, LNS starts from
    /// ICM's labeling, and neither reports the dual bound. Cheap; for the many small
    /// decodes of learning.
    Cold,
    /// From the dual: MPLP runs first. Branch and bound then searches MPLP's
    /// reparametrized model (same energies, factor minima summing to the dual bound, so
    /// the search's bound starts there) with MPLP's assignment as the first incumbent,
    /// maintaining soft arc consistency (on models of tables; after a search of 1,000
    /// nodes of the model itself, which proves small models before MPLP would converge).
    /// LNS starts from the better of MPLP and max-product BP, and, when both break a hard
    /// constraint, from branch and bound's first feasible assignment (within a quarter of
    /// the time limit). Both report the better of their bound and MPLP's.
    Dual,
}

/// The budgets and settings of the MAP methods; each method reads the fields it needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SolveOptions {
    /// The seed of every random choice (annealing, LNS).
    pub seed: u64,
    /// Stop after this long (branch and bound, annealing, LNS; anytime: the best so far
    /// is returned). Results then depend on the machine's speed.
    pub time_limit: Option<Duration>,
    /// Stop branch and bound after this many search nodes (deterministic).
    pub node_limit: Option<u64>,
    /// Stop LNS after this many moves (deterministic). LNS needs this or a time limit.
    pub moves: Option<usize>,
    /// Largest intermediate table exact elimination may build (entries).
    pub max_table: usize,
    /// Most passes of max-product BP and MPLP.
    pub iterations: usize,
    /// BP damping in `[0, 1)`.
    pub damping: f64,
    /// BP converges when no message moves by more than this (log space).
    pub tolerance: f64,
    /// Most ICM sweeps (ICM, and the graph cut's fallback).
    pub icm_sweeps: usize,
    /// Independent annealing runs (in parallel).
    pub runs: usize,
    /// Sweeps per annealing run.
    pub sweeps: usize,
    /// Annealing's first temperature.
    pub start_temperature: f64,
    /// Annealing's last temperature (geometric schedule in between).
    pub end_temperature: f64,
    /// Variables freed per LNS move.
    pub neighbourhood: usize,
    /// Where branch and bound and LNS start.
    pub start: Start,
}

impl Default for SolveOptions {
    /// No time, node or move limit; 500 BP/MPLP passes (damping 0.5, tolerance 1e-8);
    /// ICM until it stops improving; 4 annealing runs of 2,000 sweeps from temperature 10
    /// to 0.02; LNS moves of 40 variables; searches start from the dual.
    fn default() -> Self {
        Self {
            seed: 1,
            time_limit: None,
            node_limit: None,
            moves: None,
            max_table: exact::DEFAULT_MAX_TABLE,
            iterations: 500,
            damping: 0.5,
            tolerance: 1e-8,
            icm_sweeps: usize::MAX,
            runs: 4,
            sweeps: 2000,
            start_temperature: 10.0,
            end_temperature: 0.02,
            neighbourhood: 40,
            start: Start::Dual,
        }
    }
}

impl SolveOptions {
    /// Budgets that do not depend on the machine's speed, for the many small decodes of
    /// learning: no time limit; branch and bound stops after 100,000 nodes, LNS after
    /// 1,000 moves; 200 BP passes (tolerance 1e-6); at most 200 ICM sweeps; 2 annealing
    /// runs of 2,000 sweeps from temperature 2; searches start cold ([`Start::Cold`]).
    pub fn deterministic() -> Self {
        Self {
            node_limit: Some(100_000),
            moves: Some(1000),
            iterations: 200,
            tolerance: 1e-6,
            icm_sweeps: 200,
            runs: 2,
            sweeps: 2000,
            start_temperature: 2.0,
            start: Start::Cold,
            ..Self::default()
        }
    }

    fn bp(&self) -> BpConfig {
        BpConfig {
            iterations: self.iterations,
            damping: self.damping,
            tolerance: self.tolerance,
        }
    }

    fn dual(&self) -> DualConfig {
        DualConfig {
            iterations: self.iterations,
            ..DualConfig::default()
        }
    }
}

/// What [`solve`] found.
#[derive(Clone, Debug)]
pub struct Solved {
    /// The assignment (evidence variables at their values), its energy `E(x)` (`+inf`
    /// when it breaks a hard constraint), a proven lower bound on the minimum energy when
    /// the method gives one, and the sweeps, passes, nodes or moves it used.
    pub solution: MapSolution,
    /// Branch and bound: whether the search finished, so that the energy is optimal (or
    /// `+inf` proves the model infeasible). `None` for the other methods.
    pub complete: Option<bool>,
    /// True when the method fell back to a weaker one (see [`Method::GraphCut`]).
    pub fallback: bool,
}

impl Solved {
    /// Whether the energy is proven minimal: branch and bound finished with a finite
    /// energy, or a proven lower bound meets the energy (exact elimination, graph cut on
    /// a submodular model, a closed dual gap), within round-off (`1e-9` relative). An
    /// incumbent of a search that was stopped is not.
    pub fn proved_optimal(&self) -> bool {
        let energy = self.solution.energy;
        if !energy.is_finite() {
            return false;
        }
        self.complete == Some(true)
            || self
                .proved_bound()
                .is_some_and(|bound| energy - bound <= 1e-9 * energy.abs().max(1.0))
    }

    /// The proven lower bound on the minimum energy: the energy itself when branch and
    /// bound finished, else the method's own bound (if it gives one).
    pub fn proved_bound(&self) -> Option<f64> {
        match self.complete {
            Some(true) => Some(self.solution.energy),
            _ => self.solution.lower_bound,
        }
    }
}

impl From<MapSolution> for Solved {
    fn from(solution: MapSolution) -> Self {
        Self {
            solution,
            complete: None,
            fallback: false,
        }
    }
}

/// The MAP assignment of `model` (with its evidence) by `method`, within the budgets of
/// `options`.
///
/// # Errors
///
/// - [`FactorError::InvalidSetting`] when an option the method reads is out of range
///   (annealing runs, sweeps or temperatures, BP damping, zero passes, an LNS
///   neighbourhood of 0), or LNS has neither a time limit nor a move budget;
/// - [`FactorError::TooWide`] when exact elimination would need a table above
///   [`SolveOptions::max_table`];
/// - [`FactorError::InvalidFactor`] when the model does not fit the method (graph cut on
///   a non-binary model or one with forbidden entries).
///
/// # Examples
///
/// ```
/// use ebm_factor::FactorModel;
/// use ebm_factor::solve::{Method, SolveOptions, solve};
/// // Three binary variables in a chain that prefer to agree; the first prefers 1.
/// let mut model = FactorModel::new(vec![2, 2, 2]);
/// model.add_energy_factor(&[0], &[0.0, -1.0]).unwrap();
/// model.add_energy_factor(&[0, 1], &[0.0, 0.5, 0.5, 0.0]).unwrap();
/// model.add_energy_factor(&[1, 2], &[0.0, 0.5, 0.5, 0.0]).unwrap();
/// let options = SolveOptions { node_limit: Some(1000), ..SolveOptions::default() };
/// for method in [Method::Exact, Method::GraphCut, Method::BranchAndBound] {
///     let solved = solve(&model, method, &options).unwrap();
///     assert_eq!(solved.solution.assignment, vec![1, 1, 1], "{}", method.name());
///     assert_eq!(solved.solution.energy, -1.0);
/// }
/// // Branch and bound finished its search, so its answer is proven optimal.
/// let solved = solve(&model, Method::BranchAndBound, &options).unwrap();
/// assert_eq!(solved.complete, Some(true));
/// assert!(solved.proved_optimal());
/// // ICM gives no bound: its answer, though optimal here, is not proven.
/// assert!(!solve(&model, Method::Icm, &options).unwrap().proved_optimal());
/// ```
pub fn solve(
    model: &FactorModel,
    method: Method,
    options: &SolveOptions,
) -> Result<Solved, FactorError> {
    Ok(match method {
        Method::Exact => {
            let (assignment, _) = exact::map_assignment(model, options.max_table)?;
            let energy = model.energy(&assignment);
            MapSolution {
                assignment,
                energy,
                lower_bound: Some(energy),
                iterations: 1,
            }
            .into()
        }
        Method::GraphCut => {
            let cut = graph_cut_truncated(model)?;
            if cut.lower_bound.is_some() {
                cut.into()
            } else {
                Solved {
                    solution: icm(model, Some(cut.assignment), options.icm_sweeps),
                    complete: None,
                    fallback: true,
                }
            }
        }
        Method::Icm => icm(model, None, options.icm_sweeps).into(),
        Method::Anneal => simulated_annealing(
            model,
            &AnnealConfig {
                runs: options.runs,
                sweeps: options.sweeps,
                start_temperature: options.start_temperature,
                end_temperature: options.end_temperature,
                seed: options.seed,
                time_limit: options.time_limit,
            },
        )?
        .into(),
        Method::MaxProduct => max_product_map(model, &options.bp())?.into(),
        Method::Mplp => mplp(model, &options.dual())?.into(),
        Method::BranchAndBound => search(model, options)?,
        Method::Lns => neighbourhood_search(model, options)?.into(),
    })
}

/// Nodes of the search of the model itself that precedes MPLP in [`Start::Dual`].
const QUICK_NODES: u64 = 1000;

/// Branch and bound, cold or from the dual.
fn search(model: &FactorModel, options: &SolveOptions) -> Result<Solved, FactorError> {
    let mut config = BnbConfig {
        time_limit: options.time_limit,
        node_limit: options.node_limit,
        ..BnbConfig::default()
    };
    if options.start == Start::Cold {
        let r = branch_and_bound(model, &config)?;
        return Ok(Solved {
            solution: r.solution,
            complete: Some(r.complete),
            fallback: false,
        });
    }
    // A short search of the model itself first: small models are proved before MPLP
    // would have converged.
    config.arc_consistency = true;
    let quick = branch_and_bound(
        model,
        &BnbConfig {
            node_limit: Some(options.node_limit.unwrap_or(QUICK_NODES).min(QUICK_NODES)),
            ..config.clone()
        },
    )?;
    let quick_energy = model.energy(&quick.solution.assignment);
    if quick.complete {
        return Ok(Solved {
            solution: MapSolution {
                energy: quick_energy,
                lower_bound: Some(quick_energy),
                ..quick.solution
            },
            complete: Some(true),
            fallback: false,
        });
    }
    let (dual, reparametrized) = mplp_reparametrized(model, &options.dual())?;
    config.initial = Some(if quick_energy < dual.energy {
        quick.solution.assignment
    } else {
        dual.assignment.clone()
    });
    let r = branch_and_bound(&reparametrized, &config)?;
    // The reparametrized model's energies are scaled by 1 / T: back to the model's.
    let energy = model.energy(&r.solution.assignment);
    let bound = r.solution.lower_bound.map(|b| b * model.temperature());
    Ok(Solved {
        solution: MapSolution {
            assignment: r.solution.assignment,
            energy,
            lower_bound: tighter(bound, dual.lower_bound).map(|b| b.min(energy)),
            iterations: r.solution.iterations,
        },
        complete: Some(r.complete),
        fallback: false,
    })
}

/// The larger of two optional lower bounds.
fn tighter(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    [a, b].into_iter().flatten().reduce(f64::max)
}

/// Large neighbourhood search, cold or from the dual.
fn neighbourhood_search(
    model: &FactorModel,
    options: &SolveOptions,
) -> Result<MapSolution, FactorError> {
    InvalidSetting::require(
        options.time_limit.is_some() || options.moves.is_some(),
        "time_limit",
        "large neighbourhood search needs a time limit or a move budget",
    )?;
    let config = LnsConfig {
        neighbourhood: options.neighbourhood,
        moves: options.moves.unwrap_or(usize::MAX),
        time_limit: options.time_limit,
        seed: options.seed,
        ..LnsConfig::default()
    };
    if options.start == Start::Cold {
        let start = icm(model, None, options.icm_sweeps).assignment;
        return large_neighbourhood_search(model, start, &config);
    }
    let dual = mplp(model, &options.dual())?;
    let bp = max_product_map(model, &options.bp())?;
    let mut start = if bp.energy < dual.energy {
        bp
    } else {
        dual.clone()
    };
    if start.energy == f64::INFINITY {
        let first = branch_and_bound(
            model,
            &BnbConfig {
                time_limit: options.time_limit.map(|t| t / 4),
                node_limit: options.node_limit,
                first_solution: true,
                ..BnbConfig::default()
            },
        )?;
        if first.solution.energy < start.energy {
            start = first.solution;
        }
    }
    let mut solution = large_neighbourhood_search(model, start.assignment, &config)?;
    solution.lower_bound = dual.lower_bound.map(|b| b.min(solution.energy));
    Ok(solution)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_models::frustrated_ring;

    /// Two binary variables, the first preferring 1, under the pairwise table `pair`.
    fn pair_model(pair: [f64; 4]) -> FactorModel {
        let mut model = FactorModel::new(vec![2, 2]);
        model.add_energy_factor(&[0], &[0.0, -1.0]).unwrap();
        model.add_energy_factor(&[0, 1], &pair).unwrap();
        model
    }

    #[test]
    fn graph_cut_falls_back_only_on_non_submodular_models() {
        let options = SolveOptions::default();
        let attractive = pair_model([0.0, 1.0, 1.0, 0.0]);
        let exact = solve(&attractive, Method::GraphCut, &options).unwrap();
        assert_eq!(
            (exact.solution.assignment, exact.fallback),
            (vec![1, 1], false)
        );
        let repulsive = pair_model([1.0, 0.0, 0.0, 1.0]);
        let fallen = solve(&repulsive, Method::GraphCut, &options).unwrap();
        assert!(fallen.fallback);
        assert_eq!(fallen.solution.assignment, vec![1, 0]);
    }

    /// Every method reaches the optimum of a small frustrated ring, cold and from the
    /// dual, with deterministic budgets; the bounds they report are valid.
    #[test]
    fn every_method_but_the_local_ones_finds_the_optimum() {
        let model = frustrated_ring(10);
        let (_, ln_best) = exact::map_assignment(&model, exact::DEFAULT_MAX_TABLE).unwrap();
        let best = -ln_best * model.temperature();
        for start in [Start::Cold, Start::Dual] {
            let options = SolveOptions {
                node_limit: Some(100_000),
                moves: Some(50),
                start,
                ..SolveOptions::default()
            };
            for method in [
                Method::Exact,
                Method::Anneal,
                Method::BranchAndBound,
                Method::Lns,
            ] {
                let solved = solve(&model, method, &options).unwrap();
                let s = &solved.solution;
                assert!(
                    (s.energy - best).abs() < 1e-9,
                    "{}: {}",
                    method.name(),
                    s.energy
                );
                assert!((s.energy - model.energy(&s.assignment)).abs() < 1e-9);
                if let Some(bound) = s.lower_bound {
                    assert!(bound <= best + 1e-9, "{}: bound {bound}", method.name());
                }
            }
            for method in [Method::Icm, Method::MaxProduct, Method::Mplp] {
                let s = solve(&model, method, &options).unwrap().solution;
                assert!(s.energy >= best - 1e-9, "{}", method.name());
            }
        }
    }

    #[test]
    fn lns_needs_a_budget() {
        let model = frustrated_ring(6);
        let error = solve(&model, Method::Lns, &SolveOptions::default()).unwrap_err();
        assert!(
            matches!(&error, FactorError::InvalidSetting(s) if s.setting == "time_limit"),
            "{error}"
        );
    }
}
