//! What an RBM says about one input, for out-of-distribution detection: its free energy
//! (`-ln p(x)` up to the constant `ln Z`), the gradient of the free energy with respect to
//! the input (its norm is a score: data the model has learned sit near a minimum), and for
//! the class RBM the largest class probability. [`InputScores`] is the one interface every
//! RBM kind implements; the binary's `ebm ood` runs it over files.
//!
//! ```
//! use ebm_rbm::input_scores::InputScores;
//! let rbm = ebm_rbm::BinaryRbm::from_parts(2, 1, vec![1.0, -1.0], vec![0.5, 0.0], vec![0.0])?;
//! let mut grad = [0.0f64; 2];
//! let scored = rbm.score_input(&[1.0, 0.0], &mut grad);
//! assert!((scored.free_energy - rbm.free_energy(&[1.0, 0.0])).abs() < 1e-12);
//! // dF/dv_0 = -b_0 - W_00 sigmoid(c + v W) = -0.5 - sigmoid(1).
//! assert!((grad[0] + 0.5 + 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-6);
//! assert!(scored.max_class_probability.is_none());
//! # Ok::<(), ebm_rbm::RbmError>(())
//! ```

use crate::BinaryRbm;
use crate::class_rbm::ClassRbm;
use crate::gaussian::GaussianRbm;
use ebm_kernels::activation::{sigmoid_f64, softplus_f64};

/// The scores of one input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    /// `F(x) = -ln sum_h e^{-E(x, h)}` (for the class RBM, `y` summed out too).
    pub free_energy: f64,
    /// `max_y p(y | x)`, for classifiers.
    pub max_class_probability: Option<f64>,
    /// Squared error of the mean-field reconstruction `E[x | E[h | x]]`, for models
    /// that reconstruct.
    pub reconstruction_error: Option<f64>,
}

/// A model that scores single inputs.
pub trait InputScores {
    /// Values of one input.
    fn n_inputs(&self) -> usize;

    /// The scores of `x` (`n_inputs` values, in the units the model reads), with the
    /// gradient of the free energy with respect to `x` written to `grad` (`n_inputs`).
    fn score_input(&self, x: &[f32], grad: &mut [f64]) -> Scored;
}

/// `a = c + x W` (`x` of `v` values, `W` `v x h` row-major), in f64.
fn hidden_input(
    weights: &[f32],
    hidden_bias: &[f32],
    x: &[f32],
    scale: impl Fn(usize) -> f64,
) -> Vec<f64> {
    let h = hidden_bias.len();
    let mut a: Vec<f64> = hidden_bias.iter().map(|&c| f64::from(c)).collect();
    for (i, &xi) in x.iter().enumerate() {
        let s = f64::from(xi) * scale(i);
        if s != 0.0 {
            for (aj, &w) in a.iter_mut().zip(&weights[i * h..(i + 1) * h]) {
                *aj += s * f64::from(w);
            }
        }
    }
    a
}

/// The linear visible term `b.x` of a binary-visible free energy; `grad` starts as its
/// part of the free energy's gradient, `-b`.
fn visible_term(x: &[f32], visible_bias: &[f32], grad: &mut [f64]) -> f64 {
    for (g, &b) in grad.iter_mut().zip(visible_bias) {
        *g = -f64::from(b);
    }
    x.iter()
        .zip(visible_bias)
        .map(|(&v, &b)| f64::from(v) * f64::from(b))
        .sum()
}

/// `grad_i += weight * sum_j W_ij signal_j`.
fn add_weighted_rows(weights: &[f32], signal: &[f64], weight: f64, grad: &mut [f64]) {
    let h = signal.len();
    for (g, row) in grad.iter_mut().zip(weights.chunks_exact(h)) {
        *g += weight
            * row
                .iter()
                .zip(signal)
                .map(|(&w, &s)| f64::from(w) * s)
                .sum::<f64>();
    }
}

impl InputScores for BinaryRbm {
    fn n_inputs(&self) -> usize {
        self.n_visible()
    }

