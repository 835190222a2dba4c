//! Variable elimination during search ("boosting search by variable elimination",
//! Larrosa, Morancho and Niso, JAIR 2005): an open variable `v` whose open tables reach at
//! most three other open variables (`N`) is eliminated exactly by min-sum. Its tables are
//! retired and replaced by one new table `h(N) = min_a [u_v(a) + Σ_f c_f(a, N)]` over `v`'s
//! alive values (with one neighbour, `h` is added to its unary costs instead), so
//! the network keeps the same minimum over the remaining variables and `v` leaves the
//! search. Everything is trailed: backtracking removes `h`, revives the retired tables and
//! reopens `v`. At a leaf, [`Wcsp::complete`] gives each eliminated variable, latest first,
//! its best value given its neighbours' (whose values are known by then: they were open
//! when it went, so they were assigned or eliminated later).

use super::{Change, CostTable, Wcsp};

/// Most open neighbours of a variable that is eliminated.
const MOST_NEIGHBOURS: usize = 3;

impl Wcsp {
    /// Eliminate every candidate (an open variable that may have lost neighbours) with at
    /// most three open neighbours (and at least one). `Some(true)` when some variable went
    /// (the fixpoint then runs again), `None` on a wipe-out.
    pub(super) fn eliminate_low_degree(&mut self) -> Option<bool> {
        let mut any = false;
        while let Some(v) = self.candidates.pop() {
            if self.value[v].is_some() {
                continue;
            }
            let mut neighbours = [0usize; MOST_NEIGHBOURS];
            match self.open_neighbours(v, &mut neighbours) {
                Some(0) | None => {}
                Some(count) => {
                    any = true;
                    if !self.eliminate_variable(v, &neighbours[..count]) {
                        return None;
                    }
                }
            }
        }
        Some(any)
    }

    /// The open variables that `v`'s live tables reach, into `out`; `None` when there are
    /// more than `out` holds.
    fn open_neighbours(&self, v: usize, out: &mut [usize; MOST_NEIGHBOURS]) -> Option<usize> {
        let mut count = 0;
        for &(f, _) in &self.tables_of[v] {
            if self.dead[f] || self.open[f] < 2 {
                continue;
            }
            for &w in &self.tables[f].vars {
                if w == v || self.value[w].is_some() || out[..count].contains(&w) {
                    continue;
                }
                if count == MOST_NEIGHBOURS {
                    return None;
                }
                out[count] = w;
                count += 1;
            }
        }
        Some(count)
    }

    /// The smallest, over `v`'s alive values `a`, of its unary cost plus its live tables'
    /// costs with `v = a`, the open `neighbours` at `values` and the others at their values.
    fn eliminated_cost(&self, v: usize, neighbours: &[usize], values: &[usize]) -> f64 {
        let mut best = f64::INFINITY;
        for a in 0..self.domains[v] {
            if !self.is_alive(v, a) {
                continue;
            }
            let mut c = self.cost(v, a);
            for &(f, _) in &self.tables_of[v] {
                if self.dead[f] {
                    continue;
                }
                c += self.cost_at(f, |x| {
                    if x == v {
                        a
                    } else if let Some(i) = neighbours.iter().position(|&n| n == x) {
                        values[i]
                    } else {
                        self.value[x].expect("assigned outside the neighbourhood")
                    }
                });
            }
            best = best.min(c);
        }
        best
    }

