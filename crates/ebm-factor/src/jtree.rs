//! The bucket tree (a junction tree whose cliques are the buckets of an elimination order)
//! and its calibration: one upward (collect) pass gives `ln Z`; a downward (distribute)
//! pass with HUGIN division gives every clique's belief and so every variable's marginal,
//! at about the cost of the upward pass.
//!
//! Each clique is laid out with its separator (the scope of its message to the parent,
//! ascending) outside and its own variable innermost, so the upward message is a
//! per-block log-sum-exp over contiguous memory ([`crate::kernels`]). Every clique table
//! is built in one reused buffer. For marginals the upward pass keeps each clique as
//! `exp(x - max_b)` per block with the block maxima, in f32 (half the memory, which is
//! most of the cost of keeping every clique); the downward pass only scales those blocks
//! by the incoming message and marginalizes, summing in f64 (the last clique built, the
//! first read back, stays in f64 in the buffer). f32 rounding moves each
//! kept entry by at most 6e-8 of itself, so each sum of them by as much: far inside the
//! 1e-4 the marginals are checked to (an entry below f32's range, 1e-38 of its block's
//! maximum, is a probability below 1e-38 of its block's).

use crate::FactorError;
use crate::kernels::{exp_nonpositive, product_of, sum_out_blocks};
use crate::rows::{marginals_onto, strides_along};
use crate::table::LogTable;

/// Groups of trailing variables are summed together until they span this many entries.
const GROUP_MIN: usize = 16;

/// The normalized marginal of each variable of a joint table over `vars` (row-major,
/// with `cards`): the trailing variables, a group of at least [`GROUP_MIN`] entries at a
/// time, are read off the sum of the table's rows and then summed out, so all of them
/// cost about twice the table.
fn variable_marginals<T: Copy + Into<f64>>(
    joint: &[T],
    vars: &[usize],
    cards: &[usize],
) -> Vec<VariableMarginal> {
    let total: f64 = joint.iter().map(|&p| p.into()).sum();
    let mut owned: Option<Vec<f64>> = None;
    let mut out = Vec::with_capacity(vars.len());
    let mut k = vars.len();
    while k > 0 {
        let mut j = k;
        let mut group = 1;
        while j > 0 && group < GROUP_MIN {
            j -= 1;
            group *= cards[j];
        }
        let mut acc = vec![0.0; group];
        match &owned {
            Some(current) => add_rows(&mut acc, current),
            None => add_rows(&mut acc, joint),
        }
        let mut stride = group;
        for i in j..k {
            stride /= cards[i];
            let mut marginal = vec![0.0; cards[i]];
            for (index, &p) in acc.iter().enumerate() {
                marginal[(index / stride) % cards[i]] += p;
            }
            marginal.iter_mut().for_each(|m| *m /= total);
            out.push((vars[i], marginal));
        }
        if j > 0 {
            let next = match &owned {
                Some(current) => sums_of(current, group),
                None => sums_of(joint, group),
            };
            owned = Some(next);
        }
        k = j;
    }
    out
}

/// Add every row (`acc.len()` entries) of `table` into `acc`.
fn add_rows<T: Copy + Into<f64>>(acc: &mut [f64], table: &[T]) {
    for row in table.chunks_exact(acc.len()) {
        acc.iter_mut().zip(row).for_each(|(a, &p)| *a += p.into());
    }
}

/// The sum of each row (`group` entries) of `table`.
fn sums_of<T: Copy + Into<f64>>(table: &[T], group: usize) -> Vec<f64> {
    table
        .chunks_exact(group)
        .map(|row| row.iter().map(|&p| p.into()).sum())
        .collect()
}

/// One clique: the buckets merged into it (their variables, eliminated innermost in
/// elimination order), its layout (separator ascending, then those variables), cards,
/// parent and children cliques and the model's tables assigned to it.
#[derive(Clone, Debug)]
struct Clique {
    vars: Vec<usize>,
    layout: Vec<usize>,
    cards: Vec<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
    functions: Vec<LogTable>,
}

impl Clique {
    /// Entries of the clique table.
    fn len(&self) -> usize {
        self.cards.iter().product()
    }

    /// Entries of one block (the values of the eliminated variables).
    fn block(&self) -> usize {
        self.cards[self.layout.len() - self.vars.len()..]
            .iter()
            .product()
    }

    /// The separator: the layout variables that are not eliminated here, ascending.
    fn separator(&self) -> &[usize] {
        &self.layout[..self.layout.len() - self.vars.len()]
    }
}

/// A variable and its marginal distribution.
pub type VariableMarginal = (usize, Vec<f64>);

