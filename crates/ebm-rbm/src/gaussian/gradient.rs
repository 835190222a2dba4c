//! The Gaussian RBM's minibatch gradients: CD-k / PCD-k (with learned variances) and
//! denoising score matching, on preallocated buffers (sliced score matching, which shares
//! the buffers and the layer products, is in `sliced`).

use super::GaussianRbm;
use super::train::{GaussianMethod, GaussianTrainConfig};
use ebm_kernels::activation::sigmoid_in_place;
use ebm_kernels::gemm::{gemm, rows_times};
use ebm_kernels::rng::{StreamRng, fill_u32, normal_f64};
use ebm_kernels::sampling::bernoulli_in_place;
use ebm_kernels::{MatMut, MatRef, Parallelism};

/// Scratch buffers and gradients of one minibatch of `rows` examples.
pub(super) struct Buffers {
    pub(super) v0: Vec<f32>,
    pub(super) scaled0: Vec<f32>,
    pub(super) p0: Vec<f32>,
    pub(super) h: Vec<f32>,
    pub(super) vk: Vec<f32>,
    pub(super) scaledk: Vec<f32>,
    pub(super) pk: Vec<f32>,
    pub(super) pulls: Vec<f32>,
    pub(super) bits: Vec<u32>,
    /// Data-phase pulls `P0 W^T` (CD) or score-matching targets (DSM), `rows x nv`.
    pub(super) pull0: Vec<f32>,
    /// Score-matching residuals, `rows x nv`.
    pub(super) residual: Vec<f32>,
    /// Score-matching hidden signal `(R W) * p (1 - p)`, `rows x nh`.
    pub(super) q: Vec<f32>,
    /// The gradient, in the model's own shape (weights, visible biases, hidden biases and
    /// log-variances; the standardization is not trained).
    pub(super) grad: GaussianRbm,
}

impl Buffers {
    /// Buffers for batches of `rows` examples of a model shaped like `model`.
    pub(super) fn new(rows: usize, model: &GaussianRbm) -> Self {
        let (b, nv, nh) = (rows, model.n_visible(), model.n_hidden());
        Self {
            v0: vec![0.0; b * nv],
            scaled0: vec![0.0; b * nv],
            p0: vec![0.0; b * nh],
            h: vec![0.0; b * nh],
            vk: vec![0.0; b * nv],
            scaledk: vec![0.0; b * nv],
            pk: vec![0.0; b * nh],
            pulls: vec![0.0; b * nv],
            bits: vec![0; b * nh.max(nv)],
            pull0: vec![0.0; b * nv],
            residual: vec![0.0; b * nv],
            q: vec![0.0; b * nh],
            grad: model.zeroed(),
        }
    }
}

/// `out = (v / sigma^2) W + c`, then the sigmoid: hidden probabilities of a batch.
pub(super) fn hidden_probabilities(
    model: &GaussianRbm,
    v: &[f32],
    scaled: &mut [f32],
    out: &mut [f32],
    par: Parallelism,
) {
    model.batch_hidden_inputs(v, scaled, out, par);
    sigmoid_in_place(out);
}

impl GaussianRbm {
    /// `scaled = v / sigma^2` and `out = scaled W + c`: the hidden inputs of a batch of
    /// standardized rows `v`.
    pub(super) fn batch_hidden_inputs(
        &self,
        v: &[f32],
        scaled: &mut [f32],
        out: &mut [f32],
        par: Parallelism,
    ) {
        let model = self;
        let (nv, nh) = (model.n_visible(), model.n_hidden());
        let inverse_variance: Vec<f32> = model.log_variance.iter().map(|&z| (-z).exp()).collect();
        for (s_row, v_row) in scaled.chunks_exact_mut(nv).zip(v.chunks_exact(nv)) {
            for ((s, &x), &iv) in s_row.iter_mut().zip(v_row).zip(&inverse_variance) {
                *s = x * iv;
            }
        }
        for row in out.chunks_exact_mut(nh) {
            row.copy_from_slice(&model.hidden_bias);
        }
        times_weights(model, 1.0, out, scaled, par);
    }
}

/// `out = beta out + x W` for the `rows x n_visible` inputs `x` (`out` is `rows x n_hidden`).
pub(super) fn times_weights(
    model: &GaussianRbm,
    beta: f32,
    out: &mut [f32],
    x: &[f32],
    par: Parallelism,
) {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let w = MatRef::from_row_major(&model.weights, nv, nh);
    rows_times(beta, out, x, x.len() / nv, w, par);
}

/// `out = h W^T` (the pull of the hidden units on each visible unit).
pub(super) fn pulls(model: &GaussianRbm, h: &[f32], out: &mut [f32], par: Parallelism) {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let rows = h.len() / nh;
    gemm(
        0.0,
        &mut MatMut::from_row_major(out, rows, nv),
        1.0,
        MatRef::from_row_major(h, rows, nh),
        MatRef::from_row_major(&model.weights, nv, nh).t(),
        par,
    );
}