    /// `F(v) = -b.v - sum_j softplus(a_j)`, `dF/dv = -b - W sigmoid(a)`.
    fn score_input(&self, x: &[f32], grad: &mut [f64]) -> Scored {
        let a = hidden_input(self.weights(), self.hidden_bias(), x, |_| 1.0);
        let visible = visible_term(x, self.visible_bias(), grad);
        let signal: Vec<f64> = a.iter().map(|&aj| sigmoid_f64(aj)).collect();
        add_weighted_rows(self.weights(), &signal, -1.0, grad);
        // grad = -b - W E[h | x], so the reconstruction E[x | E[h | x]] is sigmoid(-grad).
        let reconstruction_error = x
            .iter()
            .zip(grad.iter())
            .map(|(&v, &g)| (sigmoid_f64(-g) - f64::from(v)).powi(2))
            .sum();
        Scored {
            free_energy: -visible - a.iter().map(|&aj| softplus_f64(aj)).sum::<f64>(),
            max_class_probability: None,
            reconstruction_error: Some(reconstruction_error),
        }
    }
}

impl InputScores for ClassRbm {
    fn n_inputs(&self) -> usize {
        self.n_visible()
    }

    /// `F(x) = -ln sum_y e^{-F(x, y)}` with `F(x, y) = -b.x - d_y - sum_j softplus(a_j +
    /// U_yj)`; `dF/dx = -b - sum_y p(y | x) W sigmoid(a + U_y)`.
    fn score_input(&self, x: &[f32], grad: &mut [f64]) -> Scored {
        let (h, classes) = (self.n_hidden(), self.n_classes());
        let a = hidden_input(self.weights(), self.hidden_bias(), x, |_| 1.0);
        let visible = visible_term(x, self.visible_bias(), grad);
        // -F(x, y) + b.x per class, then p(y | x).
        let scores: Vec<f64> = (0..classes)
            .map(|y| {
                let u = &self.class_weights()[y * h..(y + 1) * h];
                f64::from(self.class_bias()[y])
                    + a.iter()
                        .zip(u)
                        .map(|(&aj, &uj)| softplus_f64(aj + f64::from(uj)))
                        .sum::<f64>()
            })
            .collect();
        let max = scores.iter().fold(f64::NEG_INFINITY, |m, &s| m.max(s));
        let total: f64 = scores.iter().map(|&s| (s - max).exp()).sum();
        let log_norm = max + total.ln();
        let mut signal = vec![0.0f64; h];
        for (y, &s) in scores.iter().enumerate() {
            let p = (s - log_norm).exp();
            let u = &self.class_weights()[y * h..(y + 1) * h];
            for ((sig, &aj), &uj) in signal.iter_mut().zip(&a).zip(u) {
                *sig += p * sigmoid_f64(aj + f64::from(uj));
            }
        }
        add_weighted_rows(self.weights(), &signal, -1.0, grad);
        Scored {
            free_energy: -visible - log_norm,
            max_class_probability: Some((max - log_norm).exp()),
            reconstruction_error: None,
        }
    }
}

impl InputScores for GaussianRbm {
    fn n_inputs(&self) -> usize {
        self.n_visible()
    }

