//! The layer math, behind one small trait ([`LayerMath`]) so another backend (a GPU one,
//! later) can implement the same four operations; [`Cpu`] implements them with the kernel
//! crate's GEMM and plain loops over slices.
//!
//! Every operation works on *jet stacks*: `k = order + 1` blocks of `n` rows each, stored
//! one after the other (row-major), block 0 the primal values, block 1 their directional
//! derivative along a tangent, block 2 the second directional derivative. A dense layer maps
//! every block with the same weights (the bias enters block 0 only), so a whole jet goes
//! through one GEMM.

use crate::Activation;
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

/// The operations an MLP energy is built from.
pub trait LayerMath {
    /// `out = input W` for every row, plus the bias on the first `biased_rows` rows.
    /// `input` holds at least `rows x d_in` values, `out` at least `rows x d_out`.
    #[allow(clippy::too_many_arguments)]
    fn dense_forward(
        &self,
        out: &mut [f32],
        input: &[f32],
        rows: usize,
        layer: Dense<'_>,
        biased_rows: usize,
    );

    /// Backward through [`dense_forward`](Self::dense_forward) for upstream gradient
    /// `grad_out` (`rows x d_out`): `grad_weights (+)= input^T grad_out` over all `rows`
    /// (when `grads` is given),
    /// `grad_bias (+)=` the column sums of the first `biased_rows` rows (added when
    /// `accumulate`, overwritten otherwise), and, when given, `grad_input = grad_out W^T`
    /// over its own number of rows (`grad_input.len() / d_in`).
    #[allow(clippy::too_many_arguments)]
    fn dense_backward(
        &self,
        grads: Option<(&mut [f32], &mut [f32])>,
        grad_input: Option<&mut [f32]>,
        input: &[f32],
        grad_out: &[f32],
        rows: usize,
        layer: Dense<'_>,
        biased_rows: usize,
        accumulate: bool,
    );

    /// The activation of a jet stack of `order + 1` blocks of `n x d` values: writes the
    /// output jets into `out` and `phi'`, `phi''`, `phi'''` at the primal values into
    /// `derivatives` (`3 n d` values) for the backward pass.
    #[allow(clippy::too_many_arguments)]
    fn activation_forward(
        &self,
        activation: Activation,
        order: usize,
        n: usize,
        d: usize,
        z: &[f32],
        out: &mut [f32],
        derivatives: &mut [f32],
    );

    /// Backward through [`activation_forward`](Self::activation_forward): from the
    /// gradient of the output jets `grad_out`, the gradient of the input jets `grad_z`.
    #[allow(clippy::too_many_arguments)]
    fn activation_backward(
        &self,
        order: usize,
        n: usize,
        d: usize,
        z: &[f32],
        derivatives: &[f32],
        grad_out: &[f32],
        grad_z: &mut [f32],
    );
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

impl LayerMath for Cpu {
    fn dense_forward(
        &self,
        out: &mut [f32],
        input: &[f32],
        rows: usize,
        layer: Dense<'_>,
        biased_rows: usize,
    ) {
        let (weights, bias) = (layer.weights, layer.bias);
        let (d_in, d_out) = (layer.d_in(), layer.d_out());
        gemm(
            0.0,
            &mut MatMut::from_row_major(&mut out[..rows * d_out], rows, d_out),
            1.0,
            MatRef::from_row_major(&input[..rows * d_in], rows, d_in),
            MatRef::from_row_major(weights, d_in, d_out),
            self.par,
        );
        for row in out[..biased_rows * d_out].chunks_exact_mut(d_out) {
            for (o, b) in row.iter_mut().zip(bias) {
                *o += b;
            }
        }
    }

    fn dense_backward(
        &self,
        grads: Option<(&mut [f32], &mut [f32])>,
        grad_input: Option<&mut [f32]>,
        input: &[f32],
        grad_out: &[f32],
        rows: usize,
        layer: Dense<'_>,
        biased_rows: usize,
        accumulate: bool,
    ) {
        let (weights, d_in, d_out) = (layer.weights, layer.d_in(), layer.d_out());
        if let Some((grad_weights, grad_bias)) = grads {
            gemm(
                if accumulate { 1.0 } else { 0.0 },
                &mut MatMut::from_row_major(grad_weights, d_in, d_out),
                1.0,
                MatRef::from_row_major(&input[..rows * d_in], rows, d_in).t(),
                MatRef::from_row_major(&grad_out[..rows * d_out], rows, d_out),
                self.par,
            );
            if !accumulate {
                grad_bias.fill(0.0);
            }
            for row in grad_out[..biased_rows * d_out].chunks_exact(d_out) {
                for (g, r) in grad_bias.iter_mut().zip(row) {
                    *g += r;
                }
            }
        }
        if let Some(grad_input) = grad_input {
            let input_rows = grad_input.len() / d_in;
            gemm(
                0.0,
                &mut MatMut::from_row_major(grad_input, input_rows, d_in),
                1.0,
                MatRef::from_row_major(&grad_out[..input_rows * d_out], input_rows, d_out),
                MatRef::from_row_major(weights, d_in, d_out).t(),
                self.par,
            );
        }
    }

    fn activation_forward(
        &self,
        activation: Activation,
        order: usize,
        n: usize,
        d: usize,
        z: &[f32],
        out: &mut [f32],
        derivatives: &mut [f32],
    ) {
        let m = n * d;
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

    fn activation_backward(
        &self,
        order: usize,
        n: usize,
        d: usize,
        z: &[f32],
        derivatives: &[f32],
        grad_out: &[f32],
        grad_z: &mut [f32],
    ) {
        let m = n * d;
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
