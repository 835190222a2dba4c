//! The class RBM's minibatch gradient: the exact gradient of `ln p(y | x)` and CD-1 (or
//! persistent CD) on the joint `(x, y)`, weighted by the objective; rows are scored in parallel and all sums run
//! in a fixed order, so results do not depend on the thread count.

use super::persistent::{PersistentChains, add_data_statistics};
use super::train::ClassTrainConfig;
use super::{ClassRbm, softplus};
use ebm_kernels::activation::{sigmoid_in_place, sigmoid_scalar};
use ebm_kernels::gemm::gemm;
use ebm_kernels::rng::{StreamRng, fill_u32};
use ebm_kernels::sampling::bernoulli;
use ebm_kernels::vector::softmax_in_place;
use ebm_kernels::{MatMut, MatRef, Parallelism};
use rayon::prelude::*;

/// Scratch buffers of one minibatch.
pub(super) struct Batch {
    pub(super) inputs: Vec<f32>,
    pub(super) labels: Vec<u8>,
    pub(super) hidden_input: Vec<f32>,
    /// `sigmoid(A_n + U_y)` for every row and class, `rows x classes x hidden`.
    pub(super) class_sigmoids: Vec<f32>,
    pub(super) class_probs: Vec<f32>,
    /// `lambda G + alpha P0`, multiplied by the inputs for the `W` gradient.
    pub(super) hidden_signal: Vec<f32>,
    pub(super) positive_hidden: Vec<f32>,
    pub(super) hidden_states: Vec<f32>,
    pub(super) reconstruction: Vec<f32>,
    pub(super) recon_class_probs: Vec<f32>,
    pub(super) negative_hidden: Vec<f32>,
    pub(super) bits: Vec<u32>,
    /// The generative part's persistent chains, when training keeps them.
    pub(super) chains: Option<PersistentChains>,
}

impl Batch {
    /// Buffers for batches of up to `rows` examples.
    pub(super) fn new(rows: usize, n_visible: usize, n_hidden: usize, n_classes: usize) -> Self {
        let (b, v, h, c) = (rows, n_visible, n_hidden, n_classes);
        Self {
            inputs: vec![0.0; b * v],
            labels: vec![0; b],
            hidden_input: vec![0.0; b * h],
            class_sigmoids: vec![0.0; b * c * h],
            class_probs: vec![0.0; b * c],
            hidden_signal: vec![0.0; b * h],
            positive_hidden: vec![0.0; b * h],
            hidden_states: vec![0.0; b * h],
            reconstruction: vec![0.0; b * v],
            recon_class_probs: vec![0.0; b * c],
            negative_hidden: vec![0.0; b * h],
            bits: vec![0; b * h],
            chains: None,
        }
    }
}

/// A zero gradient, in the model's own shape.
pub(super) fn zero_gradient(m: &ClassRbm) -> ClassRbm {
    let (v, h, c) = (m.n_visible(), m.n_hidden(), m.n_classes());
    // Weights drawn with standard deviation 0 are zeros.
    ClassRbm::initialize(v, h, c, 0.0, &mut ebm_kernels::rng::stream(0, 0, 0))
}

