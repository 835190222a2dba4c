//! The loop: epochs, shuffles, batches, optimizer steps, the divergence guard.

use super::{
    BatchContext, EpochReport, LoopConfig, MinibatchModel, OptimizerConfig, ParameterBlock, Step,
    TrainError, TrainObserver, TrainSummary, max_abs, metric_divergence, parameter_divergence,
};
use crate::thread_pool;
use ebm_kernels::Parallelism;
use ebm_kernels::rng::{shuffle, stream, streams};
use std::time::Instant;

/// Train `state` with `model` from epoch `*epochs_done` to `config.epochs`, counting
/// finished epochs in `epochs_done` (so a checkpointed run resumes where it stopped).
///
/// After every epoch the divergence guard looks at the parameters (the largest |value| of
/// the blocks [`MinibatchModel::visit_blocks`] hands out, against
/// `config.max_abs_parameter`) and at the epoch's metrics; when any is non-finite or too large, `state` is restored to the end
/// of the last good epoch and [`TrainError::Diverged`] says so.
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
    state: &mut M::State,
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
    let mut last_good = state.clone();
    let (mut epochs_run, mut train_seconds) = (0usize, 0.0f64);
    let mut last_epoch = None;
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
                let scale = model.compute_gradient(Step {
                    state,
                    rows,
                    rng: stream(config.seed, epoch as u64, batch_index as u64),
                    context: context(batch_index),
                })?;
                model.visit_blocks(state, &mut |block| {
                    let ParameterBlock {
                        parameters,
                        gradient,
                        state,
                        decays,
                    } = block;
                    let stepped = ParameterBlock {
                        parameters: &mut *parameters,
                        gradient,
                        state: &mut *state,
                        decays,
                    };
                    optimizer.step(stepped, rates, scale, par);
                    if config.ema > 0.0 {
                        state.update_average(parameters, config.ema);
                    }
                });
                model.after_step(state);
                observer.on_batch(((batch_index + 1) * batch_size).min(n), n);
            }
            let seconds = start.elapsed().as_secs_f64();
            let largest = largest_parameter(model, state);
            let reason = parameter_divergence(largest, config.max_abs_parameter);
            if reason.is_some() {
                return Ok((seconds, Vec::new(), reason));
            }
            let metrics = model.end_epoch(state, &context(0))?;
            let reason = metric_divergence(&metrics);
            Ok((seconds, metrics, reason))
        });
        let (seconds, metrics, reason) = outcome?;
        let report_epoch = epoch + 1;
        if let Some(reason) = reason {
            state.clone_from(&last_good);
            return Err(TrainError::Diverged {
                epoch: report_epoch,
                reason,
                // The last snapshot is the state at the end of the epochs done.
                last_good_epoch: *epochs_done,
            }
            .into());
        }
        *epochs_done = report_epoch;
        last_good.clone_from(state);
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
            .on_epoch(&report, M::observed(state))
            .map_err(TrainError::Stopped)?;
        last_epoch = Some(report);
    }
    if config.ema > 0.0 && epochs_run > 0 {
        use_averages(model, state);
    }
    Ok(TrainSummary {
        epochs_run,
        train_seconds,
        seconds_per_epoch: if epochs_run == 0 {
            0.0
        } else {
            train_seconds / epochs_run as f64
        },
        last_epoch,
    })
}

/// Replace every block's parameters by their moving average (the end of a run with a
/// positive [`LoopConfig::ema`]), then let the model restore its invariants.
fn use_averages<M: MinibatchModel>(model: &mut M, state: &mut M::State) {
    model.visit_blocks(state, &mut |block| {
        if block.state.average.len() == block.parameters.len() {
            block.parameters.copy_from_slice(&block.state.average);
        }
    });
    model.after_step(state);
}

/// The largest |parameter| of the blocks `model` trains in `state`, or `None` when any is
/// not finite: what the divergence guard measures.
fn largest_parameter<M: MinibatchModel>(model: &mut M, state: &mut M::State) -> Option<f32> {
    let mut largest = Some(0.0f32);
    model.visit_blocks(state, &mut |block| {
        largest = largest
            .zip(max_abs([&block.parameters[..]]))
            .map(|(a, b)| a.max(b));
    });
    largest
}

