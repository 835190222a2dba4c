//! The binary RBM: `E(v, h) = -b.v - c.h - v^T W h` over `v in {0,1}^V`, `h in {0,1}^H`.

use crate::RbmError;
use ebm_core::InvalidSetting;
use ebm_core::ModelFile;
use ebm_kernels::activation::sigmoid_scalar;
use ebm_kernels::rng::{normal_f64, stream, streams};
use serde::{Deserialize, Serialize};

/// Kind name of a binary RBM in the model file header.
pub const MODEL_KIND: &str = "binary-rbm";

/// A restricted Boltzmann machine with binary visible and hidden units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinaryRbm {
    n_visible: usize,
    n_hidden: usize,
    /// `n_visible x n_hidden`, row-major: row `i` holds visible unit `i`'s weights.
    weights: Vec<f32>,
    visible_bias: Vec<f32>,
    hidden_bias: Vec<f32>,
}

impl BinaryRbm {
    /// A model with all parameters zero (the uniform distribution).
    pub fn zeros(n_visible: usize, n_hidden: usize) -> Self {
        Self {
            n_visible,
            n_hidden,
            weights: vec![0.0; n_visible * n_hidden],
            visible_bias: vec![0.0; n_visible],
            hidden_bias: vec![0.0; n_hidden],
        }
    }

    /// Hinton's (2010) initialization: weights `N(0, 0.01^2)`, visible biases
    /// `ln(p / (1 - p))` of the training data's means `p` (clamped to `[1e-3, 1 - 1e-3]`),
    /// hidden biases zero.
    pub fn initialize(
        n_visible: usize,
        n_hidden: usize,
        data_means: &[f64],
        seed: u64,
    ) -> Result<Self, RbmError> {
        if n_visible == 0 || n_hidden == 0 {
            return Err(RbmError::from(InvalidSetting::new(
                "n_visible/n_hidden",
                "an RBM needs at least one visible and one hidden unit",
            )));
        }
        if data_means.len() != n_visible {
            return Err(RbmError::DataMismatch(format!(
                "{} feature means for {n_visible} visible units",
                data_means.len()
            )));
        }
        let mut rng = stream(seed, streams::BINARY_RBM_WEIGHTS, 0);
        let mut model = Self::zeros(n_visible, n_hidden);
        for w in &mut model.weights {
            *w = (0.01 * normal_f64(&mut rng)) as f32;
        }
        for (b, &p) in model.visible_bias.iter_mut().zip(data_means) {
            let p = p.clamp(1e-3, 1.0 - 1e-3);
            *b = (p / (1.0 - p)).ln() as f32;
        }
        Ok(model)
    }

    /// Build a model from its parameters, checking shapes.
    pub fn from_parts(
        n_visible: usize,
        n_hidden: usize,
        weights: Vec<f32>,
        visible_bias: Vec<f32>,
        hidden_bias: Vec<f32>,
    ) -> Result<Self, RbmError> {
        let model = Self {
            n_visible,
            n_hidden,
            weights,
            visible_bias,
            hidden_bias,
        };
        model
            .check_shapes()
            .map_err(|message| RbmError::from(InvalidSetting::new("parameters", message)))?;
        Ok(model)
    }

    fn check_shapes(&self) -> Result<(), String> {
        if self.weights.len() != self.n_visible * self.n_hidden {
            return Err(format!(
                "{} weights for a {}x{} model",
                self.weights.len(),
                self.n_visible,
                self.n_hidden
            ));
        }
        if self.visible_bias.len() != self.n_visible || self.hidden_bias.len() != self.n_hidden {
            return Err("bias lengths do not match the layer sizes".into());
        }
        if self.n_visible == 0 || self.n_hidden == 0 {
            return Err("empty layer".into());
        }
        Ok(())
    }

    /// Number of visible units.
    pub fn n_visible(&self) -> usize {
        self.n_visible
    }
    /// Number of hidden units.
    pub fn n_hidden(&self) -> usize {
        self.n_hidden
    }
    /// Weights, `n_visible x n_hidden` row-major.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }
    /// Visible biases `b`.
    pub fn visible_bias(&self) -> &[f32] {
        &self.visible_bias
    }
    /// Hidden biases `c`.
    pub fn hidden_bias(&self) -> &[f32] {
        &self.hidden_bias
    }
    /// Mutable access to all parameters at once: `(weights, visible_bias, hidden_bias)`.
    pub fn parameters_mut(&mut self) -> (&mut [f32], &mut [f32], &mut [f32]) {
        (
            &mut self.weights,
            &mut self.visible_bias,
            &mut self.hidden_bias,
        )
    }

