//! Extension of leaf variables: an open variable linked to the other open variables by
//! one table only moves its unary costs into that table, which projects them onto its
//! other open variables, so the bound counts the leaf's best value jointly with theirs.

use super::{Change, Wcsp};

impl Wcsp {
    /// The one table `f` (at position `p`) that links open variable `v` to other open
    /// variables, if there is exactly one.
    fn only_link(&self, v: usize) -> Option<(usize, usize)> {
        let mut link = None;
        for &(f, p) in &self.tables_of[v] {
            if self.open[f] >= 2 {
                if link.is_some() {
                    return None;
                }
                link = Some((f, p));
            }
        }
        link
    }

    /// Extension of leaf variables: an open variable linked to the others by one table
    /// only moves its unary costs into that table (lowering its offsets), and the table
    /// projects onto its other open variables. The bound then counts the leaf's best value
    /// jointly with its neighbours', as eliminating it would when the table is binary.
    /// `Some(true)` when some cost moved (the fixpoint then runs again), `None` on a
    /// wipe-out.
    pub(super) fn extend_leaves(&mut self) -> Option<bool> {
        let mut moved = false;
        while let Some(v) = self.touched.pop() {
            if self.value[v].is_some() {
                continue;
            }
            let Some((f, p)) = self.only_link(v) else {
                continue;
            };
            // Only towards variables with other links: leaves never receive, so costs
            // cannot cycle between two leaves of one table.
            let mut hubs = std::mem::take(&mut self.hubs);
            hubs.clear();
            for (q, &w) in self.tables[f].vars.iter().enumerate() {
                if w != v && self.value[w].is_none() && self.only_link(w).is_none() {
                    hubs.push(q);
                }
            }
            if hubs.is_empty() {
                self.hubs = hubs;
                continue;
            }
            let any = self.extend(f, p);
            moved |= any;
            for &q in hubs.iter().filter(|_| any) {
                if !self.revise(f, q) {
                    self.hubs = hubs;
                    return None;
                }
                self.project_unary(self.tables[f].vars[q]);
            }
            self.hubs = hubs;
        }
        Some(moved)
    }

    /// Move all the alive unary costs of the variable at position `q` of table `f` into
    /// the table (lowering its offsets); whether any was nonzero.
    pub(super) fn extend(&mut self, f: usize, q: usize) -> bool {
        let w = self.tables[f].vars[q];
        let row = w * self.stride;
        let at = self.tables[f].delta_at[q];
        let mut any = false;
        for b in 0..self.domains[w] {
            let c = self.unary[row + b];
            if self.alive[row + b] && c != 0.0 {
                self.trail.push(Change::Delta(at + b, self.delta[at + b]));
                self.delta[at + b] -= c;
                self.trail.push(Change::Unary(row + b, c));
                self.unary[row + b] = 0.0;
                any = true;
            }
        }
        any
    }
}
