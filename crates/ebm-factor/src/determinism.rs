//! Determinism preprocessing for exact inference: zero propagation (generalized arc
//! consistency on the zero/non-zero support of every table) and the re-indexing of the
//! tables on the values that survive it.
//!
//! A value of a variable is removed only when every entry of some table that has it (and
//! agrees with the current domains) is zero, so removed values have probability zero
//! and `Z` is unchanged. Variables left with a single value leave every scope (they are
//! absorbed into their tables), so the elimination order is found on a smaller graph.

use crate::table::{LogTable, advance};

/// The values still possible, per variable (`alive[v][x]`).
pub type Alive = Vec<Vec<bool>>;

/// The tables of each variable (indices into the table list), for propagation.
#[derive(Clone, Debug)]
pub struct Occurrences {
    of_var: Vec<Vec<usize>>,
}

impl Occurrences {
    /// The tables (indices into `tables`) in which each of `n_vars` variables appears.
    pub fn new(n_vars: usize, tables: &[LogTable]) -> Self {
        let mut of_var = vec![Vec::new(); n_vars];
        for (t, table) in tables.iter().enumerate() {
            for &v in &table.vars {
                of_var[v].push(t);
            }
        }
        Self { of_var }
    }

    /// The tables that contain variable `var`.
    pub fn of(&self, var: usize) -> &[usize] {
        &self.of_var[var]
    }
}

/// Every value alive, for variables of these domain sizes.
pub fn all_alive(domains: &[usize]) -> Alive {
    domains.iter().map(|&d| vec![true; d]).collect()
}

/// Remove, until nothing changes, every value that has no non-zero entry agreeing with
/// the current domains in some table that contains its variable. `dirty` lists the
/// tables to examine first (all of them for a fresh start; those of the changed
/// variables after a conditioning step).
///
/// Returns `Err(var)` for a variable left with no possible value (`Z = 0` under these
/// domains), else the number of values removed.
pub fn propagate(
    tables: &[LogTable],
    occurrences: &Occurrences,
    alive: &mut Alive,
    dirty: impl IntoIterator<Item = usize>,
) -> Result<usize, usize> {
    let mut queued = vec![false; tables.len()];
    let mut queue: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    for t in dirty {
        if !queued[t] {
            queued[t] = true;
            queue.push_back(t);
        }
    }
    let mut removed = 0;
    let mut supported: Vec<Vec<bool>> = Vec::new();
    while let Some(t) = queue.pop_front() {
        queued[t] = false;
        let table = &tables[t];
        supported.clear();
        supported.extend(table.cards.iter().map(|&c| vec![false; c]));
        let mut digits = vec![0usize; table.vars.len()];
        for &value in &table.values {
            if value > f64::NEG_INFINITY
                && table.vars.iter().zip(&digits).all(|(&v, &x)| alive[v][x])
            {
                for (s, &x) in supported.iter_mut().zip(&digits) {
                    s[x] = true;
                }
            }
            advance(&mut digits, &table.cards);
        }
        for (&v, s) in table.vars.iter().zip(&supported) {
            let mut changed = false;
            for (a, &ok) in alive[v].iter_mut().zip(s) {
                if *a && !ok {
                    *a = false;
                    changed = true;
                    removed += 1;
                }
            }
            if !changed {
                continue;
            }
            if !alive[v].iter().any(|&a| a) {
                return Err(v);
            }
            for &u in occurrences.of(v) {
                if u != t && !queued[u] {
                    queued[u] = true;
                    queue.push_back(u);
                }
            }
        }
    }
    Ok(removed)
}

/// The model re-indexed on the alive values: tables over the variables with two or more
/// values left (cards are the counts of alive values), variables with one value absorbed.
#[derive(Clone, Debug)]
pub struct Reduced {
    /// The re-indexed tables (scope-free ones included: they scale `Z`).
    pub tables: Vec<LogTable>,
    /// Alive values per variable (reduced value `k` of `v` is `kept[v][k]`).
    pub kept: Vec<Vec<usize>>,
    /// Number of alive values per variable.
    pub cards: Vec<usize>,
}

/// Re-index `tables` on the alive values (see [`Reduced`]). Every variable must have at
/// least one alive value.
pub fn restrict(tables: &[LogTable], alive: &Alive) -> Reduced {
    let kept: Vec<Vec<usize>> = alive
        .iter()
        .map(|a| (0..a.len()).filter(|&x| a[x]).collect())
        .collect();
    let cards: Vec<usize> = kept.iter().map(Vec::len).collect();
    let tables = tables
        .iter()
        .map(|t| restrict_table(t, &kept, &cards))
        .collect();
    Reduced {
        tables,
        kept,
        cards,
    }
}

