//! The linear energy of a templated model, `E(x, y; w) = w . Phi(x, y)`: its value, its
//! joint feature map `Phi`, and the factor model it instantiates for inference.

use super::data::{Example, FactorSlot};
use super::templates::TemplateSet;
use crate::LearnError;
use ebm_factor::FactorModel;
use ebm_factor::table::{LogTable, advance};

/// Index of `labels` restricted to `scope` in a table with `strides`.
fn table_index(strides: &[usize], scope: &[usize], labels: &[usize]) -> usize {
    scope
        .iter()
        .zip(strides)
        .map(|(&v, &s)| labels[v] * s)
        .sum()
}

/// Energy of factor `slot` at entry `entry` of its label table.
fn slot_entry_energy(
    templates: &TemplateSet,
    example: &Example,
    weights: &[f64],
    slot: &FactorSlot,
    entry: usize,
) -> f64 {
    let template = templates.get(slot.template);
    let table_size = template.table_size();
    let block = templates.block(weights, slot.template);
    example
        .slot_features(slot, template.feature_dim)
        .iter()
        .enumerate()
        .map(|(k, &f)| f * block[k * table_size + entry])
        .sum()
}

/// `E(x, y; w)` of `labels` (a full labeling) under `weights`.
pub fn energy(
    templates: &TemplateSet,
    example: &Example,
    weights: &[f64],
    labels: &[usize],
) -> f64 {
    let structure = &example.structure;
    structure
        .slots()
        .iter()
        .map(|slot| {
            let strides = templates.get(slot.template).strides();
            let entry = table_index(strides, structure.scope(slot), labels);
            slot_entry_energy(templates, example, weights, slot, entry)
        })
        .sum()
}

/// Add `scale * Phi(x, y)` to `out` (length `templates.weight_count()`).
pub fn add_joint_features(
    templates: &TemplateSet,
    example: &Example,
    labels: &[usize],
    scale: f64,
    out: &mut [f64],
) {
    let structure = &example.structure;
    for slot in structure.slots() {
        add_slot_features(templates, example, slot, labels, scale, out);
    }
}

/// Add `scale * Phi_slot(x, y)` of one factor to `out`.
pub(crate) fn add_slot_features(
    templates: &TemplateSet,
    example: &Example,
    slot: &FactorSlot,
    labels: &[usize],
    scale: f64,
    out: &mut [f64],
) {
    let template = templates.get(slot.template);
    let entry = table_index(template.strides(), example.structure.scope(slot), labels);
    add_entry_features(templates, example, slot, entry, scale, out);
}

/// Add `scale` times the features of factor `slot` at table entry `entry` to `out`.
pub(crate) fn add_entry_features(
    templates: &TemplateSet,
    example: &Example,
    slot: &FactorSlot,
    entry: usize,
    scale: f64,
    out: &mut [f64],
) {
    let template = templates.get(slot.template);
    let (offset, table_size) = (templates.offset(slot.template), template.table_size());
    for (k, &f) in example
        .slot_features(slot, template.feature_dim)
        .iter()
        .enumerate()
    {
        out[offset + k * table_size + entry] += scale * f;
    }
}

/// The energy of factor `slot` with variable at scope position `position` set to each of
/// its labels in turn and the rest at `labels`; added into `out` (one entry per label).
pub(crate) fn add_slot_energies_along(
    templates: &TemplateSet,
    example: &Example,
    weights: &[f64],
    slot: &FactorSlot,
    position: usize,
    labels: &[usize],
    out: &mut [f64],
) {
    let template = templates.get(slot.template);
    let scope = example.structure.scope(slot);
    let stride = template.strides()[position];
    let base = table_index(template.strides(), scope, labels) - labels[scope[position]] * stride;
    for (label, e) in out.iter_mut().enumerate() {
        *e += slot_entry_energy(templates, example, weights, slot, base + label * stride);
    }
}

/// The table entry of factor `slot` at `labels` but with the variable at scope position
/// `position` set to `label`.
pub(crate) fn entry_with(
    templates: &TemplateSet,
    example: &Example,
    slot: &FactorSlot,
    labels: &[usize],
    position: usize,
    label: usize,
) -> usize {
    let strides = templates.get(slot.template).strides();
    let scope = example.structure.scope(slot);
    table_index(strides, scope, labels) + label * strides[position]
        - labels[scope[position]] * strides[position]
}

/// Number of free (non-evidence) variables where `a` and `b` differ: the Hamming loss.
pub fn hamming_loss(example: &Example, a: &[usize], b: &[usize]) -> usize {
    (0..a.len())
        .filter(|&v| example.given(v).is_none() && a[v] != b[v])
        .count()
}

/// The factor model of `example` under `weights`, one table factor per templated factor
/// (in order) and the example's evidence. With `loss_augmented`, one more unary factor
/// per free variable subtracts the Hamming loss to the true labels (energy `-1` on every
/// wrong label), so that its MAP is the most violating labeling of a structured SVM.
pub fn instantiate(
    templates: &TemplateSet,
    example: &Example,
    weights: &[f64],
    loss_augmented: bool,
) -> Result<FactorModel, LearnError> {
    instantiate_forbidding(templates, example, weights, loss_augmented, |_, _| false)
}

