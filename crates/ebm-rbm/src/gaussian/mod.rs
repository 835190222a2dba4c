//! Gaussian-Bernoulli RBM with per-visible variances in the parameterization of Cho, Ilin
//! & Raiko (2011): `sigma_i^2 = exp(z_i)` and
//! `E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h - sum_ij v_i W_ij h_j / sigma_i^2`.
//!
//! Then `p(h_j = 1 | v) = sigmoid(c_j + sum_i W_ij v_i / sigma_i^2)` and
//! `p(v_i | h) = N(b_i + sum_j W_ij h_j, sigma_i^2)`. The model works on standardized
//! data: it keeps the training data's per-feature mean and standard deviation and
//! applies them itself ([`GaussianRbm::standardize`]).

mod ais;
mod gibbs_langevin;
mod gradient;
mod sliced;
mod train;

pub use ais::gaussian_ais_log_partition;
pub use gibbs_langevin::{GibbsLangevinChains, GibbsLangevinConfig};
pub use train::{GaussianMethod, GaussianTrainConfig, gaussian_heldout_errors, train_gaussian_rbm};

use crate::RbmError;
use ebm_core::ModelFile;
use ebm_core::continuous::ContinuousEnergy;
use ebm_data::Dataset;
use ebm_kernels::activation::{sigmoid_scalar, softplus_f64};
use ebm_kernels::rng::{StreamRng, normal_f64};
use serde::{Deserialize, Serialize};

/// Model-file kind of a [`GaussianRbm`].
pub const GAUSSIAN_RBM_KIND: &str = "gaussian-rbm";

/// Most hidden units [`GaussianRbm::exact_log_partition`] enumerates.
pub const MAX_EXACT_HIDDEN: usize = 24;

/// A Gaussian-Bernoulli RBM over standardized data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussianRbm {
    n_visible: usize,
    n_hidden: usize,
    /// `W`, `n_visible x n_hidden` row-major.
    pub(crate) weights: Vec<f32>,
    pub(crate) visible_bias: Vec<f32>,
    pub(crate) hidden_bias: Vec<f32>,
    /// `z_i = ln sigma_i^2`.
    pub(crate) log_variance: Vec<f32>,
    /// Per-feature mean and standard deviation of the training data.
    pub(crate) feature_mean: Vec<f32>,
    pub(crate) feature_std: Vec<f32>,
}

impl GaussianRbm {
    /// The same shape with every parameter zero: the shape of a gradient.
    pub(crate) fn zeroed(&self) -> Self {
        let mut zero = self.clone();
        for block in [
            &mut zero.weights,
            &mut zero.visible_bias,
            &mut zero.hidden_bias,
            &mut zero.log_variance,
            &mut zero.feature_mean,
            &mut zero.feature_std,
        ] {
            block.fill(0.0);
        }
        zero
    }

    /// Small random weights, zero biases, unit variances, and the standardization of
    /// `data` (features with zero spread are divided by 1).
    pub fn initialize(data: &Dataset, n_hidden: usize, init_std: f32, rng: &mut StreamRng) -> Self {
        let n_visible = data.n_features;
        let means = data.feature_means();
        let variances = data.feature_squared_deviations(&means);
        let n = data.n_examples.max(2) as f64;
        Self {
            n_visible,
            n_hidden,
            weights: (0..n_visible * n_hidden)
                .map(|_| (init_std as f64 * normal_f64(rng)) as f32)
                .collect(),
            visible_bias: vec![0.0; n_visible],
            hidden_bias: vec![0.0; n_hidden],
            log_variance: vec![0.0; n_visible],
            feature_mean: means.iter().map(|&m| m as f32).collect(),
            feature_std: variances
                .iter()
                .map(|&v| {
                    let s = (v / (n - 1.0)).sqrt() as f32;
                    if s > 1e-6 { s } else { 1.0 }
                })
                .collect(),
        }
    }

    /// Visible units.
    pub fn n_visible(&self) -> usize {
        self.n_visible
    }

    /// Hidden units.
    pub fn n_hidden(&self) -> usize {
        self.n_hidden
    }

    /// Weights `W`, `n_visible x n_hidden` row-major (standardized units).
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Visible biases `b` (the means of `p(v | h = 0)`, standardized units).
    pub fn visible_bias(&self) -> &[f32] {
        &self.visible_bias
    }

    /// Hidden biases `c`.
    pub fn hidden_bias(&self) -> &[f32] {
        &self.hidden_bias
    }

