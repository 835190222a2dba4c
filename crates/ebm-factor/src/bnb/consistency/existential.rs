//! Existential arc consistency (EAC, the existential half of EDAC: Larrosa, de Givry,
//! Heras and Zytnicki, IJCAI 2005): an open variable `v` should have a value `a` of unary
//! cost 0 with a *full support* in each of its tables, a tuple `t` with `t_v = a` where
//! the table's cost plus its other variables' unary costs is 0. When none has, every
//! value costs at least `g = min_a [u_v(a) + Σ_f α_f(a)] > 0`, where `α_f(a)` is table
//! `f`'s smallest cost plus other variables' unary costs over the tuples with `t_v = a`,
//! and `c0` can rise by `g`: the neighbours' unary costs are extended into the tables
//! (each neighbour's into one table only, the first of `v`'s that holds it, so no cost
//! is counted twice), the tables project onto `v` and `v` projects onto `c0`. Arc
//! consistency then moves back into the neighbours' unary costs what they did not need.
//!
//! A step is taken only when it lifts `c0` by more than a relative `1e-9` (what the
//! search treats as round-off), so the fixpoint terminates: `c0` only grows, and is
//! bounded by the optimum. Variables are checked when their own unary costs or a
//! neighbour's rose; every transfer is an ordinary trailed projection or extension.

use super::Wcsp;

impl Wcsp {
    /// Check the queued variables and their open neighbours, lifting `c0` where one has no
    /// fully supported value. `Some(true)` when `c0` rose (the fixpoint then runs again),
    /// `None` on a wipe-out.
    pub(super) fn existential(&mut self) -> Option<bool> {
        let mut check = std::mem::take(&mut self.eac_check);
        check.clear();
        while let Some(w) = self.eac_queue.pop() {
            if self.value[w].is_some() {
                continue;
            }
            if !self.eac_seen[w] {
                self.eac_seen[w] = true;
                check.push(w);
            }
            for &(f, _) in &self.tables_of[w] {
                if self.dead[f] || self.open[f] < 2 {
                    continue;
                }
                for &x in &self.tables[f].vars {
                    if self.value[x].is_none() && !self.eac_seen[x] {
                        self.eac_seen[x] = true;
                        check.push(x);
                    }
                }
            }
        }
        for &x in &check {
            self.eac_seen[x] = false;
        }
        let mut lifted = false;
        let mut result = Some(false);
        for &v in &check {
            if self.value[v].is_some() {
                continue;
            }
            match self.lift(v) {
                None => {
                    result = None;
                    break;
                }
                Some(true) => lifted = true,
                Some(false) => {}
            }
        }
        self.eac_check = check;
        result.map(|_| lifted)
    }

    /// The live tables of `v` that reach other open variables, each with `v`'s position and
    /// the bit mask of the positions whose unary costs it owns, into `self.eac_tables`.
    fn owned_tables(&mut self, v: usize) {
        let mut tables = std::mem::take(&mut self.eac_tables);
        let mut owned = std::mem::take(&mut self.eac_owned);
        tables.clear();
        owned.clear();
        for &(f, p) in &self.tables_of[v] {
            if self.dead[f] || self.open[f] < 2 {
                continue;
            }
            let mut mask = 0u64;
            for (q, &w) in self.tables[f].vars.iter().enumerate() {
                if q < 64 && w != v && self.value[w].is_none() && !owned.contains(&w) {
                    owned.push(w);
                    mask |= 1 << q;
                }
            }
            tables.push((f, p, mask));
        }
        self.eac_tables = tables;
        self.eac_owned = owned;
    }

    /// For each alive value `a` of the variable at position `p` of table `f`, the smallest
    /// over the tuples the domains allow with it of the table's cost plus the unary costs of
    /// the positions in `mask`, added into `total[a]`.
    fn add_support_costs(&mut self, f: usize, p: usize, mask: u64, total: &mut [f64]) {
        self.tuple_minima(f, p, mask, None);
        for &a in &self.values[p] {
            total[a] += self.minima[a];
        }
    }

    /// Whether `v = a` (alive) has unary cost and, in each of `self.eac_tables`, a full
    /// support of cost at most `zero`.
    fn fully_supported(&mut self, v: usize, a: usize, zero: f64) -> bool {
        if self.cost(v, a) > zero {
            return false;
        }
        for k in 0..self.eac_tables.len() {
            let (f, p, mask) = self.eac_tables[k];
            self.tuple_minima(f, p, mask, Some(a));
            if self.minima[a] > zero {
                return false;
            }
        }
        true
    }

