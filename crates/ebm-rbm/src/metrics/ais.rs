//! `ln Z` by annealed importance sampling (Neal 2001; Salakhutdinov & Murray 2008).
//!
//! The runs anneal from a base-rate model `p_A(v) ∝ exp(a.v)` (visible biases fitted to
//! the training data, no weights) to the RBM through
//! `p*_β(v) = exp((1-β) a.v + β b.v) prod_j (1 + exp(β (c_j + v.W_j)))`, with a Gibbs
//! transition that leaves each `p_β` invariant. At `β = 0` the hidden units are free, so
//! `ln Z_A = H ln 2 + sum_i softplus(a_i)` is known exactly.

use super::check_features;
use crate::products::{hidden_input, visible_input_no_bias};
use crate::{BinaryRbm, RbmError};
use ebm_core::InvalidSetting;
pub use ebm_core::ais::AisEstimate;
use ebm_data::Dataset;
use ebm_kernels::Parallelism;
use ebm_kernels::activation::{
    scale_bias_sigmoid_rows, scaled_sigmoid_in_place, sigmoid_scalar, softplus_difference_parts,
    softplus_f64,
};
use ebm_kernels::rng::{fill_u32, stream, streams};
use ebm_kernels::sampling::bernoulli;
use ebm_kernels::sparse::ActiveIndex;

/// Settings of an AIS run.
#[derive(Clone, Debug, PartialEq)]
pub struct AisConfig {
    /// Number of independent annealing runs.
    pub runs: usize,
    /// Inverse temperatures, strictly increasing from 0 to 1 inclusive.
    pub betas: Vec<f64>,
    /// Seed of the runs.
    pub seed: u64,
}

impl AisConfig {
    /// `runs` runs over the schedule [`default_betas`]`(intermediate)`.
    pub fn new(runs: usize, intermediate: usize, seed: u64) -> Self {
        Self {
            runs,
            betas: default_betas(intermediate),
            seed,
        }
    }
}

/// The schedule of Salakhutdinov & Murray (2008) scaled to `n` steps: 1/29 of them
/// uniformly over [0, 0.5], 8/29 over [0.5, 0.9], 20/29 over [0.9, 1] (their 14,500
/// steps are 500, 4,000 and 10,000).
pub fn default_betas(n: usize) -> Vec<f64> {
    let n = n.max(3);
    let first = (n / 29).max(1);
    let second = (n * 8 / 29).max(1);
    let third = (n - first - second).max(1);
    let mut betas = vec![0.0];
    for (count, from, to) in [(first, 0.0, 0.5), (second, 0.5, 0.9), (third, 0.9, 1.0)] {
        for s in 1..=count {
            betas.push(from + (to - from) * s as f64 / count as f64);
        }
    }
    betas
}

/// Base-rate visible biases `ln(p / (1 - p))` of the data's means, smoothed as
/// `p = (count + 1) / (n + 2)` so no bias is infinite.
pub fn base_rate_visible_bias(data: &Dataset) -> Vec<f32> {
    let n = data.n_examples as f64;
    data.feature_means()
        .iter()
        .map(|&mean| {
            let p = (mean * n + 1.0) / (n + 2.0);
            (p / (1.0 - p)).ln() as f32
        })
        .collect()
}

fn validate(model: &BinaryRbm, base: &[f32], config: &AisConfig) -> Result<(), RbmError> {
    if base.len() != model.n_visible() {
        return Err(RbmError::DataMismatch(format!(
            "{} base-rate biases for {} visible units",
            base.len(),
            model.n_visible()
        )));
    }
    if config.runs < 2 {
        return Err(RbmError::from(InvalidSetting::new(
            "runs",
            "AIS needs at least 2 runs",
        )));
    }
    let b = &config.betas;
    let increasing = b.windows(2).all(|w| w[1] > w[0]);
    if b.len() < 2 || b[0] != 0.0 || *b.last().expect("non-empty") != 1.0 || !increasing {
        return Err(RbmError::from(InvalidSetting::new(
            "betas",
            "AIS betas must increase strictly from 0 to 1",
        )));
    }
    Ok(())
}

