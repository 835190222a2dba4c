//! Sampling from pre-drawn random buffers: one pass of compare, no RNG calls inside.

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
    fn unit_f32_is_in_range() {
        assert_eq!(unit_f32(0), 0.0);
        assert!(unit_f32(u32::MAX) < 1.0);
    }
}
