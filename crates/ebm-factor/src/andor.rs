//! Exact `ln Z` for models too wide for variable elimination: AND/OR search with context
//! caching over the pseudo-tree of an elimination order, pruning on zero entries.
//!
//! Zero propagation ([`crate::determinism`]) first removes the values that have
//! probability zero and absorbs the variables left with one value. The cheapest of the
//! min-fill order and randomized min-fill orders of what is left (least total context
//! assignments, [`crate::order_search::best_order`]) gives a pseudo-tree (a variable's
//! parent is the next variable eliminated among its bucket's scope; the last eliminated are the roots), and each variable's
//! context is its bucket's scope without it: the ancestors the tables of its subtree
//! depend on. The search assigns variables from the roots down, evaluates each table at
//! the deepest variable of its scope, skips every value that makes a table zero (with
//! the whole subtree below it) and multiplies independent child subtrees (AND nodes).
//! The value of a subtree is cached under its context's assignment, so each consistent
//! context is solved once: the work is the number of context assignments the search
//! meets, not the product of the context's domains that elimination tables hold. On
//! models whose tables are mostly deterministic (genetic linkage, pedigrees) most of
//! those assignments are inconsistent and never met. The search is sequential, so its
//! result does not depend on the thread count.

use crate::determinism::{Occurrences, all_alive, propagate, restrict};
use crate::order_search::{TRIES_WHEN_TOO_WIDE, best_order};
use crate::table::{LogTable, strides};
use crate::{FactorError, FactorModel};
use std::collections::HashMap;

/// What the search did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchReport {
    /// Values removed by zero propagation before the search.
    pub values_removed: usize,
    /// Variables left to search (two or more values, in a table).
    pub variables: usize,
    /// Induced width of the chosen order of the reduced model (the pseudo-tree's
    /// largest context, plus one).
    pub width: usize,
    /// `log2` of the largest context's number of assignments (what an elimination table
    /// of that bucket would hold).
    pub largest_context_log2: f64,
    /// Variable assignments tried (OR-node values expanded).
    pub expanded: u64,
    /// Context assignments cached (subtrees solved).
    pub cached: usize,
}

/// The scope (ascending) of each bucket of `order` by symbolic elimination of the
/// tables' interaction graph.
fn bucket_scopes(n_vars: usize, tables: &[LogTable], order: &[usize]) -> Vec<Vec<usize>> {
    let mut position = vec![usize::MAX; n_vars];
    for (i, &v) in order.iter().enumerate() {
        position[v] = i;
    }
    let mut pending: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    for t in tables {
        if let Some(b) = t.vars.iter().map(|&v| position[v]).min() {
            pending[b].extend(&t.vars);
        }
    }
    let mut scopes = Vec::with_capacity(order.len());
    for (b, &var) in order.iter().enumerate() {
        let mut scope = std::mem::take(&mut pending[b]);
        scope.push(var);
        scope.sort_unstable();
        scope.dedup();
        if let Some(p) = scope
            .iter()
            .filter(|&&v| v != var)
            .map(|&v| position[v])
            .min()
        {
            pending[p].extend(scope.iter().copied().filter(|&v| v != var));
        }
        scopes.push(scope);
    }
    scopes
}

/// A table evaluated during the search: its variables, strides and values.
struct Evaluated {
    vars: Vec<usize>,
    strides: Vec<usize>,
    values: Vec<f64>,
}

/// One node of the pseudo-tree.
struct Node {
    var: usize,
    card: usize,
    /// Context variables and the mixed-radix weight of each in the cache key.
    context: Vec<(usize, u128)>,
    children: Vec<usize>,
    tables: Vec<Evaluated>,
    /// False for a dead cache: a context that is its parent's plus the parent, so each
    /// visit has a new key and caching would only spend memory.
    cacheable: bool,
}

