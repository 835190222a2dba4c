//! Train MLP energies on the 2-D densities by every method and print their exact,
//! quadrature-normalized test NLL beside the true density's.
//!
//! ```sh
//! cargo run --release -p ebm-neural --example two_d -- [DENSITY|all] [METHOD|all] [EPOCHS]
//! ```
//!
//! DENSITY: mog8, rings, checkerboard; METHOD: cd (short-run), pcd, dsm, ssm, ssm-vr.
//! 20,000 training and 5,000 test points (seeds 1 and 2), MLP 2-64-64-1 swish, Adam,
//! batch 128, Adam at 2e-3 decaying linearly to 1e-4, one thread; `ln Z` on a 400 x 400 grid over the density's box. One JSON
//! line per run.

use ebm_core::schedule::LearningRateSchedule;
use ebm_core::train::{LoopConfig, NoObserver, OptimizerConfig};
use ebm_kernels::rng::stream;
use ebm_neural::density::{Density2d, quadrature_nll};
use ebm_neural::langevin::LangevinConfig;
use ebm_neural::train::{EnergyTrainConfig, Method, adam, train_energy};
use ebm_neural::{Activation, Cpu, Workspace};
use std::time::Instant;

/// The methods by name, with the settings used for the 2-D runs.
fn method(name: &str) -> Option<(Method, LangevinConfig, f32)> {
    let langevin = LangevinConfig::unadjusted(30, 0.005);
    Some(match name {
        "cd" => (Method::ShortRun, LangevinConfig::unadjusted(60, 0.01), 1e-3),
        "pcd" => (
            Method::Persistent {
                buffer_size: 10_000,
                reinit_fraction: 0.05,
            },
            langevin,
            1e-3,
        ),
        "dsm" => (Method::Denoising { noise_std: 0.1 }, langevin, 0.0),
        "ssm" => (
            Method::Sliced {
                variance_reduced: false,
            },
            langevin,
            0.0,
        ),
        "ssm-vr" => (
            Method::Sliced {
                variance_reduced: true,
            },
            langevin,
            0.0,
        ),
        _ => return None,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pick = |i: usize| args.get(i).map(String::as_str).unwrap_or("all");
    let epochs: usize = args.get(2).map_or(Ok(30), |e| e.parse())?;
    let densities: Vec<Density2d> = Density2d::ALL
        .into_iter()
        .filter(|d| pick(0) == "all" || pick(0) == d.name())
        .collect();
    let methods: Vec<&str> = ["cd", "pcd", "dsm", "ssm", "ssm-vr"]
        .into_iter()
        .filter(|m| pick(1) == "all" || pick(1) == *m)
        .collect();
    println!("density       method   true NLL  model NLL   gap    seconds  recoveries");
    for density in densities {
        let train = density.sample(20_000, &mut stream(1, 0, 0));
        let test = density.sample(5_000, &mut stream(2, 0, 0));
        let true_nll = density.nll(&test);
        for &name in &methods {
            let (method, langevin, alpha) = method(name).ok_or("unknown method")?;
            let config = EnergyTrainConfig {
                hidden: vec![64, 64],
                activation: Activation::Swish,
                method,
                langevin,
                noise_range: density.bound(),
                energy_regularization: alpha,
                clip_gradient_norm: 10.0,
                optimizer: OptimizerConfig {
                    learning_rate_schedule: LearningRateSchedule::Linear {
                        final_fraction: 0.05,
                    },
                    ..adam(2e-3)
                },
                run: LoopConfig {
                    seed: 1,
                    ..LoopConfig::default().with_batches(epochs, 128)
                },
                ..EnergyTrainConfig::default()
            };
            let start = Instant::now();
            let fit = train_energy(&config, &train, 2, &mut NoObserver)?;
            let seconds = start.elapsed().as_secs_f64();
            let (math, mut ws) = (Cpu::sequential(), Workspace::new());
            let nll = quadrature_nll(&fit.model, &math, &mut ws, &test, density.bound(), 400)?;
            println!(
                "{:<13} {:<8} {:>8.4} {:>10.4} {:>7.4} {:>8.1} {:>6}",
                density.name(),
                name,
                true_nll,
                nll,
                nll - true_nll,
                seconds,
                fit.recoveries.len()
            );
            println!(
                "{{\"density\":\"{}\",\"method\":\"{name}\",\"epochs\":{epochs},\"true_nll\":{true_nll:.5},\"model_nll\":{nll:.5},\"gap\":{:.5},\"train_seconds\":{seconds:.2},\"recoveries\":{}}}",
                density.name(),
                nll - true_nll,
                fit.recoveries.len()
            );
        }
    }
    Ok(())
}
