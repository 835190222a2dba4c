//! Continuous energies `E: R^d -> R` with gradients, and Markov chain samplers of
//! `p(x) ∝ exp(-E(x) / T)`: random-walk Metropolis-Hastings, unadjusted Langevin,
//! Metropolis-adjusted Langevin (MALA) and Hamiltonian Monte Carlo; with acceptance
//! rates and effective sample sizes.

mod diagnostics;
mod samplers;

pub use diagnostics::{effective_sample_size, mean_and_covariance};
pub use samplers::{
    Chain, ChainConfig, Hmc, Langevin, Mala, RandomWalk, Sampler, SamplerError, run_chain,
};

/// An energy over `R^dim` with its gradient.
pub trait ContinuousEnergy: Sync {
    /// Dimension of the space.
    fn dim(&self) -> usize;
    /// `E(x)`.
    fn energy(&self, x: &[f64]) -> f64;
    /// Write `∇E(x)` into `gradient` and return `E(x)`.
    fn energy_and_gradient(&self, x: &[f64], gradient: &mut [f64]) -> f64;
}

/// A mixture of Gaussians `p(x) = sum_k w_k N(x; mu_k, Sigma_k)` as an energy
/// `-ln p(x)`: a test target with known moments.
#[derive(Clone, Debug)]
pub struct GaussianMixture {
    dim: usize,
    log_weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    /// Inverse covariances, row-major.
    precisions: Vec<Vec<f64>>,
    /// `-0.5 ln det(2 pi Sigma_k)`.
    log_normalizers: Vec<f64>,
    covariances: Vec<Vec<f64>>,
    weights: Vec<f64>,
}

impl GaussianMixture {
    /// A mixture of 2-D Gaussians: weights (normalized here), means and covariances
    /// `[s_xx, s_xy, s_yy]` (must be positive definite).
    pub fn two_dimensional(weights: &[f64], means: &[[f64; 2]], covariances: &[[f64; 3]]) -> Self {
        assert!(weights.len() == means.len() && weights.len() == covariances.len());
        let total: f64 = weights.iter().sum();
        let mut mixture = Self {
            dim: 2,
            log_weights: Vec::new(),
            means: Vec::new(),
            precisions: Vec::new(),
            log_normalizers: Vec::new(),
            covariances: Vec::new(),
            weights: Vec::new(),
        };
        for ((&w, m), c) in weights.iter().zip(means).zip(covariances) {
            let det = c[0] * c[2] - c[1] * c[1];
            assert!(
                det > 0.0 && c[0] > 0.0,
                "covariance must be positive definite"
            );
            mixture.weights.push(w / total);
            mixture.log_weights.push((w / total).ln());
            mixture.means.push(m.to_vec());
            mixture
                .precisions
                .push(vec![c[2] / det, -c[1] / det, -c[1] / det, c[0] / det]);
            mixture
                .log_normalizers
                .push(-0.5 * ((std::f64::consts::TAU).powi(2) * det).ln());
            mixture.covariances.push(vec![c[0], c[1], c[1], c[2]]);
        }
        mixture
    }

    /// The mixture's mean and covariance (row-major), exactly.
    pub fn moments(&self) -> (Vec<f64>, Vec<f64>) {
        let d = self.dim;
        let mut mean = vec![0.0; d];
        for (w, m) in self.weights.iter().zip(&self.means) {
            for i in 0..d {
                mean[i] += w * m[i];
            }
        }
        let mut cov = vec![0.0; d * d];
        for ((w, m), c) in self.weights.iter().zip(&self.means).zip(&self.covariances) {
            for i in 0..d {
                for j in 0..d {
                    cov[i * d + j] += w * (c[i * d + j] + (m[i] - mean[i]) * (m[j] - mean[j]));
                }
            }
        }
        (mean, cov)
    }

    /// Log-density of each component at `x` (weights included), and `(x - mu_k)`
    /// premultiplied by the precision into `scaled` (`k * dim` values).
    fn component_terms(&self, x: &[f64], log_terms: &mut [f64], scaled: &mut [f64]) {
        let d = self.dim;
        for k in 0..self.means.len() {
            let p = &self.precisions[k];
            let mut quad = 0.0;
            for i in 0..d {
                let mut s = 0.0;
                for j in 0..d {
                    s += p[i * d + j] * (x[j] - self.means[k][j]);
                }
                scaled[k * d + i] = s;
                quad += (x[i] - self.means[k][i]) * s;
            }
            log_terms[k] = self.log_weights[k] + self.log_normalizers[k] - 0.5 * quad;
        }
    }
}

impl ContinuousEnergy for GaussianMixture {
    fn dim(&self) -> usize {
        self.dim
    }

    fn energy(&self, x: &[f64]) -> f64 {
        let mut gradient = vec![0.0; self.dim];
        self.energy_and_gradient(x, &mut gradient)
    }

    fn energy_and_gradient(&self, x: &[f64], gradient: &mut [f64]) -> f64 {
        let k = self.means.len();
        let d = self.dim;
        let mut log_terms = vec![0.0; k];
        let mut scaled = vec![0.0; k * d];
        self.component_terms(x, &mut log_terms, &mut scaled);
        let max = log_terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = log_terms.iter().map(|&l| (l - max).exp()).sum();
        let log_p = max + total.ln();
        gradient.fill(0.0);
        for c in 0..k {
            let responsibility = (log_terms[c] - log_p).exp();
            for i in 0..d {
                gradient[i] += responsibility * scaled[c * d + i];
            }
        }
        -log_p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixture_gradient_matches_finite_differences() {
        let m = GaussianMixture::two_dimensional(
            &[0.4, 0.6],
            &[[-1.0, 0.0], [1.5, 1.0]],
            &[[0.6, 0.2, 0.5], [0.4, -0.1, 0.7]],
        );
        let x = [0.3, -0.4];
        let mut g = [0.0; 2];
        let e = m.energy_and_gradient(&x, &mut g);
        assert!((e - m.energy(&x)).abs() < 1e-15);
        for i in 0..2 {
            let h = 1e-6;
            let mut up = x;
            let mut down = x;
            up[i] += h;
            down[i] -= h;
            let numeric = (m.energy(&up) - m.energy(&down)) / (2.0 * h);
            assert!((numeric - g[i]).abs() < 1e-6, "{numeric} {}", g[i]);
        }
        let (mean, cov) = m.moments();
        assert!((mean[0] - 0.5).abs() < 1e-12 && (mean[1] - 0.6).abs() < 1e-12);
        assert!(cov[1] == cov[2]);
    }
}
