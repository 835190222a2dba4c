//! Batched Langevin dynamics on an energy network ([`EnergyNet`]): `x <- x - (step / 2) grad_x E(x) + noise z`,
//! `z ~ N(0, I)`, with the step size and the noise scale as separate settings (the exact
//! unadjusted Langevin sampler of `exp(-E)` has `noise = sqrt(step)`; short-run EBM
//! training often uses less noise).

use crate::{EnergyNet, LayerMath, NeuralError, Workspace, positive};
use ebm_core::InvalidSetting;
use ebm_kernels::rng::{StreamRng, normal_f64, uniform_f64};
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

/// Buffers of a Langevin run (the network's workspace `W` and the input gradient),
/// reused between runs.
#[derive(Clone, Debug, Default)]
pub struct LangevinBuffers<W = Workspace> {
    /// The network's workspace.
    pub workspace: W,
    gradient: Vec<f32>,
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
    config.validate()?;
    let d = mlp.n_inputs();
    if x.len() != n * d {
        return Err(NeuralError::Shape(format!(
            "{} values are not {n} rows of {d}",
            x.len()
        )));
    }
    buffers.gradient.resize(n * d, 0.0);
    let half = 0.5 * config.step_size;
    let mut mean_energy = 0.0;
    for _ in 0..config.steps {
        mlp.input_gradient(math, &mut buffers.workspace, x, n, &mut buffers.gradient);
        mean_energy = N::jets(&buffers.workspace)
            .output(0)
            .iter()
            .map(|&e| e as f64)
            .sum::<f64>()
            / n as f64;
        for (xi, &g) in x.iter_mut().zip(&buffers.gradient) {
            let mut drift = half * g;
            if config.clip_drift > 0.0 {
                drift = drift.clamp(-config.clip_drift, config.clip_drift);
            }
            *xi += -drift + config.noise_scale * normal_f64(rng) as f32;
        }
    }
    Ok(mean_energy)
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
    use crate::{Activation, Cpu, Mlp};
    use ebm_kernels::rng::stream;

    /// Without noise, Langevin on the linear energy `E(x) = (0.5, -2) . x` moves every
    /// chain by exactly `-(step / 2) (0.5, -2)` per step (to f32 rounding).
    #[test]
    fn noiseless_langevin_descends_the_gradient_exactly() {
        // E(x) = w . x (identity activation, one hidden unit of weight 1): grad = w.
        let mlp = Mlp::from_parameters(
            &[2, 1, 1],
            Activation::Identity,
            vec![0.5, -2.0, 0.0, 1.0, 0.0],
        )
        .unwrap();
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
}
