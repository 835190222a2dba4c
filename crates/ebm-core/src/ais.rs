//! The estimate of annealed importance sampling (Neal 2001) from its runs' log importance
//! weights: `ln Z` as the log-mean-exp of the weights times the base's `Z`, with its
//! spread. Every AIS of the toolkit (binary and Gaussian RBMs, neural energies) reports
//! through [`AisEstimate::from_log_weights`].
//!
//! ```
//! use ebm_core::ais::AisEstimate;
//! // Equal weights: the estimate is exact and has no spread.
//! let estimate = AisEstimate::from_log_weights(&[0.5; 4], 1.0);
//! assert!((estimate.log_z - 1.5).abs() < 1e-12 && estimate.log_z_std == 0.0);
//! ```

/// The outcome of AIS.
#[derive(Clone, Debug, PartialEq)]
pub struct AisEstimate {
    /// Estimate of `ln Z` (log of the mean importance weight, times `Z_A`).
    pub log_z: f64,
    /// Standard deviation of `log_z` (delta method: sd of the weights over their mean,
    /// divided by `sqrt(runs)`).
    pub log_z_std: f64,
    /// `ln(mean - 3 sd_mean)` of the weights, times `Z_A` (`-inf` if not positive).
    pub log_z_low: f64,
    /// `ln(mean + 3 sd_mean)` of the weights, times `Z_A`.
    pub log_z_high: f64,
    /// `ln Z_A` of the base model.
    pub log_z_base: f64,
    /// Per-run log importance weights.
    pub log_weights: Vec<f64>,
}

impl AisEstimate {
    /// The estimate from per-run log importance weights and the base model's `ln Z`.
    pub fn from_log_weights(log_weights: &[f64], log_z_base: f64) -> Self {
        summarize(log_weights.to_vec(), log_z_base)
    }
}

fn summarize(log_weights: Vec<f64>, log_z_base: f64) -> AisEstimate {
    let n = log_weights.len() as f64;
    let max = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let ratios: Vec<f64> = log_weights.iter().map(|&w| (w - max).exp()).collect();
    let mean = ratios.iter().sum::<f64>() / n;
    let var = ratios.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let sd_mean = (var / n).sqrt();
    let at = |x: f64| {
        if x > 0.0 {
            log_z_base + max + x.ln()
        } else {
            f64::NEG_INFINITY
        }
    };
    AisEstimate {
        log_z: at(mean),
        log_z_std: sd_mean / mean,
        log_z_low: at(mean - 3.0 * sd_mean),
        log_z_high: at(mean + 3.0 * sd_mean),
        log_z_base,
        log_weights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two weights 1 and 3 (times `Z_A = e`): mean 2, sd of the mean `sqrt(2) / sqrt(2)`.
    #[test]
    fn the_estimate_is_the_log_mean_exp_with_the_delta_method_spread() {
        let e = AisEstimate::from_log_weights(&[0.0, 3f64.ln()], 1.0);
        assert!((e.log_z - (1.0 + 2f64.ln())).abs() < 1e-12);
        assert!((e.log_z_std - 0.5).abs() < 1e-12);
        assert_eq!(e.log_z_low, f64::NEG_INFINITY);
        assert!((e.log_z_high - (1.0 + 5f64.ln())).abs() < 1e-12);
    }
}
