//! A discrete energy model: variables with finite domains, factors stored as energies
//! (`-ln potential`, `+inf` forbidden), evidence, and the bipartite factor graph over
//! petgraph that users can inspect.

use crate::table::LogTable;
use ebm_data::uai::UaiModel;
use petgraph::graph::{NodeIndex, UnGraph};

/// A node of the factor graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// Variable `index`.
    Variable(usize),
    /// Factor `index`.
    Factor(usize),
}

/// A discrete energy model `E(x) = sum_f E_f(x_f)` at temperature 1.
#[derive(Clone, Debug)]
pub struct FactorModel {
    domains: Vec<usize>,
    factors: Vec<LogTable>,
    evidence: Vec<Option<usize>>,
}

impl FactorModel {
    /// An empty model over variables with these domain sizes.
    pub fn new(domains: Vec<usize>) -> Self {
        let n = domains.len();
        Self {
            domains,
            factors: Vec::new(),
            evidence: vec![None; n],
        }
    }

    /// The model of a `.uai` file (tables become log-potentials; zeros are forbidden).
    pub fn from_uai(model: &UaiModel) -> Self {
        let mut m = Self::new(model.domains.clone());
        for f in &model.factors {
            let cards: Vec<usize> = f.scope.iter().map(|&v| model.domains[v]).collect();
            let log_values = f.values.iter().map(|&v| v.ln()).collect();
            m.factors.push(LogTable::new(&f.scope, &cards, log_values));
        }
        m
    }

    /// Add a factor given as energies over `scope` (last variable fastest).
    pub fn add_energy_factor(&mut self, scope: &[usize], energies: &[f64]) {
        let cards: Vec<usize> = scope.iter().map(|&v| self.domains[v]).collect();
        assert_eq!(
            cards.iter().product::<usize>(),
            energies.len(),
            "factor table size"
        );
        self.factors.push(LogTable::new(
            scope,
            &cards,
            energies.iter().map(|&e| -e).collect(),
        ));
    }

    /// Clamp variable `var` to `value`.
    pub fn set_evidence(&mut self, var: usize, value: usize) {
        assert!(value < self.domains[var], "evidence outside the domain");
        self.evidence[var] = Some(value);
    }

    /// Domain sizes.
    pub fn domains(&self) -> &[usize] {
        &self.domains
    }

    /// Evidence per variable.
    pub fn evidence(&self) -> &[Option<usize>] {
        &self.evidence
    }

    /// The factors (log-potentials).
    pub fn factors(&self) -> &[LogTable] {
        &self.factors
    }

    /// Energy of a full assignment (`+inf` if forbidden); evidence is not checked.
    pub fn energy(&self, assignment: &[usize]) -> f64 {
        self.factors
            .iter()
            .map(|f| {
                let s = crate::table::strides(&f.cards);
                let index: usize = f
                    .vars
                    .iter()
                    .zip(&s)
                    .map(|(&v, &st)| assignment[v] * st)
                    .sum();
                -f.values[index]
            })
            .sum()
    }

    /// The factors with the evidence applied (evidence variables leave every scope).
    pub fn conditioned_factors(&self) -> Vec<LogTable> {
        self.factors
            .iter()
            .map(|f| {
                let mut t = f.clone();
                for &v in &f.vars {
                    if let Some(x) = self.evidence[v] {
                        t = t.reduce(v, x);
                    }
                }
                t
            })
            .collect()
    }

    /// The bipartite factor graph: one node per variable, one per factor, an edge for
    /// every variable in a factor's scope.
    pub fn factor_graph(&self) -> UnGraph<Node, ()> {
        let mut g = UnGraph::with_capacity(self.domains.len() + self.factors.len(), 0);
        let vars: Vec<NodeIndex> = (0..self.domains.len())
            .map(|v| g.add_node(Node::Variable(v)))
            .collect();
        for (f, t) in self.factors.iter().enumerate() {
            let node = g.add_node(Node::Factor(f));
            for &v in &t.vars {
                g.add_edge(vars[v], node, ());
            }
        }
        g
    }
}
