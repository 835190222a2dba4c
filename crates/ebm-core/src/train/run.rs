//! The loop: epochs, shuffles, batches, optimizer steps, the divergence guard.

use super::{
    BatchContext, EpochReport, LoopConfig, MinibatchModel, OptimizerConfig, TrainError,
    TrainObserver, TrainSummary, metric_divergence, parameter_divergence,
};
use crate::thread_pool;
use ebm_kernels::Parallelism;
use ebm_kernels::rng::{shuffle, stream, streams};
use std::time::Instant;

/// Train `model` from epoch `*epochs_done` to `config.epochs`, counting finished epochs in
/// `epochs_done` (so a checkpointed run resumes where it stopped).
///
/// After every epoch the divergence guard looks at the parameters
/// ([`MinibatchModel::max_abs_parameter`] against `config.max_abs_parameter`) and at the
/// epoch's metrics; when any is non-finite or too large, the model's whole state is
/// restored to the end of the last good epoch and [`TrainError::Diverged`] says so.
///
/// # Errors
///
/// [`TrainError::InvalidSetting`] for a bad setting (before any work),
/// [`TrainError::Diverged`] as above, [`TrainError::Stopped`] when the observer fails,
/// and the model's own errors, all as the model's error type.
///
/// # Examples
///
/// See the [module documentation](super).
pub fn train<M: MinibatchModel>(
    model: &mut M,
    config: &LoopConfig,
    optimizer: &OptimizerConfig,
    epochs_done: &mut usize,
    observer: &mut dyn TrainObserver<M::Observed>,
) -> Result<TrainSummary, M::Error> {
    config.validate()?;
    optimizer.validate()?;
    let n = model.n_examples();
    if n == 0 {
        return Err(
            crate::InvalidSetting::new("batch_size", "there are no training examples").into(),
        );
    }
    let pool = thread_pool(config.threads)?;
    let par = Parallelism::with_threads(config.threads);
    let batch_size = config.batch_size.min(n);
    let mut order: Vec<usize> = (0..n).collect();
    let mut last_good = model.snapshot();
    let (mut epochs_run, mut train_seconds) = (0usize, 0.0f64);
    let mut final_metrics = Vec::new();
    while *epochs_done < config.epochs {
        let epoch = *epochs_done;
        let rates = optimizer.rates(epoch, config.epochs);
        for (i, o) in order.iter_mut().enumerate() {
            *o = i;
        }
        shuffle(
            &mut stream(config.seed, epoch as u64, streams::SHUFFLE),
            &mut order,
        );
        let start = Instant::now();
        let context = |batch_index| BatchContext {
            seed: config.seed,
            epoch,
            batch_index,
            par,
        };
        let outcome = pool.install(|| -> Result<_, M::Error> {
            for (batch_index, rows) in order.chunks(batch_size).enumerate() {
                if M::FULL_BATCHES_ONLY && rows.len() < batch_size {
                    continue;
                }
                let mut rng = stream(config.seed, epoch as u64, batch_index as u64);
                let scale = model.compute_gradient(rows, &mut rng, &context(batch_index))?;
                model.visit_blocks(&mut |block| optimizer.step(block, rates, scale, par));
                model.after_step();
                observer.on_batch(((batch_index + 1) * batch_size).min(n), n);
            }
            let seconds = start.elapsed().as_secs_f64();
            let reason = parameter_divergence(model.max_abs_parameter(), config.max_abs_parameter);
            if reason.is_some() {
                return Ok((seconds, Vec::new(), reason));
            }
            let metrics = model.end_epoch(&context(0))?;
            let reason = metric_divergence(&metrics);
            Ok((seconds, metrics, reason))
        });
        let (seconds, metrics, reason) = outcome?;
        let report_epoch = epoch + 1;
        if let Some(reason) = reason {
            model.restore(&last_good);
            return Err(TrainError::Diverged {
                epoch: report_epoch,
                reason,
                // The last snapshot is the state at the end of the epochs done.
                last_good_epoch: *epochs_done,
            }
            .into());
        }
        *epochs_done = report_epoch;
        last_good = model.snapshot();
        epochs_run += 1;
        train_seconds += seconds;
        let report = EpochReport {
            epoch: report_epoch,
            epochs: config.epochs,
            seconds,
            examples_per_second: n as f64 / seconds.max(1e-9),
            rates,
            metrics,
        };
        observer
            .on_epoch(&report, model.observed())
            .map_err(TrainError::Stopped)?;
        final_metrics = report.metrics;
    }
    Ok(TrainSummary {
        epochs_run,
        train_seconds,
        seconds_per_epoch: if epochs_run == 0 {
            0.0
        } else {
            train_seconds / epochs_run as f64
        },
        final_metrics,
    })
}

