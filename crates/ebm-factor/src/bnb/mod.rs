//! Exact MAP by depth-first branch and bound with constraint propagation, anytime.
//!
//! Each node assigns the variable with the fewest values left per weighted degree, trying
//! values in order of the energy they add. Assigning propagates: all-different removes the
//! value from the other variables, equality fixes them, at-most-one clears the others' 1,
//! and a table factor with one unassigned variable left loses that variable's forbidden
//! values (forward checking). Soft costs are forward-checked too: a factor with one
//! unassigned variable left projects its energies onto that variable's values, each
//! unassigned variable adds its cheapest alive value to the bound, and values that would
//! lift the bound past the best found are removed. A branch is cut when its energy so far
//! plus every open factor's smallest energy plus those projections cannot beat the best
//! found. The search stops at a node or time
//! limit and reports the best assignment and the bound; when it ends on its own the best
//! is optimal (or the model is proven infeasible).

use crate::map::MapSolution;
use crate::model::FactorModel;
use crate::network::{LocalFactor, Network, factor_energy, factor_minimum};
use crate::{FactorError, InvalidSetting};
use std::time::{Duration, Instant};

mod arc_search;
mod consistency;
mod propagate;
mod soft;

/// Settings of the search.
#[derive(Clone, Debug, Default)]
pub struct BnbConfig {
    /// Stop after this long (anytime: the best so far is returned).
    pub time_limit: Option<Duration>,
    /// Stop after this many nodes.
    pub node_limit: Option<u64>,
    /// The values are interchangeable (graph coloring): a variable may take a value only
    /// if every smaller value is already in use, which removes the `K!` relabelings.
    pub interchangeable_values: bool,
    /// An assignment to start from as the incumbent (e.g. from annealing).
    pub initial: Option<Vec<usize>>,
    /// Stop at the first assignment of finite energy (constraint satisfaction).
    pub first_solution: bool,
    /// Maintain soft arc consistency during the search: cost transfers between the
    /// tables, unary costs and a zero-arity bound, re-established after every assignment
    /// and value removal, with binary branching and last-conflict dom/wdeg ordering
    /// (see `consistency.rs`). Applies to models of tables and Potts factors without
    /// `interchangeable_values`; other models get the forward-checking search.
    pub arc_consistency: bool,
}

/// The search's answer.
#[derive(Clone, Debug)]
pub struct BnbResult {
    /// The best assignment and its energy (`+inf` energy when none was found), with the
    /// lower bound (equal to the energy when the search completed).
    pub solution: MapSolution,
    /// True when the search space was exhausted (or `first_solution` found one): the
    /// energy is optimal, or `+inf` proves that no assignment satisfies the constraints.
    pub complete: bool,
    /// `(seconds, energy)` each time the incumbent improved.
    pub improvements: Vec<(f64, f64)>,
}

struct Search<'a> {
    network: &'a Network,
    words: usize,
    alive: Vec<u64>,
    sizes: Vec<usize>,
    assigned: Vec<bool>,
    assignment: Vec<usize>,
    /// Per factor, its unassigned variables.
    open_vars: Vec<usize>,
    /// Per factor, its smallest energy (the bound's share while it is open).
    factor_minimum: Vec<f64>,
    /// Per factor, 1 + the wipe-outs it caused (dom/wdeg).
    weights: Vec<f64>,
    /// Per (variable, value), row-major with stride `max_domain`: the energy above their
    /// minima that the open factors whose only open variable it is would take at that
    /// value (forward checking of soft costs: each unassigned variable adds its smallest
    /// alive entry to the bound, and values that cannot beat the incumbent are removed).
    projected: Vec<f64>,
    /// Scratch: each unassigned variable's smallest alive projected entry at this node.
    row_minimum: Vec<f64>,
    /// Per factor, whether it has two different finite energies. Only such factors
    /// project anything; a model with none (a pure constraint problem) skips the soft
    /// forward checking entirely, as its projections would all be zero.
    soft_factor: Vec<bool>,
    any_soft: bool,
    /// Removed (variable, value) pairs, undone on backtrack.
    trail: Vec<(usize, usize)>,
    /// Sum of the finite energies of the closed factors.
    energy: f64,
    /// Closed factors whose energy is `+inf` (kept apart so closing and reopening them
    /// never computes `inf - inf`).
    violated: usize,
    open_minimum: f64,
    best_energy: f64,
    best: Vec<usize>,
    nodes: u64,
    start: Instant,
    config: &'a BnbConfig,
    stopped: bool,
    largest_used: Option<usize>,
    improvements: Vec<(f64, f64)>,
}

