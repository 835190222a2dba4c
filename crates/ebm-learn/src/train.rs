//! The training loop: structured perceptron (plain and averaged), structured SVM by
//! subgradient descent and by block-coordinate Frank-Wolfe (Lacoste-Julien et al. 2013),
//! maximum likelihood on acyclic structures, pseudo-likelihood and contrastive divergence.
//!
//! Work is parallel over the examples of a mini-batch and combined in a fixed order, so
//! weights are bit-identical for any number of threads: decodes of a batch all use the
//! weights at the batch's start (the mini-batch perceptron of Zhao and Huang 2013, and a
//! mini-batch BCFW whose line search keeps each block step exact), and gradients are
//! summed per fixed chunk of examples in chunk order.

use super::data::Example;
use super::energy::{add_joint_features, hamming_loss, instantiate};
use super::objectives::{
    contrastive_divergence, negative_log_likelihood, negative_log_pseudo_likelihood,
};
use super::templates::TemplateSet;
use crate::LearnError;
use ebm_core::InvalidSetting;
use ebm_core::train::{EpochControl, TrainError, max_abs, metric_divergence, parameter_divergence};
use ebm_factor::solve::{Method, SolveOptions, Solved, solve};
use ebm_kernels::rng;
use rayon::prelude::*;
use std::time::Instant;

/// Parallel units a batch's gradient is split into (fixed, so sums do not depend on
/// threads; few, so that large weight vectors are not allocated per example).
const GRADIENT_CHUNKS: usize = 8;

/// Largest `examples x weights` BCFW will hold for its per-example blocks.
const MAX_BCFW_BLOCK_ENTRIES: usize = 1 << 28;

/// The learning rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Learner {
    /// Structured perceptron: `w -= lr (Phi(y) - Phi(y_hat))` on every mistake; with
    /// `averaged`, the returned weights are the average over all steps.
    Perceptron {
        /// Return the averaged weights.
        averaged: bool,
    },
    /// Structured SVM (margin rescaled by the Hamming loss) by stochastic subgradient with
    /// step `lr / (1 + lr * lambda * t)` at batch `t`.
    SsvmSubgradient,
    /// Structured SVM by block-coordinate Frank-Wolfe with exact line search (no step
    /// size); returns the weighted average of the iterates (`w_avg = k/(k+2) w_avg +
    /// 2/(k+2) w_k`, the paper's BCFW-wavg), whose primal is much smoother than the last
    /// iterate's.
    SsvmFrankWolfe,
    /// Maximum likelihood by gradient descent, with exact marginals (acyclic structures).
    MaximumLikelihood,
    /// Maximum pseudo-likelihood by gradient descent (any structure).
    PseudoLikelihood,
    /// Contrastive divergence with `steps` Gibbs sweeps from the data.
    ContrastiveDivergence {
        /// Gibbs sweeps per negative sample.
        steps: usize,
    },
}

impl Learner {
    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Learner::Perceptron { averaged: false } => "perceptron",
            Learner::Perceptron { averaged: true } => "averaged-perceptron",
            Learner::SsvmSubgradient => "ssvm",
            Learner::SsvmFrankWolfe => "bcfw",
            Learner::MaximumLikelihood => "ml",
            Learner::PseudoLikelihood => "pl",
            Learner::ContrastiveDivergence { .. } => "cd",
        }
    }
}

/// Settings of a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// The learning rule.
    pub learner: Learner,
    /// Passes over the training examples.
    pub epochs: usize,
    /// Step size (unused by BCFW).
    pub learning_rate: f64,
    /// `lambda` of the L2 term `lambda / 2 * |w|^2` (perceptrons ignore it; BCFW needs it
    /// positive).
    pub regularization: f64,
    /// Examples per mini-batch (decoded or differentiated in parallel).
    pub batch: usize,
    /// The MAP method of the perceptron and the SVMs.
    pub map_method: Method,
    /// Its budgets (by default [`SolveOptions::deterministic`]); its seed is replaced, per
    /// decode, by one derived from `seed`, the epoch and the example.
    pub map_options: SolveOptions,
    /// Seed of the example order and of sampling.
    pub seed: u64,
    /// Start from these weights instead of zero (not with BCFW, whose weights must be the
    /// sum of its blocks).
    pub initial_weights: Option<Vec<f64>>,
    /// Divergence guard (the training core's, [`ebm_core::train::parameter_divergence`]):
    /// the run diverged when a weight is not finite or its |value| exceeds this.
    pub max_abs_weight: f64,
}

