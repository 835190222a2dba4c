//! Generative, discriminative and hybrid training of a [`ClassRbm`].
//!
//! The discriminative gradient is the exact gradient of `ln p(y | x)`; the generative one
//! is CD-1 on the joint `(x, y)`, or persistent CD ([`super::persistent`]) when
//! `persistent_chains` is set; hybrid training follows
//! `∇ ln p(y | x) + alpha ∇ ln p(x, y)` (Larochelle & Bengio 2008). Every minibatch costs
//! four to six GEMMs plus `batch x classes x hidden` softplus terms ([`super::gradient`]);
//! the epochs run through the training core ([`ebm_core::train`]).

use super::ClassRbm;
use super::gradient::{Batch, batch_gradient, zero_gradient};
use super::persistent::PersistentChains;
use crate::RbmError;
use ebm_core::InvalidSetting;
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::{
    BatchContext, BlockState, GradientScale, LoopConfig, MinibatchModel, OptimizerConfig,
    ParameterBlock, Step, validate_run,
};
use ebm_data::Dataset;
use ebm_kernels::rng::{stream, streams};

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
    pub(super) fn weights(self) -> (f32, f32) {
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
    /// Standard deviation of the initial weights.
    pub init_std: f32,
    /// Chains of the joint `(x, y)` kept from batch to batch for the generative part's
    /// negative phase (persistent CD, one Gibbs sweep per batch); 0: CD-1 from each
    /// batch's own examples.
    pub persistent_chains: usize,
    /// Learning rate (the gradient is averaged over the batch), its schedule, momentum
    /// schedule and weight decay (of `W` and `U`).
    pub optimizer: OptimizerConfig,
    /// Epochs, batch size, seed, threads and the divergence bound.
    pub run: LoopConfig,
}

impl Default for ClassTrainConfig {
    fn default() -> Self {
        Self {
            n_hidden: 500,
            n_classes: 10,
            objective: Objective::Hybrid {
                generative_weight: 0.01,
            },
            init_std: 0.05,
            persistent_chains: 0,
            optimizer: OptimizerConfig::sgd(
                0.05,
                LearningRateSchedule::Linear {
                    final_fraction: 0.0,
                },
                MomentumSchedule::constant(0.0),
                0.0,
            ),
            run: LoopConfig::default().with_batches(30, 20),
        }
    }
}

impl ClassTrainConfig {
    /// Check every setting; the error names the field.
    ///
    /// # Errors
    ///
    /// [`RbmError::InvalidSetting`] naming the field that is out of range.
    pub fn validate(&self) -> Result<(), RbmError> {
        InvalidSetting::at_least_one(self.n_hidden, "n_hidden")?;
        InvalidSetting::require(self.n_classes >= 2, "n_classes", "must be at least 2")?;
        if let Objective::Hybrid { generative_weight } = self.objective {
            InvalidSetting::require(
                generative_weight.is_finite() && generative_weight >= 0.0,
                "objective",
                "the generative weight must be non-negative",
            )?;
        }
        InvalidSetting::non_negative(self.init_std, "init_std")?;
        Ok(validate_run(&self.optimizer, &self.run)?)
    }
}

crate::fit::fit_function! {
    /// Train a new [`ClassRbm`] on the labelled `data`; the observer sees each epoch's report
    /// (metric `train_error`: the error rate on the training batches as they were seen, before
    /// each update) and the model as it stands.
    ///
    /// # Errors
    ///
    /// [`RbmError::InvalidSetting`] for a bad setting, [`RbmError::DataMismatch`] when the
    /// data have no labels or a label is out of range, [`RbmError::Train`] when training
    /// diverged (the error says which epoch's state it restored) or the observer stopped it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ebm_core::train::NoObserver;
    /// use ebm_rbm::class_rbm::{ClassTrainConfig, train_class_rbm};
    /// let data = ebm_data::Dataset {
    ///     features: vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
    ///     n_examples: 4, n_features: 2, image_shape: None, labels: Some(vec![0, 1, 0, 1]),
    /// };
    /// let mut config = ClassTrainConfig { n_hidden: 4, n_classes: 2, ..ClassTrainConfig::default() };
    /// (config.run.epochs, config.run.batch_size) = (50, 2);
    /// let model = train_class_rbm(&config, &data, &mut NoObserver)?;
    /// assert_eq!(model.error_rate(&data, ebm_kernels::Parallelism::Sequential)?, 0.0);
    /// # Ok::<(), ebm_rbm::RbmError>(())
    /// ```
    train_class_rbm(ClassTrainConfig) -> ClassRbm, by ClassTrainer
}

