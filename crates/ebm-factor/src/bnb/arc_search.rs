//! Depth-first branch and bound that maintains soft arc consistency
//! ([`super::consistency`]) at every node, for models of cost tables (and Potts factors).
//!
//! Branching is binary: the chosen variable takes its cheapest value (by unary cost, ties
//! to the incumbent's value), and on the way back that value is removed and the variable
//! chosen again. Both moves are followed by propagation, so a refutation raises the bound
//! as much as an assignment does. Variables are chosen by last conflict first (the
//! variable whose assignment just failed, while it is open), then by dom/wdeg: the fewest
//! values left per total weight of the open tables it shares with other open variables,
//! where a table's weight grows each time its propagation fails. A node is cut when `c0`
//! reaches the incumbent's energy less a relative `1e-9`, so round-off in the transfers
//! can never prove a wrong optimum; incumbents are scored on the model's own energy.

use super::consistency::Wcsp;
use super::{BnbConfig, BnbResult};
use crate::network::Network;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Backtracks of the first depth-first dive of hybrid best-first search.
const FIRST_DIVE: u64 = 64;
/// Most backtracks of a dive.
const LONGEST_DIVE: u64 = 10_000;

/// One branching decision: `v = a`, or `v != a` when `assign` is false.
#[derive(Clone, Copy, Debug)]
struct Decision {
    v: usize,
    a: usize,
    assign: bool,
}

/// An open node of hybrid best-first search: its decisions from the root and the bound
/// propagation gave it.
#[derive(Clone, Debug)]
struct OpenNode {
    bound: f64,
    path: Vec<Decision>,
}

impl PartialEq for OpenNode {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for OpenNode {}

impl PartialOrd for OpenNode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OpenNode {
    /// The max-heap pops the smallest bound first, then the deepest node.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .bound
            .total_cmp(&self.bound)
            .then(self.path.len().cmp(&other.path.len()))
    }
}

struct ArcSearch<'a> {
    wcsp: Wcsp,
    network: &'a Network,
    config: &'a BnbConfig,
    best_energy: f64,
    best: Vec<usize>,
    have_incumbent: bool,
    nodes: u64,
    start: Instant,
    stopped: bool,
    last_conflict: Option<usize>,
    improvements: Vec<(f64, f64)>,
    scratch: Vec<usize>,
    /// The decisions from the root to the current node.
    path: Vec<Decision>,
    open: BinaryHeap<OpenNode>,
    /// This dive's backtrack budget and the backtracks it used.
    dive: u64,
    backtracks: u64,
    /// Whether propagation eliminates low-degree variables in this search
    /// ([`ELIMINATION_MIN_VARIABLES`]).
    eliminating: bool,
}

/// Fewest variables for which the search eliminates variables of at most three open
/// neighbours during propagation. On small networks the search is short and the
/// bookkeeping costs more than it saves (Segmentation_12, 231 variables: 1.14x
/// toulbar2's CPU time without, 2.74x with), on large ones it is what brings the proof
/// within reach (Promedas_11, 2,133 variables: never proved in 60 s without; proved with).
pub const ELIMINATION_MIN_VARIABLES: usize = 1000;

/// Branch and bound with soft arc consistency on `network`, or `None` when it has
/// factors other than tables and Potts factors. `initial`, when given, is the first
/// incumbent (checked by the caller).
pub(super) fn arc_branch_and_bound(network: &Network, config: &BnbConfig) -> Option<BnbResult> {
    let eliminating = network.len() >= ELIMINATION_MIN_VARIABLES;
    arc_branch_and_bound_from(network, config, FIRST_DIVE, eliminating, EXISTENTIAL)
}

/// Whether the search maintains existential arc consistency (`consistency/existential.rs`):
/// Promedas_11 is proved in 16k nodes with it, 74k without.
const EXISTENTIAL: bool = true;

