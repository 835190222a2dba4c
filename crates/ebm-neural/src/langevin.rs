//! Batched Langevin dynamics on an energy network ([`EnergyNet`]): `x <- x - (step / 2) grad_x E(x) + noise z`,
//! `z ~ N(0, I)`, with the step size and the noise scale as separate settings (the exact
//! unadjusted Langevin sampler of `exp(-E)` has `noise = sqrt(step)`; short-run EBM
//! training often uses less noise).

use crate::{EnergyNet, LayerMath, NeuralError, Workspace, positive};
use ebm_core::InvalidSetting;
use ebm_kernels::rng::{StreamRng, fill_normal_f32, uniform_f64};
use serde::{Deserialize, Serialize};

/// Settings of a Langevin run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LangevinConfig {
    /// Steps per run.
    pub steps: usize,
    /// Step size `eta` (the gradient is scaled by `eta / 2`).
    pub step_size: f32,
    /// Standard deviation of the noise added per step.
    pub noise_scale: f32,
    /// When positive, each coordinate of `(eta / 2) grad_x E` is clipped to this size.
    pub clip_drift: f32,
}

impl Default for LangevinConfig {
    fn default() -> Self {
        Self {
            steps: 20,
            step_size: 0.01,
            noise_scale: 0.1,
            clip_drift: 0.0,
        }
    }
}

impl LangevinConfig {
    /// The exact unadjusted Langevin sampler of `exp(-E)` with step `eta`: noise
    /// `sqrt(eta)`, no clipping.
    pub fn unadjusted(steps: usize, step_size: f32) -> Self {
        Self {
            steps,
            step_size,
            noise_scale: step_size.sqrt(),
            clip_drift: 0.0,
        }
    }

    /// These settings with the step size halved and the noise with it (by `sqrt(2)`,
    /// keeping their ratio's meaning): what a recovery from a divergence runs with.
    pub fn halved(self) -> Self {
        Self {
            step_size: self.step_size * 0.5,
            noise_scale: self.noise_scale * std::f32::consts::FRAC_1_SQRT_2,
            ..self
        }
    }

    /// Check every setting; the error names it.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] for `langevin.steps`, `langevin.step_size`,
    /// `langevin.noise_scale` or `langevin.clip_drift`.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::at_least_one(self.steps, "langevin.steps")?;
        positive(self.step_size, "langevin.step_size")?;
        InvalidSetting::non_negative(self.noise_scale, "langevin.noise_scale")?;
        InvalidSetting::non_negative(self.clip_drift, "langevin.clip_drift")
    }
}

/// Buffers of a Langevin run (the network's workspace `W`, the input gradient, the
/// noise), reused between runs.
#[derive(Clone, Debug, Default)]
pub struct LangevinBuffers<W = Workspace> {
    /// The network's workspace.
    pub workspace: W,
    gradient: Vec<f32>,
    noise: Vec<f32>,
}

/// Run `config.steps` Langevin steps on the `n` rows of `x` (`n x d`) in place, drawing
/// the noise from `rng`. Returns the mean energy before the last step.
///
/// # Errors
///
/// [`NeuralError::InvalidSetting`] for a bad setting, [`NeuralError::Shape`] when `x` does
/// not hold `n` rows of the model's input dimension.
pub fn langevin<N: EnergyNet>(
    mlp: &N,
    math: &impl LayerMath,
    buffers: &mut LangevinBuffers<N::Workspace>,
    x: &mut [f32],
    n: usize,
    config: &LangevinConfig,
    rng: &mut StreamRng,
) -> Result<f64, NeuralError> {
    let d = mlp.n_inputs();
    langevin_by(buffers, x, (n, d), config, rng, |ws, x, gradient| {
        mlp.input_gradient(math, ws, x, n, gradient);
        N::jets(ws).output(0).iter().map(|&e| e as f64).sum::<f64>() / n as f64
    })
}

