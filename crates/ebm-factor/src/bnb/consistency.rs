//! Soft local consistency of a weighted constraint network, maintained during search.
//!
//! The energy is kept as `c0 + Σ_v u_v(x_v) + Σ_f c_f(x_f)`: a zero-arity lower bound
//! `c0`, a unary cost per (variable, value) and a cost table per factor. Cost transfers
//! keep the sum equal to the model's energy at every full assignment: *projecting* `α`
//! from table `f` onto value `a` of its variable `w` lowers every entry of `f` with
//! `x_w = a` by `α` and raises `u_w(a)` by `α`, and projecting a variable's smallest unary
//! cost onto `c0` lowers its row and raises `c0`. A table is never rewritten: its current
//! cost is its energy minus one offset per (scope position, value), `c_f(t) = E_f(t) -
//! Σ_i δ_{f,i}(t_i)`, so a transfer touches one offset and one unary cost, both trailed.
//!
//! [`Wcsp::propagate`] re-establishes, after each assignment or value removal, node
//! consistency (every variable has a value of unary cost 0, and values with `c0 + u_v(a)`
//! at or above the incumbent are removed) and soft arc consistency (AC*: every value of a
//! table's open variable has a support of cost 0 among the tuples its current domains
//! allow). Tables of any arity project onto each of their open variables in turn; a value
//! whose every support is forbidden (`+inf`) is removed instead, so no offset is ever
//! infinite and no `inf - inf` arises. Since every unary and table cost stays
//! nonnegative, `c0` is a lower bound on the energy of every assignment the domains allow.
//! Node consistency is incremental (`node.rs`); with `existential` set, the
//! fixpoint also lifts `c0` where a variable has no fully supported value (existential arc
//! consistency, `existential.rs`), and leaf variables extend their costs into their one
//! table (`leaves.rs`).

use crate::network::{LocalFactor, Network};
use queue::VariableQueue;

mod eliminate;
mod existential;
mod leaves;
mod node;
mod queue;

/// One cost table of the network.
#[derive(Clone, Debug)]
pub(super) struct CostTable {
    pub(super) vars: Vec<usize>,
    strides: Vec<usize>,
    energies: Vec<f64>,
    /// Where position `i`'s offsets start in [`Wcsp::delta`] (one per value).
    delta_at: Vec<usize>,
}

/// A change undone on backtracking.
#[derive(Clone, Copy, Debug)]
enum Change {
    Removed(usize, usize),
    Unary(usize, f64),
    Delta(usize, f64),
    Lower(f64),
    Assigned(usize),
    /// A table whose costs moved into an elimination's result, with its open count.
    Retired(usize, usize),
    /// A variable eliminated, and whether that added a table.
    Eliminated(usize, bool),
    /// A variable moved between node consistency buckets, with its old bucket.
    Bucket(usize, usize),
    /// The slack the network was node consistent for (see `node.rs`).
    NodeSlack(f64),
}

