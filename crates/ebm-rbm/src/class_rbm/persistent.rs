//! Persistent contrastive divergence for the class RBM's generative part: chains of the
//! joint `(x, y, h)` that carry over from minibatch to minibatch (Tieleman 2008), so the
//! negative phase samples the model rather than the data's neighbourhood and
//! class-conditional samples become digits instead of blank images.
//!
//! One Gibbs sweep of a chain: `h ~ p(h | x, y)`, then `x ~ p(x | h)` and `y ~ p(y | h)`
//! (independent given `h`). The negative statistics are those of the new `(x, y)` with
//! `p(h | x, y)`.

use super::ClassRbm;
use ebm_kernels::activation::sigmoid_in_place;
use ebm_kernels::gemm::gemm;
use ebm_kernels::rng::{StreamRng, fill_u32};
use ebm_kernels::sampling::{bernoulli, unit_f32};
use ebm_kernels::vector::softmax_in_place;
use ebm_kernels::{MatMut, MatRef, Parallelism};

/// The chains' states and the buffers of a sweep.
#[derive(Clone, Debug)]
pub(super) struct PersistentChains {
    /// Binary images, `chains x n_visible`.
    visible: Vec<f32>,
    /// The chains' classes.
    labels: Vec<u8>,
    /// `p(h | x, y)` of the current states, `chains x n_hidden`.
    hidden: Vec<f32>,
    hidden_states: Vec<f32>,
    visible_probs: Vec<f32>,
    class_probs: Vec<f32>,
    bits: Vec<u32>,
}

impl PersistentChains {
    /// `chains` chains started from independent pixels at rate 1/2 (the initial visible
    /// biases are zero) and uniformly drawn classes.
    pub(super) fn new(m: &ClassRbm, chains: usize, rng: &mut StreamRng) -> Self {
        let (v, h, c) = (m.n_visible, m.n_hidden, m.n_classes);
        let mut bits = vec![0u32; chains * v.max(h).max(1)];
        fill_u32(rng, &mut bits[..chains * v]);
        let visible = bits[..chains * v]
            .iter()
            .map(|&b| f32::from(u8::from(unit_f32(b) < 0.5)))
            .collect();
        fill_u32(rng, &mut bits[..chains]);
        let labels = bits[..chains]
            .iter()
            .map(|&b| ((u64::from(b) * c as u64) >> 32) as u8)
            .collect();
        Self {
            visible,
            labels,
            hidden: vec![0.0; chains * h],
            hidden_states: vec![0.0; chains * h],
            visible_probs: vec![0.0; chains * v],
            class_probs: vec![0.0; chains * c],
            bits,
        }
    }

    /// Chains held.
    pub(super) fn len(&self) -> usize {
        self.labels.len()
    }

    /// `steps` Gibbs sweeps of every chain under `m`; afterwards `hidden` holds
    /// `p(h | x, y)` of the new states.
    pub(super) fn advance(
        &mut self,
        m: &ClassRbm,
        steps: usize,
        rng: &mut StreamRng,
        par: Parallelism,
    ) {
        let (v, h, c) = (m.n_visible, m.n_hidden, m.n_classes);
        let n = self.len();
        self.hidden_given_states(m, par);
        for _ in 0..steps {
            fill_u32(rng, &mut self.bits[..n * h]);
            bernoulli(&self.hidden, &self.bits[..n * h], &mut self.hidden_states);
            // x ~ sigmoid(b + H W^T).
            for row in self.visible_probs.chunks_exact_mut(v) {
                row.copy_from_slice(&m.visible_bias);
            }
            gemm(
                1.0,
                &mut MatMut::from_row_major(&mut self.visible_probs, n, v),
                1.0,
                MatRef::from_row_major(&self.hidden_states, n, h),
                MatRef::from_row_major(&m.weights, v, h).t(),
                par,
            );
            sigmoid_in_place(&mut self.visible_probs);
            fill_u32(rng, &mut self.bits[..n * v]);
            bernoulli(&self.visible_probs, &self.bits[..n * v], &mut self.visible);
            // y ~ softmax(d + U h).
            fill_u32(rng, &mut self.bits[..n]);
            for k in 0..n {
                let states = &self.hidden_states[k * h..(k + 1) * h];
                let probs = &mut self.class_probs[k * c..(k + 1) * c];
                for (y, p) in probs.iter_mut().enumerate() {
                    let u = &m.class_weights[y * h..(y + 1) * h];
                    *p = m.class_bias[y] + u.iter().zip(states).map(|(a, b)| a * b).sum::<f32>();
                }
                softmax_in_place(probs);
                self.labels[k] = draw(probs, unit_f32(self.bits[k])) as u8;
            }
            self.hidden_given_states(m, par);
        }
    }

    /// `hidden = sigmoid(c + X W + U_y)` of the current states.
    fn hidden_given_states(&mut self, m: &ClassRbm, par: Parallelism) {
        let h = m.n_hidden;
        m.hidden_inputs(&self.visible, &mut self.hidden, par);
        for (row, &y) in self.hidden.chunks_exact_mut(h).zip(&self.labels) {
            let u = &m.class_weights[usize::from(y) * h..(usize::from(y) + 1) * h];
            for (a, &uj) in row.iter_mut().zip(u) {
                *a += uj;
            }
        }
        sigmoid_in_place(&mut self.hidden);
    }

