//! The parameters of a collaborative-filtering RBM and its two conditionals.
//!
//! Each case (a user, or an item for the item-based variant) is one RBM whose visible
//! units are the `K`-level softmax units of the columns it rated; all cases share the
//! weights `W[unit][level][hidden]`, the visible biases `b[unit][level]` and the hidden
//! biases `c[hidden]`. The conditional variant adds `D[unit][hidden]`, switched on for
//! every unit the case rated or will be asked about, whatever the rating.
//!
//! Energy of a case with levels `v` and hidden states `h`:
//! `E(v, h) = -sum_{i,k} v_ik b_ik - sum_j h_j (c_j + sum_{i,k} v_ik W_ikj + sum_i r_i D_ij)`.

use ebm_kernels::activation::sigmoid_in_place;
use ebm_kernels::rng::{StreamRng, normal_f64};
use ebm_kernels::vector::{add_assign, softmax_in_place, softplus_shifted_sum};
use serde::{Deserialize, Serialize};

/// Shared parameters of all the per-case RBMs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CfRbm {
    n_units: usize,
    n_levels: usize,
    n_hidden: usize,
    /// `W`, `n_units x n_levels x n_hidden`.
    pub(crate) weights: Vec<f32>,
    /// `b`, `n_units x n_levels`.
    pub(crate) visible_bias: Vec<f32>,
    /// `c`, `n_hidden`.
    pub(crate) hidden_bias: Vec<f32>,
    /// `D`, `n_units x n_hidden`, for the conditional variant.
    pub(crate) implicit_weights: Option<Vec<f32>>,
}

impl CfRbm {
    /// A model with small random weights (normal, standard deviation `init_std`) and
    /// visible biases set to the log of each unit's smoothed level frequencies
    /// (`level_counts`, `n_units x n_levels`), so the untrained model predicts each
    /// unit's rating distribution.
    pub fn initialize(
        n_hidden: usize,
        level_counts: &[u32],
        n_levels: usize,
        conditional: bool,
        init_std: f32,
        rng: &mut StreamRng,
    ) -> Self {
        assert!(
            n_levels > 0 && level_counts.len() % n_levels == 0,
            "level counts shape"
        );
        let n_units = level_counts.len() / n_levels;
        let mut overall = vec![0.0f64; n_levels];
        for counts in level_counts.chunks_exact(n_levels) {
            for (o, &c) in overall.iter_mut().zip(counts) {
                *o += c as f64;
            }
        }
        let total: f64 = overall.iter().sum::<f64>().max(1.0);
        // Dirichlet smoothing towards the overall frequencies, worth this many ratings.
        const PRIOR_RATINGS: f64 = 2.0;
        let mut visible_bias = Vec::with_capacity(level_counts.len());
        for counts in level_counts.chunks_exact(n_levels) {
            let n: f64 = counts.iter().map(|&c| c as f64).sum();
            for (k, &c) in counts.iter().enumerate() {
                let prior = PRIOR_RATINGS * (overall[k] + 1.0) / (total + n_levels as f64);
                visible_bias.push(((c as f64 + prior) / (n + PRIOR_RATINGS)).ln() as f32);
            }
        }
        let mut normal = |len: usize| -> Vec<f32> {
            (0..len)
                .map(|_| (normal_f64(rng) * init_std as f64) as f32)
                .collect()
        };
        let weights = normal(n_units * n_levels * n_hidden);
        let implicit_weights = conditional.then(|| normal(n_units * n_hidden));
        Self {
            n_units,
            n_levels,
            n_hidden,
            weights,
            visible_bias,
            hidden_bias: vec![0.0; n_hidden],
            implicit_weights,
        }
    }

    /// Number of softmax visible units (columns).
    pub fn n_units(&self) -> usize {
        self.n_units
    }

    /// Number of rating levels `K`.
    pub fn n_levels(&self) -> usize {
        self.n_levels
    }

    /// Number of hidden units.
    pub fn n_hidden(&self) -> usize {
        self.n_hidden
    }

    /// True for the conditional variant (implicit "rated or asked" inputs).
    pub fn is_conditional(&self) -> bool {
        self.implicit_weights.is_some()
    }

    /// `W[unit][level][..]`.
    #[inline]
    pub fn weight_row(&self, unit: u32, level: u8) -> &[f32] {
        let start = (unit as usize * self.n_levels + level as usize) * self.n_hidden;
        &self.weights[start..start + self.n_hidden]
    }

    /// `W[unit][..][..]`, `n_levels x n_hidden`.
    #[inline]
    pub fn unit_weights(&self, unit: u32) -> &[f32] {
        let len = self.n_levels * self.n_hidden;
        let start = unit as usize * len;
        &self.weights[start..start + len]
    }

    /// `b[unit][..]`.
    #[inline]
    pub fn unit_bias(&self, unit: u32) -> &[f32] {
        let start = unit as usize * self.n_levels;
        &self.visible_bias[start..start + self.n_levels]
    }

    /// `D[unit][..]` of the conditional variant.
    #[inline]
    pub fn implicit_row(&self, unit: u32) -> Option<&[f32]> {
        let start = unit as usize * self.n_hidden;
        self.implicit_weights
            .as_ref()
            .map(|d| &d[start..start + self.n_hidden])
    }