    /// Per-feature mean of the training data (subtracted by [`Self::standardize`]).
    pub fn feature_mean(&self) -> &[f32] {
        &self.feature_mean
    }

    /// Per-feature standard deviation of the training data (divided by
    /// [`Self::standardize`]; 1 for features without spread).
    pub fn feature_std(&self) -> &[f32] {
        &self.feature_std
    }

    /// `sigma_i`.
    pub fn visible_std(&self) -> Vec<f32> {
        self.log_variance.iter().map(|&z| (0.5 * z).exp()).collect()
    }

    /// The data set standardized with the training data's mean and spread.
    pub fn standardize(&self, data: &Dataset) -> Dataset {
        let mut out = data.clone();
        for row in out.features.chunks_exact_mut(self.n_visible) {
            for ((x, &m), &s) in row
                .iter_mut()
                .zip(&self.feature_mean)
                .zip(&self.feature_std)
            {
                *x = (*x - m) / s;
            }
        }
        out
    }

    /// Undo [`Self::standardize`] on rows of standardized values.
    pub fn unstandardize(&self, values: &mut [f32]) {
        for row in values.chunks_exact_mut(self.n_visible) {
            for ((x, &m), &s) in row
                .iter_mut()
                .zip(&self.feature_mean)
                .zip(&self.feature_std)
            {
                *x = *x * s + m;
            }
        }
    }

    /// `c_j + sum_i W_ij v_i / sigma_i^2` for a standardized `v`.
    pub fn hidden_input(&self, v: &[f32]) -> Vec<f64> {
        let mut input: Vec<f64> = self.hidden_bias.iter().map(|&c| c as f64).collect();
        for (i, &vi) in v.iter().enumerate() {
            let scaled = vi as f64 * (-self.log_variance[i] as f64).exp();
            if scaled != 0.0 {
                for (a, &w) in input
                    .iter_mut()
                    .zip(&self.weights[i * self.n_hidden..(i + 1) * self.n_hidden])
                {
                    *a += scaled * w as f64;
                }
            }
        }
        input
    }

    /// `p(h_j = 1 | v)` for a standardized `v` (see [`Self::standardize`]): the
    /// sigmoid of [`Self::hidden_input`], the model's features of `v`.
    pub fn hidden_probabilities(&self, v: &[f32]) -> Vec<f32> {
        self.hidden_input(v)
            .iter()
            .map(|&a| sigmoid_scalar(a as f32))
            .collect()
    }

    /// Free energy `F(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(input_j)`.
    pub fn free_energy(&self, v: &[f32]) -> f64 {
        self.free_energy_from_input(v, &self.hidden_input(v))
    }

    /// [`Self::free_energy`] given `v`'s hidden input (from [`Self::hidden_input`]).
    fn free_energy_from_input(&self, v: &[f32], hidden_input: &[f64]) -> f64 {
        let quadratic: f64 = v
            .iter()
            .zip(&self.visible_bias)
            .zip(&self.log_variance)
            .map(|((&x, &b), &z)| (x as f64 - b as f64).powi(2) * 0.5 * (-z as f64).exp())
            .sum();
        quadratic - hidden_input.iter().map(|&a| softplus_f64(a)).sum::<f64>()
    }

    /// `ln Z` by enumerating the hidden states (at most [`MAX_EXACT_HIDDEN`]):
    /// `Z = sum_h exp(c.h) prod_i sqrt(2 pi sigma_i^2) exp(((b_i + (W h)_i)^2 - b_i^2) / (2 sigma_i^2))`.
    pub fn exact_log_partition(&self) -> Result<f64, RbmError> {
        if self.n_hidden > MAX_EXACT_HIDDEN {
            return Err(RbmError::TooLargeForExact {
                max: MAX_EXACT_HIDDEN,
                found: self.n_hidden,
            });
        }
        let nh = self.n_hidden;
        let inverse_variance: Vec<f64> = self
            .log_variance
            .iter()
            .map(|&z| (-z as f64).exp())
            .collect();
        let mut mean: Vec<f64> = self.visible_bias.iter().map(|&b| b as f64).collect();
        let mut linear = 0.0f64;
        let mut state = vec![false; nh];
        // Streaming ln-sum-exp: running maximum and the sum scaled by it.
        let (mut max, mut sum) = (f64::NEG_INFINITY, 0.0f64);
        let mut add = |x: f64| {
            if x <= max {
                sum += (x - max).exp();
            } else {
                sum = sum * (max - x).exp() + 1.0;
                max = x;
            }
        };
        let term = |mean: &[f64], linear: f64| -> f64 {
            linear
                + mean
                    .iter()
                    .zip(&self.visible_bias)
                    .zip(&inverse_variance)
                    .map(|((&m, &b), &iv)| 0.5 * (m * m - (b as f64) * (b as f64)) * iv)
                    .sum::<f64>()
        };
        add(term(&mean, linear));
        // Gray code: state k differs from state k - 1 in bit trailing_zeros(k).
        for k in 1..(1u64 << nh) {
            let j = k.trailing_zeros() as usize;
            let sign = if state[j] { -1.0 } else { 1.0 };
            state[j] = !state[j];
            linear += sign * self.hidden_bias[j] as f64;
            for (i, m) in mean.iter_mut().enumerate() {
                *m += sign * self.weights[i * nh + j] as f64;
            }
            add(term(&mean, linear));
        }
        let gaussian: f64 = self
            .log_variance
            .iter()
            .map(|&z| 0.5 * ((std::f64::consts::TAU).ln() + z as f64))
            .sum();
        Ok(max + sum.ln() + gaussian)
    }