/// One table on the alive values: single-valued variables fixed and dropped.
fn restrict_table(t: &LogTable, kept: &[Vec<usize>], cards: &[usize]) -> LogTable {
    let s = crate::table::strides(&t.cards);
    let mut base = 0;
    let mut vars = Vec::new();
    let mut new_cards = Vec::new();
    let mut along = Vec::new();
    for (k, &v) in t.vars.iter().enumerate() {
        if cards[v] == 1 {
            base += kept[v][0] * s[k];
        } else {
            vars.push(v);
            new_cards.push(cards[v]);
            along.push(s[k]);
        }
    }
    let len: usize = new_cards.iter().product();
    let mut values = Vec::with_capacity(len);
    let mut digits = vec![0usize; vars.len()];
    for _ in 0..len {
        let index: usize = base
            + digits
                .iter()
                .zip(&vars)
                .zip(&along)
                .map(|((&x, &v), &st)| kept[v][x] * st)
                .sum::<usize>();
        values.push(t.values[index]);
        advance(&mut digits, &new_cards);
    }
    LogTable {
        vars,
        cards: new_cards,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain whose zeros force values: propagation removes exactly the values no
    /// assignment of positive weight uses, and restriction keeps every such weight.
    #[test]
    fn zeros_propagate_along_a_chain() {
        let ninf = f64::NEG_INFINITY;
        // x0 in {0,1,2} with x0 != 2; x1 == x0; x2 in {0,1}, x2 = 1 only if x1 = 1.
        let tables = vec![
            LogTable::new(&[0], &[3], vec![0.0, 0.5, ninf]),
            LogTable::new(
                &[0, 1],
                &[3, 3],
                vec![0.0, ninf, ninf, ninf, 0.0, ninf, ninf, ninf, 0.0],
            ),
            LogTable::new(&[1, 2], &[3, 2], vec![0.1, ninf, ninf, 0.2, 0.3, 0.4]),
            LogTable::new(&[2], &[2], vec![ninf, 1.0]),
        ];
        let occ = Occurrences::new(3, &tables);
        let mut alive = all_alive(&[3, 3, 2]);
        let removed = propagate(&tables, &occ, &mut alive, 0..tables.len()).unwrap();
        // x2 = 1, so x1 = 1 (x1 = 2 also allowed by table 2, but x0 != 2), so x0 = 1.
        assert_eq!(
            alive,
            vec![vec![false, true, false]; 2]
                .into_iter()
                .chain([vec![false, true]])
                .collect::<Vec<_>>()
        );
        assert_eq!(removed, 5);
        let reduced = restrict(&tables, &alive);
        assert!(reduced.tables.iter().all(|t| t.vars.is_empty()));
        let total: f64 = reduced.tables.iter().map(|t| t.values[0]).sum();
        assert!((total - (0.5 + 0.0 + 0.2 + 1.0)).abs() < 1e-12);
        // A contradiction is reported with its variable.
        let mut alive = all_alive(&[3, 3, 2]);
        alive[1] = vec![true, false, false];
        assert!(propagate(&tables, &occ, &mut alive, 0..tables.len()).is_err());
    }

    /// On random models with many zeros: every value propagation removes has marginal
    /// zero by enumeration, and the restricted tables keep every assignment's weight.
    #[test]
    fn removed_values_have_probability_zero() {
        let mut removed_some = 0;
        for seed in 0..60 {
            let m = crate::test_models::random_with_zeros(seed, 6);
            let tables = m.conditioned_factors();
            let occ = Occurrences::new(6, &tables);
            let mut alive = all_alive(m.domains());
            let states = crate::test_models::enumerate(&m);
            let Ok(removed) = propagate(&tables, &occ, &mut alive, 0..tables.len()) else {
                // A wiped-out domain is a proof of Z = 0.
                assert!(states.iter().all(|(_, w)| *w == 0.0), "seed {seed}");
                continue;
            };
            removed_some += usize::from(removed > 0);
            for (x, w) in &states {
                if x.iter().enumerate().any(|(v, &value)| !alive[v][value]) {
                    assert_eq!(*w, 0.0, "seed {seed}: {x:?} was removed");
                }
            }
            let reduced = restrict(&tables, &alive);
            for (x, w) in states
                .iter()
                .filter(|(x, _)| x.iter().enumerate().all(|(v, &value)| alive[v][value]))
            {
                let log_w: f64 = reduced
                    .tables
                    .iter()
                    .map(|t| {
                        let index: usize = t
                            .vars
                            .iter()
                            .zip(crate::table::strides(&t.cards))
                            .map(|(&v, st)| {
                                reduced.kept[v].iter().position(|&k| k == x[v]).unwrap() * st
                            })
                            .sum();
                        t.values[index]
                    })
                    .sum();
                assert!((log_w.exp() - w).abs() <= 1e-12 * w.max(1.0), "seed {seed}");
            }
        }
        assert!(removed_some > 3, "{removed_some}");
    }
}
