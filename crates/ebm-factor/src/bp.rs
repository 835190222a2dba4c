//! Loopy belief propagation on the factor graph, sum-product (marginals and the Bethe
//! estimate of `ln Z`) and max-product (MAP), in log space, with damping and a convergence
//! test on the largest message change.
//!
//! The schedule is sequential over factors: a factor reads its variables' current beliefs
//! (less its own last message), sends new messages, and the beliefs move at once. Evidence
//! is applied first, so evidence variables leave the graph.

use crate::map::{MapSolution, icm_on};
use crate::model::FactorModel;
use crate::network::Network;
use crate::table::{LogTable, advance, log_sum_exp};
use crate::{FactorError, InvalidSetting};

/// Sum-product or max-product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Semiring {
    /// Marginals (log-sum-exp).
    SumProduct,
    /// MAP (max).
    MaxProduct,
}

/// Settings of loopy BP.
#[derive(Clone, Debug)]
pub struct BpConfig {
    /// Most passes over the factors.
    pub iterations: usize,
    /// Weight of the old message in the new one (0: none; below 1).
    pub damping: f64,
    /// Converged when no message moves by more than this (log space).
    pub tolerance: f64,
}

impl Default for BpConfig {
    fn default() -> Self {
        Self {
            iterations: 500,
            damping: 0.5,
            tolerance: 1e-8,
        }
    }
}

/// What BP returns.
#[derive(Clone, Debug)]
pub struct BpResult {
    /// Normalized beliefs per variable (point masses on evidence).
    pub beliefs: Vec<Vec<f64>>,
    /// The Bethe approximation of `ln Z` (sum-product only; `NaN` for max-product).
    pub bethe_log_z: f64,
    /// Passes run.
    pub iterations: usize,
    /// True when the largest message change fell below the tolerance.
    pub converged: bool,
}

/// The smallest log-message (relative to the message's largest entry).
const LOG_FLOOR: f64 = -1e5;

struct Edge {
    /// The factor's log-potentials.
    table: LogTable,
    /// `messages[k][x]`: the log-message from the factor to `table.vars[k]`.
    messages: Vec<Vec<f64>>,
}

/// Run loopy BP on `model` (at its temperature, with its evidence).
///
/// # Errors
///
/// [`InvalidSetting`] for bad damping or no iterations; [`FactorError::ZeroProbability`]
/// for a model that has probability zero with its evidence: a factor that forbids all
/// the evidence allows ([`FactorModel::check_possible`]), or a variable whose every value
/// the messages rule out.
pub fn loopy_bp(
    model: &FactorModel,
    semiring: Semiring,
    config: &BpConfig,
) -> Result<BpResult, FactorError> {
    if !(0.0..1.0).contains(&config.damping) || config.iterations == 0 {
        return Err(InvalidSetting::new(
            "bp",
            format!(
                "damping {} must be in [0, 1) and iterations at least 1",
                config.damping
            ),
        )
        .into());
    }
    model.check_possible()?;
    let domains = model.domains();
    let mut constant = 0.0;
    let mut factors: Vec<Edge> = Vec::new();
    for table in model.conditioned_factors() {
        if table.vars.is_empty() {
            constant += table.values[0];
        } else {
            factors.push(Edge {
                messages: table.cards.iter().map(|&c| vec![0.0; c]).collect(),
                table,
            });
        }
    }
    // Unnormalized log-beliefs: the sum of incoming messages.
    let mut beliefs: Vec<Vec<f64>> = domains.iter().map(|&d| vec![0.0; d]).collect();
    let mut scratch: Vec<Vec<f64>> = Vec::new();
    let mut incoming: Vec<Vec<f64>> = Vec::new();
    let mut converged = false;
    let mut iterations = 0;
    while iterations < config.iterations && !converged {
        iterations += 1;
        let mut largest_change: f64 = 0.0;
        for f in &mut factors {
            let change = update(
                f,
                &mut beliefs,
                semiring,
                config.damping,
                &mut incoming,
                &mut scratch,
            );
            largest_change = largest_change.max(change);
        }
        converged = largest_change < config.tolerance;
    }
    if let Some(v) = without_possible_value(model, &factors) {
        return Err(model.zero_probability(format!(
            "belief propagation leaves variable {v} no value of positive probability"
        )));
    }
    let normalized: Vec<Vec<f64>> = beliefs
        .iter()
        .enumerate()
        .map(|(v, b)| match model.evidence()[v] {
            Some(x) => (0..b.len())
                .map(|y| if y == x { 1.0 } else { 0.0 })
                .collect(),
            None => normalize(b),
        })
        .collect();
    let bethe_log_z = match semiring {
        Semiring::MaxProduct => f64::NAN,
        Semiring::SumProduct => bethe(model, &factors, &beliefs, &normalized) + constant,
    };
    Ok(BpResult {
        beliefs: normalized,
        bethe_log_z,
        iterations,
        converged,
    })
}