    /// Mean log-likelihood (nats per example) of standardized `data` given `ln Z`.
    pub fn log_likelihood(&self, standardized: &Dataset, log_z: f64) -> f64 {
        let total: f64 = (0..standardized.n_examples)
            .map(|i| -self.free_energy(standardized.row(i)))
            .sum();
        total / standardized.n_examples.max(1) as f64 - log_z
    }

    /// Block Gibbs samples: `chains` chains from standard normal noise, `steps` sweeps;
    /// returns the final visible means `E[v | h]` (standardized units), `chains x n_visible`.
    pub fn gibbs_samples(&self, chains: usize, steps: usize, rng: &mut StreamRng) -> Vec<f32> {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        let sigma = self.visible_std();
        let mut out = Vec::with_capacity(chains * nv);
        for _ in 0..chains {
            let mut v: Vec<f32> = (0..nv).map(|_| normal_f64(rng) as f32).collect();
            let mut mean = vec![0.0f32; nv];
            for _ in 0..steps {
                let input = self.hidden_input(&v);
                let h: Vec<f32> = input
                    .iter()
                    .map(|&a| {
                        (ebm_kernels::rng::uniform_f64(rng) < sigmoid_scalar(a as f32) as f64) as u8
                            as f32
                    })
                    .collect();
                for i in 0..nv {
                    let row = &self.weights[i * nh..(i + 1) * nh];
                    mean[i] = self.visible_bias[i]
                        + row.iter().zip(&h).map(|(w, hj)| w * hj).sum::<f32>();
                    v[i] = mean[i] + sigma[i] * normal_f64(rng) as f32;
                }
            }
            out.extend_from_slice(&mean);
        }
        out
    }
}

/// The Gaussian RBM's model file: kind [`GAUSSIAN_RBM_KIND`], shapes
/// `[n_visible, n_hidden]`.
impl ModelFile for GaussianRbm {
    const KIND: &'static str = GAUSSIAN_RBM_KIND;

    fn shapes(&self) -> Vec<u64> {
        vec![self.n_visible as u64, self.n_hidden as u64]
    }

    fn parameters(&self) -> Vec<&[f32]> {
        vec![
            &self.weights,
            &self.visible_bias,
            &self.hidden_bias,
            &self.log_variance,
            &self.feature_mean,
            &self.feature_std,
        ]
    }

    fn check(&self) -> Result<(), String> {
        let (v, h) = (self.n_visible, self.n_hidden);
        let ok = self.weights.len() == v * h
            && self.visible_bias.len() == v
            && self.hidden_bias.len() == h
            && self.log_variance.len() == v
            && self.feature_mean.len() == v
            && self.feature_std.len() == v;
        if ok {
            Ok(())
        } else {
            Err("parameter arrays disagree with the header's shapes".into())
        }
    }
}

/// The free energy as a continuous energy over standardized inputs, for Langevin, MALA
/// or HMC sampling: `∇F(v)_i = (v_i - b_i) / sigma_i^2 - sum_j W_ij p_j / sigma_i^2`.
impl ContinuousEnergy for GaussianRbm {
    fn dim(&self) -> usize {
        self.n_visible
    }

    fn energy(&self, x: &[f64]) -> f64 {
        let v: Vec<f32> = x.iter().map(|&a| a as f32).collect();
        self.free_energy(&v)
    }

