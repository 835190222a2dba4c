//! Sampling from pre-drawn random buffers, no RNG calls inside: Bernoulli draws (one pass
//! of compare) and standard normals (Box-Muller).

/// `u32` to a uniform `f32` in `[0, 1)` using the top 24 bits (exact in `f32`).
#[inline(always)]
pub fn unit_f32(bits: u32) -> f32 {
    (bits >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// `out[i] = 1.0` if `uniform(bits[i]) < probs[i]` else `0.0`: a Bernoulli draw per unit.
pub fn bernoulli(probs: &[f32], bits: &[u32], out: &mut [f32]) {
    assert!(
        probs.len() == out.len() && bits.len() >= out.len(),
        "bernoulli: shape"
    );
    let bits = &bits[..out.len()];
    for ((o, &p), &b) in out.iter_mut().zip(probs).zip(bits) {
        *o = if unit_f32(b) < p { 1.0 } else { 0.0 };
    }
}

/// In place: `x[i] = 1.0` if `uniform(bits[i]) < x[i]` else `0.0`.
pub fn bernoulli_in_place(x: &mut [f32], bits: &[u32]) {
    assert!(bits.len() >= x.len(), "bernoulli_in_place: shape");
    let bits = &bits[..x.len()];
    for (v, &b) in x.iter_mut().zip(bits) {
        *v = if unit_f32(b) < *v { 1.0 } else { 0.0 };
    }
}

/// `ln x` for a positive normal `x`, branch-free: the exponent, and `2 atanh(s)` with
/// `s = (m - 1) / (m + 1)` for the mantissa `m` in `[sqrt(1/2), sqrt(2))` (error < 1e-7
/// relative).
#[inline(always)]
fn ln_approx(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
    if m > std::f32::consts::SQRT_2 {
        m *= 0.5;
        exponent += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0))));
    exponent as f32 * std::f32::consts::LN_2 + 2.0 * s * series
}

/// `(cos a, sin a)` for `a` in `[-pi/2, pi/2]` by Taylor polynomials (error < 1e-7).
#[inline(always)]
fn cos_sin_half_turn(a: f32) -> (f32, f32) {
    let a2 = a * a;
    let sin = a
        * (1.0
            + a2 * (-1.0 / 6.0
                + a2 * (1.0 / 120.0
                    + a2 * (-1.0 / 5040.0 + a2 * (1.0 / 362_880.0 + a2 * (-1.0 / 39_916_800.0))))));
    let cos = 1.0
        + a2 * (-0.5
            + a2 * (1.0 / 24.0
                + a2 * (-1.0 / 720.0
                    + a2 * (1.0 / 40_320.0
                        + a2 * (-1.0 / 3_628_800.0 + a2 * (1.0 / 479_001_600.0))))));
    (cos, sin)
}

