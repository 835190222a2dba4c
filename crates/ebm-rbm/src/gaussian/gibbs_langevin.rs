//! Gibbs-Langevin sampling of a Gaussian RBM (Liao, Kornblith, Ren, Fleet & Hinton 2022,
//! "Gaussian-Bernoulli RBMs Without Tears"): `K` Langevin steps on `v` given `h`, then a
//! Gibbs update of `h` given `v`; the pair is accepted or rejected by Metropolis-Hastings,
//! so the chain leaves `p(v, h)` invariant.
//!
//! The Langevin steps are preconditioned by the visible variances,
//! `v <- v - eps_k sigma^2 dE/dv + sqrt(2 eps_k) sigma xi`, with `eps_k` annealed by a
//! cosine from `step_size` over the `K` steps (the paper's schedule). Given `h`,
//! `-sigma^2 dE/dv = m - v` with `m = b + W h`, so each step shrinks `v - m` by `1 - eps_k`
//! and adds Gaussian noise: the `K` steps together are
//! `v_K = A v_0 + (1 - A) m + sqrt(S) sigma xi` with `A = prod_k (1 - eps_k)` and
//! `S = sum_k 2 eps_k prod_{l > k} (1 - eps_l)^2`. They are drawn here in one go (the
//! same distribution as stepping `K` times, for the cost of one step). That Gaussian is
//! also the proposal density of the Metropolis-Hastings test; with the Gibbs draw of `h`
//! the hidden terms `-E(v, h) - ln p(h | v)` collapse into the free energy:
//! `ln alpha = F(v) - F(v') + ln q(v | v', h') - ln q(v' | v, h)`.

use super::GaussianRbm;
use super::gradient::pulls;
use ebm_core::InvalidSetting;
use ebm_kernels::Parallelism;
use ebm_kernels::activation::{sigmoid_in_place, softplus_sum};
use ebm_kernels::rng::{StreamRng, fill_normal_f32, fill_u32, uniform_f64};
use ebm_kernels::sampling::bernoulli_in_place;

/// Settings of the Gibbs-Langevin sampler.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GibbsLangevinConfig {
    /// Langevin steps on `v` per Gibbs update of `h` (`K`).
    pub langevin_steps: usize,
    /// The first (largest) step size `eps_0`, in units of each visible unit's variance;
    /// in `(0, 2)`, where one step contracts `v - m`.
    pub step_size: f32,
    /// Accept or reject each sweep by Metropolis-Hastings (otherwise every proposal is
    /// kept, and the chain is only approximately invariant).
    pub metropolis: bool,
}

impl Default for GibbsLangevinConfig {
    fn default() -> Self {
        Self {
            langevin_steps: 10,
            step_size: 0.5,
            metropolis: true,
        }
    }
}

impl GibbsLangevinConfig {
    /// Check the settings; the error names the field.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] for `langevin_steps` (zero) or `step_size` (outside `(0, 2)`).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::at_least_one(self.langevin_steps, "langevin_steps")?;
        InvalidSetting::require(
            self.step_size.is_finite() && self.step_size > 0.0 && self.step_size < 2.0,
            "step_size",
            "the Langevin step size must be in (0, 2) (units of the visible variances)",
        )
    }

    /// The step sizes `eps_k = step_size (1 + cos(pi k / K)) / 2`, `k = 0..K`.
    pub fn step_sizes(&self) -> Vec<f64> {
        let k = self.langevin_steps as f64;
        (0..self.langevin_steps)
            .map(|t| {
                self.step_size as f64 * 0.5 * (1.0 + (std::f64::consts::PI * t as f64 / k).cos())
            })
            .collect()
    }

    /// `(A, S)` of the `K` composed steps: `v_K = A v_0 + (1 - A) m + sqrt(S) sigma xi`.
    pub fn composed(&self) -> (f64, f64) {
        self.step_sizes().iter().fold((1.0, 0.0), |(a, s), &eps| {
            let c = 1.0 - eps;
            (a * c, s * c * c + 2.0 * eps)
        })
    }
}

