//! Training a Gaussian-Bernoulli RBM: CD-k and PCD-k (with learned or fixed variances),
//! or denoising score matching (variances fixed at 1 in standardized units), where the
//! model's score `∇ ln p(v) = -∇F(v)` has a closed form and no sampling is needed.

use super::GaussianRbm;
use crate::RbmError;
use ebm_data::Dataset;
use ebm_kernels::activation::sigmoid_in_place;
use ebm_kernels::gemm::gemm;
use ebm_kernels::rng::{self, StreamRng, fill_u32, normal_f64, stream};
use ebm_kernels::sampling::bernoulli_in_place;
use ebm_kernels::update::momentum_step;
use ebm_kernels::{MatMut, MatRef, Parallelism};

/// How the gradient is obtained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GaussianMethod {
    /// CD-k from the data.
    ContrastiveDivergence,
    /// Persistent chains (one per batch row).
    Persistent,
    /// Denoising score matching with Gaussian corruption of this standard deviation
    /// (standardized units); variances stay at 1.
    DenoisingScoreMatching {
        /// Corruption noise.
        noise_std: f32,
    },
}

/// Settings of a training run.
#[derive(Clone, Debug)]
pub struct GaussianTrainConfig {
    /// Hidden units.
    pub n_hidden: usize,
    /// Gradient method.
    pub method: GaussianMethod,
    /// Gibbs steps for CD / PCD.
    pub gibbs_steps: usize,
    /// Learn the per-visible variances (CD / PCD only).
    pub learn_variance: bool,
    /// Passes over the data.
    pub epochs: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// Learning rate.
    pub learning_rate: f32,
    /// Momentum.
    pub momentum: f32,
    /// L2 weight decay of W.
    pub weight_decay: f32,
    /// Standard deviation of the initial weights.
    pub init_std: f32,
    /// Seed.
    pub seed: u64,
    /// Threads.
    pub threads: usize,
}

impl Default for GaussianTrainConfig {
    fn default() -> Self {
        Self {
            n_hidden: 200,
            method: GaussianMethod::ContrastiveDivergence,
            gibbs_steps: 1,
            learn_variance: true,
            epochs: 10,
            batch_size: 100,
            learning_rate: 0.001,
            momentum: 0.5,
            weight_decay: 0.0,
            init_std: 0.01,
            seed: 1,
            threads: 1,
        }
    }
}

impl GaussianTrainConfig {
    /// Check every setting; the error names the field.
    pub fn validate(&self) -> Result<(), RbmError> {
        let bad = |setting: &'static str, message: &str| {
            Err(RbmError::InvalidConfig {
                setting,
                message: message.into(),
            })
        };
        if self.n_hidden == 0 {
            return bad("n_hidden", "must be at least 1");
        }
        if self.gibbs_steps == 0 {
            return bad("gibbs_steps", "must be at least 1");
        }
        if self.epochs == 0 || self.batch_size == 0 {
            return bad("epochs", "epochs and batch size must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", "must be a positive number");
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad("momentum", "must be in [0, 1)");
        }
        if let GaussianMethod::DenoisingScoreMatching { noise_std } = self.method
            && !(noise_std.is_finite() && noise_std > 0.0)
        {
            return bad("method", "the score-matching noise must be positive");
        }
        if self.threads == 0 {
            return bad("threads", "must be at least 1");
        }
        Ok(())
    }
}

