//! The speed of an MLP energy 784-512-512-1 (swish, the `ebm energy train` default) at
//! batch 128, the ebm side of `benches/torch_mlp_energy.py` (which runs the same
//! computations in PyTorch and alternates with this program):
//!
//! - `langevin_step`: one step of [`langevin`] on 128 chains (energy and input gradient,
//!   then `x <- x - eta/2 g + sqrt(eta) z`), eta = 0.01, on a net prepared once for
//!   the chain run ([`EnergyNet::prepare_sampling`]: the transposed copy of the large
//!   weight matrices, which the trainer also makes before its chains);
//! - `prepare_sampling` (extra, not compared): the cost of that copy, once per chain run;
//! - `train_step`: one contrastive-divergence training step as the trainer runs it
//!   ([`EnergyTrainer::contrastive_gradient`] on 128 data and 128 negative rows: the
//!   parameter gradient of the energy gap with the energy regularization, alpha = 1e-3),
//!   then the optimizer's Adam step over every parameter block;
//! - `dsm_step` (extra): one denoising-score-matching training step as the training loop
//!   runs it ([`MinibatchModel::compute_gradient`], then Adam).
//!
//! Prints one JSON line per step: the median milliseconds of `--repeats` runs after
//! `--warmup` runs on a pool of `--threads` threads.
//!
//! ```sh
//! cargo run --release -p ebm-neural --example mlp_step -- --threads 2 --repeats 30
//! ```

use ebm_core::train::{BatchContext, GradientScale, LoopConfig, MinibatchModel, Step};
use ebm_kernels::Parallelism;
use ebm_kernels::rng::{normal_f64, stream};
use ebm_neural::langevin::{LangevinBuffers, LangevinConfig, langevin, uniform_noise};
use ebm_neural::train::{EnergyTrainConfig, EnergyTrainer, Method, adam};
use ebm_neural::{Activation, EnergyNet, Mlp};
use std::time::Instant;

const BATCH: usize = 128;
const DIM: usize = 784;

/// Median milliseconds of `f` over `repeats` runs after `warmup` runs.
fn median_ms(warmup: usize, repeats: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut times: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    if times.len() % 2 == 0 {
        0.5 * (times[mid - 1] + times[mid])
    } else {
        times[mid]
    }
}

/// The value after `flag` on the command line, or `default`.
fn flag(args: &[String], flag: &str, default: usize) -> usize {
    match args.iter().position(|a| a == flag) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                eprintln!("mlp_step: {flag} needs a whole number");
                std::process::exit(2)
            }),
        None => default,
    }
}

/// The trainer's settings for the MLP of the comparison.
fn config(method: Method, threads: usize) -> EnergyTrainConfig {
    EnergyTrainConfig {
        hidden: vec![512, 512],
        activation: Activation::Swish,
        method,
        langevin: LangevinConfig::unadjusted(1, 0.01),
        energy_regularization: 1e-3,
        clip_gradient_norm: 0.0,
        optimizer: adam(1e-4),
        run: LoopConfig {
            threads,
            ..LoopConfig::default().with_batches(1, BATCH)
        },
        ..EnergyTrainConfig::default()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = flag(&args, "--threads", 1);
    let warmup = flag(&args, "--warmup", 5);
    let repeats = flag(&args, "--repeats", 30);
    let mut r = stream(2, 0, 0);
    let data: Vec<f32> = (0..BATCH * DIM)
        .map(|_| normal_f64(&mut r) as f32)
        .collect();
    let mut negatives = vec![0.0f32; BATCH * DIM];
    uniform_noise(&mut negatives, 4.0, &mut r);
    let rows: Vec<usize> = (0..BATCH).collect();
    let par = Parallelism::with_threads(threads);
    let pool = ebm_core::thread_pool(threads).expect("a thread pool");
    let cd = config(Method::ShortRun, threads);
    let dsm = config(Method::Denoising { noise_std: 0.1 }, threads);
    let rates = cd.optimizer.rates(0, 1);
    let times = pool.install(|| {
        let (mut trainer, mut state) = EnergyTrainer::new(&cd, &data, DIM).expect("a trainer");
        // A chain run prepares the net once (the transposed copy of its large weight
        // matrices, as the trainer does before its chains); the copy's cost is timed too.
        let mut model: Mlp = state.model.clone();
        let prepare_ms = median_ms(warmup, repeats, || model.prepare_sampling());
        let model = &model;
        let math = ebm_neural::Cpu { par };
        let (mut buffers, mut chains) = (LangevinBuffers::default(), negatives.clone());
        let mut rng = stream(3, 0, 0);
        let langevin_ms = median_ms(warmup, repeats, || {
            langevin(
                model,
                &math,
                &mut buffers,
                &mut chains,
                BATCH,
                &cd.langevin,
                &mut rng,
            )
            .expect("a Langevin step");
        });
        let train_ms = median_ms(warmup, repeats, || {
            trainer
                .contrastive_gradient(&state.model, &rows, &negatives, par)
                .expect("a CD gradient");
            trainer.visit_blocks(&mut state, &mut |block| {
                cd.optimizer.step(block, rates, GradientScale::Mean, par)
            });
        });
        let (mut trainer, mut state) = EnergyTrainer::new(&dsm, &data, DIM).expect("a trainer");
        let mut batch_index = 0;
        let dsm_ms = median_ms(warmup, repeats, || {
            let context = BatchContext {
                seed: 1,
                epoch: 0,
                batch_index,
                par,
            };
            let step = Step {
                state: &mut state,
                rows: &rows,
                rng: stream(1, 0, batch_index as u64),
                context,
            };
            let scale = trainer.compute_gradient(step).expect("a DSM gradient");
            trainer.visit_blocks(&mut state, &mut |block| {
                dsm.optimizer.step(block, rates, scale, par)
            });
            batch_index += 1;
        });
        [
            ("prepare_sampling", prepare_ms),
            ("langevin_step", langevin_ms),
            ("train_step", train_ms),
            ("dsm_step", dsm_ms),
        ]
    });
    for (step, ms) in times {
        println!("{{\"impl\":\"ebm\",\"step\":\"{step}\",\"threads\":{threads},\"ms\":{ms:.4}}}");
    }
}