/// A batch of Gibbs-Langevin chains over standardized `v`: each chain's state `(v, h)`,
/// the conditional mean `m = b + W h` and the free energy `F(v)`.
pub struct GibbsLangevinChains {
    rows: usize,
    v: Vec<f32>,
    h: Vec<f32>,
    mean: Vec<f32>,
    free_energy: Vec<f64>,
    proposal: Proposal,
    proposed: u64,
    accepted: u64,
}

/// Scratch of one sweep's proposals.
struct Proposal {
    v: Vec<f32>,
    h: Vec<f32>,
    mean: Vec<f32>,
    free_energy: Vec<f64>,
    scaled: Vec<f32>,
    noise: Vec<f32>,
    bits: Vec<u32>,
}

impl Proposal {
    /// Buffers for `rows` chains of `model`.
    fn new(rows: usize, model: &GaussianRbm) -> Self {
        let (nv, nh) = (model.n_visible(), model.n_hidden());
        Self {
            v: vec![0.0; rows * nv],
            h: vec![0.0; rows * nh],
            mean: vec![0.0; rows * nv],
            free_energy: vec![0.0; rows],
            scaled: vec![0.0; rows * nv],
            noise: vec![0.0; rows * nv],
            bits: vec![0; rows * nh],
        }
    }

    /// From `self.v`: its free energy, a draw of `h ~ p(h | v)` and `m = b + W h`.
    fn complete(&mut self, model: &GaussianRbm, rng: &mut StreamRng, par: Parallelism) {
        let (nv, nh) = (model.n_visible(), model.n_hidden());
        model.batch_hidden_inputs(&self.v, &mut self.scaled, &mut self.h, par);
        let inverse_variance: Vec<f64> = model
            .log_variance
            .iter()
            .map(|&z| (-z as f64).exp())
            .collect();
        for ((f, v_row), input) in self
            .free_energy
            .iter_mut()
            .zip(self.v.chunks_exact(nv))
            .zip(self.h.chunks_exact(nh))
        {
            let quadratic: f64 = v_row
                .iter()
                .zip(&model.visible_bias)
                .zip(&inverse_variance)
                .map(|((&x, &b), &iv)| 0.5 * (x as f64 - b as f64).powi(2) * iv)
                .sum();
            *f = quadratic - softplus_sum(input);
        }
        sigmoid_in_place(&mut self.h);
        fill_u32(rng, &mut self.bits);
        bernoulli_in_place(&mut self.h, &self.bits);
        pulls(model, &self.h, &mut self.mean, par);
        for row in self.mean.chunks_exact_mut(nv) {
            ebm_kernels::vector::add_assign(row, &model.visible_bias);
        }
    }
}

impl GibbsLangevinChains {
    /// `rows` chains of `model` started at standard normal noise (standardized units),
    /// with `h ~ p(h | v)`.
    pub fn from_noise(
        model: &GaussianRbm,
        rows: usize,
        rng: &mut StreamRng,
        par: Parallelism,
    ) -> Self {
        let mut chains = Self {
            rows,
            v: Vec::new(),
            h: Vec::new(),
            mean: Vec::new(),
            free_energy: Vec::new(),
            proposal: Proposal::new(rows, model),
            proposed: 0,
            accepted: 0,
        };
        chains.restart_from_noise(model, rng, par);
        chains
    }

    /// Put every chain back at fresh standard normal noise (the model may have changed
    /// since, but not its shape) and reset the acceptance counts.
    pub fn restart_from_noise(
        &mut self,
        model: &GaussianRbm,
        rng: &mut StreamRng,
        par: Parallelism,
    ) {
        let p = &mut self.proposal;
        fill_normal_f32(rng, &mut p.v);
        p.complete(model, rng, par);
        self.v.clone_from(&p.v);
        self.h.clone_from(&p.h);
        self.mean.clone_from(&p.mean);
        self.free_energy.clone_from(&p.free_energy);
        (self.proposed, self.accepted) = (0, 0);
    }