/// [`langevin`] on any energy of `n x d` inputs (`shape = (n, d)`) given by its input
/// gradient: `gradient(workspace, x, grad_x)` writes `grad_x E` of the rows of `x` and
/// returns their mean energy (e.g. the joint model's `-logsumexp f(x)` or `-f(x)[y]`).
/// Returns the mean energy before the last step.
///
/// # Errors
///
/// As [`langevin`].
pub fn langevin_by<W>(
    buffers: &mut LangevinBuffers<W>,
    x: &mut [f32],
    (n, d): (usize, usize),
    config: &LangevinConfig,
    rng: &mut StreamRng,
    mut gradient: impl FnMut(&mut W, &[f32], &mut [f32]) -> f64,
) -> Result<f64, NeuralError> {
    config.validate()?;
    if x.len() != n * d {
        return Err(NeuralError::Shape(format!(
            "{} values are not {n} rows of {d}",
            x.len()
        )));
    }
    buffers.gradient.resize(n * d, 0.0);
    buffers.noise.resize(n * d, 0.0);
    let half = 0.5 * config.step_size;
    // No clipping is a bound no drift reaches.
    let clip = if config.clip_drift > 0.0 {
        config.clip_drift
    } else {
        f32::INFINITY
    };
    let mut mean_energy = 0.0;
    for _ in 0..config.steps {
        mean_energy = gradient(&mut buffers.workspace, x, &mut buffers.gradient);
        fill_normal_f32(rng, &mut buffers.noise);
        let step = LangevinStep {
            half_step: half,
            clip,
            noise_scale: config.noise_scale,
        };
        langevin_update(x, &buffers.gradient, &buffers.noise, step);
    }
    Ok(mean_energy)
}

/// The scalars of one Langevin update.
#[derive(Clone, Copy, Debug)]
struct LangevinStep {
    half_step: f32,
    clip: f32,
    noise_scale: f32,
}

ebm_kernels::multiversion! {
    /// `x <- x - clamp(half_step g, +-clip) + noise_scale z`, elementwise.
    fn langevin_update(x: &mut [f32], g: &[f32], z: &[f32], step: LangevinStep) {
        let LangevinStep { half_step, clip, noise_scale } = step;
        for ((xi, &gi), &zi) in x.iter_mut().zip(g).zip(z) {
            let drift = (half_step * gi).clamp(-clip, clip);
            *xi += -drift + noise_scale * zi;
        }
    }
}

/// Fill `x` with uniform noise on `[-range, range]`.
pub fn uniform_noise(x: &mut [f32], range: f32, rng: &mut StreamRng) {
    for xi in x {
        *xi = range * (2.0 * uniform_f64(rng) as f32 - 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cpu;
    use ebm_kernels::rng::stream;

    /// Without noise, Langevin on the linear energy `E(x) = (0.5, -2) . x` moves every
    /// chain by exactly `-(step / 2) (0.5, -2)` per step (to f32 rounding).
    #[test]
    fn noiseless_langevin_descends_the_gradient_exactly() {
        // E(x) = w . x: grad = w.
        let mlp = crate::mlp_tests::linear_energy([0.5, -2.0]);
        let mut x = vec![0.0f32, 0.0, 1.0, 1.0];
        let config = LangevinConfig {
            steps: 10,
            step_size: 0.1,
            noise_scale: 0.0,
            clip_drift: 0.0,
        };
        let mut buffers = LangevinBuffers::default();
        langevin(
            &mlp,
            &Cpu::sequential(),
            &mut buffers,
            &mut x,
            2,
            &config,
            &mut stream(1, 0, 0),
        )
        .unwrap();
        // 10 steps of 0.05 * (0.5, -2).
        let expected = [-0.25f32, 1.0, 0.75, 2.0];
        assert!(
            x.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-5),
            "{x:?}"
        );
        let bad = LangevinConfig {
            step_size: -1.0,
            ..config
        };
        assert!(
            langevin(
                &mlp,
                &Cpu::sequential(),
                &mut buffers,
                &mut x,
                2,
                &bad,
                &mut stream(1, 0, 0)
            )
            .is_err()
        );
    }
    /// The vectorized update is the scalar formula, clipped and unclipped.
    #[test]
    fn langevin_update_is_the_scalar_formula() {
        let g: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) * 0.7).collect();
        let z: Vec<f32> = (0..37).map(|i| ((i * 7) % 11) as f32 / 5.0 - 1.0).collect();
        for clip in [0.5f32, f32::INFINITY] {
            let mut x: Vec<f32> = (0..37).map(|i| i as f32 * 0.1).collect();
            let want: Vec<f32> = (0..37)
                .map(|i| {
                    let drift = (0.05 * g[i]).max(-clip).min(clip);
                    x[i] + (-drift + 0.3 * z[i])
                })
                .collect();
            let step = LangevinStep {
                half_step: 0.05,
                clip,
                noise_scale: 0.3,
            };
            langevin_update(&mut x, &g, &z, step);
            assert_eq!(x, want, "clip {clip}");
        }
    }
}
