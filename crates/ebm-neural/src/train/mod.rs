//! Training an energy network (the MLP, or any [`EnergyNet`]) through the toolkit's one training loop (`ebm_core::train`):
//! Adam or SGD with their schedules, the divergence guard, named random streams (so a run
//! is bit-identical for any thread count).
//!
//! Methods ([`Method`]):
//! - maximum likelihood by contrastive divergence with Langevin negatives, from noise each
//!   batch (short-run chains, Nijkamp et al. 2019) or from a persistent replay buffer with a
//!   share re-initialized from noise (Du & Mordatch 2019); the loss is
//!   `mean E(data) - mean E(negatives) + alpha (mean E(data)^2 + mean E(negatives)^2)`;
//! - denoising score matching: `0.5 |sigma grad_x E(x~) - eps|^2` at `x~ = x + sigma eps`
//!   (the usual objective weighted by `sigma^2`);
//! - sliced score matching with `v ~ N(0, I)`: `0.5 (v . grad E)^2 - v^T H v`, or
//!   variance-reduced `0.5 |grad E|^2 - v^T H v` (Song et al. 2019);
//! - noise-conditional denoising score matching over a ladder of noise levels
//!   (Song & Ermon 2019); [`EnergyFit::noise_conditional`] pairs the network with its
//!   ladder.
//!
//! Gradients may be clipped to a norm. When the guard sees a divergence, [`train_energy`]
//! continues from the restored last good epoch with the learning rate and the Langevin
//! step halved, and reports each such recovery ([`Recovery`]).

mod noise_conditional;
#[cfg(test)]
pub(crate) mod tests;
mod trainer;

use crate::langevin::LangevinConfig;
use crate::noise_conditional::{NoiseConditionalEnergy, geometric_ladder};
use crate::tempering::Tempering;
use crate::{Activation, EnergyNet, Mlp, NeuralError, positive};
use ebm_core::InvalidSetting;
use ebm_core::schedule::LearningRateSchedule;
use ebm_core::train::{
    LoopConfig, MinibatchModel, OptimizerConfig, OptimizerMethod, TrainError, TrainObserver,
    TrainSummary, train, validate_run,
};
use serde::{Deserialize, Serialize};
pub use trainer::{EnergyState, EnergyTrainer};
pub(crate) use trainer::{clip_to_ascent, layer_blocks};

/// How the energy is learned.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Method {
    /// Contrastive divergence with short-run Langevin chains started from uniform noise
    /// every batch.
    ShortRun,
    /// Contrastive divergence with persistent chains in a replay buffer.
    Persistent {
        /// Chains in the buffer.
        buffer_size: usize,
        /// Share of the chains of each batch restarted from noise (0.05 is usual).
        reinit_fraction: f32,
    },
    /// Denoising score matching with Gaussian corruption of this standard deviation.
    Denoising {
        /// Corruption noise `sigma`.
        noise_std: f32,
    },
    /// Sliced score matching with one Gaussian projection per example.
    Sliced {
        /// Use `0.5 |grad E|^2` in place of `0.5 (v . grad E)^2`.
        variance_reduced: bool,
    },
    /// Denoising score matching of the noise-conditional energy `f(x) / sigma` over a
    /// geometric ladder of noise levels, each example's level drawn uniformly
    /// ([`crate::noise_conditional`]).
    NoiseConditional {
        /// The largest noise level.
        sigma_max: f32,
        /// The smallest noise level.
        sigma_min: f32,
        /// Levels of the ladder.
        levels: usize,
    },
}

