//! Test metrics of a learned energy: per-variable error, whole-structure error and the
//! energy gap between the truth and the prediction.

use super::data::Example;
use super::energy::{energy, hamming_loss, instantiate};
use super::templates::TemplateSet;
use crate::LearnError;
use ebm_factor::solve::{Method, SolveOptions, solve};
use rayon::prelude::*;

/// Metrics of a weight vector on a set of examples (evidence variables are not scored).
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Examples scored.
    pub examples: usize,
    /// Fraction of free variables whose predicted label is wrong.
    pub per_variable_error: f64,
    /// Fraction of examples with at least one wrong free variable.
    pub structure_error: f64,
    /// Mean of `E(truth) - E(prediction)`: positive when the model prefers a wrong
    /// labeling (or its decoder found one below the truth), 0 when it prefers the truth.
    pub energy_gap: f64,
    /// Decodes that fell back to a weaker method.
    pub fallbacks: usize,
}

/// Decode every example with `method` and score the predictions; example `i` is decoded
/// with seed `options.seed + i`. Parallel over examples; the result does not depend on
/// the number of threads.
///
/// # Errors
///
/// [`LearnError::InvalidSetting`] when `weights` do not fit the templates or the MAP
/// method refuses its options, [`LearnError::Inference`] when a decode fails.
pub fn evaluate(
    templates: &TemplateSet,
    examples: &[Example],
    weights: &[f64],
    method: Method,
    options: &SolveOptions,
) -> Result<Evaluation, LearnError> {
    let scored: Vec<(usize, usize, f64, bool)> = examples
        .par_iter()
        .enumerate()
        .map(|(i, example)| {
            let model = instantiate(templates, example, weights, false)?;
            let options = SolveOptions {
                seed: options.seed.wrapping_add(i as u64),
                ..*options
            };
            let decoded = solve(&model, method, &options)?;
            let labels = &decoded.solution.assignment;
            let wrong = hamming_loss(example, labels, &example.labels);
            let free = (0..example.labels.len())
                .filter(|&v| example.given(v).is_none())
                .count();
            let gap = energy(templates, example, weights, &example.labels)
                - energy(templates, example, weights, labels);
            Ok((wrong, free, gap, decoded.fallback))
        })
        .collect::<Result<_, LearnError>>()?;
    let n = scored.len().max(1) as f64;
    let wrong: usize = scored.iter().map(|s| s.0).sum();
    let free: usize = scored.iter().map(|s| s.1).sum();
    Ok(Evaluation {
        examples: scored.len(),
        per_variable_error: wrong as f64 / free.max(1) as f64,
        structure_error: scored.iter().filter(|s| s.0 > 0).count() as f64 / n,
        energy_gap: scored.iter().map(|s| s.2).sum::<f64>() / n,
        fallbacks: scored.iter().filter(|s| s.3).count(),
    })
}