/// Estimate `ln Z` of `model` by AIS from the base-rate model with visible biases `base`.
///
/// # Errors
///
/// [`RbmError::DataMismatch`] when `base` does not fit the model,
/// [`RbmError::InvalidSetting`] for fewer than 2 runs or a schedule that does not rise
/// strictly from 0 to 1.
///
/// # Examples
///
/// ```
/// use ebm_kernels::Parallelism;
/// use ebm_rbm::BinaryRbm;
/// use ebm_rbm::metrics::{AisConfig, ais_log_partition, exact_log_partition};
/// let model = BinaryRbm::initialize(6, 4, &[0.3; 6], 1)?;
/// let base = vec![0.0; 6];
/// let estimate = ais_log_partition(&model, &base, &AisConfig::new(100, 1000, 1), Parallelism::Sequential)?;
/// let exact = exact_log_partition(&model, Parallelism::Sequential)?;
/// // 100 runs on a near-independent model: the estimate is within a few of its std.
/// assert!((estimate.log_z - exact).abs() < 0.05, "{} vs {exact}", estimate.log_z);
/// # Ok::<(), ebm_rbm::RbmError>(())
/// ```
pub fn ais_log_partition(
    model: &BinaryRbm,
    base: &[f32],
    config: &AisConfig,
    par: Parallelism,
) -> Result<AisEstimate, RbmError> {
    validate(model, base, config)?;
    let (nv, nh, runs) = (model.n_visible(), model.n_hidden(), config.runs);
    let b = model.visible_bias();
    let log_z_base = nh as f64 * std::f64::consts::LN_2
        + base.iter().map(|&a| softplus_f64(a as f64)).sum::<f64>();
    let bias_shift: Vec<f64> = b
        .iter()
        .zip(base)
        .map(|(&bi, &ai)| bi as f64 - ai as f64)
        .collect();
    let mut rng = stream(config.seed, streams::AIS, 0);
    let mut bits = vec![0u32; runs * nv.max(nh)];

    // v ~ p_A
    let mut visible = vec![0.0f32; runs * nv];
    let base_probs: Vec<f32> = (0..runs)
        .flat_map(|_| base.iter().map(|&a| sigmoid_scalar(a)))
        .collect();
    fill_u32(&mut rng, &mut bits[..runs * nv]);
    bernoulli(&base_probs, &bits, &mut visible);

    let mut hidden_in = vec![0.0f32; runs * nh];
    let mut hidden = vec![0.0f32; runs * nh];
    let mut visible_probs = vec![0.0f32; runs * nv];
    let mut visible_bias_at_beta = vec![0.0f32; nv];
    let mut index = ActiveIndex::new();
    let mut log_weights = vec![0.0f64; runs];
    let last = config.betas.len() - 1;
    for k in 1..=last {
        let (beta_prev, beta) = (config.betas[k - 1], config.betas[k]);
        let step = beta - beta_prev;
        let (beta32, prev32) = (beta as f32, beta_prev as f32);
        // x = c + v W for every run; then ln p*_k(v) - ln p*_{k-1}(v).
        hidden_input(model, &visible, runs, true, &mut index, &mut hidden_in, par);
        for ((w, v), x) in log_weights
            .iter_mut()
            .zip(visible.chunks_exact(nv))
            .zip(hidden_in.chunks_exact(nh))
        {
            let visible_term: f64 = v
                .iter()
                .zip(&bias_shift)
                .map(|(&vi, &d)| vi as f64 * d)
                .sum();
            // softplus(βx) - softplus(β'x) = (β-β') max(x,0) + g(β|x|) - g(β'|x|),
            // g(t) = ln(1 + e^-t): the large linear part in f64, the bounded rest in f32.
            let (linear, bounded) = softplus_difference_parts(x, beta32, prev32);
            *w += step * (visible_term + linear) + bounded;
        }
        if k == last {
            break;
        }
        // Gibbs transition at β: h ~ p_β(h | v), v ~ p_β(v | h).
        scaled_sigmoid_in_place(&mut hidden_in, beta32);
        fill_u32(&mut rng, &mut bits[..runs * nh]);
        bernoulli(&hidden_in, &bits, &mut hidden);
        visible_input_no_bias(model, &hidden, runs, &mut visible_probs, par);
        for ((vb, &bi), &ai) in visible_bias_at_beta.iter_mut().zip(b).zip(base) {
            *vb = ((1.0 - beta) * ai as f64 + beta * bi as f64) as f32;
        }
        scale_bias_sigmoid_rows(&mut visible_probs, beta32, &visible_bias_at_beta);
        fill_u32(&mut rng, &mut bits[..runs * nv]);
        bernoulli(&visible_probs, &bits, &mut visible);
    }
    Ok(AisEstimate::from_log_weights(&log_weights, log_z_base))
}

