//! The noise-conditional side of `ebm energy`: the ladder's default top and its metrics,
//! annealed Langevin sampling.

use super::SampleArgs;
use crate::Failure;
use crate::output::Metrics;
use ebm_kernels::rng::StreamRng;
use ebm_neural::annealed::{AnnealedConfig, annealed_langevin};
use ebm_neural::level_fit::level_fits;
use ebm_neural::noise_conditional::NoiseConditionalEnergy;
use ebm_neural::{Cpu, OnBackend};

/// Rows of the data whose pairwise distances set the default `--sigma-max`.
const DISTANCE_ROWS: usize = 500;

/// The default `--sigma-max` (Song & Ermon 2020, technique 1): the largest distance
/// between two of the first 500 rows of `points` (`n x dim`), at least `1e-3`.
pub fn largest_distance(points: &[f32], dim: usize) -> f32 {
    let rows: Vec<&[f32]> = points.chunks_exact(dim).take(DISTANCE_ROWS).collect();
    let mut largest = 0.0f64;
    for (i, a) in rows.iter().enumerate() {
        for b in &rows[i + 1..] {
            let squared: f64 = a
                .iter()
                .zip(*b)
                .map(|(x, y)| ((x - y) as f64).powi(2))
                .sum();
            largest = largest.max(squared);
        }
    }
    (largest.sqrt() as f32).max(1e-3)
}

/// The ladder's ends and size of `model`, added to `metrics`.
pub fn ladder_metrics(model: &NoiseConditionalEnergy, metrics: &mut Metrics) {
    let sigmas = model.sigmas();
    metrics
        .number("sigma_max", sigmas[0] as f64)
        .number("sigma_min", sigmas[sigmas.len() - 1] as f64)
        .integer("levels", sigmas.len() as u64);
}

/// The fit of every level of `model` on the rows of `test` ([`level_fits`], noise from
/// stream `seed`/2), added to `metrics` as lists over the ladder, largest level first:
/// `level_loss` (`E |sigma s + z|^2 / D`, 1 for a zero score) and `level_score_ratio`
/// (the score's mean norm over `sqrt(D) / sigma`).
///
/// # Errors
///
/// Bad input when `test` is not whole rows of the model's dimension.
pub fn level_metrics(
    model: &NoiseConditionalEnergy,
    test: &[f32],
    seed: u64,
    metrics: &mut Metrics,
) -> Result<(), Failure> {
    let mut rng = ebm_kernels::rng::stream(seed, 2, 0);
    let fits = level_fits(
        &mut OnBackend::new(model, Cpu::sequential()),
        test,
        &mut rng,
    )
    .map_err(Failure::input)?;
    let losses: Vec<f64> = fits.iter().map(|f| f.loss).collect();
    let ratios: Vec<f64> = fits.iter().map(|f| f.score_ratio).collect();
    metrics
        .numbers("level_loss", &losses)
        .numbers("level_score_ratio", &ratios);
    Ok(())
}

/// Annealed Langevin dynamics (`--steps-per-level`, `--step-epsilon`, `--denoise`) on the
/// chains `x` of `model`.
pub fn sample(
    model: &NoiseConditionalEnergy,
    args: &SampleArgs,
    x: &mut [f32],
    rng: &mut StreamRng,
) -> Result<(), Failure> {
    let config = AnnealedConfig {
        steps_per_level: args.steps_per_level,
        step_epsilon: args.step_epsilon,
        denoise: args.denoise,
    };
    annealed_langevin(
        &mut OnBackend::new(model, Cpu::sequential()),
        x,
        &config,
        rng,
    )
    .map_err(|e| Failure::input(format!("--steps-per-level/--step-epsilon: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_distance_is_over_pairs_of_rows() {
        let points = [0.0f32, 0.0, 3.0, 4.0, 1.0, 1.0];
        assert_eq!(largest_distance(&points, 2), 5.0);
        assert_eq!(largest_distance(&[2.0], 1), 1e-3);
    }
}
