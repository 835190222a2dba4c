//! Exact inference by variable elimination in log space, with a min-fill ordering:
//! `ln Z`, single-variable marginals and MAP. When the min-fill order's largest table
//! would exceed the memory bound, randomized min-fill orders are tried
//! ([`crate::order_search::order_that_fits`]) before it refuses (naming the induced
//! width).

use crate::FactorError;
use crate::jtree::BucketTree;
use crate::model::FactorModel;
use crate::order_search::{first_too_large, order_that_fits};
use crate::table::{LogTable, combine_and_eliminate, product_size};
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
                table: format!("the product table of variable {var}"),
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
/// normalizer of a Markov network): one upward pass over the bucket tree of the min-fill
/// order ([`BucketTree::log_partition`]).
///
/// A model of probability zero (with its evidence: `Z = 0`) is
/// [`FactorError::ZeroProbability`], not `-inf` or NaN.
///
/// # Errors
/// [`FactorError::TooWide`] when a clique exceeds `max_table` entries;
/// [`FactorError::ZeroProbability`] when `Z = 0`.
///
/// # Example
/// ```
/// use ebm_factor::{FactorModel, exact};
/// let mut model = FactorModel::new(vec![2, 2]);
/// model.add_energy_factor(&[0, 1], &[0.0, 1.0, 1.0, 0.0]).unwrap();
/// let log_z = exact::log_partition(&model, exact::DEFAULT_MAX_TABLE).unwrap();
/// assert!((log_z - (2.0 + 2.0 * (-1.0f64).exp()).ln()).abs() < 1e-12);
/// ```
pub fn log_partition(model: &FactorModel, max_table: usize) -> Result<f64, FactorError> {
    log_partition_reported(model, max_table).map(|(log_z, _)| log_z)
}

/// [`log_partition`], with the report of the AND/OR search over the model's zeros when
/// elimination was too wide and the search answered instead ([`crate::andor`]); `None`
/// when elimination answered.
///
/// # Errors
/// As [`log_partition`]: [`FactorError::TooWide`] when both elimination and the search
/// exceed the bound.
///
/// # Example
/// ```
/// use ebm_factor::{FactorModel, exact};
/// let mut model = FactorModel::new(vec![2, 2]);
/// model.add_energy_factor(&[0, 1], &[0.0, 1.0, 1.0, 0.0]).unwrap();
/// let (_, search) = exact::log_partition_reported(&model, exact::DEFAULT_MAX_TABLE).unwrap();
/// assert!(search.is_none());
/// ```
pub fn log_partition_reported(
    model: &FactorModel,
    max_table: usize,
) -> Result<(f64, Option<crate::andor::SearchReport>), FactorError> {
    model.check_possible()?;
    let (tree, unconstrained) = match bucket_tree(model, max_table) {
        Err(wide @ FactorError::TooWide { .. }) => {
            let (log_z, report) = crate::andor::instead_of_elimination(model, max_table, wide)?;
            return Ok((log_z, Some(report)));
        }
        built => built?,
    };
    let log_z = unconstrained + tree.log_partition();
    if log_z == f64::NEG_INFINITY {
        return Err(model.zero_probability("variable elimination gives Z = 0"));
    }
    Ok((log_z, None))
}

/// The bucket tree of the model's conditioned factors along the min-fill order, and the
/// `ln` of the number of states of the free variables in no factor (they multiply `Z`).
fn bucket_tree(model: &FactorModel, max_table: usize) -> Result<(BucketTree, f64), FactorError> {
    let tables = model.conditioned_factors();
    let skip: Vec<bool> = model.evidence().iter().map(Option::is_some).collect();
    let (order, width) = min_fill_order(model.domains().len(), &tables, &skip);
    let (order, width) = order_that_fits(&tables, &skip, model.domains(), order, width, max_table);
    let mut in_a_factor = skip;
    tables
        .iter()
        .flat_map(|t| &t.vars)
        .for_each(|&v| in_a_factor[v] = true);
    let unconstrained: f64 = (0..model.domains().len())
        .filter(|&v| !in_a_factor[v])
        .map(|v| (model.domains()[v] as f64).ln())
        .sum();
    let tree = BucketTree::new(model.domains(), tables, &order, width, max_table)?;
    Ok((tree, unconstrained))
}

/// Single-variable marginals `p(x_v | evidence)` of every variable (evidence variables
/// get a point mass; a variable in no factor is uniform), from one calibration of the
/// bucket tree of the min-fill order: an upward pass (the one `ln Z` needs) and a
/// downward pass that reuses the upward clique tables ([`BucketTree::marginals`]).
///
/// The calibrated cliques are kept together: their total size is bounded by
/// `max_table` entries as well as each one.
///
/// A model of probability zero (with its evidence: `Z = 0`) is
/// [`FactorError::ZeroProbability`], not `-inf` or NaN.
///
/// # Errors
/// [`FactorError::TooWide`] when a clique, or all of them together, exceed `max_table`
/// entries; [`FactorError::ZeroProbability`] when `Z = 0`.
///
/// # Example
/// ```
/// use ebm_factor::{FactorModel, exact};
/// let mut model = FactorModel::new(vec![2, 2]);
/// model.add_energy_factor(&[0, 1], &[0.0, 1.0, 1.0, 0.0]).unwrap();
/// model.add_energy_factor(&[0], &[0.0, 2.0]).unwrap();
/// let marginals = exact::marginals(&model, exact::DEFAULT_MAX_TABLE).unwrap();
/// assert!(marginals[0][0] > marginals[0][1]);
/// ```
pub fn marginals(model: &FactorModel, max_table: usize) -> Result<Vec<Vec<f64>>, FactorError> {
    model.check_possible()?;
    let (tree, _) = bucket_tree(model, max_table)?;
    let total = tree.total_entries();
    if total > max_table {
        return Err(FactorError::TooWide {
            width: tree.width(),
            entries: total,
            max_entries: max_table,
            table: "the calibrated cliques together".into(),
        });
    }
    let (_, beliefs) = tree.marginals(|var| {
        model.zero_probability(format!(
            "variable elimination gives every value of variable {var} probability zero"
        ))
    })?;
    let mut out: Vec<Vec<f64>> = model
        .domains()
        .iter()
        .map(|&d| vec![1.0 / d as f64; d])
        .collect();
    for (v, m) in beliefs {
        out[v] = m;
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
    let (order, width) = order_that_fits(&tables, &skip, model.domains(), order, width, max_table);
    if let Some((var, entries)) =
        first_too_large(&tables, &skip, model.domains(), &order, max_table)
    {
        return Err(FactorError::TooWide {
            width,
            entries,
            max_entries: max_table,
            table: format!("the product table of variable {var}"),
        });
    }
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
