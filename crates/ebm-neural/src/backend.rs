//! The layer math, behind one small trait ([`LayerMath`]) so another backend (a GPU one,
//! later) can implement the same five operations; [`Cpu`] implements them with the kernel
//! crate's GEMM and plain loops over slices.
//!
//! Every operation works on *jet stacks*: `k = order + 1` blocks of `n` rows each, stored
//! one after the other (row-major), block 0 the primal values, block 1 their directional
//! derivative along a tangent, block 2 the second directional derivative. A dense layer maps
//! every block with the same weights (the bias enters block 0 only), so a whole jet goes
//! through one GEMM. Convolutions and pooling are linear too: they map the blocks alike
//! (the images of every block one after the other), the bias again on block 0 only.

use crate::Activation;
use crate::image_ops::{ImageDims, average_pool, average_pool_backward, col2im, im2col};
use ebm_kernels::gemm::{MIN_PARALLEL_WORK, gemm};
use ebm_kernels::{MatMut, MatRef, Parallelism};

/// Elementwise passes shorter than this run on the calling thread.
const MIN_PARALLEL_ELEMENTS: usize = 1 << 14;

/// One dense layer's parameters: `weights` is `d_in x d_out` row-major, `bias` has
/// `d_out` values.
#[derive(Clone, Copy, Debug)]
pub struct Dense<'a> {
    /// The weights, `d_in x d_out`, row-major.
    pub weights: &'a [f32],
    /// The bias, `d_out` values.
    pub bias: &'a [f32],
    /// When present, the same weights transposed (`d_out x d_in`, row-major): the input
    /// gradient `g W^T` then multiplies two row-major operands, at the rate of the forward
    /// product, with the same result bits. Its presence also marks a layer prepared for
    /// sampling, whose products [`Cpu`] splits by rows across threads.
    pub weights_t: Option<&'a [f32]>,
}

impl<'a> Dense<'a> {
    /// A layer of `weights` (`d_in x d_out`, row-major) and `bias` (`d_out`), without a
    /// transposed copy.
    pub fn new(weights: &'a [f32], bias: &'a [f32]) -> Self {
        Self {
            weights,
            bias,
            weights_t: None,
        }
    }

    /// Inputs of the layer.
    pub fn d_in(&self) -> usize {
        self.weights.len() / self.bias.len()
    }

    /// Outputs of the layer.
    pub fn d_out(&self) -> usize {
        self.bias.len()
    }
}

/// The rows a dense layer maps: `total` rows in all, the bias entering the first
/// `primal` (block 0 of the jet stack).
#[derive(Clone, Copy, Debug)]
pub struct Rows {
    /// Rows multiplied.
    pub total: usize,
    /// Rows that get the bias.
    pub primal: usize,
}

/// Where a dense layer's parameter gradient goes: `weights` (`d_in x d_out`, row-major)
/// and `bias` (`d_out`), added to when `accumulate`, overwritten otherwise.
#[derive(Debug)]
pub struct DenseGrad<'a> {
    /// The weights' gradient.
    pub weights: &'a mut [f32],
    /// The bias' gradient.
    pub bias: &'a mut [f32],
    /// Add to the gradients instead of overwriting them.
    pub accumulate: bool,
}

/// The arguments of [`LayerMath::activation_forward`]: the activation of a jet stack of
/// `order + 1` blocks of `len` values (`n x d`, row-major).
#[derive(Debug)]
pub struct ActivationForward<'a> {
    /// The activation.
    pub activation: Activation,
    /// The highest jet order (`order + 1` blocks).
    pub order: usize,
    /// Values in a block.
    pub len: usize,
    /// The input jets.
    pub z: &'a [f32],
    /// The output jets.
    pub out: &'a mut [f32],
    /// `phi'`, `phi''`, `phi'''` at the primal values (`3 len` values), for the backward
    /// pass.
    pub derivatives: &'a mut [f32],
}

