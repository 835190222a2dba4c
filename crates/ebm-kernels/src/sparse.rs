//! Products with binary (0/1) matrices over their active entries only.
//!
//! A stochastically binarized MNIST image has about 13% ones, so `X W` for binary `X`
//! is a gather-add of a few rows of `W`, and `X^T H` a scatter of rows of `H` into the
//! rows of the result, a fraction of a dense GEMM's work. [`ActiveIndex`] stores which
//! entries are one (compressed rows) and is rebuilt in place without reallocating.

use crate::{MatRef, Parallelism};
use rayon::prelude::*;

/// Compressed index of the ones in a binary matrix: for each outer index (a row, or a
/// column after [`ActiveIndex::transpose_into`]) the sorted inner indices that are one.
#[derive(Clone, Debug, Default)]
pub struct ActiveIndex {
    offsets: Vec<usize>,
    /// Active inner indices; only the first `offsets[outer_len]` entries are meaningful
    /// (the rest is scratch kept to rebuild without reallocating).
    indices: Vec<u32>,
    inner_len: usize,
}

impl ActiveIndex {
    /// An empty index; fill it with [`ActiveIndex::rebuild_from_rows`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Index the entries `> 0.5` of the row-major `rows x cols` matrix `x`, reusing memory.
    pub fn rebuild_from_rows(&mut self, x: &[f32], rows: usize, cols: usize) {
        assert_eq!(x.len(), rows * cols, "ActiveIndex: length != rows * cols");
        assert!(cols <= u32::MAX as usize);
        self.inner_len = cols;
        self.offsets.clear();
        self.offsets.push(0);
        if self.indices.len() < x.len() {
            self.indices.resize(x.len(), 0);
        }
        let mut count = 0usize;
        if cols > 0 {
            for row in x.chunks_exact(cols) {
                // Branch-free compaction: always write, advance only past ones.
                let dst = &mut self.indices[count..count + cols];
                let mut n = 0usize;
                for (c, &v) in row.iter().enumerate() {
                    dst[n.min(cols - 1)] = c as u32;
                    n += (v > 0.5) as usize;
                }
                count += n;
                self.offsets.push(count);
            }
        } else {
            self.offsets.resize(rows + 1, 0);
        }
    }

