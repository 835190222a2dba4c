//! Training binary RBMs by contrastive divergence (CD-k) and persistent CD (PCD).
//!
//! [`TrainConfig`] holds the settings, [`TrainState`] everything that changes during
//! training (model, optimizer state, persistent chains, epochs done) so training can be
//! checkpointed and resumed, and [`train`] runs the epochs through the training core of
//! ebm-core ([`ebm_core::train`]) with an observer for progress.

mod step;
mod trainer;

pub use ebm_core::train::{EpochReport, NoObserver, TrainObserver, TrainSummary};
pub use trainer::train;

use crate::{BinaryRbm, RbmError};
use ebm_core::InvalidSetting;
use ebm_core::ModelFile;
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::{BlockState, LoopConfig, OptimizerConfig, validate_run};
use ebm_data::Dataset;
use ebm_kernels::activation::sigmoid_scalar;
use ebm_kernels::rng::{fill_u32, stream, streams};
use ebm_kernels::sampling::bernoulli;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Kind name of a training checkpoint in the model file header.
pub const CHECKPOINT_KIND: &str = "binary-rbm-train-state";

/// Where the negative phase starts its Gibbs chain.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Method {
    /// CD-k: from the data of the current minibatch.
    ContrastiveDivergence,
    /// PCD-k (Tieleman 2008): from persistent chains carried across updates.
    Persistent {
        /// Number of persistent chains.
        chains: usize,
    },
}

/// Sparsity target for hidden activity (Hinton's guide, section 11).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparsityTarget {
    /// Desired mean activation of each hidden unit (e.g. 0.05).
    pub target: f32,
    /// Weight of the penalty (e.g. 0.1).
    pub cost: f32,
    /// Decay of the running estimate of hidden activity (e.g. 0.95).
    pub decay: f32,
}

/// Every setting of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Number of hidden units.
    pub n_hidden: usize,
    /// CD or PCD.
    pub method: Method,
    /// Gibbs steps per update (the k of CD-k / PCD-k), at least 1.
    pub gibbs_steps: usize,
    /// Optional sparsity target for hidden units.
    pub sparsity: Option<SparsityTarget>,
    /// Learning rate, its schedule, momentum schedule and weight decay (applied to the
    /// weights, not the biases).
    pub optimizer: OptimizerConfig,
    /// Epochs, batch size, seed, threads and the divergence bound on |weight|.
    pub run: LoopConfig,
    /// Training examples used to report reconstruction error after each epoch.
    pub monitor_examples: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        let momentum = MomentumSchedule {
            initial: 0.5,
            final_value: 0.9,
            switch_epoch: 5,
        };
        Self {
            n_hidden: 500,
            method: Method::ContrastiveDivergence,
            gibbs_steps: 1,
            sparsity: None,
            optimizer: OptimizerConfig::sgd(0.05, LearningRateSchedule::Constant, momentum, 2e-4),
            run: LoopConfig {
                max_abs_parameter: 100.0,
                ..LoopConfig::default()
            },
            monitor_examples: 1000,
        }
    }
}

impl TrainConfig {
    /// Check every setting; the error names the offending one.
    ///
    /// # Errors
    ///
    /// [`RbmError::InvalidSetting`] naming the field that is out of range.
    pub fn validate(&self) -> Result<(), RbmError> {
        InvalidSetting::require(
            self.n_hidden >= 1,
            "n_hidden",
            "hidden units must be at least 1",
        )?;
        InvalidSetting::require(
            self.gibbs_steps >= 1,
            "gibbs_steps",
            "k (Gibbs steps) must be at least 1",
        )?;
        InvalidSetting::require(
            !matches!(self.method, Method::Persistent { chains: 0 }),
            "chains",
            "PCD needs at least one persistent chain",
        )?;
        if let Some(s) = self.sparsity {
            InvalidSetting::require(
                (0.0..1.0).contains(&s.target) && s.cost >= 0.0 && (0.0..1.0).contains(&s.decay),
                "sparsity",
                "sparsity target and decay must be in [0, 1), cost >= 0",
            )?;
        }
        Ok(validate_run(&self.optimizer, &self.run)?)
    }
}