    /// `E(v, h) = -b.v - c.h - v^T W h`.
    pub fn energy(&self, v: &[f32], h: &[f32]) -> f64 {
        assert!(
            v.len() == self.n_visible && h.len() == self.n_hidden,
            "energy: state lengths"
        );
        let mut e = 0.0f64;
        for (i, &vi) in v.iter().enumerate() {
            if vi != 0.0 {
                let row = &self.weights[i * self.n_hidden..(i + 1) * self.n_hidden];
                let dot: f64 = row
                    .iter()
                    .zip(h)
                    .map(|(&w, &hj)| w as f64 * hj as f64)
                    .sum();
                e -= vi as f64 * (self.visible_bias[i] as f64 + dot);
            }
        }
        e - self
            .hidden_bias
            .iter()
            .zip(h)
            .map(|(&c, &hj)| c as f64 * hj as f64)
            .sum::<f64>()
    }

    /// Free energy `F(v) = -ln sum_h e^{-E(v,h)} = -b.v - sum_j softplus(c_j + v.W_j)`.
    pub fn free_energy(&self, v: &[f32]) -> f64 {
        assert_eq!(v.len(), self.n_visible, "free_energy: state length");
        let mut input: Vec<f64> = self.hidden_bias.iter().map(|&c| c as f64).collect();
        let mut visible_term = 0.0f64;
        for (i, &vi) in v.iter().enumerate() {
            if vi != 0.0 {
                visible_term += vi as f64 * self.visible_bias[i] as f64;
                let row = &self.weights[i * self.n_hidden..(i + 1) * self.n_hidden];
                for (x, &w) in input.iter_mut().zip(row) {
                    *x += vi as f64 * w as f64;
                }
            }
        }
        -visible_term
            - input
                .iter()
                .map(|&x| ebm_kernels::activation::softplus_f64(x))
                .sum::<f64>()
    }

    /// `p(h_j = 1 | v)` for one visible vector.
    pub fn hidden_probabilities(&self, v: &[f32]) -> Vec<f32> {
        assert_eq!(v.len(), self.n_visible);
        let mut out = self.hidden_bias.clone();
        for (i, &vi) in v.iter().enumerate() {
            if vi != 0.0 {
                let row = &self.weights[i * self.n_hidden..(i + 1) * self.n_hidden];
                for (o, &w) in out.iter_mut().zip(row) {
                    *o += vi * w;
                }
            }
        }
        out.iter_mut().for_each(|x| *x = sigmoid_scalar(*x));
        out
    }

    /// `p(v_i = 1 | h)` for one hidden vector.
    pub fn visible_probabilities(&self, h: &[f32]) -> Vec<f32> {
        assert_eq!(h.len(), self.n_hidden);
        self.visible_bias
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                let row = &self.weights[i * self.n_hidden..(i + 1) * self.n_hidden];
                sigmoid_scalar(b + row.iter().zip(h).map(|(&w, &hj)| w * hj).sum::<f32>())
            })
            .collect()
    }

    /// The incoming weights of the first `count` hidden units (at most `n_hidden`), one row
    /// of `n_visible` values per unit: the "filters" to look at as images.
    pub fn hidden_unit_weights(&self, count: usize) -> Vec<f32> {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        let count = count.min(nh);
        let mut rows = vec![0.0f32; count * nv];
        for (i, weights_of_visible) in self.weights.chunks_exact(nh).enumerate() {
            for (j, &w) in weights_of_visible[..count].iter().enumerate() {
                rows[j * nv + i] = w;
            }
        }
        rows
    }

    /// Largest absolute weight, or `None` if any parameter is not finite.
    pub fn max_abs_weight(&self) -> Option<f32> {
        let finite = self
            .visible_bias
            .iter()
            .chain(&self.hidden_bias)
            .all(|x| x.is_finite());
        let mut max = 0.0f32;
        for &w in &self.weights {
            if !w.is_finite() {
                return None;
            }
            max = max.max(w.abs());
        }
        finite.then_some(max)
    }

    /// Unnormalized log-probability of a visible vector: `-F(v)`.
    pub fn log_unnormalized(&self, v: &[f32]) -> f64 {
        -self.free_energy(v)
    }
}

