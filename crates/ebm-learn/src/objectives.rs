//! Per-example losses and gradients of the smooth objectives: negative log-likelihood
//! (exact, on acyclic structures), negative log pseudo-likelihood, and contrastive
//! divergence. Each adds `d loss / d w` into a gradient buffer and returns the loss.

use super::data::Example;
use super::energy::{
    add_entry_features, add_expected_features, add_joint_features, add_slot_energies_along,
    add_slot_features, energy, entry_with, instantiate,
};
use super::templates::TemplateSet;
use crate::LearnError;
use ebm_factor::Network;
use ebm_factor::gibbs::GibbsChain;
use ebm_factor::table::log_sum_exp;
use ebm_factor::tree::tree_marginals;

/// `-ln p(y | x) = E(y) + ln Z(x)` by exact sum-product; gradient `Phi(y) - E_p[Phi]`.
/// The example's factor graph (after evidence) must be acyclic.
pub(crate) fn negative_log_likelihood(
    templates: &TemplateSet,
    example: &Example,
    weights: &[f64],
    gradient: &mut [f64],
) -> Result<f64, LearnError> {
    let model = instantiate(templates, example, weights, false)?;
    let marginals = tree_marginals(&model)?;
    add_joint_features(templates, example, &example.labels, 1.0, gradient);
    add_expected_features(
        templates,
        example,
        &marginals.factor_log_marginals,
        -1.0,
        gradient,
    );
    Ok(energy(templates, example, weights, &example.labels) + marginals.log_z)
}

/// `-sum_v ln p(y_v | y_rest)` over the free variables (Besag's pseudo-likelihood);
/// gradient `sum_v (Phi_v(y) - E_{p(y_v | y_rest)}[Phi_v])` over the factors touching `v`.
pub(crate) fn negative_log_pseudo_likelihood(
    templates: &TemplateSet,
    example: &Example,
    weights: &[f64],
    gradient: &mut [f64],
) -> f64 {
    let structure = &example.structure;
    let labels = &example.labels;
    let mut loss = 0.0;
    let mut energies = Vec::new();
    let mut probabilities = Vec::new();
    for v in (0..structure.variable_count()).filter(|&v| example.given(v).is_none()) {
        energies.clear();
        energies.resize(structure.label_counts()[v], 0.0);
        for &(s, position) in structure.factors_of(v) {
            let slot = &structure.slots()[s];
            add_slot_energies_along(
                templates,
                example,
                weights,
                slot,
                position,
                labels,
                &mut energies,
            );
        }
        probabilities.clear();
        probabilities.extend(energies.iter().map(|e| -e));
        let log_norm = log_sum_exp(&probabilities);
        loss += energies[labels[v]] + log_norm;
        probabilities
            .iter_mut()
            .for_each(|p| *p = (*p - log_norm).exp());
        for &(s, position) in structure.factors_of(v) {
            let slot = &structure.slots()[s];
            add_slot_features(templates, example, slot, labels, 1.0, gradient);
            for (label, &p) in probabilities.iter().enumerate() {
                let entry = entry_with(templates, example, slot, labels, position, label);
                add_entry_features(templates, example, slot, entry, -p, gradient);
            }
        }
    }
    loss
}

