//! The four continuous samplers on a 2-D mixture of two correlated Gaussians: moments
//! against the exact ones, acceptance rate, effective sample size per second, and a
//! picture of each chain's first 400 states over the density: one titled panel per
//! sampler, with axes and a legend (drawn by `ebm-plot`).
//!
//! ```text
//! cargo run --release --example samplers_2d     # -> out/samplers/trace.png and a table
//! ```

use ebm::core::continuous::{
    ChainConfig, ContinuousEnergy, GaussianMixture, Hmc, Langevin, Mala, RandomWalk, Sampler,
    run_chain,
};
use ebm::plot::{Chart, Layout, Series, Shading, Style, write_png};
use std::time::Instant;

/// Cells per side of the density's shading.
const SIDE: usize = 100;
const LOW: f64 = -4.0;
const HIGH: f64 = 4.5;
/// States of each chain drawn.
const SHOWN: usize = 400;

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
        *v = 0.85 * *v / max;
    }
    let samplers: Vec<(Box<dyn Sampler>, &str)> = vec![
        (Box::new(RandomWalk::new(1.2)), "random walk (step 1.2)"),
        (
            Box::new(Langevin { step: 0.03 }),
            "Langevin (step 0.03, unadjusted)",
        ),
        (Box::new(Mala::new(0.35)), "MALA (step 0.35)"),
        (
            Box::new(Hmc::new(0.6, 8)),
            "HMC (step 0.6, 8 leapfrog steps)",
        ),
    ];
    let mut panels = Vec::new();
    println!("sampler      acceptance  mean error  cov error  min ESS  ESS/s");
    for (mut sampler, label) in samplers {
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
        let states: Vec<(f64, f64)> = chain
            .samples
            .chunks_exact(2)
            .take(SHOWN)
            .map(|s| (s[0], s[1]))
            .collect();
        let shading = Shading {
            x: (LOW, HIGH),
            y: (LOW, HIGH),
            columns: SIDE,
            values: background.clone(),
        };
        let title = format!("{label}: acceptance {:.3}", chain.acceptance_rate());
        panels.push(
            Chart::new(title, "x1", "x2")
                .x_range(LOW, HIGH)
                .y_range(LOW, HIGH)
                .shaded(shading)
                .with(Series::new(
                    format!("first {SHOWN} states"),
                    states,
                    Style::LineAndPoints,
                ))
                .with(Series::new("start (-3, 3.5)", vec![(-3.0, 3.5)], Style::Points).color(3)),
        );
    }
    std::fs::create_dir_all("out/samplers")?;
    let layout = Layout {
        columns: 2,
        panel_width: 560,
        panel_height: 560,
    };
    write_png(
        std::path::Path::new("out/samplers/trace.png"),
        &panels,
        layout,
    )?;
    println!(
        "wrote out/samplers/trace.png (one panel per sampler, titled; first {SHOWN} states from (-3, 3.5) over the density)"
    );
    Ok(())
}
