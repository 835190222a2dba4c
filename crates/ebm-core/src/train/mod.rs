//! The one training loop for every model trained by minibatches.
//!
//! A model kind implements [`MinibatchModel`]: it computes its gradient for a batch into a
//! workspace it owns and hands its parameter blocks to the optimizer (and to the divergence
//! guard); what training changes is its state, which the loop keeps (and restores). [`train`] does the rest, once:
//! the shuffle of every epoch on a named random stream, the batches and their streams, the
//! optimizer step ([`OptimizerConfig`]: learning-rate and momentum schedules, weight
//! decay, SGD or Adam), the moving average of the parameters when asked
//! ([`LoopConfig::ema`]), the divergence guard (roll back to the state at the end of the
//! last good epoch and say so), and one [`EpochReport`] per epoch to one
//! [`TrainObserver`].
//!
//! Random numbers come from streams keyed by `(seed, epoch, batch)` and the epoch's
//! shuffle from `(seed, epoch, SHUFFLE)`, so a run is bit-identical for any thread count
//! and a resumed run matches an uninterrupted one.
//!
//! ```
//! use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
//! use ebm_core::train::*;
//!
//! /// Fits the mean of some numbers by gradient ascent on `-(m - x)^2 / 2`.
//! struct Mean { data: Vec<f32>, gradient: Vec<f32> }
//!
//! /// What training changes: the mean and its optimizer state.
//! type State = (Vec<f32>, BlockState);
//!
//! impl MinibatchModel for Mean {
//!     type Error = TrainError;
//!     type State = State;
//!     type Observed = State;
//!     fn compute_gradient(&mut self, step: Step<'_, Self>) -> Result<GradientScale, TrainError> {
//!         let mean = step.state.0[0];
//!         self.gradient[0] = step.rows.iter().map(|&r| self.data[r] - mean).sum();
//!         Ok(GradientScale::Sum { rows: step.rows.len() })
//!     }
//!     fn visit_blocks(&mut self, (mean, state): &mut State,
//!                     visit: &mut dyn FnMut(ParameterBlock<'_>)) {
//!         visit(ParameterBlock { parameters: mean, gradient: &self.gradient, state,
//!                                decays: false });
//!     }
//!     fn observed(state: &State) -> &State { state }
//!     fn n_examples(&self) -> usize { self.data.len() }
//! }
//!
//! let mut model = Mean { data: vec![1.0, 2.0, 3.0, 6.0], gradient: vec![0.0] };
//! let mut state = (vec![0.0], BlockState::default());
//! let config = LoopConfig { epochs: 200, batch_size: 2, ..LoopConfig::default() };
//! let optimizer = OptimizerConfig::sgd(0.1, LearningRateSchedule::Constant,
//!                                      MomentumSchedule::constant(0.5), 0.0);
//! let mut epochs_done = 0;
//! let summary = train(&mut model, &mut state, &config, &optimizer, &mut epochs_done,
//!                     &mut NoObserver)?;
//! assert_eq!((summary.epochs_run, epochs_done), (200, 200));
//! assert!((state.0[0] - 3.0).abs() < 0.5);
//! # Ok::<(), TrainError>(())
//! ```

mod conformance;
mod optimizer;
mod run;

pub use conformance::check_rollback;
pub use optimizer::{
    BlockState, EpochRates, GradientScale, OptimizerConfig, OptimizerMethod, ParameterBlock,
};
pub use run::{fit, train};

use crate::InvalidSetting;
use ebm_kernels::Parallelism;
use ebm_kernels::rng::StreamRng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What stops a training run.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A setting is out of range.
    #[error(transparent)]
    InvalidSetting(#[from] InvalidSetting),
    /// Parameters became non-finite or too large, or an epoch metric non-finite. The model's
    /// whole training state was restored to the end of `last_good_epoch`.
    #[error(
        "training diverged in epoch {epoch}: {reason}; the model was restored to the end of epoch {last_good_epoch} (lower the learning rate)"
    )]
    Diverged {
        /// 1-based epoch in which divergence was seen.
        epoch: usize,
        /// What was seen.
        reason: String,
        /// 1-based epoch whose state was restored (0 = the initial model).
        last_good_epoch: usize,
    },
    /// The observer stopped training (e.g. a checkpoint could not be written).
    #[error("training stopped: {0}")]
    Stopped(String),
}