/// Held-out errors of a model on standardized data: the mean squared error per value of
/// the mean-field reconstruction `E[v | E[h | v]]`, and of denoising (`E[v | E[h | v~]]`
/// against `v` for `v~ = v + noise_std * N(0, 1)`).
pub fn gaussian_heldout_errors(
    model: &GaussianRbm,
    standardized: &Dataset,
    noise_std: f32,
    seed: u64,
) -> (f64, f64) {
    let mut rng = stream(seed, 0, 0);
    let (mut recon, mut denoise) = (0.0f64, 0.0f64);
    let nh = model.n_hidden();
    let reconstruct = |v: &[f32]| -> Vec<f32> {
        let p: Vec<f32> = model
            .hidden_input(v)
            .iter()
            .map(|&a| 1.0 / (1.0 + (-a as f32).exp()))
            .collect();
        (0..model.n_visible())
            .map(|i| {
                model.visible_bias[i]
                    + model.weights[i * nh..(i + 1) * nh]
                        .iter()
                        .zip(&p)
                        .map(|(w, pj)| w * pj)
                        .sum::<f32>()
            })
            .collect()
    };
    for n in 0..standardized.n_examples {
        let v = standardized.row(n);
        recon += reconstruct(v)
            .iter()
            .zip(v)
            .map(|(r, x)| ((r - x) as f64).powi(2))
            .sum::<f64>();
        let noisy: Vec<f32> = v
            .iter()
            .map(|&x| x + noise_std * normal_f64(&mut rng) as f32)
            .collect();
        denoise += reconstruct(&noisy)
            .iter()
            .zip(v)
            .map(|(r, x)| ((r - x) as f64).powi(2))
            .sum::<f64>();
    }
    let count = (standardized.n_examples * standardized.n_features).max(1) as f64;
    (recon / count, denoise / count)
}

struct Buffers {
    v0: Vec<f32>,
    scaled0: Vec<f32>,
    p0: Vec<f32>,
    h: Vec<f32>,
    vk: Vec<f32>,
    scaledk: Vec<f32>,
    pk: Vec<f32>,
    pulls: Vec<f32>,
    bits: Vec<u32>,
    /// Data-phase pulls `P0 W^T` (CD) or score-matching targets (DSM), `rows x nv`.
    pull0: Vec<f32>,
    /// Score-matching residuals, `rows x nv`.
    residual: Vec<f32>,
    /// Score-matching hidden signal `(R W) * p (1 - p)`, `rows x nh`.
    q: Vec<f32>,
    /// Gradients of the visible biases, hidden biases and log-variances.
    grad_b: Vec<f32>,
    grad_c: Vec<f32>,
    grad_z: Vec<f32>,
}

/// Train a new Gaussian RBM on raw `data` (it is standardized inside); `on_epoch` sees
/// each 1-based epoch and the model.
pub fn train_gaussian_rbm(
    config: &GaussianTrainConfig,
    data: &Dataset,
    on_epoch: &mut dyn FnMut(usize, &GaussianRbm),
) -> Result<GaussianRbm, RbmError> {
    config.validate()?;
    if data.n_examples == 0 {
        return Err(RbmError::DataMismatch("no training examples".into()));
    }
    let pool = crate::pool::thread_pool(config.threads)?;
    let par = Parallelism::with_threads(config.threads);
    let mut model = GaussianRbm::initialize(
        data,
        config.n_hidden,
        config.init_std,
        &mut stream(config.seed, u64::MAX, 0),
    );
    let standardized = model.standardize(data);
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let b = config.batch_size.min(data.n_examples);
    let mut buf = Buffers {
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
        grad_b: vec![0.0; nv],
        grad_c: vec![0.0; nh],
        grad_z: vec![0.0; nv],
    };
    // Persistent chains start at random data rows.
    let mut persistent: Vec<f32> = {
        let mut r = stream(config.seed, u64::MAX, 1);
        (0..b)
            .flat_map(|_| {
                standardized
                    .row(rng::index(&mut r, data.n_examples))
                    .to_vec()
            })
            .collect()
    };
    let mut grad_w = vec![0.0f32; nv * nh];
    let (mut vel_w, mut vel_b, mut vel_c, mut vel_z) = (
        vec![0.0f32; nv * nh],
        vec![0.0f32; nv],
        vec![0.0f32; nh],
        vec![0.0f32; nv],
    );
    let mut order: Vec<usize> = (0..data.n_examples).collect();
    for epoch in 0..config.epochs {
        order.sort_unstable();
        rng::shuffle(&mut stream(config.seed, epoch as u64, u64::MAX), &mut order);
        for (batch_index, rows) in order.chunks(b).enumerate() {
            if rows.len() < b {
                continue; // keep every batch the same size (and the chains aligned)
            }
            for (k, &row) in rows.iter().enumerate() {
                buf.v0[k * nv..(k + 1) * nv].copy_from_slice(standardized.row(row));
            }
            let mut rng = stream(config.seed, epoch as u64, batch_index as u64);
            pool.install(|| match config.method {
                GaussianMethod::DenoisingScoreMatching { noise_std } => {
                    score_matching_gradient(&model, &mut buf, noise_std, &mut rng, &mut grad_w, par)
                }
                method => {
                    if method == GaussianMethod::Persistent {
                        buf.vk.copy_from_slice(&persistent);
                    } else {
                        buf.vk.copy_from_slice(&buf.v0);
                    }
                    contrastive_gradient(
                        &model,
                        &mut buf,
                        config,
                        method,
                        &mut rng,
                        &mut grad_w,
                        par,
                    );
                    if method == GaussianMethod::Persistent {
                        persistent.copy_from_slice(&buf.vk);
                    }
                }
            });
            let lr = config.learning_rate / b as f32;
            let decay = config.weight_decay * b as f32;
            pool.install(|| {
                momentum_step(
                    &mut model.weights,
                    &mut vel_w,
                    &grad_w,
                    lr,
                    config.momentum,
                    decay,
                    par,
                );
                momentum_step(
                    &mut model.visible_bias,
                    &mut vel_b,
                    &buf.grad_b,
                    lr,
                    config.momentum,
                    0.0,
                    par,
                );
                momentum_step(
                    &mut model.hidden_bias,
                    &mut vel_c,
                    &buf.grad_c,
                    lr,
                    config.momentum,
                    0.0,
                    par,
                );
                if config.learn_variance
                    && !matches!(config.method, GaussianMethod::DenoisingScoreMatching { .. })
                {
                    momentum_step(
                        &mut model.log_variance,
                        &mut vel_z,
                        &buf.grad_z,
                        lr,
                        config.momentum,
                        0.0,
                        par,
                    );
                    // Keep sigma^2 in [e^-6, e^3]: a variance collapsing to zero makes
                    // the likelihood unbounded.
                    for z in &mut model.log_variance {
                        *z = z.clamp(-6.0, 3.0);
                    }
                }
            });
        }
        if model.weights.iter().any(|w| !w.is_finite()) {
            return Err(RbmError::Diverged {
                epoch: epoch + 1,
                reason: "non-finite weights".into(),
                last_good_epoch: epoch,
            });
        }
        on_epoch(epoch + 1, &model);
    }
    Ok(model)
}