/// The default [`TrainConfig::max_abs_weight`]: the weights of the built-in tasks stay
/// far below it (energies of a few nats per factor; perceptron steps of the task's
/// learning rate).
pub const MAX_ABS_WEIGHT: f64 = 1e4;

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            learner: Learner::SsvmFrankWolfe,
            epochs: 10,
            learning_rate: 0.01,
            regularization: 0.01,
            batch: 16,
            map_method: Method::Exact,
            map_options: SolveOptions::deterministic(),
            seed: 1,
            initial_weights: None,
            max_abs_weight: MAX_ABS_WEIGHT,
        }
    }
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// The learner's objective, mean per example, with the L2 term: mistakes per example
    /// (perceptron), structured hinge (SVMs, from the loss-augmented decodes), negative
    /// log-likelihood or pseudo-likelihood, or `E(data) - E(sample)` (CD).
    pub objective: f64,
    /// Examples whose decode differed from the truth (perceptron and SVMs).
    pub mistakes: usize,
    /// Decodes that fell back to a weaker MAP method.
    pub fallbacks: usize,
    /// Wall time of the epoch.
    pub seconds: f64,
}

/// The result of training.
#[derive(Clone, Debug, PartialEq)]
pub struct Trained {
    /// The learned weights.
    pub weights: Vec<f64>,
    /// One report per epoch.
    pub epochs: Vec<EpochReport>,
    /// Wall time of the whole run.
    pub train_seconds: f64,
}

impl TrainConfig {
    /// Check the settings for `examples` training examples and templates of `weights`
    /// weights, before any work: [`train`] does, and a front end can before it prepares
    /// anything else.
    ///
    /// # Errors
    ///
    /// [`LearnError::InvalidSetting`] naming the setting: `epochs`, `batch` (0),
    /// `learning_rate` (not positive), `regularization` (negative, or 0 for BCFW),
    /// `steps` (CD with no Gibbs sweep), `learner` (BCFW's blocks too large),
    /// `initial_weights` (wrong length, non-finite, or with BCFW), `examples` (none),
    /// `max_abs_weight` (not positive).
    pub fn validate(&self, examples: usize, weights: usize) -> Result<(), LearnError> {
        check_config(self, examples, weights)
    }
}

fn check_config(config: &TrainConfig, examples: usize, weights: usize) -> Result<(), LearnError> {
    let invalid = |setting, message: String| Err(InvalidSetting::new(setting, message).into());
    if config.epochs == 0 {
        return invalid("epochs", "must be at least 1".into());
    }
    if config.batch == 0 {
        return invalid("batch", "must be at least 1".into());
    }
    if !(config.learning_rate > 0.0 && config.learning_rate.is_finite()) {
        return invalid(
            "learning_rate",
            format!("{} is not positive", config.learning_rate),
        );
    }
    if !(config.regularization >= 0.0 && config.regularization.is_finite()) {
        return invalid(
            "regularization",
            format!("{} is not a finite value >= 0", config.regularization),
        );
    }
    if config.learner == (Learner::ContrastiveDivergence { steps: 0 }) {
        return invalid(
            "steps",
            "contrastive divergence needs at least 1 Gibbs sweep".into(),
        );
    }
    if config.learner == Learner::SsvmFrankWolfe {
        if config.regularization <= 0.0 {
            return invalid("regularization", "BCFW needs lambda > 0".into());
        }
        if examples.saturating_mul(weights) > MAX_BCFW_BLOCK_ENTRIES {
            return invalid(
                "learner",
                format!("BCFW would hold {examples} x {weights} block weights; use ssvm"),
            );
        }
    }
    if let Some(initial) = &config.initial_weights {
        if initial.len() != weights || initial.iter().any(|w| !w.is_finite()) {
            return invalid(
                "initial_weights",
                format!("needs {weights} finite weights; got {}", initial.len()),
            );
        }
        if config.learner == Learner::SsvmFrankWolfe {
            return invalid("initial_weights", "BCFW starts from zero".into());
        }
    }
    if examples == 0 {
        return invalid("examples", "no training examples".into());
    }
    if config.max_abs_weight.is_nan() || config.max_abs_weight <= 0.0 {
        return invalid(
            "max_abs_weight",
            format!("{} is not positive", config.max_abs_weight),
        );
    }
    Ok(())
}

/// What one mini-batch did.
#[derive(Default)]
struct BatchOutcome {
    /// Sum of the examples' losses (hinge, mistakes, negative log-likelihood, ...).
    loss_sum: f64,
    /// Decodes that differed from the truth.
    mistakes: usize,
    /// Decodes that fell back to a weaker method.
    fallbacks: usize,
}

