//! Incremental node consistency against the incumbent, toulbar2-style: a value `v = a`
//! whose unary cost lifts `c0` to the cut (`c0 + u_v(a) >= cut`) is removed.
//!
//! Checking every variable each time `c0` grows costs a pass over all unary costs per
//! propagation. Instead, a variable is checked when one of its unary costs rises (queued
//! by [`Wcsp::add_unary`]), and otherwise sits in the bucket of the power of two of its
//! largest alive unary cost when it was last checked (costs only fall until it is queued
//! again, so the bucket bounds its current largest cost from above). When the slack
//! `cut - c0` shrinks, only the buckets whose costs could reach it are examined. Bucket
//! moves and the slack the network is consistent for are trailed, so undoing to a
//! propagated state restores a state that is node consistent for its own slack.

use super::{Change, Wcsp};

/// The bucket of a variable whose largest alive unary cost is zero or below: never
/// examined (such a value cannot lift `c0` to the cut before `c0` itself reaches it).
pub(super) const NO_BUCKET: usize = usize::MAX;

/// Number of buckets: one per binary exponent of an `f64`.
pub(super) const BUCKETS: usize = 2048;

/// The bucket of a largest unary cost `m`: its binary exponent (`2^(e-1023) <= m <
/// 2^(e-1022)` for bucket `e`), or [`NO_BUCKET`] when `m <= 0`.
fn bucket_of(m: f64) -> usize {
    if m > 0.0 {
        ((m.to_bits() >> 52) & 0x7ff) as usize
    } else {
        NO_BUCKET
    }
}

impl Wcsp {
    /// Move `v` into bucket `b` (untrailed).
    fn place(&mut self, v: usize, b: usize) {
        let old = self.bucket[v];
        if old == b {
            return;
        }
        if old != NO_BUCKET {
            let at = self.bucket_at[v];
            let list = &mut self.buckets[old];
            list.swap_remove(at);
            if let Some(&moved) = list.get(at) {
                self.bucket_at[moved] = at;
            }
        }
        self.bucket[v] = b;
        if b != NO_BUCKET {
            self.bucket_at[v] = self.buckets[b].len();
            self.buckets[b].push(v);
            self.top_bucket = self.top_bucket.max(b);
        }
    }

    /// Move `v` into bucket `b`, trailed.
    fn rebucket(&mut self, v: usize, b: usize) {
        if self.bucket[v] != b {
            self.trail.push(Change::Bucket(v, self.bucket[v]));
            self.place(v, b);
        }
    }

    /// Undo a bucket move.
    pub(super) fn unbucket(&mut self, v: usize, old: usize) {
        self.place(v, old);
    }

    /// Remove `v`'s values that lift `c0` to `cut` and put it in the bucket of its largest
    /// alive cost left; false on a wipe-out.
    fn check_node(&mut self, v: usize, cut: f64) -> bool {
        if self.value[v].is_some() {
            self.rebucket(v, NO_BUCKET);
            return true;
        }
        let row = v * self.stride;
        let mut largest = f64::NEG_INFINITY;
        for a in 0..self.domains[v] {
            if !self.alive[row + a] {
                continue;
            }
            let c = self.unary[row + a];
            if self.c0 + c >= cut {
                self.culprit = self.tables_of[v].first().map(|&(f, _)| f);
                if !self.remove(v, a) {
                    return false;
                }
            } else {
                largest = largest.max(c);
            }
        }
        self.rebucket(v, bucket_of(largest));
        true
    }

    /// Node consistency for the current `c0` and `cut`: the queued variables, then, when
    /// the slack shrank since the network was last consistent, every variable in a bucket
    /// whose costs could reach the slack. False on a wipe-out.
    pub(super) fn node_consistency(&mut self, cut: f64) -> bool {
        while let Some(v) = self.node_queue.pop() {
            if !self.check_node(v, cut) {
                return false;
            }
        }
        let slack = cut - self.c0;
        if slack >= self.node_slack {
            return true;
        }
        // One bucket below the slack's own, against round-off in `cut - c0`.
        let from = bucket_of(slack).saturating_sub(1).min(BUCKETS);
        let mut b = from;
        while b <= self.top_bucket && b < BUCKETS {
            // Checking moves variables to lower buckets (or removes nothing); walk each
            // bucket by index from its end so a variable that stays is seen once.
            let mut i = self.buckets[b].len();
            while i > 0 {
                i -= 1;
                if i >= self.buckets[b].len() {
                    continue;
                }
                let v = self.buckets[b][i];
                if !self.check_node(v, cut) {
                    return false;
                }
            }
            b += 1;
        }
        self.trail.push(Change::NodeSlack(self.node_slack));
        self.node_slack = slack;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_binary_exponents() {
        assert_eq!(bucket_of(0.0), NO_BUCKET);
        assert_eq!(bucket_of(-1.0), NO_BUCKET);
        assert_eq!(bucket_of(1.0), 1023);
        assert_eq!(bucket_of(1.5), 1023);
        assert_eq!(bucket_of(2.0), 1024);
        assert_eq!(bucket_of(0.5), 1022);
        assert!(bucket_of(f64::MAX) < BUCKETS);
    }
}

#[cfg(test)]
mod search_tests {
    use super::super::super::arc_search::tests::{brute_force, random_model};
    use super::*;
    use crate::network::Network;
    use ebm_kernels::rng;

    /// Along random dives with undos under a cut just above the brute-force optimum (and
    /// one that tightens), every propagated state is node consistent as a full scan sees
    /// it: no alive value of an open variable has `c0 + u >= cut`.
    #[test]
    fn incremental_checks_match_a_full_scan() {
        for seed in 0..40u64 {
            let model = random_model(200 + seed, 0.1, false);
            let want = brute_force(&model);
            if !want.is_finite() {
                continue;
            }
            let network = Network::new(&model);
            let mut w = Wcsp::new(&network).unwrap();
            w.eliminate = seed % 2 == 0;
            w.existential = seed % 3 == 0;
            let mut r = rng::stream(seed, 9, 0);
            let mut cut = want + 2.0;
            if !w.propagate(cut) {
                continue;
            }
            let root = w.mark();
            for step in 0..200 {
                if step % 7 == 6 {
                    cut = (cut - 0.3).max(want + 1e-6);
                }
                let open: Vec<usize> = (0..w.len()).filter(|&v| w.value[v].is_none()).collect();
                if open.is_empty() || rng::index(&mut r, 5) == 0 {
                    w.undo(root);
                    continue;
                }
                let v = open[rng::index(&mut r, open.len())];
                let alive: Vec<usize> = (0..w.domains[v]).filter(|&a| w.is_alive(v, a)).collect();
                let a = alive[rng::index(&mut r, alive.len())];
                let mark = w.mark();
                w.assign(v, a);
                if !w.propagate(cut) {
                    w.undo(mark);
                    continue;
                }
                for u in 0..w.len() {
                    if w.value[u].is_some() {
                        continue;
                    }
                    for b in 0..w.domains[u] {
                        assert!(
                            !w.is_alive(u, b) || w.c0 + w.cost(u, b) < cut,
                            "seed {seed} step {step}: {u}={b}"
                        );
                    }
                }
            }
        }
    }
}