/// Train a fresh `state` through all of `config.epochs` and hand it back: [`train`] from
/// epoch 0, for trainers that are not resumed.
///
/// # Errors
///
/// As [`train`].
pub fn fit<M: MinibatchModel>(
    mut model: M,
    mut state: M::State,
    config: &LoopConfig,
    optimizer: &OptimizerConfig,
    observer: &mut dyn TrainObserver<M::Observed>,
) -> Result<M::State, M::Error> {
    train(&mut model, &mut state, config, optimizer, &mut 0, observer)?;
    Ok(state)
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::*;
    use crate::schedule::{LearningRateSchedule, MomentumSchedule};

    /// A one-parameter model whose gradient explodes after `explode_after` batches; or,
    /// with `noisy_optimum`, parameters climbing `-|p - optimum|^2 / 2` by gradients
    /// with standard normal noise (drawn from the batch's stream), the noisy objective of
    /// the moving average's test.
    pub(in crate::train) struct Toy {
        gradient: Vec<f32>,
        batches: usize,
        explode_after: usize,
        noisy_optimum: Option<f32>,
    }

    /// The toy's value and its optimizer state.
    pub(in crate::train) type ToyState = (Vec<f32>, BlockState);

    /// The toy's ten examples in batches of five (two batches an epoch), for `epochs`.
    pub(in crate::train) fn two_batches(epochs: usize) -> LoopConfig {
        LoopConfig {
            epochs,
            batch_size: 5,
            ..LoopConfig::default()
        }
    }

    /// Plain SGD at `learning_rate` with a constant `momentum` and no weight decay.
    pub(in crate::train) fn sgd(learning_rate: f32, momentum: f32) -> OptimizerConfig {
        OptimizerConfig::sgd(
            learning_rate,
            LearningRateSchedule::Constant,
            MomentumSchedule::constant(momentum),
            0.0,
        )
    }

    impl MinibatchModel for Toy {
        type Error = TrainError;
        type State = ToyState;
        type Observed = [f32];
        fn compute_gradient(
            &mut self,
            mut step: Step<'_, Self>,
        ) -> Result<GradientScale, TrainError> {
            if let Some(optimum) = self.noisy_optimum {
                for (g, &p) in self.gradient.iter_mut().zip(&step.state.0) {
                    *g = optimum - p + ebm_kernels::rng::normal_f64(&mut step.rng) as f32;
                }
                return Ok(GradientScale::Mean);
            }
            self.batches += 1;
            self.gradient[0] = if self.batches > self.explode_after {
                f32::INFINITY
            } else {
                1.0
            };
            Ok(GradientScale::Sum {
                rows: step.rows.len(),
            })
        }
        fn visit_blocks(
            &mut self,
            (value, state): &mut ToyState,
            visit: &mut dyn FnMut(ParameterBlock<'_>),
        ) {
            visit(ParameterBlock {
                parameters: value,
                gradient: &self.gradient,
                state,
                decays: true,
            });
        }
        fn observed((value, _): &ToyState) -> &[f32] {
            value
        }
        fn n_examples(&self) -> usize {
            10
        }
    }

    /// A toy whose gradient explodes after `explode_after` batches, at value 0.
    pub(in crate::train) fn toy(explode_after: usize) -> (Toy, ToyState) {
        let toy = Toy {
            gradient: vec![0.0],
            batches: 0,
            explode_after,
            noisy_optimum: None,
        };
        (toy, (vec![0.0], BlockState::default()))
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
        let (mut toy, mut state) = toy(4);
        let (config, optimizer) = (two_batches(5), sgd(0.5, 0.5));
        let mut recorder = Recorder(Vec::new());
        let mut done = 0;
        let run =
            |toy: &mut Toy, state: &mut ToyState, done: &mut usize, recorder: &mut Recorder| {
                train(toy, state, &config, &optimizer, done, recorder)
            };
        let err = run(&mut toy, &mut state, &mut done, &mut recorder).unwrap_err();
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
            state.0[0], recorder.0[1].1,
            "the value at the end of epoch 2"
        );
        assert!(err.to_string().contains("restored to the end of epoch 2"));
        // Resuming from the restored state continues from epoch 3 with its momentum.
        toy.explode_after = usize::MAX;
        run(&mut toy, &mut state, &mut done, &mut recorder).unwrap();
        assert_eq!(done, 5);
    }

    /// Sixteen parameters on the toy's noisy quadratic with its optimum at 3, trained for
    /// 500 epochs (1,000 steps of SGD at rate 0.1) with moving-average decay `ema`: the
    /// last raw iterate (as the observer saw it) and the final parameters.
    fn noisy_quadratic(ema: f32) -> (Vec<f32>, Vec<f32>) {
        let mut model = Toy {
            gradient: vec![0.0; 16],
            batches: 0,
            explode_after: usize::MAX,
            noisy_optimum: Some(3.0),
        };
        let mut state = (vec![0.0; 16], BlockState::default());
        let config = LoopConfig {
            ema,
            ..two_batches(500)
        };
        let mut last = Vec::new();
        {
            let mut observer = OnEpoch(|_: &EpochReport, value: &[f32]| last = value.to_vec());
            let optimizer = sgd(0.1, 0.0);
            train(
                &mut model,
                &mut state,
                &config,
                &optimizer,
                &mut 0,
                &mut observer,
            )
            .unwrap();
        }
        (last, state.0)
    }

    /// Squared distance of `p` to the optimum, 3 in every coordinate.
    fn squared_error(p: &[f32]) -> f32 {
        p.iter().map(|&x| (x - 3.0) * (x - 3.0)).sum()
    }

    #[test]
    fn the_moving_average_is_closer_to_the_optimum_than_the_last_iterate() {
        let (last, averaged) = noisy_quadratic(0.99);
        // At rate 0.1 and unit gradient noise the iterate's stationary variance is about
        // 0.1 / 2 per coordinate (16 coordinates: a squared error near 0.8); an average
        // over about 100 steps of an iterate correlated over about 10 cuts it about
        // tenfold. Asking for half leaves a wide margin against this seed's draw.
        let (raw, average) = (squared_error(&last), squared_error(&averaged));
        assert!(average < 0.5 * raw, "average {average} vs last {raw}");
        assert_ne!(last, averaged, "the average replaced the last iterate");
    }

    #[test]
    fn an_ema_of_zero_keeps_the_last_iterate_bit_for_bit() {
        let (last, trained) = noisy_quadratic(0.0);
        let bits = |p: &[f32]| p.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&last), bits(&trained));
        for ema in [-0.1, 1.0, f32::NAN] {
            let config = LoopConfig {
                ema,
                ..LoopConfig::default()
            };
            assert_eq!(config.validate().unwrap_err().setting, "ema", "{ema}");
        }
    }

    #[test]
    fn too_large_parameters_and_bad_settings_stop_the_run() {
        let (mut toy, mut state) = toy(usize::MAX);
        let optimizer = sgd(25.0, 0.0);
        let mut done = 0;
        let config = LoopConfig {
            max_abs_parameter: 15.0,
            ..two_batches(3)
        };
        let mut run = |config: &LoopConfig| {
            let observer = &mut NoObserver;
            train(
                &mut toy, &mut state, config, &optimizer, &mut done, observer,
            )
            .unwrap_err()
        };
        // A summed gradient of 1 over 5 rows at rate 25: +5 a batch, +10 an epoch, so epoch 2
        // reaches 20 > 15.
        let err = run(&config);
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
        // Zero epochs would hand back an untrained model as if trained.
        for (bad, setting) in [
            (
                LoopConfig {
                    batch_size: 0,
                    ..config
                },
                "batch_size",
            ),
            (
                LoopConfig {
                    epochs: 0,
                    ..config
                },
                "epochs",
            ),
        ] {
            let err = run(&bad);
            assert!(matches!(err, TrainError::InvalidSetting(ref e) if e.setting == setting));
        }
        assert_eq!(state.0[0], 10.0);
    }
}