    /// `sweeps` sweeps of every chain.
    pub fn run(
        &mut self,
        model: &GaussianRbm,
        config: &GibbsLangevinConfig,
        sweeps: usize,
        rng: &mut StreamRng,
        par: Parallelism,
    ) {
        let (a, s) = config.composed();
        for _ in 0..sweeps {
            self.sweep(model, config.metropolis, (a, s), rng, par);
        }
    }

    /// One sweep: the composed Langevin move of `v` given `h`, `h' ~ p(h | v')`, and the
    /// Metropolis-Hastings test of `(v', h')` against `(v, h)` when `metropolis`.
    fn sweep(
        &mut self,
        model: &GaussianRbm,
        metropolis: bool,
        (a, s): (f64, f64),
        rng: &mut StreamRng,
        par: Parallelism,
    ) {
        let (nv, nh) = (model.n_visible(), model.n_hidden());
        let sigma = model.visible_std();
        let (a32, spread) = (a as f32, s.sqrt() as f32);
        let p = &mut self.proposal;
        fill_normal_f32(rng, &mut p.noise);
        for k in 0..self.rows {
            let row = k * nv..(k + 1) * nv;
            for (i, ((out, &v), (&m, &xi))) in p.v[row.clone()]
                .iter_mut()
                .zip(&self.v[row.clone()])
                .zip(self.mean[row.clone()].iter().zip(&p.noise[row.clone()]))
                .enumerate()
            {
                *out = a32 * v + (1.0 - a32) * m + spread * sigma[i] * xi;
            }
        }
        p.complete(model, rng, par);
        let inverse_spread: Vec<f64> = sigma
            .iter()
            .map(|&sd| 1.0 / (s * sd as f64 * sd as f64))
            .collect();
        for k in 0..self.rows {
            let (vr, hr) = (k * nv..(k + 1) * nv, k * nh..(k + 1) * nh);
            let accept = !metropolis || {
                // ln q(v' | v, h) = -|xi|^2 / 2 (up to a constant shared with the reverse).
                let forward: f64 = p.noise[vr.clone()]
                    .iter()
                    .map(|&x| -0.5 * (x as f64).powi(2))
                    .sum();
                let reverse: f64 = self.v[vr.clone()]
                    .iter()
                    .zip(&p.v[vr.clone()])
                    .zip(&p.mean[vr.clone()])
                    .zip(&inverse_spread)
                    .map(|(((&x, &xn), &mn), &is)| {
                        let r = x as f64 - a * xn as f64 - (1.0 - a) * mn as f64;
                        -0.5 * r * r * is
                    })
                    .sum();
                let log_alpha = self.free_energy[k] - p.free_energy[k] + reverse - forward;
                log_alpha >= 0.0 || uniform_f64(rng) < log_alpha.exp()
            };
            self.proposed += 1;
            if accept {
                self.accepted += 1;
                self.v[vr.clone()].copy_from_slice(&p.v[vr.clone()]);
                self.mean[vr.clone()].copy_from_slice(&p.mean[vr]);
                self.h[hr.clone()].copy_from_slice(&p.h[hr]);
                self.free_energy[k] = p.free_energy[k];
            }
        }
    }

    /// The chains' visible states `v`, `rows x n_visible` (standardized units).
    pub fn visible(&self) -> &[f32] {
        &self.v
    }

    /// The chains' hidden states `h`, `rows x n_hidden`.
    pub fn hidden(&self) -> &[f32] {
        &self.h
    }

    /// The conditional means `E[v | h] = b + W h` of the chains' hidden states,
    /// `rows x n_visible` (standardized units): the usual picture of a sample.
    pub fn conditional_means(&self) -> &[f32] {
        &self.mean
    }

    /// Share of the proposals accepted since the last restart (1 without
    /// Metropolis-Hastings; 0 before any sweep).
    pub fn acceptance_rate(&self) -> f64 {
        self.accepted as f64 / self.proposed.max(1) as f64
    }
}

