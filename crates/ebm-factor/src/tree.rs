//! Exact sum-product on acyclic factor graphs (chains, trees, forests): `ln Z` and the
//! marginal of every factor's scope in two passes, linear in the size of the tables.
//! This is what maximum-likelihood learning of chain and tree CRFs needs.

use crate::FactorError;
use crate::model::FactorModel;
use crate::table::{LogTable, advance, log_sum_exp};

/// `ln Z` and, for every conditioned factor of the model (in the order of
/// [`FactorModel::conditioned_factors`]), the `ln` of the marginal of its free variables.
#[derive(Clone, Debug)]
pub struct TreeMarginals {
    /// `ln Z` of the conditioned model.
    pub log_z: f64,
    /// Per factor: a table over its free variables holding `ln p(x_scope)`.
    pub factor_log_marginals: Vec<LogTable>,
}

/// Find the root of `x` with path halving.
fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// The message of `table` to the variable at `position`, given the messages into the
/// table from its other variables (`incoming[q]`, ignored at `position`).
fn factor_to_variable(table: &LogTable, incoming: &[Vec<f64>], position: usize) -> Vec<f64> {
    let card = table.cards[position];
    let mut maxima = vec![f64::NEG_INFINITY; card];
    let mut scores = Vec::with_capacity(table.values.len());
    let mut assignment = vec![0usize; table.vars.len()];
    for &value in &table.values {
        let mut score = value;
        for (q, &x) in assignment.iter().enumerate() {
            if q != position {
                score += incoming[q][x];
            }
        }
        let x = assignment[position];
        maxima[x] = maxima[x].max(score);
        scores.push(score);
        advance(&mut assignment, &table.cards);
    }
    let mut sums = vec![0.0; card];
    assignment.fill(0);
    for &score in &scores {
        let x = assignment[position];
        if maxima[x] > f64::NEG_INFINITY {
            sums[x] += (score - maxima[x]).exp();
        }
        advance(&mut assignment, &table.cards);
    }
    sums.iter()
        .zip(&maxima)
        .map(|(&s, &m)| {
            if s > 0.0 {
                m + s.ln()
            } else {
                f64::NEG_INFINITY
            }
        })
        .collect()
}