/// A bucket tree built from an elimination order, ready to pass messages.
#[derive(Clone, Debug)]
pub struct BucketTree {
    cliques: Vec<Clique>,
    /// Sum of the constant (scope-free) tables: scales `Z`, not the marginals.
    constant: f64,
    /// Induced width of the elimination order.
    width: usize,
}

/// The clique table of a bucket after the upward pass: `exp(x - maxima[b])` per block `b`,
/// and the block maxima.
struct Calibrating {
    linear: Linear,
    maxima: Vec<f64>,
}

/// A kept linear clique table: in f32, or in f64 for the last clique of the upward pass
/// (the first of the downward pass, read from the buffer it was built in).
enum Linear {
    Narrow(Vec<f32>),
    Wide(Vec<f64>),
}

impl BucketTree {
    /// The bucket tree of `tables` (over variables with `domains`) eliminated in `order`:
    /// each table goes to the bucket of its earliest variable, each bucket's scope is found
    /// by symbolic elimination. A clique above `max_table` entries is
    /// [`FactorError::TooWide`] (with `width`, the order's induced width).
    ///
    /// # Errors
    /// [`FactorError::TooWide`] naming the bucket's variable, its scope size and the bound.
    pub fn new(
        domains: &[usize],
        tables: Vec<LogTable>,
        order: &[usize],
        width: usize,
        max_table: usize,
    ) -> Result<Self, FactorError> {
        let mut position = vec![usize::MAX; domains.len()];
        for (i, &v) in order.iter().enumerate() {
            position[v] = i;
        }
        let mut functions: Vec<Vec<LogTable>> = vec![Vec::new(); order.len()];
        let mut constant = 0.0;
        for t in tables {
            match t.vars.iter().map(|&v| position[v]).min() {
                Some(b) => functions[b].push(t),
                None => constant += t.values[0],
            }
        }
        let mut pending: Vec<Vec<usize>> = functions
            .iter()
            .map(|fs| {
                let mut vars: Vec<usize> = fs.iter().flat_map(|t| t.vars.iter().copied()).collect();
                vars.sort_unstable();
                vars.dedup();
                vars
            })
            .collect();
        // Buckets by symbolic elimination: scope (ascending) and parent bucket.
        let mut scopes: Vec<Vec<usize>> = Vec::with_capacity(order.len());
        let mut parents: Vec<Option<usize>> = Vec::with_capacity(order.len());
        for (b, &var) in order.iter().enumerate() {
            let mut scope = std::mem::take(&mut pending[b]);
            if let Err(i) = scope.binary_search(&var) {
                scope.insert(i, var);
            }
            let parent = scope
                .iter()
                .filter(|&&v| v != var)
                .map(|&v| position[v])
                .min();
            if let Some(p) = parent {
                let target = &mut pending[p];
                target.extend(scope.iter().copied().filter(|&v| v != var));
                target.sort_unstable();
                target.dedup();
            }
            scopes.push(scope);
            parents.push(parent);
        }
        // Merge each bucket into a child's clique that contains its scope (a non-maximal
        // clique eliminated inside the larger one): groups of buckets.
        let mut group_of = vec![usize::MAX; order.len()];
        let mut groups: Vec<(Vec<usize>, Vec<usize>)> = Vec::new(); // (scope, buckets)
        let mut children_of: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
        for (b, p) in parents.iter().enumerate() {
            if let Some(p) = *p {
                children_of[p].push(b);
            }
        }
        for b in 0..order.len() {
            let host = children_of[b].iter().map(|&c| group_of[c]).find(|&g| {
                let (scope, buckets) = &groups[g];
                parents[*buckets.last().expect("non-empty")] == Some(b)
                    && scopes[b].iter().all(|v| scope.binary_search(v).is_ok())
            });
            match host {
                Some(g) => {
                    groups[g].1.push(b);
                    group_of[b] = g;
                }
                None => {
                    group_of[b] = groups.len();
                    groups.push((scopes[b].clone(), vec![b]));
                }
            }
        }
        // Cliques in the order of their last bucket (children before parents).
        let mut by_last: Vec<usize> = (0..groups.len()).collect();
        by_last.sort_by_key(|&g| *groups[g].1.last().expect("non-empty"));
        let mut rank = vec![0; groups.len()];
        for (r, &g) in by_last.iter().enumerate() {
            rank[g] = r;
        }
        let mut functions: Vec<Option<Vec<LogTable>>> = functions.into_iter().map(Some).collect();
        let mut cliques = Vec::with_capacity(groups.len());
        for &g in &by_last {
            let (scope, buckets) = &groups[g];
            let vars: Vec<usize> = buckets.iter().map(|&b| order[b]).collect();
            let mut layout: Vec<usize> = scope
                .iter()
                .copied()
                .filter(|v| !vars.contains(v))
                .collect();
            layout.extend(&vars);
            let cards: Vec<usize> = layout.iter().map(|&v| domains[v]).collect();
            let size = cards
                .iter()
                .try_fold(1usize, |acc, &c| acc.checked_mul(c))
                .unwrap_or(usize::MAX);
            if size > max_table {
                return Err(FactorError::TooWide {
                    width,
                    entries: size,
                    max_entries: max_table,
                    table: format!(
                        "the clique of variable {} over {} variables",
                        vars[0],
                        layout.len()
                    ),
                });
            }
            let last = *buckets.last().expect("non-empty");
            let fs: Vec<LogTable> = buckets
                .iter()
                .flat_map(|&b| functions[b].take().expect("each bucket once"))
                .collect();
            cliques.push(Clique {
                vars,
                layout,
                cards,
                parent: parents[last].map(|p| rank[group_of[p]]),
                children: Vec::new(),
                functions: fs,
            });
        }
        for b in 0..cliques.len() {
            if let Some(p) = cliques[b].parent {
                cliques[p].children.push(b);
            }
        }
        Ok(Self {
            cliques,
            constant,
            width,
        })
    }

