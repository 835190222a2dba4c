//! Generative, discriminative and hybrid training of a [`ClassRbm`].
//!
//! The discriminative gradient is the exact gradient of `ln p(y | x)`; the generative one
//! is CD-1 on the joint `(x, y)`; hybrid training follows
//! `∇ ln p(y | x) + alpha ∇ ln p(x, y)` (Larochelle & Bengio 2008). Every minibatch costs
//! four to six GEMMs plus `batch x classes x hidden` softplus terms; rows are scored in
//! parallel and all sums run in a fixed order, so results do not depend on the thread
//! count.

use super::{ClassRbm, softplus};
use crate::RbmError;
use ebm_core::schedule::LearningRateSchedule;
use ebm_data::Dataset;
use ebm_kernels::activation::{sigmoid_in_place, sigmoid_scalar};
use ebm_kernels::gemm::gemm;
use ebm_kernels::rng::{self, fill_u32, stream};
use ebm_kernels::sampling::bernoulli;
use ebm_kernels::update::momentum_step;
use ebm_kernels::vector::softmax_in_place;
use ebm_kernels::{MatMut, MatRef, Parallelism};
use rayon::prelude::*;
use std::time::Instant;

/// What training maximizes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Objective {
    /// `ln p(x, y)` by CD-1.
    Generative,
    /// `ln p(y | x)`, exactly.
    Discriminative,
    /// `ln p(y | x) + generative_weight * ln p(x, y)`.
    Hybrid {
        /// The weight `alpha` of the generative part (Larochelle & Bengio use 0.01).
        generative_weight: f32,
    },
}

impl Objective {
    /// `(discriminative weight, generative weight)`.
    fn weights(self) -> (f32, f32) {
        match self {
            Self::Generative => (0.0, 1.0),
            Self::Discriminative => (1.0, 0.0),
            Self::Hybrid { generative_weight } => (1.0, generative_weight),
        }
    }
}

/// Settings of a training run.
#[derive(Clone, Debug)]
pub struct ClassTrainConfig {
    /// Hidden units.
    pub n_hidden: usize,
    /// Number of classes (labels must be below it).
    pub n_classes: usize,
    /// Objective.
    pub objective: Objective,
    /// Passes over the data.
    pub epochs: usize,
    /// Examples per minibatch.
    pub batch_size: usize,
    /// Learning rate (gradients are averaged over the batch).
    pub learning_rate: f32,
    /// Learning-rate schedule.
    pub learning_rate_schedule: LearningRateSchedule,
    /// Momentum.
    pub momentum: f32,
    /// L2 weight decay of `W` and `U`.
    pub weight_decay: f32,
    /// Standard deviation of the initial weights.
    pub init_std: f32,
    /// Seed.
    pub seed: u64,
    /// Threads.
    pub threads: usize,
}

impl Default for ClassTrainConfig {
    fn default() -> Self {
        Self {
            n_hidden: 500,
            n_classes: 10,
            objective: Objective::Hybrid {
                generative_weight: 0.01,
            },
            epochs: 30,
            batch_size: 20,
            learning_rate: 0.05,
            learning_rate_schedule: LearningRateSchedule::Linear {
                final_fraction: 0.0,
            },
            momentum: 0.0,
            weight_decay: 0.0,
            init_std: 0.05,
            seed: 1,
            threads: 1,
        }
    }
}

impl ClassTrainConfig {
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
        if self.n_classes < 2 {
            return bad("n_classes", "must be at least 2");
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", "must be a positive number");
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad("momentum", "must be in [0, 1)");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", "must be a non-negative number");
        }
        if let Objective::Hybrid { generative_weight } = self.objective
            && !(generative_weight.is_finite() && generative_weight >= 0.0)
        {
            return bad("objective", "the generative weight must be non-negative");
        }
        if self.threads == 0 {
            return bad("threads", "must be at least 1");
        }
        Ok(())
    }
}