    /// Number of ones indexed.
    pub fn count(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// Write the transpose (for each inner index, the outer indices where it is one) to `out`.
    pub fn transpose_into(&self, out: &mut ActiveIndex) {
        let outer_len = self.outer_len();
        out.inner_len = outer_len;
        out.offsets.clear();
        out.offsets.resize(self.inner_len + 1, 0);
        for &c in &self.indices[..self.count()] {
            out.offsets[c as usize + 1] += 1;
        }
        for i in 0..self.inner_len {
            out.offsets[i + 1] += out.offsets[i];
        }
        if out.indices.len() < self.count() {
            out.indices.resize(self.count(), 0);
        }
        // Scatter using offsets[c] as the next free slot of column c; afterwards each
        // offsets[c] has advanced to the start of column c + 1, so shift back by one.
        for r in 0..outer_len {
            for &c in self.active(r) {
                let slot = &mut out.offsets[c as usize];
                out.indices[*slot] = r as u32;
                *slot += 1;
            }
        }
        for c in (1..=self.inner_len).rev() {
            out.offsets[c] = out.offsets[c - 1];
        }
        out.offsets[0] = 0;
    }

    /// Number of outer entries (rows).
    pub fn outer_len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Length of each outer entry (columns).
    pub fn inner_len(&self) -> usize {
        self.inner_len
    }

    /// The active inner indices of outer entry `r`.
    pub fn active(&self, r: usize) -> &[u32] {
        &self.indices[self.offsets[r]..self.offsets[r + 1]]
    }

    /// Fraction of entries that are one.
    pub fn density(&self) -> f64 {
        let total = self.outer_len() * self.inner_len;
        if total == 0 {
            0.0
        } else {
            self.count() as f64 / total as f64
        }
    }
}

/// Rows per parallel task: enough work per task to amortize scheduling.
const ROWS_PER_TASK: usize = 8;

/// Apply `row_kernel` to `(r, row r)` for each `k`-wide row of `dst` (`k > 0`), across the
/// rayon pool with `Threads`. Each row is one kernel call whatever `par` is, so the
/// results are bit-identical.
fn for_each_row(
    dst: &mut [f32],
    k: usize,
    par: Parallelism,
    row_kernel: impl Fn((usize, &mut [f32])) + Sync + Send,
) {
    match par {
        Parallelism::Sequential => dst.chunks_exact_mut(k).enumerate().for_each(row_kernel),
        Parallelism::Threads(_) => dst
            .par_chunks_exact_mut(k)
            .with_min_len(ROWS_PER_TASK)
            .enumerate()
            .for_each(row_kernel),
    }
}

/// `dst[r, :] = bias + sum_{i active in row r of x} w[i, :]`, i.e. `dst = X W + 1 bias^T`.
///
/// `x` indexes an `n x d` binary matrix, `w` is `d x k` with contiguous rows, `dst` is
/// `n x k` row-major and `bias` has length `k` (or is empty for no bias). Each output row
/// is summed in the same order whatever `par` is, so results are bit-identical.
pub fn binary_times(
    dst: &mut [f32],
    x: &ActiveIndex,
    w: MatRef<'_>,
    bias: &[f32],
    par: Parallelism,
) {
    let k = w.cols();
    assert_eq!(x.inner_len(), w.rows(), "binary_times: x.cols != w.rows");
    assert_eq!(dst.len(), x.outer_len() * k, "binary_times: dst shape");
    assert!(
        bias.is_empty() || bias.len() == k,
        "binary_times: bias length"
    );
    let row_kernel = |(r, out): (usize, &mut [f32])| {
        if bias.is_empty() {
            out.fill(0.0);
        } else {
            out.copy_from_slice(bias);
        }
        scaled_gather_add(out, 1.0, x.active(r), w);
    };
    if k == 0 {
        return;
    }
    for_each_row(dst, k, par, row_kernel);
}

crate::multiversion! {
    /// `out += scale * sum_{r in active} h[r, :]`, four rows of `h` at a time so `out` is
    /// loaded and stored once per four rows.
    fn scaled_gather_add(out: &mut [f32], scale: f32, active: &[u32], h: MatRef<'_>) {
        let k = out.len();
        let mut groups = active.chunks_exact(4);
        for g in &mut groups {
            let (a, b, c, d) = (&h.row(g[0] as usize)[..k], &h.row(g[1] as usize)[..k], &h.row(g[2] as usize)[..k], &h.row(g[3] as usize)[..k]);
            for ((((o, &a), &b), &c), &d) in out.iter_mut().zip(a).zip(b).zip(c).zip(d) {
                *o += scale * ((a + b) + (c + d));
            }
        }
        for &r in groups.remainder() {
            for (o, &v) in out.iter_mut().zip(&h.row(r as usize)[..k]) {
                *o += scale * v;
            }
        }
    }
}

/// One term of [`transposed_binary_times`]: `scale * X^T H`, with `X` given by the
/// transposed index of its columns (`x_columns`, built by [`ActiveIndex::transpose_into`]).
#[derive(Clone, Copy, Debug)]
pub struct ScaledProduct<'a> {
    /// For each column `i` of `X`, the rows where it is one.
    pub x_columns: &'a ActiveIndex,
    /// `n x k` dense matrix with contiguous rows.
    pub h: MatRef<'a>,
    /// Multiplier of this term.
    pub scale: f32,
}

