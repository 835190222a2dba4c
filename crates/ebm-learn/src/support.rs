//! The support of the training data: template entries that never occur in it.
//!
//! A weight whose (non-negative) feature is zero on every training labeling has a
//! likelihood gradient of one sign only, so maximum likelihood without regularization
//! sends it to `+inf`: the combination is forbidden. Regularized learners stop at a finite
//! value; this module recovers the limit, so that combinations never seen in training
//! (two equal digits in one row, say) become hard constraints of the learned model.

use super::data::{Example, FactorSlot};
use super::energy::{add_joint_features, instantiate_forbidding};
use super::templates::TemplateSet;
use crate::LearnError;
use ebm_factor::FactorModel;
use serde::{Deserialize, Serialize};

/// Which weights the training data never exercised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Support {
    unseen: Vec<bool>,
}

impl Support {
    /// The support of `examples`' true labelings. Only templates whose features are
    /// non-negative in every example can have unseen entries (a negative feature could
    /// cancel a positive one in the sum).
    pub fn of_data(templates: &TemplateSet, examples: &[Example]) -> Self {
        let dim = templates.weight_count();
        let mut totals = vec![0.0; dim];
        let mut signed = vec![false; templates.templates().len()];
        for example in examples {
            add_joint_features(templates, example, &example.labels, 1.0, &mut totals);
            for slot in example.structure.slots() {
                let dim = templates.get(slot.template).feature_dim;
                if example.slot_features(slot, dim).iter().any(|&f| f < 0.0) {
                    signed[slot.template] = true;
                }
            }
        }
        let mut unseen: Vec<bool> = totals.iter().map(|&t| t == 0.0).collect();
        for (t, _) in signed.iter().enumerate().filter(|(_, s)| **s) {
            let start = templates.offset(t);
            unseen[start..start + templates.get(t).weight_count()].fill(false);
        }
        Self { unseen }
    }

    /// Length of the weight vector this support is over.
    pub fn weight_count(&self) -> usize {
        self.unseen.len()
    }

    /// Number of unseen weights.
    pub fn unseen_count(&self) -> usize {
        self.unseen.iter().filter(|&&u| u).count()
    }

    /// True when entry `entry` of factor `slot` uses an unseen weight with a positive
    /// feature in `example`.
    pub fn forbids(
        &self,
        templates: &TemplateSet,
        example: &Example,
        slot: &FactorSlot,
        entry: usize,
    ) -> bool {
        let template = templates.get(slot.template);
        let (offset, table_size) = (templates.offset(slot.template), template.table_size());
        example
            .slot_features(slot, template.feature_dim)
            .iter()
            .enumerate()
            .any(|(k, &f)| f > 0.0 && self.unseen[offset + k * table_size + entry])
    }
}

/// [`crate::energy::instantiate`], with the entries outside the training data's `support`
/// forbidden (energy `+inf`, the maximum-likelihood limit of a weight whose feature never
/// fired); without a support, the same model.
///
/// # Errors
///
/// [`LearnError::InvalidSetting`] when `weights` do not fit the templates.
pub fn instantiate_within(
    templates: &TemplateSet,
    example: &Example,
    weights: &[f64],
    loss_augmented: bool,
    support: Option<&Support>,
) -> Result<FactorModel, LearnError> {
    instantiate_forbidding(
        templates,
        example,
        weights,
        loss_augmented,
        |slot, entry| support.is_some_and(|s| s.forbids(templates, example, slot, entry)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{example, templated};

    #[test]
    fn combinations_never_seen_become_forbidden() {
        let (templates, structure) =
            templated(&[("pair", &[2, 2], 1)], vec![2, 2], &[(0, &[0, 1])]);
        // The data only ever shows (0, 1) and (1, 0): the two variables differ.
        let examples: Vec<Example> = [[0, 1], [1, 0], [0, 1]]
            .iter()
            .map(|y| example(&structure, vec![1.0], y))
            .collect();
        let support = Support::of_data(&templates, &examples);
        assert_eq!(support.unseen_count(), 2);
        let weights = vec![0.0; 4];
        let model =
            instantiate_within(&templates, &examples[0], &weights, false, Some(&support)).unwrap();
        assert_eq!(model.energy(&[0, 0]), f64::INFINITY);
        assert_eq!(model.energy(&[1, 1]), f64::INFINITY);
        assert_eq!(model.energy(&[1, 0]), 0.0);
        // A template with a negative feature somewhere has no unseen entries.
        let signed = Example::new(structure, vec![-1.0], vec![0, 1]).unwrap();
        assert_eq!(Support::of_data(&templates, &[signed]).unseen_count(), 0);
    }
}
