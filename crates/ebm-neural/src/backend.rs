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
use ebm_kernels::gemm::gemm;
use ebm_kernels::{MatMut, MatRef, Parallelism};

/// One dense layer's parameters: `weights` is `d_in x d_out` row-major, `bias` has
/// `d_out` values.
#[derive(Clone, Copy, Debug)]
pub struct Dense<'a> {
    /// The weights, `d_in x d_out`, row-major.
    pub weights: &'a [f32],
    /// The bias, `d_out` values.
    pub bias: &'a [f32],
}

impl Dense<'_> {
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

/// The CPU backend: GEMM from `ebm-kernels` on `par` threads (results do not depend on the
/// thread count), elementwise loops on the calling thread.
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
    fn product(&self, beta: f32, out: &mut [f32], a: MatRef<'_>, b: MatRef<'_>) {
        let (rows, cols) = (a.rows(), b.cols());
        let mut out = MatMut::from_row_major(&mut out[..rows * cols], rows, cols);
        gemm(beta, &mut out, 1.0, a, b, self.par);
    }
}

impl LayerMath for Cpu {
    fn dense_forward(&self, layer: Dense<'_>, rows: Rows, input: &[f32], out: &mut [f32]) {
        let (d_in, d_out) = (layer.d_in(), layer.d_out());
        let input = MatRef::from_row_major(&input[..rows.total * d_in], rows.total, d_in);
        let weights = MatRef::from_row_major(layer.weights, d_in, d_out);
        self.product(0.0, out, input, weights);
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
        self.product(beta, into.weights, input.t(), upstream);
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
        let weights = MatRef::from_row_major(layer.weights, d_in, d_out);
        self.product(0.0, grad_input, upstream, weights.t());
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
        let (d1, rest) = derivatives[..3 * m].split_at_mut(m);
        let (d2, d3) = rest.split_at_mut(m);
        for i in 0..m {
            let [value, first, second, third] = activation.jet(z[i]);
            out[i] = value;
            d1[i] = first;
            d2[i] = second;
            d3[i] = third;
        }
        if order >= 1 {
            let (z1, o1) = (&z[m..2 * m], &mut out[m..2 * m]);
            for i in 0..m {
                o1[i] = d1[i] * z1[i];
            }
        }
        if order >= 2 {
            let (z1, z2) = (&z[m..2 * m], &z[2 * m..3 * m]);
            let o2 = &mut out[2 * m..3 * m];
            for i in 0..m {
                o2[i] = d2[i] * z1[i] * z1[i] + d1[i] * z2[i];
            }
        }
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
        let (d1, d2, d3) = (
            &derivatives[..m],
            &derivatives[m..2 * m],
            &derivatives[2 * m..3 * m],
        );
        match order {
            0 => {
                for i in 0..m {
                    grad_z[i] = grad_out[i] * d1[i];
                }
            }
            1 => {
                let (g0, g1) = (&grad_out[..m], &grad_out[m..2 * m]);
                let z1 = &z[m..2 * m];
                let (gz0, gz1) = grad_z[..2 * m].split_at_mut(m);
                for i in 0..m {
                    gz0[i] = g0[i] * d1[i] + g1[i] * d2[i] * z1[i];
                    gz1[i] = g1[i] * d1[i];
                }
            }
            _ => {
                let (g0, g1, g2) = (&grad_out[..m], &grad_out[m..2 * m], &grad_out[2 * m..3 * m]);
                let (z1, z2) = (&z[m..2 * m], &z[2 * m..3 * m]);
                let (gz0, rest) = grad_z[..3 * m].split_at_mut(m);
                let (gz1, gz2) = rest.split_at_mut(m);
                for i in 0..m {
                    let (t, s) = (z1[i], z2[i]);
                    gz0[i] =
                        g0[i] * d1[i] + g1[i] * d2[i] * t + g2[i] * (d3[i] * t * t + d2[i] * s);
                    gz1[i] = g1[i] * d1[i] + 2.0 * g2[i] * d2[i] * t;
                    gz2[i] = g2[i] * d1[i];
                }
            }
        }
    }
}
