//! A discrete energy model: variables with finite domains, factors stored as energies
//! (`-ln potential`, `+inf` forbidden) or as specialised factors (Potts, all-different,
//! equality, at-most-one), evidence, a temperature, and the bipartite factor graph over
//! petgraph that users can inspect.

use crate::FactorError;
use crate::table::{LogTable, strides};
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

/// One factor of the energy.
#[derive(Clone, Debug, PartialEq)]
pub enum Factor {
    /// A table of log-potentials (`-energy`) over any scope.
    Table(LogTable),
    /// Potts (Ising for two states): energy `weight` when `x_a != x_b`, else 0.
    Potts {
        /// First variable.
        a: usize,
        /// Second variable.
        b: usize,
        /// Energy of disagreeing (positive: smoothing).
        weight: f64,
    },
    /// Hard constraint: the variables take pairwise different values.
    AllDifferent(Vec<usize>),
    /// Hard constraint: the variables take one common value.
    Equal(Vec<usize>),
    /// Hard constraint on binary variables: at most one of them is 1.
    AtMostOne(Vec<usize>),
}

impl Factor {
    /// The variables the factor depends on.
    pub fn scope(&self) -> Vec<usize> {
        match self {
            Factor::Table(t) => t.vars.clone(),
            Factor::Potts { a, b, .. } => vec![*a, *b],
            Factor::AllDifferent(v) | Factor::Equal(v) | Factor::AtMostOne(v) => v.clone(),
        }
    }

    /// Energy of the factor under a full assignment (`+inf` if forbidden).
    pub fn energy(&self, assignment: &[usize]) -> f64 {
        match self {
            Factor::Table(t) => {
                let index: usize = t
                    .vars
                    .iter()
                    .zip(strides(&t.cards))
                    .map(|(&v, st)| assignment[v] * st)
                    .sum();
                -t.values[index]
            }
            Factor::Potts { a, b, weight } => potts_energy(*a, *b, *weight, assignment),
            Factor::AllDifferent(vars) => all_different_energy(vars, assignment),
            Factor::Equal(vars) => equal_energy(vars, assignment),
            Factor::AtMostOne(vars) => at_most_one_energy(vars, assignment),
        }
    }

    /// The factor as log-potential tables whose sum is the factor. Hard constraints over
    /// many variables decompose into pairwise tables (all-different is the conjunction of
    /// pairwise differences), so no table is exponential in the scope.
    pub fn to_tables(&self, domains: &[usize]) -> Vec<LogTable> {
        let pair = |u: usize, w: usize, allowed: &dyn Fn(usize, usize) -> bool| {
            let (cu, cw) = (domains[u], domains[w]);
            let values = (0..cu * cw)
                .map(|i| {
                    if allowed(i / cw, i % cw) {
                        0.0
                    } else {
                        f64::NEG_INFINITY
                    }
                })
                .collect();
            LogTable::new(&[u, w], &[cu, cw], values)
        };
        let pairs = |vars: &[usize], allowed: &dyn Fn(usize, usize) -> bool| {
            let mut out = Vec::new();
            for (i, &u) in vars.iter().enumerate() {
                for &w in &vars[i + 1..] {
                    out.push(pair(u, w, allowed));
                }
            }
            out
        };
        match self {
            Factor::Table(t) => vec![t.clone()],
            Factor::Potts { a, b, weight } => {
                let (ca, cb) = (domains[*a], domains[*b]);
                let values = (0..ca * cb)
                    .map(|i| if i / cb == i % cb { 0.0 } else { -weight })
                    .collect();
                vec![LogTable::new(&[*a, *b], &[ca, cb], values)]
            }
            Factor::AllDifferent(vars) => pairs(vars, &|x, y| x != y),
            Factor::Equal(vars) => vars
                .windows(2)
                .map(|w| pair(w[0], w[1], &|x, y| x == y))
                .collect(),
            Factor::AtMostOne(vars) => pairs(vars, &|x, y| x != 1 || y != 1),
        }
    }
}

/// `+inf` if `violated`, else 0.
fn forbidden_if(violated: bool) -> f64 {
    if violated { f64::INFINITY } else { 0.0 }
}

/// Energy of a Potts pair: `weight` when `x_a != x_b`.
pub(crate) fn potts_energy(a: usize, b: usize, weight: f64, assignment: &[usize]) -> f64 {
    if assignment[a] != assignment[b] {
        weight
    } else {
        0.0
    }
}

