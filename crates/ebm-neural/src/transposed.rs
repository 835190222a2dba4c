//! A transposed copy of an MLP's large weight matrices, kept while the parameters stay
//! fixed (a chain run of Langevin steps): the input gradient `g W^T` then multiplies two
//! row-major operands, which the backend runs at the rate of the forward product `x W`
//! instead of the slower rate of a transposed right-hand side. The copy is a cache, never
//! saved: the [`Mlp`](crate::Mlp) drops it whenever it hands out its parameters mutably,
//! so it can never be stale.

/// Layers with at least this many weights get a transposed copy (smaller products gain
/// less than the copy costs).
pub const MIN_TRANSPOSED_WEIGHTS: usize = 1 << 16;

/// Tile side of the blocked transpose: a tile of the source and of the copy stay in L1
/// (at 32, the 32 rows of a tile 2 KB apart fall into too few L1 sets: 3x slower).
const TILE: usize = 16;

/// The transposed weights of each layer (empty for a layer below
/// [`MIN_TRANSPOSED_WEIGHTS`]), valid or not. The buffers are kept when the copy is
/// dropped, so preparing it again allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct TransposedWeights {
    valid: bool,
    layers: Vec<Vec<f32>>,
}

/// Every cache equals every other: two networks with the same parameters are the same
/// network whether or not either holds the copy.
impl PartialEq for TransposedWeights {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl TransposedWeights {
    /// Fill the copy from `parameters` laid out as an MLP of `widths` (each layer's
    /// weights `d_in x d_out`, row-major, then its bias) and mark it valid.
    pub fn prepare(&mut self, widths: &[usize], parameters: &[f32]) {
        let layers = widths.len().saturating_sub(1);
        self.layers.resize_with(layers, Vec::new);
        let mut start = 0;
        for (l, pair) in widths.windows(2).enumerate() {
            let (d_in, d_out) = (pair[0], pair[1]);
            let weights = &parameters[start..start + d_in * d_out];
            start += d_in * d_out + d_out;
            let copy = &mut self.layers[l];
            if d_in * d_out < MIN_TRANSPOSED_WEIGHTS {
                copy.clear();
                continue;
            }
            copy.resize(d_in * d_out, 0.0);
            transpose(weights, d_in, d_out, copy);
        }
        self.valid = true;
    }

    /// Drop the copy (its buffers are kept for the next [`prepare`](Self::prepare)).
    pub fn invalidate(&mut self) {
        self.valid = false;
    }

    /// Layer `l`'s transposed weights (`d_out x d_in`, row-major), when the copy is valid
    /// and the layer has one.
    pub fn layer(&self, l: usize) -> Option<&[f32]> {
        if !self.valid {
            return None;
        }
        self.layers
            .get(l)
            .filter(|copy| !copy.is_empty())
            .map(|copy| &copy[..])
    }
}

/// `out = a^T` for a row-major `rows x cols` matrix `a` (`out` is `cols x rows`), tile by
/// tile.
fn transpose(a: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for r in r0..r1 {
                for c in c0..c1 {
                    out[c * rows + r] = a[r * cols + c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_swaps_indices_on_ragged_tiles() {
        let (rows, cols) = (37, 70);
        let a: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
        let mut out = vec![f32::NAN; rows * cols];
        transpose(&a, rows, cols, &mut out);
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(out[c * rows + r], a[r * cols + c]);
            }
        }
    }

    #[test]
    fn only_large_layers_get_a_copy_and_invalidate_drops_it() {
        let widths = [300, 256, 4, 1];
        let count: usize = widths.windows(2).map(|p| p[0] * p[1] + p[1]).sum();
        let parameters: Vec<f32> = (0..count).map(|i| i as f32).collect();
        let mut copy = TransposedWeights::default();
        assert!(copy.layer(0).is_none());
        copy.prepare(&widths, &parameters);
        let t = copy.layer(0).expect("300 x 256 weights get a copy");
        assert_eq!((t[0], t[1], t[300]), (0.0, 256.0, 1.0));
        assert!(copy.layer(1).is_none() && copy.layer(2).is_none());
        copy.invalidate();
        assert!(copy.layer(0).is_none());
    }
}
