//! Annealed importance sampling of `ln Z` for a Gaussian-Bernoulli RBM: the weights are
//! scaled by `beta` from 0 (independent Gaussian visibles and Bernoulli hiddens, whose
//! `ln Z` is known) to 1, with one block Gibbs step at every intermediate `beta`.

use super::GaussianRbm;
use crate::RbmError;
use crate::metrics::AisEstimate;
use ebm_core::InvalidSetting;
use ebm_kernels::activation::softplus_f64;
use ebm_kernels::rng::{normal_f64, stream, uniform_f64};
use rayon::prelude::*;

/// `ln Z` of `model` by AIS with `runs` independent runs over `betas` evenly spaced
/// inverse temperatures; runs are parallel on the current rayon pool and reproducible
/// for a given `seed`.
pub fn gaussian_ais_log_partition(
    model: &GaussianRbm,
    runs: usize,
    betas: usize,
    seed: u64,
) -> Result<AisEstimate, RbmError> {
    if runs < 2 || betas < 2 {
        return Err(RbmError::from(InvalidSetting::new(
            "runs",
            "AIS needs at least 2 runs and 2 temperatures",
        )));
    }
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let sigma = model.visible_std();
    let inverse_variance: Vec<f64> = model
        .log_variance
        .iter()
        .map(|&z| (-z as f64).exp())
        .collect();
    let log_z0: f64 = model
        .log_variance
        .iter()
        .map(|&z| 0.5 * ((std::f64::consts::TAU).ln() + z as f64))
        .sum::<f64>()
        + model
            .hidden_bias
            .iter()
            .map(|&c| softplus_f64(c as f64))
            .sum::<f64>();
    // a_j = sum_i W_ij v_i / sigma_i^2 (the weight part of the hidden input).
    let weight_input = |v: &[f64], out: &mut [f64]| {
        out.fill(0.0);
        for (i, &vi) in v.iter().enumerate() {
            let s = vi * inverse_variance[i];
            for (a, &w) in out.iter_mut().zip(&model.weights[i * nh..(i + 1) * nh]) {
                *a += s * w as f64;
            }
        }
    };
    let log_weights: Vec<f64> = (0..runs)
        .into_par_iter()
        .map(|run| {
            let mut rng = stream(seed, 0, run as u64);
            let mut v: Vec<f64> = (0..nv)
                .map(|i| model.visible_bias[i] as f64 + sigma[i] as f64 * normal_f64(&mut rng))
                .collect();
            let mut a = vec![0.0f64; nh];
            let mut h = vec![0.0f64; nh];
            let mut log_w = 0.0f64;
            for k in 1..betas {
                let (previous, beta) = (
                    (k - 1) as f64 / (betas - 1) as f64,
                    k as f64 / (betas - 1) as f64,
                );
                weight_input(&v, &mut a);
                for (&aj, &c) in a.iter().zip(&model.hidden_bias) {
                    log_w +=
                        softplus_f64(c as f64 + beta * aj) - softplus_f64(c as f64 + previous * aj);
                }
                if k + 1 < betas {
                    for ((hj, &aj), &c) in h.iter_mut().zip(&a).zip(&model.hidden_bias) {
                        let p = 1.0 / (1.0 + (-(c as f64 + beta * aj)).exp());
                        *hj = (uniform_f64(&mut rng) < p) as u8 as f64;
                    }
                    for (i, vi) in v.iter_mut().enumerate() {
                        let row = &model.weights[i * nh..(i + 1) * nh];
                        let mean = model.visible_bias[i] as f64
                            + beta
                                * row
                                    .iter()
                                    .zip(&h)
                                    .map(|(&w, &hj)| w as f64 * hj)
                                    .sum::<f64>();
                        *vi = mean + sigma[i] as f64 * normal_f64(&mut rng);
                    }
                }
            }
            log_w
        })
        .collect();
    Ok(AisEstimate::from_log_weights(&log_weights, log_z0))
}

#[cfg(test)]
mod tests {
    use super::super::tests::small_model;
    use super::*;

    /// AIS agrees with exact enumeration on a small model. With 200 runs and 2,000
    /// temperatures the spread of the estimate is about 0.01 here; 0.05 is 5 of them.
    #[test]
    fn ais_matches_exact_log_partition() {
        let m = small_model(11);
        let exact = m.exact_log_partition().unwrap();
        let ais = gaussian_ais_log_partition(&m, 200, 2000, 3).unwrap();
        assert!(
            (ais.log_z - exact).abs() < 0.05,
            "ais {} exact {exact}",
            ais.log_z
        );
    }
}