/// Energy of all-different: `+inf` if two of `vars` share a value.
pub(crate) fn all_different_energy(vars: &[usize], assignment: &[usize]) -> f64 {
    forbidden_if(vars.iter().enumerate().any(|(i, &u)| {
        vars[i + 1..]
            .iter()
            .any(|&w| assignment[u] == assignment[w])
    }))
}

/// Energy of equality: `+inf` unless all of `vars` share one value.
pub(crate) fn equal_energy(vars: &[usize], assignment: &[usize]) -> f64 {
    forbidden_if(vars.iter().any(|&u| assignment[u] != assignment[vars[0]]))
}

/// Energy of at-most-one: `+inf` if more than one of `vars` is 1.
pub(crate) fn at_most_one_energy(vars: &[usize], assignment: &[usize]) -> f64 {
    forbidden_if(vars.iter().filter(|&&u| assignment[u] == 1).count() > 1)
}

/// A discrete energy model `p(x) ∝ exp(-E(x) / T)` with `E(x) = sum_f E_f(x_f)`.
#[derive(Clone, Debug)]
pub struct FactorModel {
    domains: Vec<usize>,
    factors: Vec<Factor>,
    evidence: Vec<Option<usize>>,
    temperature: f64,
}

impl FactorModel {
    /// An empty model over variables with these domain sizes, at temperature 1.
    pub fn new(domains: Vec<usize>) -> Self {
        let n = domains.len();
        Self {
            domains,
            factors: Vec::new(),
            evidence: vec![None; n],
            temperature: 1.0,
        }
    }

    /// The model of a `.uai` file (tables become log-potentials; zeros are forbidden).
    pub fn from_uai(model: &UaiModel) -> Self {
        let mut m = Self::new(model.domains.clone());
        for f in &model.factors {
            let cards: Vec<usize> = f.scope.iter().map(|&v| model.domains[v]).collect();
            let log_values = f.values.iter().map(|&v| v.ln()).collect();
            m.factors
                .push(Factor::Table(LogTable::new(&f.scope, &cards, log_values)));
        }
        m
    }

    /// A pairwise Potts model built from a petgraph graph: node weights are domain sizes,
    /// edge weights Potts weights (energy when the two ends differ; `+inf` makes the ends
    /// different, as in graph coloring).
    pub fn potts_from_graph(graph: &UnGraph<usize, f64>) -> Result<Self, FactorError> {
        let mut model = Self::new(graph.node_weights().copied().collect());
        for edge in graph.edge_indices() {
            let (a, b) = graph.edge_endpoints(edge).expect("edge of this graph");
            let (a, b) = (a.index(), b.index());
            let weight = graph[edge];
            if weight == f64::INFINITY {
                model.add_all_different(&[a, b])?;
            } else {
                model.add_potts(a, b, weight)?;
            }
        }
        Ok(model)
    }

    fn check_scope(&self, scope: &[usize], binary: bool) -> Result<(), FactorError> {
        for (i, &v) in scope.iter().enumerate() {
            if v >= self.domains.len() {
                return Err(FactorError::InvalidFactor(format!(
                    "variable {v} does not exist (the model has {})",
                    self.domains.len()
                )));
            }
            if scope[..i].contains(&v) {
                return Err(FactorError::InvalidFactor(format!(
                    "variable {v} appears twice in one scope"
                )));
            }
            if binary && self.domains[v] != 2 {
                return Err(FactorError::InvalidFactor(format!(
                    "variable {v} has {} states; at-most-one needs binary variables",
                    self.domains[v]
                )));
            }
        }
        Ok(())
    }

    fn push(&mut self, factor: Factor) -> usize {
        self.factors.push(factor);
        self.factors.len() - 1
    }

    /// Add a factor given as energies over `scope` (last variable fastest); returns its index.
    pub fn add_energy_factor(
        &mut self,
        scope: &[usize],
        energies: &[f64],
    ) -> Result<usize, FactorError> {
        self.check_scope(scope, false)?;
        let cards: Vec<usize> = scope.iter().map(|&v| self.domains[v]).collect();
        let size: usize = cards.iter().product();
        if size != energies.len()
            || energies
                .iter()
                .any(|e| e.is_nan() || *e == f64::NEG_INFINITY)
        {
            return Err(FactorError::InvalidFactor(format!(
                "a factor over {scope:?} needs {size} energies, finite or +inf; got {}",
                energies.len()
            )));
        }
        let values = energies.iter().map(|&e| -e).collect();
        Ok(self.push(Factor::Table(LogTable::new(scope, &cards, values))))
    }

