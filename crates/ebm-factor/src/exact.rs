//! Exact inference by variable elimination in log space, with a min-fill ordering:
//! `ln Z`, single-variable marginals and MAP. Refuses (naming the induced width) when a
//! table would exceed a memory bound.

use crate::FactorError;
use crate::model::FactorModel;
use crate::table::{LogTable, combine_and_eliminate, log_sum_exp, product, product_size, sum_to};
use std::collections::BTreeSet;

/// Largest intermediate table (entries) exact inference builds by default (2^27 f64 =
/// 1 GiB).
pub const DEFAULT_MAX_TABLE: usize = 1 << 27;

/// A min-fill elimination order of the free variables of `factors` (ties: fewest
/// neighbours, then lowest index), with its induced width (largest clique size minus 1).
pub fn min_fill_order(n_vars: usize, factors: &[LogTable], skip: &[bool]) -> (Vec<usize>, usize) {
    let mut adjacency: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n_vars];
    let mut present = vec![false; n_vars];
    for f in factors {
        for &a in &f.vars {
            present[a] = true;
            for &b in &f.vars {
                if a != b {
                    adjacency[a].insert(b);
                }
            }
        }
    }
    let mut remaining: BTreeSet<usize> = (0..n_vars).filter(|&v| present[v] && !skip[v]).collect();
    let mut order = Vec::with_capacity(remaining.len());
    let mut width = 0;
    while !remaining.is_empty() {
        let fill = |v: usize| -> usize {
            let neighbours: Vec<usize> =
                adjacency[v].iter().copied().filter(|u| !skip[*u]).collect();
            let mut missing = 0;
            for (i, &a) in neighbours.iter().enumerate() {
                for &b in &neighbours[i + 1..] {
                    if !adjacency[a].contains(&b) {
                        missing += 1;
                    }
                }
            }
            missing
        };
        let best = *remaining
            .iter()
            .min_by_key(|&&v| (fill(v), adjacency[v].len(), v))
            .expect("non-empty");
        let neighbours: Vec<usize> = adjacency[best].iter().copied().collect();
        width = width.max(neighbours.iter().filter(|u| !skip[**u]).count());
        for (i, &a) in neighbours.iter().enumerate() {
            for &b in &neighbours[i + 1..] {
                adjacency[a].insert(b);
                adjacency[b].insert(a);
            }
        }
        for &a in &neighbours {
            adjacency[a].remove(&best);
        }
        adjacency[best].clear();
        remaining.remove(&best);
        order.push(best);
    }
    (order, width)
}

/// How to decode one max-eliminated variable: the variable, the scope and cards of the
/// table left after maxing it out, and its argmax for every entry of that table.
type Decoding = (usize, Vec<usize>, Vec<usize>, Vec<u32>);

/// Eliminate `order` from `tables` (sum or max). Returns the remaining tables and, when
/// maxing, the (combined table's scope, argmax) of each eliminated variable for decoding.
fn eliminate(
    mut tables: Vec<LogTable>,
    order: &[usize],
    max: bool,
    max_table: usize,
    width: usize,
) -> Result<(Vec<LogTable>, Vec<Decoding>), FactorError> {
    let mut trace = Vec::new();
    for &var in order {
        let (with, without): (Vec<LogTable>, Vec<LogTable>) =
            tables.into_iter().partition(|t| t.vars.contains(&var));
        tables = without;
        if with.is_empty() {
            continue;
        }
        let refs: Vec<&LogTable> = with.iter().collect();
        let size = product_size(&refs).unwrap_or(usize::MAX);
        if size > max_table {
            return Err(FactorError::TooWide {
                width,
                entries: size,
                max_entries: max_table,
            });
        }
        let (result, argmax) = combine_and_eliminate(&refs, var, max);
        if let Some(argmax) = argmax {
            trace.push((var, result.vars.clone(), result.cards.clone(), argmax));
        }
        tables.push(result);
    }
    Ok((tables, trace))
}

/// `ln Z` (with the evidence applied: `ln` of the probability of the evidence times the
/// normalizer of a Markov network).
///
/// A model of probability zero (with its evidence: `Z = 0`) is
/// [`FactorError::ZeroProbability`], not `-inf` or NaN.
pub fn log_partition(model: &FactorModel, max_table: usize) -> Result<f64, FactorError> {
    model.check_possible()?;
    let tables = model.conditioned_factors();
    let skip: Vec<bool> = model.evidence().iter().map(Option::is_some).collect();
    let (order, width) = min_fill_order(model.domains().len(), &tables, &skip);
    // A free variable in no factor multiplies Z by its domain size.
    let mut in_a_factor = skip.clone();
    tables
        .iter()
        .flat_map(|t| &t.vars)
        .for_each(|&v| in_a_factor[v] = true);
    let unconstrained: f64 = (0..model.domains().len())
        .filter(|&v| !in_a_factor[v])
        .map(|v| (model.domains()[v] as f64).ln())
        .sum();
    let (rest, _) = eliminate(tables, &order, false, max_table, width)?;
    let log_z = unconstrained + rest.iter().map(|t| t.values[0]).sum::<f64>();
    if log_z == f64::NEG_INFINITY {
        return Err(model.zero_probability("variable elimination gives Z = 0"));
    }
    Ok(log_z)
}

