//! The Boltzmann distribution `p(x) = exp(-E(x) / T) / Z` over an enumerable set of
//! states, given their energies.
//!
//! At `T = 1` the probabilities are the softmax of the negative energies. Ratios of
//! probabilities never need `Z`.

/// `ln Z = ln sum_x exp(-E(x) / T)`, stable; `+inf` energies are states with probability
/// zero. `-inf` when every state is forbidden.
pub fn log_partition(energies: &[f64], temperature: f64) -> f64 {
    assert!(temperature > 0.0, "temperature must be positive");
    let max = energies
        .iter()
        .map(|&e| -e / temperature)
        .fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    let sum: f64 = energies
        .iter()
        .map(|&e| (-e / temperature - max).exp())
        .sum();
    max + sum.ln()
}

/// `p(x) = exp(-E(x) / T) / Z` for every state.
pub fn probabilities(energies: &[f64], temperature: f64) -> Vec<f64> {
    let log_z = log_partition(energies, temperature);
    energies
        .iter()
        .map(|&e| (-e / temperature - log_z).exp())
        .collect()
}

/// `ln p(a) - ln p(b) = (E(b) - E(a)) / T`: needs no partition function.
pub fn log_probability_ratio(energy_a: f64, energy_b: f64, temperature: f64) -> f64 {
    (energy_b - energy_a) / temperature
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_at_unit_temperature_and_limits() {
        let e = [1.0, 2.0, f64::INFINITY];
        let p = probabilities(&e, 1.0);
        let z = (-1.0f64).exp() + (-2.0f64).exp();
        assert!((p[0] - (-1.0f64).exp() / z).abs() < 1e-15);
        assert_eq!(p[2], 0.0);
        assert!((log_partition(&e, 1.0) - z.ln()).abs() < 1e-15);
        // High temperature flattens, low temperature concentrates on the minimum.
        let hot = probabilities(&e[..2], 1e6);
        assert!((hot[0] - 0.5).abs() < 1e-6);
        let cold = probabilities(&e[..2], 1e-3);
        assert!(cold[0] > 1.0 - 1e-12);
        // Huge energies do not overflow; the absolute error is about 1e6 * 2^-52 ≈ 2e-10
        // (the energies themselves carry that rounding).
        let big = probabilities(&[1e6, 1e6 + 1.0], 1.0);
        assert!((big[0] - 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-9);
        assert_eq!(log_partition(&[f64::INFINITY], 1.0), f64::NEG_INFINITY);
        assert!((log_probability_ratio(1.0, 2.0, 1.0) - (p[0] / p[1]).ln()).abs() < 1e-12);
    }
}