/// A class RBM with its labelled data and buffers, as the training loop drives it.
struct ClassTrainer<'a> {
    config: &'a ClassTrainConfig,
    data: &'a Dataset,
    labels: &'a [u8],
    batch: Batch,
    /// The batch's gradient, in the model's own shape.
    grads: ClassRbm,
    /// Training examples misclassified in this epoch (before each update).
    wrong: usize,
}

/// What training changes (and a divergence restores).
#[derive(Clone)]
struct ClassState {
    model: ClassRbm,
    /// Optimizer state of `W`, `U`, `b`, `c` and `d`.
    optimizer: [BlockState; 5],
}

impl<'a> ClassTrainer<'a> {
    /// A fresh model for the labelled `data`, with its buffers.
    fn new(
        config: &'a ClassTrainConfig,
        data: &'a Dataset,
    ) -> Result<(Self, ClassState), RbmError> {
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
        let (v, h, c) = (data.n_features, config.n_hidden, config.n_classes);
        let model = ClassRbm::initialize(
            v,
            h,
            c,
            config.init_std,
            &mut stream(config.run.seed, streams::INITIALIZATION, 0),
        );
        let chains = (config.persistent_chains > 0).then(|| {
            let mut rng = stream(config.run.seed, streams::PERSISTENT_CHAINS, 0);
            PersistentChains::new(&model, config.persistent_chains, &mut rng)
        });
        let mut batch = Batch::new(config.run.batch_size.min(data.n_examples), v, h, c);
        batch.chains = chains;
        let trainer = Self {
            config,
            data,
            labels,
            batch,
            grads: zero_gradient(&model),
            wrong: 0,
        };
        let state = ClassState {
            model,
            optimizer: Default::default(),
        };
        Ok((trainer, state))
    }
}