/// State of the decode-based learners between batches.
struct DecodeState {
    /// Averaged perceptron: `sum_t t * update_t` and the step counter.
    weighted_updates: Vec<f64>,
    steps: f64,
    /// BCFW: per-example weight blocks and losses (`w = sum_i w_i`).
    blocks: Vec<Vec<f64>>,
    block_losses: Vec<f64>,
    /// BCFW: the weighted average of the iterates and the number of block steps.
    averaged: Vec<f64>,
    block_steps: f64,
    /// Subgradient: batches done.
    batches: f64,
}

/// Train weights for `templates` on `examples`; `on_epoch` sees each epoch's report and
/// returns `()`, or a `Result` whose `Err` stops training ([`EpochControl`]).
///
/// # Errors
///
/// - [`LearnError::InvalidSetting`] for a setting [`TrainConfig::validate`] refuses, or
///   one the MAP method refuses;
/// - [`LearnError::Inference`] when inference on an example fails: a loopy structure for
///   maximum likelihood, exact elimination too wide, a graph cut on a model it cannot
///   solve;
/// - [`LearnError::InvalidData`] when an example's structure does not fit the templates;
/// - [`LearnError::Train`] with [`TrainError::Diverged`] when the training core's guard
///   sees the run diverge: after any mini-batch, a weight that is not finite or above
///   [`TrainConfig::max_abs_weight`], or a batch loss that is not finite; after an epoch,
///   an objective that is not finite. Nothing is returned then (the weights of the last
///   good epoch are not a trained model); [`TrainError::Stopped`] when `on_epoch` stops it.
///
/// # Examples
///
/// ```
/// use ebm_learn::tasks::hmm::{Hmm, hmm_task};
/// use ebm_learn::train::{Learner, TrainConfig, train};
/// let task = hmm_task(&Hmm::sticky(), 50, 0, 10, 1).unwrap();
/// let config = TrainConfig { learner: Learner::MaximumLikelihood, epochs: 3,
///     learning_rate: 0.02, ..TrainConfig::default() };
/// let trained = train(&task.templates, &task.train, &config, |_| {}).unwrap();
/// // The negative log-likelihood per sequence falls from epoch to epoch.
/// assert!(trained.epochs[2].objective < trained.epochs[0].objective);
/// let refused = TrainConfig { epochs: 0, ..config };
/// assert!(train(&task.templates, &task.train, &refused, |_| {}).is_err());
/// ```
pub fn train<C: EpochControl>(
    templates: &TemplateSet,
    examples: &[Example],
    config: &TrainConfig,
    mut on_epoch: impl FnMut(&EpochReport) -> C,
) -> Result<Trained, LearnError> {
    let dim = templates.weight_count();
    check_config(config, examples.len(), dim)?;
    let start = Instant::now();
    let mut weights = config
        .initial_weights
        .clone()
        .unwrap_or_else(|| vec![0.0; dim]);
    let mut state = DecodeState {
        weighted_updates: vec![0.0; dim],
        steps: 1.0,
        blocks: Vec::new(),
        block_losses: Vec::new(),
        averaged: Vec::new(),
        block_steps: 0.0,
        batches: 0.0,
    };
    if config.learner == Learner::SsvmFrankWolfe {
        state.blocks = vec![vec![0.0; dim]; examples.len()];
        state.block_losses = vec![0.0; examples.len()];
        state.averaged = vec![0.0; dim];
    }
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut reports = Vec::with_capacity(config.epochs);
    for epoch in 1..=config.epochs {
        let epoch_start = Instant::now();
        rng::shuffle(&mut rng::stream(config.seed, epoch as u64, 0), &mut order);
        let (mut loss_sum, mut mistakes, mut fallbacks) = (0.0, 0, 0);
        let diverged = |reason| TrainError::Diverged {
            epoch,
            reason,
            last_good_epoch: epoch - 1,
        };
        for indices in order.chunks(config.batch) {
            let batch = Batch {
                templates,
                examples,
                config,
                indices,
                epoch,
            };
            let step = match config.learner {
                Learner::Perceptron { .. } | Learner::SsvmSubgradient | Learner::SsvmFrankWolfe => {
                    decode_step(&batch, &mut weights, &mut state)?
                }
                _ => gradient_step(&batch, &mut weights)?,
            };
            let reason = parameter_divergence(max_abs([&weights[..]]), config.max_abs_weight)
                .or_else(|| metric_divergence(&[("the batch loss", step.loss_sum)]));
            if let Some(reason) = reason {
                return Err(diverged(reason).into());
            }
            loss_sum += step.loss_sum;
            mistakes += step.mistakes;
            fallbacks += step.fallbacks;
        }
        let l2 = if matches!(config.learner, Learner::Perceptron { .. }) {
            0.0
        } else {
            0.5 * config.regularization * weights.iter().map(|w| w * w).sum::<f64>()
        };
        let objective = loss_sum / examples.len() as f64 + l2;
        if let Some(reason) = metric_divergence(&[("the objective", objective)]) {
            return Err(diverged(reason).into());
        }
        let report = EpochReport {
            epoch,
            objective,
            mistakes,
            fallbacks,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        on_epoch(&report).proceed().map_err(TrainError::Stopped)?;
        reports.push(report);
    }
    if config.learner == (Learner::Perceptron { averaged: true }) {
        weights
            .iter_mut()
            .zip(&state.weighted_updates)
            .for_each(|(w, u)| *w -= u / state.steps);
    }
    if config.learner == Learner::SsvmFrankWolfe {
        weights = state.averaged;
    }
    Ok(Trained {
        weights,
        epochs: reports,
        train_seconds: start.elapsed().as_secs_f64(),
    })
}

/// A seed for example `i` in `epoch`, independent of how work is split.
fn example_seed(seed: u64, epoch: usize, i: usize) -> u64 {
    rand::Rng::next_u64(&mut rng::stream(seed, epoch as u64, i as u64 + 1))
}

/// One mini-batch of an epoch: the data, the settings, and which examples.
#[derive(Clone, Copy)]
struct Batch<'a> {
    templates: &'a TemplateSet,
    examples: &'a [Example],
    config: &'a TrainConfig,
    /// The examples of the batch.
    indices: &'a [usize],
    epoch: usize,
}

