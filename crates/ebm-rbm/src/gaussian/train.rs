//! Training a Gaussian-Bernoulli RBM: CD-k and PCD-k (with learned or fixed variances),
//! CD from noise with Gibbs-Langevin chains (Liao et al. 2022), or denoising or sliced
//! score matching (variances fixed at 1 in standardized units),
//! where the model's score `∇ ln p(v) = -∇F(v)` and its Jacobian have closed forms and no
//! sampling is needed.

use super::GaussianRbm;
use super::gibbs_langevin::{GibbsLangevinChains, GibbsLangevinConfig};
use super::gradient::{
    Buffers, contrastive_gradient, contrastive_statistics, hidden_probabilities,
    score_matching_gradient,
};
use super::sliced::sliced_score_matching_gradient;
use crate::RbmError;
use ebm_core::InvalidSetting;
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::{
    BlockState, GradientScale, LoopConfig, MinibatchModel, OptimizerConfig, ParameterBlock, Step,
    validate_run,
};
use ebm_data::Dataset;
use ebm_kernels::rng::{self, normal_f64, stream, streams};

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
    /// Sliced score matching with one Gaussian projection per example (Song et al.
    /// 2019); variances stay at 1.
    SlicedScoreMatching {
        /// Use `0.5 |score|^2` in place of `0.5 (u . score)^2`.
        variance_reduced: bool,
    },
    /// Contrastive divergence whose negative chains start from standard normal noise
    /// every batch and run `gibbs_steps` Gibbs-Langevin sweeps (Liao et al. 2022's
    /// modified CD), with the gradient's norm clipped.
    GibbsLangevin {
        /// The sampler of the negative chains.
        sampler: GibbsLangevinConfig,
        /// Largest norm of the batch-mean gradient (of W, b, c and z together); `None`
        /// for no clipping.
        clip_norm: Option<f32>,
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
    /// Standard deviation of the initial weights.
    pub init_std: f32,
    /// Learning rate (the gradient is averaged over the batch), its schedule, momentum
    /// schedule and weight decay (of `W`).
    pub optimizer: OptimizerConfig,
    /// Epochs, batch size, seed, threads and the divergence bound.
    pub run: LoopConfig,
}

impl Default for GaussianTrainConfig {
    fn default() -> Self {
        Self {
            n_hidden: 200,
            method: GaussianMethod::ContrastiveDivergence,
            gibbs_steps: 1,
            learn_variance: true,
            init_std: 0.01,
            optimizer: OptimizerConfig::sgd(
                0.001,
                LearningRateSchedule::Constant,
                MomentumSchedule::constant(0.5),
                0.0,
            ),
            run: LoopConfig::default(),
        }
    }
}

impl GaussianTrainConfig {
    /// Check every setting; the error names the field.
    ///
    /// # Errors
    ///
    /// [`RbmError::InvalidSetting`] naming the field that is out of range.
    pub fn validate(&self) -> Result<(), RbmError> {
        InvalidSetting::at_least_one(self.n_hidden, "n_hidden")?;
        InvalidSetting::at_least_one(self.gibbs_steps, "gibbs_steps")?;
        if let GaussianMethod::DenoisingScoreMatching { noise_std } = self.method {
            InvalidSetting::require(
                noise_std.is_finite() && noise_std > 0.0,
                "method",
                "the score-matching noise must be positive",
            )?;
        }
        if let GaussianMethod::GibbsLangevin { sampler, clip_norm } = self.method {
            sampler.validate()?;
            InvalidSetting::require(
                clip_norm.is_none_or(|c| c.is_finite() && c > 0.0),
                "clip_norm",
                "the gradient clipping norm must be a positive number",
            )?;
        }
        InvalidSetting::non_negative(self.init_std, "init_std")?;
        Ok(validate_run(&self.optimizer, &self.run)?)
    }