/// The search state: the pseudo-tree, the current assignment, the domains left by zero
/// propagation (bit masks, restored from a trail), and the caches.
struct Search {
    nodes: Vec<Node>,
    assignment: Vec<usize>,
    cache: Vec<HashMap<u128, f64>>,
    cached: usize,
    limit: usize,
    expanded: u64,
    /// Table entries read by zero propagation (a model with large tables spends its time
    /// there, not in assignments).
    scanned: u64,
    /// Most work before giving up: assignments tried plus entries scanned divided by
    /// [`ENTRIES_PER_ASSIGNMENT`].
    max_expanded: u64,
    /// Every reduced table, for propagation, with the tables of each variable.
    tables: Vec<LogTable>,
    occurrences: Occurrences,
    /// Alive values of each variable as a bit mask (`None` when some domain has more
    /// than 64 values: no propagation during the search).
    masks: Option<Vec<u64>>,
    trail: Vec<(usize, u64)>,
    queue: Vec<usize>,
    queued: Vec<bool>,
}

impl Search {
    /// Restrict `var` to `x` and propagate zeros over the tables (generalized arc
    /// consistency on the masks), recording old masks on the trail; false when some
    /// variable is left no value (the assignment has probability zero).
    fn assign_and_propagate(&mut self, var: usize, x: usize) -> bool {
        let Some(masks) = self.masks.as_mut() else {
            return true;
        };
        if masks[var] != 1 << x {
            self.trail.push((var, masks[var]));
            masks[var] = 1 << x;
        }
        for &t in self.occurrences.of(var) {
            if !self.queued[t] {
                self.queued[t] = true;
                self.queue.push(t);
            }
        }
        let mut ok = true;
        while let Some(t) = self.queue.pop() {
            self.queued[t] = false;
            if !ok {
                continue;
            }
            let table = &self.tables[t];
            self.scanned += table.values.len() as u64;
            let mut supported = [0u64; 8];
            let k = table.vars.len();
            let mut digits = [0usize; 8];
            for &value in &table.values {
                if value > f64::NEG_INFINITY
                    && (0..k).all(|i| masks[table.vars[i]] >> digits[i] & 1 == 1)
                {
                    for i in 0..k {
                        supported[i] |= 1 << digits[i];
                    }
                }
                for i in (0..k).rev() {
                    digits[i] += 1;
                    if digits[i] < table.cards[i] {
                        break;
                    }
                    digits[i] = 0;
                }
            }
            for (&v, &support) in table.vars.iter().zip(&supported) {
                let left = masks[v] & support;
                if left == masks[v] {
                    continue;
                }
                self.trail.push((v, masks[v]));
                masks[v] = left;
                if left == 0 {
                    ok = false;
                    break;
                }
                for &u in self.occurrences.of(v) {
                    if u != t && !self.queued[u] {
                        self.queued[u] = true;
                        self.queue.push(u);
                    }
                }
            }
        }
        ok
    }

    /// Restore the masks to the trail length `mark`.
    fn undo(&mut self, mark: usize) {
        if let Some(masks) = self.masks.as_mut() {
            while self.trail.len() > mark {
                let (v, m) = self.trail.pop().expect("longer than mark");
                masks[v] = m;
            }
        }
    }

    /// Whether value `x` of `var` is still alive.
    fn alive(&self, var: usize, x: usize) -> bool {
        self.masks.as_ref().is_none_or(|m| m[var] >> x & 1 == 1)
    }

    /// `ln` of the sum over the subtree of node `n` given the current assignment of its
    /// context, or `None` when the caches or the work would exceed their bounds.
    fn value(&mut self, n: usize) -> Option<f64> {
        let key: u128 = self.nodes[n]
            .context
            .iter()
            .map(|&(v, w)| self.assignment[v] as u128 * w)
            .sum();
        if let Some(&v) = self.cache[n].get(&key) {
            return Some(v);
        }
        let var = self.nodes[n].var;
        let mut terms = Vec::with_capacity(self.nodes[n].card);
        for x in 0..self.nodes[n].card {
            if !self.alive(var, x) {
                continue;
            }
            self.assignment[var] = x;
            self.expanded += 1;
            if self.expanded + self.scanned / ENTRIES_PER_ASSIGNMENT > self.max_expanded {
                return None;
            }
            let node = &self.nodes[n];
            let mut s: f64 = node
                .tables
                .iter()
                .map(|t| {
                    let i: usize = t
                        .vars
                        .iter()
                        .zip(&t.strides)
                        .map(|(&v, &st)| self.assignment[v] * st)
                        .sum();
                    t.values[i]
                })
                .sum();
            if s == f64::NEG_INFINITY {
                continue;
            }
            let mark = self.trail.len();
            if !self.assign_and_propagate(var, x) {
                self.undo(mark);
                continue;
            }
            for c in 0..self.nodes[n].children.len() {
                let child = self.nodes[n].children[c];
                let Some(v) = self.value(child) else {
                    self.undo(mark);
                    return None;
                };
                s += v;
                if s == f64::NEG_INFINITY {
                    break;
                }
            }
            self.undo(mark);
            terms.push(s);
        }
        let v = crate::table::log_sum_exp(&terms);
        if !self.nodes[n].cacheable {
            return Some(v);
        }
        if self.cached >= self.limit {
            return None;
        }
        self.cached += 1;
        self.cache[n].insert(key, v);
        Some(v)
    }
}