/// Contrastive divergence: `steps` Gibbs sweeps from the true labeling give a sample
/// `y'`; gradient `Phi(y) - Phi(y')`. Returns `E(y) - E(y')`, which CD drives towards
/// (and below) zero.
pub(crate) fn contrastive_divergence(
    templates: &TemplateSet,
    example: &Example,
    weights: &[f64],
    steps: usize,
    seed: u64,
    gradient: &mut [f64],
) -> Result<f64, LearnError> {
    let model = instantiate(templates, example, weights, false)?;
    let network = Network::new(&model);
    let classes = network.color_classes();
    let mut chain = GibbsChain::new(&network, &classes, example.labels.clone(), seed);
    for _ in 0..steps {
        chain.sweep(1.0);
    }
    let sample = chain.assignment();
    add_joint_features(templates, example, &example.labels, 1.0, gradient);
    add_joint_features(templates, example, sample, -1.0, gradient);
    Ok(energy(templates, example, weights, &example.labels)
        - energy(templates, example, weights, sample))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{example, templated};

    /// A chain of 4 ternary variables with unary features and a pairwise template, and
    /// evidence on one end.
    fn chain_example() -> (TemplateSet, Example) {
        let (templates, structure) = templated(
            &[("unary", &[3], 2), ("pair", &[3, 3], 1)],
            vec![3; 4],
            &[
                (0, &[0]),
                (0, &[1]),
                (0, &[2]),
                (0, &[3]),
                (1, &[0, 1]),
                (1, &[1, 2]),
                (1, &[2, 3]),
            ],
        );
        let mut features: Vec<f64> = (0..4).flat_map(|v| [1.0, v as f64 * 0.5 - 0.7]).collect();
        features.extend([1.0; 3]);
        let example = example(&structure, features, &[2, 0, 1, 1])
            .with_evidence(vec![None, None, None, Some(1)])
            .unwrap();
        (templates, example)
    }

    /// Central differences of `loss` against the analytic gradient, entry by entry.
    /// Tolerance 1e-6: the loss is smooth and the step 1e-5 gives an error of order
    /// step^2 times the third derivative, far below it.
    fn check_gradient(loss: impl Fn(&[f64], &mut [f64]) -> f64, weights: &[f64]) {
        let mut gradient = vec![0.0; weights.len()];
        loss(weights, &mut gradient);
        let mut scratch = vec![0.0; weights.len()];
        for k in 0..weights.len() {
            let (mut plus, mut minus) = (weights.to_vec(), weights.to_vec());
            plus[k] += 1e-5;
            minus[k] -= 1e-5;
            let numeric = (loss(&plus, &mut scratch) - loss(&minus, &mut scratch)) / 2e-5;
            assert!(
                (numeric - gradient[k]).abs() < 1e-6,
                "weight {k}: numeric {numeric} analytic {}",
                gradient[k]
            );
        }
    }

    fn weights(templates: &TemplateSet) -> Vec<f64> {
        (0..templates.weight_count())
            .map(|k| (k as f64 * 0.9).sin())
            .collect()
    }

    #[test]
    fn likelihood_gradient_matches_finite_differences() {
        let (templates, example) = chain_example();
        check_gradient(
            |w, g| negative_log_likelihood(&templates, &example, w, g).unwrap(),
            &weights(&templates),
        );
    }

    #[test]
    fn pseudo_likelihood_gradient_matches_finite_differences() {
        let (templates, example) = chain_example();
        check_gradient(
            |w, g| negative_log_pseudo_likelihood(&templates, &example, w, g),
            &weights(&templates),
        );
    }

    /// A higher-order template: a ternary label table over consecutive triples, on top of
    /// the chain, with a 2-dimensional feature. Pseudo-likelihood handles any arity, and
    /// so does maximum likelihood as long as the factor graph stays acyclic.
    #[test]
    fn higher_order_templates_have_exact_gradients() {
        let (templates, structure) = templated(
            &[("unary", &[3], 1), ("triple", &[3, 2, 3], 2)],
            vec![3, 2, 3, 2, 3],
            &[
                (0, &[0]),
                (0, &[2]),
                (0, &[4]),
                (1, &[0, 1, 2]),
                (1, &[2, 3, 4]),
            ],
        );
        // Unary features 1; each triple's features (1, 0.5 start - 0.3).
        let features = vec![1.0, 1.0, 1.0, 1.0, -0.3, 1.0, 0.7];
        let example = example(&structure, features, &[2, 1, 0, 0, 1]);
        let w = weights(&templates);
        check_gradient(
            |w, g| negative_log_pseudo_likelihood(&templates, &example, w, g),
            &w,
        );
        check_gradient(
            |w, g| negative_log_likelihood(&templates, &example, w, g).unwrap(),
            &w,
        );
    }

    #[test]
    fn likelihood_is_normalized() {
        // Summing p(y | x) = exp(-loss) over every labeling of the free variables gives 1.
        let (templates, example) = chain_example();
        let w = weights(&templates);
        let mut total = 0.0;
        let mut scratch = vec![0.0; w.len()];
        for code in 0..27 {
            let mut labeled = example.clone();
            labeled.labels = vec![code % 3, (code / 3) % 3, code / 9, 1];
            total +=
                (-negative_log_likelihood(&templates, &labeled, &w, &mut scratch).unwrap()).exp();
        }
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }

    #[test]
    fn contrastive_divergence_is_zero_without_moves() {
        let (templates, example) = chain_example();
        let w = weights(&templates);
        let mut gradient = vec![0.0; w.len()];
        let gap = contrastive_divergence(&templates, &example, &w, 0, 1, &mut gradient).unwrap();
        assert_eq!(gap, 0.0);
        assert!(gradient.iter().all(|&g| g == 0.0));
    }
}
