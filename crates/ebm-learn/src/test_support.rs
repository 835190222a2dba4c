//! Fixtures shared by the unit tests.

use crate::data::{Example, Structure};
use crate::templates::TemplateSet;
use std::sync::Arc;

/// The templates `(name, label counts, feature dimension)` and a structure over
/// `label_counts` with the factors `(template, scope)`.
pub(crate) fn templated(
    templates: &[(&str, &[usize], usize)],
    label_counts: Vec<usize>,
    factors: &[(usize, &[usize])],
) -> (TemplateSet, Arc<Structure>) {
    let mut set = TemplateSet::new();
    for &(name, counts, dim) in templates {
        set.add(name, counts, dim).unwrap();
    }
    let mut structure = Structure::new(label_counts);
    for &(template, scope) in factors {
        structure.add_factor(&set, template, scope).unwrap();
    }
    (set, Arc::new(structure))
}

/// One example of `structure` with `features` and `labels`.
pub(crate) fn example(structure: &Arc<Structure>, features: Vec<f64>, labels: &[usize]) -> Example {
    Example::new(structure.clone(), features, labels.to_vec()).unwrap()
}
