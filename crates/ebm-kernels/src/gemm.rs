//! The one matrix-product entry point. The backend (the `gemm` crate) stays behind
//! [`gemm()`]; views carry strides so transposes cost nothing. The backend is built with
//! its AVX-512 kernels (`x86-v4`) and picks at run time the widest the CPU has: AVX-512F,
//! else AVX2+FMA, else scalar.

use crate::{MatMut, MatRef, Parallelism};

/// Products smaller than this many multiply-adds run on one thread: splitting them
/// costs more than it saves.
pub const MIN_PARALLEL_WORK: usize = 1 << 18;

/// `dst = alpha * dst + a * b` for a row-major `rows x b.rows()` slice `a` and a row-major
/// `rows x b.cols()` slice `dst`: [`gemm()`] in the shape of a batch of rows times a matrix.
///
/// ```
/// use ebm_kernels::{MatRef, Parallelism, gemm::rows_times};
/// let b = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let mut dst = [0.0; 2];
/// rows_times(0.0, &mut dst, &[1.0, 1.0], 1, MatRef::from_row_major(&b, 2, 2), Parallelism::Sequential);
/// assert_eq!(dst, [4.0, 6.0]);
/// ```
pub fn rows_times(
    alpha: f32,
    dst: &mut [f32],
    a: &[f32],
    rows: usize,
    b: MatRef<'_>,
    par: Parallelism,
) {
    let a = MatRef::from_row_major(a, rows, b.rows());
    gemm(
        alpha,
        &mut MatMut::from_row_major(dst, rows, b.cols()),
        1.0,
        a,
        b,
        par,
    );
}

/// `dst = alpha * dst + beta * a * b`.
///
/// With `alpha == 0.0` the old contents of `dst` are not read (they may be anything,
/// even NaN). Shapes must agree: `a` is `m x k`, `b` is `k x n`, `dst` is `m x n`.
/// The result does not depend on `par` (the backend splits output blocks, never the
/// `k` dimension), which the tests check.
pub fn gemm(
    alpha: f32,
    dst: &mut MatMut<'_>,
    beta: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    par: Parallelism,
) {
    let (m, n, k) = (dst.rows(), dst.cols(), a.cols());
    assert_eq!(a.rows(), m, "gemm: a.rows != dst.rows");
    assert_eq!(b.rows(), k, "gemm: a.cols != b.rows");
    assert_eq!(b.cols(), n, "gemm: b.cols != dst.cols");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        scale_in_place(dst, alpha);
        return;
    }
    let backend_par = match par {
        Parallelism::Threads(t) if t > 1 && m * n * k >= MIN_PARALLEL_WORK => {
            gemm::Parallelism::Rayon(t)
        }
        _ => gemm::Parallelism::None,
    };
    let dst_row_stride = dst.row_stride() as isize;
    // SAFETY: every view was bounds-checked at construction (`MatRef::from_strided`,
    // `MatMut::from_row_major`), so each element `(r, c)` the backend touches with the
    // given strides lies inside its slice. `dst` is borrowed mutably, so it cannot alias
    // `a` or `b`, and a `MatMut` has column stride 1 and row stride >= cols, so distinct
    // `(r, c)` map to distinct elements. Covered by the tests below (all stride layouts).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data_mut().as_mut_ptr(),
            1,
            dst_row_stride,
            alpha != 0.0,
            a.data().as_ptr(),
            a.col_stride() as isize,
            a.row_stride() as isize,
            b.data().as_ptr(),
            b.col_stride() as isize,
            b.row_stride() as isize,
            alpha,
            beta,
            false,
            false,
            false,
            backend_par,
        );
    }
}

