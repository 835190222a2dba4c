//! Factors as tables of log-potentials (`-energy`) over sorted variable scopes, and the
//! three operations exact inference needs: product, sum-out and max-out.

/// A table of log-potentials over `vars` (ascending), the last variable changing fastest.
/// `-inf` marks a forbidden combination (energy `+inf`).
#[derive(Clone, Debug, PartialEq)]
pub struct LogTable {
    /// Variables, ascending.
    pub vars: Vec<usize>,
    /// Domain size of each variable of `vars`.
    pub cards: Vec<usize>,
    /// `prod(cards)` log-potentials.
    pub values: Vec<f64>,
}

impl LogTable {
    /// A table over `vars` (any order) with `values` in that order's layout, re-laid out
    /// so that the variables are ascending.
    pub fn new(vars: &[usize], cards: &[usize], values: Vec<f64>) -> Self {
        let mut order: Vec<usize> = (0..vars.len()).collect();
        order.sort_by_key(|&i| vars[i]);
        if order.iter().enumerate().all(|(a, &b)| a == b) {
            return Self {
                vars: vars.to_vec(),
                cards: cards.to_vec(),
                values,
            };
        }
        let sorted_vars: Vec<usize> = order.iter().map(|&i| vars[i]).collect();
        let sorted_cards: Vec<usize> = order.iter().map(|&i| cards[i]).collect();
        let original_strides = strides(cards);
        let mut out = vec![0.0; values.len()];
        let mut assignment = vec![0usize; vars.len()];
        for slot in out.iter_mut() {
            let source: usize = order
                .iter()
                .zip(&assignment)
                .map(|(&i, &x)| x * original_strides[i])
                .sum();
            *slot = values[source];
            advance(&mut assignment, &sorted_cards);
        }
        Self {
            vars: sorted_vars,
            cards: sorted_cards,
            values: out,
        }
    }