    /// The existential step on `v`: `Some(true)` when `c0` rose, `None` on a wipe-out.
    /// A value found fully supported (the last one first) ends the check.
    fn lift(&mut self, v: usize) -> Option<bool> {
        self.owned_tables(v);
        if self.eac_tables.is_empty() {
            return Some(false);
        }
        let row = v * self.stride;
        let d = self.domains[v];
        let zero = 1e-9 * self.c0.abs().max(1.0);
        let last = self.eac_support[v];
        if self.alive[row + last] && self.fully_supported(v, last, zero) {
            return Some(false);
        }
        for a in 0..d {
            if a != last && self.alive[row + a] && self.fully_supported(v, a, zero) {
                self.eac_support[v] = a;
                return Some(false);
            }
        }
        let mut total = std::mem::take(&mut self.eac_total);
        total.clear();
        total.extend_from_slice(&self.unary[row..row + d]);
        let tables = std::mem::take(&mut self.eac_tables);
        for &(f, p, mask) in &tables {
            self.add_support_costs(f, p, mask, &mut total);
        }
        let gain = (0..d)
            .filter(|&a| self.alive[row + a])
            .map(|a| total[a])
            .fold(f64::INFINITY, f64::min);
        self.eac_total = total;
        let lifts = gain.is_finite() && gain > zero;
        if lifts {
            for &(f, p, mask) in &tables {
                for q in 0..self.tables[f].vars.len() {
                    if mask >> q & 1 == 1 && self.extend(f, q) {
                        self.touched.push(self.tables[f].vars[q]);
                    }
                }
                if !self.revise(f, p) {
                    self.eac_tables = tables;
                    return None;
                }
            }
            self.project_unary(v);
            self.queue.push(v);
        }
        self.eac_tables = tables;
        Some(lifts)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::arc_search::tests::{brute_force, random_model};
    use super::*;
    use crate::network::Network;

    /// On random models (hard zeros, tables up to arity 5), root propagation with the
    /// existential step keeps the energy of every full assignment equal to `c0` plus the
    /// costs, its `c0` stays at or below the brute-force optimum, and it is at least AC*'s.
    #[test]
    fn lifts_the_root_bound_soundly() {
        let mut higher = 0;
        for seed in 0..60u64 {
            let model = random_model(seed, [0.0, 0.1, 0.3][seed as usize % 3], false);
            let want = brute_force(&model);
            let network = Network::new(&model);
            let mut star = Wcsp::new(&network).unwrap();
            star.eliminate = false;
            let star_ok = star.propagate(f64::INFINITY);
            let mut w = Wcsp::new(&network).unwrap();
            w.eliminate = false;
            w.existential = true;
            let ok = w.propagate(f64::INFINITY);
            if !ok {
                assert!(!star_ok || want == f64::INFINITY, "seed {seed}");
                continue;
            }
            assert!(w.c0 <= want + 1e-9, "seed {seed}: {} > {want}", w.c0);
            if star_ok {
                assert!(
                    w.c0 >= star.c0 - 1e-9,
                    "seed {seed}: {} < {}",
                    w.c0,
                    star.c0
                );
                if w.c0 > star.c0 + 1e-9 {
                    higher += 1;
                }
            }
            // Every full assignment the domains allow keeps its energy.
            let n = network.len();
            let mut x = vec![0usize; n];
            'all: loop {
                if (0..n).all(|v| w.is_alive(v, x[v])) {
                    let mark = w.mark();
                    for (v, &a) in x.iter().enumerate() {
                        w.assign(v, a);
                    }
                    let e = network.energy(&x);
                    if e.is_finite() {
                        assert!((w.c0 - e).abs() < 1e-9, "seed {seed}: {} vs {e}", w.c0);
                    }
                    w.undo(mark);
                }
                for (slot, &d) in x.iter_mut().zip(&network.domains) {
                    *slot += 1;
                    if *slot < d {
                        continue 'all;
                    }
                    *slot = 0;
                }
                break;
            }
        }
        assert!(higher > 0, "the existential step never lifted the bound");
    }
}
