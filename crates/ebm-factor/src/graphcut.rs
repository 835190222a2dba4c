//! Exact MAP for binary models whose factors have at most two variables and whose pairwise
//! energies are submodular (`E(0,0) + E(1,1) <= E(0,1) + E(1,0)`, as in attractive Ising
//! and image-denoising models), by a minimum s-t cut (Kolmogorov and Zabih 2004) found with
//! Dinic's max-flow algorithm.
//!
//! Label 0 is the source side of the cut and label 1 the sink side: an edge `s -> i`
//! carries the cost of `x_i = 1`, an edge `i -> t` the cost of `x_i = 0`, and an edge
//! `i -> j` the cost of `x_i = 0, x_j = 1`.

use crate::FactorError;
use crate::map::MapSolution;
use crate::model::FactorModel;
use std::collections::VecDeque;

/// Residual capacities below this are treated as saturated.
const SATURATED: f64 = 1e-12;

/// A flow network in adjacency-array form; edges come in (forward, reverse) pairs.
struct FlowNetwork {
    heads: Vec<usize>,
    capacities: Vec<f64>,
    next_edge: Vec<usize>,
    first_edge: Vec<usize>,
}

const NONE: usize = usize::MAX;

impl FlowNetwork {
    fn new(nodes: usize) -> Self {
        Self {
            heads: Vec::new(),
            capacities: Vec::new(),
            next_edge: Vec::new(),
            first_edge: vec![NONE; nodes],
        }
    }

    fn add_edge(&mut self, from: usize, to: usize, capacity: f64, reverse_capacity: f64) {
        for (a, b, c) in [(from, to, capacity), (to, from, reverse_capacity)] {
            self.heads.push(b);
            self.capacities.push(c);
            self.next_edge.push(self.first_edge[a]);
            self.first_edge[a] = self.heads.len() - 1;
        }
    }

    /// Breadth-first levels from `source` over unsaturated edges; false if `sink` is cut off.
    fn levels(&self, source: usize, sink: usize, level: &mut [usize]) -> bool {
        level.fill(NONE);
        level[source] = 0;
        let mut queue = VecDeque::from([source]);
        while let Some(u) = queue.pop_front() {
            let mut e = self.first_edge[u];
            while e != NONE {
                let v = self.heads[e];
                if level[v] == NONE && self.capacities[e] > SATURATED {
                    level[v] = level[u] + 1;
                    queue.push_back(v);
                }
                e = self.next_edge[e];
            }
        }
        level[sink] != NONE
    }

    /// One augmenting path along increasing levels (iterative DFS with per-node edge
    /// cursors); returns the flow pushed, 0 when the level graph is blocked.
    fn augment(
        &mut self,
        source: usize,
        sink: usize,
        level: &[usize],
        cursor: &mut [usize],
        path: &mut Vec<usize>,
    ) -> f64 {
        path.clear();
        let mut u = source;
        loop {
            if u == sink {
                let flow = path
                    .iter()
                    .map(|&e| self.capacities[e])
                    .fold(f64::INFINITY, f64::min);
                for &e in path.iter() {
                    self.capacities[e] -= flow;
                    self.capacities[e ^ 1] += flow;
                }
                return flow;
            }
            let mut advanced = false;
            while cursor[u] != NONE {
                let e = cursor[u];
                let v = self.heads[e];
                if self.capacities[e] > SATURATED && level[v] == level[u] + 1 {
                    path.push(e);
                    u = v;
                    advanced = true;
                    break;
                }
                cursor[u] = self.next_edge[e];
            }
            if !advanced {
                // Dead end: retreat one edge and skip it from now on.
                match path.pop() {
                    None => return 0.0,
                    Some(e) => {
                        u = self.heads[e ^ 1];
                        cursor[u] = self.next_edge[cursor[u]];
                    }
                }
            }
        }
    }

    /// Run Dinic's algorithm to a maximum flow; afterwards `level` marks the source side.
    fn max_flow(&mut self, source: usize, sink: usize, level: &mut [usize]) {
        let mut cursor = vec![NONE; level.len()];
        let mut path = Vec::new();
        while self.levels(source, sink, level) {
            cursor.copy_from_slice(&self.first_edge);
            while self.augment(source, sink, level, &mut cursor, &mut path) > 0.0 {}
        }
    }
}

/// Exact MAP of a binary, at-most-pairwise, submodular model by a minimum cut.
///
/// Errors name the first variable or factor that does not fit: a variable with other than
/// two states, a factor over three or more free variables, a forbidden (`+inf`) entry, or
/// a pairwise table that is not submodular.
pub fn graph_cut_map(model: &FactorModel) -> Result<MapSolution, FactorError> {
    cut(model, false)
}

/// The minimum cut of the model with every non-submodular pairwise coupling dropped
/// (its linear part is kept): exact when the model is submodular, which the result says
/// by carrying a lower bound; otherwise (`lower_bound: None`) a start for local search
/// (the truncation of Rother et al. 2005). Other limits as [`graph_cut_map`].
pub fn graph_cut_truncated(model: &FactorModel) -> Result<MapSolution, FactorError> {
    cut(model, true)
}