    /// Whether the per-visible variances are learned (CD and PCD only).
    fn learns_variance(&self) -> bool {
        self.learn_variance
            && !matches!(
                self.method,
                GaussianMethod::DenoisingScoreMatching { .. }
                    | GaussianMethod::SlicedScoreMatching { .. }
            )
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

crate::fit::fit_function! {
    /// Train a new Gaussian RBM on raw `data` (it is standardized inside); the observer sees
    /// each epoch's report and the model.
    ///
    /// # Errors
    ///
    /// [`RbmError::InvalidSetting`] for a bad setting, [`RbmError::DataMismatch`] for an
    /// empty training set, [`RbmError::Train`] when training diverged (the error says which
    /// epoch's state it restored; the model is not returned) or the observer stopped it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ebm_core::train::NoObserver;
    /// use ebm_rbm::gaussian::{GaussianTrainConfig, train_gaussian_rbm};
    /// let data = ebm_data::Dataset {
    ///     features: (0..200).map(|i| (i % 7) as f32).collect(),
    ///     n_examples: 50, n_features: 4, image_shape: None, labels: None,
    /// };
    /// let mut config = GaussianTrainConfig { n_hidden: 3, ..GaussianTrainConfig::default() };
    /// (config.run.epochs, config.run.batch_size) = (2, 10);
    /// let model = train_gaussian_rbm(&config, &data, &mut NoObserver)?;
    /// assert_eq!((model.n_visible(), model.n_hidden()), (4, 3));
    /// # Ok::<(), ebm_rbm::RbmError>(())
    /// ```
    train_gaussian_rbm(GaussianTrainConfig) -> GaussianRbm, by GaussianTrainer
}

/// A Gaussian RBM with its standardized data, persistent chains and buffers, as the
/// training loop drives it.
struct GaussianTrainer<'a> {
    config: &'a GaussianTrainConfig,
    standardized: Dataset,
    buffers: Buffers,
    /// The negative chains of Gibbs-Langevin CD (restarted from noise every batch).
    chains: Option<GibbsLangevinChains>,
}

/// What training changes (and a divergence restores).
#[derive(Clone)]
struct GaussianState {
    model: GaussianRbm,
    /// PCD chains, one per batch row (`rows x n_visible`).
    persistent: Vec<f32>,
    /// Optimizer state of `W`, `b`, `c` and `z`.
    optimizer: [BlockState; 4],
}

impl<'a> GaussianTrainer<'a> {
    /// A fresh model for `data` with its standardized copy, chains and buffers.
    fn new(
        config: &'a GaussianTrainConfig,
        data: &Dataset,
    ) -> Result<(Self, GaussianState), RbmError> {
        config.validate()?;
        if data.n_examples == 0 {
            return Err(RbmError::DataMismatch("no training examples".into()));
        }
        let model = GaussianRbm::initialize(
            data,
            config.n_hidden,
            config.init_std,
            &mut stream(config.run.seed, streams::INITIALIZATION, 0),
        );
        let standardized = model.standardize(data);
        let rows = config.run.batch_size.min(data.n_examples);
        // Persistent chains start at random data rows.
        let persistent: Vec<f32> = {
            let mut r = stream(
                config.run.seed,
                streams::INITIALIZATION,
                streams::DATA_CHAINS,
            );
            (0..rows)
                .flat_map(|_| {
                    standardized
                        .row(rng::index(&mut r, data.n_examples))
                        .to_vec()
                })
                .collect()
        };
        let chains = matches!(config.method, GaussianMethod::GibbsLangevin { .. }).then(|| {
            GibbsLangevinChains::from_noise(
                &model,
                rows,
                &mut stream(config.run.seed, streams::INITIALIZATION, 0),
                ebm_kernels::Parallelism::Sequential,
            )
        });
        let trainer = Self {
            config,
            standardized,
            buffers: Buffers::new(rows, &model),
            chains,
        };
        let state = GaussianState {
            model,
            persistent,
            optimizer: Default::default(),
        };
        Ok((trainer, state))
    }
}

impl MinibatchModel for GaussianTrainer<'_> {
    /// One persistent chain per batch row: every batch is full.
    const FULL_BATCHES_ONLY: bool = true;
    type Error = RbmError;
    type State = GaussianState;
    type Observed = GaussianRbm;

