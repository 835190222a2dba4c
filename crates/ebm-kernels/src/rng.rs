//! Random-number streams and bulk random bits.
//!
//! Every random choice derives from one user seed. Work split into chunks draws from
//! [`stream`]`(seed, epoch, chunk)`, so the numbers a chunk sees do not depend on which
//! thread runs it or how many threads there are.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// The generator used everywhere (PCG 128-bit MCG: fast, small state, good quality).
pub type StreamRng = Pcg64Mcg;

/// SplitMix64 finalizer: a bijective mixer of 64-bit words.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The stream for `(seed, epoch, chunk)`: independent-looking streams for distinct keys.
pub fn stream(seed: u64, epoch: u64, chunk: u64) -> StreamRng {
    let key =
        mix64(mix64(mix64(seed ^ 0x9e37_79b9_7f4a_7c15).wrapping_add(epoch)).wrapping_add(chunk));
    StreamRng::seed_from_u64(key)
}

/// Named stream ids: the `epoch` argument of [`stream`] for draws made once per run, and
/// the `chunk` argument for draws made once per epoch. Counted down from `u64::MAX` so
/// they never meet an epoch number or a chunk index.
pub mod streams {
    /// Parameter initialization of a model (epoch slot); also the epoch's shuffle (chunk
    /// slot), since no epoch number reaches it.
    pub const INITIALIZATION: u64 = u64::MAX;
    /// The shuffle of the training order in each epoch (chunk slot of `(seed, epoch, _)`).
    pub const SHUFFLE: u64 = u64::MAX;
    /// Starting states of persistent chains drawn from the data (chunk slot of
    /// `(seed, INITIALIZATION, _)`).
    pub const DATA_CHAINS: u64 = 1;
    /// Binary RBM weight initialization (epoch slot).
    pub const BINARY_RBM_WEIGHTS: u64 = u64::MAX - 2;
    /// Persistent chains' starting states: the binary RBM's from the base rates, the class
    /// RBM's from noise (epoch slot).
    pub const PERSISTENT_CHAINS: u64 = u64::MAX - 3;
    /// Annealed importance sampling runs (epoch slot).
    pub const AIS: u64 = u64::MAX - 5;
}

/// Fill `out` with uniform `u32`s, two per 64-bit draw.
pub fn fill_u32<R: Rng + ?Sized>(rng: &mut R, out: &mut [u32]) {
    let mut pairs = out.chunks_exact_mut(2);
    for pair in &mut pairs {
        let word = rng.next_u64();
        pair[0] = word as u32;
        pair[1] = (word >> 32) as u32;
    }
    if let [last] = pairs.into_remainder() {
        *last = rng.next_u64() as u32;
    }
}

/// Fill `out` with standard normal `f32`s: uniform bits in blocks of 256 on the stack
/// ([`fill_u32`]), each block through the vectorized Box-Muller transform
/// ([`normals_from_bits`](crate::sampling::normals_from_bits)). Many times faster than
/// [`normal_f64`] per value, and a different sequence.
///
/// ```
/// let mut z = [0.0f32; 5];
/// ebm_kernels::rng::fill_normal_f32(&mut ebm_kernels::rng::stream(1, 0, 0), &mut z);
/// assert!(z.iter().all(|v| v.is_finite() && v.abs() < 6.0));
/// ```
pub fn fill_normal_f32<R: Rng + ?Sized>(rng: &mut R, out: &mut [f32]) {
    const BLOCK: usize = 256;
    let mut bits = [0u32; BLOCK];
    let mut blocks = out.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        fill_u32(rng, &mut bits);
        crate::sampling::normals_from_bits(&bits, block);
    }
    let rest = blocks.into_remainder();
    if !rest.is_empty() {
        let even = rest.len().next_multiple_of(2);
        let mut last = [0.0f32; BLOCK];
        fill_u32(rng, &mut bits[..even]);
        crate::sampling::normals_from_bits(&bits[..even], &mut last[..even]);
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// A uniform `f64` in `[0, 1)` with 53 random bits.
pub fn uniform_f64<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal `f64` (Box-Muller).
pub fn normal_f64<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - uniform_f64(rng); // (0, 1]
    let u2 = uniform_f64(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A uniform index in `0..n` (`n > 0`), by Lemire's multiply-shift (bias < n / 2^64).
pub fn index<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    assert!(n > 0);
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

/// Shuffle in place (Fisher-Yates).
pub fn shuffle<T, R: Rng + ?Sized>(rng: &mut R, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, index(rng, i + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |s, e, c| stream(s, e, c).next_u64();
        assert_eq!(draw(1, 2, 3), draw(1, 2, 3));
        assert_ne!(draw(1, 2, 3), draw(1, 2, 4));
        assert_ne!(draw(1, 2, 3), draw(1, 3, 3));
        assert_ne!(draw(1, 2, 3), draw(2, 2, 3));
    }

    #[test]
    fn fill_u32_uses_both_halves_and_odd_lengths() {
        let mut a = [0u32; 5];
        fill_u32(&mut stream(7, 0, 0), &mut a);
        let mut r = stream(7, 0, 0);
        let w0 = r.next_u64();
        assert_eq!(a[0], w0 as u32);
        assert_eq!(a[1], (w0 >> 32) as u32);
        assert!(a.iter().all(|&x| x != 0));
    }

    #[test]
    fn normal_has_unit_moments() {
        // 200k draws: the standard error of the mean is 0.0022 and of the variance 0.0032,
        // so 0.015 is about 5 standard errors.
        let mut r = stream(3, 0, 0);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| normal_f64(&mut r)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.015 && (var - 1.0).abs() < 0.015,
            "{mean} {var}"
        );
    }

    #[test]
    fn fill_normal_f32_is_blockwise_box_muller_and_reproducible() {
        // 256 + 7 values: one full block, then an odd remainder from a fresh draw of bits.
        let mut z = vec![0.0f32; 263];
        fill_normal_f32(&mut stream(4, 0, 0), &mut z);
        let mut r = stream(4, 0, 0);
        let mut bits = [0u32; 256];
        fill_u32(&mut r, &mut bits);
        let mut want = [0.0f32; 256];
        crate::sampling::normals_from_bits(&bits, &mut want);
        assert_eq!(&z[..256], &want[..]);
        fill_u32(&mut r, &mut bits[..8]);
        crate::sampling::normals_from_bits(&bits[..8], &mut want[..8]);
        assert_eq!(&z[256..], &want[..7]);
        let mut again = vec![0.0f32; 263];
        fill_normal_f32(&mut stream(4, 0, 0), &mut again);
        assert_eq!(z, again);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<usize> = (0..100).collect();
        shuffle(&mut stream(1, 1, 1), &mut v);
        assert_ne!(v, (0..100).collect::<Vec<_>>());
        v.sort();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
    }
}
