//! The compiled view of a model that local algorithms (Gibbs, ICM, annealing, branch and
//! bound) run on: energies instead of log-potentials, each variable's factors in one flat
//! incidence list, and the conditional energy of one variable given all others.

use crate::model::{
    Factor, FactorModel, all_different_energy, at_most_one_energy, equal_energy, potts_energy,
};
use crate::table::strides;

/// A factor in the form local updates read.
#[derive(Clone, Debug)]
pub(crate) enum LocalFactor {
    /// Energies over `vars` with row-major `strides`.
    Table {
        vars: Vec<usize>,
        strides: Vec<usize>,
        energies: Vec<f64>,
    },
    /// `weight * [x_a != x_b]`.
    Potts { a: usize, b: usize, weight: f64 },
    /// Pairwise different values.
    AllDifferent(Vec<usize>),
    /// One common value.
    Equal(Vec<usize>),
    /// At most one binary variable is 1.
    AtMostOne(Vec<usize>),
}

impl LocalFactor {
    /// The scope as an owned list (a Potts pair included).
    pub(crate) fn scope(&self) -> Vec<usize> {
        match self {
            LocalFactor::Table { vars, .. } => vars.clone(),
            LocalFactor::Potts { a, b, .. } => vec![*a, *b],
            LocalFactor::AllDifferent(v) | LocalFactor::Equal(v) | LocalFactor::AtMostOne(v) => {
                v.clone()
            }
        }
    }
}

/// A model compiled for local updates. Evidence variables keep their values in every
/// assignment and are never updated.
#[derive(Clone, Debug)]
pub struct Network {
    pub(crate) domains: Vec<usize>,
    pub(crate) evidence: Vec<Option<usize>>,
    pub(crate) factors: Vec<LocalFactor>,
    /// `incidence[offsets[v]..offsets[v + 1]]` are the factors containing `v`.
    pub(crate) offsets: Vec<usize>,
    pub(crate) incidence: Vec<usize>,
    pub(crate) max_domain: usize,
    /// Temperature of the model (`p ∝ exp(-E / T)`).
    pub(crate) temperature: f64,
}

impl Network {
    /// Compile `model`.
    pub fn new(model: &FactorModel) -> Self {
        let domains = model.domains().to_vec();
        let factors: Vec<LocalFactor> = model
            .factors()
            .iter()
            .map(|f| match f {
                Factor::Table(t) => LocalFactor::Table {
                    vars: t.vars.clone(),
                    strides: strides(&t.cards),
                    energies: t.values.iter().map(|&v| -v).collect(),
                },
                Factor::Potts { a, b, weight } => LocalFactor::Potts {
                    a: *a,
                    b: *b,
                    weight: *weight,
                },
                Factor::AllDifferent(v) => LocalFactor::AllDifferent(v.clone()),
                Factor::Equal(v) => LocalFactor::Equal(v.clone()),
                Factor::AtMostOne(v) => LocalFactor::AtMostOne(v.clone()),
            })
            .collect();
        let mut counts = vec![0usize; domains.len() + 1];
        for f in &factors {
            for v in f.scope() {
                counts[v + 1] += 1;
            }
        }
        for v in 0..domains.len() {
            counts[v + 1] += counts[v];
        }
        let offsets = counts;
        let mut fill = offsets.clone();
        let mut incidence = vec![0usize; offsets[domains.len()]];
        for (index, f) in factors.iter().enumerate() {
            for v in f.scope() {
                incidence[fill[v]] = index;
                fill[v] += 1;
            }
        }
        Self {
            max_domain: domains.iter().copied().max().unwrap_or(1),
            domains,
            evidence: model.evidence().to_vec(),
            factors,
            offsets,
            incidence,
            temperature: model.temperature(),
        }
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.domains.len()
    }

