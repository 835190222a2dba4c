//! The four continuous samplers on a 2-D mixture of two correlated Gaussians: moments
//! against the exact ones, acceptance rate, effective sample size per second, and a
//! picture of each chain's first 400 states over the density.
//!
//! ```text
//! cargo run --release --example samplers_2d     # -> out/samplers/trace.png and a table
//! ```

use ebm::core::continuous::{
    ChainConfig, ContinuousEnergy, GaussianMixture, Hmc, Langevin, Mala, RandomWalk, Sampler,
    run_chain,
};
use ebm::data::image_grid::{Scaling, write_png_grid};
use std::time::Instant;

const SIDE: usize = 160;
const LOW: f64 = -4.0;
const HIGH: f64 = 4.5;

fn pixel(x: f64) -> Option<usize> {
    let p = ((x - LOW) / (HIGH - LOW) * SIDE as f64).floor();
    (p >= 0.0 && p < SIDE as f64).then_some(p as usize)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = GaussianMixture::two_dimensional(
        &[0.4, 0.6],
        &[[-1.0, 0.0], [1.5, 1.0]],
        &[[0.6, 0.2, 0.5], [0.4, -0.1, 0.7]],
    );
    let (true_mean, true_cov) = target.moments();
    // The density as a grey background (y up).
    let mut background = vec![0.0f32; SIDE * SIDE];
    let mut max = 0.0f32;
    for (r, row) in background.chunks_exact_mut(SIDE).enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            let x = LOW + (c as f64 + 0.5) / SIDE as f64 * (HIGH - LOW);
            let y = HIGH - (r as f64 + 0.5) / SIDE as f64 * (HIGH - LOW);
            *v = (-target.energy(&[x, y])).exp() as f32;
            max = max.max(*v);
        }
    }
    for v in &mut background {
        *v = 0.55 * *v / max;
    }
    let samplers: Vec<Box<dyn Sampler>> = vec![
        Box::new(RandomWalk::new(1.2)),
        Box::new(Langevin { step: 0.03 }),
        Box::new(Mala::new(0.35)),
        Box::new(Hmc::new(0.6, 8)),
    ];
    let mut tiles = Vec::new();
    println!("sampler      acceptance  mean error  cov error  min ESS  ESS/s");
    for mut sampler in samplers {
        let config = ChainConfig {
            burn_in: 0,
            steps: 100_000,
            ..ChainConfig::default()
        };
        let start = Instant::now();
        let chain = run_chain(&target, sampler.as_mut(), &[-3.0, 3.5], &config)?;
        let seconds = start.elapsed().as_secs_f64();
        let (mean, cov) = chain.moments();
        let mean_error = mean
            .iter()
            .zip(&true_mean)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let cov_error = cov
            .iter()
            .zip(&true_cov)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let ess = chain
            .effective_sample_size()
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        println!(
            "{:<12} {:>10.3} {:>11.4} {:>10.4} {:>8.0} {:>6.0}",
            chain.sampler,
            chain.acceptance_rate(),
            mean_error,
            cov_error,
            ess,
            ess / seconds
        );
        let mut tile = background.clone();
        for state in chain.samples.chunks_exact(2).take(400) {
            if let (Some(c), Some(r)) = (pixel(state[0]), pixel(-state[1] + LOW + HIGH)) {
                for (dr, dc) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    if r + dr < SIDE && c + dc < SIDE {
                        tile[(r + dr) * SIDE + c + dc] = 1.0;
                    }
                }
            }
        }
        tiles.extend(tile);
    }
    std::fs::create_dir_all("out/samplers")?;
    write_png_grid(
        std::path::Path::new("out/samplers/trace.png"),
        &tiles,
        SIDE,
        SIDE,
        4,
        Scaling::Unit,
    )?;
    println!(
        "wrote out/samplers/trace.png (random walk, Langevin, MALA, HMC; first 400 states from (-3, 3.5))"
    );
    Ok(())
}
