//! Short-vector kernels for models that work one case at a time (e.g. one user's RBM).
//!
//! Reductions accumulate in 8 fixed lanes and then fold the lanes in a fixed order, so
//! they vectorize and give the same bits on every run and thread.

use crate::activation::{exp_approx, softplus_scalar};

crate::multiversion! {
    /// `dst[i] += src[i]`.
    pub fn add_assign(dst: &mut [f32], src: &[f32]) {
        assert_eq!(dst.len(), src.len(), "add_assign: lengths differ");
        for (d, &s) in dst.iter_mut().zip(src) {
            *d += s;
        }
    }
}

crate::multiversion! {
    /// `dst[i] += alpha * src[i]`.
    pub fn axpy(dst: &mut [f32], alpha: f32, src: &[f32]) {
        assert_eq!(dst.len(), src.len(), "axpy: lengths differ");
        for (d, &s) in dst.iter_mut().zip(src) {
            *d += alpha * s;
        }
    }
}

crate::multiversion! {
    /// `dst[i] += a[i] - b[i]`.
    pub fn add_difference(dst: &mut [f32], a: &[f32], b: &[f32]) {
        assert!(dst.len() == a.len() && dst.len() == b.len(), "add_difference: lengths differ");
        for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
            *d += x - y;
        }
    }
}

/// Sum of `f(a[i], b[i])` in 8 lanes over chunks of 8 (so LLVM vectorizes the lanes),
/// folded in a fixed order, plus the tail.
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 8];
    let a_chunks = a.chunks_exact(8);
    let b_chunks = b.chunks_exact(8);
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for ((l, &x), &y) in lanes.iter_mut().zip(ca).zip(cb) {
            *l += f(x, y);
        }
    }
    let mut tail = 0.0f32;
    for (&x, &y) in a_tail.iter().zip(b_tail) {
        tail += f(x, y);
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
        + tail
}

crate::multiversion! {
    /// `sum_i a[i] * b[i]`.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len(), "dot: lengths differ");
        lane_sum(a, b, |x, y| x * y)
    }
}

crate::multiversion! {
    /// `sum_i softplus(x[i] + shift[i])`: the hidden-unit part of a free energy with one
    /// visible unit switched on (the log-probability of a softmax level up to a constant).
    pub fn softplus_shifted_sum(x: &[f32], shift: &[f32]) -> f32 {
        assert_eq!(x.len(), shift.len(), "softplus_shifted_sum: lengths differ");
        lane_sum(x, shift, |a, b| softplus_scalar(a + b))
    }
}

/// In place: `x = softmax(x)`, stable (the maximum is subtracted first). `x` must not be
/// empty.
pub fn softmax_in_place(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0f32;
    for v in x.iter_mut() {
        *v = exp_approx(*v - max);
        total += *v;
    }
    let inverse = 1.0 / total;
    for v in x.iter_mut() {
        *v *= inverse;
    }
}

/// The index `k` with `cumulative(k - 1) <= u < cumulative(k)` for probabilities `probs`
/// summing to one, and `u` uniform in `[0, 1)`: one categorical draw. Rounding that
/// leaves `u` past the total picks the last index. For `f32` and `f64` probabilities.
pub fn categorical<T>(probs: &[T], u: T) -> usize
where
    T: Copy + Default + PartialOrd + std::ops::AddAssign,
{
    let mut cumulative = T::default();
    for (k, &p) in probs.iter().enumerate() {
        cumulative += p;
        if u < cumulative {
            return k;
        }
    }
    probs.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{fill_u32, stream};
    use crate::sampling::unit_f32;

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut bits = vec![0u32; len];
        fill_u32(&mut stream(seed, 0, 0), &mut bits);
        bits.iter().map(|&b| 4.0 * unit_f32(b) - 2.0).collect()
    }

    #[test]
    fn reductions_match_f64_references() {
        for len in [0usize, 1, 7, 8, 9, 100, 1003] {
            let a = random(len, 1);
            let b = random(len, 2);
            let want: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
            assert!((dot(&a, &b) as f64 - want).abs() < 1e-4 * (1.0 + want.abs()));
            let want: f64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| (1.0 + ((x + y) as f64).exp()).ln())
                .sum();
            let got = softplus_shifted_sum(&a, &b) as f64;
            assert!(
                (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                "{got} {want}"
            );
        }
    }

    #[test]
    fn elementwise_updates_follow_their_formulas() {
        let a = random(19, 3);
        let b = random(19, 4);
        let mut d = vec![1.0f32; 19];
        add_assign(&mut d, &a);
        axpy(&mut d, -2.0, &b);
        add_difference(&mut d, &a, &b);
        for i in 0..19 {
            let want = 1.0 + a[i] - 2.0 * b[i] + a[i] - b[i];
            assert!((d[i] - want).abs() < 1e-5);
        }
    }

    #[test]
    fn softmax_and_categorical() {
        let mut x = vec![1.0f32, 2.0, 3.0, 1000.0, -1000.0];
        softmax_in_place(&mut x);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(x[3] > 0.999_999 && x[4] < 1e-30);
        let mut y = vec![0.0f32, (0.5f32).ln(), (0.25f32).ln()];
        softmax_in_place(&mut y);
        let want = [4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-6);
        }
        let probs = [0.2f32, 0.5, 0.3];
        assert_eq!(categorical(&probs, 0.0), 0);
        assert_eq!(categorical(&probs, 0.19), 0);
        assert_eq!(categorical(&probs, 0.2), 1);
        assert_eq!(categorical(&probs, 0.69), 1);
        assert_eq!(categorical(&probs, 0.71), 2);
        assert_eq!(categorical(&probs, 1.0), 2);
    }
}