/// Run branch and bound on `model` (with its evidence).
pub fn branch_and_bound(model: &FactorModel, config: &BnbConfig) -> Result<BnbResult, FactorError> {
    let network = Network::new(model);
    let n = network.len();
    if let Some(initial) = &config.initial
        && initial.len() != n
    {
        return Err(InvalidSetting::new(
            "initial",
            format!("has {} values for {n} variables", initial.len()),
        )
        .into());
    }
    if config.arc_consistency
        && !config.interchangeable_values
        && let Some(result) = arc_search::arc_branch_and_bound(&network, config)
    {
        return Ok(result);
    }
    let words = network.max_domain.div_ceil(64);
    let mut alive = vec![0u64; n * words];
    for (v, &d) in network.domains.iter().enumerate() {
        for x in 0..d {
            alive[v * words + x / 64] |= 1 << (x % 64);
        }
    }
    let factor_minimum: Vec<f64> = network.factors.iter().map(factor_minimum).collect();
    let soft_factor: Vec<bool> = network
        .factors
        .iter()
        .zip(&factor_minimum)
        .map(|(f, &minimum)| match f {
            LocalFactor::Table { energies, .. } => {
                energies.iter().any(|&e| e.is_finite() && e > minimum)
            }
            LocalFactor::Potts { weight, .. } => *weight != 0.0,
            _ => false,
        })
        .collect();
    let open_vars: Vec<usize> = network.factors.iter().map(|f| f.scope().len()).collect();
    let mut search = Search {
        network: &network,
        words,
        alive,
        sizes: network.domains.clone(),
        assigned: vec![false; n],
        assignment: vec![0; n],
        weights: vec![1.0; network.factors.len()],
        projected: vec![0.0; n * network.max_domain],
        row_minimum: vec![0.0; n],
        any_soft: soft_factor.iter().any(|&s| s),
        soft_factor,
        open_minimum: factor_minimum.iter().sum(),
        factor_minimum,
        open_vars,
        trail: Vec::new(),
        energy: 0.0,
        violated: 0,
        best_energy: f64::INFINITY,
        best: network.initial_assignment(),
        nodes: 0,
        start: Instant::now(),
        config,
        stopped: false,
        largest_used: None,
        improvements: Vec::new(),
    };
    if let Some(initial) = &config.initial {
        let e = network.energy(initial);
        if e < f64::INFINITY {
            search.best_energy = e;
            search.best = initial.clone();
            search.improvements.push((0.0, e));
        }
    }
    let root_bound = search.open_minimum;
    // Factors with no variables are constants.
    for f in 0..network.factors.len() {
        if search.open_vars[f] == 0 {
            search.close_factor(f);
        }
    }
    let mut feasible = true;
    for (v, e) in network.evidence.iter().enumerate() {
        if let Some(x) = *e {
            if !search.is_alive(v, x) || !search.assign(v, x) {
                feasible = false;
                break;
            }
        }
    }
    if feasible {
        search.dfs();
    }
    Ok(BnbResult::finish(
        search.best,
        search.best_energy,
        root_bound.min(search.best_energy),
        search.nodes,
        !search.stopped,
        search.improvements,
    ))
}

impl BnbResult {
    /// The answer of a search that found `best`, of energy `energy`, in `nodes` nodes:
    /// its lower bound is the energy when `complete`, else `stopped_bound`.
    fn finish(
        best: Vec<usize>,
        energy: f64,
        stopped_bound: f64,
        nodes: u64,
        complete: bool,
        improvements: Vec<(f64, f64)>,
    ) -> Self {
        Self {
            solution: MapSolution {
                energy,
                assignment: best,
                lower_bound: Some(if complete { energy } else { stopped_bound }),
                iterations: nodes,
            },
            complete,
            improvements,
        }
    }
}

/// Whether a search of `nodes` nodes begun at `start` has used up `config`'s node or
/// time budget (the clock is read every 256 nodes).
fn budget_spent(config: &BnbConfig, nodes: u64, start: Instant) -> bool {
    let over_nodes = config.node_limit.is_some_and(|limit| nodes >= limit);
    let over_time = nodes % 256 == 0
        && config
            .time_limit
            .is_some_and(|limit| start.elapsed() >= limit);
    over_nodes || over_time
}