/// Check that `data` fits `model`, then fit the base rates to it (convenience).
pub fn base_rate_for(model: &BinaryRbm, data: &Dataset) -> Result<Vec<f32>, RbmError> {
    check_features(model, data)?;
    Ok(base_rate_visible_bias(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exact_log_partition;
    use ebm_kernels::rng::normal_f64;

    #[test]
    fn schedule_has_requested_shape() {
        let b = default_betas(14_500);
        assert_eq!(b.len(), 14_501);
        assert_eq!((b[0], *b.last().unwrap()), (0.0, 1.0));
        assert!(b.windows(2).all(|w| w[1] > w[0]));
        assert!((b[500] - 0.5).abs() < 1e-12 && (b[4500] - 0.9).abs() < 1e-12);
    }

    /// AIS on one thread.
    fn sequential_ais(model: &BinaryRbm, base: &[f32], config: AisConfig) -> AisEstimate {
        ais_log_partition(model, base, &config, Parallelism::Sequential).unwrap()
    }

    #[test]
    fn agrees_with_exact_on_a_random_model() {
        // A 20x12 model with weights N(0, 0.5^2): exact ln Z by enumerating 2^12 hidden states.
        // 200 runs x 3000 betas give a standard deviation of ~0.01 here; the tolerance
        // 0.05 is 5 of them, and far below the error of a broken estimator (> 1 nat).
        let mut model = BinaryRbm::zeros(20, 12);
        let mut rng = stream(42, 0, 0);
        let (w, b, c) = model.parameters_mut();
        w.iter_mut()
            .for_each(|x| *x = (0.5 * normal_f64(&mut rng)) as f32);
        b.iter_mut()
            .chain(c.iter_mut())
            .for_each(|x| *x = (0.3 * normal_f64(&mut rng)) as f32);
        let exact = exact_log_partition(&model, Parallelism::Sequential).unwrap();
        let base = vec![0.0f32; 20];
        let est = sequential_ais(&model, &base, AisConfig::new(200, 3000, 7));
        assert!(
            (est.log_z - exact).abs() < 0.05,
            "AIS {} vs exact {exact} (sd {})",
            est.log_z,
            est.log_z_std
        );
        assert!(est.log_z_std < 0.05 && est.log_z_low <= est.log_z && est.log_z <= est.log_z_high);
    }

    #[test]
    fn zero_weight_model_is_exact_with_any_schedule() {
        // With W = 0 and base = b, every importance weight is exactly H ln 2-consistent.
        let mut model = BinaryRbm::zeros(5, 3);
        model
            .parameters_mut()
            .1
            .copy_from_slice(&[0.5, -1.0, 0.0, 2.0, -0.3]);
        let base = model.visible_bias().to_vec();
        let est = sequential_ais(&model, &base, AisConfig::new(4, 10, 1));
        let exact = exact_log_partition(&model, Parallelism::Sequential).unwrap();
        assert!((est.log_z - exact).abs() < 1e-5 && est.log_z_std < 1e-6);
    }

    #[test]
    fn rejects_bad_schedules() {
        let model = BinaryRbm::zeros(3, 2);
        let bad = AisConfig {
            runs: 10,
            betas: vec![0.0, 0.7, 0.5, 1.0],
            seed: 1,
        };
        assert!(ais_log_partition(&model, &[0.0; 3], &bad, Parallelism::Sequential).is_err());
        assert!(
            ais_log_partition(
                &model,
                &[0.0; 2],
                &AisConfig::new(10, 10, 1),
                Parallelism::Sequential
            )
            .is_err()
        );
    }
}
