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
    let complete = !search.stopped;
    let lower_bound = if complete {
        search.best_energy
    } else {
        root_bound.min(search.best_energy)
    };
    Ok(BnbResult {
        solution: MapSolution {
            energy: search.best_energy,
            assignment: search.best,
            lower_bound: Some(lower_bound),
            iterations: search.nodes,
        },
        complete,
        improvements: search.improvements,
    })
}

impl Search<'_> {
    fn is_alive(&self, v: usize, x: usize) -> bool {
        self.alive[v * self.words + x / 64] & (1 << (x % 64)) != 0
    }

    /// Remove `x` from `v`'s domain; false if the domain became empty.
    fn remove(&mut self, v: usize, x: usize) -> bool {
        if self.is_alive(v, x) {
            self.alive[v * self.words + x / 64] &= !(1 << (x % 64));
            self.sizes[v] -= 1;
            self.trail.push((v, x));
        }
        self.sizes[v] > 0
    }

    fn undo_to(&mut self, mark: usize) {
        while self.trail.len() > mark {
            let (v, x) = self.trail.pop().expect("trail above mark");
            self.alive[v * self.words + x / 64] |= 1 << (x % 64);
            self.sizes[v] += 1;
        }
    }

    fn close_factor(&mut self, f: usize) {
        self.open_minimum -= self.factor_minimum[f];
        match factor_energy(&self.network.factors[f], &self.assignment) {
            e if e == f64::INFINITY => self.violated += 1,
            e => self.energy += e,
        }
    }

    /// Energy of the closed factors (`+inf` if one is violated).
    fn closed_energy(&self) -> f64 {
        if self.violated > 0 {
            f64::INFINITY
        } else {
            self.energy
        }
    }

    fn reopen_factor(&mut self, f: usize) {
        match factor_energy(&self.network.factors[f], &self.assignment) {
            e if e == f64::INFINITY => self.violated -= 1,
            e => self.energy -= e,
        }
        self.open_minimum += self.factor_minimum[f];
    }

    /// Assign `v = x` and propagate; false on a wipe-out. The caller undoes via the trail
    /// and `unassign` whatever the outcome.
    fn assign(&mut self, v: usize, x: usize) -> bool {
        self.assigned[v] = true;
        self.assignment[v] = x;
        let network = self.network;
        let mut ok = true;
        for &f in network.factors_of(v) {
            self.open_vars[f] -= 1;
            if self.open_vars[f] == 0 {
                self.close_factor(f);
            } else if self.open_vars[f] == 1 {
                self.project(f, 1.0);
            }
        }
        for &f in network.factors_of(v) {
            if !ok {
                break;
            }
            ok = match &network.factors[f] {
                LocalFactor::AllDifferent(vars) => self.remove_from_others(vars, v, x),
                LocalFactor::Equal(vars) => self.restrict_others(vars, v, |y| y == x),
                LocalFactor::AtMostOne(vars) if x == 1 => self.remove_from_others(vars, v, 1),
                LocalFactor::Table { vars, .. } if self.open_vars[f] == 1 => {
                    let u = *vars
                        .iter()
                        .find(|&&u| !self.assigned[u])
                        .expect("one open variable");
                    let mut alive_left = true;
                    for y in 0..network.domains[u] {
                        if self.is_alive(u, y) {
                            self.assignment[u] = y;
                            if factor_energy(&network.factors[f], &self.assignment) == f64::INFINITY
                            {
                                alive_left = self.remove(u, y);
                            }
                        }
                    }
                    self.assignment[u] = 0;
                    alive_left
                }
                _ => true,
            };
            if !ok {
                self.weights[f] += 1.0;
            }
        }
        ok
    }

    /// Remove `x` from every open variable of `vars` but `v`; false on a wipe-out.
    fn remove_from_others(&mut self, vars: &[usize], v: usize, x: usize) -> bool {
        vars.iter()
            .filter(|&&u| u != v)
            .all(|&u| self.assigned[u] || self.remove(u, x))
    }

    /// Keep only the values `keep` allows in every open variable of `vars` but `v`; false
    /// on a wipe-out.
    fn restrict_others(&mut self, vars: &[usize], v: usize, keep: impl Fn(usize) -> bool) -> bool {
        for &u in vars {
            if u == v || self.assigned[u] {
                continue;
            }
            for y in 0..self.network.domains[u] {
                if !keep(y) && !self.remove(u, y) {
                    return false;
                }
            }
        }
        true
    }

    fn unassign(&mut self, v: usize) {
        let network = self.network;
        for &f in network.factors_of(v).iter().rev() {
            if self.open_vars[f] == 0 {
                self.reopen_factor(f);
            } else if self.open_vars[f] == 1 {
                self.project(f, -1.0);
            }
            self.open_vars[f] += 1;
        }
        self.assigned[v] = false;
        self.assignment[v] = 0;
    }

    /// Add (`sign` 1) or take back (`sign` -1) factor `f`'s energies above its minimum
    /// onto the row of its one open variable, at the current assignment of the others.
    /// Forbidden entries are left out: forward checking removes those values instead.
    fn project(&mut self, f: usize, sign: f64) {
        let network = self.network;
        let factor = &network.factors[f];
        let minimum = self.factor_minimum[f];
        if !self.soft_factor[f] || !minimum.is_finite() {
            return;
        }
        let Some(&u) = factor.scope().iter().find(|&&u| !self.assigned[u]) else {
            return;
        };
        let row = u * network.max_domain;
        for y in 0..network.domains[u] {
            self.assignment[u] = y;
            let e = factor_energy(factor, &self.assignment);
            if e.is_finite() {
                self.projected[row + y] += sign * (e - minimum);
            }
        }
        self.assignment[u] = 0;
    }

    /// Smallest projected energy over the alive values of `u`, and the second smallest.
    fn row_minima(&self, u: usize) -> (f64, f64) {
        let row = u * self.network.max_domain;
        let (mut first, mut second) = (f64::INFINITY, f64::INFINITY);
        for y in 0..self.network.domains[u] {
            if self.is_alive(u, y) {
                let c = self.projected[row + y];
                if c < first {
                    second = first;
                    first = c;
                } else if c < second {
                    second = c;
                }
            }
        }
        (first, second)
    }

    /// The projected part of the bound: each unassigned variable's smallest alive entry.
    /// With an incumbent, values whose entry would lift the bound to `cut` are removed
    /// (node consistency on soft costs); `None` on a wipe-out.
    fn projected_bound(&mut self, base: f64, cut: f64) -> Option<f64> {
        let n = self.assigned.len();
        let mut total = 0.0;
        for u in 0..n {
            if !self.assigned[u] {
                self.row_minimum[u] = self.row_minima(u).0;
                total += self.row_minimum[u];
            }
        }
        if cut.is_finite() && base + total < cut {
            let stride = self.network.max_domain;
            for u in 0..n {
                if self.assigned[u] {
                    continue;
                }
                // Removals below never touch a row's minimum, so the scratch stays valid.
                let slack = cut - (base + total - self.row_minimum[u]);
                for y in 0..self.network.domains[u] {
                    if self.is_alive(u, y)
                        && self.projected[u * stride + y] >= slack
                        && !self.remove(u, y)
                    {
                        return None;
                    }
                }
            }
        }
        Some(total)
    }

    fn out_of_budget(&mut self) -> bool {
        if self.stopped {
            return true;
        }
        let over_nodes = self
            .config
            .node_limit
            .is_some_and(|limit| self.nodes >= limit);
        let over_time = self.nodes % 256 == 0
            && self
                .config
                .time_limit
                .is_some_and(|limit| self.start.elapsed() >= limit);
        self.stopped = over_nodes || over_time;
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
            let cut = if self.best_energy.is_finite() {
                self.best_energy - 1e-9 * self.best_energy.abs().max(1.0)
            } else {
                f64::INFINITY
            };
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
mod tests {
    use super::*;
    use crate::exact;

    /// Models where a third of all pairwise entries are forbidden: the search closes and
    /// reopens violated factors all the time, and must still prove the exact optimum
    /// (an `inf - inf` in the running energy once made it report such models infeasible).
    #[test]
    fn proves_the_optimum_with_many_forbidden_entries() {
        for seed in 0..20u64 {
            let mut r = ebm_kernels::rng::stream(seed, 0, 0);
            let n = 10;
            let mut m = FactorModel::new(vec![3; n]);
            for v in 0..n {
                // Unary tables with a forbidden value too: they start with one open variable.
                let unary = [0.1 * v as f64, f64::INFINITY, 0.3];
                m.add_energy_factor(&[v], &unary).unwrap();
                for u in [(v + 1) % n, (v + 3) % n] {
                    let table: Vec<f64> = (0..9)
                        .map(|_| {
                            let x = ebm_kernels::rng::uniform_f64(&mut r);
                            if x < 0.33 { f64::INFINITY } else { x }
                        })
                        .collect();
                    m.add_energy_factor(&[v, u], &table).unwrap();
                }
            }
            let want = exact::map_assignment(&m, exact::DEFAULT_MAX_TABLE)
                .map(|(_, ln)| -ln)
                .unwrap();
            let got = branch_and_bound(&m, &BnbConfig::default()).unwrap();
            assert!(got.complete);
            assert!(
                (got.solution.energy - want).abs() < 1e-9 || (got.solution.energy == want),
                "seed {seed}: {} vs {want}",
                got.solution.energy
            );
        }
    }

    /// The smallest case of that bug: x1's forbidden value is tried (and its unary factor
    /// closed, violated, and reopened) under x0 = 0 before the optimum x0 = 1 is reached.
    #[test]
    fn a_reopened_violation_does_not_poison_later_branches() {
        let mut m = FactorModel::new(vec![2, 2]);
        m.add_energy_factor(&[0], &[0.0, 1.0]).unwrap();
        m.add_energy_factor(&[1], &[0.0, f64::INFINITY]).unwrap();
        m.add_energy_factor(&[0, 1], &[10.0, 0.0, 0.0, 0.0])
            .unwrap();
        let got = branch_and_bound(&m, &BnbConfig::default()).unwrap();
        assert_eq!(got.solution.energy, 1.0);
        assert_eq!(got.solution.assignment, vec![1, 0]);
    }

    /// Branch and bound proves the exact optimum of soft models (against elimination) and
    /// of a model with hard constraints of every kind, and proves infeasibility.
    #[test]
    fn proves_the_optimum_and_infeasibility() {
        let n = 9;
        let mut m = FactorModel::new(vec![3; n]);
        for v in 0..n {
            let unary: Vec<f64> = (0..3).map(|x| ((v * 5 + x * 7) % 4) as f64 * 0.4).collect();
            m.add_energy_factor(&[v], &unary).unwrap();
            let w: Vec<f64> = (0..9)
                .map(|i| {
                    if i == 4 && v == 2 {
                        f64::INFINITY
                    } else {
                        ((i * 3 + v) % 5) as f64 * 0.3
                    }
                })
                .collect();
            m.add_energy_factor(&[v, (v + 1) % n], &w).unwrap();
        }
        m.add_potts(0, 5, -0.7).unwrap();
        m.add_all_different(&[1, 4, 7]).unwrap();
        m.add_equal(&[2, 8]).unwrap();
        m.set_evidence(3, 1).unwrap();
        let (_, ln_best) = exact::map_assignment(&m, exact::DEFAULT_MAX_TABLE).unwrap();
        let r = branch_and_bound(&m, &BnbConfig::default()).unwrap();
        assert!(r.complete);
        assert!(
            (r.solution.energy + ln_best).abs() < 1e-9,
            "{} vs {}",
            r.solution.energy,
            -ln_best
        );
        assert_eq!(r.solution.assignment[3], 1);
        assert_eq!(r.solution.lower_bound, Some(r.solution.energy));
        // A node limit stops early with a valid bound.
        let limited = BnbConfig {
            node_limit: Some(3),
            ..BnbConfig::default()
        };
        let r = branch_and_bound(&m, &limited).unwrap();
        assert!(!r.complete);
        assert!(r.solution.lower_bound.unwrap() <= -ln_best + 1e-9);
        // Four mutually different variables with three values: infeasible.
        let mut k4 = FactorModel::new(vec![3; 4]);
        k4.add_all_different(&[0, 1, 2, 3]).unwrap();
        let r = branch_and_bound(
            &k4,
            &BnbConfig {
                interchangeable_values: true,
                ..BnbConfig::default()
            },
        )
        .unwrap();
        assert!(r.complete);
        assert_eq!(r.solution.energy, f64::INFINITY);
        let mut amo = FactorModel::new(vec![2; 3]);
        amo.add_energy_factor(&[0], &[1.0, 0.0]).unwrap();
        amo.add_energy_factor(&[1], &[1.0, 0.0]).unwrap();
        amo.add_at_most_one(&[0, 1, 2]).unwrap();
        let r = branch_and_bound(&amo, &BnbConfig::default()).unwrap();
        assert_eq!(r.solution.energy, 1.0);
    }
}
