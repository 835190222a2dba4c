//! The classification RBM of Larochelle & Bengio (2008): one RBM over an input `x` and a
//! one-hot label `y`, with energy
//! `E(x, y, h) = -b.x - c.h - d.y - h.W^T x - h.U y`.
//!
//! It is generative (`p(x, y)`, class-conditional sampling) and discriminative at once:
//! `p(y | x) ∝ exp(d_y + sum_j softplus(c_j + U_jy + W_j.x))` is exact (the hidden units
//! sum out), so prediction needs no sampling and training can follow the exact gradient
//! of `ln p(y | x)`. [`train_class_rbm`] does generative (CD-1), discriminative or hybrid training.

mod gradient;
mod persistent;
mod train;

pub use train::{ClassTrainConfig, Objective, train_class_rbm};

use crate::RbmError;
use ebm_core::ModelFile;
use ebm_data::Dataset;
use ebm_kernels::activation::{sigmoid_scalar, softplus_scalar};
use ebm_kernels::gemm::gemm;
use ebm_kernels::rng::{StreamRng, fill_u32, normal_f64};
use ebm_kernels::sampling::unit_f32;
use ebm_kernels::vector::{add_assign, dot, softplus_shifted_sum};
use ebm_kernels::{MatMut, MatRef, Parallelism};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Model-file kind of a [`ClassRbm`].
pub const CLASS_RBM_KIND: &str = "class-rbm";

/// Rows per block when scoring many inputs (bounds the scratch memory).
const SCORE_BLOCK: usize = 256;

/// A classification RBM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassRbm {
    n_visible: usize,
    n_hidden: usize,
    n_classes: usize,
    /// `W`, `n_visible x n_hidden` row-major.
    pub(crate) weights: Vec<f32>,
    /// `U`, `n_classes x n_hidden` row-major.
    pub(crate) class_weights: Vec<f32>,
    pub(crate) visible_bias: Vec<f32>,
    pub(crate) hidden_bias: Vec<f32>,
    pub(crate) class_bias: Vec<f32>,
}

pub use ebm_core::calibration::most_probable;

impl ClassRbm {
    /// Random weights (normal, standard deviation `init_std`), zero biases.
    pub fn initialize(
        n_visible: usize,
        n_hidden: usize,
        n_classes: usize,
        init_std: f32,
        rng: &mut StreamRng,
    ) -> Self {
        let mut normal = |len: usize| -> Vec<f32> {
            (0..len)
                .map(|_| (init_std as f64 * normal_f64(rng)) as f32)
                .collect()
        };
        Self {
            n_visible,
            n_hidden,
            n_classes,
            weights: normal(n_visible * n_hidden),
            class_weights: normal(n_classes * n_hidden),
            visible_bias: vec![0.0; n_visible],
            hidden_bias: vec![0.0; n_hidden],
            class_bias: vec![0.0; n_classes],
        }
    }

    /// Input size.
    pub fn n_visible(&self) -> usize {
        self.n_visible
    }