/// Max-product BP, decoded from the beliefs and polished by ICM.
pub fn max_product_map(model: &FactorModel, config: &BpConfig) -> Result<MapSolution, FactorError> {
    let result = loopy_bp(model, Semiring::MaxProduct, config)?;
    let network = Network::new(model);
    let classes = network.color_classes();
    let decoded: Vec<usize> = result
        .beliefs
        .iter()
        .map(|b| {
            let mut best = 0;
            for (x, &p) in b.iter().enumerate() {
                if p > b[best] {
                    best = x;
                }
            }
            best
        })
        .collect();
    let mut solution = icm_on(&network, &classes, Some(decoded), 50);
    solution.iterations = result.iterations as u64;
    Ok(solution)
}

/// A free variable every value of which some factor's message rules out (a hard zero,
/// at the message floor): zeros in BP's messages are arc consistency's, so the model with
/// its evidence has probability zero.
fn without_possible_value(model: &FactorModel, factors: &[Edge]) -> Option<usize> {
    let mut ruled_out: Vec<Vec<bool>> = model.domains().iter().map(|&d| vec![false; d]).collect();
    for f in factors {
        for (&v, message) in f.table.vars.iter().zip(&f.messages) {
            for (out, &m) in ruled_out[v].iter_mut().zip(message) {
                *out |= m <= HARD_ZERO;
            }
        }
    }
    (0..ruled_out.len()).find(|&v| {
        model.evidence()[v].is_none() && !ruled_out[v].is_empty() && ruled_out[v].iter().all(|&r| r)
    })
}

/// A log-message this far below its largest entry is a hard zero (it sits at
/// [`LOG_FLOOR`], or is damped on its way there).
const HARD_ZERO: f64 = LOG_FLOOR / 2.0;

/// Softmax of log-beliefs (uniform if every value is impossible).
fn normalize(log_belief: &[f64]) -> Vec<f64> {
    let z = log_sum_exp(log_belief);
    if !z.is_finite() {
        return vec![1.0 / log_belief.len() as f64; log_belief.len()];
    }
    log_belief.iter().map(|&b| (b - z).exp()).collect()
}

/// Call `visit(digits, total)` for every entry of `t` in row-major order, where `total`
/// is the entry's log-potential plus the incoming message of each of its values.
fn for_each_entry(t: &LogTable, incoming: &[Vec<f64>], mut visit: impl FnMut(&[usize], f64)) {
    let mut digits = vec![0usize; t.vars.len()];
    for &value in &t.values {
        let total: f64 = value
            + digits
                .iter()
                .enumerate()
                .map(|(j, &x)| incoming[j][x])
                .sum::<f64>();
        visit(&digits, total);
        advance(&mut digits, &t.cards);
    }
}

/// Send new messages from one factor; returns the largest change.
fn update(
    f: &mut Edge,
    beliefs: &mut [Vec<f64>],
    semiring: Semiring,
    damping: f64,
    incoming: &mut Vec<Vec<f64>>,
    scratch: &mut Vec<Vec<f64>>,
) -> f64 {
    let t = &f.table;
    let k = t.vars.len();
    incoming.resize(k, Vec::new());
    scratch.resize(k, Vec::new());
    for (j, &v) in t.vars.iter().enumerate() {
        // The variable-to-factor message, normalized so its largest entry is 0.
        let message = &mut incoming[j];
        message.clear();
        message.extend(beliefs[v].iter().zip(&f.messages[j]).map(|(b, m)| b - m));
        let top = message.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if top.is_finite() {
            message.iter_mut().for_each(|x| *x -= top);
        }
    }
    // Pass 1: per (j, x_j) the largest term; pass 2 (sum-product): sum of exp(term - largest).
    for (s, &card) in scratch.iter_mut().zip(&t.cards) {
        s.clear();
        s.resize(card, f64::NEG_INFINITY);
    }
    for_each_entry(t, incoming, |digits, total| {
        for (j, &x) in digits.iter().enumerate() {
            let term = total - incoming[j][x];
            if term > scratch[j][x] {
                scratch[j][x] = term;
            }
        }
    });
    if semiring == Semiring::SumProduct {
        let maxima = scratch.clone();
        for s in scratch.iter_mut() {
            s.iter_mut().for_each(|x| *x = 0.0);
        }
        for_each_entry(t, incoming, |digits, total| {
            for (j, &x) in digits.iter().enumerate() {
                let top = maxima[j][x];
                if top.is_finite() {
                    scratch[j][x] += (total - incoming[j][x] - top).exp();
                }
            }
        });
        for (s, m) in scratch.iter_mut().zip(&maxima) {
            for (x, &top) in s.iter_mut().zip(m) {
                *x = if top.is_finite() {
                    top + x.ln()
                } else {
                    f64::NEG_INFINITY
                };
            }
        }
    }
    let mut largest_change: f64 = 0.0;
    for (j, &v) in t.vars.iter().enumerate() {
        let new = &mut scratch[j];
        let top = new.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !top.is_finite() {
            continue; // contradiction: keep the old message
        }
        for (x, &fresh) in new.iter().enumerate() {
            // Messages stay finite (hard zeros become LOG_FLOOR, which exp() maps to 0),
            // so beliefs can be moved by differences without inf - inf.
            let fresh = (fresh - top).max(LOG_FLOOR);
            let old = f.messages[j][x];
            let damped = (1.0 - damping) * fresh + damping * old;
            largest_change = largest_change.max((damped - old).abs());
            beliefs[v][x] += damped - old;
            f.messages[j][x] = damped;
        }
    }
    largest_change
}