/// [`arc_branch_and_bound`] whose first dive has `first_dive` backtracks, eliminating
/// low-degree variables during propagation when `eliminating` and maintaining existential
/// arc consistency when `existential`.
fn arc_branch_and_bound_from(
    network: &Network,
    config: &BnbConfig,
    first_dive: u64,
    eliminating: bool,
    existential: bool,
) -> Option<BnbResult> {
    let mut wcsp = Wcsp::new(network)?;
    let n = network.len();
    wcsp.eliminate = eliminating;
    wcsp.existential = existential;
    let mut search = ArcSearch {
        wcsp,
        network,
        config,
        best_energy: f64::INFINITY,
        best: network.initial_assignment(),
        have_incumbent: false,
        nodes: 0,
        start: Instant::now(),
        stopped: false,
        last_conflict: None,
        improvements: Vec::new(),
        scratch: vec![0; n],
        path: Vec::new(),
        open: BinaryHeap::new(),
        dive: first_dive,
        backtracks: 0,
        eliminating,
    };
    if let Some(initial) = &config.initial {
        let e = network.energy(initial);
        if e < f64::INFINITY {
            search.best_energy = e;
            search.best = initial.clone();
            search.have_incumbent = true;
            search.improvements.push((0.0, e));
        }
    }
    let mut feasible = true;
    for (v, e) in network.evidence.iter().enumerate() {
        if let Some(x) = *e {
            let cut = search.cut();
            if !search.wcsp.is_alive(v, x) {
                feasible = false;
                break;
            }
            search.wcsp.assign(v, x);
            if !search.wcsp.propagate(cut) {
                feasible = false;
                break;
            }
        }
    }
    let cut = search.cut();
    feasible = feasible && search.wcsp.propagate(cut);
    // With an incumbent, a node's bound bounds only what beats it: the minimum of the
    // open nodes' bounds and the incumbent bounds the optimum.
    let lower_bound = if feasible {
        search.best_first().min(search.best_energy)
    } else {
        search.best_energy
    };
    Some(BnbResult::finish(
        search.best,
        search.best_energy,
        lower_bound,
        search.nodes,
        !search.stopped,
        search.improvements,
    ))
}