impl GaussianRbm {
    /// Gibbs-Langevin samples: `chains` chains from standard normal noise, `sweeps` sweeps
    /// (see [`GibbsLangevinChains`]); returns the final conditional means `E[v | h]`
    /// (standardized units), `chains x n_visible`, and the acceptance rate.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] when `config` is out of range.
    ///
    /// # Examples
    ///
    /// ```
    /// use ebm_rbm::gaussian::{GaussianRbm, GibbsLangevinConfig};
    /// let data = ebm_data::Dataset {
    ///     features: vec![0.0, 1.0, 2.0, 1.5], n_examples: 2, n_features: 2,
    ///     image_shape: None, labels: None,
    /// };
    /// let mut rng = ebm_kernels::rng::stream(1, 0, 0);
    /// let model = GaussianRbm::initialize(&data, 3, 0.1, &mut rng);
    /// let (samples, acceptance) =
    ///     model.gibbs_langevin_samples(&GibbsLangevinConfig::default(), 4, 20, &mut rng)?;
    /// assert_eq!(samples.len(), 4 * 2);
    /// assert!((0.0..=1.0).contains(&acceptance));
    /// # Ok::<(), ebm_core::InvalidSetting>(())
    /// ```
    pub fn gibbs_langevin_samples(
        &self,
        config: &GibbsLangevinConfig,
        chains: usize,
        sweeps: usize,
        rng: &mut StreamRng,
    ) -> Result<(Vec<f32>, f64), InvalidSetting> {
        config.validate()?;
        let par = Parallelism::Sequential;
        let mut batch = GibbsLangevinChains::from_noise(self, chains, rng, par);
        batch.run(self, config, sweeps, rng, par);
        Ok((batch.conditional_means().to_vec(), batch.acceptance_rate()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_data::Dataset;
    use ebm_kernels::rng::{normal_f64, stream};

    /// A model of `nv` visible and `nh` hidden units with random weights (standard
    /// deviation 0.8: a multimodal marginal that chains from noise still cross in a few
    /// dozen sweeps), biases and log-variances (standardization at the identity).
    fn model(nv: usize, nh: usize, seed: u64) -> GaussianRbm {
        let data = Dataset {
            features: vec![0.0; 2 * nv],
            n_examples: 2,
            n_features: nv,
            image_shape: None,
            labels: None,
        };
        let mut m = GaussianRbm::initialize(&data, nh, 0.8, &mut stream(seed, 0, 0));
        let mut r = stream(seed, 1, 0);
        for x in m.visible_bias.iter_mut().chain(&mut m.hidden_bias) {
            *x = normal_f64(&mut r) as f32;
        }
        for z in &mut m.log_variance {
            *z = -0.5 + 0.3 * normal_f64(&mut r) as f32;
        }
        m
    }

    /// Sweeps of the chains of the moment tests.
    const SWEEPS: usize = 60;

    /// The visible states of `chains` independent chains after `sweeps` sweeps.
    fn draws(
        m: &GaussianRbm,
        config: &GibbsLangevinConfig,
        chains: usize,
        sweeps: usize,
    ) -> (Vec<f32>, f64) {
        let par = Parallelism::Sequential;
        let mut rng = stream(9, 0, 0);
        let mut batch = GibbsLangevinChains::from_noise(m, chains, &mut rng, par);
        batch.run(m, config, sweeps, &mut rng, par);
        (batch.visible().to_vec(), batch.acceptance_rate())
    }

    /// The composed step matches `K` literal Langevin steps on `p(v | h)`: both are
    /// `v_K = A v_0 + (1 - A) m + sqrt(S) sigma xi`, checked by stepping the mean and
    /// the variance of `v_K - m` through the `K` updates.
    #[test]
    fn composed_move_equals_k_langevin_steps() {
        let config = GibbsLangevinConfig {
            langevin_steps: 7,
            step_size: 0.8,
            metropolis: true,
        };
        let (a, s) = config.composed();
        let (mut mean, mut var) = (1.0f64, 0.0f64); // v_0 - m = 1, no spread
        for eps in config.step_sizes() {
            // v <- v - eps (v - m) + sqrt(2 eps) xi  (unit variance).
            mean *= 1.0 - eps;
            var = var * (1.0 - eps).powi(2) + 2.0 * eps;
        }
        assert!(
            (mean - a).abs() < 1e-12 && (var - s).abs() < 1e-12,
            "{mean} {a} {var} {s}"
        );
        assert_eq!(config.step_sizes()[0], 0.8f32 as f64);
    }

    /// With the Metropolis test the chain keeps `p(v)` exactly: 1 visible, 3 hidden
    /// units, 10000 chains from noise after 60 sweeps; their mean and variance and a
    /// 12-bin histogram match `exp(-F(v)) / Z` by quadrature (midpoint rule on
    /// [-15, 15], error far below 1e-6). The draws are independent, so the standard
    /// errors are about sd / 100 for the mean and a bin's
    /// sqrt(p (1 - p) / 10000) <= 0.005; the tolerances are 5 standard errors
    /// (0.006 of total variation summed over bins). Without the test the chain's
    /// overdispersed moves (K = 1, eps = 1.5: the proposal variance is 3 sigma^2)
    /// visibly miss the variance, which shows the check can fail.
    #[test]
    fn metropolis_adjusted_chains_match_the_marginal_by_quadrature() {
        let m = model(1, 3, 4);
        let (lo, hi, n) = (-15.0f64, 15.0f64, 60_000);
        let dx = (hi - lo) / n as f64;
        let grid: Vec<(f64, f64)> = (0..n)
            .map(|k| {
                let x = lo + (k as f64 + 0.5) * dx;
                (x, (-m.free_energy(&[x as f32])).exp() * dx)
            })
            .collect();
        let z: f64 = grid.iter().map(|g| g.1).sum();
        let mean: f64 = grid.iter().map(|(x, w)| x * w).sum::<f64>() / z;
        let var: f64 = grid
            .iter()
            .map(|(x, w)| (x - mean).powi(2) * w)
            .sum::<f64>()
            / z;
        let sd = var.sqrt();
        // 12 equal bins over mean +- 3 sd; the rest falls in the outer bins.
        let bin = |x: f64| (((x - mean) / sd + 3.0) * 2.0).clamp(0.0, 11.0) as usize;
        let mut exact = [0.0f64; 12];
        for (x, w) in &grid {
            exact[bin(*x)] += w / z;
        }
        let chains = 10_000;
        let check = |config: GibbsLangevinConfig| -> (f64, f64, f64, f64) {
            let (v, acceptance) = draws(&m, &config, chains, SWEEPS);
            let got_mean = v.iter().map(|&x| x as f64).sum::<f64>() / chains as f64;
            let got_var = v
                .iter()
                .map(|&x| (x as f64 - got_mean).powi(2))
                .sum::<f64>()
                / chains as f64;
            let mut hist = [0.0f64; 12];
            for &x in &v {
                hist[bin(x as f64)] += 1.0 / chains as f64;
            }
            let tv: f64 = hist
                .iter()
                .zip(&exact)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
                / 2.0;
            (got_mean, got_var, tv, acceptance)
        };
        for config in [
            GibbsLangevinConfig {
                langevin_steps: 10,
                step_size: 0.5,
                metropolis: true,
            },
            GibbsLangevinConfig {
                langevin_steps: 1,
                step_size: 1.5,
                metropolis: true,
            },
        ] {
            let (got_mean, got_var, tv, acceptance) = check(config);
            assert!(
                (got_mean - mean).abs() < 5.0 * sd / 100.0,
                "{config:?}: mean {got_mean} vs {mean}"
            );
            // The variance of a sample variance is about 2 var^2 / n (more for heavy tails).
            assert!(
                (got_var - var).abs() < 5.0 * var * (2.0f64 / chains as f64).sqrt() * 1.5,
                "{config:?}: var {got_var} vs {var}"
            );
            assert!(tv < 0.03, "{config:?}: total variation {tv}");
            assert!(
                acceptance > 0.05 && acceptance < 1.0,
                "{config:?}: acceptance {acceptance}"
            );
        }
        let (_, unadjusted_var, _, acceptance) = check(GibbsLangevinConfig {
            langevin_steps: 1,
            step_size: 1.5,
            metropolis: false,
        });
        assert_eq!(acceptance, 1.0);
        assert!(
            unadjusted_var > var * 1.2,
            "unadjusted var {unadjusted_var} vs {var}"
        );
    }

    /// Two visible and two hidden units: the chains' means and covariance match the
    /// exact marginal by quadrature on a 2-D grid (tolerance 5 standard errors of
    /// 10000 independent draws, as above).
    #[test]
    fn two_dimensional_moments_match_quadrature() {
        let m = model(2, 2, 12);
        let (lo, hi, n) = (-12.0f64, 12.0f64, 600);
        let d = (hi - lo) / n as f64;
        let (mut z, mut m1, mut m2) = (0.0f64, [0.0f64; 2], [[0.0f64; 2]; 2]);
        for a in 0..n {
            for b in 0..n {
                let x = [lo + (a as f64 + 0.5) * d, lo + (b as f64 + 0.5) * d];
                let w = (-m.free_energy(&[x[0] as f32, x[1] as f32])).exp();
                z += w;
                for i in 0..2 {
                    m1[i] += w * x[i];
                    for j in 0..2 {
                        m2[i][j] += w * x[i] * x[j];
                    }
                }
            }
        }
        let mean = [m1[0] / z, m1[1] / z];
        let cov = |i: usize, j: usize| m2[i][j] / z - mean[i] * mean[j];
        let chains = 10_000;
        let config = GibbsLangevinConfig::default();
        let (v, _) = draws(&m, &config, chains, SWEEPS);
        let rows: Vec<[f64; 2]> = v
            .chunks_exact(2)
            .map(|r| [r[0] as f64, r[1] as f64])
            .collect();
        let got_mean: Vec<f64> = (0..2)
            .map(|i| rows.iter().map(|r| r[i]).sum::<f64>() / chains as f64)
            .collect();
        for i in 0..2 {
            let se = (cov(i, i) / chains as f64).sqrt();
            assert!(
                (got_mean[i] - mean[i]).abs() < 5.0 * se,
                "mean {i}: {} vs {}",
                got_mean[i],
                mean[i]
            );
            for j in 0..2 {
                let got: f64 = rows
                    .iter()
                    .map(|r| (r[i] - got_mean[i]) * (r[j] - got_mean[j]))
                    .sum::<f64>()
                    / chains as f64;
                // Standard error of a covariance: sqrt((c_ii c_jj + c_ij^2) / n), with
                // 50% room for the non-Gaussian tails of the mixture.
                let se = ((cov(i, i) * cov(j, j) + cov(i, j).powi(2)) / chains as f64).sqrt();
                assert!(
                    (got - cov(i, j)).abs() < 7.5 * se,
                    "cov {i}{j}: {got} vs {}",
                    cov(i, j)
                );
            }
        }
    }

    #[test]
    fn settings_out_of_range_name_the_field() {
        let bad = |c: GibbsLangevinConfig| c.validate().unwrap_err().setting;
        let ok = GibbsLangevinConfig::default();
        assert!(ok.validate().is_ok());
        assert_eq!(
            bad(GibbsLangevinConfig {
                langevin_steps: 0,
                ..ok
            }),
            "langevin_steps"
        );
        for step_size in [0.0, 2.0, -1.0, f32::NAN] {
            assert_eq!(bad(GibbsLangevinConfig { step_size, ..ok }), "step_size");
        }
    }
}