    /// The constant table (no variables).
    pub fn scalar(log_value: f64) -> Self {
        Self {
            vars: Vec::new(),
            cards: Vec::new(),
            values: vec![log_value],
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for a table with no entries (never for a built table).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The table with variable `var` fixed to `value` (the variable leaves the scope).
    pub fn reduce(&self, var: usize, value: usize) -> Self {
        let Some(pos) = self.vars.iter().position(|&v| v == var) else {
            return self.clone();
        };
        let s = strides(&self.cards);
        let mut vars = self.vars.clone();
        let mut cards = self.cards.clone();
        vars.remove(pos);
        cards.remove(pos);
        let total: usize = cards.iter().product();
        let sub_strides = strides(&cards);
        let mut values = Vec::with_capacity(total);
        for index in 0..total {
            let mut source = value * s[pos];
            for (k, (&st, &c)) in sub_strides.iter().zip(&cards).enumerate() {
                let x = (index / st) % c;
                let original = if k < pos { k } else { k + 1 };
                source += x * s[original];
            }
            values.push(self.values[source]);
        }
        Self {
            vars,
            cards,
            values,
        }
    }
}

/// Row-major strides (last fastest).
pub fn strides(cards: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; cards.len()];
    for i in (0..cards.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * cards[i + 1];
    }
    s
}

/// Next assignment in row-major order (last fastest); wraps to all zeros.
pub fn advance(assignment: &mut [usize], cards: &[usize]) {
    for i in (0..assignment.len()).rev() {
        assignment[i] += 1;
        if assignment[i] < cards[i] {
            return;
        }
        assignment[i] = 0;
    }
}

/// Advance `assignment` (row-major, last fastest, skipping position `skip`) and keep each
/// table's flat `index` in step using its strides along the union scope.
fn step(
    assignment: &mut [usize],
    cards: &[usize],
    skip: Option<usize>,
    table_strides: &[Vec<usize>],
    index: &mut [usize],
) {
    for i in (0..assignment.len()).rev() {
        if Some(i) == skip {
            continue;
        }
        assignment[i] += 1;
        if assignment[i] < cards[i] {
            for (idx, s) in index.iter_mut().zip(table_strides) {
                *idx += s[i];
            }
            return;
        }
        assignment[i] = 0;
        for (idx, s) in index.iter_mut().zip(table_strides) {
            *idx -= (cards[i] - 1) * s[i];
        }
    }
}

/// The scope (ascending) and cards of the union of `tables`' scopes.
fn union_scope(tables: &[&LogTable]) -> (Vec<usize>, Vec<usize>) {
    let mut pairs: Vec<(usize, usize)> = tables
        .iter()
        .flat_map(|t| t.vars.iter().copied().zip(t.cards.iter().copied()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs.into_iter().unzip()
}

/// Each table's stride along every variable of the union scope `vars` (0 where the
/// table does not depend on it).
fn strides_along(tables: &[&LogTable], vars: &[usize]) -> Vec<Vec<usize>> {
    tables
        .iter()
        .map(|t| {
            let s = strides(&t.cards);
            vars.iter()
                .map(|v| t.vars.iter().position(|w| w == v).map_or(0, |k| s[k]))
                .collect()
        })
        .collect()
}

/// Size of the product table of `tables`, or `None` if it overflows.
pub fn product_size(tables: &[&LogTable]) -> Option<usize> {
    let (_, cards) = union_scope(tables);
    cards.iter().try_fold(1usize, |acc, &c| acc.checked_mul(c))
}

/// The product of `tables` (sum of log-potentials) with `eliminate` summed out (`max`
/// false: log-sum-exp) or maxed out (`max` true). Returns the result and, when maxing,
/// the argmax of `eliminate` for every entry of the result.
pub fn combine_and_eliminate(
    tables: &[&LogTable],
    eliminate: usize,
    max: bool,
) -> (LogTable, Option<Vec<u32>>) {
    let (vars, cards) = union_scope(tables);
    let pos = vars
        .iter()
        .position(|&v| v == eliminate)
        .expect("the eliminated variable is in a scope");
    // For each input table, its stride along each union variable (0 if absent).
    let table_strides = strides_along(tables, &vars);
    let mut out_vars = vars.clone();
    let mut out_cards = cards.clone();
    out_vars.remove(pos);
    out_cards.remove(pos);
    let out_len: usize = out_cards.iter().product();
    let k = cards[pos];
    let mut out = Vec::with_capacity(out_len);
    let mut argmax = max.then(|| Vec::with_capacity(out_len));
    // Odometer over the other variables with every table's index kept incrementally.
    let mut assignment = vec![0usize; vars.len()];
    let mut index = vec![0usize; tables.len()];
    let eliminated_strides: Vec<usize> = table_strides.iter().map(|s| s[pos]).collect();
    let mut terms = vec![0.0f64; k];
    for _ in 0..out_len {
        for (x, term) in terms.iter_mut().enumerate() {
            *term = tables
                .iter()
                .zip(&index)
                .zip(&eliminated_strides)
                .map(|((t, &i), &st)| t.values[i + x * st])
                .sum();
        }
        if max {
            let (best, value) =
                terms
                    .iter()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (x, &v)| if v > b.1 { (x, v) } else { b },
                    );
            out.push(value);
            if let Some(a) = argmax.as_mut() {
                a.push(best as u32);
            }
        } else {
            out.push(log_sum_exp(&terms));
        }
        step(
            &mut assignment,
            &cards,
            Some(pos),
            &table_strides,
            &mut index,
        );
    }
    (
        LogTable {
            vars: out_vars,
            cards: out_cards,
            values: out,
        },
        argmax,
    )
}

/// The product of `tables` (sum of log-potentials) over the union of their scopes.
pub fn product(tables: &[&LogTable]) -> LogTable {
    let (vars, cards) = union_scope(tables);
    let table_strides = strides_along(tables, &vars);
    let len: usize = cards.iter().product();
    let mut values = Vec::with_capacity(len);
    let mut assignment = vec![0usize; vars.len()];
    let mut index = vec![0usize; tables.len()];
    for _ in 0..len {
        values.push(tables.iter().zip(&index).map(|(t, &i)| t.values[i]).sum());
        step(&mut assignment, &cards, None, &table_strides, &mut index);
    }
    LogTable {
        vars,
        cards,
        values,
    }
}

/// `table` summed (log-sum-exp) over every variable not in `keep`.
pub fn sum_to(table: LogTable, keep: &[usize]) -> LogTable {
    let drop: Vec<usize> = table
        .vars
        .iter()
        .copied()
        .filter(|v| !keep.contains(v))
        .collect();
    drop.into_iter()
        .fold(table, |t, v| combine_and_eliminate(&[&t], v, false).0)
}

/// `ln sum_i exp(x_i)`, stable; `-inf` when every term is `-inf`.
pub fn log_sum_exp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + x.iter().map(|&v| (v - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayout_reduce_and_eliminate() {
        // f(b, a) given in the order (b, a): b in {0,1}, a in {0,1,2}.
        let f = LogTable::new(&[5, 2], &[2, 3], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(f.vars, vec![2, 5]);
        // f(a, b) = value at (b, a) = b * 3 + a.
        assert_eq!(f.values, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let r = f.reduce(5, 1);
        assert_eq!(
            (r.vars.clone(), r.values.clone()),
            (vec![2], vec![3.0, 4.0, 5.0])
        );
        let g = LogTable::new(&[5], &[2], vec![10.0, 20.0]);
        let (sum, _) = combine_and_eliminate(&[&f, &g], 5, false);
        assert_eq!(sum.vars, vec![2]);
        for a in 0..3 {
            let want = log_sum_exp(&[a as f64 + 10.0, a as f64 + 3.0 + 20.0]);
            assert!((sum.values[a] - want).abs() < 1e-12);
        }
        let (mx, arg) = combine_and_eliminate(&[&f, &g], 5, true);
        assert_eq!(arg.unwrap(), vec![1, 1, 1]);
        assert_eq!(mx.values, vec![23.0, 24.0, 25.0]);
    }
}