/// CD-k / PCD-k gradient (ascent direction) of W, b, c and z into `buf`.
pub(super) fn contrastive_gradient(
    model: &GaussianRbm,
    buf: &mut Buffers,
    config: &GaussianTrainConfig,
    method: GaussianMethod,
    rng: &mut StreamRng,
    par: Parallelism,
) {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let rows = buf.v0.len() / nv;
    let sigma = model.visible_std();
    hidden_probabilities(model, &buf.v0, &mut buf.scaled0, &mut buf.p0, par);
    // The chain starts at the data (CD) or at the persistent states (PCD, in buf.vk).
    if method == GaussianMethod::ContrastiveDivergence {
        buf.h.copy_from_slice(&buf.p0);
    } else {
        let (vk, scaled, h) = (&buf.vk, &mut buf.scaledk, &mut buf.h);
        hidden_probabilities(model, vk, scaled, h, par);
    }
    for _ in 0..config.gibbs_steps {
        fill_u32(rng, &mut buf.bits[..rows * nh]);
        bernoulli_in_place(&mut buf.h, &buf.bits);
        pulls(model, &buf.h, &mut buf.pulls, par);
        for (v_row, pull_row) in buf.vk.chunks_exact_mut(nv).zip(buf.pulls.chunks_exact(nv)) {
            for (i, (v, &pull)) in v_row.iter_mut().zip(pull_row).enumerate() {
                *v = model.visible_bias[i] + pull + sigma[i] * normal_f64(rng) as f32;
            }
        }
        hidden_probabilities(model, &buf.vk, &mut buf.scaledk, &mut buf.h, par);
    }
    buf.pk.copy_from_slice(&buf.h);
    contrastive_statistics(model, buf, par);
}

/// The contrastive gradient (ascent direction) of W, b, c and z into `buf.grad`, from the
/// data phase (`v0`, `scaled0 = v0 / sigma^2`, `p0`) and the model phase (`vk`, `scaledk`,
/// `pk`) of `buf`.
pub(super) fn contrastive_statistics(model: &GaussianRbm, buf: &mut Buffers, par: Parallelism) {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let rows = buf.v0.len() / nv;
    let grad_w = &mut buf.grad.weights;
    // dW = S0^T P0 - Sk^T Pk.
    gemm(
        0.0,
        &mut MatMut::from_row_major(grad_w, nv, nh),
        1.0,
        MatRef::from_row_major(&buf.scaled0, rows, nv).t(),
        MatRef::from_row_major(&buf.p0, rows, nh),
        par,
    );
    gemm(
        1.0,
        &mut MatMut::from_row_major(grad_w, nv, nh),
        -1.0,
        MatRef::from_row_major(&buf.scaledk, rows, nv).t(),
        MatRef::from_row_major(&buf.pk, rows, nh),
        par,
    );
    let inverse_variance: Vec<f32> = model.log_variance.iter().map(|&z| (-z).exp()).collect();
    buf.grad.visible_bias.fill(0.0);
    buf.grad.hidden_bias.fill(0.0);
    buf.grad.log_variance.fill(0.0);
    // z gradient: e^-z [ (v - b)^2 / 2 - v (W p) ], data minus model.
    pulls(model, &buf.p0, &mut buf.pull0, par);
    pulls(model, &buf.pk, &mut buf.pulls, par);
    for k in 0..rows {
        let row = k * nv..(k + 1) * nv;
        let terms = buf.v0[row.clone()]
            .iter()
            .zip(&buf.vk[row.clone()])
            .zip(buf.pull0[row.clone()].iter().zip(&buf.pulls[row]))
            .zip(model.visible_bias.iter().zip(&inverse_variance));
        for ((gb, gz), (((&x0, &xk), (&pull0, &pullk)), (&bi, &iv))) in buf
            .grad
            .visible_bias
            .iter_mut()
            .zip(buf.grad.log_variance.iter_mut())
            .zip(terms)
        {
            *gb += (x0 - xk) * iv;
            let data_term = 0.5 * (x0 - bi).powi(2) - x0 * pull0;
            let model_term = 0.5 * (xk - bi).powi(2) - xk * pullk;
            *gz += iv * (data_term - model_term);
        }
        let (p0, pk) = (&buf.p0[k * nh..(k + 1) * nh], &buf.pk[k * nh..(k + 1) * nh]);
        ebm_kernels::vector::add_difference(&mut buf.grad.hidden_bias, p0, pk);
    }
}

