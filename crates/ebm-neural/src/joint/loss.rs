//! The joint model's batch loss and its gradient with respect to the logits: the mean
//! cross-entropy of `p(y | x)`, plus `w (mean E(x_data) - mean E(x_sgld))`, plus the
//! penalty `alpha (mean E(x_data)^2 + mean E(x_sgld)^2)`, with `E(x) = -logsumexp f(x)`
//! (without negatives, the cross-entropy alone).

use super::logsumexp;
use ebm_core::calibration::most_probable;

/// The weights of the generative terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossWeights {
    /// `w` of the energy gap.
    pub generative_weight: f32,
    /// `alpha` of the energy-magnitude penalty.
    pub energy_regularization: f32,
}

/// What one batch's loss is made of (sums over its rows).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchTerms {
    /// The batch loss (per data row).
    pub loss: f64,
    /// Summed cross-entropy of the data rows.
    pub cross_entropy: f64,
    /// Summed `E(x)` of the data rows.
    pub data_energy: f64,
    /// Summed `E(x)` of the negatives.
    pub sample_energy: f64,
    /// Data rows whose most probable class is not their label.
    pub wrong: usize,
}

/// The loss of a batch whose `logits` (`m x k`) are those of `labels.len() = n` data rows
/// then `m - n` negatives, with its gradient with respect to the logits in `upstream`
/// (`m x k`).
pub fn jem_loss(
    logits: &[f32],
    k: usize,
    labels: &[usize],
    weights: LossWeights,
    upstream: &mut [f32],
) -> BatchTerms {
    let n = labels.len();
    let negatives = logits.len() / k - n;
    let (weight, alpha) = if negatives > 0 {
        (weights.generative_weight, weights.energy_regularization)
    } else {
        (0.0, 0.0)
    };
    let inv = 1.0 / n as f32;
    let mut terms = BatchTerms::default();
    let mut squares = 0.0f64;
    for (i, (u, logit)) in upstream
        .chunks_exact_mut(k)
        .zip(logits.chunks_exact(k))
        .enumerate()
    {
        let lse = logsumexp(logit);
        let energy = -lse;
        squares += f64::from(energy).powi(2);
        // dL/dE of this row (the energy gap and the penalty), and its class.
        let (d_energy, class) = if i < n {
            let y = labels[i];
            terms.cross_entropy += f64::from(lse - logit[y]);
            terms.wrong += usize::from(most_probable(logit) != y);
            terms.data_energy += f64::from(energy);
            (weight + 2.0 * alpha * energy, Some(y))
        } else {
            terms.sample_energy += f64::from(energy);
            (-weight + 2.0 * alpha * energy, None)
        };
        // dE/dlogit = -softmax; the cross-entropy adds softmax - onehot.
        let ce = if class.is_some() { 1.0 } else { 0.0 };
        for (j, (uj, &l)) in u.iter_mut().zip(logit).enumerate() {
            let p = (l - lse).exp();
            let onehot = if Some(j) == class { 1.0 } else { 0.0 };
            *uj = inv * (ce * (p - onehot) - d_energy * p);
        }
    }
    terms.loss = (terms.cross_entropy
        + f64::from(weight) * (terms.data_energy - terms.sample_energy)
        + f64::from(alpha) * squares)
        / n as f64;
    terms
}
