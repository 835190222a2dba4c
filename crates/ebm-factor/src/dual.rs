//! MAP by dual decomposition: MPLP block-coordinate ascent on the LP relaxation's dual
//! (Globerson & Jaakkola 2007; the factor form of Sontag, Globerson & Jaakkola 2011).
//!
//! With messages `delta[f][i](x_i)` and unary energies `theta_i`, every setting of the
//! messages gives a lower bound on the minimum energy,
//! `L = sum_i min_x b_i(x) + sum_f min_{x_f} [theta_f(x_f) - sum_{i in f} delta_fi(x_i)]`,
//! where `b_i = theta_i + sum_f delta_fi`. Updating one factor's messages at a time,
//! `delta_fi = -b_i^{-f} + (1/|f|) min_{x_f \ x_i} [theta_f + sum_j b_j^{-f}]`, never
//! lowers `L` (convergent, unlike max-product BP). Each iteration decodes
//! `x_i = argmin b_i`, polishes it with ICM and keeps the best; the gap between that
//! energy and `L` bounds how far from optimal the answer can be.

use crate::map::{MapSolution, icm_on};
use crate::model::FactorModel;
use crate::network::Network;
use crate::table::{LogTable, advance};
use crate::{FactorError, InvalidSetting};

/// Hard constraints enter the relaxation as this energy (a finite penalty keeps the
/// arithmetic free of `inf - inf`; the bound stays valid since it only lowers energies).
const HARD_PENALTY: f64 = 1e7;

/// Settings of the dual method.
#[derive(Clone, Debug)]
pub struct DualConfig {
    /// Most passes over the factors.
    pub iterations: usize,
    /// Stop when the gap between the best energy and the bound is below this.
    pub gap_tolerance: f64,
    /// Stop when a pass raises the bound by less than this.
    pub improvement_tolerance: f64,
}

impl Default for DualConfig {
    fn default() -> Self {
        Self {
            iterations: 500,
            gap_tolerance: 1e-6,
            improvement_tolerance: 1e-7,
        }
    }
}

struct DualFactor {
    vars: Vec<usize>,
    cards: Vec<usize>,
    energies: Vec<f64>,
    /// `messages[k][x]`: the message to `vars[k]`.
    messages: Vec<Vec<f64>>,
}

/// The dual state: unary energies, messages and beliefs over the conditioned tables.
struct Dual {
    free: Vec<bool>,
    /// Original unary energies (hard entries at `HARD_PENALTY`).
    unary: Vec<Vec<f64>>,
    /// `beliefs[i] = theta_i + sum_f delta_fi`, kept up to date.
    beliefs: Vec<Vec<f64>>,
    constant: f64,
    factors: Vec<DualFactor>,
}

impl Dual {
    fn new(model: &FactorModel) -> Self {
        let mut unary: Vec<Vec<f64>> = model.domains().iter().map(|&d| vec![0.0; d]).collect();
        let mut constant = 0.0;
        let mut factors: Vec<DualFactor> = Vec::new();
        let energy_of = |log_value: f64| {
            if log_value == f64::NEG_INFINITY {
                HARD_PENALTY
            } else {
                -log_value
            }
        };
        for table in model.conditioned_factors() {
            let LogTable {
                vars,
                cards,
                values,
            } = table;
            match vars.len() {
                0 => constant += energy_of(values[0]),
                1 => unary[vars[0]]
                    .iter_mut()
                    .zip(&values)
                    .for_each(|(u, &v)| *u += energy_of(v)),
                _ => factors.push(DualFactor {
                    messages: cards.iter().map(|&c| vec![0.0; c]).collect(),
                    energies: values.into_iter().map(energy_of).collect(),
                    vars,
                    cards,
                }),
            }
        }
        Self {
            free: model.evidence().iter().map(Option::is_none).collect(),
            beliefs: unary.clone(),
            unary,
            constant,
            factors,
        }
    }

    /// The dual objective: a lower bound on the (1/T-scaled) minimum energy.
    fn bound(&self) -> f64 {
        self.constant
            + self
                .beliefs
                .iter()
                .zip(&self.free)
                .filter(|(_, free)| **free)
                .map(|(b, _)| b.iter().copied().fold(f64::INFINITY, f64::min))
                .sum::<f64>()
            + self.factors.iter().map(reparametrized_minimum).sum::<f64>()
    }

