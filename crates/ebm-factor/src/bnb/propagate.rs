//! Domains and propagation: the alive values of each variable (a bitset with a trail for
//! backtracking), the energy of the closed factors, and what assigning a variable removes
//! from the others (all-different, equality, at-most-one, forbidden table entries).

use super::Search;
use crate::network::{LocalFactor, factor_energy};

impl Search<'_> {
    pub(super) fn is_alive(&self, v: usize, x: usize) -> bool {
        self.alive[v * self.words + x / 64] & (1 << (x % 64)) != 0
    }

    /// Remove `x` from `v`'s domain; false if the domain became empty.
    pub(super) fn remove(&mut self, v: usize, x: usize) -> bool {
        if self.is_alive(v, x) {
            self.alive[v * self.words + x / 64] &= !(1 << (x % 64));
            self.sizes[v] -= 1;
            self.trail.push((v, x));
        }
        self.sizes[v] > 0
    }

    pub(super) fn undo_to(&mut self, mark: usize) {
        while self.trail.len() > mark {
            let (v, x) = self.trail.pop().expect("trail above mark");
            self.alive[v * self.words + x / 64] |= 1 << (x % 64);
            self.sizes[v] += 1;
        }
    }

    pub(super) fn close_factor(&mut self, f: usize) {
        self.open_minimum -= self.factor_minimum[f];
        match factor_energy(&self.network.factors[f], &self.assignment) {
            e if e == f64::INFINITY => self.violated += 1,
            e => self.energy += e,
        }
    }

    /// Energy of the closed factors (`+inf` if one is violated).
    pub(super) fn closed_energy(&self) -> f64 {
        if self.violated > 0 {
            f64::INFINITY
        } else {
            self.energy
        }
    }

    pub(super) fn reopen_factor(&mut self, f: usize) {
        match factor_energy(&self.network.factors[f], &self.assignment) {
            e if e == f64::INFINITY => self.violated -= 1,
            e => self.energy -= e,
        }
        self.open_minimum += self.factor_minimum[f];
    }

    /// Assign `v = x` and propagate; false on a wipe-out. The caller undoes via the trail
    /// and `unassign` whatever the outcome.
    pub(super) fn assign(&mut self, v: usize, x: usize) -> bool {
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
    pub(super) fn remove_from_others(&mut self, vars: &[usize], v: usize, x: usize) -> bool {
        vars.iter()
            .filter(|&&u| u != v)
            .all(|&u| self.assigned[u] || self.remove(u, x))
    }

    /// Keep only the values `keep` allows in every open variable of `vars` but `v`; false
    /// on a wipe-out.
    pub(super) fn restrict_others(
        &mut self,
        vars: &[usize],
        v: usize,
        keep: impl Fn(usize) -> bool,
    ) -> bool {
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

    pub(super) fn unassign(&mut self, v: usize) {
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
}