    /// Hidden units.
    pub fn n_hidden(&self) -> usize {
        self.n_hidden
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Input weights `W`, `n_visible x n_hidden` row-major.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Label weights `U`, `n_classes x n_hidden` row-major.
    pub fn class_weights(&self) -> &[f32] {
        &self.class_weights
    }

    /// Input biases `b`.
    pub fn visible_bias(&self) -> &[f32] {
        &self.visible_bias
    }

    /// Hidden biases `c`.
    pub fn hidden_bias(&self) -> &[f32] {
        &self.hidden_bias
    }

    /// Label biases `d`.
    pub fn class_bias(&self) -> &[f32] {
        &self.class_bias
    }

    /// `ln p(y | x)` for every class and every row of `inputs` (`rows x n_visible`),
    /// into `out` (`rows x n_classes`). Runs on the current rayon pool.
    pub fn class_log_probabilities(&self, inputs: &[f32], out: &mut [f32], par: Parallelism) {
        let rows = inputs.len() / self.n_visible;
        assert_eq!(
            out.len(),
            rows * self.n_classes,
            "class_log_probabilities: output shape"
        );
        let mut hidden_input = vec![0.0f32; SCORE_BLOCK.min(rows.max(1)) * self.n_hidden];
        for (block, out_block) in inputs
            .chunks(SCORE_BLOCK * self.n_visible)
            .zip(out.chunks_mut(SCORE_BLOCK * self.n_classes))
        {
            let n = block.len() / self.n_visible;
            let input = &mut hidden_input[..n * self.n_hidden];
            self.hidden_inputs(block, input, par);
            input
                .par_chunks(self.n_hidden)
                .zip(out_block.par_chunks_mut(self.n_classes))
                .for_each(|(x, o)| self.class_scores(x, o));
        }
    }

    /// `ln p(y | x)` for every class of one input row `x` into `out` (`n_classes`
    /// values). The row's value depends on the row alone (no batch-dependent summation
    /// order, unlike the blocked [`Self::class_log_probabilities`]), so it is the same
    /// whatever rows it is scored with.
    pub fn row_class_log_probabilities(&self, x: &[f32], out: &mut [f32]) {
        assert_eq!(
            x.len(),
            self.n_visible,
            "row_class_log_probabilities: input length"
        );
        assert_eq!(
            out.len(),
            self.n_classes,
            "row_class_log_probabilities: output length"
        );
        let mut input = self.hidden_bias.clone();
        for (i, &xi) in x.iter().enumerate() {
            if xi != 0.0 {
                let row = &self.weights[i * self.n_hidden..(i + 1) * self.n_hidden];
                for (a, &w) in input.iter_mut().zip(row) {
                    *a += xi * w;
                }
            }
        }
        self.class_scores(&input, out);
    }

    /// `A = X W + c`: hidden inputs without the label term.
    pub(crate) fn hidden_inputs(&self, inputs: &[f32], out: &mut [f32], par: Parallelism) {
        let rows = inputs.len() / self.n_visible;
        for row in out.chunks_exact_mut(self.n_hidden) {
            row.copy_from_slice(&self.hidden_bias);
        }
        gemm(
            1.0,
            &mut MatMut::from_row_major(out, rows, self.n_hidden),
            1.0,
            MatRef::from_row_major(inputs, rows, self.n_visible),
            MatRef::from_row_major(&self.weights, self.n_visible, self.n_hidden),
            par,
        );
    }

    /// `ln p(y | x)` of each class from one row's hidden input `A` (softmax over classes
    /// of `d_y + sum_j softplus(A_j + U_yj)`).
    pub(crate) fn class_scores(&self, hidden_input: &[f32], out: &mut [f32]) {
        for (y, o) in out.iter_mut().enumerate() {
            let u = &self.class_weights[y * self.n_hidden..(y + 1) * self.n_hidden];
            *o = self.class_bias[y] + softplus_shifted_sum(hidden_input, u);
        }
        let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum = max + out.iter().map(|&s| (s - max).exp()).sum::<f32>().ln();
        for o in out.iter_mut() {
            *o -= log_sum;
        }
    }

    /// The most probable class of each row of `inputs`.
    pub fn predict(&self, inputs: &[f32], par: Parallelism) -> Vec<u8> {
        let rows = inputs.len() / self.n_visible;
        let mut scores = vec![0.0f32; rows * self.n_classes];
        self.class_log_probabilities(inputs, &mut scores, par);
        scores
            .chunks_exact(self.n_classes)
            .map(|s| most_probable(s) as u8)
            .collect()
    }

    /// Fraction of misclassified rows of a labelled data set.
    pub fn error_rate(&self, data: &Dataset, par: Parallelism) -> Result<f64, RbmError> {
        let labels = data
            .labels
            .as_ref()
            .ok_or_else(|| RbmError::DataMismatch("the data set has no labels".into()))?;
        if data.n_features != self.n_visible {
            return Err(RbmError::DataMismatch(format!(
                "model has {} inputs, the data {} features",
                self.n_visible, data.n_features
            )));
        }
        let predicted = self.predict(&data.features, par);
        let wrong = predicted.iter().zip(labels).filter(|(p, l)| p != l).count();
        Ok(wrong as f64 / data.n_examples.max(1) as f64)
    }

    /// Free energy `F(x, y) = -b.x - d_y - sum_j softplus(c_j + W_j.x + U_jy)`.
    pub fn free_energy(&self, x: &[f32], y: usize) -> f64 {
        let mut input = self.hidden_bias.clone();
        let mut visible = 0.0f64;
        for (i, &xi) in x.iter().enumerate() {
            if xi != 0.0 {
                visible += (xi * self.visible_bias[i]) as f64;
                let row = &self.weights[i * self.n_hidden..(i + 1) * self.n_hidden];
                for (a, &w) in input.iter_mut().zip(row) {
                    *a += xi * w;
                }
            }
        }
        let u = &self.class_weights[y * self.n_hidden..(y + 1) * self.n_hidden];
        -visible - self.class_bias[y] as f64 - softplus_shifted_sum(&input, u) as f64
    }

    /// Class-conditional samples: `chains` Gibbs chains with the label clamped to `class`,
    /// `steps` sweeps each from independent pixels at the visible biases' rates; returns
    /// the final visible probabilities (`chains x n_visible`).
    pub fn sample_class(
        &self,
        class: usize,
        chains: usize,
        steps: usize,
        rng: &mut StreamRng,
    ) -> Vec<f32> {
        assert!(class < self.n_classes, "class out of range");
        let (v, h) = (self.n_visible, self.n_hidden);
        let mut bits = vec![0u32; v.max(h)];
        let mut out = Vec::with_capacity(chains * v);
        let u = &self.class_weights[class * h..(class + 1) * h];
        for _ in 0..chains {
            fill_u32(rng, &mut bits[..v]);
            // Start from independent pixels at the visible biases' rates: a uniform random
            // image has so much more ink than any digit that chains fall into blank images.
            let mut x: Vec<f32> = bits[..v]
                .iter()
                .zip(&self.visible_bias)
                .map(|(&b, &bias)| (unit_f32(b) < sigmoid_scalar(bias)) as u8 as f32)
                .collect();
            let mut probs = vec![0.0f32; v];
            for _ in 0..steps {
                let mut hidden: Vec<f32> = (0..h).map(|j| self.hidden_bias[j] + u[j]).collect();
                for (i, &xi) in x.iter().enumerate() {
                    if xi != 0.0 {
                        add_assign(&mut hidden, &self.weights[i * h..(i + 1) * h]);
                    }
                }
                fill_u32(rng, &mut bits[..h]);
                for (a, &b) in hidden.iter_mut().zip(&bits) {
                    *a = if unit_f32(b) < sigmoid_scalar(*a) {
                        1.0
                    } else {
                        0.0
                    };
                }
                fill_u32(rng, &mut bits[..v]);
                for i in 0..v {
                    let row = &self.weights[i * h..(i + 1) * h];
                    let total: f32 = self.visible_bias[i] + dot(row, &hidden);
                    probs[i] = sigmoid_scalar(total);
                    x[i] = if unit_f32(bits[i]) < probs[i] {
                        1.0
                    } else {
                        0.0
                    };
                }
            }
            out.extend_from_slice(&probs);
        }
        out
    }
}

/// The class RBM's model file: kind [`CLASS_RBM_KIND`], shapes
/// `[n_visible, n_hidden, n_classes]`.
impl ModelFile for ClassRbm {
    const KIND: &'static str = CLASS_RBM_KIND;

