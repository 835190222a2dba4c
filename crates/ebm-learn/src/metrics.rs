//! Test metrics of a learned energy: per-variable error, whole-structure error and the
//! energy gap between the truth and the prediction; and the accuracy of predicted labels
//! against true labels that may include labels the model does not know.

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

/// Predicted labels scored against the truth: per variable (token, pixel) and per
/// structure (sequence, image).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accuracy {
    /// Variables scored.
    pub variables: usize,
    /// Variables whose prediction is the truth.
    pub correct: usize,
    /// Structures scored.
    pub structures: usize,
    /// Structures with every variable right.
    pub structures_correct: usize,
    /// Variables whose true label the model does not know (always wrong).
    pub unknown_truth: usize,
}

impl Accuracy {
    /// Fraction of variables right (1 for none).
    pub fn variable_accuracy(&self) -> f64 {
        if self.variables == 0 {
            1.0
        } else {
            self.correct as f64 / self.variables as f64
        }
    }

    /// Fraction of variables wrong, `(variables - correct) / variables` (0 for none): what
    /// [`Evaluation::per_variable_error`] is for the same predictions.
    pub fn variable_error(&self) -> f64 {
        (self.variables - self.correct) as f64 / self.variables.max(1) as f64
    }

    /// Fraction of structures with a wrong variable (0 for none).
    pub fn structure_error(&self) -> f64 {
        if self.structures == 0 {
            0.0
        } else {
            1.0 - self.structures_correct as f64 / self.structures as f64
        }
    }
}

/// Score `predicted` labelings against `truth` (per structure, per variable; `None`: a
/// true label the model does not know, counted wrong).
///
/// # Panics
///
/// When the two do not have the same shape.
pub fn accuracy(predicted: &[Vec<usize>], truth: &[Vec<Option<usize>>]) -> Accuracy {
    assert_eq!(predicted.len(), truth.len(), "one prediction per structure");
    let mut a = Accuracy {
        variables: 0,
        correct: 0,
        structures: predicted.len(),
        structures_correct: 0,
        unknown_truth: 0,
    };
    for (p, t) in predicted.iter().zip(truth) {
        assert_eq!(p.len(), t.len(), "one prediction per variable");
        let right = p.iter().zip(t).filter(|(p, t)| Some(**p) == **t).count();
        a.variables += t.len();
        a.correct += right;
        a.structures_correct += usize::from(right == t.len());
        a.unknown_truth += t.iter().filter(|t| t.is_none()).count();
    }
    a
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_true_labels_are_wrong_and_counted() {
        let a = accuracy(
            &[vec![0, 1, 2], vec![1]],
            &[vec![Some(0), Some(1), None], vec![Some(1)]],
        );
        assert_eq!((a.variables, a.correct, a.unknown_truth), (4, 3, 1));
        assert_eq!((a.structures, a.structures_correct), (2, 1));
        assert_eq!((a.variable_accuracy(), a.structure_error()), (0.75, 0.5));
    }
}