/// [`instantiate`], with the table entries `forbidden(slot, entry)` accepts at energy
/// `+inf`.
pub(crate) fn instantiate_forbidding(
    templates: &TemplateSet,
    example: &Example,
    weights: &[f64],
    loss_augmented: bool,
    forbidden: impl Fn(&FactorSlot, usize) -> bool,
) -> Result<FactorModel, LearnError> {
    templates.check_weights(weights)?;
    let structure = &example.structure;
    let mut model = FactorModel::new(structure.label_counts().to_vec());
    let mut energies = Vec::new();
    for slot in structure.slots() {
        let table_size = templates.get(slot.template).table_size();
        energies.clear();
        energies.extend((0..table_size).map(|entry| {
            if forbidden(slot, entry) {
                f64::INFINITY
            } else {
                slot_entry_energy(templates, example, weights, slot, entry)
            }
        }));
        model.add_energy_factor(structure.scope(slot), &energies)?;
    }
    for v in 0..structure.variable_count() {
        if let Some(x) = example.given(v) {
            model.set_evidence(v, x)?;
        } else if loss_augmented {
            let truth = example.labels[v];
            energies.clear();
            energies.extend((0..structure.label_counts()[v]).map(|l| -f64::from(l != truth)));
            model.add_energy_factor(&[v], &energies)?;
        }
    }
    Ok(model)
}

/// Add `scale * E_p[Phi(x, y)]` to `out`, given the `ln` marginals of the first
/// `slots().len()` conditioned factors of the model from [`instantiate`] (as computed by
/// [`ebm_factor::tree::tree_marginals`]); evidence variables sit at their given labels.
pub fn add_expected_features(
    templates: &TemplateSet,
    example: &Example,
    factor_log_marginals: &[LogTable],
    scale: f64,
    out: &mut [f64],
) {
    let structure = &example.structure;
    let mut labels: Vec<usize> = (0..structure.variable_count())
        .map(|v| example.given(v).unwrap_or(0))
        .collect();
    for (slot, marginal) in structure.slots().iter().zip(factor_log_marginals) {
        let strides = templates.get(slot.template).strides();
        let scope = structure.scope(slot);
        let mut entry = vec![0usize; marginal.vars.len()];
        for &log_p in &marginal.values {
            for (&v, &x) in marginal.vars.iter().zip(&entry) {
                labels[v] = x;
            }
            let index = table_index(strides, scope, &labels);
            add_entry_features(templates, example, slot, index, scale * log_p.exp(), out);
            advance(&mut entry, &marginal.cards);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{example, templated};

    /// Two binary variables: a unary template with 2 features and a pairwise template.
    fn pair_example() -> (TemplateSet, Example) {
        let (templates, structure) = templated(
            &[("unary", &[2], 2), ("pair", &[2, 2], 1)],
            vec![2, 2],
            &[(0, &[0]), (0, &[1]), (1, &[1, 0])],
        );
        let features = vec![1.0, 0.5, 1.0, -2.0, 1.0];
        (templates, example(&structure, features, &[1, 0]))
    }

    #[test]
    fn energy_is_weights_dot_joint_features_and_matches_the_model() {
        let (templates, example) = pair_example();
        let weights: Vec<f64> = (0..templates.weight_count())
            .map(|k| (k as f64 * 0.7).sin())
            .collect();
        let model = instantiate(&templates, &example, &weights, false).unwrap();
        for labels in [[0, 0], [0, 1], [1, 0], [1, 1]] {
            let mut phi = vec![0.0; templates.weight_count()];
            add_joint_features(&templates, &example, &labels, 1.0, &mut phi);
            let dot: f64 = phi.iter().zip(&weights).map(|(a, b)| a * b).sum();
            let e = energy(&templates, &example, &weights, &labels);
            assert!((dot - e).abs() < 1e-12);
            assert!((model.energy(&labels) - e).abs() < 1e-12);
        }
        // Unary of variable 0, label 1: features (1, 0.5) on weights 2 and 3 (index
        // k * table_size + label).
        let mut phi = vec![0.0; templates.weight_count()];
        add_joint_features(&templates, &example, &[1, 0], 1.0, &mut phi);
        assert_eq!(&phi[..4], &[1.0, 1.0, -2.0, 0.5]);
    }

    #[test]
    fn loss_augmentation_subtracts_hamming_distance() {
        let (templates, example) = pair_example();
        let weights = vec![0.0; templates.weight_count()];
        let model = instantiate(&templates, &example, &weights, true).unwrap();
        for labels in [[0, 0], [0, 1], [1, 0], [1, 1]] {
            let loss = hamming_loss(&example, &labels, &example.labels) as f64;
            assert_eq!(model.energy(&labels), -loss);
        }
        let wrong = vec![0.0; 3];
        assert!(instantiate(&templates, &example, &wrong, false).is_err());
    }

    #[test]
    fn energies_along_one_variable_match_full_energies() {
        let (templates, example) = pair_example();
        let weights: Vec<f64> = (0..templates.weight_count())
            .map(|k| (k as f64 * 1.3).cos())
            .collect();
        let slot = &example.structure.slots()[2];
        let mut along = vec![0.0; 2];
        add_slot_energies_along(&templates, &example, &weights, slot, 1, &[1, 1], &mut along);
        for (label, &e) in along.iter().enumerate() {
            let mut single = vec![0.0; templates.weight_count()];
            add_slot_features(&templates, &example, slot, &[label, 1], 1.0, &mut single);
            let dot: f64 = single.iter().zip(&weights).map(|(a, b)| a * b).sum();
            assert!((dot - e).abs() < 1e-12);
        }
    }
}
