//! Factor templates: energies linear in a block of one shared weight vector.
//!
//! A template over `label_counts.len()` variables with `feature_dim` features owns
//! `feature_dim * prod(label_counts)` weights. A factor that instantiates it with features
//! `f` has energy `E(y) = sum_k f_k * w[offset + k * table_size + index(y)]`, where
//! `index(y)` enumerates the labels with the last variable fastest. A unary template with
//! `d` input features is `label_counts = [L]`, `feature_dim = d`; a pairwise label-label
//! table is `label_counts = [L, L]`, `feature_dim = 1` with the feature 1.

use crate::LearnError;
use ebm_core::InvalidSetting;
use serde::{Deserialize, Serialize};

/// One template: the shape of a block of weights shared by many factors.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// A name for reports (`"unary"`, `"horizontal"`, ...).
    pub name: String,
    /// Number of labels of each variable in the scope.
    pub label_counts: Vec<usize>,
    /// Number of features each instantiating factor supplies.
    pub feature_dim: usize,
    /// Row-major strides of the label table (last variable fastest).
    strides: Vec<usize>,
}

impl Template {
    /// Entries of one label table: `prod(label_counts)`.
    pub fn table_size(&self) -> usize {
        self.label_counts.iter().product()
    }

    /// Weights the template owns: `feature_dim * table_size`.
    pub fn weight_count(&self) -> usize {
        self.feature_dim * self.table_size()
    }

    /// Row-major strides of the label table (last variable fastest).
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }
}

/// The templates of a model and where each one's weights start in the shared vector.
/// Serialized as the list of its templates (name, label counts, feature dimension), and
/// checked again when read back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<TemplateSpec>", into = "Vec<TemplateSpec>")]
pub struct TemplateSet {
    templates: Vec<Template>,
    offsets: Vec<usize>,
    weight_count: usize,
}

impl TemplateSet {
    /// No templates.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a template; returns its index. Label counts and the feature dimension must be
    /// positive.
    pub fn add(
        &mut self,
        name: &str,
        label_counts: &[usize],
        feature_dim: usize,
    ) -> Result<usize, LearnError> {
        if label_counts.contains(&0) || feature_dim == 0 {
            return Err(LearnError::InvalidData(format!(
                "template {name}: label counts {label_counts:?} and feature dimension {feature_dim} must be positive"
            )));
        }
        let template = Template {
            name: name.to_string(),
            label_counts: label_counts.to_vec(),
            feature_dim,
            strides: ebm_factor::table::strides(label_counts),
        };
        self.offsets.push(self.weight_count);
        self.weight_count += template.weight_count();
        self.templates.push(template);
        Ok(self.templates.len() - 1)
    }

    /// The template at `index`.
    pub fn get(&self, index: usize) -> &Template {
        &self.templates[index]
    }

    /// All templates, in order.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// Where template `index`'s weights start.
    pub fn offset(&self, index: usize) -> usize {
        self.offsets[index]
    }

    /// Length of the shared weight vector.
    pub fn weight_count(&self) -> usize {
        self.weight_count
    }

    /// Whether `weights` can be this set's weight vector: its length, and every weight
    /// finite.
    ///
    /// # Errors
    ///
    /// [`LearnError::InvalidSetting`] for `weights`, saying which.
    pub fn check_weights(&self, weights: &[f64]) -> Result<(), LearnError> {
        let message = if weights.len() != self.weight_count {
            format!(
                "{} weights for templates that need {}",
                weights.len(),
                self.weight_count
            )
        } else if weights.iter().any(|w| !w.is_finite()) {
            "non-finite weights".to_string()
        } else {
            return Ok(());
        };
        Err(InvalidSetting::new("weights", message).into())
    }

    /// The weights of template `index` inside `weights`.
    pub fn block<'w>(&self, weights: &'w [f64], index: usize) -> &'w [f64] {
        let start = self.offsets[index];
        &weights[start..start + self.templates[index].weight_count()]
    }
}

/// The serialized form of one template.
#[derive(Serialize, Deserialize)]
struct TemplateSpec {
    name: String,
    label_counts: Vec<usize>,
    feature_dim: usize,
}

impl TryFrom<Vec<TemplateSpec>> for TemplateSet {
    type Error = LearnError;

    fn try_from(specs: Vec<TemplateSpec>) -> Result<Self, LearnError> {
        let mut set = TemplateSet::new();
        for spec in specs {
            set.add(&spec.name, &spec.label_counts, spec.feature_dim)?;
        }
        Ok(set)
    }
}

impl From<TemplateSet> for Vec<TemplateSpec> {
    fn from(set: TemplateSet) -> Self {
        set.templates
            .into_iter()
            .map(|t| TemplateSpec {
                name: t.name,
                label_counts: t.label_counts,
                feature_dim: t.feature_dim,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_laid_out_one_after_another() {
        let mut set = TemplateSet::new();
        let unary = set.add("unary", &[2], 3).unwrap();
        let pair = set.add("pair", &[2, 4], 1).unwrap();
        assert_eq!((set.offset(unary), set.offset(pair)), (0, 6));
        assert_eq!(set.weight_count(), 6 + 8);
        assert_eq!(set.get(pair).strides(), &[4, 1]);
        let weights: Vec<f64> = (0..14).map(f64::from).collect();
        assert_eq!(set.block(&weights, pair)[0], 6.0);
        assert!(set.add("empty", &[0], 1).is_err());
        assert!(set.add("featureless", &[2], 0).is_err());
    }
}
