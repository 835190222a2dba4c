//! Forward checking of soft costs: a factor with one unassigned variable left projects its
//! energies (above its minimum) onto that variable's values; each unassigned variable adds
//! its cheapest alive value to the bound, and values that would lift the bound past the
//! best found are removed.

use super::Search;
use crate::network::factor_energy;

impl Search<'_> {
    /// Add (`sign` 1) or take back (`sign` -1) factor `f`'s energies above its minimum
    /// onto the row of its one open variable, at the current assignment of the others.
    /// Forbidden entries are left out: forward checking removes those values instead.
    pub(super) fn project(&mut self, f: usize, sign: f64) {
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
    pub(super) fn row_minima(&self, u: usize) -> (f64, f64) {
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
    pub(super) fn projected_bound(&mut self, base: f64, cut: f64) -> Option<f64> {
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
}
