//! Image layout and the loops of the convolutional layers: im2col / col2im for 3x3
//! convolutions with same padding, and 2x2 average pooling. Images are stored channels
//! last (`height x width x channels`, row-major), one after the other.

use crate::backend::Rows;
use serde::{Deserialize, Serialize};

/// The shape of one image, channels last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDims {
    /// Rows of pixels.
    pub height: usize,
    /// Columns of pixels.
    pub width: usize,
    /// Values per pixel.
    pub channels: usize,
}

impl ImageDims {
    /// Pixels of an image.
    pub fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// Values of an image.
    pub fn len(&self) -> usize {
        self.pixels() * self.channels
    }

    /// Whether an image holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape after 2x2 pooling (odd sizes rounded down).
    pub fn pooled(&self) -> Self {
        Self {
            height: self.height / 2,
            width: self.width / 2,
            channels: self.channels,
        }
    }

    /// The same image with `channels` values per pixel.
    pub fn with_channels(&self, channels: usize) -> Self {
        Self { channels, ..*self }
    }

    /// The pixel rows (of a dense product) of `images`.
    pub fn pixel_rows(&self, images: Rows) -> Rows {
        Rows {
            total: images.total * self.pixels(),
            primal: images.primal * self.pixels(),
        }
    }
}

/// The 3x3 neighbourhoods of every pixel of `images` images of `input`, one row of
/// `9 channels` values per pixel (`(3 dy + dx) channels + c`), zero outside the image.
pub fn im2col(dims: ImageDims, images: usize, input: &[f32], cols: &mut [f32]) {
    let (h, w, c) = (dims.height, dims.width, dims.channels);
    let row = 9 * c;
    for b in 0..images {
        let image = &input[b * dims.len()..(b + 1) * dims.len()];
        let out = &mut cols[b * dims.pixels() * row..(b + 1) * dims.pixels() * row];
        for y in 0..h {
            for x in 0..w {
                let cell = &mut out[(y * w + x) * row..(y * w + x + 1) * row];
                for (k, slot) in cell.chunks_exact_mut(c).enumerate() {
                    let (sy, sx) = ((y + k / 3).wrapping_sub(1), (x + k % 3).wrapping_sub(1));
                    if sy < h && sx < w {
                        slot.copy_from_slice(&image[(sy * w + sx) * c..(sy * w + sx + 1) * c]);
                    } else {
                        slot.fill(0.0);
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: every neighbourhood row of `cols` added back onto its
/// pixels; `grad_input` (`images` images) is overwritten.
pub fn col2im(dims: ImageDims, images: usize, cols: &[f32], grad_input: &mut [f32]) {
    let (h, w, c) = (dims.height, dims.width, dims.channels);
    let row = 9 * c;
    grad_input[..images * dims.len()].fill(0.0);
    for b in 0..images {
        let image = &mut grad_input[b * dims.len()..(b + 1) * dims.len()];
        let from = &cols[b * dims.pixels() * row..(b + 1) * dims.pixels() * row];
        for y in 0..h {
            for x in 0..w {
                let cell = &from[(y * w + x) * row..(y * w + x + 1) * row];
                for (k, slot) in cell.chunks_exact(c).enumerate() {
                    let (sy, sx) = ((y + k / 3).wrapping_sub(1), (x + k % 3).wrapping_sub(1));
                    if sy < h && sx < w {
                        let pixel = &mut image[(sy * w + sx) * c..(sy * w + sx + 1) * c];
                        for (g, &v) in pixel.iter_mut().zip(slot) {
                            *g += v;
                        }
                    }
                }
            }
        }
    }
}

/// 2x2 average pooling with stride 2 of `images` images (`dims`) into `dims.pooled()`.
pub fn average_pool(dims: ImageDims, images: usize, input: &[f32], out: &mut [f32]) {
    let (w, c, pooled) = (dims.width, dims.channels, dims.pooled());
    for b in 0..images {
        let image = &input[b * dims.len()..(b + 1) * dims.len()];
        let target = &mut out[b * pooled.len()..(b + 1) * pooled.len()];
        for oy in 0..pooled.height {
            for ox in 0..pooled.width {
                let o = &mut target[(oy * pooled.width + ox) * c..][..c];
                o.fill(0.0);
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let p = ((2 * oy + dy) * w + 2 * ox + dx) * c;
                    for (v, &i) in o.iter_mut().zip(&image[p..p + c]) {
                        *v += 0.25 * i;
                    }
                }
            }
        }
    }
}

/// The adjoint of [`average_pool`]: a quarter of each output gradient to each of its four
/// pixels (zero for a dropped odd row or column); `grad_input` is overwritten.
pub fn average_pool_backward(
    dims: ImageDims,
    images: usize,
    grad_out: &[f32],
    grad_input: &mut [f32],
) {
    let (w, c, pooled) = (dims.width, dims.channels, dims.pooled());
    grad_input[..images * dims.len()].fill(0.0);
    for b in 0..images {
        let image = &mut grad_input[b * dims.len()..(b + 1) * dims.len()];
        let from = &grad_out[b * pooled.len()..(b + 1) * pooled.len()];
        for oy in 0..pooled.height {
            for ox in 0..pooled.width {
                let g = &from[(oy * pooled.width + ox) * c..][..c];
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let p = ((2 * oy + dy) * w + 2 * ox + dx) * c;
                    for (v, &gi) in image[p..p + c].iter_mut().zip(g) {
                        *v = 0.25 * gi;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `<forward(x), y> = <x, backward(y)>` for inputs of `n_in` and outputs of `n_out`
    /// values (tolerance 1e-4 relative: sums of ~100 `f32` products); returns `forward(x)`.
    fn assert_adjoint(
        n_in: usize,
        n_out: usize,
        forward: impl Fn(&[f32], &mut [f32]),
        backward: impl Fn(&[f32], &mut [f32]),
    ) -> (Vec<f32>, Vec<f32>) {
        let value = |i: usize, s: usize| ((i * s + 7) % 11) as f32 / 5.0 - 1.0;
        let x: Vec<f32> = (0..n_in).map(|i| value(i, 3)).collect();
        let y: Vec<f32> = (0..n_out).map(|i| value(i, 5)).collect();
        let (mut out, mut back) = (vec![0.0; n_out], vec![1.0; n_in]);
        forward(&x, &mut out);
        backward(&y, &mut back);
        let dot =
            |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(&p, &q)| (p * q) as f64).sum::<f64>();
        let (lhs, rhs) = (dot(&out, &y), dot(&x, &back));
        assert!(
            (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
        (x, out)
    }

    /// Each backward loop is the exact adjoint of its forward one, on an odd-sized image
    /// (so the borders and the dropped pooling row/column are exercised).
    #[test]
    fn backward_loops_are_the_adjoints_of_the_forward_ones() {
        let dims = ImageDims {
            height: 5,
            width: 3,
            channels: 2,
        };
        let (images, n_in) = (2, 2 * dims.len());
        let n_cols = images * dims.pixels() * 9 * dims.channels;
        let (x, cols) = assert_adjoint(
            n_in,
            n_cols,
            |x, out| im2col(dims, images, x, out),
            |y, back| col2im(dims, images, y, back),
        );
        // The centre of each neighbourhood is the pixel itself.
        assert_eq!(cols[4 * dims.channels], x[0]);
        let (x, out) = assert_adjoint(
            n_in,
            images * dims.pooled().len(),
            |x, out| average_pool(dims, images, x, out),
            |y, back| average_pool_backward(dims, images, y, back),
        );
        assert_eq!(out[0], 0.25 * (x[0] + x[2] + x[6] + x[8]));
    }
}