    /// Add a Potts factor: energy `weight` when `x_a != x_b` (Ising for binary variables).
    pub fn add_potts(&mut self, a: usize, b: usize, weight: f64) -> Result<usize, FactorError> {
        self.check_scope(&[a, b], false)?;
        if !weight.is_finite() {
            return Err(FactorError::InvalidFactor(format!(
                "Potts weight {weight} between {a} and {b} is not finite"
            )));
        }
        Ok(self.push(Factor::Potts { a, b, weight }))
    }

    /// Add the hard constraint that `vars` take pairwise different values.
    pub fn add_all_different(&mut self, vars: &[usize]) -> Result<usize, FactorError> {
        self.check_scope(vars, false)?;
        Ok(self.push(Factor::AllDifferent(vars.to_vec())))
    }

    /// Add the hard constraint that `vars` take one common value.
    pub fn add_equal(&mut self, vars: &[usize]) -> Result<usize, FactorError> {
        self.check_scope(vars, false)?;
        Ok(self.push(Factor::Equal(vars.to_vec())))
    }

    /// Add the hard constraint that at most one of the binary `vars` is 1.
    pub fn add_at_most_one(&mut self, vars: &[usize]) -> Result<usize, FactorError> {
        self.check_scope(vars, true)?;
        Ok(self.push(Factor::AtMostOne(vars.to_vec())))
    }

    /// Clamp variable `var` to `value`.
    pub fn set_evidence(&mut self, var: usize, value: usize) -> Result<(), FactorError> {
        if var >= self.domains.len() || value >= self.domains[var] {
            return Err(FactorError::InvalidFactor(format!(
                "evidence {var} = {value} is outside the model"
            )));
        }
        self.evidence[var] = Some(value);
        Ok(())
    }

    /// Set the temperature `T` of `p(x) ∝ exp(-E(x) / T)` (positive and finite).
    pub fn set_temperature(&mut self, temperature: f64) -> Result<(), FactorError> {
        if !(temperature > 0.0 && temperature.is_finite()) {
            return Err(FactorError::InvalidFactor(format!(
                "temperature {temperature} must be positive and finite"
            )));
        }
        self.temperature = temperature;
        Ok(())
    }

    /// The temperature `T`.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// Domain sizes.
    pub fn domains(&self) -> &[usize] {
        &self.domains
    }

    /// The error saying that the model, with its evidence if it has any, has probability
    /// zero (`Z = 0`), because of `why`.
    pub fn zero_probability(&self, why: impl std::fmt::Display) -> FactorError {
        let what = if self.evidence.iter().any(Option::is_some) {
            "the evidence has probability zero under the model"
        } else {
            "the model has probability zero"
        };
        FactorError::ZeroProbability(format!("{what} (Z = 0): {why}"))
    }