/// Fill `grads` with the minibatch's gradient (sums over its `n` rows), the generative
/// part's negative phase from the batch's persistent chains when it has them; returns how
/// many rows the model misclassified before the update.
pub(super) fn batch_gradient(
    m: &ClassRbm,
    batch: &mut Batch,
    n: usize,
    config: &ClassTrainConfig,
    rng: &mut StreamRng,
    grads: &mut ClassRbm,
    par: Parallelism,
) -> usize {
    let (v, h, c) = (m.n_visible, m.n_hidden, m.n_classes);
    let (discriminative, generative) = config.objective.weights();
    let inputs = &batch.inputs[..n * v];
    let labels = &batch.labels[..n];
    m.hidden_inputs(inputs, &mut batch.hidden_input[..n * h], par);

    // Per row: sigmoid(A + U_y) and p(y | x) for every class; the discriminative hidden
    // signal G = sigma_true - sum_y p_y sigma_y plus alpha times the positive phase.
    let wrong: usize = batch.hidden_input[..n * h]
        .par_chunks(h)
        .zip(batch.class_sigmoids[..n * c * h].par_chunks_mut(c * h))
        .zip(batch.class_probs[..n * c].par_chunks_mut(c))
        .zip(batch.hidden_signal[..n * h].par_chunks_mut(h))
        .zip(batch.positive_hidden[..n * h].par_chunks_mut(h))
        .zip(labels.par_iter())
        .map(|(((((a, sig), probs), signal), positive), &label)| {
            for (y, (s, p)) in sig.chunks_exact_mut(h).zip(probs.iter_mut()).enumerate() {
                let u = &m.class_weights[y * h..(y + 1) * h];
                let mut total = m.class_bias[y];
                for ((sj, &aj), &uj) in s.iter_mut().zip(a).zip(u) {
                    let o = aj + uj;
                    total += softplus(o);
                    *sj = sigmoid_scalar(o);
                }
                *p = total;
            }
            let predicted = probs
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (y, &s)| {
                    if s > best.1 { (y, s) } else { best }
                })
                .0;
            softmax_in_place(probs);
            let label = label as usize;
            positive.copy_from_slice(&sig[label * h..(label + 1) * h]);
            for (j, g) in signal.iter_mut().enumerate() {
                let expected: f32 = (0..c).map(|y| probs[y] * sig[y * h + j]).sum();
                *g = discriminative * (positive[j] - expected) + generative * positive[j];
            }
            (predicted != label) as usize
        })
        .sum();

    // Discriminative parts of the class weights and biases, and the hidden biases.
    grads.class_bias.fill(0.0);
    grads.hidden_bias.fill(0.0);
    grads.visible_bias.fill(0.0);
    grads
        .class_weights
        .par_chunks_mut(h)
        .enumerate()
        .for_each(|(y, du)| {
            du.fill(0.0);
            if discriminative > 0.0 {
                for (k, &label) in labels.iter().enumerate() {
                    let target = (label as usize == y) as u8 as f32;
                    let coefficient = discriminative * (target - batch.class_probs[k * c + y]);
                    let sig = &batch.class_sigmoids[(k * c + y) * h..(k * c + y + 1) * h];
                    for (d, &s) in du.iter_mut().zip(sig) {
                        *d += coefficient * s;
                    }
                }
            }
        });
    for (k, &label) in labels.iter().enumerate() {
        let probs = &batch.class_probs[k * c..(k + 1) * c];
        for (y, (g, &p)) in grads.class_bias.iter_mut().zip(probs).enumerate() {
            let target = (label as usize == y) as u8 as f32;
            *g += discriminative * (target - p);
        }
        let signal = &batch.hidden_signal[k * h..(k + 1) * h];
        let positive = &batch.positive_hidden[k * h..(k + 1) * h];
        // The W signal includes alpha * P0; the hidden bias's generative part is added
        // with the negative phase below.
        for ((g, &s), &p) in grads.hidden_bias.iter_mut().zip(signal).zip(positive) {
            *g += s - generative * p;
        }
    }
    // dW = X^T (lambda G + alpha P0) (- alpha X1^T P1 below).
    gemm(
        0.0,
        &mut MatMut::from_row_major(&mut grads.weights, v, h),
        1.0,
        MatRef::from_row_major(inputs, n, v).t(),
        MatRef::from_row_major(&batch.hidden_signal[..n * h], n, h),
        par,
    );
    if generative > 0.0 {
        match batch.chains.as_mut() {
            Some(chains) => {
                add_data_statistics(
                    inputs,
                    labels,
                    &batch.positive_hidden[..n * h],
                    generative,
                    grads,
                );
                chains.advance(m, 1, rng, par);
                // The chains' statistics stand for the batch's n rows.
                let weight = generative * n as f32 / chains.len() as f32;
                chains.subtract_statistics(m, weight, grads, par);
            }
            None => generative_phase(m, batch, n, generative, rng, grads, par),
        }
    }
    wrong
}