/// The arguments of [`LayerMath::activation_backward`], laid out as in
/// [`ActivationForward`].
#[derive(Debug)]
pub struct ActivationBackward<'a> {
    /// The highest jet order (`order + 1` blocks).
    pub order: usize,
    /// Values in a block.
    pub len: usize,
    /// The input jets of the forward pass.
    pub z: &'a [f32],
    /// The derivatives the forward pass wrote.
    pub derivatives: &'a [f32],
    /// The gradient of the output jets.
    pub grad_out: &'a [f32],
    /// The gradient of the input jets (written).
    pub grad_z: &'a mut [f32],
}

/// The operations an MLP energy is built from.
pub trait LayerMath {
    /// `out = input W` for the `rows.total` rows of `input` (`d_in` values each), plus the
    /// bias on the first `rows.primal` rows.
    fn dense_forward(&self, layer: Dense<'_>, rows: Rows, input: &[f32], out: &mut [f32]);

    /// The parameter gradient of [`dense_forward`](Self::dense_forward) for upstream
    /// gradient `grad_out` (`rows.total x d_out`): `weights (+)= input^T grad_out` over all
    /// rows, `bias (+)=` the column sums of the first `rows.primal` rows.
    fn dense_gradient(&self, rows: Rows, input: &[f32], grad_out: &[f32], into: DenseGrad<'_>);

    /// The input gradient of [`dense_forward`](Self::dense_forward):
    /// `grad_input = grad_out W^T` over `grad_input.len() / d_in` rows.
    fn dense_input_gradient(&self, layer: Dense<'_>, grad_out: &[f32], grad_input: &mut [f32]);

    /// The activation of a jet stack: writes the output jets and `phi'`, `phi''`, `phi'''`
    /// at the primal values for the backward pass.
    fn activation_forward(&self, pass: ActivationForward<'_>);

    /// Backward through [`activation_forward`](Self::activation_forward): from the
    /// gradient of the output jets, the gradient of the input jets.
    fn activation_backward(&self, pass: ActivationBackward<'_>);

    /// A 3x3 convolution (same padding, stride 1) of the `images.total` images of `input`
    /// (channels last, `dims`), by im2col into `cols` (kept for
    /// [`conv_gradient`](Self::conv_gradient)) and one dense product with `layer`
    /// (weights `9 c_in x c_out`, row `(3 dy + dx) c_in + c`); the bias enters the first
    /// `images.primal` images.
    fn conv_forward(
        &self,
        layer: Dense<'_>,
        dims: ImageDims,
        images: Rows,
        input: &[f32],
        cols: &mut [f32],
        out: &mut [f32],
    ) {
        im2col(dims, images.total, input, cols);
        self.dense_forward(layer, dims.pixel_rows(images), cols, out);
    }

    /// The parameter gradient of [`conv_forward`](Self::conv_forward) from its `cols`.
    fn conv_gradient(
        &self,
        dims: ImageDims,
        images: Rows,
        cols: &[f32],
        grad_out: &[f32],
        into: DenseGrad<'_>,
    ) {
        self.dense_gradient(dims.pixel_rows(images), cols, grad_out, into);
    }

    /// The input gradient of [`conv_forward`](Self::conv_forward) over
    /// `grad_input.len() / dims.len()` images, through the scratch `grad_cols`.
    fn conv_input_gradient(
        &self,
        layer: Dense<'_>,
        dims: ImageDims,
        grad_out: &[f32],
        grad_cols: &mut [f32],
        grad_input: &mut [f32],
    ) {
        let images = grad_input.len() / dims.len();
        let grad_cols = &mut grad_cols[..images * dims.pixels() * 9 * dims.channels];
        self.dense_input_gradient(layer, grad_out, grad_cols);
        col2im(dims, images, grad_cols, grad_input);
    }

    /// 2x2 average pooling (stride 2; an odd last row or column is dropped) of `images`
    /// images of `input` (`dims`) into `out` (`dims.pooled()`).
    fn pool_forward(&self, dims: ImageDims, images: usize, input: &[f32], out: &mut [f32]) {
        average_pool(dims, images, input, out);
    }

    /// Backward through [`pool_forward`](Self::pool_forward).
    fn pool_backward(
        &self,
        dims: ImageDims,
        images: usize,
        grad_out: &[f32],
        grad_input: &mut [f32],
    ) {
        average_pool_backward(dims, images, grad_out, grad_input);
    }
}

/// The CPU backend: GEMM from `ebm-kernels` on `par` threads, the activations' elementwise
/// loops vectorized and split across the same threads (results do not depend on the
/// thread count).
#[derive(Clone, Copy, Debug)]
pub struct Cpu {
    /// Threads for the matrix products.
    pub par: Parallelism,
}

impl Cpu {
    /// The CPU backend on the calling thread.
    pub fn sequential() -> Self {
        Self {
            par: Parallelism::Sequential,
        }
    }
}

impl Cpu {
    /// `out = beta out + a b`, `out` holding at least `a.rows() x b.cols()` values.
    ///
    /// With `by_rows` (a layer prepared for sampling, see [`Dense::weights_t`]: the
    /// forward and input-gradient products of a Langevin step), on two or more threads a
    /// product of at least [`MIN_SPLIT_ROWS`] rows, more than [`MIN_SPLIT_COLS`] columns
    /// and [`MIN_PARALLEL_WORK`] multiply-adds is cut into one contiguous chunk of rows
    /// per thread, each a sequential product (no synchronization inside a product).
    /// Every row is still computed by the same operations in the same order (the
    /// backend's blocking of the inner dimension depends on that dimension only, once
    /// the product has more than 64 columns), so the result does not depend on the
    /// thread count.
    fn product(&self, by_rows: bool, beta: f32, out: &mut [f32], a: MatRef<'_>, b: MatRef<'_>) {
        let (rows, cols) = (a.rows(), b.cols());
        let out = &mut out[..rows * cols];
        let threads = self.par.threads();
        let split = by_rows
            && threads >= 2
            && rows >= MIN_SPLIT_ROWS
            && cols > MIN_SPLIT_COLS
            && rows * cols * a.cols() >= MIN_PARALLEL_WORK;
        if split {
            row_chunks(beta, out, a, b, threads);
        } else {
            let mut out = MatMut::from_row_major(out, rows, cols);
            gemm(beta, &mut out, 1.0, a, b, self.par);
        }
    }
}

/// Products with fewer rows than this are not split by rows ([`Cpu`]'s products).
pub const MIN_SPLIT_ROWS: usize = 64;

/// Products with at most this many columns are not split by rows: below it the backend
/// picks its inner blocking from the row count too (its small-product path), and a
/// chunk could be summed differently from the whole.
pub const MIN_SPLIT_COLS: usize = 64;

/// `out = beta out + a b` with the rows of `a` (and `out`) cut into `threads`
/// contiguous chunks, each a sequential product, run in parallel.
fn row_chunks(beta: f32, out: &mut [f32], a: MatRef<'_>, b: MatRef<'_>, threads: usize) {
    let (rows, cols) = (a.rows(), b.cols());
    if threads <= 1 || rows < 2 {
        let mut out = MatMut::from_row_major(out, rows, cols);
        return gemm(beta, &mut out, 1.0, a, b, Parallelism::Sequential);
    }
    let left_threads = threads / 2;
    let mid = rows * left_threads / threads;
    let (top, bottom) = out.split_at_mut(mid * cols);
    rayon::join(
        || row_chunks(beta, top, a.row_range(0, mid), b, left_threads),
        || {
            row_chunks(
                beta,
                bottom,
                a.row_range(mid, rows),
                b,
                threads - left_threads,
            )
        },
    );
}

impl LayerMath for Cpu {
    fn dense_forward(&self, layer: Dense<'_>, rows: Rows, input: &[f32], out: &mut [f32]) {
        let (d_in, d_out) = (layer.d_in(), layer.d_out());
        let input = MatRef::from_row_major(&input[..rows.total * d_in], rows.total, d_in);
        let weights = MatRef::from_row_major(layer.weights, d_in, d_out);
        // Rows split across threads only while sampling: in a training pass (2 x 128
        // rows, no copy) the split measured 9% slower than the backend's own threading.
        let by_rows = layer.weights_t.is_some();
        self.product(by_rows, 0.0, out, input, weights);
        for row in out[..rows.primal * d_out].chunks_exact_mut(d_out) {
            for (o, b) in row.iter_mut().zip(layer.bias) {
                *o += b;
            }
        }
    }

    fn dense_gradient(&self, rows: Rows, input: &[f32], grad_out: &[f32], into: DenseGrad<'_>) {
        let d_out = into.bias.len();
        let d_in = into.weights.len() / d_out;
        let input = MatRef::from_row_major(&input[..rows.total * d_in], rows.total, d_in);
        let upstream = MatRef::from_row_major(&grad_out[..rows.total * d_out], rows.total, d_out);
        let beta = if into.accumulate { 1.0 } else { 0.0 };
        // The weight gradient sums over the examples: the backend splits it its own way.
        self.product(false, beta, into.weights, input.t(), upstream);
        if !into.accumulate {
            into.bias.fill(0.0);
        }
        for row in grad_out[..rows.primal * d_out].chunks_exact(d_out) {
            for (g, r) in into.bias.iter_mut().zip(row) {
                *g += r;
            }
        }
    }

    fn dense_input_gradient(&self, layer: Dense<'_>, grad_out: &[f32], grad_input: &mut [f32]) {
        let (d_in, d_out) = (layer.d_in(), layer.d_out());
        let rows = grad_input.len() / d_in;
        let upstream = MatRef::from_row_major(&grad_out[..rows * d_out], rows, d_out);
        let transposed = match layer.weights_t {
            Some(t) => MatRef::from_row_major(t, d_out, d_in),
            None => MatRef::from_row_major(layer.weights, d_in, d_out).t(),
        };
        let by_rows = layer.weights_t.is_some();
        self.product(by_rows, 0.0, grad_input, upstream, transposed);
    }

    fn activation_forward(&self, pass: ActivationForward<'_>) {
        let ActivationForward {
            activation,
            order,
            len: m,
            z,
            out,
            derivatives,
        } = pass;
        let blocks = |b: usize| if b <= order { b * m..(b + 1) * m } else { 0..0 };
        let (z0, z1, z2) = (&z[blocks(0)], &z[blocks(1)], &z[blocks(2)]);
        let (o0, rest) = out[..(order + 1) * m].split_at_mut(m);
        let (o1, o2) = rest.split_at_mut(rest.len().min(m));
        let (d1, rest) = derivatives[..3 * m].split_at_mut(m);
        let (d2, d3) = rest.split_at_mut(m);
        let piece = Piece {
            read: [z0, z1, z2],
            write: [o0, o1, o2, d1, d2, d3],
        };
        split_run(piece, m, self.par.threads(), &|p| {
            forward_piece(activation, order, p)
        });
    }

    fn activation_backward(&self, pass: ActivationBackward<'_>) {
        let ActivationBackward {
            order,
            len: m,
            z,
            derivatives,
            grad_out,
            grad_z,
        } = pass;
        let blocks = |b: usize| if b <= order { b * m..(b + 1) * m } else { 0..0 };
        let (gz0, rest) = grad_z[..(order + 1) * m].split_at_mut(m);
        let (gz1, gz2) = rest.split_at_mut(rest.len().min(m));
        let piece = Piece {
            read: [
                &z[blocks(1)],
                &z[blocks(2)],
                &derivatives[..m],
                &derivatives[m..2 * m],
                &derivatives[2 * m..3 * m],
                &grad_out[blocks(0)],
                &grad_out[blocks(1)],
                &grad_out[blocks(2)],
            ],
            write: [gz0, gz1, gz2],
        };
        split_run(piece, m, self.par.threads(), &|p| backward_piece(order, p));
    }
}

/// Elementwise operands, the same index range of each block (an absent block is empty).
struct Piece<'a, const R: usize, const W: usize> {
    read: [&'a [f32]; R],
    write: [&'a mut [f32]; W],
}

impl<'a, const R: usize, const W: usize> Piece<'a, R, W> {
    /// The elements before `mid` and from `mid` on, of every block.
    fn split_at(self, mid: usize) -> (Self, Self) {
        let read = self.read.map(|r| r.split_at(mid.min(r.len())));
        let mut right: [&'a mut [f32]; W] = std::array::from_fn(|_| Default::default());
        let mut i = 0;
        let left = self.write.map(|w| {
            let (l, r) = w.split_at_mut(mid.min(w.len()));
            right[i] = r;
            i += 1;
            l
        });
        let left = Self {
            read: read.map(|(l, _)| l),
            write: left,
        };
        let right = Self {
            read: read.map(|(_, r)| r),
            write: right,
        };
        (left, right)
    }
}

/// Run `f` on `piece` (of `len` elements) split into `threads` consecutive parts run in
/// parallel, or whole when it is short or there is one thread: elementwise work, so the
/// result is the same either way.
fn split_run<const R: usize, const W: usize>(
    piece: Piece<'_, R, W>,
    len: usize,
    threads: usize,
    f: &(dyn Fn(Piece<'_, R, W>) + Sync),
) {
    if threads <= 1 || len < MIN_PARALLEL_ELEMENTS {
        return f(piece);
    }
    let left_threads = threads / 2;
    // Split on a multiple of 16 values, so every part but the last is whole vectors.
    let mid = (len * left_threads / threads) & !15;
    let (left, right) = piece.split_at(mid);
    rayon::join(
        || split_run(left, mid, left_threads, f),
        || split_run(right, len - mid, threads - left_threads, f),
    );
}

/// [`LayerMath::activation_forward`] on one piece: `read = [z0, z1, z2]`,
/// `write = [out0, out1, out2, phi', phi'', phi''']`.
fn forward_piece(activation: Activation, order: usize, piece: Piece<'_, 3, 6>) {
    let [z0, z1, z2] = piece.read;
    let [o0, o1, o2, d1, d2, d3] = piece.write;
    // The order-0 backward pass reads phi' only.
    primal_pass(activation, order > 0, z0, o0, [d1, d2, d3]);
    if order == 0 {
        return;
    }
    for ((o, &d), &t) in o1.iter_mut().zip(d1.iter()).zip(z1) {
        *o = d * t;
    }
    if order >= 2 {
        let tangents = z1.iter().zip(z2);
        for ((o, (&a, &b)), (&t, &s)) in o2.iter_mut().zip(d1.iter().zip(d2.iter())).zip(tangents) {
            *o = b * t * t + a * s;
        }
    }
}

/// [`LayerMath::activation_backward`] on one piece: `read = [z1, z2, phi', phi'',
/// phi''', g0, g1, g2]`, `write = [gz0, gz1, gz2]`.
fn backward_piece(order: usize, piece: Piece<'_, 8, 3>) {
    let [z1, z2, d1, d2, d3, g0, g1, g2] = piece.read;
    let [gz0, gz1, gz2] = piece.write;
    let m = gz0.len();
    match order {
        0 => {
            for ((gz, &g), &d) in gz0.iter_mut().zip(g0).zip(d1) {
                *gz = g * d;
            }
        }
        1 => {
            for i in 0..m {
                gz0[i] = g0[i] * d1[i] + g1[i] * d2[i] * z1[i];
                gz1[i] = g1[i] * d1[i];
            }
        }
        _ => {
            for i in 0..m {
                let (t, s) = (z1[i], z2[i]);
                gz0[i] = g0[i] * d1[i] + g1[i] * d2[i] * t + g2[i] * (d3[i] * t * t + d2[i] * s);
                gz1[i] = g1[i] * d1[i] + 2.0 * g2[i] * d2[i] * t;
                gz2[i] = g2[i] * d1[i];
            }
        }
    }
}

/// `out = phi(z)` and `d1 = phi'(z)`, and with `all` `d2, d3 = phi'', phi'''` too, for an
/// activation that is a constant after inlining (so the loop vectorizes).
#[inline(always)]
fn map_primal(activation: Activation, all: bool, z: &[f32], out: &mut [f32], d: [&mut [f32]; 3]) {
    let [d1, d2, d3] = d;
    if all {
        let derivatives = d1.iter_mut().zip(d2.iter_mut()).zip(d3.iter_mut());
        for ((&zi, o), ((a, b), c)) in z.iter().zip(out.iter_mut()).zip(derivatives) {
            [*o, *a, *b, *c] = activation.jet(zi);
        }
    } else {
        for ((&zi, o), s) in z.iter().zip(out.iter_mut()).zip(d1.iter_mut()) {
            [*o, *s] = activation.value_slope(zi);
        }
    }
}

ebm_kernels::multiversion! {
    /// `out = phi(z)`, `d1 = phi'(z)` ([`Activation::value_slope`]) and, with `all`,
    /// `d2, d3 = phi'', phi'''` ([`Activation::jet`]), elementwise.
    fn primal_pass(activation: Activation, all: bool, z: &[f32], out: &mut [f32], d: [&mut [f32]; 3]) {
        match activation {
            Activation::Softplus => map_primal(Activation::Softplus, all, z, out, d),
            Activation::Swish => map_primal(Activation::Swish, all, z, out, d),
            Activation::Elu => map_primal(Activation::Elu, all, z, out, d),
            Activation::Identity => map_primal(Activation::Identity, all, z, out, d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorized activation kernels are the scalar jets, element by element, and the
    /// order-0 pass writes the same values and slopes as the order-2 pass.
    #[test]
    fn activation_kernels_are_the_scalar_jets() {
        let m = 203; // not a multiple of any vector width
        let z: Vec<f32> = (0..3 * m).map(|i| (i as f32 * 0.37).sin() * 6.0).collect();
        for activation in Activation::ALL {
            let mut runs = Vec::new();
            for order in [0usize, 2] {
                let (mut out, mut derivatives) = (vec![0.0; 3 * m], vec![f32::NAN; 3 * m]);
                Cpu::sequential().activation_forward(ActivationForward {
                    activation,
                    order,
                    len: m,
                    z: &z,
                    out: &mut out,
                    derivatives: &mut derivatives,
                });
                for i in 0..m {
                    let jet = activation.jet(z[i]);
                    assert_eq!(out[i], jet[0], "{activation:?} order {order} value {i}");
                    assert_eq!(derivatives[i], jet[1], "{activation:?} slope {i}");
                    if order == 2 {
                        assert_eq!(derivatives[m + i], jet[2], "{activation:?} phi'' {i}");
                        assert_eq!(derivatives[2 * m + i], jet[3], "{activation:?} phi''' {i}");
                        let (t, s) = (z[m + i], z[2 * m + i]);
                        assert_eq!(out[m + i], jet[1] * t, "{activation:?} block 1 {i}");
                        let second = jet[2] * t * t + jet[1] * s;
                        assert_eq!(out[2 * m + i], second, "{activation:?} block 2 {i}");
                    }
                }
                runs.push((out[..m].to_vec(), derivatives[..m].to_vec()));
            }
            assert_eq!(runs[0], runs[1], "{activation:?}");
        }
    }
    /// Split across two threads, the activation passes write the same bits as on one
    /// (the split lands mid-block, off any vector boundary of the blocks' starts).
    #[test]
    fn activation_passes_do_not_depend_on_threads() {
        let m = 3 * MIN_PARALLEL_ELEMENTS + 5;
        let wave = |k: usize| (0..3 * m).map(move |i| ((i * k) as f32 * 1e-3).sin() * 3.0);
        let (z, grad_out): (Vec<f32>, Vec<f32>) = (wave(7).collect(), wave(11).collect());
        let pool = ebm_core::thread_pool(2).unwrap();
        for order in 0..=2 {
            let run = |par: Parallelism| {
                let math = Cpu { par };
                let (mut out, mut derivatives) = (vec![0.0; 3 * m], vec![0.0; 3 * m]);
                let mut grad_z = vec![0.0; 3 * m];
                math.activation_forward(ActivationForward {
                    activation: Activation::Swish,
                    order,
                    len: m,
                    z: &z,
                    out: &mut out,
                    derivatives: &mut derivatives,
                });
                math.activation_backward(ActivationBackward {
                    order,
                    len: m,
                    z: &z,
                    derivatives: &derivatives,
                    grad_out: &grad_out,
                    grad_z: &mut grad_z,
                });
                (out, derivatives, grad_z)
            };
            let one = run(Parallelism::Sequential);
            let two = pool.install(|| run(Parallelism::Threads(2)));
            assert!(one == two, "order {order}");
            assert!(one.2[..m].iter().any(|&g| g != 0.0));
        }
    }
}
