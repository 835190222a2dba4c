//! The bucket tree (a junction tree whose cliques are the buckets of an elimination order)
//! and its calibration: one upward (collect) pass gives `ln Z`; a downward (distribute)
//! pass with HUGIN division gives every clique's belief and so every variable's marginal,
//! at about the cost of the upward pass.
//!
//! Each clique is laid out with its separator (the scope of its message to the parent,
//! in the order of its parent's layout) outside and its own variables innermost, so the
//! upward message is a
//! per-block log-sum-exp over contiguous memory ([`crate::kernels`]). Every clique table
//! is built in one reused buffer. For marginals the upward pass keeps each clique
//! normalized per block (`exp(x)` over the block's sum), in f32 (half the memory, which is
//! most of the cost of keeping every clique; small cliques in f64), in two arenas; the downward pass only scales
//! those blocks by the separator marginal the parent computed and marginalizes, summing in
//! f64 (the last clique built, a root and the first read back, stays in f64 in the
//! buffer). f32 rounding moves each kept entry by at most 6e-8 of itself, so each sum of
//! them by as much: far inside the 1e-4 the marginals are checked to (an entry below
//! f32's range, 1e-38 of its block's sum, is a probability below 1e-38 of its block's).

use crate::FactorError;
use crate::joint_marginals::variable_marginals;
use crate::kept::{KeptCliques, Slot};
use crate::kernels::{product_of, sum_out_blocks, sum_out_blocks_keeping};
use crate::rows::{RUN_MIN, marginals_onto_reusing, strides_along};
use crate::spare::Spare;
use crate::table::LogTable;