/// Everything that evolves during training; save it to resume later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// The model being trained.
    pub model: BinaryRbm,
    /// The settings of the run.
    pub config: TrainConfig,
    /// Completed epochs.
    pub epochs_done: usize,
    /// Optimizer state of the weights, visible biases and hidden biases.
    optimizer_state: [BlockState; 3],
    /// PCD chains' visible states (`chains x n_visible`), empty for CD.
    persistent_chains: Vec<f32>,
    /// Running mean of hidden activity (for the sparsity target).
    hidden_activity: Vec<f32>,
}

impl TrainState {
    /// A fresh state: Hinton-initialized model for `data`, zero velocities, PCD chains drawn
    /// from the data's base rates.
    ///
    /// # Errors
    ///
    /// [`RbmError::InvalidSetting`] for a bad setting, [`RbmError::DataMismatch`] for an
    /// empty training set.
    pub fn new(config: TrainConfig, data: &Dataset) -> Result<Self, RbmError> {
        config.validate()?;
        if data.n_examples == 0 {
            return Err(RbmError::DataMismatch("the training set is empty".into()));
        }
        let model = BinaryRbm::initialize(
            data.n_features,
            config.n_hidden,
            &data.feature_means(),
            config.run.seed,
        )?;
        let (nv, nh) = (model.n_visible(), model.n_hidden());
        let persistent_chains = match config.method {
            Method::ContrastiveDivergence => Vec::new(),
            Method::Persistent { chains } => {
                let probs: Vec<f32> = (0..chains)
                    .flat_map(|_| model.visible_bias().iter().map(|&b| sigmoid_scalar(b)))
                    .collect();
                let mut bits = vec![0u32; probs.len()];
                fill_u32(
                    &mut stream(config.run.seed, streams::PERSISTENT_CHAINS, 0),
                    &mut bits,
                );
                let mut states = vec![0.0; probs.len()];
                bernoulli(&probs, &bits, &mut states);
                states
            }
        };
        Ok(Self {
            model,
            epochs_done: 0,
            optimizer_state: [
                BlockState::zeros(nv * nh),
                BlockState::zeros(nv),
                BlockState::zeros(nh),
            ],
            persistent_chains,
            hidden_activity: vec![config.sparsity.map_or(0.0, |s| s.target); nh],
            config,
        })
    }

    /// The persistent chains' visible states (`chains x n_visible`; empty for CD).
    pub fn persistent_chains(&self) -> &[f32] {
        &self.persistent_chains
    }

    /// Save a checkpoint atomically (the [`ModelFile`] kind [`CHECKPOINT_KIND`]).
    ///
    /// # Errors
    ///
    /// [`RbmError::ModelFile`] when the file cannot be written (a previous file stays).
    pub fn save_checkpoint(&self, path: &Path) -> Result<(), RbmError> {
        Ok(self.save(path)?)
    }

    /// Load a checkpoint, checking its consistency and its settings.
    ///
    /// # Errors
    ///
    /// [`RbmError::ModelFile`] when the file is missing, malformed or inconsistent,
    /// [`RbmError::InvalidSetting`] when its settings are out of range.
    pub fn load_checkpoint(path: &Path) -> Result<Self, RbmError> {
        let state = Self::load(path)?;
        state.config.validate()?;
        Ok(state)
    }
}

/// A training checkpoint: the model, the optimizer's state, the chains and the epochs done.
impl ModelFile for TrainState {
    const KIND: &'static str = CHECKPOINT_KIND;

    fn shapes(&self) -> Vec<u64> {
        self.model.shapes()
    }

    fn parameters(&self) -> Vec<&[f32]> {
        let mut blocks = self.model.parameters();
        for state in &self.optimizer_state {
            blocks.extend([&state.first[..], &state.second[..]]);
        }
        blocks.extend([&self.persistent_chains[..], &self.hidden_activity[..]]);
        blocks
    }

