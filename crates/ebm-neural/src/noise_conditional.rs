//! The noise-conditional energy of score-based models (Song & Ermon 2019, with the NCSNv2
//! simplification): one network `f` and a geometric ladder of noise levels
//! `sigma_1 > ... > sigma_L`, with `E(x, sigma) = f(x) / sigma`, so the score of level
//! `sigma` is `-grad_x f(x) / sigma`. Saved as its own model kind (`ncsn-energy`), so
//! plain MLP energy files are untouched.

use crate::annealed::NoiseScore;
use crate::{EnergyNet, LayerMath, Mlp, NeuralError, OnBackend, positive};
use ebm_core::{InvalidSetting, ModelFile};
use serde::{Deserialize, Serialize};

/// The model-file kind of a noise-conditional energy.
pub const NCSN_ENERGY_KIND: &str = "ncsn-energy";

/// `levels` noise levels from `sigma_max` down to `sigma_min` in equal ratios.
///
/// # Errors
///
/// [`InvalidSetting`] for `sigma_max`, `sigma_min` (positive, at most `sigma_max`) or
/// `levels` (at least 1; 1 level is `sigma_max` alone).
pub fn geometric_ladder(
    sigma_max: f32,
    sigma_min: f32,
    levels: usize,
) -> Result<Vec<f32>, InvalidSetting> {
    positive(sigma_max, "sigma_max")?;
    positive(sigma_min, "sigma_min")?;
    InvalidSetting::require(
        sigma_min <= sigma_max,
        "sigma_min",
        "must be at most sigma_max",
    )?;
    InvalidSetting::at_least_one(levels, "levels")?;
    Ok((0..levels)
        .map(|i| ladder_level(sigma_max, sigma_min, levels, i))
        .collect())
}

/// Level `i` (0-based, largest first) of the ladder of [`geometric_ladder`]:
/// `sigma_max (sigma_min / sigma_max)^(i / (levels - 1))`.
pub fn ladder_level(sigma_max: f32, sigma_min: f32, levels: usize, i: usize) -> f32 {
    if levels <= 1 {
        return sigma_max;
    }
    let t = i as f64 / (levels - 1) as f64;
    (sigma_max as f64 * (sigma_min as f64 / sigma_max as f64).powf(t)) as f32
}

/// A network `f` with its ladder of noise levels: `E(x, sigma_i) = f(x) / sigma_i`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseConditionalEnergy {
    network: Mlp,
    sigmas: Vec<f32>,
}

impl crate::HasWorkspace for NoiseConditionalEnergy {
    type Workspace = crate::Workspace;
}

impl NoiseConditionalEnergy {
    /// The model of `network` over `sigmas` (largest first).
    ///
    /// # Errors
    ///
    /// [`NeuralError::Shape`] unless the levels are positive, finite and strictly
    /// decreasing.
    pub fn new(network: Mlp, sigmas: Vec<f32>) -> Result<Self, NeuralError> {
        check_ladder(&sigmas).map_err(NeuralError::Shape)?;
        Ok(Self { network, sigmas })
    }

    /// The network `f`.
    pub fn network(&self) -> &Mlp {
        &self.network
    }

    /// The noise levels, largest first.
    pub fn sigmas(&self) -> &[f32] {
        &self.sigmas
    }

    /// The energy of level `level` as a plain MLP: `f / sigma_level` (the output layer is
    /// linear, so this only scales its weights and bias). The last level is the model of
    /// the (nearly) clean data.
    pub fn energy_at(&self, level: usize) -> Mlp {
        let mut mlp = self.network.clone();
        let (start, _, end) = mlp.layer_offsets(mlp.n_layers() - 1);
        let scale = 1.0 / self.sigmas[level];
        mlp.parameters_mut()[start..end]
            .iter_mut()
            .for_each(|p| *p *= scale);
        mlp
    }
}