/// Every setting of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergyTrainConfig {
    /// Hidden widths of the MLP (the input width is the data's, the output is 1).
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Initial weights are `N(0, init_scale^2 / fan_in)`.
    pub init_scale: f32,
    /// The objective.
    pub method: Method,
    /// Langevin negatives (CD methods).
    pub langevin: LangevinConfig,
    /// Parallel tempering of the persistent chains (persistent CD only; one replica is
    /// plain Langevin): the negatives are the coldest replicas, noise re-initializes the
    /// hottest.
    pub tempering: Tempering,
    /// Chains start from uniform noise on `[-noise_range, noise_range]^d`.
    pub noise_range: f32,
    /// Denoising score matching: when given, the corruption noise goes from the method's
    /// `noise_std` in the first epoch to this in the last, in equal ratios per epoch (a
    /// coarse fit first, sharp features at the end); `None` keeps it constant.
    pub final_noise_std: Option<f32>,
    /// Denoising score matching: corrupt each example by `+eps` and by `-eps` (antithetic
    /// noise, twice the work per batch), a variance reduction for small noise.
    pub antithetic_noise: bool,
    /// CD methods without tempering: Metropolis-adjusted Langevin negatives (MALA, with
    /// the step `langevin.step_size` and noise `sqrt` of it; `langevin.noise_scale` and
    /// `clip_drift` unused), so each chain's step leaves the model's density exactly
    /// invariant; the epoch's metrics then include the `acceptance` rate.
    #[serde(default)]
    pub metropolis_adjusted: bool,
    /// `alpha` of the energy-magnitude penalty (CD methods).
    pub energy_regularization: f32,
    /// When positive, the gradient of each batch is scaled down to at most this norm.
    pub clip_gradient_norm: f32,
    /// Divergences recovered from (each halves the learning rate and the Langevin step)
    /// before the run gives up.
    pub max_recoveries: usize,
    /// Learning rate and its schedule, Adam or SGD, weight decay (of the weights).
    pub optimizer: OptimizerConfig,
    /// Epochs, batch size, seed, threads and the divergence bound.
    pub run: LoopConfig,
}

impl Default for EnergyTrainConfig {
    fn default() -> Self {
        Self {
            hidden: vec![64, 64],
            activation: Activation::Swish,
            init_scale: 1.0,
            method: Method::Denoising { noise_std: 0.1 },
            langevin: LangevinConfig::default(),
            tempering: Tempering::default(),
            noise_range: 4.0,
            final_noise_std: None,
            antithetic_noise: false,
            metropolis_adjusted: false,
            energy_regularization: 0.1,
            clip_gradient_norm: 0.0,
            max_recoveries: 3,
            optimizer: adam(1e-3),
            run: LoopConfig::default(),
        }
    }
}

/// Adam with the usual moments (0.9, 0.999, 1e-8), a constant rate and no weight decay.
pub fn adam(learning_rate: f32) -> OptimizerConfig {
    OptimizerConfig {
        learning_rate,
        learning_rate_schedule: LearningRateSchedule::Constant,
        weight_decay: 0.0,
        method: OptimizerMethod::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        },
    }
}

impl EnergyTrainConfig {
    /// Check every setting; the error names it.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] naming the setting that is out of range.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_network(&self.hidden, self.init_scale)?;
        match self.method {
            Method::Persistent {
                buffer_size,
                reinit_fraction,
            } => {
                InvalidSetting::require(
                    buffer_size >= self.run.batch_size,
                    "buffer_size",
                    "the replay buffer must hold at least one batch",
                )?;
                InvalidSetting::require(
                    (0.0..=1.0).contains(&reinit_fraction),
                    "reinit_fraction",
                    "must be in [0, 1]",
                )?;
            }
            Method::Denoising { noise_std } => positive(noise_std, "noise_std")?,
            Method::NoiseConditional {
                sigma_max,
                sigma_min,
                levels,
            } => {
                geometric_ladder(sigma_max, sigma_min, levels)?;
            }
            Method::ShortRun | Method::Sliced { .. } => {}
        }
        self.langevin.validate()?;
        self.tempering.validate()?;
        InvalidSetting::require(
            self.tempering.replicas == 1 || matches!(self.method, Method::Persistent { .. }),
            "tempering",
            "tempered replicas are for persistent chains (pcd) only",
        )?;
        InvalidSetting::require(
            !self.metropolis_adjusted
                || matches!(self.method, Method::ShortRun | Method::Persistent { .. })
                    && self.tempering.replicas == 1,
            "metropolis_adjusted",
            "Metropolis-adjusted negatives are for untempered CD (cd, pcd) only",
        )?;
        positive(self.noise_range, "noise_range")?;
        InvalidSetting::require(
            !self.antithetic_noise || matches!(self.method, Method::Denoising { .. }),
            "antithetic_noise",
            "antithetic noise is for denoising score matching (dsm) only",
        )?;
        if let Some(noise) = self.final_noise_std {
            positive(noise, "final_noise_std")?;
            InvalidSetting::require(
                matches!(self.method, Method::Denoising { .. }),
                "final_noise_std",
                "a final noise is for denoising score matching (dsm) only",
            )?;
        }
        InvalidSetting::non_negative(self.energy_regularization, "energy_regularization")?;
        InvalidSetting::non_negative(self.clip_gradient_norm, "clip_gradient_norm")?;
        validate_run(&self.optimizer, &self.run)
    }
}