    /// Induced width of the elimination order (largest clique size minus 1).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Entries of all clique tables together (what calibration keeps).
    pub fn total_entries(&self) -> usize {
        self.cliques
            .iter()
            .fold(0usize, |acc, c| acc.saturating_add(c.len()))
    }

    /// The log-potential table of clique `b`: the product of its functions and of its
    /// children's upward messages (taken from `up`), in the clique's layout, into `out`.
    fn clique_table(&self, b: usize, up: &[Option<LogTable>], out: &mut Vec<f64>) {
        let clique = &self.cliques[b];
        let messages = clique.children.iter().filter_map(|&c| up[c].as_ref());
        product_of(
            &clique.layout,
            &clique.cards,
            clique.functions.iter().chain(messages),
            out,
        );
    }

    /// The message of clique `b` to its parent (over its separator, ascending).
    fn message(&self, b: usize, values: Vec<f64>) -> LogTable {
        let clique = &self.cliques[b];
        let sep = clique.separator();
        LogTable {
            vars: sep.to_vec(),
            cards: clique.cards[..sep.len()].to_vec(),
            values,
        }
    }

    /// `ln Z`: one upward pass, each clique dropped once its message is sent.
    pub fn log_partition(&self) -> f64 {
        let mut up: Vec<Option<LogTable>> = vec![None; self.cliques.len()];
        let mut log_z = self.constant;
        let (mut table, mut maxima) = (Vec::new(), Vec::new());
        for b in 0..self.cliques.len() {
            self.clique_table(b, &up, &mut table);
            for &c in &self.cliques[b].children {
                up[c] = None;
            }
            let sums = sum_out_blocks(&mut table, self.cliques[b].block(), &mut maxima);
            match self.cliques[b].parent {
                Some(_) => up[b] = Some(self.message(b, sums)),
                None => log_z += sums[0],
            }
        }
        log_z
    }