impl Batch<'_> {
    /// The seed of example `i`'s decode or sample in this epoch.
    fn seed(&self, i: usize) -> u64 {
        example_seed(self.config.seed, self.epoch, i)
    }
}

/// One batch of a decode-based learner.
fn decode_step(
    b: &Batch,
    weights: &mut [f64],
    state: &mut DecodeState,
) -> Result<BatchOutcome, LearnError> {
    let loss_augmented = !matches!(b.config.learner, Learner::Perceptron { .. });
    // Every decode of the batch, and its hinge, uses the weights at the batch's start.
    let current = weights.to_vec();
    let decoded: Vec<Solved> = b
        .indices
        .par_iter()
        .map(|&i| {
            let model = instantiate(b.templates, &b.examples[i], &current, loss_augmented)?;
            let options = SolveOptions {
                seed: b.seed(i),
                ..b.config.map_options
            };
            Ok(solve(&model, b.config.map_method, &options)?)
        })
        .collect::<Result<_, LearnError>>()?;
    let dim = weights.len();
    let (mut loss_sum, mut mistakes, mut fallbacks) = (0.0, 0, 0);
    let mut direction = vec![0.0; dim];
    let mut subgradient = vec![0.0; dim];
    for (&i, d) in b.indices.iter().zip(&decoded) {
        let example = &b.examples[i];
        let labels = &d.solution.assignment;
        let loss = hamming_loss(example, labels, &example.labels);
        fallbacks += usize::from(d.fallback);
        mistakes += usize::from(loss > 0);
        direction.fill(0.0);
        add_joint_features(b.templates, example, &example.labels, 1.0, &mut direction);
        add_joint_features(b.templates, example, labels, -1.0, &mut direction);
        // Hinge of the decode under the weights it was decoded with:
        // E(truth) - E(decode) + loss, and E = w . Phi.
        let hinge = current
            .iter()
            .zip(&direction)
            .map(|(w, g)| w * g)
            .sum::<f64>()
            + loss as f64;
        match b.config.learner {
            Learner::Perceptron { .. } => {
                loss_sum += f64::from(loss > 0);
                if loss > 0 {
                    for ((w, u), g) in weights
                        .iter_mut()
                        .zip(&mut state.weighted_updates)
                        .zip(&direction)
                    {
                        *w -= b.config.learning_rate * g;
                        *u -= state.steps * b.config.learning_rate * g;
                    }
                }
                state.steps += 1.0;
            }
            Learner::SsvmSubgradient => {
                loss_sum += hinge.max(0.0);
                subgradient
                    .iter_mut()
                    .zip(&direction)
                    .for_each(|(s, g)| *s += g);
            }
            _ => {
                loss_sum += hinge.max(0.0);
                frank_wolfe_block(
                    b.config,
                    b.examples.len(),
                    i,
                    loss,
                    &direction,
                    weights,
                    state,
                );
            }
        }
    }
    if b.config.learner == Learner::SsvmSubgradient {
        let lambda = b.config.regularization;
        let rate = b.config.learning_rate / (1.0 + b.config.learning_rate * lambda * state.batches);
        let scale = 1.0 / b.indices.len() as f64;
        weights
            .iter_mut()
            .zip(&subgradient)
            .for_each(|(w, s)| *w -= rate * (lambda * *w + scale * s));
        state.batches += 1.0;
    }
    Ok(BatchOutcome {
        loss_sum,
        mistakes,
        fallbacks,
    })
}