/// The weighted constraint network: domains, costs and the trail that restores them.
#[derive(Clone, Debug)]
pub(super) struct Wcsp {
    pub(super) domains: Vec<usize>,
    /// Row stride of the per-(variable, value) arrays: the largest domain.
    stride: usize,
    alive: Vec<bool>,
    pub(super) sizes: Vec<usize>,
    pub(super) value: Vec<Option<usize>>,
    pub(super) unary: Vec<f64>,
    delta: Vec<f64>,
    /// The zero-arity cost: a lower bound on every energy the domains allow.
    pub(super) c0: f64,
    pub(super) tables: Vec<CostTable>,
    /// Per variable, its (table, scope position) pairs.
    pub(super) tables_of: Vec<Vec<(usize, usize)>>,
    /// Per table, its unassigned variables.
    pub(super) open: Vec<usize>,
    /// Per table, 1 + the failures it caused (dom/wdeg).
    pub(super) weights: Vec<f64>,
    trail: Vec<Change>,
    /// Variables whose tables arc consistency revises next.
    queue: VariableQueue,
    /// Scratch of the tuple enumeration and of a revision's minima.
    values: Vec<Vec<usize>>,
    digits: Vec<usize>,
    minima: Vec<f64>,
    /// The last table revised (the culprit when propagation fails).
    culprit: Option<usize>,
    /// Variables whose unary costs changed since the extension pass last saw them.
    touched: VariableQueue,
    /// Scratch of the extension: the positions it projects onto.
    hubs: Vec<usize>,
    /// Per table, whether an elimination retired it (its costs live in another table).
    dead: Vec<bool>,
    /// The eliminated variables, in order, each with where its retired tables start in
    /// `retired` (see `eliminate.rs`).
    eliminated: Vec<(usize, usize)>,
    retired: Vec<usize>,
    /// Whether propagation eliminates variables of at most three open neighbours.
    pub(super) eliminate: bool,
    /// Variables that may have lost open neighbours since elimination last looked.
    candidates: VariableQueue,
    /// Variables whose unary costs rose since node consistency last checked them.
    node_queue: VariableQueue,
    /// Per binary exponent, the variables whose largest alive unary cost had it when
    /// last checked; per variable, its bucket and its place there (see `node.rs`).
    buckets: Vec<Vec<usize>>,
    bucket: Vec<usize>,
    bucket_at: Vec<usize>,
    /// The highest bucket ever used.
    top_bucket: usize,
    /// The slack `cut - c0` the network is node consistent for.
    node_slack: f64,
    /// Whether propagation maintains existential arc consistency (`existential.rs`).
    pub(super) existential: bool,
    /// Variables whose unary costs rose since the existential pass last saw them, and
    /// that pass's scratch.
    eac_queue: VariableQueue,
    eac_seen: Vec<bool>,
    eac_check: Vec<usize>,
    eac_tables: Vec<(usize, usize, u64)>,
    eac_owned: Vec<usize>,
    eac_total: Vec<f64>,
    /// Per variable, the value last found fully supported (tried first).
    eac_support: Vec<usize>,
}

impl Wcsp {
    /// The network of `network`'s tables and Potts factors, or `None` when it has
    /// factors of another kind (all-different, equality, at-most-one). Evidence is not
    /// applied here.
    pub(super) fn new(network: &Network) -> Option<Self> {
        let n = network.len();
        let stride = network.max_domain.max(1);
        let mut tables = Vec::with_capacity(network.factors.len());
        let mut c0 = 0.0;
        let mut delta_len = 0;
        for factor in &network.factors {
            let (vars, strides, energies) = match factor {
                LocalFactor::Table {
                    vars,
                    strides,
                    energies,
                } => (vars.clone(), strides.clone(), energies.clone()),
                LocalFactor::Potts { a, b, weight } => {
                    let (da, db) = (network.domains[*a], network.domains[*b]);
                    let energies = (0..da * db)
                        .map(|i| if i / db == i % db { 0.0 } else { *weight })
                        .collect();
                    (vec![*a, *b], vec![db, 1], energies)
                }
                _ => return None,
            };
            if vars.is_empty() {
                c0 += energies[0];
                continue;
            }
            let mut delta_at = Vec::with_capacity(vars.len());
            for &v in &vars {
                delta_at.push(delta_len);
                delta_len += network.domains[v];
            }
            tables.push(CostTable {
                vars,
                strides,
                energies,
                delta_at,
            });
        }
        let mut tables_of = vec![Vec::new(); n];
        for (f, t) in tables.iter().enumerate() {
            for (i, &v) in t.vars.iter().enumerate() {
                tables_of[v].push((f, i));
            }
        }
        let mut alive = vec![false; n * stride];
        for (v, &d) in network.domains.iter().enumerate() {
            alive[v * stride..v * stride + d].fill(true);
        }
        let arity = tables.iter().map(|t| t.vars.len()).max().unwrap_or(0);
        let table_count = tables.len();
        Some(Self {
            domains: network.domains.clone(),
            stride,
            alive,
            sizes: network.domains.clone(),
            value: vec![None; n],
            unary: vec![0.0; n * stride],
            delta: vec![0.0; delta_len],
            c0,
            open: tables.iter().map(|t| t.vars.len()).collect(),
            weights: vec![1.0; tables.len()],
            tables,
            tables_of,
            trail: Vec::new(),
            queue: VariableQueue::full(n),
            values: vec![Vec::new(); arity],
            digits: vec![0; arity],
            minima: vec![0.0; stride],
            culprit: None,
            touched: VariableQueue::empty(n),
            hubs: Vec::new(),
            dead: vec![false; table_count],
            eliminated: Vec::new(),
            retired: Vec::new(),
            eliminate: true,
            candidates: VariableQueue::full(n),
            node_queue: VariableQueue::empty(n),
            buckets: vec![Vec::new(); node::BUCKETS],
            bucket: vec![node::NO_BUCKET; n],
            bucket_at: vec![0; n],
            top_bucket: 0,
            node_slack: f64::INFINITY,
            existential: false,
            eac_queue: VariableQueue::full(n),
            eac_seen: vec![false; n],
            eac_check: Vec::new(),
            eac_tables: Vec::new(),
            eac_owned: Vec::new(),
            eac_total: Vec::new(),
            eac_support: vec![0; n],
        })
    }