/// The network settings every trainer checks: at least one hidden layer, every width
/// positive (`hidden`), a positive `init_scale`.
pub(crate) fn check_network(hidden: &[usize], init_scale: f32) -> Result<(), InvalidSetting> {
    InvalidSetting::require(
        !hidden.is_empty() && !hidden.contains(&0),
        "hidden",
        "at least one hidden layer, every width positive",
    )?;
    positive(init_scale, "init_scale")
}

/// One divergence recovered from.
#[derive(Clone, Debug, PartialEq)]
pub struct Recovery {
    /// The 1-based epoch in which the guard saw the divergence.
    pub epoch: usize,
    /// What it saw.
    pub reason: String,
    /// The epoch whose state training went on from.
    pub restored_epoch: usize,
    /// The learning rate from then on.
    pub learning_rate: f32,
    /// The Langevin step size from then on.
    pub step_size: f32,
}

impl std::fmt::Display for Recovery {
    /// `epoch E: REASON; went on from epoch R with learning rate L and step size S`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {}: {}; went on from epoch {} with learning rate {} and step size {}",
            self.epoch, self.reason, self.restored_epoch, self.learning_rate, self.step_size
        )
    }
}

/// A trained energy with the story of its run.
#[derive(Clone, Debug)]
pub struct EnergyFit<N = Mlp> {
    /// The model after the last epoch.
    pub model: N,
    /// Divergences recovered from, in order.
    pub recoveries: Vec<Recovery>,
    /// The loop's summary of the last (successful) call.
    pub summary: TrainSummary,
}

impl EnergyFit {
    /// The trained network with the ladder of a [`Method::NoiseConditional`] run (`None`
    /// for other methods).
    ///
    /// # Errors
    ///
    /// [`NeuralError::InvalidSetting`] for a bad ladder.
    pub fn noise_conditional(
        &self,
        method: Method,
    ) -> Result<Option<NoiseConditionalEnergy>, NeuralError> {
        let Method::NoiseConditional {
            sigma_max,
            sigma_min,
            levels,
        } = method
        else {
            return Ok(None);
        };
        let sigmas = geometric_ladder(sigma_max, sigma_min, levels)?;
        NoiseConditionalEnergy::new(self.model.clone(), sigmas).map(Some)
    }
}

/// Train a new MLP energy on the rows of `data` (`n x dim`, row-major); the observer sees
/// each good epoch's report (metric `loss`) and the model.
///
/// # Errors
///
/// [`NeuralError::InvalidSetting`] for a bad setting, [`NeuralError::Data`] for empty,
/// ragged or non-finite data, [`NeuralError::Train`] when training diverged more than
/// `max_recoveries` times or the observer stopped it.
///
/// # Examples
///
/// ```
/// use ebm_core::train::NoObserver;
/// use ebm_neural::train::{EnergyTrainConfig, Method, train_energy};
/// let data: Vec<f32> = (0..200).map(|i| ((i * 37) % 17) as f32 / 8.0 - 1.0).collect();
/// let mut config = EnergyTrainConfig { hidden: vec![8], ..EnergyTrainConfig::default() };
/// config.method = Method::Sliced { variance_reduced: true };
/// config.run = config.run.with_batches(2, 20);
/// let fit = train_energy(&config, &data, 2, &mut NoObserver)?;
/// assert_eq!(fit.model.widths(), &[2, 8, 1]);
/// # Ok::<(), ebm_neural::NeuralError>(())
/// ```
pub fn train_energy(
    config: &EnergyTrainConfig,
    data: &[f32],
    dim: usize,
    observer: &mut dyn TrainObserver<Mlp>,
) -> Result<EnergyFit, NeuralError> {
    let (trainer, state) = EnergyTrainer::new(config, data, dim)?;
    fit(config, trainer, state, observer)
}