    fn check(&self) -> Result<(), String> {
        self.model.check()?;
        let (nv, nh) = (self.model.n_visible(), self.model.n_hidden());
        let chains = match self.config.method {
            Method::ContrastiveDivergence => 0,
            Method::Persistent { chains } => chains,
        };
        let [weights, visible, hidden] = &self.optimizer_state;
        let consistent = weights.fits(nv * nh)
            && visible.fits(nv)
            && hidden.fits(nh)
            && self.persistent_chains.len() == chains.saturating_mul(nv)
            && self.hidden_activity.len() == nh
            && self.config.n_hidden == nh;
        consistent
            .then_some(())
            .ok_or_else(|| "checkpoint buffers disagree with the model shape".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{exact_log_partition, log_likelihood};
    use ebm_core::train::OptimizerMethod;
    use ebm_core::train::TrainError;
    use ebm_kernels::Parallelism;

    fn bars() -> Dataset {
        ebm_data::bars_and_stripes::dataset(4)
    }

    fn config(method: Method, k: usize, epochs: usize) -> TrainConfig {
        TrainConfig {
            n_hidden: 16,
            method,
            gibbs_steps: k,
            optimizer: OptimizerConfig {
                learning_rate: 0.1,
                weight_decay: 1e-4,
                method: OptimizerMethod::Sgd {
                    momentum: MomentumSchedule {
                        initial: 0.5,
                        final_value: 0.9,
                        switch_epoch: 5,
                    },
                },
                ..TrainConfig::default().optimizer
            },
            run: LoopConfig {
                epochs,
                batch_size: 10,
                seed: 3,
                ..TrainConfig::default().run
            },
            ..TrainConfig::default()
        }
    }

    fn exact_ll(state: &TrainState, data: &Dataset) -> f64 {
        let log_z = exact_log_partition(&state.model, Parallelism::Sequential).unwrap();
        log_likelihood(&state.model, data, log_z, Parallelism::Sequential).unwrap()
    }

    #[test]
    fn cd_and_pcd_learn_bars_and_stripes() {
        // The uniform model scores 16 ln 2 = -11.09 nats; the ideal model -ln 30 = -3.40.
        // A working learner reaches better than -6.5 here; a sign error or a broken
        // gradient stays near or below the uniform model. PCD runs without momentum and
        // with 100 chains: with momentum its likelihood oscillates on this set (a known
        // PCD behaviour on bars and stripes, Fischer & Igel 2010).
        let data = bars();
        let pcd = TrainConfig {
            optimizer: OptimizerConfig {
                learning_rate: 0.05,
                method: OptimizerMethod::Sgd {
                    momentum: MomentumSchedule::constant(0.0),
                },
                ..config(Method::Persistent { chains: 100 }, 1, 1000).optimizer
            },
            ..config(Method::Persistent { chains: 100 }, 1, 1000)
        };
        for cfg in [
            config(Method::ContrastiveDivergence, 1, 400),
            config(Method::ContrastiveDivergence, 5, 400),
            pcd,
        ] {
            let label = format!("{:?} k={}", cfg.method, cfg.gibbs_steps);
            let mut state = TrainState::new(cfg, &data).unwrap();
            train(&mut state, &data, &mut NoObserver).unwrap();
            let ll = exact_ll(&state, &data);
            assert!(ll > -6.5, "{label}: ll {ll}");
        }
    }

    #[test]
    fn results_are_identical_for_one_and_two_threads() {
        let data = bars();
        for method in [
            Method::ContrastiveDivergence,
            Method::Persistent { chains: 7 },
        ] {
            let mut one = TrainState::new(config(method, 2, 5), &data).unwrap();
            let mut two = TrainState::new(
                TrainConfig {
                    run: LoopConfig {
                        threads: 2,
                        ..config(method, 2, 5).run
                    },
                    ..config(method, 2, 5)
                },
                &data,
            )
            .unwrap();
            train(&mut one, &data, &mut NoObserver).unwrap();
            train(&mut two, &data, &mut NoObserver).unwrap();
            assert_eq!(one.model, two.model);
            assert_eq!(one.persistent_chains, two.persistent_chains);
        }
    }

    #[test]
    fn resumed_training_matches_uninterrupted_training() {
        let data = bars();
        let method = Method::Persistent { chains: 10 };
        let mut whole = TrainState::new(config(method, 1, 8), &data).unwrap();
        train(&mut whole, &data, &mut NoObserver).unwrap();
        let mut first = TrainState::new(config(method, 1, 3), &data).unwrap();
        train(&mut first, &data, &mut NoObserver).unwrap();
        let dir = std::env::temp_dir().join(format!("ebm-resume-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.ckpt");
        first.save_checkpoint(&path).unwrap();
        let mut resumed = TrainState::load_checkpoint(&path).unwrap();
        resumed.config.run.epochs = 8;
        train(&mut resumed, &data, &mut NoObserver).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(resumed.epochs_done, 8);
        assert_eq!(resumed.model, whole.model);
    }

    /// Keeps the state seen after every good epoch.
    struct KeepStates(Vec<TrainState>);
    impl TrainObserver<TrainState> for KeepStates {
        fn on_epoch(&mut self, _: &EpochReport, state: &TrainState) -> Result<(), String> {
            self.0.push(state.clone());
            Ok(())
        }
    }

    #[test]
    fn divergence_restores_last_good_epoch() {
        // First a run without a tight bound shows how the largest weight grows; a bound
        // between its value after epoch 1 and its largest value must then be crossed in
        // some epoch after the first.
        let data = bars();
        let cfg = config(Method::Persistent { chains: 10 }, 1, 20);
        let mut free = TrainState::new(cfg.clone(), &data).unwrap();
        let mut seen = KeepStates(Vec::new());
        train(&mut free, &data, &mut seen).unwrap();
        let largest: Vec<f32> = seen
            .0
            .iter()
            .map(|s| ebm_core::train::max_abs(s.model.parameters()).unwrap())
            .collect();
        let peak = largest.iter().copied().fold(0.0, f32::max);
        assert!(peak > largest[0], "weights do not grow: {largest:?}");
        let bound = 0.5 * (largest[0] + peak);

        let mut state = TrainState::new(
            TrainConfig {
                run: LoopConfig {
                    max_abs_parameter: bound,
                    ..cfg.run
                },
                ..cfg
            },
            &data,
        )
        .unwrap();
        let mut kept = KeepStates(Vec::new());
        let err = train(&mut state, &data, &mut kept).unwrap_err();
        let RbmError::Train(TrainError::Diverged {
            epoch,
            last_good_epoch,
            ..
        }) = err
        else {
            panic!("{err}")
        };
        assert!(last_good_epoch >= 1, "diverged at once: {err}");
        assert_eq!(last_good_epoch, epoch - 1);
        assert_eq!(kept.0.len(), last_good_epoch);
        // The whole state (model, optimizer, chains, epochs done) is the last good one.
        let good = kept.0.last().unwrap();
        assert_eq!(state.model, good.model);
        assert_eq!(state.optimizer_state, good.optimizer_state);
        assert_eq!(state.persistent_chains, good.persistent_chains);
        assert_eq!(state.epochs_done, good.epochs_done);
        assert_eq!(&state, good);
        assert_eq!(state.epochs_done, last_good_epoch);
        assert!(err.to_string().contains("learning rate"));
        assert!(
            err.to_string()
                .contains(&format!("restored to the end of epoch {last_good_epoch}"))
        );
    }

    #[test]
    fn bad_settings_are_rejected_by_name() {
        let data = bars();
        let bad = |c: TrainConfig| TrainState::new(c, &data).unwrap_err().to_string();
        assert!(
            bad(TrainConfig {
                gibbs_steps: 0,
                ..config(Method::ContrastiveDivergence, 1, 1)
            })
            .contains("k (Gibbs steps)")
        );
        assert!(bad(config(Method::Persistent { chains: 0 }, 1, 1)).contains("chain"));
        assert!(
            bad(TrainConfig {
                optimizer: config(Method::ContrastiveDivergence, 1, 1)
                    .optimizer
                    .with_learning_rate(f32::NAN),
                ..config(Method::ContrastiveDivergence, 1, 1)
            })
            .contains("learning rate")
        );
    }

    #[test]
    fn sparsity_target_lowers_hidden_activity() {
        let data = bars();
        let mean_activity = |state: &TrainState| {
            let mut total = 0.0;
            for r in 0..data.n_examples {
                total += state
                    .model
                    .hidden_probabilities(data.row(r))
                    .iter()
                    .sum::<f32>();
            }
            total / (data.n_examples * 16) as f32
        };
        let mut plain =
            TrainState::new(config(Method::ContrastiveDivergence, 1, 100), &data).unwrap();
        train(&mut plain, &data, &mut NoObserver).unwrap();
        let sparse_cfg = TrainConfig {
            sparsity: Some(SparsityTarget {
                target: 0.05,
                cost: 1.0,
                decay: 0.9,
            }),
            ..config(Method::ContrastiveDivergence, 1, 100)
        };
        let mut sparse = TrainState::new(sparse_cfg, &data).unwrap();
        train(&mut sparse, &data, &mut NoObserver).unwrap();
        let (a, b) = (mean_activity(&plain), mean_activity(&sparse));
        assert!(b < a && b < 0.2, "plain {a} sparse {b}");
    }
}