/// Settings of the loop itself (the optimizer has its own, [`OptimizerConfig`]): every
/// trainer's config holds one as `run`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopConfig {
    /// Passes over the data (a resumed run continues to this many).
    pub epochs: usize,
    /// Examples per minibatch.
    pub batch_size: usize,
    /// The one seed every random choice derives from.
    pub seed: u64,
    /// Threads (results are identical for any count).
    pub threads: usize,
    /// Divergence guard: the run diverged when any |parameter| exceeds this.
    pub max_abs_parameter: f32,
    /// Decay of an exponential moving average of the parameters (Polyak averaging), in
    /// `[0, 1)`: after every optimizer step each block's average moves `1 - ema` of the
    /// way to its parameters, and when the run reaches its last epoch the average replaces
    /// them (what is evaluated and saved). 0 (the default) keeps the last iterate.
    #[serde(default)]
    pub ema: f32,
}

impl Default for LoopConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 100,
            seed: 1,
            threads: 1,
            max_abs_parameter: 1e4,
            ema: 0.0,
        }
    }
}

impl LoopConfig {
    /// These settings with `epochs` passes over the data in batches of `batch_size`.
    pub fn with_batches(self, epochs: usize, batch_size: usize) -> Self {
        Self {
            epochs,
            batch_size,
            ..self
        }
    }

    /// Check every setting; the error names it.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] for `epochs`, `batch_size`, `threads`, `max_abs_parameter` or
    /// `ema`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::at_least_one(self.epochs, "epochs")?;
        InvalidSetting::at_least_one(self.batch_size, "batch_size")?;
        InvalidSetting::at_least_one(self.threads, "threads")?;
        InvalidSetting::require(
            self.max_abs_parameter > 0.0,
            "max_abs_parameter",
            "must be positive",
        )?;
        InvalidSetting::require((0.0..1.0).contains(&self.ema), "ema", "must be in [0, 1)")
    }
}

/// Check a trainer's optimizer and loop settings together: the checks every trainer's
/// config ends with.
///
/// # Errors
///
/// The first [`InvalidSetting`] of the optimizer's, then of the loop's.
pub fn validate_run(optimizer: &OptimizerConfig, run: &LoopConfig) -> Result<(), InvalidSetting> {
    optimizer.validate()?;
    run.validate()
}

/// Where a batch stands, for models that draw their own streams (e.g. one per example).
#[derive(Clone, Copy, Debug)]
pub struct BatchContext {
    /// The run's seed.
    pub seed: u64,
    /// 0-based epoch.
    pub epoch: usize,
    /// 0-based batch within the epoch.
    pub batch_index: usize,
    /// Threads to use inside the batch (the loop runs on a pool of that many).
    pub par: Parallelism,
}

/// One optimizer step's input, as the loop hands it to [`MinibatchModel::compute_gradient`]:
/// the training state and a minibatch.
pub struct Step<'a, M: MinibatchModel + ?Sized> {
    /// The state to compute the gradient at (persistent chains may advance).
    pub state: &'a mut M::State,
    /// The batch's examples: indices into `0..n_examples()`.
    pub rows: &'a [usize],
    /// The batch's own random stream, keyed by `(seed, epoch, batch_index)`.
    pub rng: StreamRng,
    /// Where the batch stands.
    pub context: BatchContext,
}