/// Denoising score matching gradient (the descent direction negated, so the caller's
/// ascent update lowers the loss) with unit variances.
pub(super) fn score_matching_gradient(
    model: &GaussianRbm,
    buf: &mut Buffers,
    noise_std: f32,
    rng: &mut StreamRng,
    par: Parallelism,
) {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let rows = buf.v0.len() / nv;
    // v~ = v + s eps; target score t = (v - v~) / s^2 = -eps / s (kept in `pull0`).
    let target = &mut buf.pull0;
    for ((noisy, &x), t) in buf.vk.iter_mut().zip(&buf.v0).zip(target.iter_mut()) {
        let eps = normal_f64(rng) as f32;
        *noisy = x + noise_std * eps;
        *t = -eps / noise_std;
    }
    // With unit variances the hidden input is v~ W + c.
    hidden_probabilities(model, &buf.vk, &mut buf.scaledk, &mut buf.pk, par);
    pulls(model, &buf.pk, &mut buf.pulls, par);
    // Residual r = psi(v~) - t, psi = b - v~ + W p.
    let (residual, q) = (&mut buf.residual, &mut buf.q);
    for k in 0..rows {
        for i in 0..nv {
            let idx = k * nv + i;
            residual[idx] = model.visible_bias[i] - buf.vk[idx] + buf.pulls[idx] - buf.pull0[idx];
        }
    }
    // Q = (R W) * p (1 - p).
    times_weights(model, 0.0, q, residual, par);
    for (qv, &p) in q.iter_mut().zip(&buf.pk) {
        *qv *= p * (1.0 - p);
    }
    // dL/dW = R^T P + V~^T Q; the update wants -dL/dW.
    gemm(
        0.0,
        &mut MatMut::from_row_major(&mut buf.grad.weights, nv, nh),
        -1.0,
        MatRef::from_row_major(residual, rows, nv).t(),
        MatRef::from_row_major(&buf.pk, rows, nh),
        par,
    );
    gemm(
        1.0,
        &mut MatMut::from_row_major(&mut buf.grad.weights, nv, nh),
        -1.0,
        MatRef::from_row_major(&buf.vk, rows, nv).t(),
        MatRef::from_row_major(q, rows, nh),
        par,
    );
    score_bias_gradients(&mut buf.grad, residual, q);
}

/// The bias gradients of score matching with unit variances (descent negated): minus
/// the row sums of the visible signal `visible` (`rows x n_visible`) for `b` and of the
/// hidden signal `hidden` (`rows x n_hidden`) for `c`; none for the variances.
pub(super) fn score_bias_gradients(grad: &mut GaussianRbm, visible: &[f32], hidden: &[f32]) {
    let (nv, nh) = (grad.n_visible(), grad.n_hidden());
    grad.visible_bias.fill(0.0);
    grad.hidden_bias.fill(0.0);
    grad.log_variance.fill(0.0); // variances stay at 1
    for (v_row, h_row) in visible.chunks_exact(nv).zip(hidden.chunks_exact(nh)) {
        for (g, &e) in grad.visible_bias.iter_mut().zip(v_row) {
            *g -= e;
        }
        for (g, &a) in grad.hidden_bias.iter_mut().zip(h_row) {
            *g -= a;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::small_model;
    use super::*;

    /// The contrastive statistics of every block, the log-variances included, are
    /// `sum_rows -dF(v0)/dtheta + dF(vk)/dtheta`: checked by central differences of the
    /// free energy (step 1e-3 in the f32 parameters: the error is O(1e-5) plus f32
    /// rounding, well inside 2e-3).
    #[test]
    fn contrastive_statistics_match_finite_differences_of_the_free_energy() {
        let model = small_model(21);
        let mut buf = Buffers::new(2, &model);
        buf.v0.copy_from_slice(&[0.4, -1.2, 0.7, 1.5, 0.2, -0.3]);
        buf.vk.copy_from_slice(&[-0.6, 0.9, 0.1, 0.3, -1.4, 2.0]);
        let par = Parallelism::Sequential;
        hidden_probabilities(&model, &buf.v0, &mut buf.scaled0, &mut buf.p0, par);
        hidden_probabilities(&model, &buf.vk, &mut buf.scaledk, &mut buf.pk, par);
        contrastive_statistics(&model, &mut buf, par);
        let objective = |m: &GaussianRbm| -> f64 {
            (0..2)
                .map(|k| {
                    -m.free_energy(&buf.v0[k * 3..k * 3 + 3])
                        + m.free_energy(&buf.vk[k * 3..k * 3 + 3])
                })
                .sum()
        };
        type Block = fn(&mut GaussianRbm) -> &mut Vec<f32>;
        let blocks: [(&str, Block, &[f32]); 4] = [
            ("W", |m| &mut m.weights, &buf.grad.weights),
            ("b", |m| &mut m.visible_bias, &buf.grad.visible_bias),
            ("c", |m| &mut m.hidden_bias, &buf.grad.hidden_bias),
            ("z", |m| &mut m.log_variance, &buf.grad.log_variance),
        ];
        for (name, block, analytic) in blocks {
            for (i, &g) in analytic.iter().enumerate() {
                let (mut up, mut down) = (model.clone(), model.clone());
                block(&mut up)[i] += 1e-3;
                block(&mut down)[i] -= 1e-3;
                let numeric = (objective(&up) - objective(&down)) / 2e-3;
                assert!(
                    (numeric - g as f64).abs() < 2e-3,
                    "{name}[{i}]: {numeric} vs {g}"
                );
            }
        }
    }
}