    /// Add `-weight` times the chains' statistics to `grads`: `X^T P` to `W`, `X` to `b`,
    /// `P` to `c`, the one-hot classes to `d` and `onehot^T P` to `U`.
    pub(super) fn subtract_statistics(
        &self,
        m: &ClassRbm,
        weight: f32,
        grads: &mut ClassRbm,
        par: Parallelism,
    ) {
        let (v, h) = (m.n_visible, m.n_hidden);
        let n = self.len();
        gemm(
            1.0,
            &mut MatMut::from_row_major(&mut grads.weights, v, h),
            -weight,
            MatRef::from_row_major(&self.visible, n, v).t(),
            MatRef::from_row_major(&self.hidden, n, h),
            par,
        );
        for k in 0..n {
            let x = &self.visible[k * v..(k + 1) * v];
            for (g, &a) in grads.visible_bias.iter_mut().zip(x) {
                *g -= weight * a;
            }
            let p = &self.hidden[k * h..(k + 1) * h];
            for (g, &a) in grads.hidden_bias.iter_mut().zip(p) {
                *g -= weight * a;
            }
            let y = usize::from(self.labels[k]);
            grads.class_bias[y] -= weight;
            let du = &mut grads.class_weights[y * h..(y + 1) * h];
            for (d, &a) in du.iter_mut().zip(p) {
                *d -= weight * a;
            }
        }
    }
}

/// The index `i` with `sum_{j<i} p_j <= u < sum_{j<=i} p_j` (the last one when rounding
/// leaves `u` above the total).
fn draw(probs: &[f32], u: f32) -> usize {
    let mut total = 0.0;
    for (i, &p) in probs.iter().enumerate() {
        total += p;
        if u < total {
            return i;
        }
    }
    probs.len() - 1
}

/// Add `alpha` times the data's statistics to `grads` except `W`'s (already in the hidden
/// signal): the inputs to `b`, `p(h | x, y)` (`positive`) to `c`, the labels to `d` and
/// `onehot^T P` to `U`.
pub(super) fn add_data_statistics(
    inputs: &[f32],
    labels: &[u8],
    positive: &[f32],
    alpha: f32,
    grads: &mut ClassRbm,
) {
    let (v, h) = (grads.n_visible, grads.n_hidden);
    for (k, &label) in labels.iter().enumerate() {
        for (g, &a) in grads
            .visible_bias
            .iter_mut()
            .zip(&inputs[k * v..(k + 1) * v])
        {
            *g += alpha * a;
        }
        let p = &positive[k * h..(k + 1) * h];
        for (g, &a) in grads.hidden_bias.iter_mut().zip(p) {
            *g += alpha * a;
        }
        let y = usize::from(label);
        grads.class_bias[y] += alpha;
        let du = &mut grads.class_weights[y * h..(y + 1) * h];
        for (d, &a) in du.iter_mut().zip(p) {
            *d += alpha * a;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::activation::sigmoid_scalar;
    use ebm_kernels::rng::stream;

    #[test]
    fn draw_follows_the_cumulative_probabilities() {
        let p = [0.2f32, 0.5, 0.3];
        assert_eq!(draw(&p, 0.0), 0);
        assert_eq!(draw(&p, 0.19), 0);
        assert_eq!(draw(&p, 0.2), 1);
        assert_eq!(draw(&p, 0.69), 1);
        assert_eq!(draw(&p, 0.71), 2);
        assert_eq!(draw(&p, 1.0), 2);
    }

    /// On a model with 2 visible units, 1 hidden unit and 2 classes, the chains' joint
    /// frequencies of `(x, y)` after many sweeps match the exact Boltzmann distribution
    /// (8 states, `h` summed out). 4,000 chains: each frequency has a standard error below
    /// 0.008, so 0.03 is about four of them.
    #[test]
    fn chains_sample_the_exact_joint_distribution() {
        let mut rng = stream(3, 0, 0);
        let mut m = ClassRbm::initialize(2, 1, 2, 0.0, &mut rng);
        m.weights.copy_from_slice(&[1.5, -1.0]);
        m.class_weights.copy_from_slice(&[2.0, -1.0]);
        m.visible_bias.copy_from_slice(&[-0.5, 0.3]);
        m.hidden_bias.copy_from_slice(&[-0.7]);
        m.class_bias.copy_from_slice(&[0.2, -0.1]);
        let mut chains = PersistentChains::new(&m, 4000, &mut rng);
        chains.advance(&m, 40, &mut rng, Parallelism::Sequential);
        let mut exact = [0.0f64; 8];
        for (state, e) in exact.iter_mut().enumerate() {
            let (x0, x1, y) = ((state & 1) as f32, ((state >> 1) & 1) as f32, state >> 2);
            let a = m.hidden_bias[0] + 1.5 * x0 - 1.0 * x1 + m.class_weights[y];
            let linear = m.visible_bias[0] * x0 + m.visible_bias[1] * x1 + m.class_bias[y];
            *e = f64::from(linear).exp() * (1.0 + f64::from(a).exp());
        }
        let z: f64 = exact.iter().sum();
        let mut counts = [0usize; 8];
        for k in 0..chains.len() {
            let x = &chains.visible[2 * k..2 * k + 2];
            let state = x[0] as usize | (x[1] as usize) << 1 | usize::from(chains.labels[k]) << 2;
            counts[state] += 1;
        }
        for s in 0..8 {
            let frequency = counts[s] as f64 / chains.len() as f64;
            assert!(
                (frequency - exact[s] / z).abs() < 0.03,
                "state {s}: {frequency} vs {}",
                exact[s] / z
            );
        }
        // The hidden probabilities are p(h | x, y) of the final states.
        let k = 7;
        let x = &chains.visible[2 * k..2 * k + 2];
        let y = usize::from(chains.labels[k]);
        let a = m.hidden_bias[0] + 1.5 * x[0] - x[1] + m.class_weights[y];
        assert!((chains.hidden[k] - sigmoid_scalar(a)).abs() < 1e-6);
    }
}
