//! Annealed Langevin dynamics (Song & Ermon 2019, algorithm 1): for each noise level
//! `sigma_i` of the ladder, largest first, `T` steps of
//! `x <- x + (alpha_i / 2) s(x, sigma_i) + sqrt(alpha_i) z` with
//! `alpha_i = epsilon sigma_i^2 / sigma_L^2`, then optionally one denoising step
//! `x <- x + sigma_L^2 s(x, sigma_L)` (Tweedie's formula at the last level).

use crate::{NeuralError, positive};
use ebm_core::InvalidSetting;
use ebm_kernels::rng::{StreamRng, normal_f64};

/// A score model over a ladder of noise levels: `s(x, sigma_i) = grad_x ln p_i(x)`.
pub trait NoiseScore {
    /// The input dimension.
    fn dim(&self) -> usize;
    /// The noise levels, largest first.
    fn sigmas(&self) -> &[f32];
    /// The scores of level `level` at the rows of `x` (`n x d`) into `out` (`n x d`).
    fn score(&mut self, x: &[f32], level: usize, out: &mut [f32]);
}

/// Settings of annealed Langevin sampling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnnealedConfig {
    /// Langevin steps `T` at each noise level.
    pub steps_per_level: usize,
    /// `epsilon`: the step size at the last (smallest) level.
    pub step_epsilon: f32,
    /// End with the denoising step `x + sigma_L^2 s(x, sigma_L)`.
    pub denoise: bool,
}

impl AnnealedConfig {
    /// Check every setting; the error names it.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] for `steps_per_level` (at least 1) or `step_epsilon` (positive).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::at_least_one(self.steps_per_level, "steps_per_level")?;
        positive(self.step_epsilon, "step_epsilon")
    }
}

