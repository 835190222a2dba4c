//! The epoch loop: shuffling, per-batch random streams, progress, divergence guard.

use super::TrainState;
use super::step::{StepRates, Workspace, update};
use crate::metrics::reconstruction_error;
use crate::{BinaryRbm, RbmError};
use ebm_data::Dataset;
use ebm_kernels::Parallelism;
use ebm_kernels::rng::{shuffle, stream};
use std::time::Instant;

/// What happened in one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Total epochs of the run.
    pub epochs: usize,
    /// Mean squared reconstruction error per example on the monitoring examples.
    pub recon_error: f64,
    /// Wall time of the epoch's updates (excluding monitoring).
    pub seconds: f64,
    /// Training examples processed per second.
    pub examples_per_second: f64,
    /// Learning rate used.
    pub learning_rate: f32,
    /// Momentum used.
    pub momentum: f32,
}

/// Totals of a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSummary {
    /// Epochs run by this call.
    pub epochs_run: usize,
    /// Time spent in updates by this call.
    pub train_seconds: f64,
    /// Mean seconds per epoch of this call.
    pub seconds_per_epoch: f64,
    /// Reconstruction error after the last epoch.
    pub final_recon_error: f64,
}

/// Receives progress (from the training thread pool, hence `Send`); training stops with [`RbmError::Stopped`] if `on_epoch` fails.
pub trait TrainObserver: Send {
    /// Called after each minibatch with the examples done so far in this epoch.
    fn on_batch(&mut self, _examples_done: usize, _examples_total: usize) {}
    /// Called after each epoch with its report and the state (e.g. to checkpoint).
    fn on_epoch(&mut self, _report: &EpochReport, _state: &TrainState) -> Result<(), String> {
        Ok(())
    }
}

/// An observer that ignores everything.
pub struct NoObserver;
impl TrainObserver for NoObserver {}

/// Run the remaining epochs (`state.epochs_done .. state.config.epochs`) on `data`.
///
/// Random numbers come from streams keyed by `(seed, epoch, batch)`, so results are
/// bit-identical for any thread count and a resumed run matches an uninterrupted one.
/// If parameters become non-finite or exceed `max_abs_weight`, the model is restored to
/// the last good epoch and [`RbmError::Diverged`] is returned.
pub fn train(
    state: &mut TrainState,
    data: &Dataset,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, RbmError> {
    state.config.validate()?;
    let (nv, nh) = (state.model.n_visible(), state.model.n_hidden());
    if data.n_features != nv {
        return Err(RbmError::DataMismatch(format!(
            "data has {} features, the model {nv} visible units",
            data.n_features
        )));
    }
    if data.n_examples == 0 {
        return Err(RbmError::DataMismatch("the training set is empty".into()));
    }
    let threads = state.config.threads;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RbmError::InvalidConfig {
            setting: "threads",
            message: format!("cannot start {threads} threads: {e}"),
        })?;
    let par = Parallelism::with_threads(threads);
    let data_is_binary = data.is_binary();
    let monitor = data.head(state.config.monitor_examples.max(1));
    let mut ws = Workspace::new(nv, nh, &state.config);
    let mut order: Vec<usize> = (0..data.n_examples).collect();
    let mut last_good: BinaryRbm = state.model.clone();
    let mut last_good_epoch = state.epochs_done;
    let (mut epochs_run, mut train_seconds, mut final_recon_error) = (0usize, 0.0f64, f64::NAN);

    while state.epochs_done < state.config.epochs {
        let epoch = state.epochs_done;
        let config = state.config.clone();
        let rates = || StepRates {
            learning_rate: config.learning_rate_schedule.rate(
                config.learning_rate,
                epoch,
                config.epochs,
            ),
            momentum: config.momentum.momentum(epoch),
        };
        order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
        shuffle(&mut stream(config.seed, epoch as u64, u64::MAX), &mut order);
        let start = Instant::now();
        pool.install(|| {
            for (batch_index, rows) in order.chunks(config.batch_size).enumerate() {
                ws.load_batch(&data.features, rows, nv);
                let mut rng = stream(config.seed, epoch as u64, batch_index as u64);
                update(
                    state,
                    &mut ws,
                    rows.len(),
                    data_is_binary,
                    &mut rng,
                    rates(),
                    par,
                );
                observer.on_batch(
                    ((batch_index + 1) * config.batch_size).min(data.n_examples),
                    data.n_examples,
                );
            }
        });
        let seconds = start.elapsed().as_secs_f64();
        let report_epoch = epoch + 1;
        // Divergence guard: finite, bounded weights and a finite reconstruction error.
        let (recon_error, reason) = match state.model.max_abs_weight() {
            None => (
                f64::NAN,
                Some("parameters became NaN or infinite".to_string()),
            ),
            Some(w) if w > config.max_abs_weight => (
                f64::NAN,
                Some(format!(
                    "|weight| reached {w:.3e} > {}",
                    config.max_abs_weight
                )),
            ),
            Some(_) => {
                let recon = pool.install(|| reconstruction_error(&state.model, &monitor, par))?;
                let reason =
                    (!recon.is_finite()).then(|| "reconstruction error is not finite".to_string());
                (recon, reason)
            }
        };
        if let Some(reason) = reason {
            state.model = last_good;
            return Err(RbmError::Diverged {
                epoch: report_epoch,
                reason,
                last_good_epoch,
            });
        }
        state.epochs_done = report_epoch;
        last_good.clone_from(&state.model);
        last_good_epoch = report_epoch;
        epochs_run += 1;
        train_seconds += seconds;
        final_recon_error = recon_error;
        let r = rates();
        let report = EpochReport {
            epoch: report_epoch,
            epochs: config.epochs,
            recon_error,
            seconds,
            examples_per_second: data.n_examples as f64 / seconds.max(1e-9),
            learning_rate: r.learning_rate,
            momentum: r.momentum,
        };
        observer
            .on_epoch(&report, state)
            .map_err(RbmError::Stopped)?;
    }
    Ok(TrainSummary {
        epochs_run,
        train_seconds,
        seconds_per_epoch: if epochs_run == 0 {
            0.0
        } else {
            train_seconds / epochs_run as f64
        },
        final_recon_error,
    })
}