/// The Bethe free energy's `ln Z`: `sum_f [E_bf(theta_f) + H(b_f)] - sum_i (d_i - 1) H(b_i)`,
/// plus `ln |domain|` for free variables in no factor.
fn bethe(
    model: &FactorModel,
    factors: &[Edge],
    beliefs: &[Vec<f64>],
    normalized: &[Vec<f64>],
) -> f64 {
    let mut degree = vec![0usize; beliefs.len()];
    let mut total = 0.0;
    for f in factors {
        let t = &f.table;
        for &v in &t.vars {
            degree[v] += 1;
        }
        // b_f ∝ exp(theta_f + sum_j n_jf), with n_jf = belief_j - m_fj.
        let k = t.vars.len();
        let mut digits = vec![0usize; k];
        let mut log_weights = Vec::with_capacity(t.values.len());
        for &value in &t.values {
            let mut w = value;
            for (j, &x) in digits.iter().enumerate() {
                w += beliefs[t.vars[j]][x] - f.messages[j][x];
            }
            log_weights.push(w);
            advance(&mut digits, &t.cards);
        }
        let z = log_sum_exp(&log_weights);
        for (&w, &value) in log_weights.iter().zip(&t.values) {
            let p = (w - z).exp();
            if p > 0.0 {
                total += p * (value - (w - z));
            }
        }
    }
    for (v, b) in normalized.iter().enumerate() {
        if model.evidence()[v].is_some() {
            continue;
        }
        let entropy: f64 = b.iter().filter(|&&p| p > 0.0).map(|&p| -p * p.ln()).sum();
        if degree[v] == 0 {
            total += (b.len() as f64).ln();
        } else {
            total -= (degree[v] as f64 - 1.0) * entropy;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact;

    fn chain(n: usize, loopy: bool) -> FactorModel {
        let mut m = FactorModel::new(vec![3; n]);
        for v in 0..n {
            let unary: Vec<f64> = (0..3).map(|x| ((v * 5 + x * 7) % 4) as f64 * 0.4).collect();
            m.add_energy_factor(&[v], &unary).unwrap();
            // The triple factor covers 2-3-4, so the chain skips those links to stay a tree.
            if (v + 1 < n && v != 2 && v != 3) || loopy {
                let w: Vec<f64> = (0..9).map(|i| ((i * 3 + v) % 5) as f64 * 0.3).collect();
                m.add_energy_factor(&[v, (v + 1) % n], &w).unwrap();
            }
        }
        m.add_energy_factor(
            &[2, 3, 4],
            &(0..27).map(|i| (i % 4) as f64 * 0.2).collect::<Vec<_>>(),
        )
        .unwrap();
        m
    }

    /// On a tree (a chain with one triple factor in place of two links) BP is exact:
    /// marginals and Bethe ln Z match elimination to 1e-8, and max-product finds the
    /// optimum. On a loop the answers are approximate but close (weak couplings).
    #[test]
    fn exact_on_trees_close_on_loops() {
        for loopy in [false, true] {
            let mut m = chain(8, loopy);
            m.set_evidence(6, 2).unwrap();
            let exact_marginals = exact::marginals(&m, exact::DEFAULT_MAX_TABLE).unwrap();
            let log_z = exact::log_partition(&m, exact::DEFAULT_MAX_TABLE).unwrap();
            let r = loopy_bp(&m, Semiring::SumProduct, &BpConfig::default()).unwrap();
            assert!(r.converged);
            let worst = crate::max_abs_difference(&exact_marginals, &r.beliefs);
            let tolerance = if loopy { 0.05 } else { 1e-8 };
            assert!(worst < tolerance, "loopy {loopy}: marginal error {worst}");
            let z_tolerance = if loopy { 0.1 } else { 1e-8 };
            assert!(
                (r.bethe_log_z - log_z).abs() < z_tolerance,
                "{} vs {log_z}",
                r.bethe_log_z
            );
            let (_, ln_best) = exact::map_assignment(&m, exact::DEFAULT_MAX_TABLE).unwrap();
            let s = max_product_map(&m, &BpConfig::default()).unwrap();
            if !loopy {
                assert!((s.ln_value(&m) - ln_best).abs() < 1e-9);
            }
            assert!(s.ln_value(&m) <= ln_best + 1e-9);
        }
    }
}
