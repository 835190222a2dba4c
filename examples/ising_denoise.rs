//! Ising/Potts image denoising of a real MNIST digit: the clean binary digit is corrupted
//! by independent pixel flips, and MAP / posterior-marginal inference on a grid model
//! (unary: the flip likelihood; pairwise: a Potts smoothness energy) restores it.
//!
//! EBM_DATA=../shared/data cargo run --release --example ising_denoise -- [FLIP_RATE] [WEIGHT] [INDEX] [OUT_DIR]
//!
//! Writes `denoise.png` in OUT_DIR (default `.`): one row per digit, columns clean, noisy,
//! ICM, simulated annealing, MPLP, max-product BP, Gibbs posterior marginals (grey levels) and
//! their thresholded mode. Prints each method's pixel error against the clean digit over
//! 10 test digits starting at INDEX.

use common::arg;
use ebm::data::data_dir;
use ebm::data::image_grid::{Scaling, write_png_grid};
use ebm::data::mnist::{Split, load};
use ebm::factor::FactorModel;
use ebm::factor::bp::{BpConfig, max_product_map};
use ebm::factor::dual::{DualConfig, mplp};
use ebm::factor::gibbs::{GibbsConfig, estimate_marginals};
use ebm::factor::map::{AnnealConfig, icm, simulated_annealing};
use ebm::kernels::rng;
use std::path::PathBuf;
use std::time::Instant;

mod common;

const SIDE: usize = 28;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flip_rate: f64 = arg(1, 0.15)?;
    let weight: f64 = arg(2, 1.2)?;
    let first: usize = arg(3, 0)?;
    let out_dir = arg(4, PathBuf::from("."))?;
    if !(flip_rate > 0.0 && flip_rate < 0.5) {
        return Err("FLIP_RATE must be in (0, 0.5)".into());
    }
    let test = load(&data_dir::resolve(None).join("mnist"), Split::Test)?;
    let methods = ["noisy", "icm", "anneal", "mplp", "bp", "gibbs_mode"];
    let mut errors = vec![0usize; methods.len()];
    let mut seconds = vec![0.0f64; methods.len()];
    let mut tiles: Vec<f32> = Vec::new();
    let digits = 10;
    for index in first..first + digits {
        let clean: Vec<usize> = test
            .row(index)
            .iter()
            .map(|&p| usize::from(p > 0.5))
            .collect();
        let mut r = rng::stream(7, index as u64, 0);
        let noisy: Vec<usize> = clean
            .iter()
            .map(|&x| {
                if rng::uniform_f64(&mut r) < flip_rate {
                    1 - x
                } else {
                    x
                }
            })
            .collect();
        // E = sum_i -ln p(y_i | x_i) + weight * sum_<ij> [x_i != x_j].
        let mut model = FactorModel::new(vec![2; SIDE * SIDE]);
        let (keep, flip) = (-(1.0 - flip_rate).ln(), -flip_rate.ln());
        for (i, &y) in noisy.iter().enumerate() {
            let unary = if y == 0 { [keep, flip] } else { [flip, keep] };
            model.add_energy_factor(&[i], &unary)?;
            if i % SIDE + 1 < SIDE {
                model.add_potts(i, i + 1, weight)?;
            }
            if i + SIDE < SIDE * SIDE {
                model.add_potts(i, i + SIDE, weight)?;
            }
        }
        let mut results: Vec<Vec<usize>> = vec![noisy.clone()];
        let mut timed =
            |k: usize, f: &mut dyn FnMut() -> Result<Vec<usize>, Box<dyn std::error::Error>>| {
                let start = Instant::now();
                let out = f();
                seconds[k] += start.elapsed().as_secs_f64();
                out
            };
        results.push(timed(1, &mut || {
            Ok(icm(&model, Some(noisy.clone()), 100).assignment)
        })?);
        results.push(timed(2, &mut || {
            Ok(simulated_annealing(
                &model,
                &AnnealConfig {
                    start_temperature: 3.0,
                    sweeps: 500,
                    ..AnnealConfig::default()
                },
            )?
            .assignment)
        })?);
        results.push(timed(3, &mut || {
            Ok(mplp(&model, &DualConfig::default())?.assignment)
        })?);
        results.push(timed(4, &mut || {
            Ok(max_product_map(&model, &BpConfig::default())?.assignment)
        })?);
        let start = Instant::now();
        let marginals = estimate_marginals(
            &model,
            &GibbsConfig {
                chains: 4,
                burn_in: 100,
                sweeps: 500,
                seed: index as u64,
                tempering: None,
            },
        )?
        .marginals;
        seconds[5] += start.elapsed().as_secs_f64();
        results.push(marginals.iter().map(|p| usize::from(p[1] > 0.5)).collect());
        for (k, result) in results.iter().enumerate() {
            errors[k] += result.iter().zip(&clean).filter(|(a, b)| a != b).count();
        }
        let as_tile = |v: &[usize]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        tiles.extend(as_tile(&clean));
        for result in &results[..5] {
            tiles.extend(as_tile(result));
        }
        tiles.extend(marginals.iter().map(|p| p[1] as f32));
        tiles.extend(as_tile(&results[5]));
    }
    let pixels = (digits * SIDE * SIDE) as f64;
    println!(
        "flip rate {flip_rate}, Potts weight {weight}, test digits {first}..{}",
        first + digits
    );
    println!(
        "{:>12} {:>12} {:>14}",
        "method", "pixel error", "seconds/digit"
    );
    for (k, name) in methods.iter().enumerate() {
        println!(
            "{name:>12} {:>12.4} {:>14.4}",
            errors[k] as f64 / pixels,
            seconds[k] / digits as f64
        );
    }
    let path = out_dir.join("denoise.png");
    write_png_grid(&path, &tiles, SIDE, SIDE, 8, Scaling::Unit)?;
    println!(
        "wrote {} (columns: clean, noisy, icm, anneal, mplp, bp, gibbs marginals, gibbs mode)",
        path.display()
    );
    Ok(())
}