/// The bound at which a node cannot beat an incumbent of energy `best` by more than
/// round-off (`1e-9` relative); `+inf` without one.
fn cut_below(best: f64) -> f64 {
    if best.is_finite() {
        best - 1e-9 * best.abs().max(1.0)
    } else {
        f64::INFINITY
    }
}

impl Search<'_> {
    fn out_of_budget(&mut self) -> bool {
        if self.stopped {
            return true;
        }
        self.stopped = budget_spent(self.config, self.nodes, self.start);
        self.stopped
    }

    /// The open variable with the smallest ratio of values left to weighted degree
    /// (dom/wdeg: a factor's weight grows each time it wipes out a domain, so the search
    /// turns to the variables in the constraints that keep failing), if any.
    fn choose(&self) -> Option<usize> {
        let mut best: Option<(usize, f64, f64)> = None;
        for v in 0..self.assigned.len() {
            if self.assigned[v] {
                continue;
            }
            if self.sizes[v] == 1 {
                return Some(v);
            }
            let weighted_degree: f64 = self
                .network
                .factors_of(v)
                .iter()
                .filter(|&&f| self.open_vars[f] >= 2)
                .map(|&f| self.weights[f])
                .sum();
            let score = self.sizes[v] as f64 / weighted_degree.max(1e-9);
            // Ties (common with soft factors, which never shrink domains) go to the
            // variable whose best value beats its second best by the most.
            let gap = if self.any_soft {
                let (first, second) = self.row_minima(v);
                if second.is_finite() {
                    second - first
                } else {
                    f64::MAX
                }
            } else {
                0.0
            };
            if best.is_none_or(|(_, s, g)| score < s || (score == s && gap > g)) {
                best = Some((v, score, gap));
            }
        }
        best.map(|(v, _, _)| v)
    }

    /// The values of `v` to try, cheapest first (energy of the factors they close).
    fn ordered_values(&mut self, v: usize) -> Vec<(f64, usize)> {
        let network = self.network;
        let limit = match (self.config.interchangeable_values, self.largest_used) {
            (true, Some(m)) => m + 2,
            (true, None) => 1,
            (false, _) => usize::MAX,
        };
        let mut values = Vec::with_capacity(self.sizes[v]);
        for x in 0..network.domains[v].min(limit) {
            if !self.is_alive(v, x) {
                continue;
            }
            self.assignment[v] = x;
            let added: f64 = network
                .factors_of(v)
                .iter()
                .filter(|&&f| self.open_vars[f] == 1)
                .map(|&f| {
                    factor_energy(&network.factors[f], &self.assignment) - self.factor_minimum[f]
                })
                .sum();
            values.push((added, x));
        }
        self.assignment[v] = 0;
        values.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        values
    }

    fn dfs(&mut self) {
        let Some(v) = self.choose() else {
            let energy = self.closed_energy();
            if energy < self.best_energy {
                self.best_energy = energy;
                self.best.copy_from_slice(&self.assignment);
                self.improvements
                    .push((self.start.elapsed().as_secs_f64(), energy));
                if self.config.first_solution {
                    self.stopped = true;
                }
            }
            return;
        };
        for (_, x) in self.ordered_values(v) {
            if self.out_of_budget()
                || (self.config.first_solution && self.best_energy < f64::INFINITY)
            {
                return;
            }
            self.nodes += 1;
            let mark = self.trail.len();
            let previous_largest = self.largest_used;
            self.largest_used = Some(previous_largest.map_or(x, |m| m.max(x)));
            let consistent = self.assign(v, x);
            let base = self.closed_energy() + self.open_minimum;
            let cut = cut_below(self.best_energy);
            let bound = if consistent && base < cut && !self.any_soft {
                Some(base)
            } else if consistent && base < cut {
                self.projected_bound(base, cut).map(|p| base + p)
            } else {
                None
            };
            if bound.is_some_and(|b| b < cut) {
                self.dfs();
            }
            self.unassign(v);
            self.undo_to(mark);
            self.largest_used = previous_largest;
        }
    }
}

#[cfg(test)]
mod tests;