    /// True for a model with no variables.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// The variables that inference updates (no evidence).
    pub fn free_variables(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&v| self.evidence[v].is_none())
            .collect()
    }

    /// An assignment with the evidence in place and every free variable at 0.
    pub fn initial_assignment(&self) -> Vec<usize> {
        self.evidence.iter().map(|e| e.unwrap_or(0)).collect()
    }

    /// The factors containing `v`.
    pub(crate) fn factors_of(&self, v: usize) -> &[usize] {
        &self.incidence[self.offsets[v]..self.offsets[v + 1]]
    }

    /// Energy of a full assignment.
    pub fn energy(&self, assignment: &[usize]) -> f64 {
        self.factors
            .iter()
            .map(|f| factor_energy(f, assignment))
            .sum()
    }

    /// `out[x] = ` the energy of the factors containing `v` with `x_v = x` and every other
    /// variable as in `assignment` (`out` has at least the domain size of `v`).
    pub fn conditional_energies(&self, v: usize, assignment: &[usize], out: &mut [f64]) {
        let domain = self.domains[v];
        let out = &mut out[..domain];
        out.fill(0.0);
        for &f in self.factors_of(v) {
            match &self.factors[f] {
                LocalFactor::Table {
                    vars,
                    strides,
                    energies,
                } => {
                    let mut base = 0;
                    let mut own_stride = 0;
                    for (&u, &s) in vars.iter().zip(strides) {
                        if u == v {
                            own_stride = s;
                        } else {
                            base += assignment[u] * s;
                        }
                    }
                    for (x, slot) in out.iter_mut().enumerate() {
                        *slot += energies[base + x * own_stride];
                    }
                }
                LocalFactor::Potts { a, b, weight } => {
                    let other = assignment[if *a == v { *b } else { *a }];
                    for (x, slot) in out.iter_mut().enumerate() {
                        if x != other {
                            *slot += weight;
                        }
                    }
                }
                LocalFactor::AllDifferent(vars) => {
                    for &u in vars {
                        if u != v && assignment[u] < domain {
                            out[assignment[u]] = f64::INFINITY;
                        }
                    }
                }
                LocalFactor::Equal(vars) => {
                    for &u in vars {
                        if u != v {
                            for (x, slot) in out.iter_mut().enumerate() {
                                if x != assignment[u] {
                                    *slot = f64::INFINITY;
                                }
                            }
                        }
                    }
                }
                LocalFactor::AtMostOne(vars) => {
                    if vars.iter().any(|&u| u != v && assignment[u] == 1) {
                        out[1] = f64::INFINITY;
                    }
                }
            }
        }
    }

    /// Classes of free variables that share no factor, so each class can be updated in
    /// parallel (greedy coloring of the interaction graph, largest degree first).
    pub fn color_classes(&self) -> Vec<Vec<usize>> {
        let free = self.free_variables();
        let degree = |v: usize| -> usize {
            self.factors_of(v)
                .iter()
                .map(|&f| self.factors[f].scope().len())
                .sum()
        };
        let mut order = free.clone();
        order.sort_by_key(|&v| std::cmp::Reverse(degree(v)));
        let mut color = vec![usize::MAX; self.len()];
        let mut used: Vec<usize> = Vec::new();
        let mut classes: Vec<Vec<usize>> = Vec::new();
        for &v in &order {
            used.clear();
            for &f in self.factors_of(v) {
                for u in self.factors[f].scope() {
                    if color[u] != usize::MAX {
                        used.push(color[u]);
                    }
                }
            }
            let c = (0..).find(|c| !used.contains(c)).unwrap_or(0);
            color[v] = c;
            if c == classes.len() {
                classes.push(Vec::new());
            }
            classes[c].push(v);
        }
        for class in &mut classes {
            class.sort_unstable();
        }
        classes
    }
}

/// The smallest energy one factor can take (hard constraints: 0).
pub(crate) fn factor_minimum(f: &LocalFactor) -> f64 {
    match f {
        LocalFactor::Table { energies, .. } => {
            energies.iter().copied().fold(f64::INFINITY, f64::min)
        }
        LocalFactor::Potts { weight, .. } => weight.min(0.0),
        _ => 0.0,
    }
}

/// Energy of one factor under a full assignment.
pub(crate) fn factor_energy(f: &LocalFactor, assignment: &[usize]) -> f64 {
    match f {
        LocalFactor::Table {
            vars,
            strides,
            energies,
        } => {
            let index: usize = vars
                .iter()
                .zip(strides)
                .map(|(&v, &s)| assignment[v] * s)
                .sum();
            energies[index]
        }
        LocalFactor::Potts { a, b, weight } => potts_energy(*a, *b, *weight, assignment),
        LocalFactor::AllDifferent(vars) => all_different_energy(vars, assignment),
        LocalFactor::Equal(vars) => equal_energy(vars, assignment),
        LocalFactor::AtMostOne(vars) => at_most_one_energy(vars, assignment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Conditional energies equal energy differences of full assignments, for every kind
    /// of factor, and color classes never put two neighbours together.
    #[test]
    fn conditionals_match_full_energies() {
        let mut m = FactorModel::new(vec![3, 3, 3, 2, 2, 2]);
        m.add_energy_factor(&[0, 3], &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
            .unwrap();
        m.add_potts(1, 2, 0.8).unwrap();
        m.add_all_different(&[0, 1, 2]).unwrap();
        m.add_equal(&[3, 4]).unwrap();
        m.add_at_most_one(&[4, 5]).unwrap();
        let net = Network::new(&m);
        let assignments = [[0, 1, 2, 1, 1, 0], [2, 1, 0, 0, 0, 1], [1, 0, 2, 1, 1, 0]];
        let mut out = vec![0.0; 3];
        for a in assignments {
            assert_eq!(net.energy(&a), m.energy(&a));
            for v in 0..6 {
                net.conditional_energies(v, &a, &mut out);
                for (x, &conditional) in out.iter().enumerate().take(m.domains()[v]) {
                    let mut b = a;
                    b[v] = x;
                    let own: f64 = net
                        .factors_of(v)
                        .iter()
                        .map(|&f| factor_energy(&net.factors[f], &b))
                        .sum();
                    assert_eq!(conditional, own, "v {v} x {x} {a:?}");
                }
            }
        }
        for class in net.color_classes() {
            for &v in &class {
                for &f in net.factors_of(v) {
                    let scope = net.factors[f].scope();
                    assert!(class.iter().all(|&u| u == v || !scope.contains(&u)));
                }
            }
        }
    }
}
