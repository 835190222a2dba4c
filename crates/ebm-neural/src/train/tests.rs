//! The trainers through the training core: rollback conformance for every method,
//! recovery from divergence, identical results for 1 and 2 threads.

use super::*;
use crate::langevin::LangevinConfig;
use ebm_core::train::{NoObserver, check_rollback, max_abs};
use ebm_kernels::rng::{normal_f64, stream};

/// Every method, with small settings.
pub(crate) fn methods() -> [Method; 6] {
    [
        Method::ShortRun,
        Method::Persistent {
            buffer_size: 64,
            reinit_fraction: 0.05,
        },
        Method::Denoising { noise_std: 0.3 },
        Method::Sliced {
            variance_reduced: false,
        },
        Method::Sliced {
            variance_reduced: true,
        },
        Method::NoiseConditional {
            sigma_max: 1.0,
            sigma_min: 0.1,
            levels: 5,
        },
    ]
}

/// 200 points of a 2-D Gaussian with standard deviation 0.5 around (1, -1).
fn blob() -> Vec<f32> {
    let mut r = stream(11, 0, 0);
    (0..400)
        .map(|i| (if i % 2 == 0 { 1.0 } else { -1.0 }) + 0.5 * normal_f64(&mut r) as f32)
        .collect()
}

fn small(method: Method) -> EnergyTrainConfig {
    EnergyTrainConfig {
        hidden: vec![16, 16],
        method,
        langevin: LangevinConfig {
            steps: 10,
            step_size: 0.05,
            noise_scale: 0.1,
            clip_drift: 0.0,
        },
        noise_range: 3.0,
        optimizer: adam(0.01),
        run: LoopConfig::default().with_batches(12, 20),
        ..EnergyTrainConfig::default()
    }
}

/// When the parameters pass the guard's bound, the whole state (model, Adam moments,
/// replay buffer) comes back as it was after the last good epoch: the core's check.
#[test]
fn every_method_rolls_back_to_the_last_good_epoch() {
    let settings = |method| EnergyTrainConfig {
        optimizer: adam(0.05),
        run: LoopConfig::default().with_batches(30, 20),
        ..small(method)
    };
    let model = |config: &EnergyTrainConfig| trainer::initial_mlp(config, 2).unwrap();
    every_method_rolls_back(&blob(), settings, model);
}

/// [`check_rollback`] of every method on `data` with the settings `settings(method)`,
/// from the network `model(settings)`.
pub(crate) fn every_method_rolls_back<N: EnergyNet + PartialEq>(
    data: &[f32],
    settings: impl Fn(Method) -> EnergyTrainConfig,
    model: impl Fn(&EnergyTrainConfig) -> N,
) {
    for method in methods() {
        let config = settings(method);
        let good = check_rollback(
            || EnergyTrainer::with_model(&config, data, model(&config)).unwrap(),
            &config.run,
            &config.optimizer,
            |m: &N| {
                let mut model = m.clone();
                let mut largest = 0.0f32;
                model.visit_layers(&mut |w, b| {
                    largest = largest.max(max_abs([&w[..], &b[..]]).unwrap_or(f32::INFINITY));
                });
                largest
            },
        );
        assert!(good.is_ok(), "{method:?}: {good:?}");
    }
}

/// A bound the parameters cross is recovered from: training goes on from the restored
/// epoch with the learning rate and the Langevin step halved, and says so.
#[test]
fn a_divergence_halves_the_steps_and_training_goes_on() {
    let data = blob();
    let free = EnergyTrainConfig {
        optimizer: adam(0.05),
        max_recoveries: 30,
        ..small(Method::ShortRun)
    };
    let (_, state) = EnergyTrainer::new(&free, &data, 2).unwrap();
    let start = max_abs([state.model.parameters()]).unwrap();
    let peak = max_abs([train_energy(&free, &data, 2, &mut NoObserver)
        .unwrap()
        .model
        .parameters()])
    .unwrap();
    assert!(peak > start);
    // Bounded halfway between the initial and the final size, the run crosses the bound.
    let config = EnergyTrainConfig {
        run: LoopConfig {
            max_abs_parameter: 0.5 * (start + peak),
            ..free.run
        },
        ..free
    };
    let fit = train_energy(&config, &data, 2, &mut NoObserver).unwrap();
    assert!(!fit.recoveries.is_empty());
    let first = &fit.recoveries[0];
    assert_eq!((first.learning_rate, first.step_size), (0.025, 0.025));
    assert!(first.restored_epoch < first.epoch);
    assert_eq!(fit.summary.last_epoch.unwrap().epoch, 12);
    // With no recoveries allowed, the same run stops with the guard's error.
    let strict = EnergyTrainConfig {
        max_recoveries: 0,
        ..config
    };
    let err = train_energy(&strict, &data, 2, &mut NoObserver).unwrap_err();
    assert!(
        matches!(err, NeuralError::Train(TrainError::Diverged { .. })),
        "{err}"
    );
}

