//! The one training loop for every model trained by minibatches.
//!
//! A model kind implements [`MinibatchModel`]: it computes its gradient for a batch into a
//! workspace it owns, hands its parameter blocks to the optimizer, reports the magnitude
//! of its parameters, and snapshots and restores its state. [`train`] does the rest, once:
//! the shuffle of every epoch on a named random stream, the batches and their streams, the
//! optimizer step ([`OptimizerConfig`]: learning-rate and momentum schedules, weight
//! decay, SGD or Adam), the divergence guard (roll back to the state at the end of the
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
//! use ebm_kernels::rng::StreamRng;
//!
//! /// Fits the mean of some numbers by gradient ascent on `-(m - x)^2 / 2`.
//! struct Mean { data: Vec<f32>, mean: Vec<f32>, gradient: Vec<f32>, state: BlockState }
//!
//! impl MinibatchModel for Mean {
//!     type Error = TrainError;
//!     type Snapshot = (Vec<f32>, BlockState);
//!     type Observed = [f32];
//!     fn n_examples(&self) -> usize { self.data.len() }
//!     fn compute_gradient(&mut self, rows: &[usize], _: &mut StreamRng, _: &BatchContext)
//!         -> Result<GradientScale, TrainError> {
//!         self.gradient[0] = rows.iter().map(|&r| self.data[r] - self.mean[0]).sum();
//!         Ok(GradientScale::Sum { rows: rows.len() })
//!     }
//!     fn visit_blocks(&mut self, visit: &mut dyn FnMut(ParameterBlock<'_>)) {
//!         visit(ParameterBlock { parameters: &mut self.mean, gradient: &self.gradient,
//!                                state: &mut self.state, decays: false });
//!     }
//!     fn max_abs_parameter(&self) -> Option<f32> {
//!         self.mean[0].is_finite().then(|| self.mean[0].abs())
//!     }
//!     fn snapshot(&self) -> Self::Snapshot { (self.mean.clone(), self.state.clone()) }
//!     fn restore(&mut self, s: &Self::Snapshot) {
//!         self.mean.clone_from(&s.0); self.state.clone_from(&s.1);
//!     }
//!     fn observed(&self) -> &[f32] { &self.mean }
//! }
//!
//! let mut model = Mean { data: vec![1.0, 2.0, 3.0, 6.0], mean: vec![0.0],
//!                        gradient: vec![0.0], state: BlockState::default() };
//! let config = LoopConfig { epochs: 200, batch_size: 2, ..LoopConfig::default() };
//! let optimizer = OptimizerConfig::sgd(0.1, LearningRateSchedule::Constant,
//!                                      MomentumSchedule::constant(0.5), 0.0);
//! let mut epochs_done = 0;
//! let summary = train(&mut model, &config, &optimizer, &mut epochs_done, &mut NoObserver)?;
//! assert_eq!((summary.epochs_run, epochs_done), (200, 200));
//! assert!((model.mean[0] - 3.0).abs() < 0.5);
//! # Ok::<(), TrainError>(())
//! ```

mod optimizer;
mod run;

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
}

impl Default for LoopConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 100,
            seed: 1,
            threads: 1,
            max_abs_parameter: 1e4,
        }
    }
}

impl LoopConfig {
    /// Check every setting; the error names it.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] for `epochs`, `batch_size`, `threads` or `max_abs_parameter`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::at_least_one(self.epochs, "epochs")?;
        InvalidSetting::at_least_one(self.batch_size, "batch_size")?;
        InvalidSetting::at_least_one(self.threads, "threads")?;
        InvalidSetting::require(
            self.max_abs_parameter > 0.0,
            "max_abs_parameter",
            "must be positive",
        )
    }
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

/// A model trained by minibatches through [`train`].
pub trait MinibatchModel: Send {
    /// The model's error type (carries [`TrainError`]).
    type Error: From<TrainError> + From<InvalidSetting> + Send;
    /// The state restored when a run diverges.
    type Snapshot: Send;
    /// What observers see after each epoch (the model, or its whole training state).
    type Observed: ?Sized;

    /// Skip the last batch of an epoch when it is smaller than the others (for models
    /// whose chains are sized by the batch).
    const FULL_BATCHES_ONLY: bool = false;

    /// Examples per epoch; the loop shuffles `0..n_examples()`.
    fn n_examples(&self) -> usize;

    /// Compute the gradient (the ascent direction of the objective) of the examples
    /// `rows` into the model's workspace, drawing from `rng` (the batch's own stream).
    ///
    /// # Errors
    ///
    /// The model's error when the batch cannot be used.
    fn compute_gradient(
        &mut self,
        rows: &[usize],
        rng: &mut StreamRng,
        context: &BatchContext,
    ) -> Result<GradientScale, Self::Error>;

    /// Hand every parameter block, with its gradient and optimizer state, to `visit`.
    fn visit_blocks(&mut self, visit: &mut dyn FnMut(ParameterBlock<'_>));

    /// Called after every optimizer step (e.g. to clamp variances into range).
    fn after_step(&mut self) {}

    /// The largest |parameter|, or `None` when any parameter is not finite.
    fn max_abs_parameter(&self) -> Option<f32>;

    /// Named metrics of the epoch just finished (e.g. a reconstruction error); every one
    /// must be finite, or the run diverged. Called once per epoch whose parameters passed
    /// the guard, before the observer. The default has none.
    ///
    /// # Errors
    ///
    /// The model's error when a metric cannot be computed.
    fn end_epoch(
        &mut self,
        _context: &BatchContext,
    ) -> Result<Vec<(&'static str, f64)>, Self::Error> {
        Ok(Vec::new())
    }

    /// The state a divergence rolls back to.
    fn snapshot(&self) -> Self::Snapshot;

    /// Restore a state taken by [`MinibatchModel::snapshot`].
    fn restore(&mut self, snapshot: &Self::Snapshot);

    /// What observers see.
    fn observed(&self) -> &Self::Observed;
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
        find_metric(&self.metrics, name)
    }
}

/// The value of the metric called `name` in `metrics`.
fn find_metric(metrics: &[(&'static str, f64)], name: &str) -> Option<f64> {
    metrics.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
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
    /// The metrics of the last epoch.
    pub final_metrics: Vec<(&'static str, f64)>,
}

impl TrainSummary {
    /// The last epoch's metric called `name`, if the model reports it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        find_metric(&self.final_metrics, name)
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
/// behind [`MinibatchModel::max_abs_parameter`] and [`parameter_divergence`].
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