    /// The model whose energy equals the original's on every assignment but whose factors
    /// are the reparametrized ones, so the sum of their minima is the dual bound (hard
    /// entries stay forbidden).
    fn reparametrized_model(&self, model: &FactorModel) -> Result<FactorModel, FactorError> {
        let hard = |original: f64, value: f64| {
            if original >= HARD_PENALTY {
                f64::INFINITY
            } else {
                value
            }
        };
        let mut out = FactorModel::new(model.domains().to_vec());
        out.add_energy_factor(&[], &[self.constant])?;
        for (v, (b, theta)) in self.beliefs.iter().zip(&self.unary).enumerate() {
            if self.free[v] {
                let energies: Vec<f64> = b.iter().zip(theta).map(|(&e, &t)| hard(t, e)).collect();
                out.add_energy_factor(&[v], &energies)?;
            }
        }
        for f in &self.factors {
            let mut digits = vec![0usize; f.vars.len()];
            let mut energies = Vec::with_capacity(f.energies.len());
            for &theta in &f.energies {
                let mut e = theta;
                for (j, &x) in digits.iter().enumerate() {
                    e -= f.messages[j][x];
                }
                energies.push(hard(theta, e));
                advance(&mut digits, &f.cards);
            }
            out.add_energy_factor(&f.vars, &energies)?;
        }
        for (v, e) in model.evidence().iter().enumerate() {
            if let Some(x) = e {
                out.set_evidence(v, *x)?;
            }
        }
        Ok(out)
    }
}

/// Run MPLP on `model` (with its evidence) and return the best decoded assignment with the
/// lower bound.
pub fn mplp(model: &FactorModel, config: &DualConfig) -> Result<MapSolution, FactorError> {
    Ok(run(model, config)?.0)
}

/// Run MPLP and also return the reparametrized model: same energy on every assignment
/// (scaled by `1 / T`), with factor minima summing to the bound. Branch and bound on it
/// starts from the dual bound instead of the sum of the original factors' minima.
pub fn mplp_reparametrized(
    model: &FactorModel,
    config: &DualConfig,
) -> Result<(MapSolution, FactorModel), FactorError> {
    let (solution, dual) = run(model, config)?;
    let reparametrized = dual.reparametrized_model(model)?;
    Ok((solution, reparametrized))
}

fn run(model: &FactorModel, config: &DualConfig) -> Result<(MapSolution, Dual), FactorError> {
    if config.iterations == 0 {
        return Err(InvalidSetting::new("iterations", "must be at least 1").into());
    }
    let mut dual = Dual::new(model);
    let network = Network::new(model);
    let classes = network.color_classes();
    let t = model.temperature();
    let mut best: Option<MapSolution> = None;
    let mut bound = f64::NEG_INFINITY;
    let mut iterations = 0;
    let mut scratch = Scratch::default();
    for _ in 0..config.iterations {
        iterations += 1;
        for f in &mut dual.factors {
            update_factor(f, &mut dual.beliefs, &mut scratch);
        }
        let new_bound = dual.bound() * t;
        let mut decoded = network.initial_assignment();
        for v in (0..decoded.len()).filter(|&v| dual.free[v]) {
            decoded[v] = argmin(&dual.beliefs[v]);
        }
        let candidate = icm_on(&network, &classes, Some(decoded), 50);
        if best.as_ref().is_none_or(|b| candidate.energy < b.energy) {
            best = Some(candidate);
        }
        let improvement = new_bound - bound;
        bound = bound.max(new_bound);
        let best_energy = best.as_ref().map_or(f64::INFINITY, |b| b.energy);
        if best_energy - bound <= config.gap_tolerance || improvement < config.improvement_tolerance
        {
            break;
        }
    }
    let mut solution = best.expect("at least one iteration");
    solution.lower_bound = Some(bound.min(solution.energy));
    solution.iterations = iterations;
    Ok((solution, dual))
}