/// Table entries zero propagation may scan per unit of the search's work bound (one
/// assignment tried is one unit), so that a model with large tables is refused after
/// about as long as one with small ones.
pub const ENTRIES_PER_ASSIGNMENT: u64 = 64;

/// Assignments the search may try per cached value it may keep: the bound on its work
/// (dead caches, where nothing is kept, still count).
pub const EXPANDED_PER_CACHED: u64 = 2;

/// `ln Z` of `model` with its evidence, by zero propagation and AND/OR search with
/// context caching, keeping at most `max_cached` cached subtree values and trying at most
/// [`EXPANDED_PER_CACHED`] times as many assignments. Exact; meant for
/// models too wide for elimination whose tables have many zeros.
///
/// # Errors
/// [`FactorError::ZeroProbability`] when `Z = 0`; [`FactorError::TooWide`] when the
/// caches would exceed `max_cached` entries, the work (assignments tried, plus table
/// entries scanned by propagation over [`ENTRIES_PER_ASSIGNMENT`]) its bound, or a
/// context has more than 2^128 assignments.
///
/// # Example
/// ```
/// use ebm_factor::{FactorModel, andor};
/// let mut model = FactorModel::new(vec![2, 2, 3, 2]);
/// model.add_energy_factor(&[0, 1], &[0.0, f64::INFINITY, 1.0, 0.5]).unwrap();
/// model.add_energy_factor(&[1, 2], &[0.3, 0.0, 1.0, f64::INFINITY, 0.2, 0.1]).unwrap();
/// let (log_z, report) = andor::log_partition(&model, 1 << 20).unwrap();
/// // Variable 3 is in no factor: it doubles Z.
/// let brute: f64 = (0..12)
///     .map(|i| 2.0 * (-model.energy(&[i / 6, (i / 3) % 2, i % 3, 0])).exp())
///     .sum();
/// assert!((log_z - brute.ln()).abs() < 1e-12);
/// assert!(report.expanded > 0);
/// ```
pub fn log_partition(
    model: &FactorModel,
    max_cached: usize,
) -> Result<(f64, SearchReport), FactorError> {
    let zero = |why: String| model.zero_probability(why);
    let domains = model.domains();
    let tables = model.conditioned_factors();
    let n = domains.len();
    let mut free = vec![true; n];
    model
        .evidence()
        .iter()
        .zip(free.iter_mut())
        .for_each(|(e, f)| *f = e.is_none());
    tables
        .iter()
        .flat_map(|t| &t.vars)
        .for_each(|&v| free[v] = false);
    // Free variables in no table multiply Z by their number of states.
    let unconstrained: f64 = (0..n)
        .filter(|&v| free[v])
        .map(|v| (domains[v] as f64).ln())
        .sum();
    let occurrences = Occurrences::new(n, &tables);
    let mut alive = all_alive(domains);
    let values_removed = propagate(&tables, &occurrences, &mut alive, 0..tables.len())
        .map_err(|v| zero(format!("zero propagation leaves variable {v} no value")))?;
    let reduced = restrict(&tables, &alive);
    drop(tables);
    let skip: Vec<bool> = reduced.cards.iter().map(|&c| c < 2).collect();
    let chosen = best_order(
        &reduced.tables,
        &skip,
        &reduced.cards,
        TRIES_WHEN_TOO_WIDE,
        f64::INFINITY,
    );
    let (order, width) = (chosen.order, chosen.width);
    let scopes = bucket_scopes(n, &reduced.tables, &order);
    let mut position = vec![usize::MAX; n];
    for (i, &v) in order.iter().enumerate() {
        position[v] = i;
    }
    let mut nodes: Vec<Node> = Vec::with_capacity(order.len());
    let mut largest_context_log2 = 0f64;
    for (b, scope) in scopes.iter().enumerate() {
        let var = order[b];
        let mut context = Vec::new();
        let mut weight: u128 = 1;
        let mut log2 = 0.0;
        for &v in scope.iter().filter(|&&v| v != var) {
            context.push((v, weight));
            log2 += (reduced.cards[v] as f64).log2();
            weight = weight
                .checked_mul(reduced.cards[v] as u128)
                .ok_or_else(|| FactorError::TooWide {
                    table: format!("the search context of variable {var}"),
                    width,
                    entries: usize::MAX,
                    max_entries: max_cached,
                })?;
        }
        largest_context_log2 = largest_context_log2.max(log2);
        nodes.push(Node {
            var,
            card: reduced.cards[var],
            context,
            children: Vec::new(),
            tables: Vec::new(),
            cacheable: true,
        });
    }
    let mut roots = Vec::new();
    for (b, scope) in scopes.iter().enumerate() {
        match scope
            .iter()
            .filter(|&&v| v != order[b])
            .map(|&v| position[v])
            .min()
        {
            Some(p) => {
                nodes[b].cacheable = nodes[b].context.len() < nodes[p].context.len() + 1;
                nodes[p].children.push(b);
            }
            None => roots.push(b),
        }
    }
    let mut constant = unconstrained;
    let reduced_tables = reduced.tables.clone();
    for t in reduced.tables {
        match t.vars.iter().map(|&v| position[v]).min() {
            Some(b) => nodes[b].tables.push(Evaluated {
                strides: strides(&t.cards),
                vars: t.vars,
                values: t.values,
            }),
            None => constant += t.values[0],
        }
    }
    // Propagation during the search works on bit masks of at most 64 values, and on
    // tables of at most 8 variables (others are checked only when evaluated).
    let small: Vec<LogTable> = reduced_tables
        .into_iter()
        .filter(|t| t.vars.len() <= 8)
        .collect();
    let masks = reduced.cards.iter().all(|&c| c <= 64).then(|| {
        reduced
            .cards
            .iter()
            .map(|&c| u64::MAX >> (64 - c))
            .collect()
    });
    let mut search = Search {
        cache: (0..nodes.len()).map(|_| HashMap::new()).collect(),
        nodes,
        assignment: vec![0; n],
        cached: 0,
        limit: max_cached,
        expanded: 0,
        scanned: 0,
        max_expanded: (max_cached as u64).saturating_mul(EXPANDED_PER_CACHED),
        occurrences: Occurrences::new(n, &small),
        queued: vec![false; small.len()],
        tables: small,
        masks,
        trail: Vec::new(),
        queue: Vec::new(),
    };
    // The recursion is as deep as the pseudo-tree: run it on a stack sized for that.
    let depth = search.nodes.len();
    let result = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size((1 << 20) + depth * 1024)
            .spawn_scoped(s, || {
                let mut log_z = constant;
                for &r in &roots {
                    log_z += search.value(r)?;
                    if log_z == f64::NEG_INFINITY {
                        break;
                    }
                }
                Some(log_z)
            })
            .map(|h| h.join())
    });
    let log_z = match result {
        Ok(Ok(Some(z))) => z,
        Ok(Ok(None)) => {
            return Err(FactorError::TooWide {
                table: format!(
                    "the AND/OR search's caches (or more than {} units of work: assignments tried, and table entries scanned / 64)",
                    search.max_expanded
                ),
                width,
                entries: search.cached.saturating_add(1),
                max_entries: max_cached,
            });
        }
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(e) => {
            return Err(FactorError::InvalidFactor(format!(
                "cannot start the search thread: {e}"
            )));
        }
    };
    if log_z == f64::NEG_INFINITY {
        return Err(zero("the AND/OR search finds Z = 0".into()));
    }
    let report = SearchReport {
        values_removed,
        variables: search.nodes.len(),
        width,
        largest_context_log2,
        expanded: search.expanded,
        cached: search.cached,
    };
    Ok((log_z, report))
}