    fn shapes(&self) -> Vec<u64> {
        vec![
            self.n_visible as u64,
            self.n_hidden as u64,
            self.n_classes as u64,
        ]
    }

    fn parameters(&self) -> Vec<&[f32]> {
        vec![
            &self.weights,
            &self.class_weights,
            &self.visible_bias,
            &self.hidden_bias,
            &self.class_bias,
        ]
    }

    fn check(&self) -> Result<(), String> {
        let (v, h, c) = (self.n_visible, self.n_hidden, self.n_classes);
        let ok = self.weights.len() == v * h
            && self.class_weights.len() == c * h
            && self.visible_bias.len() == v
            && self.hidden_bias.len() == h
            && self.class_bias.len() == c
            && c >= 2;
        if ok {
            Ok(())
        } else {
            Err("parameter arrays disagree with the header's shapes".into())
        }
    }
}

/// `softplus` re-exported for the trainer's scalar loops.
#[inline(always)]
pub(crate) fn softplus(x: f32) -> f32 {
    softplus_scalar(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::rng::stream;

    fn random_model() -> ClassRbm {
        let mut m = ClassRbm::initialize(5, 4, 3, 0.01, &mut stream(2, 0, 0));
        let mut rng = stream(3, 0, 0);
        for w in m
            .weights
            .iter_mut()
            .chain(&mut m.class_weights)
            .chain(&mut m.class_bias)
        {
            *w = normal_f64(&mut rng) as f32;
        }
        m
    }

    /// p(y | x) from the closed form equals brute-force enumeration of h.
    #[test]
    fn class_probabilities_match_enumeration() {
        let m = random_model();
        let x = [1.0f32, 0.0, 1.0, 1.0, 0.0];
        let mut got = vec![0.0f32; 3];
        m.class_log_probabilities(&x, &mut got, Parallelism::Sequential);
        let mut joint = [0.0f64; 3];
        for (y, j) in joint.iter_mut().enumerate() {
            for h in 0..16u32 {
                let mut minus_e = m.class_bias[y] as f64;
                for (i, &xi) in x.iter().enumerate() {
                    minus_e += (xi * m.visible_bias[i]) as f64;
                }
                for k in 0..4 {
                    if h >> k & 1 == 1 {
                        let mut a = m.hidden_bias[k] + m.class_weights[y * 4 + k];
                        for (i, &xi) in x.iter().enumerate() {
                            a += xi * m.weights[i * 4 + k];
                        }
                        minus_e += a as f64;
                    }
                }
                *j += minus_e.exp();
            }
        }
        let total: f64 = joint.iter().sum();
        for y in 0..3 {
            assert!(
                (got[y] as f64 - (joint[y] / total).ln()).abs() < 1e-4,
                "{y}"
            );
            // Free energies give the same ratios.
            let f = |c| m.free_energy(&x, c);
            assert!(((f(0) - f(y)) - (joint[y] / joint[0]).ln()).abs() < 1e-4);
        }
    }

    #[test]
    fn save_load_round_trip() {
        let m = random_model();
        let dir = std::env::temp_dir().join(format!("ebm-class-rbm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.ebm");
        m.save(&path).unwrap();
        assert_eq!(ClassRbm::load(&path).unwrap(), m);
        let samples = m.sample_class(1, 2, 3, &mut stream(1, 0, 0));
        assert_eq!(samples.len(), 10);
        assert!(samples.iter().all(|p| (0.0..=1.0).contains(p)));
    }
}