    /// Eliminate `v` into its one to three open `neighbours`; false on a wipe-out.
    fn eliminate_variable(&mut self, v: usize, neighbours: &[usize]) -> bool {
        let u = neighbours[0];
        let mut ok = true;
        let added = if neighbours.len() >= 2 {
            let k = neighbours.len();
            let cards: Vec<usize> = neighbours.iter().map(|&n| self.domains[n]).collect();
            let strides = crate::table::strides(&cards);
            let size = strides[0] * cards[0];
            let mut values = [0usize; MOST_NEIGHBOURS];
            let mut energies = Vec::with_capacity(size);
            for index in 0..size {
                for i in 0..k {
                    values[i] = index / strides[i] % cards[i];
                }
                energies.push(self.eliminated_cost(v, neighbours, &values[..k]));
            }
            let weight = self.tables_of[v]
                .iter()
                .filter(|&&(f, _)| !self.dead[f] && self.open[f] >= 2)
                .map(|&(f, _)| self.weights[f])
                .fold(1.0, f64::max);
            let mut delta_at = Vec::with_capacity(k);
            for &x in neighbours {
                delta_at.push(self.delta.len());
                self.delta.resize(self.delta.len() + self.domains[x], 0.0);
            }
            let h = self.tables.len();
            self.tables.push(CostTable {
                vars: neighbours.to_vec(),
                strides,
                energies,
                delta_at,
            });
            for (i, &x) in neighbours.iter().enumerate() {
                self.tables_of[x].push((h, i));
                self.queue.push(x);
                self.touched.push(x);
                self.candidates.push(x);
            }
            self.open.push(k);
            self.weights.push(weight);
            self.dead.push(false);
            // The revisions' scratch must hold the new table's arity.
            if self.values.len() < k {
                self.values.resize(k, Vec::new());
                self.digits.resize(k, 0);
            }
            true
        } else {
            for b in 0..self.domains[u] {
                if !self.is_alive(u, b) {
                    continue;
                }
                let c = self.eliminated_cost(v, neighbours, &[b]);
                if c == f64::INFINITY {
                    ok &= self.remove(u, b);
                } else if c != 0.0 {
                    self.add_unary(u, b, c);
                }
            }
            false
        };
        self.queue.push(u);
        self.touched.push(u);
        self.candidates.push(u);
        // Retire v's live tables: their costs are in h (or u's unary costs) now.
        self.eliminated.push((v, self.retired.len()));
        for k in 0..self.tables_of[v].len() {
            let f = self.tables_of[v][k].0;
            if !self.dead[f] {
                self.trail.push(Change::Retired(f, self.open[f]));
                self.dead[f] = true;
                self.open[f] = 0;
                self.retired.push(f);
            }
        }
        let placeholder = (0..self.domains[v])
            .find(|&a| self.is_alive(v, a))
            .unwrap_or(0);
        self.value[v] = Some(placeholder);
        self.trail.push(Change::Eliminated(v, added));
        ok
    }

    /// Make every open variable a candidate for elimination (after a replay that did not
    /// eliminate).
    pub(in crate::bnb) fn consider_all(&mut self) {
        for v in 0..self.len() {
            if self.value[v].is_none() {
                self.candidates.push(v);
            }
        }
    }

    /// Undo the elimination of `v` (its retired tables are revived by their own changes,
    /// which precede this one on the trail).
    pub(super) fn restore(&mut self, v: usize, added: bool) {
        self.value[v] = None;
        self.eliminated.pop();
        if added {
            let h = self.tables.pop().expect("the elimination's table");
            self.delta.truncate(h.delta_at[0]);
            for &x in &h.vars {
                self.tables_of[x].pop();
            }
            self.open.pop();
            self.weights.pop();
            self.dead.pop();
        }
    }

    /// Write into `x` the full assignment of a leaf: the assigned values, then each
    /// eliminated variable (latest first) at its alive value of smallest cost given the
    /// others, over the tables its elimination retired.
    pub(in crate::bnb) fn complete(&self, x: &mut [usize]) {
        for (v, slot) in x.iter_mut().enumerate() {
            *slot = self.value[v].expect("all assigned");
        }
        for (k, &(v, start)) in self.eliminated.iter().enumerate().rev() {
            let end = self
                .eliminated
                .get(k + 1)
                .map_or(self.retired.len(), |e| e.1);
            let mut best = (f64::INFINITY, x[v]);
            for a in 0..self.domains[v] {
                if !self.is_alive(v, a) {
                    continue;
                }
                let c = self.cost(v, a)
                    + self.retired[start..end]
                        .iter()
                        .map(|&f| self.cost_at(f, |y| if y == v { a } else { x[y] }))
                        .sum::<f64>();
                if c < best.0 {
                    best = (c, a);
                }
            }
            x[v] = best.1;
        }
    }