    fn compute_gradient(&mut self, mut step: Step<'_, Self>) -> Result<GradientScale, RbmError> {
        let buf = &mut self.buffers;
        let nv = step.state.model.n_visible();
        for (k, &row) in step.rows.iter().enumerate() {
            buf.v0[k * nv..(k + 1) * nv].copy_from_slice(self.standardized.row(row));
        }
        let (rng, par) = (&mut step.rng, step.context.par);
        match self.config.method {
            GaussianMethod::DenoisingScoreMatching { noise_std } => {
                score_matching_gradient(&step.state.model, buf, noise_std, rng, par)
            }
            GaussianMethod::SlicedScoreMatching { variance_reduced } => {
                sliced_score_matching_gradient(&step.state.model, buf, variance_reduced, rng, par);
            }
            GaussianMethod::GibbsLangevin { sampler, clip_norm } => {
                let model = &step.state.model;
                let chains = self.chains.as_mut().expect("chains of Gibbs-Langevin CD");
                hidden_probabilities(model, &buf.v0, &mut buf.scaled0, &mut buf.p0, par);
                chains.restart_from_noise(model, rng, par);
                chains.run(model, &sampler, self.config.gibbs_steps, rng, par);
                buf.vk.copy_from_slice(chains.visible());
                hidden_probabilities(model, &buf.vk, &mut buf.scaledk, &mut buf.pk, par);
                contrastive_statistics(model, buf, par);
                if let Some(clip) = clip_norm {
                    clip_mean_gradient(&mut buf.grad, step.rows.len(), clip);
                }
            }
            method => {
                let persistent = method == GaussianMethod::Persistent;
                if persistent {
                    buf.vk.copy_from_slice(&step.state.persistent);
                } else {
                    buf.vk.copy_from_slice(&buf.v0);
                }
                contrastive_gradient(&step.state.model, buf, self.config, method, rng, par);
                if persistent {
                    step.state.persistent.copy_from_slice(&buf.vk);
                }
            }
        }
        Ok(GradientScale::Sum {
            rows: step.rows.len(),
        })
    }