    /// Refuse a model that has probability zero for a reason local to one factor: no
    /// entry of the factor that agrees with the evidence is possible (a table of zeros;
    /// evidence the factor forbids, such as two different values for an equality or one
    /// value twice in an all-different). Every inference method that reports
    /// probabilities calls it first; a contradiction spread over several factors is left
    /// to the method (exact elimination finds `Z = 0`, BP a variable with no possible
    /// value, Gibbs no state of positive probability).
    ///
    /// # Errors
    ///
    /// [`FactorError::ZeroProbability`] naming the factor.
    pub fn check_possible(&self) -> Result<(), FactorError> {
        for (index, factor) in self.factors.iter().enumerate() {
            if !self.factor_possible(factor) {
                let scope: Vec<String> = factor.scope().iter().map(usize::to_string).collect();
                let agreeing = if factor.scope().iter().any(|&v| self.evidence[v].is_some()) {
                    " that agrees with the evidence"
                } else {
                    ""
                };
                return Err(self.zero_probability(format!(
                    "factor {index} (variables {}) gives every assignment{agreeing} probability zero",
                    scope.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Whether `factor` has an entry of positive probability that agrees with the evidence.
    fn factor_possible(&self, factor: &Factor) -> bool {
        let given = |vars: &[usize]| -> Vec<usize> {
            vars.iter().filter_map(|&v| self.evidence[v]).collect()
        };
        match factor {
            Factor::Table(t) => {
                let mut digits = vec![0usize; t.vars.len()];
                t.values.iter().any(|&value| {
                    let agrees = t
                        .vars
                        .iter()
                        .zip(&digits)
                        .all(|(&v, &x)| self.evidence[v].is_none_or(|e| e == x));
                    crate::table::advance(&mut digits, &t.cards);
                    agrees && value > f64::NEG_INFINITY
                })
            }
            Factor::Potts { .. } => true,
            Factor::AllDifferent(vars) => {
                let mut values = given(vars);
                values.sort_unstable();
                values.windows(2).all(|w| w[0] != w[1])
            }
            Factor::Equal(vars) => {
                let values = given(vars);
                values.windows(2).all(|w| w[0] == w[1])
                    && values
                        .first()
                        .is_none_or(|&x| vars.iter().all(|&v| x < self.domains[v]))
            }
            Factor::AtMostOne(vars) => given(vars).iter().filter(|&&x| x == 1).count() <= 1,
        }
    }

    /// Evidence per variable.
    pub fn evidence(&self) -> &[Option<usize>] {
        &self.evidence
    }

    /// The factors.
    pub fn factors(&self) -> &[Factor] {
        &self.factors
    }

    /// Energy of a full assignment (`+inf` if forbidden); evidence is not checked.
    pub fn energy(&self, assignment: &[usize]) -> f64 {
        self.factors.iter().map(|f| f.energy(assignment)).sum()
    }

    /// The factors as tables of `-energy / T` with the evidence applied (evidence
    /// variables leave every scope); specialised factors are expanded.
    pub fn conditioned_factors(&self) -> Vec<LogTable> {
        let inverse_temperature = 1.0 / self.temperature;
        self.factors
            .iter()
            .flat_map(|f| f.to_tables(&self.domains))
            .map(|f| {
                let mut t = f.clone();
                for &v in &f.vars {
                    if let Some(x) = self.evidence[v] {
                        t = t.reduce(v, x);
                    }
                }
                if inverse_temperature != 1.0 {
                    t.values.iter_mut().for_each(|v| *v *= inverse_temperature);
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
        for (f, factor) in self.factors.iter().enumerate() {
            let node = g.add_node(Node::Factor(f));
            for v in factor.scope() {
                g.add_edge(vars[v], node, ());
            }
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every specialised factor's tables sum to the factor's own energy on all states.
    #[test]
    fn specialised_factors_match_their_tables() {
        let mut m = FactorModel::new(vec![3, 3, 3, 2, 2, 2]);
        let factors = [
            Factor::Potts {
                a: 0,
                b: 1,
                weight: 0.7,
            },
            Factor::AllDifferent(vec![0, 1, 2]),
            Factor::Equal(vec![0, 2, 1]),
            Factor::AtMostOne(vec![3, 4, 5]),
        ];
        let mut assignment = vec![0usize; 6];
        for f in &factors {
            let tables = f.to_tables(m.domains());
            for index in 0..3 * 3 * 3 * 8 {
                let mut rest = index;
                for (v, slot) in assignment.iter_mut().enumerate() {
                    let d = m.domains()[v];
                    *slot = rest % d;
                    rest /= d;
                }
                let from_tables: f64 = tables
                    .iter()
                    .map(|t| Factor::Table(t.clone()).energy(&assignment))
                    .sum();
                assert_eq!(from_tables, f.energy(&assignment), "{f:?} {assignment:?}");
            }
        }
        assert!(m.add_at_most_one(&[0, 3]).is_err());
        let mut g: UnGraph<usize, f64> = UnGraph::default();
        let nodes: Vec<_> = (0..3).map(|_| g.add_node(3)).collect();
        g.add_edge(nodes[0], nodes[1], 0.5);
        g.add_edge(nodes[1], nodes[2], f64::INFINITY);
        let built = FactorModel::potts_from_graph(&g).unwrap();
        assert_eq!(built.energy(&[0, 1, 2]), 0.5);
        assert_eq!(built.energy(&[1, 1, 1]), f64::INFINITY);
        assert_eq!(built.factor_graph().node_count(), 3 + 2);
        assert!(m.add_potts(0, 0, 1.0).is_err());
        assert!(m.add_energy_factor(&[0], &[1.0]).is_err());
        assert!(m.set_temperature(0.0).is_err());
        assert!(m.set_evidence(3, 2).is_err());
    }
}