/// One clique: the buckets merged into it (their variables, eliminated innermost in
/// elimination order), its layout (separator in its parent's layout order, then those
/// variables), cards,
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

    /// The separator: the layout variables that are not eliminated here, in the order
    /// of the parent's layout.
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
        // Each separator in the order of its parent's layout (parents first, each after
        // its own separator is placed): the child's separator marginal, accumulated over
        // the parent's rows, is then laid out as the message and the child's blocks are,
        // with no reordering.
        for b in (0..cliques.len()).rev() {
            let Some(p) = cliques[b].parent else {
                continue;
            };
            let k = cliques[b].layout.len() - cliques[b].vars.len();
            let mut separator = cliques[b].layout[..k].to_vec();
            let parent = &cliques[p].layout;
            separator.sort_by_key(|v| parent.iter().position(|w| w == v));
            let clique = &mut cliques[b];
            clique.layout.splice(..k, separator);
            clique.cards = clique.layout.iter().map(|&v| domains[v]).collect();
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

    /// The message of clique `b` to its parent (over its separator, in layout order).
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
    /// The upward pass is [`Self::log_partition`]'s, and also keeps each clique but the
    /// last normalized per block (each block of `exp(x)` divided by its sum, the upward
    /// message's entry), in f32 (in f64 below 4,096 entries), in
    /// arenas allocated once; the last clique, a root, stays in the buffer it was built
    /// in. A block's belief is then its kept block times the separator marginal the
    /// parent's downward step computed, so the downward pass
    /// needs no upward messages, maxima or logarithms: one scaled pass over each kept
    /// clique gives its children's separator marginals and its variables' marginals.
    ///
    /// # Errors
    /// [`FactorError::ZeroProbability`] (through `zero`, given the variable) when a
    /// clique's belief is zero everywhere (`Z = 0`).
    pub fn marginals(
        &self,
        zero: impl Fn(usize) -> FactorError,
    ) -> Result<(f64, Vec<VariableMarginal>), FactorError> {
        let n = self.cliques.len();
        let (mut kept, offsets) = KeptCliques::for_lengths(self.cliques.iter().map(Clique::len));
        let mut spare = Spare::default();
        let mut up: Vec<Option<LogTable>> = vec![None; n];
        let mut log_z = self.constant;
        let (mut table, mut maxima) = (Vec::new(), Vec::new());
        for b in 0..n {
            self.clique_table(b, &up, &mut table);
            for &c in &self.cliques[b].children {
                up[c] = None;
            }
            let block = self.cliques[b].block();
            let range = offsets[b]..offsets[b] + table.len();
            let sums = match kept.slots[b] {
                Slot::Buffer => sum_out_blocks_keeping::<f32>(&mut table, block, &mut maxima, None),
                Slot::Narrow => {
                    let keep = Some(&mut kept.narrow[range]);
                    sum_out_blocks_keeping(&mut table, block, &mut maxima, keep)
                }
                Slot::Wide => {
                    let keep = Some(&mut kept.wide[range]);
                    sum_out_blocks_keeping(&mut table, block, &mut maxima, keep)
                }
            };
            match self.cliques[b].parent {
                Some(_) => up[b] = Some(self.message(b, sums)),
                None if sums[0] == f64::NEG_INFINITY => {
                    return Err(zero(self.cliques[b].vars[0]));
                }
                None => log_z += sums[0],
            }
        }
        drop(up);
        let mut down: Vec<Option<Vec<f64>>> = vec![None; n];
        let mut out = Vec::with_capacity(n);
        for b in (0..n).rev() {
            // A child's block weights: its separator marginal, scaled to a maximum of 1.
            let mut weights = down[b].take();
            if let Some(w) = &mut weights {
                let top = w.iter().copied().fold(0.0, f64::max);
                if top <= 0.0 {
                    return Err(zero(self.cliques[b].vars[0]));
                }
                w.iter_mut().for_each(|x| *x /= top);
            }
            let w = weights.as_deref();
            let range = offsets[b]..offsets[b] + self.cliques[b].len();
            let sums = match kept.slots[b] {
                Slot::Buffer => {
                    debug_assert!(
                        self.cliques[b].parent.is_none(),
                        "the last clique is a root"
                    );
                    self.distribute(b, &table[..], w, &mut out, &mut spare)
                }
                Slot::Narrow => self.distribute(b, &kept.narrow[range], w, &mut out, &mut spare),
                Slot::Wide => self.distribute(b, &kept.wide[range], w, &mut out, &mut spare),
            };
            if let Some(w) = weights {
                spare.give(w);
            }
            for (&c, sums) in self.cliques[b].children.iter().zip(sums) {
                down[c] = Some(sums);
            }
        }
        Ok((log_z, out))
    }

    /// The downward step of clique `b` from its kept linear table and block weights (its
    /// separator marginal; `None` at a root, one block read unscaled): appends the
    /// marginals of the clique's variables to `out` and returns each child's separator
    /// marginal (unnormalized, for its message).
    ///
    /// One pass: the separator marginal of every child, and the joint of the clique's own
    /// variables that no child's separator holds (in layout order). Each variable's
    /// marginal comes from the smallest of those tables that holds it; the joint of all
    /// of them, at a root, is the table itself, read as two smaller joints (see below).
    fn distribute<T: Copy + Into<f64> + Sync>(
        &self,
        b: usize,
        linear: &[T],
        weights: Option<&[f64]>,
        out: &mut Vec<VariableMarginal>,
        spare: &mut Spare,
    ) -> Vec<Vec<f64>> {
        let clique = &self.cliques[b];
        // Cliques other than roots are scaled as they are read.
        let scale = weights.map(|w| (clique.block(), w));
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
        // Its marginals come from two small joints summed in the same pass: of the
        // trailing variables spanning a row of at least RUN_MIN entries (the rows added
        // up) and of the leading ones (each row's sum).
        let whole = own.len() == clique.layout.len();
        let mut joints = Vec::new();
        if whole {
            let mut q = own.len();
            let mut run = 1;
            while q > 0 && run < RUN_MIN {
                q -= 1;
                run *= own_cards[q];
            }
            joints.push(q..own.len());
            if q > 0 {
                joints.push(0..q);
            }
        } else if !own.is_empty() {
            joints.push(0..own.len());
        }
        for range in &joints {
            let (vars, cards) = (&own[range.clone()], &own_cards[range.clone()]);
            let size = cards.iter().product();
            targets.push((strides_along(&clique.layout, vars, cards), size));
        }
        let mut sums = marginals_onto_reusing(linear, &clique.cards, &targets, scale, spare);
        for (range, joint) in joints.into_iter().zip(&sums[clique.children.len()..]) {
            out.extend(variable_marginals(
                joint,
                &own[range.clone()],
                &own_cards[range],
            ));
        }
        sums.drain(clique.children.len()..)
            .for_each(|s| spare.give(s));
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

#[cfg(test)]
mod tests {
    use super::{BucketTree, KeptCliques, Slot};
    use crate::FactorModel;
    use crate::exact::{DEFAULT_MAX_TABLE, marginals};

    /// Twenty binary variables: a table over the first 17 (a clique of 2^17 entries,
    /// kept in f32 and split across threads) with some zeros, a chain through it, and a
    /// separate component (two roots), so cliques of all three slots are calibrated.
    fn wide_model() -> FactorModel {
        let mut m = FactorModel::new(vec![2; 20]);
        let mut s = 7u64;
        let energies: Vec<f64> = (0..1 << 17)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let e = ((s >> 33) % 1000) as f64 / 200.0;
                if (s >> 20) % 13 == 0 {
                    f64::INFINITY
                } else {
                    e
                }
            })
            .collect();
        m.add_energy_factor(&(0..17).collect::<Vec<_>>(), &energies)
            .unwrap();
        for v in [3, 9, 14] {
            m.add_energy_factor(&[v, v + 1], &[0.0, 1.5, 0.7, -0.4])
                .unwrap();
        }
        m.add_energy_factor(&[16, 19], &[0.3, -1.0, 0.2, 0.9])
            .unwrap();
        m.add_energy_factor(&[17, 18], &[1.0, -0.5, 0.0, 2.0])
            .unwrap();
        for v in 0..20 {
            m.add_energy_factor(&[v], &[0.0, (v % 5) as f64 * 0.3 - 0.6])
                .unwrap();
        }
        m
    }

    /// Marginals from the kept (normalized, f32 for the large clique) tables against
    /// enumeration to 1e-6, and the same bits with one thread and two.
    #[test]
    fn calibration_matches_enumeration_and_ignores_threads() {
        let m = wide_model();
        let mut want = vec![[0.0f64; 2]; 20];
        let mut z = 0.0;
        let mut state = vec![0usize; 20];
        for index in 0..1usize << 20 {
            state
                .iter_mut()
                .enumerate()
                .for_each(|(v, x)| *x = (index >> v) & 1);
            let w = (-m.energy(&state)).exp();
            z += w;
            for (v, &x) in state.iter().enumerate() {
                want[v][x] += w;
            }
        }
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| marginals(&m, DEFAULT_MAX_TABLE).unwrap())
        };
        let mut got = run(1);
        // In this order the large clique is not the last (it is kept in the f32 arena,
        // and scaled by its separator marginal), and the last is the other component.
        let order: Vec<usize> = (0..17).chain([19, 17, 18]).collect();
        let tables = m.conditioned_factors();
        let tree = BucketTree::new(m.domains(), tables, &order, 16, DEFAULT_MAX_TABLE).unwrap();
        assert!(matches!(
            KeptCliques::for_lengths(tree.cliques.iter().map(|c| c.len()))
                .0
                .slots[..],
            [Slot::Narrow, .., Slot::Buffer]
        ));
        let (_, by_tree) = tree.marginals(|_| unreachable!()).unwrap();
        assert_eq!(by_tree.len(), 20);
        let mut in_order = vec![Vec::new(); 20];
        for (v, marginal) in by_tree {
            in_order[v] = marginal;
        }
        got.extend(in_order);
        for (v, (g, w)) in got.iter().zip(want.iter().cycle()).enumerate() {
            for x in 0..2 {
                assert!(
                    (g[x] - w[x] / z).abs() < 1e-6,
                    "{v} {x}: {} {}",
                    g[x],
                    w[x] / z
                );
            }
        }
        assert_eq!(got[..20], run(2));
    }
}