/// `out = (v / sigma^2) W + c`, then the sigmoid: hidden probabilities of a batch.
fn hidden_probabilities(
    model: &GaussianRbm,
    v: &[f32],
    scaled: &mut [f32],
    out: &mut [f32],
    par: Parallelism,
) {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let rows = v.len() / nv;
    let inverse_variance: Vec<f32> = model.log_variance.iter().map(|&z| (-z).exp()).collect();
    for (s_row, v_row) in scaled.chunks_exact_mut(nv).zip(v.chunks_exact(nv)) {
        for ((s, &x), &iv) in s_row.iter_mut().zip(v_row).zip(&inverse_variance) {
            *s = x * iv;
        }
    }
    for row in out.chunks_exact_mut(nh) {
        row.copy_from_slice(&model.hidden_bias);
    }
    gemm(
        1.0,
        &mut MatMut::from_row_major(out, rows, nh),
        1.0,
        MatRef::from_row_major(scaled, rows, nv),
        MatRef::from_row_major(&model.weights, nv, nh),
        par,
    );
    sigmoid_in_place(out);
}

/// `out = h W^T` (the pull of the hidden units on each visible unit).
fn pulls(model: &GaussianRbm, h: &[f32], out: &mut [f32], par: Parallelism) {
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

/// CD-k / PCD-k gradient (ascent direction) of W into `grad_w`; returns those of b, c, z.
fn contrastive_gradient(
    model: &GaussianRbm,
    buf: &mut Buffers,
    config: &GaussianTrainConfig,
    method: GaussianMethod,
    rng: &mut StreamRng,
    grad_w: &mut [f32],
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
    buf.grad_b.fill(0.0);
    buf.grad_c.fill(0.0);
    buf.grad_z.fill(0.0);
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
        for ((gb, gz), (((&x0, &xk), (&pull0, &pullk)), (&bi, &iv))) in
            buf.grad_b.iter_mut().zip(buf.grad_z.iter_mut()).zip(terms)
        {
            *gb += (x0 - xk) * iv;
            let data_term = 0.5 * (x0 - bi).powi(2) - x0 * pull0;
            let model_term = 0.5 * (xk - bi).powi(2) - xk * pullk;
            *gz += iv * (data_term - model_term);
        }
        let (p0, pk) = (&buf.p0[k * nh..(k + 1) * nh], &buf.pk[k * nh..(k + 1) * nh]);
        ebm_kernels::vector::add_difference(&mut buf.grad_c, p0, pk);
    }
}