    /// Number of variables.
    pub(super) fn len(&self) -> usize {
        self.domains.len()
    }

    pub(super) fn is_alive(&self, v: usize, a: usize) -> bool {
        self.alive[v * self.stride + a]
    }

    /// The unary cost of `v = a`.
    pub(super) fn cost(&self, v: usize, a: usize) -> f64 {
        self.unary[v * self.stride + a]
    }

    /// The trail's length, to undo to.
    pub(super) fn mark(&self) -> usize {
        self.trail.len()
    }

    /// Undo every change after `mark`.
    pub(super) fn undo(&mut self, mark: usize) {
        while self.trail.len() > mark {
            match self.trail.pop().expect("trail above mark") {
                Change::Removed(v, a) => {
                    self.alive[v * self.stride + a] = true;
                    self.sizes[v] += 1;
                }
                Change::Unary(i, old) => self.unary[i] = old,
                Change::Delta(i, old) => self.delta[i] = old,
                Change::Lower(old) => self.c0 = old,
                Change::Assigned(v) => {
                    self.value[v] = None;
                    for &(f, _) in &self.tables_of[v] {
                        if !self.dead[f] {
                            self.open[f] += 1;
                        }
                    }
                }
                Change::Retired(f, open) => {
                    self.dead[f] = false;
                    self.open[f] = open;
                    self.retired.pop();
                }
                Change::Eliminated(v, added) => self.restore(v, added),
                Change::Bucket(v, old) => self.unbucket(v, old),
                Change::NodeSlack(old) => self.node_slack = old,
            }
        }
        self.queue.clear();
        self.touched.clear();
        self.candidates.clear();
        self.node_queue.clear();
        self.eac_queue.clear();
    }

    fn set_c0(&mut self, c0: f64) {
        self.trail.push(Change::Lower(self.c0));
        self.c0 = c0;
    }

    fn add_unary(&mut self, v: usize, a: usize, amount: f64) {
        let i = v * self.stride + a;
        self.trail.push(Change::Unary(i, self.unary[i]));
        self.unary[i] += amount;
        self.touched.push(v);
        if amount > 0.0 {
            self.node_queue.push(v);
            self.eac_queue.push(v);
        }
    }

    /// Remove `a` from `v`'s domain; false if the domain became empty.
    pub(super) fn remove(&mut self, v: usize, a: usize) -> bool {
        let i = v * self.stride + a;
        if self.alive[i] {
            self.alive[i] = false;
            self.sizes[v] -= 1;
            self.trail.push(Change::Removed(v, a));
            self.queue.push(v);
        }
        self.sizes[v] > 0
    }

    /// Assign `v = a`: its other values go, its unary cost moves to `c0`, and the tables
    /// it closes add their cost to `c0`. Call [`Wcsp::propagate`] next.
    pub(super) fn assign(&mut self, v: usize, a: usize) {
        for b in 0..self.domains[v] {
            if b != a {
                self.remove(v, b);
            }
        }
        self.trail.push(Change::Assigned(v));
        self.value[v] = Some(a);
        let cost = self.cost(v, a);
        self.add_unary(v, a, -cost);
        let mut c0 = self.c0 + cost;
        for k in 0..self.tables_of[v].len() {
            let f = self.tables_of[v][k].0;
            if self.dead[f] {
                continue;
            }
            self.open[f] -= 1;
            if self.open[f] == 0 {
                c0 += self.closed_cost(f);
            } else {
                // Its open variables lost a link: some may have become leaves.
                for i in 0..self.tables[f].vars.len() {
                    let w = self.tables[f].vars[i];
                    if self.value[w].is_none() && w != v {
                        self.touched.push(w);
                        self.candidates.push(w);
                    }
                }
            }
        }
        self.set_c0(c0);
        self.queue.push(v);
    }