/// Most cached subtree values [`instead_of_elimination`] allows, whatever the table
/// bound (with [`EXPANDED_PER_CACHED`], about a minute of search and 1 GiB).
pub const MAX_CACHED: usize = 1 << 24;

/// `ln Z` by the search for a model that elimination refused with `wide` under a bound of
/// `max_table` entries: at most `max_table / 4` cached values (a cached value with its
/// hash-table slot takes about four table entries' memory), and at most [`MAX_CACHED`].
///
/// # Errors
/// `wide`, naming also the search's bound, when the search exceeds it;
/// [`FactorError::ZeroProbability`] when `Z = 0`.
///
/// # Example
/// ```
/// use ebm_factor::{FactorError, FactorModel, andor};
/// // Ten binary variables, pairwise equal: a clique of 2^10 entries for elimination, two
/// // consistent assignments for the search.
/// let mut model = FactorModel::new(vec![2; 10]);
/// for a in 0..10 {
///     for b in a + 1..10 {
///         model.add_energy_factor(&[a, b], &[0.0, f64::INFINITY, f64::INFINITY, 0.1]).unwrap();
///     }
/// }
/// let wide = || FactorError::TooWide {
///     table: "the clique of variable 0".into(),
///     width: 9,
///     entries: 1024,
///     max_entries: 100,
/// };
/// let (log_z, _) = andor::instead_of_elimination(&model, 100, wide()).unwrap();
/// assert!((log_z - (1.0 + (-4.5f64).exp()).ln()).abs() < 1e-12);
/// // A bound too small for the search too keeps elimination's refusal, naming both.
/// let refused = andor::instead_of_elimination(&model, 4, wide()).unwrap_err().to_string();
/// assert!(refused.contains("clique of variable 0") && refused.contains("AND/OR"), "{refused}");
/// ```
pub fn instead_of_elimination(
    model: &FactorModel,
    max_table: usize,
    wide: FactorError,
) -> Result<(f64, SearchReport), FactorError> {
    let max_cached = (max_table / 4).min(MAX_CACHED);
    match log_partition(model, max_cached) {
        Err(FactorError::TooWide { .. }) => Err(match wide {
            FactorError::TooWide {
                table,
                width,
                entries,
                max_entries,
            } => FactorError::TooWide {
                table: format!(
                    "{table} (the AND/OR search over its zeros needs more than {max_cached} cached values or {} units of work: assignments tried, and table entries scanned / 64, too)",
                    max_cached as u64 * EXPANDED_PER_CACHED
                ),
                width,
                entries,
                max_entries,
            },
            other => other,
        }),
        answered => answered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_models::{enumerate, random_with_zeros};

    /// Random models with many zeros, against enumeration: `ln Z`, or `Z = 0` proved.
    #[test]
    fn matches_enumeration_on_models_with_zeros() {
        let (mut answered, mut zero) = (0, 0);
        for seed in 0..80 {
            let m = random_with_zeros(seed, 7);
            let z: f64 = enumerate(&m).iter().map(|(_, w)| w).sum();
            let got = log_partition(&m, 1 << 20);
            match got {
                Ok((log_z, report)) => {
                    assert!(
                        (log_z - z.ln()).abs() < 1e-10,
                        "seed {seed}: {log_z} vs {}",
                        z.ln()
                    );
                    assert!(report.cached <= report.expanded as usize + 1);
                    answered += 1;
                }
                Err(FactorError::ZeroProbability(_)) => {
                    assert_eq!(z, 0.0, "seed {seed}");
                    zero += 1;
                }
                Err(e) => panic!("seed {seed}: {e}"),
            }
        }
        assert!(answered > 20 && zero > 0, "{answered} {zero}");
    }

    /// A cache bound too small for the search is refused as too wide, not answered.
    #[test]
    fn a_small_cache_bound_is_refused() {
        let mut m = FactorModel::new(vec![2; 10]);
        for a in 0..10 {
            for b in a + 1..10 {
                m.add_energy_factor(&[a, b], &[0.0, 0.3, 0.3, 0.0]).unwrap();
            }
        }
        let e = log_partition(&m, 20).unwrap_err();
        assert!(matches!(e, FactorError::TooWide { .. }), "{e}");
        let (log_z, _) = log_partition(&m, 1 << 12).unwrap();
        let z: f64 = enumerate(&m).iter().map(|(_, w)| w).sum();
        assert!((log_z - z.ln()).abs() < 1e-10);
    }
}