#[test]
fn every_method_gives_the_same_bits_on_one_and_two_threads() {
    let data = blob();
    for method in methods() {
        let run = |threads| {
            let config = EnergyTrainConfig {
                run: LoopConfig {
                    threads,
                    ..small(method).run.with_batches(2, 20)
                },
                ..small(method)
            };
            train_energy(&config, &data, 2, &mut NoObserver)
                .unwrap()
                .model
        };
        assert_eq!(run(1), run(2), "{method:?}");
    }
}

#[test]
fn bad_settings_and_data_are_refused() {
    let data = blob();
    let bad = [
        EnergyTrainConfig {
            hidden: vec![],
            ..small(Method::ShortRun)
        },
        small(Method::Persistent {
            buffer_size: 5,
            reinit_fraction: 0.05,
        }),
        small(Method::Denoising { noise_std: 0.0 }),
        small(Method::NoiseConditional {
            sigma_max: 0.1,
            sigma_min: 1.0,
            levels: 5,
        }),
        EnergyTrainConfig {
            clip_gradient_norm: -1.0,
            ..small(Method::ShortRun)
        },
    ];
    for config in bad {
        let err = train_energy(&config, &data, 2, &mut NoObserver).unwrap_err();
        assert!(matches!(err, NeuralError::InvalidSetting(_)), "{err}");
    }
    let config = small(Method::ShortRun);
    assert!(matches!(
        train_energy(&config, &data[..5], 2, &mut NoObserver),
        Err(NeuralError::Data(_))
    ));
    assert!(matches!(
        train_energy(&config, &[f32::NAN, 0.0], 2, &mut NoObserver),
        Err(NeuralError::Data(_))
    ));
}

/// Every method learns where a Gaussian blob is: after training, the energy at the blob's
/// centre (1, -1) is lower by more than 1 than at (-1, 1), 5.7 standard deviations away
/// (the true gap is 16 nats, so 1 is a loose, qualitative bar; the quantitative check is
/// the quadrature NLL test in `density`).
#[test]
fn every_method_puts_low_energy_on_the_data() {
    let data = blob();
    for method in methods() {
        let config = EnergyTrainConfig {
            run: small(method).run.with_batches(40, 20),
            ..small(method)
        };
        let fit = train_energy(&config, &data, 2, &mut NoObserver).unwrap();
        let mut ws = crate::Workspace::new();
        let e = fit.model.energy(
            &crate::Cpu::sequential(),
            &mut ws,
            &[1.0, -1.0, -1.0, 1.0],
            2,
        );
        assert!(
            e[0] + 1.0 < e[1],
            "{method:?}: E(centre) {} vs E(far) {}",
            e[0],
            e[1]
        );
    }
}

/// Persistent CD with tempered replicas of its chains: the whole state (the buffer of
/// every replica) rolls back, the run is bit-identical for 1 and 2 threads, and it puts
/// low energy on the blob as every method does.
#[test]
fn tempered_persistent_chains_roll_back_repeat_and_learn() {
    let data = blob();
    let tempered = |batches: LoopConfig, threads| EnergyTrainConfig {
        tempering: crate::tempering::Tempering {
            replicas: 3,
            max_temperature_ratio: 4.0,
        },
        run: LoopConfig { threads, ..batches },
        ..small(Method::Persistent {
            buffer_size: 64,
            reinit_fraction: 0.05,
        })
    };
    let config = tempered(LoopConfig::default().with_batches(30, 20), 1);
    let config = EnergyTrainConfig {
        optimizer: adam(0.05),
        ..config
    };
    let good = check_rollback(
        || EnergyTrainer::new(&config, &data, 2).unwrap(),
        &config.run,
        &config.optimizer,
        |m: &Mlp| max_abs([m.parameters()]).unwrap_or(f32::INFINITY),
    );
    assert!(good.is_ok(), "{good:?}");
    let run = |threads| {
        let config = tempered(LoopConfig::default().with_batches(2, 20), threads);
        train_energy(&config, &data, 2, &mut NoObserver)
            .unwrap()
            .model
    };
    assert_eq!(run(1), run(2));
    let config = tempered(LoopConfig::default().with_batches(40, 20), 1);
    let fit = train_energy(&config, &data, 2, &mut NoObserver).unwrap();
    assert_low_energy_on_the_blob(&fit.model);
}

