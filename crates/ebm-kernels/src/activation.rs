//! Branch-free, vectorizable activations.
//!
//! `f32::exp` is a libm call that blocks auto-vectorization; [`exp_approx`] is a
//! Cody-Waite range reduction plus a degree-6 polynomial built only from operations
//! LLVM vectorizes (mul, add, round, integer shift). Its relative error is below
//! 2e-7 on the clamped range (tested against `f64::exp`).

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a high part exactly representable with few bits, and the rest.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Inputs are clamped to this range; `exp` of the ends is a normal `f32`.
const EXP_MIN_INPUT: f32 = -87.0;
const EXP_MAX_INPUT: f32 = 88.0;

/// `1.5 * 2^23`: adding it to a float of magnitude below `2^22` rounds to an integer
/// (round-to-nearest), which lands in the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `e^x` for one `f32`, accurate to about 2e-7 relative; inputs clamped to [-87, 88].
#[inline(always)]
pub fn exp_approx(x: f32) -> f32 {
    let x = x.clamp(EXP_MIN_INPUT, EXP_MAX_INPUT);
    // n = round(x / ln 2) without a libm call: integer in the mantissa of `shifted`.
    let shifted = x * LOG2_E + ROUND_MAGIC;
    let n = shifted - ROUND_MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Taylor coefficients of e^r on |r| <= ln2/2, Horner form.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let n_int = shifted.to_bits().wrapping_sub(ROUND_MAGIC.to_bits());
    let scale = f32::from_bits(n_int.wrapping_add(127) << 23);
    p * scale
}

/// `ln(1 + e)` for `e` in `[0, 1]`, via `2 atanh(e / (2 + e))` (no cancellation near 0).
#[inline(always)]
fn ln_1p_unit(e: f32) -> f32 {
    let z = e / (2.0 + e); // z in [0, 1/3]
    let z2 = z * z;
    // atanh(z) = z (1 + z^2/3 + z^4/5 + ... + z^12/13): truncation error < 1e-8 at z = 1/3.
    let s = 1.0
        + z2 * (1.0 / 3.0
            + z2 * (1.0 / 5.0
                + z2 * (1.0 / 7.0 + z2 * (1.0 / 9.0 + z2 * (1.0 / 11.0 + z2 * (1.0 / 13.0))))));
    2.0 * z * s
}

/// Logistic sigmoid `1 / (1 + e^-x)` for one value.
#[inline(always)]
pub fn sigmoid_scalar(x: f32) -> f32 {
    1.0 / (1.0 + exp_approx(-x))
}

/// `softplus(x) = ln(1 + e^x)` for one value, stable for all `x`.
#[inline(always)]
pub fn softplus_scalar(x: f32) -> f32 {
    x.max(0.0) + ln_1p_unit(exp_approx(-x.abs()))
}

crate::multiversion! {
    /// In place: `x[i] = sigmoid(x[i])`.
    pub fn sigmoid_in_place(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = sigmoid_scalar(*v);
        }
    }
}

crate::multiversion! {
    /// In place: `x[i] = sigmoid(scale * x[i] + bias[i % bias.len()])` for a row-major
    /// matrix whose rows have `bias.len()` columns.
    pub fn scale_bias_sigmoid_rows(x: &mut [f32], scale: f32, bias: &[f32]) {
        assert!(!bias.is_empty() && x.len() % bias.len() == 0, "scale_bias_sigmoid_rows: shape");
        for row in x.chunks_exact_mut(bias.len()) {
            for (v, &b) in row.iter_mut().zip(bias) {
                *v = sigmoid_scalar(scale * *v + b);
            }
        }
    }
}

crate::multiversion! {
    /// In place: `x[i] = sigmoid(scale * x[i])`.
    pub fn scaled_sigmoid_in_place(x: &mut [f32], scale: f32) {
        for v in x.iter_mut() {
            *v = sigmoid_scalar(scale * *v);
        }
    }
}

crate::multiversion! {
    /// In place: `x[i] = softplus(x[i])`.
    pub fn softplus_in_place(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = softplus_scalar(*v);
        }
    }
}

crate::multiversion! {
    /// `sum_i softplus(x[i])`, accumulated in `f64`.
    pub fn softplus_sum(x: &[f32]) -> f64 {
        softplus_sum_body(x)
    }
}