/// Exact `ln Z` and factor marginals of a model whose factor graph (after evidence) has no
/// cycle. A cycle is an error naming the factor that closes it.
pub fn tree_marginals(model: &FactorModel) -> Result<TreeMarginals, FactorError> {
    let tables = model.conditioned_factors();
    let n = model.domains().len();
    // Nodes: variables 0..n, factors n..n+m. Union-find over the edges finds cycles.
    let mut parent: Vec<usize> = (0..n + tables.len()).collect();
    let mut factors_of: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (f, table) in tables.iter().enumerate() {
        for (position, &v) in table.vars.iter().enumerate() {
            let (a, b) = (find(&mut parent, v), find(&mut parent, n + f));
            if a == b {
                return Err(FactorError::InvalidFactor(format!(
                    "exact tree inference needs an acyclic factor graph; factor {f} closes a cycle through variable {v}"
                )));
            }
            parent[a] = b;
            factors_of[v].push((f, position));
        }
    }
    // Breadth-first order from one root variable per component: (node, parent edge).
    // An edge is (factor, position); the parent of a variable is a factor and vice versa.
    let mut order: Vec<(usize, Option<(usize, usize)>)> = Vec::new();
    let mut seen_variable = vec![false; n];
    let mut seen_factor = vec![false; tables.len()];
    let mut roots = Vec::new();
    let free = |v: usize| model.evidence()[v].is_none();
    for root in (0..n).filter(|&v| free(v)) {
        if seen_variable[root] {
            continue;
        }
        roots.push(root);
        seen_variable[root] = true;
        let start = order.len();
        order.push((root, None));
        let mut head = start;
        while head < order.len() {
            let (node, via) = order[head];
            head += 1;
            if node < n {
                for &(f, position) in &factors_of[node] {
                    if !seen_factor[f] {
                        seen_factor[f] = true;
                        order.push((n + f, Some((f, position))));
                    }
                }
            } else {
                let f = node - n;
                let from = via.map(|(_, p)| p);
                for (position, &v) in tables[f].vars.iter().enumerate() {
                    if Some(position) != from && !seen_variable[v] {
                        seen_variable[v] = true;
                        order.push((v, Some((f, position))));
                    }
                }
            }
        }
    }
    // Messages per edge (factor, position): variable -> factor and factor -> variable.
    let mut to_factor: Vec<Vec<Vec<f64>>> = tables
        .iter()
        .map(|t| t.cards.iter().map(|&c| vec![0.0; c]).collect())
        .collect();
    let mut to_variable = to_factor.clone();
    let variable_message = |to_variable: &Vec<Vec<Vec<f64>>>, v: usize, except: usize| {
        let mut m = vec![0.0; model.domains()[v]];
        for &(g, q) in &factors_of[v] {
            if g != except {
                m.iter_mut()
                    .zip(&to_variable[g][q])
                    .for_each(|(a, b)| *a += b);
            }
        }
        m
    };
    // Upward: every node sends to its parent after hearing from its children.
    for &(node, via) in order.iter().rev() {
        let Some((f, position)) = via else { continue };
        if node < n {
            to_factor[f][position] = variable_message(&to_variable, node, f);
        } else {
            to_variable[f][position] = factor_to_variable(&tables[f], &to_factor[f], position);
        }
    }
    // Downward: every node sends to its children after hearing from its parent.
    for &(node, via) in &order {
        if node < n {
            for &(g, q) in &factors_of[node] {
                if via.map(|(f, _)| f) != Some(g) {
                    to_factor[g][q] = variable_message(&to_variable, node, g);
                }
            }
        } else {
            let f = node - n;
            let from = via.map(|(_, p)| p);
            let (table, incoming) = (&tables[f], &to_factor[f]);
            for (position, message) in to_variable[f].iter_mut().enumerate() {
                if Some(position) != from {
                    *message = factor_to_variable(table, incoming, position);
                }
            }
        }
    }
    let mut log_z: f64 = roots
        .iter()
        .map(|&r| log_sum_exp(&variable_message(&to_variable, r, usize::MAX)))
        .sum();
    let mut factor_log_marginals = Vec::with_capacity(tables.len());
    for (f, table) in tables.iter().enumerate() {
        let mut belief = table.clone();
        let mut assignment = vec![0usize; table.vars.len()];
        for value in belief.values.iter_mut() {
            for (q, &x) in assignment.iter().enumerate() {
                *value += to_factor[f][q][x];
            }
            advance(&mut assignment, &table.cards);
        }
        let norm = log_sum_exp(&belief.values);
        if table.vars.is_empty() {
            log_z += norm;
        }
        belief.values.iter_mut().for_each(|v| *v -= norm);
        factor_log_marginals.push(belief);
    }
    Ok(TreeMarginals {
        log_z,
        factor_log_marginals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact;

    /// A tree: chain 0-1-2-3 with a branch 1-4, a ternary factor (2,3,5), unaries,
    /// an isolated variable 6 and a constant factor.
    fn tree_model() -> FactorModel {
        let mut m = FactorModel::new(vec![2, 3, 2, 3, 2, 2, 4]);
        m.add_energy_factor(&[0, 1], &[0.1, 0.7, -0.3, 0.4, 0.0, 1.1])
            .unwrap();
        m.add_energy_factor(&[2, 1], &[0.5, -0.2, 0.3, 0.9, 0.1, -0.4])
            .unwrap();
        m.add_energy_factor(&[1, 4], &[0.2, 0.0, -0.6, 0.8, 0.3, 0.1])
            .unwrap();
        let ternary: Vec<f64> = (0..12).map(|k| (k as f64 * 0.37).sin()).collect();
        m.add_energy_factor(&[3, 2, 5], &ternary).unwrap();
        m.add_energy_factor(&[0], &[0.3, -0.2]).unwrap();
        m.add_energy_factor(&[], &[0.25]).unwrap();
        m
    }

    /// Marginal of one factor's scope by brute force over all assignments.
    fn brute_force(model: &FactorModel, log_z: f64, vars: &[usize], entry: &[usize]) -> f64 {
        let domains = model.domains();
        let mut assignment = vec![0usize; domains.len()];
        let mut total = 0.0;
        loop {
            if model
                .evidence()
                .iter()
                .enumerate()
                .all(|(v, e)| e.is_none_or(|x| assignment[v] == x))
                && vars.iter().zip(entry).all(|(&v, &x)| assignment[v] == x)
            {
                total += (-model.energy(&assignment) - log_z).exp();
            }
            advance(&mut assignment, domains);
            if assignment.iter().all(|&x| x == 0) {
                return total;
            }
        }
    }

    #[test]
    fn matches_elimination_and_brute_force_on_a_tree() {
        for evidence in [None, Some((1, 2)), Some((2, 1))] {
            let mut model = tree_model();
            if let Some((v, x)) = evidence {
                model.set_evidence(v, x).unwrap();
            }
            let result = tree_marginals(&model).unwrap();
            let log_z = exact::log_partition(&model, exact::DEFAULT_MAX_TABLE).unwrap();
            assert!(
                (result.log_z - log_z).abs() < 1e-10,
                "{evidence:?} {} {log_z}",
                result.log_z
            );
            for marginal in &result.factor_log_marginals {
                let mut entry = vec![0usize; marginal.vars.len()];
                for &value in &marginal.values {
                    let expected = brute_force(&model, log_z, &marginal.vars, &entry);
                    assert!((value.exp() - expected).abs() < 1e-10);
                    advance(&mut entry, &marginal.cards);
                }
            }
        }
    }

    #[test]
    fn refuses_a_cycle() {
        let mut m = FactorModel::new(vec![2, 2, 2]);
        for (a, b) in [(0, 1), (1, 2), (2, 0)] {
            m.add_energy_factor(&[a, b], &[0.0; 4]).unwrap();
        }
        let message = tree_marginals(&m).unwrap_err().to_string();
        assert!(message.contains("acyclic"), "{message}");
        // Evidence on one variable of the cycle opens it.
        m.set_evidence(0, 1).unwrap();
        assert!(tree_marginals(&m).is_ok());
    }
}