/// A final noise equal to the first is the constant noise, bit for bit; another final
/// noise trains another model. Antithetic noise trains another model too, the same bits
/// on 1 and 2 threads, with low energy on the blob.
#[test]
fn a_final_noise_and_antithetic_noise_change_the_denoising_noise() {
    let data = blob();
    let run = |last: Option<f32>, antithetic_noise, threads, epochs| {
        let config = EnergyTrainConfig {
            final_noise_std: last,
            antithetic_noise,
            run: LoopConfig {
                threads,
                ..LoopConfig::default().with_batches(epochs, 20)
            },
            ..small(Method::Denoising { noise_std: 0.3 })
        };
        train_energy(&config, &data, 2, &mut NoObserver)
            .unwrap()
            .model
    };
    let plain = run(None, false, 1, 3);
    assert_eq!(plain, run(Some(0.3), false, 1, 3));
    assert_ne!(plain, run(Some(0.05), false, 1, 3));
    let antithetic = run(None, true, 1, 3);
    assert_ne!(plain, antithetic);
    assert_eq!(antithetic, run(None, true, 2, 3));
    let learned = run(Some(0.1), true, 1, 40);
    assert_low_energy_on_the_blob(&learned);
}

/// Tempering is for persistent chains and a final noise for denoising only; a bad
/// ladder or final noise is refused, each naming its setting.
#[test]
fn tempering_and_final_noise_settings_are_checked() {
    let data = blob();
    let ladder = |replicas, max_temperature_ratio| crate::tempering::Tempering {
        replicas,
        max_temperature_ratio,
    };
    let persistent = Method::Persistent {
        buffer_size: 64,
        reinit_fraction: 0.05,
    };
    let bad = [
        (
            EnergyTrainConfig {
                tempering: ladder(3, 4.0),
                ..small(Method::ShortRun)
            },
            "tempering",
        ),
        (
            EnergyTrainConfig {
                tempering: ladder(3, 0.5),
                ..small(persistent)
            },
            "tempering",
        ),
        (
            EnergyTrainConfig {
                final_noise_std: Some(0.1),
                ..small(Method::Sliced {
                    variance_reduced: true,
                })
            },
            "final_noise_std",
        ),
        (
            EnergyTrainConfig {
                antithetic_noise: true,
                ..small(Method::ShortRun)
            },
            "antithetic_noise",
        ),
        (
            EnergyTrainConfig {
                final_noise_std: Some(0.0),
                ..small(Method::Denoising { noise_std: 0.3 })
            },
            "final_noise_std",
        ),
    ];
    for (config, setting) in bad {
        match train_energy(&config, &data, 2, &mut NoObserver) {
            Err(NeuralError::InvalidSetting(invalid)) => assert_eq!(invalid.setting, setting),
            other => panic!("{setting}: {other:?}"),
        }
    }
}

/// The energy at the blob's centre (1, -1) is lower by more than 1 than at (-1, 1).
fn assert_low_energy_on_the_blob(model: &Mlp) {
    let mut ws = crate::Workspace::new();
    let points = [1.0, -1.0, -1.0, 1.0];
    let e = model.energy(&crate::Cpu::sequential(), &mut ws, &points, 2);
    assert!(e[0] + 1.0 < e[1], "E(centre) {} vs E(far) {}", e[0], e[1]);
}

/// A contrastive step prepares the net for its chains (the transposed copy of its
/// 300 x 256 weights), and the optimizer step after it (through `visit_layers`) drops
/// the copy, so nothing after an update can use stale weights.
#[test]
fn the_optimizer_step_drops_the_copy_the_chains_used() {
    use ebm_core::train::{BatchContext, Step};
    use ebm_kernels::Parallelism;
    let (n, d) = (8, 300);
    let mut r = stream(12, 0, 0);
    let data: Vec<f32> = (0..n * d).map(|_| normal_f64(&mut r) as f32).collect();
    let config = EnergyTrainConfig {
        hidden: vec![256, 8],
        ..small(Method::ShortRun)
    };
    let (mut trainer, mut state) = EnergyTrainer::new(&config, &data, d).unwrap();
    assert!(!state.model.is_prepared_for_sampling());
    let rows: Vec<usize> = (0..n).collect();
    let par = Parallelism::Sequential;
    let context = BatchContext {
        seed: 1,
        epoch: 0,
        batch_index: 0,
        par,
    };
    let step = Step {
        state: &mut state,
        rows: &rows,
        rng: stream(1, 0, 0),
        context,
    };
    let scale = trainer.compute_gradient(step).unwrap();
    assert!(state.model.is_prepared_for_sampling());
    let rates = config.optimizer.rates(0, 1);
    trainer.visit_blocks(&mut state, &mut |block| {
        config.optimizer.step(block, rates, scale, par)
    });
    assert!(!state.model.is_prepared_for_sampling());
}
