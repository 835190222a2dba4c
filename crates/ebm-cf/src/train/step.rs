//! One case's contribution to a CD-T gradient: Gibbs steps in that case's RBM only.

use super::gradients::Gradients;
use crate::CfRbm;
use ebm_kernels::rng::{StreamRng, fill_u32};
use ebm_kernels::sampling::{bernoulli, unit_f32};
use ebm_kernels::vector::{add_difference, axpy, categorical, dot, softmax_in_place};

/// Scratch buffers for one case, sized for the longest case; reused without allocation.
pub(crate) struct CaseWorkspace {
    base_input: Vec<f32>,
    data_probs: Vec<f32>,
    hidden_states: Vec<f32>,
    model_probs: Vec<f32>,
    level_probs: Vec<f32>,
    sampled_levels: Vec<u8>,
    bits: Vec<u32>,
}

impl CaseWorkspace {
    pub(crate) fn new(n_hidden: usize, n_levels: usize, max_case_len: usize) -> Self {
        Self {
            base_input: vec![0.0; n_hidden],
            data_probs: vec![0.0; n_hidden],
            hidden_states: vec![0.0; n_hidden],
            model_probs: vec![0.0; n_hidden],
            level_probs: vec![0.0; max_case_len * n_levels],
            sampled_levels: vec![0; max_case_len],
            bits: vec![0; n_hidden.max(max_case_len)],
        }
    }
}

/// One case of the CD-T gradient, added into `grads`.
///
/// The positive phase takes the hidden probabilities given the case's ratings. The chain
/// then alternates sampled hidden states and sampled levels of the rated units `steps`
/// times; the last visible step keeps the level probabilities (mean field) and the last
/// hidden step the probabilities, which lowers the variance of the negative statistics.
/// Returns the squared error of the final reconstruction's expected ratings.
#[allow(clippy::too_many_arguments)]
pub(crate) fn contrastive_divergence_case(
    rbm: &CfRbm,
    units: &[u32],
    levels: &[u8],
    implicit: &[u32],
    steps: usize,
    level_values: &[f32],
    rng: &mut StreamRng,
    ws: &mut CaseWorkspace,
    grads: &mut Gradients,
) -> f64 {
    let n_levels = rbm.n_levels();
    let n_hidden = rbm.n_hidden();
    let len = units.len();
    rbm.implicit_input(implicit, &mut ws.base_input);
    ws.data_probs.copy_from_slice(&ws.base_input);
    rbm.add_rating_input(units, levels, &mut ws.data_probs);
    CfRbm::hidden_probabilities_in_place(&mut ws.data_probs);
    fill_u32(rng, &mut ws.bits[..n_hidden]);
    bernoulli(&ws.data_probs, &ws.bits, &mut ws.hidden_states);

    let level_probs = &mut ws.level_probs[..len * n_levels];
    for step in 1..=steps {
        // Visible units given the hidden states.
        for (&unit, probs) in units.iter().zip(level_probs.chunks_exact_mut(n_levels)) {
            let bias = rbm.unit_bias(unit);
            for (k, p) in probs.iter_mut().enumerate() {
                *p = bias[k] + dot(&ws.hidden_states, rbm.weight_row(unit, k as u8));
            }
            softmax_in_place(probs);
        }
        ws.model_probs.copy_from_slice(&ws.base_input);
        if step < steps {
            fill_u32(rng, &mut ws.bits[..len]);
            for ((&unit, probs), (level, &bits)) in units
                .iter()
                .zip(level_probs.chunks_exact(n_levels))
                .zip(ws.sampled_levels.iter_mut().zip(&ws.bits))
            {
                *level = categorical(probs, unit_f32(bits)) as u8;
                axpy(&mut ws.model_probs, 1.0, rbm.weight_row(unit, *level));
            }
            CfRbm::hidden_probabilities_in_place(&mut ws.model_probs);
            fill_u32(rng, &mut ws.bits[..n_hidden]);
            bernoulli(&ws.model_probs, &ws.bits, &mut ws.hidden_states);
        } else {
            for (&unit, probs) in units.iter().zip(level_probs.chunks_exact(n_levels)) {
                for (k, &q) in probs.iter().enumerate() {
                    axpy(&mut ws.model_probs, q, rbm.weight_row(unit, k as u8));
                }
            }
            CfRbm::hidden_probabilities_in_place(&mut ws.model_probs);
        }
    }

    // Positive minus negative statistics.
    let mut squared_error = 0.0f64;
    for ((&unit, &level), probs) in units
        .iter()
        .zip(levels)
        .zip(level_probs.chunks_exact(n_levels))
    {
        let row = grads.weights.row_mut(unit);
        for (k, (segment, &q)) in row.chunks_exact_mut(n_hidden).zip(probs).enumerate() {
            if k == level as usize {
                axpy(segment, 1.0, &ws.data_probs);
            }
            axpy(segment, -q, &ws.model_probs);
        }
        let bias = grads.visible_bias.row_mut(unit);
        let mut expected = 0.0f32;
        for (k, (b, &q)) in bias.iter_mut().zip(probs).enumerate() {
            *b -= q;
            expected += q * level_values[k];
        }
        bias[level as usize] += 1.0;
        let error = (expected - level_values[level as usize]) as f64;
        squared_error += error * error;
    }
    add_difference(&mut grads.hidden_bias, &ws.data_probs, &ws.model_probs);
    if let Some(implicit_grads) = &mut grads.implicit_weights {
        for &unit in implicit {
            add_difference(
                implicit_grads.row_mut(unit),
                &ws.data_probs,
                &ws.model_probs,
            );
        }
    }
    squared_error
}