/// CD-1 on the joint `(x, y)`, weighted by `alpha`, added into `grads` (the positive
/// `W` term is already in).
fn generative_phase(
    m: &ClassRbm,
    batch: &mut Batch,
    n: usize,
    alpha: f32,
    rng: &mut StreamRng,
    grads: &mut ClassRbm,
    par: Parallelism,
) {
    let (v, h, c) = (m.n_visible, m.n_hidden, m.n_classes);
    fill_u32(rng, &mut batch.bits[..n * h]);
    bernoulli(
        &batch.positive_hidden[..n * h],
        &batch.bits[..n * h],
        &mut batch.hidden_states[..n * h],
    );
    // X1 = sigmoid(b + H0 W^T).
    let recon = &mut batch.reconstruction[..n * v];
    for row in recon.chunks_exact_mut(v) {
        row.copy_from_slice(&m.visible_bias);
    }
    gemm(
        1.0,
        &mut MatMut::from_row_major(recon, n, v),
        1.0,
        MatRef::from_row_major(&batch.hidden_states[..n * h], n, h),
        MatRef::from_row_major(&m.weights, v, h).t(),
        par,
    );
    sigmoid_in_place(recon);
    // Y1 = softmax(d + U H0), then P1 = sigmoid(c + X1 W + sum_y Y1_y U_y).
    for k in 0..n {
        let states = &batch.hidden_states[k * h..(k + 1) * h];
        let probs = &mut batch.recon_class_probs[k * c..(k + 1) * c];
        for (y, p) in probs.iter_mut().enumerate() {
            let u = &m.class_weights[y * h..(y + 1) * h];
            *p = m.class_bias[y] + u.iter().zip(states).map(|(a, b)| a * b).sum::<f32>();
        }
        softmax_in_place(probs);
    }
    m.hidden_inputs(recon, &mut batch.negative_hidden[..n * h], par);
    for k in 0..n {
        let negative = &mut batch.negative_hidden[k * h..(k + 1) * h];
        for y in 0..c {
            let q = batch.recon_class_probs[k * c + y];
            let u = &m.class_weights[y * h..(y + 1) * h];
            for (a, &uj) in negative.iter_mut().zip(u) {
                *a += q * uj;
            }
        }
        sigmoid_in_place(negative);
    }
    gemm(
        1.0,
        &mut MatMut::from_row_major(&mut grads.weights, v, h),
        -alpha,
        MatRef::from_row_major(recon, n, v).t(),
        MatRef::from_row_major(&batch.negative_hidden[..n * h], n, h),
        par,
    );
    for k in 0..n {
        let x0 = &batch.inputs[k * v..(k + 1) * v];
        let x1 = &batch.reconstruction[k * v..(k + 1) * v];
        for ((g, &a), &b) in grads.visible_bias.iter_mut().zip(x0).zip(x1) {
            *g += alpha * (a - b);
        }
        let p0 = &batch.positive_hidden[k * h..(k + 1) * h];
        let p1 = &batch.negative_hidden[k * h..(k + 1) * h];
        for ((g, &a), &b) in grads.hidden_bias.iter_mut().zip(p0).zip(p1) {
            *g += alpha * (a - b);
        }
        let label = batch.labels[k] as usize;
        for y in 0..c {
            let q = batch.recon_class_probs[k * c + y];
            let target = (y == label) as u8 as f32;
            grads.class_bias[y] += alpha * (target - q);
            let du = &mut grads.class_weights[y * h..(y + 1) * h];
            for ((d, &a), &b) in du.iter_mut().zip(p0).zip(p1) {
                *d += alpha * (target * a - q * b);
            }
        }
    }
}