    /// The current cost of a table whose variables are all assigned.
    fn closed_cost(&self, f: usize) -> f64 {
        self.cost_at(f, |v| self.value[v].expect("closed table"))
    }

    /// The current cost of table `f` where each of its variables `v` takes `value_of(v)`.
    fn cost_at(&self, f: usize, value_of: impl Fn(usize) -> usize) -> f64 {
        let t = &self.tables[f];
        let mut index = 0;
        let mut offsets = 0.0;
        for (i, &v) in t.vars.iter().enumerate() {
            let a = value_of(v);
            index += a * t.strides[i];
            offsets += self.delta[t.delta_at[i] + a];
        }
        t.energies[index] - offsets
    }

    /// For each alive value `a` of the variable at position `p` of table `f`, into
    /// `self.minima[a]`, the smallest over the tuples the domains allow with it of the
    /// table's cost plus the unary costs of the positions in the bit mask `mask` (`+inf`
    /// when every such tuple is forbidden); `self.values[p]` holds those values. With
    /// `only`, that variable's values are just that one.
    fn tuple_minima(&mut self, f: usize, p: usize, mask: u64, only: Option<usize>) {
        let w = self.tables[f].vars[p];
        let mut values = std::mem::take(&mut self.values);
        let mut minima = std::mem::take(&mut self.minima);
        let mut digit = std::mem::take(&mut self.digits);
        minima[..self.domains[w]].fill(f64::INFINITY);
        let t = &self.tables[f];
        let k = t.vars.len();
        for (i, &v) in t.vars.iter().enumerate() {
            values[i].clear();
            match (self.value[v], only) {
                (_, Some(a)) if i == p => values[i].push(a),
                (Some(a), _) => values[i].push(a),
                (None, _) => values[i]
                    .extend((0..self.domains[v]).filter(|&a| self.alive[v * self.stride + a])),
            }
        }
        digit[..k].fill(0);
        'tuples: loop {
            let mut index = 0;
            let mut cost = 0.0;
            for i in 0..k {
                let a = values[i][digit[i]];
                index += a * t.strides[i];
                cost -= self.delta[t.delta_at[i] + a];
                if mask >> i & 1 == 1 {
                    cost += self.unary[t.vars[i] * self.stride + a];
                }
            }
            let a = values[p][digit[p]];
            let c = t.energies[index] + cost;
            if c < minima[a] {
                minima[a] = c;
            }
            for i in (0..k).rev() {
                digit[i] += 1;
                if digit[i] < values[i].len() {
                    continue 'tuples;
                }
                digit[i] = 0;
            }
            break;
        }
        self.values = values;
        self.minima = minima;
        self.digits = digit;
    }

    /// Project table `f` onto its open variable at position `p`: each alive value gets
    /// the smallest cost of the tuples the domains allow with it (a value with none finite
    /// is removed). False on a wipe-out.
    fn revise(&mut self, f: usize, p: usize) -> bool {
        self.culprit = Some(f);
        let w = self.tables[f].vars[p];
        self.tuple_minima(f, p, 0, None);
        let values = std::mem::take(&mut self.values);
        let at = self.tables[f].delta_at[p];
        let mut ok = true;
        for &a in &values[p] {
            let m = self.minima[a];
            if m == f64::INFINITY {
                ok &= self.remove(w, a);
            } else if m != 0.0 {
                self.trail.push(Change::Delta(at + a, self.delta[at + a]));
                self.delta[at + a] += m;
                self.add_unary(w, a, m);
            }
        }
        self.values = values;
        ok
    }

    /// Move `v`'s smallest alive unary cost onto `c0`.
    fn project_unary(&mut self, v: usize) {
        let row = v * self.stride;
        let m = (0..self.domains[v])
            .filter(|&a| self.alive[row + a])
            .map(|a| self.unary[row + a])
            .fold(f64::INFINITY, f64::min);
        if m != 0.0 && m.is_finite() {
            for a in 0..self.domains[v] {
                if self.alive[row + a] {
                    self.add_unary(v, a, -m);
                }
            }
            self.set_c0(self.c0 + m);
        }
    }

    /// Re-establish node and soft arc consistency after the changes queued since the last
    /// call, removing the values whose unary cost would lift `c0` to `cut`. False when a
    /// domain is wiped out or `c0` reaches `cut`; the weight of the table that caused it
    /// grows (dom/wdeg).
    pub(super) fn propagate(&mut self, cut: f64) -> bool {
        let ok = self.fixpoint(cut);
        // (A culprit from an earlier call may name a table an undo has since removed.)
        if !ok
            && let Some(f) = self.culprit
            && f < self.weights.len()
        {
            self.weights[f] += 1.0;
        }
        ok
    }

    fn fixpoint(&mut self, cut: f64) -> bool {
        loop {
            while let Some(v) = self.queue.pop() {
                for k in 0..self.tables_of[v].len() {
                    let (f, _) = self.tables_of[v][k];
                    if self.open[f] == 0 {
                        continue;
                    }
                    for p in 0..self.tables[f].vars.len() {
                        let w = self.tables[f].vars[p];
                        if (w != v || self.tables[f].vars.len() == 1) && self.value[w].is_none() {
                            if !self.revise(f, p) {
                                return false;
                            }
                            self.project_unary(w);
                        }
                    }
                }
            }
            if self.c0 >= cut {
                return false;
            }
            // Node consistency against the incumbent (`node.rs`): the variables whose
            // costs rose, and those whose costs could reach a smaller slack.
            if !self.node_consistency(cut) {
                return false;
            }
            if self.queue.is_empty() && self.existential {
                match self.existential() {
                    None => return false,
                    Some(true) => continue,
                    Some(false) => {}
                }
            }
            if self.queue.is_empty() {
                match self.extend_leaves() {
                    None => return false,
                    Some(false) if !self.eliminate => return true,
                    Some(false) => match self.eliminate_low_degree() {
                        None => return false,
                        Some(false) => return true,
                        Some(true) => {}
                    },
                    Some(true) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FactorModel;

    /// The energy of every full assignment is `c0 + Σ u + Σ c_f` after propagation
    /// without elimination, and `c0` never exceeds the minimum: the transfers keep the energy equivalent.
    #[test]
    fn transfers_keep_the_energy_and_bound_it() {
        let mut r = ebm_kernels::rng::stream(7, 0, 0);
        let mut m = FactorModel::new(vec![2, 3, 2]);
        for scope in [&[0usize, 1][..], &[1, 2], &[0, 1, 2], &[2]] {
            let size: usize = scope.iter().map(|&v| m.domains()[v]).product();
            let table: Vec<f64> = (0..size)
                .map(|_| ebm_kernels::rng::uniform_f64(&mut r) * 3.0 - 1.0)
                .collect();
            m.add_energy_factor(scope, &table).unwrap();
        }
        let network = Network::new(&m);
        let mut w = Wcsp::new(&network).unwrap();
        // Elimination would take variables out of the assignment (see eliminate.rs).
        w.eliminate = false;
        assert!(w.propagate(f64::INFINITY));
        let mut minimum = f64::INFINITY;
        for x0 in 0..2 {
            for x1 in 0..3 {
                for x2 in 0..2 {
                    let x = [x0, x1, x2];
                    let mark = w.mark();
                    let mut decomposed = w.c0;
                    for (v, &a) in x.iter().enumerate() {
                        decomposed += w.cost(v, a);
                    }
                    for (v, &a) in x.iter().enumerate() {
                        w.assign(v, a);
                    }
                    let with_tables = w.c0;
                    w.undo(mark);
                    let energy = network.energy(&x);
                    minimum = minimum.min(energy);
                    assert!(
                        (with_tables - energy).abs() < 1e-12,
                        "{with_tables} {energy}"
                    );
                    assert!(decomposed <= energy + 1e-12);
                }
            }
        }
        assert!(w.c0 <= minimum + 1e-12, "{} > {minimum}", w.c0);
        assert!(w.c0 > -(network.factors.len() as f64));
    }
}
