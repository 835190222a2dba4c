//! Turning grey levels in `[0, 1]` into binary states.

use ebm_kernels::rng::{fill_u32, stream};
use ebm_kernels::sampling::bernoulli_in_place;

/// How to binarize.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Binarization {
    /// `1` where the value is `> threshold`.
    Threshold(f32),
    /// `1` with probability equal to the value, drawn once from the seed (as in
    /// Salakhutdinov & Murray 2008).
    Stochastic {
        /// Seed of the draw.
        seed: u64,
    },
}

/// Binarize `values` in place.
pub fn binarize(values: &mut [f32], how: Binarization) {
    match how {
        Binarization::Threshold(t) => {
            for v in values.iter_mut() {
                *v = if *v > t { 1.0 } else { 0.0 };
            }
        }
        Binarization::Stochastic { seed } => {
            const CHUNK: usize = 1 << 16;
            let mut bits = vec![0u32; CHUNK];
            for (chunk_index, chunk) in values.chunks_mut(CHUNK).enumerate() {
                fill_u32(
                    &mut stream(seed, u64::MAX, chunk_index as u64),
                    &mut bits[..chunk.len()],
                );
                bernoulli_in_place(chunk, &bits);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_and_stochastic() {
        let mut v = vec![0.2, 0.6, 0.5];
        binarize(&mut v, Binarization::Threshold(0.5));
        assert_eq!(v, vec![0.0, 1.0, 0.0]);
        // 200k values at p = 0.3: standard error 0.001, tolerance 0.005.
        let mut s = vec![0.3f32; 200_000];
        binarize(&mut s, Binarization::Stochastic { seed: 5 });
        let mean = s.iter().sum::<f32>() / s.len() as f32;
        assert!((mean - 0.3).abs() < 0.005, "{mean}");
        let mut again = vec![0.3f32; 200_000];
        binarize(&mut again, Binarization::Stochastic { seed: 5 });
        assert_eq!(s, again);
    }
}