fn scale_in_place(dst: &mut MatMut<'_>, alpha: f32) {
    let (rows, cols, stride) = (dst.rows(), dst.cols(), dst.row_stride());
    let data = dst.data_mut();
    for r in 0..rows {
        for x in &mut data[r * stride..r * stride + cols] {
            *x = if alpha == 0.0 { 0.0 } else { alpha * *x };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sequential_and_threaded;

    fn naive(a: MatRef<'_>, b: MatRef<'_>) -> Vec<f32> {
        let mut out = vec![0.0f32; a.rows() * b.cols()];
        for i in 0..a.rows() {
            for j in 0..b.cols() {
                let mut s = 0.0f64;
                for p in 0..a.cols() {
                    s += a.get(i, p) as f64 * b.get(p, j) as f64;
                }
                out[i * b.cols() + j] = s as f32;
            }
        }
        out
    }

    fn filled(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// `a` as an `m x k` view: row-major, transposed (stored `k x m`), or strided (every
    /// other element of rows padded by 3), per `layout` 0, 1, 2.
    fn view(data: &[f32], m: usize, k: usize, layout: usize) -> MatRef<'_> {
        match layout {
            0 => MatRef::from_row_major(&data[..m * k], m, k),
            1 => MatRef::from_row_major(&data[..m * k], k, m).t(),
            _ => MatRef::from_strided(data, m, k, 2 * k + 3, 2),
        }
    }

    /// The rounding bound of a `k`-term `f32` dot product in any summation order,
    /// `gamma_k = k u / (1 - k u)` with `u = 2^-24`, times `sum |a_ip b_pj|` (Higham,
    /// Accuracy and Stability, 3.1): a correct product always stays within it, a wrong
    /// index or a dropped term lands far outside it.
    fn bound(a: MatRef<'_>, b: MatRef<'_>, i: usize, j: usize) -> f64 {
        let ku = a.cols() as f64 * f64::powi(2.0, -24);
        let magnitude: f64 = (0..a.cols())
            .map(|p| (a.get(i, p) as f64 * b.get(p, j) as f64).abs())
            .sum();
        ku / (1.0 - ku) * magnitude + f64::MIN_POSITIVE
    }

    /// `a b` by [`gemm()`] with `alpha = 0` into a destination full of NaN, which must
    /// not leak into the result.
    fn product(a: MatRef<'_>, b: MatRef<'_>, par: Parallelism) -> Vec<f32> {
        let (m, n) = (a.rows(), b.cols());
        let mut c = vec![f32::NAN; m * n];
        gemm(
            0.0,
            &mut MatMut::from_row_major(&mut c, m, n),
            1.0,
            a,
            b,
            par,
        );
        c
    }

    #[test]
    fn odd_shapes_and_every_layout_match_naive_into_nan_dst() {
        for (m, k, n) in [(1, 1, 1), (7, 13, 5), (37, 53, 29), (130, 785, 513)] {
            // Room for the strided layout (row stride 2 cols + 3, column stride 2).
            let a = filled(m * (2 * k + 3), 1);
            let b = filled(k * (2 * n + 3), 2);
            for a_layout in 0..3 {
                for b_layout in 0..3 {
                    let (av, bv) = (view(&a, m, k, a_layout), view(&b, k, n, b_layout));
                    let expect = naive(av, bv);
                    let c = product(av, bv, Parallelism::Sequential);
                    for (idx, (x, y)) in c.iter().zip(&expect).enumerate() {
                        let tol = bound(av, bv, idx / n, idx % n);
                        assert!(
                            ((x - y) as f64).abs() <= tol,
                            "{m}x{k}x{n} layouts {a_layout}/{b_layout} at {idx}: {x} vs {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn accumulates_with_alpha_and_beta() {
        let (m, k, n) = (5, 4, 3);
        let a = filled(m * k, 3);
        let b = filled(k * n, 4);
        let expect = naive(
            MatRef::from_row_major(&a, m, k),
            MatRef::from_row_major(&b, k, n),
        );
        let mut c = vec![1.0f32; m * n];
        gemm(
            2.0,
            &mut MatMut::from_row_major(&mut c, m, n),
            -0.5,
            MatRef::from_row_major(&a, m, k),
            MatRef::from_row_major(&b, k, n),
            Parallelism::Sequential,
        );
        for (x, y) in c.iter().zip(&expect) {
            assert!((x - (2.0 - 0.5 * y)).abs() < 1e-5);
        }
    }

    #[test]
    fn threads_give_bit_identical_results() {
        // The RBM shape, the MLP energy's four products (784-512-512, batch 128: forward,
        // and the input and weight gradients through transposed views) and an odd shape.
        for (m, k, n, a_layout, b_layout) in [
            (100, 784, 500, 0, 0),
            (128, 784, 512, 0, 0),
            (128, 512, 512, 0, 1),
            (784, 128, 512, 1, 0),
            (130, 785, 513, 2, 1),
        ] {
            let a = filled(m * (2 * k + 3), 5);
            let b = filled(k * (2 * n + 3), 6);
            let (av, bv) = (view(&a, m, k, a_layout), view(&b, k, n, b_layout));
            let (c1, c2) = sequential_and_threaded(|par| product(av, bv, par));
            assert!(
                c1.iter().zip(&c2).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{m}x{k}x{n}"
            );
        }
    }

    #[test]
    fn empty_inner_dimension_scales_dst() {
        let mut c = vec![3.0f32; 4];
        gemm(
            0.0,
            &mut MatMut::from_row_major(&mut c, 2, 2),
            1.0,
            MatRef::from_row_major(&[], 2, 0),
            MatRef::from_row_major(&[], 0, 2),
            Parallelism::Sequential,
        );
        assert_eq!(c, vec![0.0; 4]);
    }
}