/// One BCFW block step for example `i`: the corner `w_s = -(Phi(y) - Phi(y_hat)) / (lambda n)`,
/// `l_s = loss / n`, and the exact line search of the dual on the segment to it.
fn frank_wolfe_block(
    config: &TrainConfig,
    n: usize,
    i: usize,
    loss: usize,
    truth_minus_decoded: &[f64],
    weights: &mut [f64],
    state: &mut DecodeState,
) {
    let lambda = config.regularization;
    let corner_scale = -1.0 / (lambda * n as f64);
    let corner_loss = loss as f64 / n as f64;
    let block = &mut state.blocks[i];
    let (mut numerator, mut denominator) = (0.0, 0.0);
    for ((b, g), w) in block.iter().zip(truth_minus_decoded).zip(weights.iter()) {
        let difference = b - corner_scale * g;
        numerator += lambda * difference * w;
        denominator += lambda * difference * difference;
    }
    numerator += corner_loss - state.block_losses[i];
    if denominator > 0.0 {
        let gamma = (numerator / denominator).clamp(0.0, 1.0);
        for ((b, g), w) in block
            .iter_mut()
            .zip(truth_minus_decoded)
            .zip(weights.iter_mut())
        {
            let updated = (1.0 - gamma) * *b + gamma * corner_scale * g;
            *w += updated - *b;
            *b = updated;
        }
        state.block_losses[i] = (1.0 - gamma) * state.block_losses[i] + gamma * corner_loss;
    }
    state.block_steps += 1.0;
    let k = state.block_steps;
    state
        .averaged
        .iter_mut()
        .zip(weights.iter())
        .for_each(|(a, w)| *a = k / (k + 2.0) * *a + 2.0 / (k + 2.0) * w);
}

/// One batch of a gradient learner.
fn gradient_step(b: &Batch, weights: &mut [f64]) -> Result<BatchOutcome, LearnError> {
    let dim = weights.len();
    let current: &[f64] = weights;
    let parts: Vec<(Vec<f64>, f64)> = b
        .indices
        .par_chunks(b.indices.len().div_ceil(GRADIENT_CHUNKS))
        .map(|chunk| {
            let mut gradient = vec![0.0; dim];
            let mut loss = 0.0;
            for &i in chunk {
                let example = &b.examples[i];
                loss += match b.config.learner {
                    Learner::MaximumLikelihood => {
                        negative_log_likelihood(b.templates, example, current, &mut gradient)?
                    }
                    Learner::PseudoLikelihood => {
                        negative_log_pseudo_likelihood(b.templates, example, current, &mut gradient)
                    }
                    Learner::ContrastiveDivergence { steps } => contrastive_divergence(
                        b.templates,
                        example,
                        current,
                        steps,
                        b.seed(i),
                        &mut gradient,
                    )?,
                    _ => unreachable!("decode-based learners do not take gradient steps"),
                };
            }
            Ok((gradient, loss))
        })
        .collect::<Result<_, LearnError>>()?;
    let mut total = vec![0.0; dim];
    let mut loss_sum = 0.0;
    for (gradient, loss) in &parts {
        total.iter_mut().zip(gradient).for_each(|(t, g)| *t += g);
        loss_sum += loss;
    }
    let scale = 1.0 / b.indices.len() as f64;
    let (rate, lambda) = (b.config.learning_rate, b.config.regularization);
    weights
        .iter_mut()
        .zip(&total)
        .for_each(|(w, g)| *w -= rate * (scale * g + lambda * *w));
    Ok(BatchOutcome {
        loss_sum,
        ..BatchOutcome::default()
    })
}