/// A model trained by minibatches through [`train`].
///
/// The implementor holds what training reads (data, buffers, gradients); everything
/// training changes (parameters, optimizer state, chains) is its [`State`](Self::State),
/// which the loop owns, clones after every good epoch and restores on divergence.
pub trait MinibatchModel: Send {
    /// The model's error type (carries [`TrainError`]).
    type Error: From<TrainError> + From<InvalidSetting> + Send;
    /// Everything training changes, and a divergence restores.
    type State: Clone + Send;
    /// What observers see after each epoch (the model, or its whole training state).
    type Observed: ?Sized;

    /// Skip the last batch of an epoch when it is smaller than the others (for models
    /// whose chains are sized by the batch).
    const FULL_BATCHES_ONLY: bool = false;

    /// Compute the gradient (the ascent direction of the objective) of the examples
    /// `step.rows` at `step.state` into the model's workspace, drawing from `step.rng`.
    ///
    /// # Errors
    ///
    /// The model's error when the batch cannot be used.
    fn compute_gradient(&mut self, step: Step<'_, Self>) -> Result<GradientScale, Self::Error>;

    /// Hand every trained parameter block of `state`, with its gradient and optimizer
    /// state, to `visit` (the optimizer steps them; the divergence guard measures them).
    fn visit_blocks(&mut self, state: &mut Self::State, visit: &mut dyn FnMut(ParameterBlock<'_>));

    /// Called after every optimizer step (e.g. to clamp variances into range).
    fn after_step(&mut self, _state: &mut Self::State) {}

    /// Named metrics of the epoch just finished (e.g. a reconstruction error); every one
    /// must be finite, or the run diverged. Called once per epoch whose parameters passed
    /// the guard, before the observer. The default has none.
    ///
    /// # Errors
    ///
    /// The model's error when a metric cannot be computed.
    fn end_epoch(
        &mut self,
        _state: &mut Self::State,
        _context: &BatchContext,
    ) -> Result<Vec<(&'static str, f64)>, Self::Error> {
        Ok(Vec::new())
    }

    /// What observers see of `state`.
    fn observed(state: &Self::State) -> &Self::Observed;

    /// Examples per epoch; the loop shuffles `0..n_examples()`.
    fn n_examples(&self) -> usize;
}

/// What happened in one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Total epochs of the run.
    pub epochs: usize,
    /// Wall time of the epoch's updates (metrics not included).
    pub seconds: f64,
    /// Training examples processed per second.
    pub examples_per_second: f64,
    /// Learning rate and momentum used.
    pub rates: EpochRates,
    /// The model's named metrics ([`MinibatchModel::end_epoch`]).
    pub metrics: Vec<(&'static str, f64)>,
}

impl EpochReport {
    /// The metric called `name`, if the model reports it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }
}

/// Totals of a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSummary {
    /// Epochs run by this call.
    pub epochs_run: usize,
    /// Time spent in updates by this call.
    pub train_seconds: f64,
    /// Mean seconds per epoch of this call (0 when none ran).
    pub seconds_per_epoch: f64,
    /// The report of the last epoch run by this call.
    pub last_epoch: Option<EpochReport>,
}

impl TrainSummary {
    /// The last epoch's metric called `name`, if the model reports it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.last_epoch.as_ref()?.metric(name)
    }
}

/// Receives progress from the training thread pool (hence `Send`). `S` is what the model
/// shows ([`MinibatchModel::Observed`]).
pub trait TrainObserver<S: ?Sized>: Send {
    /// After each minibatch, with the examples done so far in this epoch.
    fn on_batch(&mut self, _examples_done: usize, _examples_total: usize) {}