/// What one epoch did.
#[derive(Clone, Debug)]
pub struct ClassEpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Total epochs.
    pub epochs: usize,
    /// Error rate on the training batches as they were seen (before each update).
    pub train_error: f64,
    /// Wall time of the epoch.
    pub seconds: f64,
    /// Learning rate used.
    pub learning_rate: f32,
}

/// Scratch buffers of one minibatch.
struct Batch {
    inputs: Vec<f32>,
    labels: Vec<u8>,
    hidden_input: Vec<f32>,
    /// `sigmoid(A_n + U_y)` for every row and class, `rows x classes x hidden`.
    class_sigmoids: Vec<f32>,
    class_probs: Vec<f32>,
    /// `lambda G + alpha P0`, multiplied by the inputs for the `W` gradient.
    hidden_signal: Vec<f32>,
    positive_hidden: Vec<f32>,
    hidden_states: Vec<f32>,
    reconstruction: Vec<f32>,
    recon_class_probs: Vec<f32>,
    negative_hidden: Vec<f32>,
    bits: Vec<u32>,
}

/// Velocities and gradients of every parameter block.
struct Blocks {
    weights: Vec<f32>,
    class_weights: Vec<f32>,
    visible_bias: Vec<f32>,
    hidden_bias: Vec<f32>,
    class_bias: Vec<f32>,
}

impl Blocks {
    fn zeros_like(m: &ClassRbm) -> Self {
        Self {
            weights: vec![0.0; m.weights.len()],
            class_weights: vec![0.0; m.class_weights.len()],
            visible_bias: vec![0.0; m.visible_bias.len()],
            hidden_bias: vec![0.0; m.hidden_bias.len()],
            class_bias: vec![0.0; m.class_bias.len()],
        }
    }
}

/// Train a new [`ClassRbm`] on the labelled `data`; `on_epoch` sees each epoch's report
/// and the model as it stands.
pub fn train_class_rbm(
    config: &ClassTrainConfig,
    data: &Dataset,
    on_epoch: &mut dyn FnMut(&ClassEpochReport, &ClassRbm),
) -> Result<ClassRbm, RbmError> {
    config.validate()?;
    let labels = data
        .labels
        .as_ref()
        .ok_or_else(|| RbmError::DataMismatch("training data has no labels".into()))?;
    if let Some(&bad) = labels.iter().find(|&&l| l as usize >= config.n_classes) {
        return Err(RbmError::DataMismatch(format!(
            "label {bad} is not below the {} classes",
            config.n_classes
        )));
    }
    if data.n_examples == 0 {
        return Err(RbmError::DataMismatch("no training examples".into()));
    }
    let pool = crate::pool::thread_pool(config.threads)?;
    let par = Parallelism::with_threads(config.threads);
    let (v, h, c) = (data.n_features, config.n_hidden, config.n_classes);
    let mut model = ClassRbm::initialize(
        v,
        h,
        c,
        config.init_std,
        &mut stream(config.seed, u64::MAX, 0),
    );
    let mut velocity = Blocks::zeros_like(&model);
    let mut grads = Blocks::zeros_like(&model);
    let b = config.batch_size.min(data.n_examples);
    let mut batch = Batch {
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
    };
    let mut order: Vec<usize> = (0..data.n_examples).collect();
    for epoch in 0..config.epochs {
        let start = Instant::now();
        order.sort_unstable();
        rng::shuffle(&mut stream(config.seed, epoch as u64, u64::MAX), &mut order);
        let learning_rate =
            config
                .learning_rate_schedule
                .rate(config.learning_rate, epoch, config.epochs);
        let mut wrong = 0usize;
        for (batch_index, rows) in order.chunks(b).enumerate() {
            let n = rows.len();
            for (k, &row) in rows.iter().enumerate() {
                batch.inputs[k * v..(k + 1) * v].copy_from_slice(data.row(row));
                batch.labels[k] = labels[row];
            }
            let seed = (config.seed, epoch as u64, batch_index as u64);
            wrong += pool
                .install(|| batch_gradient(&model, &mut batch, n, config, seed, &mut grads, par));
            pool.install(|| {
                apply(
                    &mut model,
                    &mut velocity,
                    &grads,
                    learning_rate / n as f32,
                    config,
                    n,
                    par,
                )
            });
        }
        if model.weights.iter().any(|w| !w.is_finite()) {
            return Err(RbmError::Diverged {
                epoch: epoch + 1,
                reason: "non-finite weights".into(),
                last_good_epoch: epoch,
            });
        }
        on_epoch(
            &ClassEpochReport {
                epoch: epoch + 1,
                epochs: config.epochs,
                train_error: wrong as f64 / data.n_examples as f64,
                seconds: start.elapsed().as_secs_f64(),
                learning_rate,
            },
            &model,
        );
    }
    Ok(model)
}

