//! The two layer products of an RBM on minibatches: `V W + c` and `H W^T + b`.
//!
//! Binary batches use a gather-add over their ones when sparse enough (see
//! [`ebm_kernels::sparse`]), the dense GEMM otherwise; the choice is made per batch.

use crate::BinaryRbm;
use ebm_kernels::gemm::rows_times;
use ebm_kernels::sparse::{ActiveIndex, binary_times};
use ebm_kernels::{MatRef, Parallelism};

/// Above this fraction of ones a binary batch goes through the dense GEMM. Measured with
/// `cargo bench -p ebm-kernels -- 'gemm|sparse'`: at 784x500, batch 100, the gather-add
/// beats the GEMM up to roughly this density on one core.
pub const SPARSE_MAX_DENSITY: f64 = 0.25;

/// Add `bias` to every row of the row-major matrix `x`.
pub fn add_row_bias(x: &mut [f32], bias: &[f32]) {
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// `out = V W + 1 c^T` for `rows` visible vectors `v` (row-major). When `v` is binary,
/// pass `binary = true`: `index` is rebuilt to hold its ones (reused by the caller for
/// the gradient) and the sparse path is taken when the batch is sparse enough.
/// Returns whether the sparse path was taken (then `index` is valid).
pub fn hidden_input(
    model: &BinaryRbm,
    v: &[f32],
    rows: usize,
    binary: bool,
    index: &mut ActiveIndex,
    out: &mut [f32],
    par: Parallelism,
) -> bool {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let w = MatRef::from_row_major(model.weights(), nv, nh);
    if binary {
        index.rebuild_from_rows(v, rows, nv);
        if index.density() <= SPARSE_MAX_DENSITY {
            binary_times(out, index, w, model.hidden_bias(), par);
            return true;
        }
    }
    rows_times(0.0, out, v, rows, w, par);
    add_row_bias(out, model.hidden_bias());
    false
}

/// `out = H W^T + 1 b^T` for `rows` hidden vectors `h` (row-major).
pub fn visible_input(model: &BinaryRbm, h: &[f32], rows: usize, out: &mut [f32], par: Parallelism) {
    visible_input_no_bias(model, h, rows, out, par);
    add_row_bias(out, model.visible_bias());
}

/// `out = H W^T` (no bias) for `rows` hidden vectors.
pub fn visible_input_no_bias(
    model: &BinaryRbm,
    h: &[f32],
    rows: usize,
    out: &mut [f32],
    par: Parallelism,
) {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let w_t = MatRef::from_row_major(model.weights(), nv, nh).t();
    rows_times(0.0, out, h, rows, w_t, par);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::activation::sigmoid_in_place;

    #[test]
    fn batch_products_match_single_vector_conditionals() {
        let mut model = BinaryRbm::initialize(6, 4, &[0.5; 6], 1).unwrap();
        model
            .parameters_mut()
            .0
            .iter_mut()
            .enumerate()
            .for_each(|(i, w)| *w = (i as f32 * 0.37).sin());
        // one sparse row (density 1/6) and one dense row: both paths.
        for v in [
            vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            vec![
                1.0f32, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0,
            ],
        ] {
            let mut out = vec![0.0; 8];
            let mut index = ActiveIndex::new();
            hidden_input(
                &model,
                &v,
                2,
                true,
                &mut index,
                &mut out,
                Parallelism::Sequential,
            );
            sigmoid_in_place(&mut out);
            for r in 0..2 {
                let want = model.hidden_probabilities(&v[r * 6..r * 6 + 6]);
                for (a, b) in out[r * 4..r * 4 + 4].iter().zip(&want) {
                    assert!((a - b).abs() < 1e-6);
                }
            }
        }
        let h = [1.0, 0.0, 1.0, 1.0];
        let mut out = vec![0.0; 6];
        visible_input(&model, &h, 1, &mut out, Parallelism::Sequential);
        sigmoid_in_place(&mut out);
        for (a, b) in out.iter().zip(model.visible_probabilities(&h)) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