#[derive(Default)]
struct Scratch {
    others: Vec<Vec<f64>>,
    minima: Vec<Vec<f64>>,
    digits: Vec<usize>,
}

/// The MPLP update of one factor's messages.
fn update_factor(f: &mut DualFactor, beliefs: &mut [Vec<f64>], scratch: &mut Scratch) {
    let k = f.vars.len();
    scratch.others.resize(k, Vec::new());
    scratch.minima.resize(k, Vec::new());
    for (j, &v) in f.vars.iter().enumerate() {
        let others = &mut scratch.others[j];
        others.clear();
        others.extend(beliefs[v].iter().zip(&f.messages[j]).map(|(b, d)| b - d));
        scratch.minima[j].clear();
        scratch.minima[j].resize(f.cards[j], f64::INFINITY);
    }
    scratch.digits.clear();
    scratch.digits.resize(k, 0);
    for &energy in &f.energies {
        let mut total = energy;
        for (j, &x) in scratch.digits.iter().enumerate() {
            total += scratch.others[j][x];
        }
        for (j, &x) in scratch.digits.iter().enumerate() {
            let slot = &mut scratch.minima[j][x];
            if total < *slot {
                *slot = total;
            }
        }
        advance(&mut scratch.digits, &f.cards);
    }
    let share = 1.0 / k as f64;
    for (j, &v) in f.vars.iter().enumerate() {
        let rows = f.messages[j]
            .iter_mut()
            .zip(&mut beliefs[v])
            .zip(scratch.minima[j].iter().zip(&scratch.others[j]));
        for ((message, belief), (&minimum, &other)) in rows {
            *belief = minimum * share;
            *message = *belief - other;
        }
    }
}

/// `min_{x_f} [theta_f(x_f) - sum_i delta_fi(x_i)]`.
fn reparametrized_minimum(f: &DualFactor) -> f64 {
    let mut digits = vec![0usize; f.vars.len()];
    let mut lowest = f64::INFINITY;
    for &energy in &f.energies {
        let mut total = energy;
        for (j, &x) in digits.iter().enumerate() {
            total -= f.messages[j][x];
        }
        lowest = lowest.min(total);
        advance(&mut digits, &f.cards);
    }
    lowest
}

fn argmin(values: &[f64]) -> usize {
    let mut best = 0;
    for (x, &v) in values.iter().enumerate() {
        if v < values[best] {
            best = x;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact;

    /// On a frustrated loopy model the bound is below the exact optimum, the decoded energy
    /// above it; on a tree the relaxation is tight and MPLP proves the optimum.
    #[test]
    fn bound_brackets_the_exact_optimum() {
        for loopy in [false, true] {
            let n = 10;
            let mut m = FactorModel::new(vec![3; n]);
            for v in 0..n {
                let unary: Vec<f64> = (0..3).map(|x| ((v * 5 + x * 7) % 4) as f64 * 0.4).collect();
                m.add_energy_factor(&[v], &unary).unwrap();
                if v + 1 < n || loopy {
                    let w: Vec<f64> = (0..9).map(|i| ((i * 3 + v) % 5) as f64 * 0.3).collect();
                    m.add_energy_factor(&[v, (v + 1) % n], &w).unwrap();
                }
            }
            if loopy {
                m.add_energy_factor(
                    &[0, 4, 7],
                    &(0..27).map(|i| (i % 4) as f64 * 0.2).collect::<Vec<_>>(),
                )
                .unwrap();
            }
            let (_, ln_best) = exact::map_assignment(&m, exact::DEFAULT_MAX_TABLE).unwrap();
            let optimum = -ln_best;
            let s = mplp(&m, &DualConfig::default()).unwrap();
            let bound = s.lower_bound.unwrap();
            assert!(
                bound <= optimum + 1e-9,
                "bound {bound} above optimum {optimum}"
            );
            assert!(s.energy >= optimum - 1e-9);
            assert_eq!(s.energy, m.energy(&s.assignment));
            if !loopy {
                assert!(
                    (bound - optimum).abs() < 1e-6,
                    "tree bound {bound} vs {optimum}"
                );
                assert!((s.energy - optimum).abs() < 1e-9);
            }
        }
    }
}
