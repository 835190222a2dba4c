//! The input-complexity correction of Serra et al. 2020 ("Input complexity and
//! out-of-distribution detection with likelihood-based generative models"): a lossless
//! compressor is a universal model `p_0(x) = 2^{-L(x)}`, so `S(x) = -log2 p(x) - L(x)`
//! (the model's code length minus the compressor's) is a likelihood ratio against it. It
//! cancels what every image's likelihood owes to how simple it is (a plain image is
//! likely under any model). Here `L(x)` is the DEFLATE length (zlib, best compression)
//! of the image's values quantized to 8 bits, the way the image files store them.

use flate2::{Compression, write::ZlibEncoder};
use std::io::Write;

/// `L(x)` in bits: the zlib-compressed length of `x`'s values in `[0, 1]`, each
/// quantized to one byte (`round(255 x)`).
pub fn compressed_bits(x: &[f32]) -> f64 {
    let bytes: Vec<u8> = x
        .iter()
        .map(|&v| (f64::from(v).clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(bytes.len()), Compression::best());
    // Writing to a Vec does not fail.
    let compressed = encoder
        .write_all(&bytes)
        .and_then(|()| encoder.finish())
        .map_or(bytes.len() + 11, |c| c.len());
    8.0 * compressed as f64
}

/// `S(x) = F(x) / ln 2 - L(x)` for each row: the free energy `F` (nats; `-ln p(x)` up to
/// `ln Z`, which does not change a ranking) in bits, minus the compressed length.
pub fn complexity_ratio(free_energy: &[f64], data: &ebm_data::Dataset) -> Vec<f64> {
    (0..data.n_examples)
        .map(|i| free_energy[i] / std::f64::consts::LN_2 - compressed_bits(data.row(i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_image_compresses_to_fewer_bits_than_a_busy_one() {
        let plain = vec![0.0f32; 784];
        // A deterministic busy pattern: 256 grey levels in a scrambled order.
        let busy: Vec<f32> = (0..784)
            .map(|i| ((i * 97 + 13) % 256) as f32 / 255.0)
            .collect();
        let (a, b) = (compressed_bits(&plain), compressed_bits(&busy));
        assert!(a < 200.0 && b > 8.0 * 256.0, "{a} {b}");
        // Every bit counted: a multiple of 8.
        assert_eq!(a % 8.0, 0.0);
    }

    #[test]
    fn the_ratio_is_the_free_energy_in_bits_minus_the_compressed_length() {
        let data = ebm_data::Dataset {
            features: vec![0.0, 0.5, 1.0, 0.25],
            n_examples: 2,
            n_features: 2,
            image_shape: None,
            labels: None,
        };
        let s = complexity_ratio(&[2.0, -1.0], &data);
        for (i, &f) in [2.0f64, -1.0].iter().enumerate() {
            let expected = f / 2f64.ln() - compressed_bits(data.row(i));
            assert!((s[i] - expected).abs() < 1e-12);
        }
    }
}