impl<M: LayerMath> NoiseScore for OnBackend<'_, NoiseConditionalEnergy, M> {
    fn dim(&self) -> usize {
        self.model.network.n_inputs()
    }

    fn sigmas(&self) -> &[f32] {
        &self.model.sigmas
    }

    fn score(&mut self, x: &[f32], level: usize, out: &mut [f32]) {
        let (network, n) = (&self.model.network, x.len() / self.model.network.n_inputs());
        network.input_gradient(&self.math, &mut self.workspace, x, n, out);
        let scale = -1.0 / self.model.sigmas[level];
        out.iter_mut().for_each(|s| *s *= scale);
    }
}

/// Positive, finite, strictly decreasing levels.
fn check_ladder(sigmas: &[f32]) -> Result<(), String> {
    let ok = !sigmas.is_empty()
        && sigmas.iter().all(|s| s.is_finite() && *s > 0.0)
        && sigmas.windows(2).all(|w| w[1] < w[0]);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "noise levels must be positive and strictly decreasing, got {sigmas:?}"
        ))
    }
}

impl ModelFile for NoiseConditionalEnergy {
    const KIND: &'static str = NCSN_ENERGY_KIND;

    fn shapes(&self) -> Vec<u64> {
        let mut shapes = self.network.shapes();
        shapes.push(self.sigmas.len() as u64);
        shapes
    }

    fn parameters(&self) -> Vec<&[f32]> {
        vec![self.network.parameters(), &self.sigmas]
    }

    fn check(&self) -> Result<(), String> {
        self.network.check()?;
        check_ladder(&self.sigmas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activation, Cpu, Workspace};
    use ebm_kernels::rng::stream;

    #[test]
    fn the_ladder_is_geometric_and_bad_ends_are_named() {
        let ladder = geometric_ladder(1.0, 0.01, 3).unwrap();
        assert!((ladder[0] - 1.0).abs() < 1e-6 && (ladder[1] - 0.1).abs() < 1e-6);
        assert!((ladder[2] - 0.01).abs() < 1e-7);
        assert_eq!(geometric_ladder(0.5, 0.1, 1).unwrap(), [0.5]);
        assert_eq!(
            geometric_ladder(0.1, 0.5, 3).unwrap_err().setting,
            "sigma_min"
        );
        assert_eq!(geometric_ladder(1.0, 0.5, 0).unwrap_err().setting, "levels");
        assert_eq!(
            geometric_ladder(-1.0, 0.5, 2).unwrap_err().setting,
            "sigma_max"
        );
    }

    /// The level energies are `f / sigma`, the score is `-grad f / sigma`, and the model
    /// survives a save and load.
    #[test]
    fn level_energies_scores_and_the_file_agree() {
        let mlp = Mlp::new(&[2, 6, 1], Activation::Swish, 1.0, &mut stream(4, 0, 0)).unwrap();
        let model = NoiseConditionalEnergy::new(mlp.clone(), vec![2.0, 0.5]).unwrap();
        let (math, mut ws) = (Cpu::sequential(), Workspace::new());
        let x = [0.3f32, -0.7, 1.5, 0.2];
        let f = mlp.energy(&math, &mut ws, &x, 2).to_vec();
        let e = model.energy_at(1).energy(&math, &mut ws, &x, 2).to_vec();
        for (a, b) in f.iter().zip(&e) {
            assert!((a / 0.5 - b).abs() < 1e-5, "{a} {b}");
        }
        let (mut grad, mut score) = ([0.0f32; 4], [0.0f32; 4]);
        mlp.input_gradient(&math, &mut ws, &x, 2, &mut grad);
        OnBackend::new(&model, Cpu::sequential()).score(&x, 0, &mut score);
        for (g, s) in grad.iter().zip(&score) {
            assert!((-g / 2.0 - s).abs() < 1e-6);
        }
        let bytes = model.to_bytes().unwrap();
        let back = NoiseConditionalEnergy::from_bytes(&bytes, std::path::Path::new("<t>")).unwrap();
        assert_eq!(back, model);
        assert!(NoiseConditionalEnergy::new(mlp, vec![0.5, 2.0]).is_err());
    }
}