/// Single-variable marginals `p(x_v | evidence)` of every variable (evidence variables
/// get a point mass; a variable in no factor is uniform). Two passes of Shafer-Shenoy
/// message passing over the bucket tree of the min-fill order, so the cost is about two
/// eliminations, not one per variable.
///
/// A model of probability zero (with its evidence: `Z = 0`) is
/// [`FactorError::ZeroProbability`], not `-inf` or NaN.
pub fn marginals(model: &FactorModel, max_table: usize) -> Result<Vec<Vec<f64>>, FactorError> {
    model.check_possible()?;
    let tables = model.conditioned_factors();
    let n = model.domains().len();
    let skip: Vec<bool> = model.evidence().iter().map(Option::is_some).collect();
    let (order, width) = min_fill_order(n, &tables, &skip);
    let mut position = vec![usize::MAX; n];
    for (i, &v) in order.iter().enumerate() {
        position[v] = i;
    }
    // Bucket scopes (the clique of each eliminated variable) and parents.
    let mut scopes: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    let mut functions: Vec<Vec<LogTable>> = vec![Vec::new(); order.len()];
    for t in tables {
        // A constant (no variables) scales Z, not the marginals.
        if let Some(b) = t.vars.iter().map(|&v| position[v]).min() {
            functions[b].push(t);
        }
    }
    // Clique scopes by symbolic elimination.
    let mut pending: Vec<Vec<usize>> = functions
        .iter()
        .map(|fs| {
            let mut vars: Vec<usize> = fs.iter().flat_map(|t| t.vars.iter().copied()).collect();
            vars.sort_unstable();
            vars.dedup();
            vars
        })
        .collect();
    let mut parent = vec![usize::MAX; order.len()];
    for b in 0..order.len() {
        let mut scope = std::mem::take(&mut pending[b]);
        if !scope.contains(&order[b]) {
            scope.push(order[b]);
            scope.sort_unstable();
        }
        let size = scope
            .iter()
            .try_fold(1usize, |acc, &v| acc.checked_mul(model.domains()[v]))
            .unwrap_or(usize::MAX);
        if size > max_table {
            return Err(FactorError::TooWide {
                width,
                entries: size,
                max_entries: max_table,
            });
        }
        let separator: Vec<usize> = scope.iter().copied().filter(|&v| v != order[b]).collect();
        if let Some(p) = separator.iter().map(|&v| position[v]).min() {
            parent[b] = p;
            let target = &mut pending[p];
            target.extend(separator.iter().copied());
            target.sort_unstable();
            target.dedup();
        }
        scopes[b] = scope;
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    for (b, &p) in parent.iter().enumerate() {
        if p != usize::MAX {
            children[p].push(b);
        }
    }
    let separator = |b: usize| -> Vec<usize> {
        scopes[b]
            .iter()
            .copied()
            .filter(|&v| v != order[b])
            .collect()
    };
    // Upward messages, leaves first (bucket order is a valid order: parents come later).
    let mut up: Vec<Option<LogTable>> = vec![None; order.len()];
    for b in 0..order.len() {
        let mut refs: Vec<&LogTable> = functions[b].iter().collect();
        refs.extend(children[b].iter().filter_map(|&c| up[c].as_ref()));
        if parent[b] != usize::MAX {
            up[b] = Some(sum_to(product(&refs), &separator(b)));
        }
    }
    // Downward messages, roots first.
    let mut down: Vec<Option<LogTable>> = vec![None; order.len()];
    let mut out: Vec<Vec<f64>> = model
        .domains()
        .iter()
        .map(|&d| vec![1.0 / d as f64; d])
        .collect();
    for b in (0..order.len()).rev() {
        let incoming = down[b].take();
        let mut refs: Vec<&LogTable> = functions[b].iter().collect();
        refs.extend(incoming.as_ref());
        let child_messages: Vec<&LogTable> =
            children[b].iter().filter_map(|&c| up[c].as_ref()).collect();
        for &c in &children[b] {
            let mut with: Vec<&LogTable> = refs.clone();
            with.extend(
                children[b]
                    .iter()
                    .filter(|&&o| o != c)
                    .filter_map(|&o| up[o].as_ref()),
            );
            down[c] = Some(sum_to(product(&with), &separator(c)));
        }
        let mut all = refs;
        all.extend(child_messages);
        let belief = sum_to(product(&all), &[order[b]]);
        let z = log_sum_exp(&belief.values);
        if z == f64::NEG_INFINITY {
            return Err(model.zero_probability(format!(
                "variable elimination gives every value of variable {} probability zero",
                order[b]
            )));
        }
        out[order[b]] = belief.values.iter().map(|&l| (l - z).exp()).collect();
    }
    for (v, e) in model.evidence().iter().enumerate() {
        if let Some(x) = *e {
            let mut m = vec![0.0; model.domains()[v]];
            m[x] = 1.0;
            out[v] = m;
        }
    }
    Ok(out)
}

/// The most probable assignment (evidence variables at their values) and its `ln` of the
/// unnormalized probability (`-energy`).
///
/// A model with no assignment of positive probability gives `-inf` (a MAP search's
/// proof of infeasibility); [`log_partition`] and [`marginals`] refuse it.
pub fn map_assignment(
    model: &FactorModel,
    max_table: usize,
) -> Result<(Vec<usize>, f64), FactorError> {
    let tables = model.conditioned_factors();
    let skip: Vec<bool> = model.evidence().iter().map(Option::is_some).collect();
    let (order, width) = min_fill_order(model.domains().len(), &tables, &skip);
    let (rest, trace) = eliminate(tables, &order, true, max_table, width)?;
    let best: f64 = rest.iter().map(|t| t.values[0]).sum();
    let mut assignment: Vec<usize> = model.evidence().iter().map(|e| e.unwrap_or(0)).collect();
    for (var, scope, cards, argmax) in trace.iter().rev() {
        let s = crate::table::strides(cards);
        let index: usize = scope
            .iter()
            .zip(&s)
            .map(|(&u, &st)| assignment[u] * st)
            .sum();
        assignment[*var] = argmax[index] as usize;
    }
    Ok((assignment, best))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3-variable loop with a forbidden combination, against brute-force enumeration.
    #[test]
    fn matches_enumeration() {
        let mut m = FactorModel::new(vec![2, 3, 2]);
        m.add_energy_factor(&[0, 1], &[0.5, 1.0, -0.3, 0.2, f64::INFINITY, 0.7])
            .unwrap();
        m.add_energy_factor(&[1, 2], &[0.1, -0.4, 0.9, 0.3, -1.0, 0.0])
            .unwrap();
        m.add_energy_factor(&[2, 0], &[0.2, 0.0, -0.5, 0.4])
            .unwrap();
        m.add_energy_factor(&[], &[1.5]).unwrap();
        let mut states = Vec::new();
        for a in 0..2 {
            for b in 0..3 {
                for c in 0..2 {
                    states.push(vec![a, b, c]);
                }
            }
        }
        let weights: Vec<f64> = states.iter().map(|s| (-m.energy(s)).exp()).collect();
        let z: f64 = weights.iter().sum();
        let log_z = log_partition(&m, DEFAULT_MAX_TABLE).unwrap();
        assert!((log_z - z.ln()).abs() < 1e-12);
        let marg = marginals(&m, DEFAULT_MAX_TABLE).unwrap();
        for (var, probabilities) in marg.iter().enumerate() {
            for (x, &got) in probabilities.iter().enumerate() {
                let want: f64 = states
                    .iter()
                    .zip(&weights)
                    .filter(|(s, _)| s[var] == x)
                    .map(|(_, w)| w)
                    .sum::<f64>()
                    / z;
                assert!((got - want).abs() < 1e-12, "{var} {x}");
            }
        }
        let (best, value) = map_assignment(&m, DEFAULT_MAX_TABLE).unwrap();
        let (i, w) = weights
            .iter()
            .enumerate()
            .fold((0, 0.0), |b, (i, &w)| if w > b.1 { (i, w) } else { b });
        assert_eq!(best, states[i]);
        assert!((value - w.ln()).abs() < 1e-12);
        // Evidence.
        m.set_evidence(1, 2).unwrap();
        let ze: f64 = states
            .iter()
            .zip(&weights)
            .filter(|(s, _)| s[1] == 2)
            .map(|(_, w)| w)
            .sum();
        assert!((log_partition(&m, DEFAULT_MAX_TABLE).unwrap() - ze.ln()).abs() < 1e-12);
        let (best, _) = map_assignment(&m, DEFAULT_MAX_TABLE).unwrap();
        assert_eq!(best[1], 2);
        // A tiny memory bound is refused with the width.
        let e = log_partition(&m, 1).unwrap_err().to_string();
        assert!(e.contains("width"), "{e}");
        assert_eq!(m.factor_graph().node_count(), 3 + 4);
    }

    /// A free variable in no factor multiplies Z by its domain size; one under evidence
    /// does not.
    #[test]
    fn a_variable_in_no_factor_counts_its_states() {
        let mut m = FactorModel::new(vec![2, 5, 3]);
        m.add_energy_factor(&[0], &[0.0, 1.0]).unwrap();
        let single = (1.0 + (-1.0f64).exp()).ln();
        let log_z = log_partition(&m, DEFAULT_MAX_TABLE).unwrap();
        assert!((log_z - (single + 15f64.ln())).abs() < 1e-12, "{log_z}");
        m.set_evidence(2, 1).unwrap();
        let log_z = log_partition(&m, DEFAULT_MAX_TABLE).unwrap();
        assert!((log_z - (single + 5f64.ln())).abs() < 1e-12, "{log_z}");
    }
}