/// Denoising score matching gradient (the descent direction negated, so the caller's
/// ascent update lowers the loss) with unit variances.
fn score_matching_gradient(
    model: &GaussianRbm,
    buf: &mut Buffers,
    noise_std: f32,
    rng: &mut StreamRng,
    grad_w: &mut [f32],
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
    gemm(
        0.0,
        &mut MatMut::from_row_major(q, rows, nh),
        1.0,
        MatRef::from_row_major(residual, rows, nv),
        MatRef::from_row_major(&model.weights, nv, nh),
        par,
    );
    for (qv, &p) in q.iter_mut().zip(&buf.pk) {
        *qv *= p * (1.0 - p);
    }
    // dL/dW = R^T P + V~^T Q; the update wants -dL/dW.
    gemm(
        0.0,
        &mut MatMut::from_row_major(grad_w, nv, nh),
        -1.0,
        MatRef::from_row_major(residual, rows, nv).t(),
        MatRef::from_row_major(&buf.pk, rows, nh),
        par,
    );
    gemm(
        1.0,
        &mut MatMut::from_row_major(grad_w, nv, nh),
        -1.0,
        MatRef::from_row_major(&buf.vk, rows, nv).t(),
        MatRef::from_row_major(q, rows, nh),
        par,
    );
    buf.grad_b.fill(0.0);
    buf.grad_c.fill(0.0);
    buf.grad_z.fill(0.0); // variances stay at 1
    for k in 0..rows {
        for (g, &r) in buf.grad_b.iter_mut().zip(&residual[k * nv..(k + 1) * nv]) {
            *g -= r;
        }
        for (g, &qv) in buf.grad_c.iter_mut().zip(&q[k * nh..(k + 1) * nh]) {
            *g -= qv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clusters in 4-D: CD (learned variances), PCD and score matching all lower the
    /// held-out reconstruction error well below that of the untrained model.
    #[test]
    fn every_method_learns_two_clusters() {
        let mut r = stream(5, 0, 0);
        let mut features = Vec::new();
        for n in 0..400 {
            let center = if n % 2 == 0 {
                [2.0, 2.0, -1.0, 0.0]
            } else {
                [-2.0, 0.0, 1.0, 3.0]
            };
            for c in center {
                features.push(c + 0.3 * normal_f64(&mut r) as f32);
            }
        }
        let data = Dataset {
            features,
            n_examples: 400,
            n_features: 4,
            image_shape: None,
            labels: None,
        };
        for method in [
            GaussianMethod::ContrastiveDivergence,
            GaussianMethod::Persistent,
            GaussianMethod::DenoisingScoreMatching { noise_std: 0.3 },
        ] {
            let config = GaussianTrainConfig {
                n_hidden: 6,
                method,
                epochs: 60,
                batch_size: 20,
                learning_rate: 0.05,
                init_std: 0.1,
                learn_variance: method == GaussianMethod::ContrastiveDivergence,
                ..GaussianTrainConfig::default()
            };
            let untrained = GaussianRbm::initialize(&data, 6, 0.1, &mut stream(1, u64::MAX, 0));
            let model = train_gaussian_rbm(&config, &data, &mut |_, _| {}).unwrap();
            let standardized = model.standardize(&data);
            let (before, _) = gaussian_heldout_errors(&untrained, &standardized, 0.3, 1);
            let (after, _) = gaussian_heldout_errors(&model, &standardized, 0.3, 1);
            // Standardized data: the untrained model reconstructs ~0 (error ~1); the two
            // clusters explain 1 - 0.3^2 / var of it, so a trained model must halve it.
            assert!(after < 0.5 * before, "{method:?}: {before} -> {after}");
        }
    }
}