crate::multiversion! {
    /// Standard normals from pre-drawn bits by the Box-Muller transform, vectorizable:
    /// with `h = out.len() / 2` (`out.len()` even, `bits` at least as long), the pair
    /// `(out[i], out[h + i])` is `r (cos t, sin t)` with `r = sqrt(-2 ln u)`,
    /// `u = uniform(bits[i])` in `(0, 1]` and `t = 2 pi uniform(bits[h + i]) - pi`. The
    /// 24-bit uniforms cut the tails at `|z| = 5.77` (probability 8e-9).
    pub fn normals_from_bits(bits: &[u32], out: &mut [f32]) {
        assert!(out.len() % 2 == 0 && bits.len() >= out.len(), "normals_from_bits: shape");
        let h = out.len() / 2;
        let (radii, angles) = bits[..out.len()].split_at(h);
        let (cosines, sines) = out.split_at_mut(h);
        for (((c, s), &b_r), &b_t) in cosines.iter_mut().zip(sines.iter_mut()).zip(radii).zip(angles) {
            let u = ((b_r >> 8) + 1) as f32 * (1.0 / (1u32 << 24) as f32);
            let r = (-2.0 * ln_approx(u)).sqrt();
            // Half the angle, in [-pi/2, pi/2); the double-angle formulas give t.
            let half = std::f32::consts::PI * (unit_f32(b_t) - 0.5);
            let (ch, sh) = cos_sin_half_turn(half);
            *c = r * (ch * ch - sh * sh);
            *s = r * (2.0 * sh * ch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{fill_u32, stream};

    #[test]
    fn bernoulli_frequencies_match_probabilities() {
        // 100k draws per probability: standard error <= 0.0016, tolerance 0.008 (5 se).
        let n = 100_000;
        let mut bits = vec![0u32; n];
        fill_u32(&mut stream(11, 0, 0), &mut bits);
        for p in [0.0f32, 0.05, 0.3, 0.5, 0.9, 1.0] {
            let probs = vec![p; n];
            let mut out = vec![0.0f32; n];
            bernoulli(&probs, &bits, &mut out);
            let freq = out.iter().sum::<f32>() / n as f32;
            assert!((freq - p).abs() < 0.008, "p={p} freq={freq}");
            let mut inplace = probs.clone();
            bernoulli_in_place(&mut inplace, &bits);
            assert_eq!(inplace, out);
        }
    }

    #[test]
    fn ln_and_cos_sin_match_f64() {
        for i in 1..=20_000u32 {
            let x = i as f32 / 20_000.0;
            let want = (x as f64).ln();
            let got = ln_approx(x) as f64;
            assert!(
                (got - want).abs() <= 2e-7 * want.abs().max(1.0),
                "ln {x}: {got} vs {want}"
            );
            let a = std::f32::consts::PI * (x - 0.5);
            let (c, s) = cos_sin_half_turn(a);
            assert!((c as f64 - (a as f64).cos()).abs() < 2e-7, "cos {a}");
            assert!((s as f64 - (a as f64).sin()).abs() < 2e-7, "sin {a}");
        }
        let tiny = 1.0 / (1u32 << 24) as f32;
        assert!((ln_approx(tiny) as f64 - (tiny as f64).ln()).abs() < 1e-5);
    }

    #[test]
    fn normals_match_box_muller_and_have_normal_moments() {
        // 200k draws: standard errors 0.0022 (mean), 0.0032 (variance), 0.011 (fourth
        // moment 3); tolerances about 5 of them.
        let n = 200_000;
        let mut bits = vec![0u32; n];
        fill_u32(&mut stream(12, 0, 0), &mut bits);
        let mut z = vec![0.0f32; n];
        normals_from_bits(&bits, &mut z);
        let h = n / 2;
        for i in (0..h).step_by(997) {
            let u = ((bits[i] >> 8) + 1) as f64 / (1u64 << 24) as f64;
            let t = std::f64::consts::TAU * unit_f32(bits[h + i]) as f64 - std::f64::consts::PI;
            let r = (-2.0 * u.ln()).sqrt();
            assert!((z[i] as f64 - r * t.cos()).abs() < 1e-5, "cos half {i}");
            assert!((z[h + i] as f64 - r * t.sin()).abs() < 1e-5, "sin half {i}");
        }
        let moment = |k: i32| z.iter().map(|&v| (v as f64).powi(k)).sum::<f64>() / n as f64;
        assert!(moment(1).abs() < 0.011, "mean {}", moment(1));
        assert!((moment(2) - 1.0).abs() < 0.016, "variance {}", moment(2));
        assert!(
            (moment(4) - 3.0).abs() < 0.06,
            "fourth moment {}",
            moment(4)
        );
        let tail = z.iter().filter(|v| v.abs() > 2.0).count() as f64 / n as f64;
        assert!((tail - 0.0455).abs() < 0.003, "P(|z| > 2) = {tail}");
    }

    #[test]
    fn unit_f32_is_in_range() {
        assert_eq!(unit_f32(0), 0.0);
        assert!(unit_f32(u32::MAX) < 1.0);
    }
}
