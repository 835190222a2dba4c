//! Structured examples: a factor structure (which templates sit on which variables), the
//! input features of each factor, the true labeling, and optional evidence; and
//! train/test splits.

use super::templates::TemplateSet;
use crate::LearnError;
use ebm_core::InvalidSetting;
use ebm_kernels::rng;
use std::sync::Arc;

/// One factor of a structure: a template on a scope, with its features at
/// `feature_start..feature_start + feature_dim` of the example's feature vector.
#[derive(Clone, Debug, PartialEq)]
pub struct FactorSlot {
    /// Index of the template in the [`TemplateSet`].
    pub template: usize,
    /// Start of the scope in the structure's flat scope list.
    scope_start: usize,
    /// Number of variables in the scope.
    arity: usize,
    /// Start of this factor's features in an example's feature vector.
    pub feature_start: usize,
}

/// The shape of a family of examples: variables with label counts and templated factors.
/// Examples of one shape (all 28x28 images, say) share one structure through an [`Arc`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Structure {
    label_counts: Vec<usize>,
    slots: Vec<FactorSlot>,
    scopes: Vec<usize>,
    feature_len: usize,
    /// Per variable, the factors it is in and its position in each scope.
    factors_of: Vec<Vec<(usize, usize)>>,
}

impl Structure {
    /// Variables with these label counts and no factors yet.
    pub fn new(label_counts: Vec<usize>) -> Self {
        let n = label_counts.len();
        Self {
            label_counts,
            factors_of: vec![Vec::new(); n],
            ..Self::default()
        }
    }

    /// Put template `template` on `scope`; returns the factor's index. The scope's label
    /// counts must be the template's.
    pub fn add_factor(
        &mut self,
        templates: &TemplateSet,
        template: usize,
        scope: &[usize],
    ) -> Result<usize, LearnError> {
        if template >= templates.templates().len() {
            return Err(LearnError::InvalidData(format!(
                "template {template} does not exist"
            )));
        }
        let shape = templates.get(template);
        for (i, &v) in scope.iter().enumerate() {
            if v >= self.label_counts.len() || scope[..i].contains(&v) {
                return Err(LearnError::InvalidData(format!(
                    "scope {scope:?}: variable {v} is missing or repeated"
                )));
            }
        }
        let counts: Vec<usize> = scope.iter().map(|&v| self.label_counts[v]).collect();
        if counts != shape.label_counts {
            return Err(LearnError::InvalidData(format!(
                "template {} wants label counts {:?}; scope {scope:?} has {counts:?}",
                shape.name, shape.label_counts
            )));
        }
        let index = self.slots.len();
        for (position, &v) in scope.iter().enumerate() {
            self.factors_of[v].push((index, position));
        }
        self.slots.push(FactorSlot {
            template,
            scope_start: self.scopes.len(),
            arity: scope.len(),
            feature_start: self.feature_len,
        });
        self.scopes.extend_from_slice(scope);
        self.feature_len += shape.feature_dim;
        Ok(index)
    }

    /// Label counts per variable.
    pub fn label_counts(&self) -> &[usize] {
        &self.label_counts
    }

    /// Number of variables.
    pub fn variable_count(&self) -> usize {
        self.label_counts.len()
    }

    /// The factors.
    pub fn slots(&self) -> &[FactorSlot] {
        &self.slots
    }

    /// The scope of factor `slot`.
    pub fn scope(&self, slot: &FactorSlot) -> &[usize] {
        &self.scopes[slot.scope_start..slot.scope_start + slot.arity]
    }

    /// Length of an example's feature vector.
    pub fn feature_len(&self) -> usize {
        self.feature_len
    }

    /// Factors containing variable `v`, with `v`'s position in each scope.
    pub fn factors_of(&self, v: usize) -> &[(usize, usize)] {
        &self.factors_of[v]
    }
}

/// One structured example: input features, the true labeling, and evidence (variables
/// whose labels are given at prediction time, such as a Sudoku's clues).
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// The shared structure.
    pub structure: Arc<Structure>,
    /// Features of every factor, laid out by the structure.
    pub features: Vec<f64>,
    /// The true label of every variable.
    pub labels: Vec<usize>,
    /// Per variable, a label fixed at prediction time (empty: none).
    pub evidence: Vec<Option<usize>>,
}