impl MinibatchModel for ClassTrainer<'_> {
    type Error = RbmError;
    type State = ClassState;
    type Observed = ClassRbm;

    fn compute_gradient(&mut self, mut step: Step<'_, Self>) -> Result<GradientScale, RbmError> {
        let v = self.data.n_features;
        for (k, &row) in step.rows.iter().enumerate() {
            self.batch.inputs[k * v..(k + 1) * v].copy_from_slice(self.data.row(row));
            self.batch.labels[k] = self.labels[row];
        }
        let rows = step.rows.len();
        self.wrong += batch_gradient(
            &step.state.model,
            &mut self.batch,
            rows,
            self.config,
            &mut step.rng,
            &mut self.grads,
            step.context.par,
        );
        Ok(GradientScale::Sum { rows })
    }

    fn visit_blocks(&mut self, state: &mut ClassState, visit: &mut dyn FnMut(ParameterBlock<'_>)) {
        let (m, g) = (&mut state.model, &self.grads);
        let [w, u, b, c, d] = &mut state.optimizer;
        ParameterBlock::visit_all(
            visit,
            [
                (&mut m.weights, &g.weights, w, true),
                (&mut m.class_weights, &g.class_weights, u, true),
                (&mut m.visible_bias, &g.visible_bias, b, false),
                (&mut m.hidden_bias, &g.hidden_bias, c, false),
                (&mut m.class_bias, &g.class_bias, d, false),
            ],
        );
    }

    fn end_epoch(
        &mut self,
        _: &mut ClassState,
        _: &BatchContext,
    ) -> Result<Vec<(&'static str, f64)>, RbmError> {
        let error = self.wrong as f64 / self.data.n_examples as f64;
        self.wrong = 0;
        Ok(vec![("train_error", error)])
    }

    fn observed(state: &ClassState) -> &ClassRbm {
        &state.model
    }

    fn n_examples(&self) -> usize {
        self.data.n_examples
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class_rbm::gradient::{Batch, batch_gradient, zero_gradient};
    use ebm_core::ModelFile;
    use ebm_core::train::OptimizerMethod;
    use ebm_core::train::{EpochReport, NoObserver, OnEpoch, check_rollback, max_abs};
    use ebm_kernels::Parallelism;
    use ebm_kernels::rng;

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
        let hybrid = Objective::Hybrid {
            generative_weight: 0.1,
        };
        for (objective, persistent_chains) in [
            (Objective::Discriminative, 0),
            (hybrid, 0),
            (Objective::Generative, 0),
            (hybrid, 20),
            (Objective::Generative, 20),
        ] {
            let config = ClassTrainConfig {
                n_hidden: 8,
                n_classes: 2,
                objective,
                persistent_chains,
                optimizer: ClassTrainConfig::default()
                    .optimizer
                    .with_learning_rate(0.1),
                run: ClassTrainConfig::default().run.with_batches(30, 10),
                ..ClassTrainConfig::default()
            };
            let mut reports = Vec::new();
            let model = train_class_rbm(
                &config,
                &data,
                &mut OnEpoch(|r: &EpochReport, _: &ClassRbm| {
                    reports.push(r.metric("train_error").unwrap())
                }),
            )
            .unwrap();
            let error = model.error_rate(&data, Parallelism::Sequential).unwrap();
            assert!(
                error < 0.05,
                "{objective:?} {persistent_chains}: error {error}"
            );
            assert_eq!(reports.len(), 30);
            // Identical for 2 threads.
            let two = train_class_rbm(
                &ClassTrainConfig {
                    run: LoopConfig {
                        threads: 2,
                        ..config.run
                    },
                    ..config
                },
                &data,
                &mut NoObserver,
            )
            .unwrap();
            assert_eq!(two, model, "{objective:?} {persistent_chains}");
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
            run: LoopConfig {
                batch_size: 3,
                ..ClassTrainConfig::default().run
            },
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
            chains: None,
        };
        let mut grads = zero_gradient(&m);
        batch_gradient(
            &m,
            &mut batch,
            3,
            &config,
            &mut stream(1, 0, 0),
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

    /// When the parameters pass the guard's bound in some epoch, the trainer's whole state
    /// comes back as it was after the last good epoch.
    #[test]
    fn divergence_restores_the_last_good_epoch() {
        let mut r = stream(4, 0, 0);
        let features: Vec<f32> = (0..600)
            .map(|_| (rng::uniform_f64(&mut r) < 0.5) as u8 as f32)
            .collect();
        let labels: Vec<u8> = (0..100).map(|i| (i % 3) as u8).collect();
        let data = Dataset {
            features,
            n_examples: 100,
            n_features: 6,
            image_shape: None,
            labels: Some(labels),
        };
        for objective in [Objective::Discriminative, Objective::Generative] {
            let config = ClassTrainConfig {
                n_hidden: 8,
                n_classes: 3,
                objective,
                optimizer: OptimizerConfig {
                    learning_rate: 0.5,
                    learning_rate_schedule: LearningRateSchedule::Constant,
                    method: OptimizerMethod::Sgd {
                        momentum: MomentumSchedule::constant(0.5),
                    },
                    ..ClassTrainConfig::default().optimizer
                },
                run: ClassTrainConfig::default().run.with_batches(20, 10),
                ..ClassTrainConfig::default()
            };
            // Bounded halfway between the parameters' size after epoch 1 and their peak,
            // the run diverges later and comes back as it was after the last good epoch.
            let good = check_rollback(
                || ClassTrainer::new(&config, &data).unwrap(),
                &config.run,
                &config.optimizer,
                |m: &ClassRbm| max_abs(m.parameters()).unwrap(),
            );
            assert!(good.is_ok(), "{objective:?}: {good:?}");
        }
    }
}