/// `dst = sum_terms scale * X^T H` (`dst` is `d x k`, overwritten).
///
/// Computes one output row at a time, so each row of `dst` is written once and stays in
/// cache while the rows of `H` are added into it. Bit-identical for any `par`.
pub fn transposed_binary_times(dst: &mut [f32], terms: &[ScaledProduct<'_>], par: Parallelism) {
    let Some(first) = terms.first() else { return };
    let (d, k) = (first.x_columns.outer_len(), first.h.cols());
    assert_eq!(dst.len(), d * k, "transposed_binary_times: dst shape");
    for t in terms {
        assert_eq!(
            t.x_columns.outer_len(),
            d,
            "transposed_binary_times: term columns"
        );
        assert_eq!(t.h.cols(), k, "transposed_binary_times: term width");
        assert_eq!(
            t.x_columns.inner_len(),
            t.h.rows(),
            "transposed_binary_times: term rows"
        );
    }
    if k == 0 {
        return;
    }
    let row_kernel = |(i, out): (usize, &mut [f32])| {
        out.fill(0.0);
        for t in terms {
            scaled_gather_add(out, t.scale, t.x_columns.active(i), t.h);
        }
    };
    for_each_row(dst, k, par, row_kernel);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MatMut;
    use crate::gemm::{gemm, rows_times};
    use crate::rng::{fill_u32, stream};
    use crate::sampling::{bernoulli, unit_f32};
    use crate::test_support::sequential_and_threaded;

    fn random_binary(n: usize, d: usize, p: f32, seed: u64) -> Vec<f32> {
        let mut bits = vec![0u32; n * d];
        fill_u32(&mut stream(seed, 0, 0), &mut bits);
        let mut out = vec![0.0; n * d];
        bernoulli(&vec![p; n * d], &bits, &mut out);
        out
    }

    fn random_dense(len: usize, seed: u64) -> Vec<f32> {
        let mut bits = vec![0u32; len];
        fill_u32(&mut stream(seed, 1, 0), &mut bits);
        bits.iter().map(|&b| unit_f32(b) - 0.5).collect()
    }

    #[test]
    fn binary_times_matches_gemm() {
        let (n, d, k) = (23, 41, 17);
        let x = random_binary(n, d, 0.2, 1);
        let w = random_dense(d * k, 2);
        let bias = random_dense(k, 3);
        let mut idx = ActiveIndex::new();
        idx.rebuild_from_rows(&x, n, d);
        let (sparse, threaded) = sequential_and_threaded(|par| {
            let mut out = vec![0.0; n * k];
            binary_times(&mut out, &idx, MatRef::from_row_major(&w, d, k), &bias, par);
            out
        });
        let mut dense: Vec<f32> = (0..n).flat_map(|_| bias.iter().copied()).collect();
        let w = MatRef::from_row_major(&w, d, k);
        rows_times(1.0, &mut dense, &x, n, w, Parallelism::Sequential);
        for (a, b) in sparse.iter().zip(&dense) {
            assert!((a - b).abs() < 1e-5);
        }
        assert_eq!(threaded, sparse);
    }

    #[test]
    fn transposed_binary_times_matches_gemm() {
        let (n, d, k) = (31, 19, 13);
        let x0 = random_binary(n, d, 0.3, 4);
        let x1 = random_binary(n, d, 0.1, 5);
        let h0 = random_dense(n * k, 6);
        let h1 = random_dense(n * k, 7);
        let (mut r0, mut r1, mut c0, mut c1) = Default::default();
        ActiveIndex::rebuild_from_rows(&mut r0, &x0, n, d);
        ActiveIndex::rebuild_from_rows(&mut r1, &x1, n, d);
        r0.transpose_into(&mut c0);
        r1.transpose_into(&mut c1);
        assert_eq!((c0.outer_len(), c0.inner_len()), (d, n));
        let mut sparse = vec![f32::NAN; d * k];
        let terms = [
            ScaledProduct {
                x_columns: &c0,
                h: MatRef::from_row_major(&h0, n, k),
                scale: 0.5,
            },
            ScaledProduct {
                x_columns: &c1,
                h: MatRef::from_row_major(&h1, n, k),
                scale: -0.5,
            },
        ];
        transposed_binary_times(&mut sparse, &terms, Parallelism::Sequential);
        let mut dense = vec![0.0; d * k];
        let mut dm = MatMut::from_row_major(&mut dense, d, k);
        gemm(
            0.0,
            &mut dm,
            0.5,
            MatRef::from_row_major(&x0, n, d).t(),
            MatRef::from_row_major(&h0, n, k),
            Parallelism::Sequential,
        );
        gemm(
            1.0,
            &mut dm,
            -0.5,
            MatRef::from_row_major(&x1, n, d).t(),
            MatRef::from_row_major(&h1, n, k),
            Parallelism::Sequential,
        );
        for (a, b) in sparse.iter().zip(&dense) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn density_counts_ones() {
        let mut idx = ActiveIndex::new();
        idx.rebuild_from_rows(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], 2, 3);
        assert!((idx.density() - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(idx.active(1), &[0, 1, 2]);
    }
}