    fn visit_blocks(
        &mut self,
        state: &mut GaussianState,
        visit: &mut dyn FnMut(ParameterBlock<'_>),
    ) {
        let (model, buf) = (&mut state.model, &self.buffers);
        let [w, b, c, z] = &mut state.optimizer;
        ParameterBlock::visit_all(
            visit,
            [
                (&mut model.weights, &buf.grad.weights, w, true),
                (&mut model.visible_bias, &buf.grad.visible_bias, b, false),
                (&mut model.hidden_bias, &buf.grad.hidden_bias, c, false),
            ],
        );
        if self.config.learns_variance() {
            visit(ParameterBlock {
                parameters: &mut model.log_variance,
                gradient: &buf.grad.log_variance,
                state: z,
                decays: false,
            });
        }
    }

    fn observed(state: &GaussianState) -> &GaussianRbm {
        &state.model
    }

    fn n_examples(&self) -> usize {
        self.standardized.n_examples
    }

    fn after_step(&mut self, state: &mut GaussianState) {
        if self.config.learns_variance() {
            // Keep sigma^2 in [e^-6, e^3]: a variance collapsing to zero makes the
            // likelihood unbounded.
            for z in &mut state.model.log_variance {
                *z = z.clamp(-6.0, 3.0);
            }
        }
    }
}

/// Scale the gradient (a sum over `rows` examples, of W, b, c and z) so that the norm of
/// its batch mean is at most `clip`.
fn clip_mean_gradient(grad: &mut GaussianRbm, rows: usize, clip: f32) {
    let blocks = [
        &mut grad.weights,
        &mut grad.visible_bias,
        &mut grad.hidden_bias,
        &mut grad.log_variance,
    ];
    let squared: f64 = blocks
        .iter()
        .flat_map(|b| b.iter())
        .map(|&g| (g as f64).powi(2))
        .sum();
    let norm = squared.sqrt() / rows.max(1) as f64;
    if norm > clip as f64 {
        let scale = (clip as f64 / norm) as f32;
        for block in blocks {
            block.iter_mut().for_each(|g| *g *= scale);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_core::train::OptimizerMethod;
    use ebm_core::train::{NoObserver, max_abs};

    /// The blocks training changes: `W`, `b`, `c` and `z` (not the standardization).
    fn trained_blocks(m: &GaussianRbm) -> [&[f32]; 4] {
        [&m.weights, &m.visible_bias, &m.hidden_bias, &m.log_variance]
    }

    /// Every training method.
    const METHODS: [GaussianMethod; 6] = [
        GaussianMethod::ContrastiveDivergence,
        GaussianMethod::Persistent,
        GaussianMethod::DenoisingScoreMatching { noise_std: 0.3 },
        GaussianMethod::SlicedScoreMatching {
            variance_reduced: false,
        },
        GaussianMethod::SlicedScoreMatching {
            variance_reduced: true,
        },
        GaussianMethod::GibbsLangevin {
            sampler: GibbsLangevinConfig {
                langevin_steps: 10,
                step_size: 0.5,
                metropolis: true,
            },
            clip_norm: Some(10.0),
        },
    ];

    /// Clipping scales a gradient whose batch mean is longer than the bound down to it,
    /// keeping its direction, and leaves a shorter one alone.
    #[test]
    fn clipping_bounds_the_norm_of_the_mean_gradient() {
        let data = four_features(vec![0.0, 1.0, 2.0, 3.0, 1.0, 0.0, 1.0, 2.0]);
        let mut g = GaussianRbm::initialize(&data, 3, 1.0, &mut stream(2, 0, 0));
        let before = g.weights.clone();
        let norm = |m: &GaussianRbm| -> f64 {
            trained_blocks(m)
                .iter()
                .flat_map(|b| b.iter())
                .map(|&x| (x as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let rows = 4;
        let mean_norm = norm(&g) / rows as f64;
        clip_mean_gradient(&mut g, rows, (mean_norm * 2.0) as f32);
        assert_eq!(g.weights, before);
        clip_mean_gradient(&mut g, rows, (mean_norm / 2.0) as f32);
        assert!((norm(&g) / rows as f64 - mean_norm / 2.0).abs() < 1e-5 * mean_norm);
        let ratio = g.weights[0] / before[0];
        assert!(
            g.weights
                .iter()
                .zip(&before)
                .all(|(a, b)| (a - ratio * b).abs() < 1e-6)
        );
    }

    /// `n_hidden` units trained by `method` from weights of standard deviation 0.1.
    fn small(method: GaussianMethod, n_hidden: usize) -> GaussianTrainConfig {
        GaussianTrainConfig {
            n_hidden,
            method,
            init_std: 0.1,
            ..GaussianTrainConfig::default()
        }
    }

    /// Unlabelled examples of 4 features each.
    fn four_features(features: Vec<f32>) -> Dataset {
        Dataset {
            n_examples: features.len() / 4,
            features,
            n_features: 4,
            image_shape: None,
            labels: None,
        }
    }

    /// Two clusters in 4-D: CD (learned variances), PCD and score matching (denoising,
    /// sliced and variance-reduced sliced) all lower the
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
        let data = four_features(features);
        for method in METHODS {
            let config = GaussianTrainConfig {
                learn_variance: method == GaussianMethod::ContrastiveDivergence,
                optimizer: GaussianTrainConfig::default()
                    .optimizer
                    .with_learning_rate(0.05),
                run: GaussianTrainConfig::default().run.with_batches(60, 20),
                ..small(method, 6)
            };
            let untrained = GaussianRbm::initialize(&data, 6, 0.1, &mut stream(1, u64::MAX, 0));
            let model = train_gaussian_rbm(&config, &data, &mut NoObserver).unwrap();
            let standardized = model.standardize(&data);
            let (before, _) = gaussian_heldout_errors(&untrained, &standardized, 0.3, 1);
            let (after, _) = gaussian_heldout_errors(&model, &standardized, 0.3, 1);
            // Standardized data: the untrained model reconstructs ~0 (error ~1); the two
            // clusters explain 1 - 0.3^2 / var of it, so a trained model must halve it.
            assert!(after < 0.5 * before, "{method:?}: {before} -> {after}");
        }
    }

    /// When the parameters pass the guard's bound in some epoch, the trainer's whole state
    /// comes back as it was after the last good epoch.
    #[test]
    fn divergence_restores_the_last_good_epoch() {
        let mut r = stream(8, 0, 0);
        let features: Vec<f32> = (0..400).map(|_| 3.0 * normal_f64(&mut r) as f32).collect();
        let data = four_features(features);
        for method in METHODS {
            let config = GaussianTrainConfig {
                optimizer: OptimizerConfig {
                    learning_rate: 0.05,
                    method: OptimizerMethod::Sgd {
                        momentum: MomentumSchedule::constant(0.9),
                    },
                    ..GaussianTrainConfig::default().optimizer
                },
                run: GaussianTrainConfig::default().run.with_batches(20, 10),
                ..small(method, 5)
            };
            // Bounded halfway between the parameters' size after epoch 1 and their peak,
            // the run diverges later and comes back as it was after the last good epoch.
            let good = ebm_core::train::check_rollback(
                || GaussianTrainer::new(&config, &data).unwrap(),
                &config.run,
                &config.optimizer,
                |m: &GaussianRbm| max_abs(trained_blocks(m)).unwrap(),
            );
            assert!(good.is_ok(), "{method:?}: {good:?}");
        }
    }
}