/// Fill `grads` with the minibatch's gradient (sums over its `n` rows); returns how many
/// rows the model misclassified before the update.
fn batch_gradient(
    m: &ClassRbm,
    batch: &mut Batch,
    n: usize,
    config: &ClassTrainConfig,
    (seed, epoch, batch_index): (u64, u64, u64),
    grads: &mut Blocks,
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
        generative_phase(
            m,
            batch,
            n,
            generative,
            (seed, epoch, batch_index),
            grads,
            par,
        );
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
    (seed, epoch, batch_index): (u64, u64, u64),
    grads: &mut Blocks,
    par: Parallelism,
) {
    let (v, h, c) = (m.n_visible, m.n_hidden, m.n_classes);
    fill_u32(
        &mut stream(seed, epoch, batch_index),
        &mut batch.bits[..n * h],
    );
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

/// One momentum step of every block (`lr` already divided by the batch size, so the decay
/// is multiplied by it).
fn apply(
    m: &mut ClassRbm,
    velocity: &mut Blocks,
    grads: &Blocks,
    lr: f32,
    config: &ClassTrainConfig,
    n: usize,
    par: Parallelism,
) {
    let decay = config.weight_decay * n as f32;
    let mu = config.momentum;
    momentum_step(
        &mut m.weights,
        &mut velocity.weights,
        &grads.weights,
        lr,
        mu,
        decay,
        par,
    );
    momentum_step(
        &mut m.class_weights,
        &mut velocity.class_weights,
        &grads.class_weights,
        lr,
        mu,
        decay,
        par,
    );
    momentum_step(
        &mut m.visible_bias,
        &mut velocity.visible_bias,
        &grads.visible_bias,
        lr,
        mu,
        0.0,
        par,
    );
    momentum_step(
        &mut m.hidden_bias,
        &mut velocity.hidden_bias,
        &grads.hidden_bias,
        lr,
        mu,
        0.0,
        par,
    );
    momentum_step(
        &mut m.class_bias,
        &mut velocity.class_bias,
        &grads.class_bias,
        lr,
        mu,
        0.0,
        par,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two linearly separable classes of 6-pixel patterns: every objective learns them.
    #[test]
    fn learns_a_separable_problem_with_each_objective() {
        let mut features = Vec::new();
        let mut labels = Vec::new();
        for i in 0..200 {
            let class = i % 2;
            let mut x = [0.0f32; 6];
            for (k, v) in x.iter_mut().enumerate() {
                let on = if class == 0 { k < 3 } else { k >= 3 };
                // One flipped pixel in every fifth example.
                *v = if on ^ (i % 5 == 0 && k == i % 6) {
                    1.0
                } else {
                    0.0
                };
            }
            features.extend_from_slice(&x);
            labels.push(class as u8);
        }
        let data = Dataset {
            features,
            n_examples: 200,
            n_features: 6,
            image_shape: None,
            labels: Some(labels),
        };
        for objective in [
            Objective::Discriminative,
            Objective::Hybrid {
                generative_weight: 0.1,
            },
            Objective::Generative,
        ] {
            let config = ClassTrainConfig {
                n_hidden: 8,
                n_classes: 2,
                objective,
                epochs: 30,
                batch_size: 10,
                learning_rate: 0.1,
                ..ClassTrainConfig::default()
            };
            let mut reports = Vec::new();
            let model =
                train_class_rbm(&config, &data, &mut |r, _| reports.push(r.train_error)).unwrap();
            let error = model.error_rate(&data, Parallelism::Sequential).unwrap();
            assert!(error < 0.05, "{objective:?}: error {error}");
            assert_eq!(reports.len(), 30);
            // Identical for 2 threads.
            let two = train_class_rbm(
                &ClassTrainConfig {
                    threads: 2,
                    ..config
                },
                &data,
                &mut |_, _| {},
            )
            .unwrap();
            assert_eq!(two, model, "{objective:?}");
        }
    }

    /// The discriminative gradient equals finite differences of sum ln p(y | x).
    #[test]
    fn discriminative_gradient_matches_finite_differences() {
        let data = Dataset {
            features: vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.5, 0.2, 0.0],
            n_examples: 3,
            n_features: 3,
            image_shape: None,
            labels: Some(vec![0, 2, 1]),
        };
        let config = ClassTrainConfig {
            n_hidden: 4,
            n_classes: 3,
            objective: Objective::Discriminative,
            batch_size: 3,
            ..ClassTrainConfig::default()
        };
        let mut m = ClassRbm::initialize(3, 4, 3, 0.01, &mut stream(9, 0, 0));
        let mut r = stream(10, 0, 0);
        for w in m
            .weights
            .iter_mut()
            .chain(&mut m.class_weights)
            .chain(&mut m.hidden_bias)
        {
            *w = rng::normal_f64(&mut r) as f32;
        }
        let log_lik = |m: &ClassRbm| -> f64 {
            let mut out = vec![0.0f32; 9];
            m.class_log_probabilities(&data.features, &mut out, Parallelism::Sequential);
            (0..3)
                .map(|k| out[k * 3 + data.labels.as_ref().unwrap()[k] as usize] as f64)
                .sum()
        };
        let mut batch = Batch {
            inputs: data.features.clone(),
            labels: data.labels.clone().unwrap(),
            hidden_input: vec![0.0; 12],
            class_sigmoids: vec![0.0; 36],
            class_probs: vec![0.0; 9],
            hidden_signal: vec![0.0; 12],
            positive_hidden: vec![0.0; 12],
            hidden_states: vec![0.0; 12],
            reconstruction: vec![0.0; 9],
            recon_class_probs: vec![0.0; 9],
            negative_hidden: vec![0.0; 12],
            bits: vec![0; 12],
        };
        let mut grads = Blocks::zeros_like(&m);
        batch_gradient(
            &m,
            &mut batch,
            3,
            &config,
            (1, 0, 0),
            &mut grads,
            Parallelism::Sequential,
        );
        let eps = 1e-2f32;
        let check = |get: &dyn Fn(&mut ClassRbm) -> &mut f32, analytic: f32| {
            let mut up = m.clone();
            *get(&mut up) += eps;
            let mut down = m.clone();
            *get(&mut down) -= eps;
            let numeric = (log_lik(&up) - log_lik(&down)) / (2.0 * eps as f64);
            // f32 scores: finite differences are good to about 1e-3 here.
            assert!(
                (numeric - analytic as f64).abs() < 5e-3,
                "numeric {numeric} analytic {analytic}"
            );
        };
        check(&|m| &mut m.weights[5], grads.weights[5]);
        check(&|m| &mut m.class_weights[6], grads.class_weights[6]);
        check(&|m| &mut m.hidden_bias[2], grads.hidden_bias[2]);
        check(&|m| &mut m.class_bias[1], grads.class_bias[1]);
    }
}