/// Run annealed Langevin dynamics on the rows of `x` (`n x d`) in place, drawing the
/// noise from `rng`.
///
/// # Errors
///
/// [`NeuralError::InvalidSetting`] for a bad setting, [`NeuralError::Shape`] when `x` is
/// not whole rows of the model's dimension.
///
/// # Examples
///
/// ```
/// use ebm_neural::annealed::{AnnealedConfig, annealed_langevin};
/// use ebm_neural::noise_conditional::NoiseConditionalEnergy;
/// use ebm_neural::{Activation, Cpu, Mlp, OnBackend};
/// let mut rng = ebm_kernels::rng::stream(1, 0, 0);
/// let f = Mlp::new(&[2, 8, 1], Activation::Swish, 1.0, &mut rng)?;
/// let model = NoiseConditionalEnergy::new(f, vec![1.0, 0.3, 0.1])?;
/// let mut x = vec![0.5f32; 2 * 10];
/// let config = AnnealedConfig { steps_per_level: 5, step_epsilon: 1e-3, denoise: true };
/// annealed_langevin(&mut OnBackend::new(&model, Cpu::sequential()), &mut x, &config, &mut rng)?;
/// assert!(x.iter().all(|v| v.is_finite()));
/// # Ok::<(), ebm_neural::NeuralError>(())
/// ```
pub fn annealed_langevin(
    model: &mut impl NoiseScore,
    x: &mut [f32],
    config: &AnnealedConfig,
    rng: &mut StreamRng,
) -> Result<(), NeuralError> {
    config.validate()?;
    let d = model.dim();
    if x.len() % d != 0 {
        return Err(NeuralError::Shape(format!(
            "{} values are not rows of {d}",
            x.len()
        )));
    }
    let sigmas = model.sigmas().to_vec();
    let last = sigmas.len() - 1;
    let sigma_last = sigmas[last] as f64;
    let mut score = vec![0.0f32; x.len()];
    for (level, &sigma) in sigmas.iter().enumerate() {
        let alpha = config.step_epsilon as f64 * (sigma as f64 / sigma_last).powi(2);
        let (half, noise) = ((0.5 * alpha) as f32, alpha.sqrt() as f32);
        for _ in 0..config.steps_per_level {
            model.score(x, level, &mut score);
            for (xi, &s) in x.iter_mut().zip(&score) {
                *xi += half * s + noise * normal_f64(rng) as f32;
            }
        }
    }
    if config.denoise {
        model.score(x, last, &mut score);
        let variance = (sigma_last * sigma_last) as f32;
        for (xi, &s) in x.iter_mut().zip(&score) {
            *xi += variance * s;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ebm_kernels::rng::stream;

    /// Data `N(mu, s^2 I)` (`mu` of `mean.len()` values): the noised density of level
    /// `sigma` is `N(mu, (s^2 + sigma^2) I)`, whose score is known exactly; `scale`
    /// multiplies it (1: exact).
    pub(crate) struct Gaussian {
        pub(crate) mean: Vec<f32>,
        pub(crate) variance: f32,
        pub(crate) sigmas: Vec<f32>,
        pub(crate) scale: f32,
    }

    impl NoiseScore for Gaussian {
        fn dim(&self) -> usize {
            self.mean.len()
        }
        fn sigmas(&self) -> &[f32] {
            &self.sigmas
        }
        fn score(&mut self, x: &[f32], level: usize, out: &mut [f32]) {
            let (v, d) = (self.variance + self.sigmas[level].powi(2), self.mean.len());
            for (k, (o, &xi)) in out.iter_mut().zip(x).enumerate() {
                *o = -self.scale * (xi - self.mean[k % d]) / v;
            }
        }
    }

    /// 4,000 chains started far off (at (5, -5)) end with the data's moments: mean
    /// `(1, -0.5)` and variance `0.25 + sigma_L^2 = 0.29` per axis without denoising, or
    /// `0.25^2 / 0.29 = 0.216` after the denoising step shrinks the spread. With 300
    /// steps per level every level mixes (`T alpha_i / v_i >= 5`); the sampling error of
    /// a variance is `0.29 sqrt(2 / 4000) = 0.0065`, of a mean 0.0085, and the step-size
    /// bias at the last level `alpha_L / 4 = 0.0013`. Tolerances: 0.03 (mean) and 0.02
    /// (variance), about 3 standard errors, against a starting gap of 5 and a gap of
    /// 0.075 between the two cases.
    #[test]
    fn annealed_langevin_on_a_gaussian_matches_its_moments() {
        let mut model = Gaussian {
            mean: vec![1.0, -0.5],
            variance: 0.25,
            sigmas: crate::noise_conditional::geometric_ladder(3.0, 0.2, 6).unwrap(),
            scale: 1.0,
        };
        for denoise in [false, true] {
            let n = 4000;
            let mut x: Vec<f32> = (0..n).flat_map(|_| [5.0f32, -5.0]).collect();
            let config = AnnealedConfig {
                steps_per_level: 300,
                step_epsilon: 5e-3,
                denoise,
            };
            annealed_langevin(&mut model, &mut x, &config, &mut stream(9, 0, 0)).unwrap();
            let sigma_l2 = 0.2f64 * 0.2;
            let expected_var = if denoise {
                0.25f64 * 0.25 / (0.25 + sigma_l2)
            } else {
                0.25 + sigma_l2
            };
            for axis in 0..2 {
                let values: Vec<f64> = x.iter().skip(axis).step_by(2).map(|&v| v as f64).collect();
                let mean = values.iter().sum::<f64>() / n as f64;
                let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
                assert!(
                    (mean - model.mean[axis] as f64).abs() < 0.03,
                    "{denoise} mean {mean}"
                );
                assert!((var - expected_var).abs() < 0.02, "{denoise} var {var}");
            }
        }
        let bad = AnnealedConfig {
            steps_per_level: 0,
            step_epsilon: 1e-3,
            denoise: false,
        };
        let mut x = vec![0.0f32; 2];
        assert!(annealed_langevin(&mut model, &mut x, &bad, &mut stream(1, 0, 0)).is_err());
        let good = AnnealedConfig {
            steps_per_level: 1,
            ..bad
        };
        let mut ragged = vec![0.0f32; 3];
        assert!(annealed_langevin(&mut model, &mut ragged, &good, &mut stream(1, 0, 0)).is_err());
    }
}