fn cut(model: &FactorModel, truncate: bool) -> Result<MapSolution, FactorError> {
    let domains = model.domains();
    let evidence = model.evidence();
    if let Some(v) = (0..domains.len()).find(|&v| evidence[v].is_none() && domains[v] != 2) {
        return Err(FactorError::InvalidFactor(format!(
            "graph cut needs binary variables; variable {v} has {} states",
            domains[v]
        )));
    }
    let n = domains.len();
    let (source, sink) = (n, n + 1);
    let mut network = FlowNetwork::new(n + 2);
    // Cost of x_i = 1 minus cost of x_i = 0, gathered from unary and pairwise terms.
    let mut unary_difference = vec![0.0f64; n];
    let mut dropped_a_coupling = false;
    for (f, table) in model.conditioned_factors().iter().enumerate() {
        // Tables hold -E/T; the cut works on E/T, which has the same minimizer.
        let energy = |k: usize| -table.values[k];
        if table.values.iter().any(|v| !v.is_finite()) {
            return Err(FactorError::InvalidFactor(format!(
                "graph cut needs finite energies; factor {f} forbids a combination"
            )));
        }
        match table.vars.len() {
            0 => {}
            1 => unary_difference[table.vars[0]] += energy(1) - energy(0),
            2 => {
                let (i, j) = (table.vars[0], table.vars[1]);
                let (a, b, c, d) = (energy(0), energy(1), energy(2), energy(3));
                let coupling = b + c - a - d;
                let repulsive = coupling < -1e-9 * (a.abs() + b.abs() + c.abs() + d.abs()).max(1.0);
                dropped_a_coupling |= repulsive;
                if repulsive && !truncate {
                    return Err(FactorError::InvalidFactor(format!(
                        "graph cut needs submodular pairwise energies; factor {f} over ({i}, {j}) has E(0,0)+E(1,1) > E(0,1)+E(1,0)"
                    )));
                }
                // E = a + (c - a) x_i + (d - c) x_j + coupling (1 - x_i) x_j.
                unary_difference[i] += c - a;
                unary_difference[j] += d - c;
                if coupling > 0.0 {
                    network.add_edge(i, j, coupling, 0.0);
                }
            }
            _ => {
                return Err(FactorError::InvalidFactor(format!(
                    "graph cut needs factors over at most two free variables; factor {f} has {}",
                    table.vars.len()
                )));
            }
        }
    }
    for (v, &difference) in unary_difference.iter().enumerate() {
        if evidence[v].is_some() {
            continue;
        }
        if difference > 0.0 {
            network.add_edge(source, v, difference, 0.0);
        } else if difference < 0.0 {
            network.add_edge(v, sink, -difference, 0.0);
        }
    }
    let mut source_side = vec![NONE; n + 2];
    network.max_flow(source, sink, &mut source_side);
    let assignment: Vec<usize> = (0..n)
        .map(|v| match evidence[v] {
            Some(x) => x,
            None => usize::from(source_side[v] == NONE),
        })
        .collect();
    let energy = model.energy(&assignment);
    Ok(MapSolution {
        assignment,
        energy,
        lower_bound: (!dropped_a_coupling).then_some(energy),
        iterations: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact;
    use ebm_kernels::rng::{stream, uniform_f64};

    /// A random attractive model on a `side x side` grid with random unaries.
    fn random_grid(side: usize, seed: u64) -> FactorModel {
        let mut rng = stream(seed, 0, 0);
        let mut model = FactorModel::new(vec![2; side * side]);
        for v in 0..side * side {
            let bias = uniform_f64(&mut rng) * 4.0 - 2.0;
            model.add_energy_factor(&[v], &[0.0, bias]).unwrap();
            for u in [v + 1, v + side] {
                let same_row = u != v + 1 || u % side != 0;
                if u < side * side && same_row {
                    let w = uniform_f64(&mut rng) * 2.0;
                    let offset = uniform_f64(&mut rng);
                    // Submodular: E(0,0)+E(1,1) = 2 offset <= E(0,1)+E(1,0) = 2 offset + 2w.
                    model
                        .add_energy_factor(&[v, u], &[offset, offset + w, offset + w, offset])
                        .unwrap();
                }
            }
        }
        model
    }

    #[test]
    fn matches_exact_map_on_random_submodular_grids() {
        for seed in 0..20 {
            let mut model = random_grid(4, seed);
            if seed % 3 == 0 {
                model.set_evidence(5, 1).unwrap();
            }
            let cut = graph_cut_map(&model).unwrap();
            let (_, best) = exact::map_assignment(&model, exact::DEFAULT_MAX_TABLE).unwrap();
            let best_energy = -best;
            assert!(
                (cut.energy - best_energy).abs() < 1e-9,
                "seed {seed}: cut {} exact {best_energy}",
                cut.energy
            );
            if seed % 3 == 0 {
                assert_eq!(cut.assignment[5], 1);
            }
            // On a submodular model the truncated cut drops nothing and is exact too.
            let truncated = graph_cut_truncated(&model).unwrap();
            assert_eq!(truncated.lower_bound, Some(truncated.energy));
            assert!((truncated.energy - best_energy).abs() < 1e-9);
        }
    }

    #[test]
    fn refuses_what_a_cut_cannot_solve() {
        let mut repulsive = FactorModel::new(vec![2, 2]);
        repulsive
            .add_energy_factor(&[0, 1], &[1.0, 0.0, 0.0, 1.0])
            .unwrap();
        assert!(
            graph_cut_map(&repulsive)
                .unwrap_err()
                .to_string()
                .contains("submodular")
        );
        let ternary = FactorModel::new(vec![3]);
        assert!(
            graph_cut_map(&ternary)
                .unwrap_err()
                .to_string()
                .contains("binary")
        );
        let truncated = graph_cut_truncated(&repulsive).unwrap();
        assert_eq!(truncated.lower_bound, None);
        assert_eq!(truncated.energy, repulsive.energy(&truncated.assignment));
        let mut triple = FactorModel::new(vec![2, 2, 2]);
        triple.add_energy_factor(&[0, 1, 2], &[0.0; 8]).unwrap();
        assert!(graph_cut_map(&triple).is_err());
    }
}