    /// Calibrate the tree (upward then downward pass) and return `ln Z` and the marginal
    /// of every bucket variable, as `(variable, distribution)`.
    ///
    /// # Errors
    /// [`FactorError::ZeroProbability`] (through `zero`, given the variable) when a
    /// clique's belief is zero everywhere (`Z = 0`).
    pub fn marginals(
        &self,
        zero: impl Fn(usize) -> FactorError,
    ) -> Result<(f64, Vec<VariableMarginal>), FactorError> {
        let n = self.cliques.len();
        let mut up: Vec<Option<LogTable>> = vec![None; n];
        let mut kept: Vec<Option<Calibrating>> = Vec::with_capacity(n);
        let mut log_z = self.constant;
        let mut table = Vec::new();
        for b in 0..n {
            self.clique_table(b, &up, &mut table);
            let mut maxima = Vec::new();
            let sums = sum_out_blocks(&mut table, self.cliques[b].block(), &mut maxima);
            match self.cliques[b].parent {
                Some(_) => up[b] = Some(self.message(b, sums)),
                None => log_z += sums[0],
            }
            // The last clique is the first the downward pass reads: it stays in the buffer.
            let linear = if b + 1 == n {
                Linear::Wide(std::mem::take(&mut table))
            } else {
                Linear::Narrow(table.iter().map(|&x| x as f32).collect())
            };
            kept.push(Some(Calibrating { linear, maxima }));
        }
        drop(table);
        let mut down: Vec<Option<Vec<f64>>> = vec![None; n];
        let mut out = Vec::with_capacity(n);
        for b in (0..n).rev() {
            let Calibrating { linear, maxima } = kept[b].take().expect("kept once");
            let incoming = down[b].take();
            // The belief, per block: exp(max_b + down_b - top) times the linear block.
            let logs: Vec<f64> = match &incoming {
                Some(d) => maxima.iter().zip(d).map(|(m, d)| m + d).collect(),
                None => maxima,
            };
            let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if top == f64::NEG_INFINITY {
                return Err(zero(self.cliques[b].vars[0]));
            }
            let weights: Vec<f64> = logs.iter().map(|&l| exp_nonpositive(l - top)).collect();
            let sums = match &linear {
                Linear::Narrow(values) => self.distribute(b, values, &weights, &mut out),
                Linear::Wide(values) => self.distribute(b, values, &weights, &mut out),
            };
            for (&c, sums) in self.cliques[b].children.iter().zip(sums) {
                let upward = &up[c].as_ref().expect("sent upward").values;
                let message = sums
                    .iter()
                    .zip(upward)
                    .map(|(&s, &u)| {
                        if s > 0.0 && u > f64::NEG_INFINITY {
                            s.ln() + top - u
                        } else {
                            f64::NEG_INFINITY
                        }
                    })
                    .collect();
                down[c] = Some(message);
            }
        }
        Ok((log_z, out))
    }

    /// The downward step of clique `b` from its kept linear table and block weights (the
    /// incoming message): appends the marginals of the clique's variables to `out` and
    /// returns each child's separator marginal (unnormalized, for its message).
    ///
    /// One pass: the separator marginal of every child, and the joint of the clique's own
    /// variables that no child's separator holds (in layout order). Each variable's
    /// marginal comes from the smallest of those tables that holds it; the joint of all
    /// of them, at a root, is the table itself.
    fn distribute<T: Copy + Into<f64> + Sync>(
        &self,
        b: usize,
        linear: &[T],
        weights: &[f64],
        out: &mut Vec<VariableMarginal>,
    ) -> Vec<Vec<f64>> {
        let clique = &self.cliques[b];
        // A root has one block (its separator is empty): no scaling; other cliques are
        // scaled as they are read.
        let scale = clique.parent.is_some().then_some((clique.block(), weights));
        let inner = &clique.cards[clique.layout.len() - clique.vars.len()..];
        let mut targets = Vec::with_capacity(clique.children.len() + 1);
        for &c in &clique.children {
            let child = &self.cliques[c];
            let sep = child.separator();
            let sep_cards = &child.cards[..sep.len()];
            let size = sep_cards.iter().product();
            targets.push((strides_along(&clique.layout, sep, sep_cards), size));
        }
        let mut holder: Vec<Option<usize>> = vec![None; clique.vars.len()];
        for (i, v) in clique.vars.iter().enumerate() {
            holder[i] = (0..clique.children.len())
                .filter(|&k| self.cliques[clique.children[k]].separator().contains(v))
                .min_by_key(|&k| targets[k].1);
        }
        let (own, own_cards): (Vec<usize>, Vec<usize>) = clique
            .vars
            .iter()
            .zip(inner)
            .zip(&holder)
            .filter(|(_, h)| h.is_none())
            .map(|((&v, &c), _)| (v, c))
            .unzip();
        // All the layout is the clique's own: a root (no separator), read unscaled.
        let whole = own.len() == clique.layout.len();
        if !own.is_empty() && !whole {
            let size = own_cards.iter().product();
            targets.push((strides_along(&clique.layout, &own, &own_cards), size));
        }
        let mut sums = marginals_onto(linear, &clique.cards, &targets, scale);
        if whole {
            out.extend(variable_marginals(linear, &own, &own_cards));
        } else if !own.is_empty() {
            let joint = &sums[clique.children.len()];
            out.extend(variable_marginals(joint, &own, &own_cards));
        }
        sums.truncate(clique.children.len());
        let mut used: Vec<usize> = holder.iter().flatten().copied().collect();
        used.sort_unstable();
        used.dedup();
        for k in used {
            let child = &self.cliques[clique.children[k]];
            let sep = child.separator();
            let marginals = variable_marginals(&sums[k], sep, &child.cards[..sep.len()]);
            out.extend(marginals.into_iter().filter(|(v, _)| {
                clique
                    .vars
                    .iter()
                    .zip(&holder)
                    .any(|(w, h)| w == v && *h == Some(k))
            }));
        }
        sums
    }
}