/// Train a fresh `model` through all of `config.epochs` and hand it back: [`train`] from
/// epoch 0, for trainers that are not resumed.
///
/// # Errors
///
/// As [`train`].
pub fn fit<M: MinibatchModel>(
    mut model: M,
    config: &LoopConfig,
    optimizer: &OptimizerConfig,
    observer: &mut dyn TrainObserver<M::Observed>,
) -> Result<M, M::Error> {
    train(&mut model, config, optimizer, &mut 0, observer)?;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::schedule::{LearningRateSchedule, MomentumSchedule};
    use ebm_kernels::rng::StreamRng;

    /// A one-parameter model whose gradient explodes after `explode_after` batches.
    struct Toy {
        value: Vec<f32>,
        gradient: Vec<f32>,
        state: BlockState,
        batches: usize,
        explode_after: usize,
    }

    impl MinibatchModel for Toy {
        type Error = TrainError;
        type Snapshot = (Vec<f32>, BlockState);
        type Observed = [f32];
        fn n_examples(&self) -> usize {
            10
        }

        fn compute_gradient(
            &mut self,
            rows: &[usize],
            _: &mut StreamRng,
            _: &BatchContext,
        ) -> Result<GradientScale, TrainError> {
            self.batches += 1;
            self.gradient[0] = if self.batches > self.explode_after {
                f32::INFINITY
            } else {
                1.0
            };
            Ok(GradientScale::Sum { rows: rows.len() })
        }
        fn visit_blocks(&mut self, visit: &mut dyn FnMut(ParameterBlock<'_>)) {
            visit(ParameterBlock {
                parameters: &mut self.value,
                gradient: &self.gradient,
                state: &mut self.state,
                decays: true,
            });
        }
        fn max_abs_parameter(&self) -> Option<f32> {
            self.value[0].is_finite().then(|| self.value[0].abs())
        }
        fn snapshot(&self) -> Self::Snapshot {
            (self.value.clone(), self.state.clone())
        }
        fn restore(&mut self, s: &Self::Snapshot) {
            self.value.clone_from(&s.0);
            self.state.clone_from(&s.1);
        }
        fn observed(&self) -> &[f32] {
            &self.value
        }
    }

    struct Recorder(Vec<(usize, f32)>);
    impl TrainObserver<[f32]> for Recorder {
        fn on_epoch(&mut self, report: &EpochReport, value: &[f32]) -> Result<(), String> {
            self.0.push((report.epoch, value[0]));
            Ok(())
        }
    }

    #[test]
    fn divergence_restores_the_last_good_epoch_and_says_so() {
        // 10 examples in batches of 5: two batches an epoch; the 5th batch explodes, in
        // epoch 3, so the state at the end of epoch 2 comes back.
        let mut toy = Toy {
            value: vec![0.0],
            gradient: vec![0.0],
            state: BlockState::default(),
            batches: 0,
            explode_after: 4,
        };
        let config = LoopConfig {
            epochs: 5,
            batch_size: 5,
            ..LoopConfig::default()
        };
        let optimizer = OptimizerConfig::sgd(
            0.5,
            LearningRateSchedule::Constant,
            MomentumSchedule::constant(0.5),
            0.0,
        );
        let mut recorder = Recorder(Vec::new());
        let mut done = 0;
        let err = train(&mut toy, &config, &optimizer, &mut done, &mut recorder).unwrap_err();
        let TrainError::Diverged {
            epoch,
            last_good_epoch,
            ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!((*epoch, *last_good_epoch, done), (3, 2, 2));
        assert_eq!(recorder.0.len(), 2);
        assert_eq!(
            toy.value[0], recorder.0[1].1,
            "the value at the end of epoch 2"
        );
        assert!(err.to_string().contains("restored to the end of epoch 2"));
        // Resuming from the restored state continues from epoch 3 with its momentum.
        toy.explode_after = usize::MAX;
        train(&mut toy, &config, &optimizer, &mut done, &mut recorder).unwrap();
        assert_eq!(done, 5);
    }

    #[test]
    fn too_large_parameters_and_bad_settings_stop_the_run() {
        let mut toy = Toy {
            value: vec![0.0],
            gradient: vec![0.0],
            state: BlockState::default(),
            batches: 0,
            explode_after: usize::MAX,
        };
        let optimizer = OptimizerConfig::sgd(
            25.0,
            LearningRateSchedule::Constant,
            MomentumSchedule::constant(0.0),
            0.0,
        );
        let mut done = 0;
        let config = LoopConfig {
            epochs: 3,
            batch_size: 5,
            max_abs_parameter: 15.0,
            ..LoopConfig::default()
        };
        // A summed gradient of 1 over 5 rows at rate 25: +5 a batch, +10 an epoch, so epoch 2
        // reaches 20 > 15.
        let err = train(&mut toy, &config, &optimizer, &mut done, &mut NoObserver).unwrap_err();
        assert!(
            matches!(
                err,
                TrainError::Diverged {
                    epoch: 2,
                    last_good_epoch: 1,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(toy.value[0], 10.0);
        let bad = LoopConfig {
            batch_size: 0,
            ..config
        };
        let err = train(&mut toy, &bad, &optimizer, &mut done, &mut NoObserver).unwrap_err();
        assert!(matches!(err, TrainError::InvalidSetting(ref e) if e.setting == "batch_size"));
        // Zero epochs would hand back an untrained model as if trained.
        let none = LoopConfig {
            epochs: 0,
            ..config
        };
        let err = train(&mut toy, &none, &optimizer, &mut done, &mut NoObserver).unwrap_err();
        assert!(matches!(err, TrainError::InvalidSetting(ref e) if e.setting == "epochs"));
    }
}