impl Example {
    /// An example without evidence; lengths and labels are checked against the structure.
    pub fn new(
        structure: Arc<Structure>,
        features: Vec<f64>,
        labels: Vec<usize>,
    ) -> Result<Self, LearnError> {
        if features.len() != structure.feature_len() || features.iter().any(|f| !f.is_finite()) {
            return Err(LearnError::InvalidData(format!(
                "an example needs {} finite features; got {}",
                structure.feature_len(),
                features.len()
            )));
        }
        check_labels(&structure, &labels, "labels")?;
        Ok(Self {
            structure,
            features,
            labels,
            evidence: Vec::new(),
        })
    }

    /// The same example with `evidence` (one entry per variable) fixed at prediction time.
    pub fn with_evidence(mut self, evidence: Vec<Option<usize>>) -> Result<Self, LearnError> {
        let given: Vec<usize> = evidence.iter().map(|e| e.unwrap_or(0)).collect();
        check_labels(&self.structure, &given, "evidence")?;
        self.evidence = evidence;
        Ok(self)
    }

    /// The evidence on variable `v`, if any.
    pub fn given(&self, v: usize) -> Option<usize> {
        self.evidence.get(v).copied().flatten()
    }

    /// The features of factor `slot`.
    pub fn slot_features(&self, slot: &FactorSlot, feature_dim: usize) -> &[f64] {
        &self.features[slot.feature_start..slot.feature_start + feature_dim]
    }
}

fn check_labels(structure: &Structure, labels: &[usize], what: &str) -> Result<(), LearnError> {
    if labels.len() != structure.variable_count() {
        return Err(LearnError::InvalidData(format!(
            "{what}: {} entries for {} variables",
            labels.len(),
            structure.variable_count()
        )));
    }
    if let Some(v) = (0..labels.len()).find(|&v| labels[v] >= structure.label_counts()[v]) {
        return Err(LearnError::InvalidData(format!(
            "{what}: variable {v} has label {} of {}",
            labels[v],
            structure.label_counts()[v]
        )));
    }
    Ok(())
}

/// Shuffle `examples` with `seed` and split off `test_fraction` of them (rounded) as the
/// test set: `(train, test)`.
pub fn split_examples(
    mut examples: Vec<Example>,
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<Example>, Vec<Example>), LearnError> {
    if !(0.0..1.0).contains(&test_fraction) {
        return Err(InvalidSetting::new(
            "test_fraction",
            format!("{test_fraction} is not in [0, 1)"),
        )
        .into());
    }
    let mut r = rng::stream(seed, 0, 0);
    rng::shuffle(&mut r, &mut examples);
    let test_len = (examples.len() as f64 * test_fraction).round() as usize;
    let test = examples.split_off(examples.len() - test_len);
    Ok((examples, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structures_check_scopes_and_examples_check_lengths() {
        let mut templates = TemplateSet::new();
        let pair = templates.add("pair", &[2, 3], 1).unwrap();
        let mut structure = Structure::new(vec![2, 3, 3]);
        assert_eq!(structure.add_factor(&templates, pair, &[0, 1]).unwrap(), 0);
        assert!(structure.add_factor(&templates, pair, &[1, 2]).is_err());
        assert!(structure.add_factor(&templates, pair, &[0, 0]).is_err());
        assert!(structure.add_factor(&templates, 5, &[0, 1]).is_err());
        assert_eq!(structure.factors_of(1), &[(0, 1)]);
        let structure = Arc::new(structure);
        assert!(Example::new(structure.clone(), vec![1.0], vec![1, 2, 0]).is_ok());
        assert!(Example::new(structure.clone(), vec![], vec![1, 2, 0]).is_err());
        assert!(Example::new(structure.clone(), vec![1.0], vec![2, 2, 0]).is_err());
        let example = Example::new(structure, vec![1.0], vec![1, 2, 0]).unwrap();
        assert!(
            example
                .clone()
                .with_evidence(vec![None, Some(3), None])
                .is_err()
        );
        let example = example.with_evidence(vec![None, Some(2), None]).unwrap();
        assert_eq!((example.given(1), example.given(0)), (Some(2), None));
    }

    #[test]
    fn split_is_a_seeded_partition() {
        let structure = Arc::new(Structure::new(vec![10]));
        let examples: Vec<Example> = (0..10)
            .map(|k| Example::new(structure.clone(), vec![], vec![k]).unwrap())
            .collect();
        let (train, test) = split_examples(examples.clone(), 0.3, 7).unwrap();
        assert_eq!((train.len(), test.len()), (7, 3));
        let mut all: Vec<usize> = train.iter().chain(&test).map(|e| e.labels[0]).collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        let (again, _) = split_examples(examples.clone(), 0.3, 7).unwrap();
        assert_eq!(train, again);
        assert!(split_examples(examples, 1.0, 7).is_err());
    }
}