/// The binary RBM's model file: kind [`MODEL_KIND`], shapes `[n_visible, n_hidden]`.
impl ModelFile for BinaryRbm {
    const KIND: &'static str = MODEL_KIND;

    fn shapes(&self) -> Vec<u64> {
        vec![self.n_visible as u64, self.n_hidden as u64]
    }

    fn parameters(&self) -> Vec<&[f32]> {
        vec![&self.weights, &self.visible_bias, &self.hidden_bias]
    }

    fn check(&self) -> Result<(), String> {
        self.check_shapes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn small_model(seed: u64) -> BinaryRbm {
        let mut m = BinaryRbm::initialize(5, 3, &[0.2, 0.5, 0.7, 0.1, 0.9], seed).unwrap();
        let mut rng = stream(seed, 9, 9);
        let (w, b, c) = m.parameters_mut();
        for x in w.iter_mut().chain(b.iter_mut()).chain(c.iter_mut()) {
            *x = normal_f64(&mut rng) as f32;
        }
        m
    }

    #[test]
    fn free_energy_equals_log_sum_over_hidden() {
        let m = small_model(1);
        for bits in 0..32u32 {
            let v: Vec<f32> = (0..5).map(|i| ((bits >> i) & 1) as f32).collect();
            let terms: Vec<f64> = (0..8u32)
                .map(|hb| {
                    let h: Vec<f32> = (0..3).map(|j| ((hb >> j) & 1) as f32).collect();
                    -m.energy(&v, &h)
                })
                .collect();
            let want = -ebm_kernels::activation::log_sum_exp(&terms);
            assert!(
                (m.free_energy(&v) - want).abs() < 1e-9,
                "{} vs {want}",
                m.free_energy(&v)
            );
        }
    }

    #[test]
    fn conditionals_match_energy_differences() {
        let m = small_model(2);
        let v = [1.0, 0.0, 1.0, 1.0, 0.0];
        let h = [0.0, 1.0, 1.0];
        let ph = m.hidden_probabilities(&v);
        for j in 0..3 {
            let (mut h0, mut h1) = (h, h);
            h0[j] = 0.0;
            h1[j] = 1.0;
            let want = 1.0 / (1.0 + (m.energy(&v, &h1) - m.energy(&v, &h0)).exp());
            assert!((ph[j] as f64 - want).abs() < 1e-6);
        }
        let pv = m.visible_probabilities(&h);
        for i in 0..5 {
            let (mut v0, mut v1) = (v, v);
            v0[i] = 0.0;
            v1[i] = 1.0;
            let want = 1.0 / (1.0 + (m.energy(&v1, &h) - m.energy(&v0, &h)).exp());
            assert!((pv[i] as f64 - want).abs() < 1e-6);
        }
    }

    #[test]
    fn save_load_round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("ebm-rbm-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.ebm");
        let m = small_model(3);
        m.save(&path).unwrap();
        assert_eq!(BinaryRbm::load(&path).unwrap(), m);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(
            BinaryRbm::load(&path)
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
        ebm_core::model_file::save(&path, "other-kind", &[], &1u32).unwrap();
        assert!(
            BinaryRbm::load(&path)
                .unwrap_err()
                .to_string()
                .contains("expected 'binary-rbm'")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hidden_unit_weights_are_columns_of_w() {
        let m = small_model(4);
        let rows = m.hidden_unit_weights(10);
        assert_eq!(rows.len(), 3 * 5);
        for j in 0..3 {
            for i in 0..5 {
                assert_eq!(rows[j * 5 + i], m.weights()[i * 3 + j]);
            }
        }
        assert_eq!(m.hidden_unit_weights(1), rows[..5]);
    }

    #[test]
    fn initialization_follows_hinton_guide() {
        let m = BinaryRbm::initialize(2, 1000, &[0.5, 0.0], 7).unwrap();
        assert_eq!(m.visible_bias()[0], 0.0);
        assert!((m.visible_bias()[1] - (1e-3f32 / (1.0 - 1e-3)).ln()).abs() < 1e-5);
        let sd = (m.weights().iter().map(|w| (w * w) as f64).sum::<f64>() / 2000.0).sqrt();
        // 2000 draws: the sample sd is within 5% of 0.01 with overwhelming probability.
        assert!((sd - 0.01).abs() < 0.0005, "{sd}");
        assert!(BinaryRbm::initialize(3, 2, &[0.5], 0).is_err());
    }
}