crate::multiversion! {
    /// `sum_i [softplus(beta * x_i) - softplus(beta_prev * x_i)]` for `beta, beta_prev >= 0`,
    /// returned as `(linear, bounded)` with the sum equal to
    /// `(beta - beta_prev) * linear + bounded`: `linear = sum_i max(x_i, 0)` carries the large
    /// part exactly in `f64`, `bounded = sum_i g(beta |x_i|) - g(beta_prev |x_i|)` with
    /// `g(t) = ln(1 + e^-t)` is small. Used by AIS, where the difference of two large
    /// softplus sums would lose precision in `f32`.
    pub fn softplus_difference_parts(x: &[f32], beta: f32, beta_prev: f32) -> (f64, f64) {
        let mut linear = [0.0f32; 8];
        let mut bounded = [0.0f32; 8];
        let (mut linear_total, mut bounded_total) = (0.0f64, 0.0f64);
        for block in x.chunks(64) {
            let mut chunks = block.chunks_exact(8);
            for c in &mut chunks {
                for ((l, b), &v) in linear.iter_mut().zip(bounded.iter_mut()).zip(c) {
                    let a = v.abs();
                    *l += v.max(0.0);
                    *b += softplus_scalar(-beta * a) - softplus_scalar(-beta_prev * a);
                }
            }
            for &v in chunks.remainder() {
                let a = v.abs();
                linear_total += v.max(0.0) as f64;
                bounded_total += (softplus_scalar(-beta * a) - softplus_scalar(-beta_prev * a)) as f64;
            }
            linear_total += linear.iter().map(|&l| l as f64).sum::<f64>();
            bounded_total += bounded.iter().map(|&b| b as f64).sum::<f64>();
            linear = [0.0; 8];
            bounded = [0.0; 8];
        }
        (linear_total, bounded_total)
    }
}

#[inline(always)]
fn softplus_sum_body(x: &[f32]) -> f64 {
    // Accumulate blocks in f32 lanes (vectorizable), then fold each block into f64.
    const BLOCK: usize = 64;
    let mut total = 0.0f64;
    for block in x.chunks(BLOCK) {
        let mut lanes = [0.0f32; 8];
        let mut chunks = block.chunks_exact(8);
        for c in &mut chunks {
            for (l, &v) in lanes.iter_mut().zip(c) {
                *l += softplus_scalar(v);
            }
        }
        let mut s: f64 = lanes.iter().map(|&l| l as f64).sum();
        for &v in chunks.remainder() {
            s += softplus_scalar(v) as f64;
        }
        total += s;
    }
    total
}

/// `ln sum_i e^{x_i}`, stable; `-inf` for an empty slice.
pub fn log_sum_exp(x: &[f64]) -> f64 {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + x.iter().map(|&v| (v - max).exp()).sum::<f64>().ln()
}

/// `1 / (1 + e^-x)` in f64, without overflow for large `|x|`.
pub fn sigmoid_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^x)` in `f64` (for metrics that need full precision).
pub fn softplus_f64(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_f64_is_exact_at_zero_symmetric_and_finite_far_out() {
        assert_eq!(sigmoid_f64(0.0), 0.5);
        for x in [-800.0, -30.0, -1.5, 0.25, 2.0, 40.0, 800.0] {
            let (s, mirror) = (sigmoid_f64(x), sigmoid_f64(-x));
            assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{x}");
            assert!((s + mirror - 1.0).abs() < 1e-15, "{x}");
        }
        assert!((sigmoid_f64(1.0) - 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-16);
    }

    fn grid() -> impl Iterator<Item = f32> {
        (-20000..=20000).map(|i| i as f32 * 0.004)
    }

    #[test]
    fn exp_matches_f64_exp() {
        for x in grid().chain((-87..=88).map(|i| i as f32)) {
            let want = (x as f64).exp();
            let got = exp_approx(x) as f64;
            assert!(
                ((got - want) / want).abs() < 3e-7,
                "exp({x}): {got} vs {want}"
            );
        }
    }

    #[test]
    fn sigmoid_matches_reference() {
        for x in grid() {
            let want = 1.0 / (1.0 + (-(x as f64)).exp());
            assert!(
                (sigmoid_scalar(x) as f64 - want).abs() < 3e-7,
                "sigmoid({x})"
            );
        }
        let tiny = sigmoid_scalar(-1000.0);
        assert!((0.0..1e-37).contains(&tiny), "sigmoid(-1000) = {tiny}");
        assert!(sigmoid_scalar(1000.0) == 1.0);
    }

    #[test]
    fn softplus_matches_reference() {
        for x in grid() {
            let want = softplus_f64(x as f64);
            let got = softplus_scalar(x) as f64;
            assert!(
                (got - want).abs() <= 1e-6 * want.max(1e-3),
                "softplus({x}): {got} vs {want}"
            );
        }
        assert_eq!(softplus_scalar(1e30), 1e30);
    }

    #[test]
    fn softplus_sum_matches_scalar_sum() {
        let x: Vec<f32> = grid().step_by(97).collect();
        let want: f64 = x.iter().map(|&v| softplus_f64(v as f64)).sum();
        assert!((softplus_sum(&x) - want).abs() < 1e-4 * want);
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
    }
}