    /// `out = c + sum_i D_i` over the implicit units (the part of the hidden input that
    /// does not depend on the rating values).
    pub fn implicit_input(&self, implicit_units: &[u32], out: &mut [f32]) {
        out.copy_from_slice(&self.hidden_bias);
        if self.implicit_weights.is_some() {
            for &unit in implicit_units {
                add_assign(out, self.implicit_row(unit).expect("conditional model"));
            }
        }
    }

    /// `out = base + sum_i W[unit_i][level_i]`: the total input to the hidden units.
    pub fn add_rating_input(&self, units: &[u32], levels: &[u8], out: &mut [f32]) {
        for (&unit, &level) in units.iter().zip(levels) {
            add_assign(out, self.weight_row(unit, level));
        }
    }

    /// The hidden input of a case: `c + sum D_i r_i + sum W[unit][level]`.
    pub fn hidden_input(&self, units: &[u32], levels: &[u8], implicit: &[u32], out: &mut [f32]) {
        self.implicit_input(implicit, out);
        self.add_rating_input(units, levels, out);
    }

    /// `p(h_j = 1 | v) = sigmoid(hidden input)`, in place.
    pub fn hidden_probabilities_in_place(input: &mut [f32]) {
        sigmoid_in_place(input);
    }

    /// The exact distribution of `unit`'s level given the case's other ratings, with the
    /// hidden units summed out: `p(k) ∝ exp(b_k) prod_j (1 + exp(x_j + W_kj))` where `x`
    /// is the case's hidden input. Writes `n_levels` probabilities into `out`.
    pub fn level_distribution(&self, hidden_input: &[f32], unit: u32, out: &mut [f32]) {
        let bias = self.unit_bias(unit);
        let weights = self.unit_weights(unit);
        for ((o, &b), w) in out
            .iter_mut()
            .zip(bias)
            .zip(weights.chunks_exact(self.n_hidden))
        {
            *o = b + softplus_shifted_sum(hidden_input, w);
        }
        softmax_in_place(out);
    }

    /// Every parameter block: `W`, `b`, `c` and, for the conditional variant, `D`.
    pub fn parameters(&self) -> Vec<&[f32]> {
        let mut blocks = vec![&self.weights[..], &self.visible_bias, &self.hidden_bias];
        blocks.extend(self.implicit_weights.as_deref());
        blocks
    }

    /// Check array lengths (after loading a model file).
    pub fn validate(&self) -> Result<(), String> {
        let units = self.n_units;
        let ok = self.weights.len() == units * self.n_levels * self.n_hidden
            && self.visible_bias.len() == units * self.n_levels
            && self.hidden_bias.len() == self.n_hidden
            && self
                .implicit_weights
                .as_ref()
                .is_none_or(|d| d.len() == units * self.n_hidden)
            && self.n_levels > 0
            && self.n_hidden > 0;
        ok.then_some(())
            .ok_or_else(|| "RBM parameter arrays disagree with their shapes".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::rng::stream;

    fn small(conditional: bool) -> CfRbm {
        // 3 units, 3 levels, 4 hidden.
        let counts = [5, 0, 1, 0, 0, 0, 1, 1, 8];
        CfRbm::initialize(4, &counts, 3, conditional, 0.5, &mut stream(3, 0, 0))
    }

    #[test]
    fn biases_start_at_smoothed_frequencies() {
        let m = CfRbm::initialize(2, &[9, 1, 0, 0], 2, false, 0.01, &mut stream(1, 0, 0));
        let b = m.unit_bias(0);
        assert!(b[0] > b[1]);
        // A unit with no ratings gets the overall distribution (9:1 smoothed).
        let p0 = m.unit_bias(1)[0].exp();
        let p1 = m.unit_bias(1)[1].exp();
        assert!((p0 + p1 - 1.0).abs() < 1e-5 && p0 > 0.7, "{p0} {p1}");
    }

    /// The exact conditional equals brute-force enumeration over all hidden states.
    #[test]
    fn level_distribution_matches_enumeration() {
        for conditional in [false, true] {
            let m = small(conditional);
            let (units, levels, implicit) = ([0u32, 2], [0u8, 2], [0u32, 1, 2]);
            let mut x = vec![0.0f32; 4];
            m.hidden_input(&units, &levels, &implicit, &mut x);
            let mut got = vec![0.0f32; 3];
            m.level_distribution(&x, 1, &mut got);
            let mut want = [0.0f64; 3];
            for (k, w) in want.iter_mut().enumerate() {
                for h in 0..16u32 {
                    let mut minus_energy = m.unit_bias(1)[k] as f64;
                    let row = m.weight_row(1, k as u8);
                    for (j, (&xj, &wj)) in x.iter().zip(row).enumerate() {
                        if h >> j & 1 == 1 {
                            minus_energy += (xj + wj) as f64;
                        }
                    }
                    *w += minus_energy.exp();
                }
            }
            let total: f64 = want.iter().sum();
            for k in 0..3 {
                assert!((got[k] as f64 - want[k] / total).abs() < 1e-5);
            }
            assert!(m.validate().is_ok());
        }
    }
}