    fn energy_and_gradient(&self, x: &[f64], gradient: &mut [f64]) -> f64 {
        let v: Vec<f32> = x.iter().map(|&a| a as f32).collect();
        let input = self.hidden_input(&v);
        let probs: Vec<f64> = input.iter().map(|&a| 1.0 / (1.0 + (-a).exp())).collect();
        let nh = self.n_hidden;
        for (i, g) in gradient.iter_mut().enumerate() {
            let inverse_variance = (-self.log_variance[i] as f64).exp();
            let pull: f64 = self.weights[i * nh..(i + 1) * nh]
                .iter()
                .zip(&probs)
                .map(|(&w, &p)| w as f64 * p)
                .sum();
            *g = ((x[i] - self.visible_bias[i] as f64) - pull) * inverse_variance;
        }
        self.free_energy_from_input(&v, &input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::rng::stream;

    pub(crate) fn small_model(seed: u64) -> GaussianRbm {
        let data = Dataset {
            features: vec![0.0, 1.0, 2.0, 1.0, 0.5, 0.0],
            n_examples: 2,
            n_features: 3,
            image_shape: None,
            labels: None,
        };
        let mut m = GaussianRbm::initialize(&data, 4, 0.5, &mut stream(seed, 0, 0));
        let mut r = stream(seed, 1, 0);
        for x in m.visible_bias.iter_mut().chain(&mut m.hidden_bias) {
            *x = normal_f64(&mut r) as f32 * 0.5;
        }
        for z in &mut m.log_variance {
            *z = normal_f64(&mut r) as f32 * 0.3;
        }
        m
    }

    /// ln Z by enumeration agrees with numerical integration over v in 1-D, and
    /// ∫ exp(-F) = Z (checked on a grid for a 1-visible model).
    #[test]
    fn exact_log_partition_matches_numerical_integration() {
        let data = Dataset {
            features: vec![0.0, 1.0],
            n_examples: 2,
            n_features: 1,
            image_shape: None,
            labels: None,
        };
        let mut m = GaussianRbm::initialize(&data, 3, 0.8, &mut stream(4, 0, 0));
        m.visible_bias[0] = 0.3;
        m.log_variance[0] = -0.4;
        m.hidden_bias = vec![0.2, -0.5, 0.1];
        let log_z = m.exact_log_partition().unwrap();
        let (lo, hi, n) = (-15.0f64, 15.0f64, 300_000);
        let dx = (hi - lo) / n as f64;
        let integral: f64 = (0..n)
            .map(|k| {
                let x = lo + (k as f64 + 0.5) * dx;
                (-m.free_energy(&[x as f32])).exp() * dx
            })
            .sum();
        assert!(
            (integral.ln() - log_z).abs() < 1e-4,
            "{} vs {log_z}",
            integral.ln()
        );
    }

    /// `p(h_j = 1 | v) = -dF(v)/dc_j`, checked by central differences of the free energy
    /// in the hidden bias (step 1e-3 in f32 biases: the error is O(1e-4), well inside 1e-3).
    #[test]
    fn hidden_probabilities_are_minus_the_free_energy_gradient_in_the_hidden_bias() {
        let m = small_model(11);
        let v = [0.4f32, -1.2, 0.7];
        let p = m.hidden_probabilities(&v);
        for (j, &pj) in p.iter().enumerate() {
            let (mut up, mut down) = (m.clone(), m.clone());
            up.hidden_bias[j] += 1e-3;
            down.hidden_bias[j] -= 1e-3;
            let numeric = -(up.free_energy(&v) - down.free_energy(&v)) / 2e-3;
            assert!(
                (numeric - pj as f64).abs() < 1e-3,
                "unit {j}: {numeric} vs {pj}"
            );
        }
    }

    #[test]
    fn free_energy_gradient_matches_finite_differences() {
        let m = small_model(7);
        let x = [0.3f64, -0.2, 1.1];
        let mut g = [0.0; 3];
        m.energy_and_gradient(&x, &mut g);
        for i in 0..3 {
            let h = 1e-3;
            let (mut up, mut down) = (x, x);
            up[i] += h;
            down[i] -= h;
            let numeric = (m.energy(&up) - m.energy(&down)) / (2.0 * h);
            assert!((numeric - g[i]).abs() < 1e-3, "{numeric} {}", g[i]);
        }
        let dir = std::env::temp_dir().join(format!("ebm-grbm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("g.ebm");
        m.save(&path).unwrap();
        assert_eq!(GaussianRbm::load(&path).unwrap(), m);
    }
}