/// Train the network `model` (e.g. a [`ConvNet`](crate::ConvNet); `config.hidden`,
/// `config.activation` and `config.init_scale` are the model's business, not used here)
/// on the rows of `data` (`n x model.n_inputs()`), as [`train_energy`] trains an MLP.
///
/// # Errors
///
/// As [`train_energy`].
///
/// # Examples
///
/// ```
/// use ebm_core::train::NoObserver;
/// use ebm_neural::train::{EnergyTrainConfig, Method, train_network};
/// use ebm_neural::{Activation, ConvNet, ImageDims};
/// let dims = ImageDims { height: 4, width: 4, channels: 1 };
/// let mut rng = ebm_kernels::rng::stream(1, 0, 0);
/// let net = ConvNet::new(dims, &[2], &[4], Activation::Softplus, 1.0, &mut rng)?;
/// let data: Vec<f32> = (0..16 * 20).map(|i| ((i * 37) % 17) as f32 / 17.0).collect();
/// let mut config = EnergyTrainConfig::default();
/// config.method = Method::Denoising { noise_std: 0.3 };
/// config.run = config.run.with_batches(1, 10);
/// let fit = train_network(&config, &data, net, &mut NoObserver)?;
/// assert!(fit.summary.metric("loss").unwrap().is_finite());
/// # Ok::<(), ebm_neural::NeuralError>(())
/// ```
pub fn train_network<N: EnergyNet>(
    config: &EnergyTrainConfig,
    data: &[f32],
    model: N,
    observer: &mut dyn TrainObserver<N>,
) -> Result<EnergyFit<N>, NeuralError> {
    let (trainer, state) = EnergyTrainer::with_model(config, data, model)?;
    fit(config, trainer, state, observer)
}

/// The loop of [`train_energy`] and [`train_network`], with its recoveries.
fn fit<N: EnergyNet>(
    config: &EnergyTrainConfig,
    mut trainer: EnergyTrainer<'_, N>,
    mut state: EnergyState<N>,
    observer: &mut dyn TrainObserver<N>,
) -> Result<EnergyFit<N>, NeuralError> {
    let recovering = Recovering {
        run: &config.run,
        optimizer: config.optimizer,
        max_recoveries: config.max_recoveries,
    };
    let (summary, recoveries) = recovering.fit(&mut trainer, &mut state, observer)?;
    Ok(EnergyFit {
        model: state.model,
        recoveries,
        summary,
    })
}

/// A trainer with Langevin chains, whose divergences [`Recovering::fit`] recovers from
/// by halving the learning rate and the Langevin step.
pub(crate) trait LangevinTrainer: MinibatchModel<Error = NeuralError> {
    /// Halve the Langevin step size.
    fn halve_langevin_step(&mut self);
    /// The Langevin step size in force.
    fn step_size(&self) -> f32;
}

impl<N: EnergyNet> LangevinTrainer for EnergyTrainer<'_, N> {
    fn halve_langevin_step(&mut self) {
        EnergyTrainer::halve_langevin_step(self);
    }

    fn step_size(&self) -> f32 {
        self.langevin().step_size
    }
}

/// The settings of a run that recovers from divergences.
pub(crate) struct Recovering<'c> {
    /// The loop's settings.
    pub run: &'c LoopConfig,
    /// The optimizer at the start.
    pub optimizer: OptimizerConfig,
    /// Divergences recovered from before the run gives up.
    pub max_recoveries: usize,
}

impl Recovering<'_> {
    /// Train `state` through the loop; after a divergence go on from the restored last
    /// good epoch with the learning rate and the Langevin step halved, up to
    /// `max_recoveries` times.
    pub(crate) fn fit<T: LangevinTrainer>(
        &self,
        trainer: &mut T,
        state: &mut T::State,
        observer: &mut dyn TrainObserver<T::Observed>,
    ) -> Result<(TrainSummary, Vec<Recovery>), NeuralError> {
        let mut optimizer = self.optimizer;
        let mut recoveries = Vec::new();
        let mut epochs_done = 0;
        loop {
            match train(
                trainer,
                state,
                self.run,
                &optimizer,
                &mut epochs_done,
                observer,
            ) {
                Ok(summary) => return Ok((summary, recoveries)),
                Err(NeuralError::Train(TrainError::Diverged {
                    epoch,
                    reason,
                    last_good_epoch,
                })) if recoveries.len() < self.max_recoveries => {
                    optimizer.learning_rate *= 0.5;
                    trainer.halve_langevin_step();
                    recoveries.push(Recovery {
                        epoch,
                        reason,
                        restored_epoch: last_good_epoch,
                        learning_rate: optimizer.learning_rate,
                        step_size: trainer.step_size(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }
}