    /// How many variables are eliminated at this node.
    #[cfg(test)]
    pub(in crate::bnb) fn eliminated_count(&self) -> usize {
        self.eliminated.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::arc_search::tests::{brute_force, random_model};
    use super::*;
    use crate::model::FactorModel;
    use crate::network::Network;
    use ebm_kernels::rng;

    /// A cycle of `n` variables with random binary and unary tables, on some seeds a chord
    /// (0, 2) and on others a ternary table over (0, 1, 2), some entries forbidden: every
    /// variable has at most three open neighbours, before and after each elimination, so
    /// elimination at the root alone leaves at most one variable open.
    fn cycle(seed: u64) -> FactorModel {
        let mut r = rng::stream(seed, 5, 0);
        let n = 5 + (seed % 4) as usize;
        let domains: Vec<usize> = (0..n).map(|_| 2 + rng::index(&mut r, 2)).collect();
        let mut m = FactorModel::new(domains.clone());
        let table = |r: &mut _, size: usize| -> Vec<f64> {
            (0..size)
                .map(|_| {
                    if rng::uniform_f64(r) < 0.1 {
                        f64::INFINITY
                    } else {
                        rng::uniform_f64(r) * 4.0 - 2.0
                    }
                })
                .collect()
        };
        for v in 0..n {
            let scope = [v, (v + 1) % n];
            let t = table(&mut r, domains[v] * domains[scope[1]]);
            m.add_energy_factor(&scope, &t).unwrap();
            let t = table(&mut r, domains[v]);
            m.add_energy_factor(&[v], &t).unwrap();
        }
        if seed % 3 == 0 {
            let t = table(&mut r, domains[0] * domains[2]);
            m.add_energy_factor(&[0, 2], &t).unwrap();
        }
        if seed % 2 == 0 {
            let scope = [0, 1, 2];
            let t = table(&mut r, domains[0] * domains[1] * domains[2]);
            m.add_energy_factor(&scope, &t).unwrap();
        }
        m
    }

    /// Elimination is exact: on cycles, the root's propagation eliminates all but at most
    /// one variable, and then `c0` plus that variable's best unary cost is the brute-force
    /// optimum (to 1e-9: sums of a few dozen terms of size 2) and the leaf's completed
    /// assignment has exactly that energy. Infeasible cycles wipe out.
    #[test]
    fn elimination_at_the_root_solves_cycles() {
        let mut feasible = 0;
        for seed in 0..40u64 {
            let model = cycle(seed);
            let want = brute_force(&model);
            let network = Network::new(&model);
            let mut w = Wcsp::new(&network).unwrap();
            if !w.propagate(f64::INFINITY) {
                assert_eq!(want, f64::INFINITY, "seed {seed}");
                continue;
            }
            assert!(w.eliminated_count() + 1 >= network.len(), "seed {seed}");
            if let Some(v) = (0..w.len()).find(|&v| w.value[v].is_none()) {
                let a = (0..w.domains[v])
                    .filter(|&a| w.is_alive(v, a))
                    .min_by(|&a, &b| w.cost(v, a).total_cmp(&w.cost(v, b)))
                    .unwrap();
                w.assign(v, a);
                assert!(w.propagate(f64::INFINITY));
            }
            assert!(
                (w.c0 - want).abs() < 1e-9,
                "seed {seed}: {} vs {want}",
                w.c0
            );
            let mut x = vec![0; network.len()];
            w.complete(&mut x);
            assert!((network.energy(&x) - want).abs() < 1e-9, "seed {seed}");
            feasible += 1;
        }
        assert!(feasible > 10, "only {feasible} feasible cycles");
    }

    /// Undoing an elimination restores the network: after the root's eliminations are
    /// undone, propagation without elimination gives the same `c0` as a fresh network.
    #[test]
    fn undo_restores_the_network() {
        for seed in 0..20u64 {
            let network = Network::new(&random_model(seed, 0.1, false));
            let mut fresh = Wcsp::new(&network).unwrap();
            fresh.eliminate = false;
            let ok = fresh.propagate(f64::INFINITY);
            let mut w = Wcsp::new(&network).unwrap();
            let mark = w.mark();
            w.propagate(f64::INFINITY);
            w.undo(mark);
            assert_eq!(w.eliminated_count(), 0);
            assert_eq!(w.tables.len(), fresh.tables.len());
            w.queue = super::super::VariableQueue::full(w.len());
            w.eliminate = false;
            assert_eq!(w.propagate(f64::INFINITY), ok, "seed {seed}");
            if ok {
                assert_eq!(w.c0, fresh.c0, "seed {seed}");
            }
        }
    }
}