impl ArcSearch<'_> {
    /// Nodes whose bound reaches this cannot improve on the incumbent by more than
    /// round-off.
    fn cut(&self) -> f64 {
        super::cut_below(self.best_energy)
    }

    fn out_of_budget(&mut self) -> bool {
        if self.stopped {
            return true;
        }
        self.stopped = super::budget_spent(self.config, self.nodes, self.start)
            || (self.config.first_solution && self.have_incumbent);
        self.stopped
    }

    /// Last conflict, then dom/wdeg over the open variables; `None` when all are assigned.
    fn choose(&self) -> Option<usize> {
        let w = &self.wcsp;
        if let Some(v) = self.last_conflict
            && w.value[v].is_none()
        {
            return Some(v);
        }
        let mut best: Option<(usize, f64)> = None;
        for v in 0..w.len() {
            if w.value[v].is_some() {
                continue;
            }
            let weighted_degree: f64 = w.tables_of[v]
                .iter()
                .filter(|&&(f, _)| w.open[f] >= 2)
                .map(|&(f, _)| w.weights[f])
                .sum();
            let score = if w.sizes[v] == 1 {
                0.0
            } else if weighted_degree > 0.0 {
                w.sizes[v] as f64 / weighted_degree
            } else {
                f64::MAX
            };
            if best.is_none_or(|(_, s)| score < s) {
                best = Some((v, score));
            }
        }
        best.map(|(v, _)| v)
    }

    /// `v`'s cheapest alive value, ties to the incumbent's value, then the smallest.
    fn value_of(&self, v: usize) -> usize {
        let w = &self.wcsp;
        let mut best: Option<(usize, f64)> = None;
        for a in 0..w.domains[v] {
            if !w.is_alive(v, a) {
                continue;
            }
            let c = w.cost(v, a);
            let better = match best {
                None => true,
                Some((b, cb)) => c < cb || (c == cb && a == self.best[v] && b != a),
            };
            if better {
                best = Some((a, c));
            }
        }
        best.expect("an open variable has a value").0
    }

    fn leaf(&mut self) {
        self.wcsp.complete(&mut self.scratch);
        let energy = self.network.energy(&self.scratch);
        if energy < self.best_energy {
            self.best_energy = energy;
            self.best.copy_from_slice(&self.scratch);
            self.have_incumbent = true;
            self.improvements
                .push((self.start.elapsed().as_secs_f64(), energy));
        }
    }

    /// Hybrid best-first search: depth-first dives of a growing backtrack budget from the
    /// open node of smallest bound; a dive out of budget leaves its unexplored children
    /// open. The budget doubles while replaying the decisions of the nodes costs under 5%
    /// of the nodes, and halves above 10%. Returns, when stopped, the smallest bound of the
    /// nodes left open.
    fn best_first(&mut self) -> f64 {
        let root = self.wcsp.mark();
        self.open.push(OpenNode {
            bound: self.wcsp.c0,
            path: Vec::new(),
        });
        let mut replayed = 0u64;
        while let Some(node) = self.open.pop() {
            if node.bound >= self.cut() {
                self.open.clear();
                break;
            }
            if self.out_of_budget() {
                let bound = node.bound;
                self.open.push(node);
                return bound;
            }
            self.wcsp.undo(root);
            // No elimination while replaying: the dive made its decisions on variables
            // that were open, and eliminating one first would leave it nothing to decide.
            self.wcsp.eliminate = false;
            let mut alive = true;
            for d in &node.path {
                replayed += 1;
                let cut = self.cut();
                if d.assign {
                    self.wcsp.assign(d.v, d.a);
                } else if !self.wcsp.remove(d.v, d.a) {
                    alive = false;
                    break;
                }
                if !self.wcsp.propagate(cut) {
                    alive = false;
                    break;
                }
            }
            self.wcsp.eliminate = self.eliminating;
            self.wcsp.consider_all();
            if !alive {
                continue;
            }
            let bound = self.wcsp.c0;
            self.path = node.path;
            self.backtracks = 0;
            self.dfs();
            if self.stopped {
                // The dive's own subtree is unfinished: its root's bound still holds.
                let open = self.open.peek().map_or(f64::INFINITY, |n| n.bound);
                return bound.min(open);
            }
            let ratio = replayed as f64 / self.nodes.max(1) as f64;
            if ratio < 0.05 {
                self.dive = (self.dive * 2).min(LONGEST_DIVE);
            } else if ratio > 0.10 {
                self.dive = (self.dive / 2).max(1);
            }
        }
        f64::INFINITY
    }

    /// Leave the current node open (its bound is the current `c0`).
    fn leave_open(&mut self) {
        self.open.push(OpenNode {
            bound: self.wcsp.c0,
            path: self.path.clone(),
        });
    }

    fn dfs(&mut self) {
        let base = self.path.len();
        self.dive_from();
        self.path.truncate(base);
    }

    fn dive_from(&mut self) {
        loop {
            if self.out_of_budget() || self.wcsp.c0 >= self.cut() {
                return;
            }
            let Some(v) = self.choose() else {
                self.leaf();
                return;
            };
            let a = self.value_of(v);
            self.nodes += 1;
            let mark = self.wcsp.mark();
            self.wcsp.assign(v, a);
            self.path.push(Decision { v, a, assign: true });
            if !self.wcsp.propagate(self.cut()) {
                self.last_conflict = Some(v);
                self.backtracks += 1;
            } else if self.backtracks >= self.dive {
                self.leave_open();
            } else {
                self.dfs();
            }
            self.path.pop();
            self.wcsp.undo(mark);
            if self.stopped {
                return;
            }
            // Refute v = a; these removals are undone by the caller.
            let cut = self.cut();
            self.path.push(Decision {
                v,
                a,
                assign: false,
            });
            if !(self.wcsp.remove(v, a) && self.wcsp.propagate(cut)) {
                self.last_conflict = Some(v);
                self.backtracks += 1;
                return;
            }
            if self.backtracks >= self.dive {
                self.leave_open();
                return;
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::branch_and_bound;
    use super::*;
    use crate::model::FactorModel;
    use ebm_kernels::rng;

    /// A random model: domains of 2-3 values, unary to 4-ary tables (one 5-ary), a share
    /// `forbidden` of infinite entries, and evidence on variable 0 when `evidence`.
    pub(in crate::bnb) fn random_model(seed: u64, forbidden: f64, evidence: bool) -> FactorModel {
        let mut r = rng::stream(seed, 3, 0);
        let n = 6 + (seed % 2) as usize;
        let domains: Vec<usize> = (0..n).map(|_| 2 + rng::index(&mut r, 2)).collect();
        let mut m = FactorModel::new(domains.clone());
        for f in 0..n + 3 {
            let arity = if f == 0 { 5 } else { 1 + rng::index(&mut r, 4) };
            let mut scope: Vec<usize> = Vec::new();
            while scope.len() < arity {
                let v = rng::index(&mut r, n);
                if !scope.contains(&v) {
                    scope.push(v);
                }
            }
            let size: usize = scope.iter().map(|&v| domains[v]).product();
            let table: Vec<f64> = (0..size)
                .map(|_| {
                    if rng::uniform_f64(&mut r) < forbidden {
                        f64::INFINITY
                    } else {
                        rng::uniform_f64(&mut r) * 3.0 - 1.0
                    }
                })
                .collect();
            m.add_energy_factor(&scope, &table).unwrap();
        }
        m.add_potts(0, 1, 0.8).unwrap();
        if evidence {
            m.set_evidence(0, 1).unwrap();
        }
        m
    }

    /// The minimum energy over every assignment the evidence allows.
    pub(in crate::bnb) fn brute_force(model: &FactorModel) -> f64 {
        let network = Network::new(model);
        let mut x = network.initial_assignment();
        let free = network.free_variables();
        let mut best = f64::INFINITY;
        loop {
            best = best.min(network.energy(&x));
            let mut i = 0;
            loop {
                if i == free.len() {
                    return best;
                }
                x[free[i]] += 1;
                if x[free[i]] < network.domains[free[i]] {
                    break;
                }
                x[free[i]] = 0;
                i += 1;
            }
        }
    }

    fn arc(initial: Option<Vec<usize>>, node_limit: Option<u64>) -> BnbConfig {
        BnbConfig {
            arc_consistency: true,
            initial,
            node_limit,
            ..BnbConfig::default()
        }
    }

    /// Against brute force on random models with high-arity tables and hard zeros: the
    /// optimum and the proof, from no incumbent, a poor one and the optimum itself; an
    /// infeasible model is proven so.
    #[test]
    fn proves_the_brute_force_optimum() {
        let mut infeasible = 0;
        for seed in 0..60u64 {
            let forbidden = [0.0, 0.2, 0.45][seed as usize % 3];
            let model = random_model(seed, forbidden, seed % 4 == 1);
            let want = brute_force(&model);
            let cold = branch_and_bound(&model, &arc(None, None)).unwrap();
            assert!(cold.complete, "seed {seed}");
            let got = cold.solution.energy;
            assert!(
                got == want || (got - want).abs() < 1e-9,
                "seed {seed}: {got} vs {want}"
            );
            assert_eq!(model.energy(&cold.solution.assignment), got);
            // Dives of one backtrack: nearly every node is left open and replayed; with
            // and without elimination during the search (these models are below
            // ELIMINATION_MIN_VARIABLES, so `branch_and_bound` above ran without it).
            let network = Network::new(&model);
            for (eliminating, existential) in
                [(true, false), (false, false), (true, true), (false, true)]
            {
                for dive in [1, FIRST_DIVE] {
                    let short = arc_branch_and_bound_from(
                        &network,
                        &arc(None, None),
                        dive,
                        eliminating,
                        existential,
                    )
                    .unwrap();
                    assert!(short.complete, "seed {seed}");
                    let e = short.solution.energy;
                    assert!(
                        e == want || (e - want).abs() < 1e-9,
                        "seed {seed} eliminating {eliminating} existential {existential} dive {dive}: {e} vs {want}"
                    );
                    assert_eq!(model.energy(&short.solution.assignment), e, "seed {seed}");
                }
            }
            assert_eq!(cold.solution.lower_bound, Some(got));
            if want == f64::INFINITY {
                infeasible += 1;
                continue;
            }
            let poor = Network::new(&model).initial_assignment();
            let warm = branch_and_bound(&model, &arc(Some(poor), None)).unwrap();
            assert!(warm.complete && (warm.solution.energy - want).abs() < 1e-9);
            let from_best = cold.solution.assignment.clone();
            let proved = branch_and_bound(&model, &arc(Some(from_best), None)).unwrap();
            assert!(proved.complete && (proved.solution.energy - want).abs() < 1e-9);
        }
        assert!(infeasible > 0 && infeasible < 40, "{infeasible} infeasible");
    }

    /// A node limit stops the search: not complete, with a bound below the optimum, in
    /// long dives and in short ones (which leave nodes open).
    #[test]
    fn a_stopped_search_claims_no_proof() {
        let mut stopped = 0;
        for seed in 0..10u64 {
            let model = random_model(100 + seed, 0.1, false);
            let want = brute_force(&model);
            let network = Network::new(&model);
            for (nodes, dive) in [(1, FIRST_DIVE), (5, 1)] {
                let r = arc_branch_and_bound_from(
                    &network,
                    &arc(None, Some(nodes)),
                    dive,
                    true,
                    EXISTENTIAL,
                )
                .unwrap();
                if r.complete {
                    continue;
                }
                stopped += 1;
                assert!(
                    r.solution.lower_bound.unwrap() <= want + 1e-9,
                    "seed {seed}"
                );
                assert!(r.solution.energy >= want - 1e-9);
            }
        }
        assert!(stopped > 10, "only {stopped} searches were stopped");
    }

    /// Evidence that breaks a hard constraint is infeasible from the root.
    #[test]
    fn forbidden_evidence_is_infeasible() {
        let mut m = FactorModel::new(vec![2, 2]);
        m.add_energy_factor(&[0, 1], &[0.0, f64::INFINITY, f64::INFINITY, 1.0])
            .unwrap();
        m.add_energy_factor(&[1], &[0.0, f64::INFINITY]).unwrap();
        m.set_evidence(0, 1).unwrap();
        let r = branch_and_bound(&m, &arc(None, None)).unwrap();
        assert!(r.complete);
        assert_eq!(r.solution.energy, f64::INFINITY);
    }
}