    /// On the standardized input `v` ([`GaussianRbm::standardize`]):
    /// `F(v) = sum_i (v_i - b_i)^2 / (2 s_i^2) - sum_j softplus(a_j)` with
    /// `a = c + (v / s^2) W`; `dF/dv_i = ((v_i - b_i) - sum_j W_ij sigmoid(a_j)) / s_i^2`.
    fn score_input(&self, x: &[f32], grad: &mut [f64]) -> Scored {
        let inverse_variance: Vec<f64> = self
            .visible_std()
            .iter()
            .map(|&s| 1.0 / (f64::from(s) * f64::from(s)))
            .collect();
        let a = hidden_input(self.weights(), self.hidden_bias(), x, |i| {
            inverse_variance[i]
        });
        let signal: Vec<f64> = a.iter().map(|&aj| sigmoid_f64(aj)).collect();
        for (g, (&v, &b)) in grad.iter_mut().zip(x.iter().zip(self.visible_bias())) {
            *g = f64::from(v) - f64::from(b);
        }
        add_weighted_rows(self.weights(), &signal, -1.0, grad);
        let mut quadratic = 0.0;
        for ((g, &iv), (&v, &b)) in grad
            .iter_mut()
            .zip(&inverse_variance)
            .zip(x.iter().zip(self.visible_bias()))
        {
            *g *= iv;
            quadratic += 0.5 * iv * (f64::from(v) - f64::from(b)).powi(2);
        }
        Scored {
            free_energy: quadratic - a.iter().map(|&aj| softplus_f64(aj)).sum::<f64>(),
            max_class_probability: None,
            reconstruction_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::rng::{normal_f64, stream};

    /// Central differences of the free energy agree with `grad` to 1e-6 relative: the
    /// free energy is smooth and computed in f64 from f32 inputs, so a step of 1e-3 in f32
    /// leaves a truncation error of order 1e-6 times the third derivative (O(1) here).
    fn check_gradient(model: &dyn InputScores, x: &[f32]) -> Scored {
        let n = model.n_inputs();
        let mut grad = vec![0.0; n];
        let scored = model.score_input(x, &mut grad);
        let mut scratch = vec![0.0; n];
        for i in 0..n {
            let step = 1e-3f32;
            let mut plus = x.to_vec();
            plus[i] += step;
            let mut minus = x.to_vec();
            minus[i] -= step;
            let f = |v: &[f32], s: &mut [f64]| model.score_input(v, s).free_energy;
            let numeric =
                (f(&plus, &mut scratch) - f(&minus, &mut scratch)) / f64::from(plus[i] - minus[i]);
            assert!(
                (numeric - grad[i]).abs() < 1e-4 * (1.0 + grad[i].abs()),
                "input {i}: {numeric} vs {}",
                grad[i]
            );
        }
        scored
    }

    fn random(len: usize, scale: f64, seed: u64) -> Vec<f32> {
        let mut rng = stream(seed, 0, 0);
        (0..len)
            .map(|_| (scale * normal_f64(&mut rng)) as f32)
            .collect()
    }

    #[test]
    fn binary_rbm_gradient_and_free_energy() {
        let rbm = BinaryRbm::from_parts(
            5,
            3,
            random(15, 0.5, 1),
            random(5, 0.5, 2),
            random(3, 0.5, 3),
        )
        .unwrap();
        let x = [0.2f32, 0.9, 0.0, 1.0, 0.5];
        let scored = check_gradient(&rbm, &x);
        assert!((scored.free_energy - rbm.free_energy(&x)).abs() < 1e-9);
        let recon = rbm.visible_probabilities(&rbm.hidden_probabilities(&x));
        let error: f64 = recon
            .iter()
            .zip(&x)
            .map(|(&r, &v)| f64::from(r - v).powi(2))
            .sum();
        assert!((scored.reconstruction_error.unwrap() - error).abs() < 1e-5);
    }

    #[test]
    fn class_rbm_gradient_free_energy_and_class_probability() {
        let mut rng = stream(4, 0, 0);
        let model = ClassRbm::initialize(5, 3, 4, 0.7, &mut rng);
        let x = [0.2f32, 0.9, 0.0, 1.0, 0.5];
        let scored = check_gradient(&model, &x);
        // F(x) = -ln sum_y exp(-F(x, y)), and max p(y | x) from the model's own softmax.
        let per_class: Vec<f64> = (0..4).map(|y| -model.free_energy(&x, y)).collect();
        let max = per_class.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + per_class.iter().map(|s| (s - max).exp()).sum::<f64>().ln();
        assert!(
            (scored.free_energy + lse).abs() < 1e-5,
            "{} vs {}",
            scored.free_energy,
            -lse
        );
        let mut log_probs = [0.0f32; 4];
        model.row_class_log_probabilities(&x, &mut log_probs);
        let best = log_probs.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let p = scored.max_class_probability.unwrap();
        assert!((p - f64::from(best).exp()).abs() < 1e-5);
    }

    #[test]
    fn gaussian_rbm_gradient_and_free_energy() {
        let data = ebm_data::Dataset {
            features: random(40, 1.0, 5),
            n_examples: 8,
            n_features: 5,
            image_shape: None,
            labels: None,
        };
        let mut model = GaussianRbm::initialize(&data, 3, 0.5, &mut stream(6, 0, 0));
        model.visible_bias.copy_from_slice(&random(5, 0.3, 7));
        model.log_variance.copy_from_slice(&random(5, 0.4, 8));
        let x = random(5, 1.0, 9);
        let scored = check_gradient(&model, &x);
        assert!((scored.free_energy - model.free_energy(&x)).abs() < 1e-6);
    }
}