    /// After each good epoch, with its report and the model (e.g. to checkpoint it).
    ///
    /// # Errors
    ///
    /// A message; training then stops with [`TrainError::Stopped`].
    fn on_epoch(&mut self, _report: &EpochReport, _state: &S) -> Result<(), String> {
        Ok(())
    }
}

/// An observer that ignores everything.
pub struct NoObserver;

impl<S: ?Sized> TrainObserver<S> for NoObserver {}

/// What an epoch callback returns, for trainers that take a closure rather than a
/// [`TrainObserver`]: `()` to go on, or `Err(message)` to stop training with
/// [`TrainError::Stopped`] (a front end's Ctrl-C, say).
pub trait EpochControl {
    /// `Err(message)` when training should stop.
    fn proceed(self) -> Result<(), String>;
}

impl EpochControl for () {
    fn proceed(self) -> Result<(), String> {
        Ok(())
    }
}

impl EpochControl for Result<(), String> {
    fn proceed(self) -> Result<(), String> {
        self
    }
}

/// A parameter the divergence guard measures: `f32` (the RBMs) or `f64` (the weights of
/// factor-graph energies).
pub trait Parameter: Copy + PartialOrd + std::fmt::Display + std::fmt::LowerExp {
    /// Zero.
    const ZERO: Self;
    /// `|self|`, or `None` when it is not finite.
    fn finite_abs(self) -> Option<Self>;
}

impl Parameter for f32 {
    const ZERO: Self = 0.0;
    fn finite_abs(self) -> Option<Self> {
        self.is_finite().then(|| self.abs())
    }
}

impl Parameter for f64 {
    const ZERO: Self = 0.0;
    fn finite_abs(self) -> Option<Self> {
        self.is_finite().then(|| self.abs())
    }
}

/// The largest |value| over `blocks`, or `None` when any value is not finite: the probe
/// behind the training loop's divergence guard and [`parameter_divergence`].
pub fn max_abs<'a, T: Parameter + 'a>(blocks: impl IntoIterator<Item = &'a [T]>) -> Option<T> {
    let mut largest = T::ZERO;
    for &value in blocks.into_iter().flatten() {
        let magnitude = value.finite_abs()?;
        if magnitude > largest {
            largest = magnitude;
        }
    }
    Some(largest)
}

/// The divergence guard on parameters, for [`train`] and for trainers whose loop is
/// their own (learning factor-graph energies): why parameters whose largest |value| is
/// `largest` ([`max_abs`]; `None` when one is not finite) show a diverged run, if they
/// do: one is not finite, or above `bound`.
pub fn parameter_divergence<T: Parameter>(largest: Option<T>, bound: T) -> Option<String> {
    match largest {
        None => Some("parameters became NaN or infinite".to_string()),
        Some(largest) if largest > bound => {
            Some(format!("|parameter| reached {largest:.3e} > {bound}"))
        }
        Some(_) => None,
    }
}

/// The divergence guard on an epoch's named metrics (an objective, a reconstruction
/// error): why they show a diverged run, if they do: the first that is not finite.
pub fn metric_divergence(metrics: &[(&'static str, f64)]) -> Option<String> {
    metrics
        .iter()
        .find(|(_, value)| !value.is_finite())
        .map(|(name, _)| format!("{name} is not finite"))
}

/// An observer made of a closure called after each good epoch.
///
/// ```
/// use ebm_core::train::{EpochReport, OnEpoch, TrainObserver};
/// let mut epochs = Vec::new();
/// let mut observer = OnEpoch(|report: &EpochReport, _: &[f32]| epochs.push(report.epoch));
/// # let report = EpochReport { epoch: 1, epochs: 1, seconds: 0.0, examples_per_second: 0.0,
/// #     rates: ebm_core::train::EpochRates { learning_rate: 0.1, momentum: 0.0 }, metrics: vec![] };
/// observer.on_epoch(&report, &[0.0][..]).unwrap();
/// drop(observer);
/// assert_eq!(epochs, vec![1]);
/// ```
pub struct OnEpoch<F>(pub F);

impl<S: ?Sized, F: FnMut(&EpochReport, &S) + Send> TrainObserver<S> for OnEpoch<F> {
    fn on_epoch(&mut self, report: &EpochReport, state: &S) -> Result<(), String> {
        (self.0)(report, state);
        Ok(())
    }
}
