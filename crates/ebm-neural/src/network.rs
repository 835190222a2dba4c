//! What every energy network offers ([`EnergyNet`]): the jet pass forward, the reverse
//! pass back, and on top of them the energy, its input gradient and the parameter
//! gradient of each per-example quantity score matching and contrastive divergence need.
//! The [`Mlp`](crate::Mlp) and the [`ConvNet`](crate::ConvNet) implement it; Langevin
//! dynamics and the trainer work on any implementation.

use crate::{LayerMath, Quantity, Workspace};

/// An energy network `E: R^d -> R` with explicit jet passes (see the [`Mlp`](crate::Mlp)
/// for what the orders and coefficients mean).
pub trait EnergyNet: Clone + std::fmt::Debug + Send + Sync {
    /// The buffers of the passes (reused from call to call).
    type Workspace: Clone + std::fmt::Debug + Default + Send;

    /// The input dimension `d`.
    fn n_inputs(&self) -> usize;

    /// Parameters in all (the length of a parameter gradient).
    fn n_parameters(&self) -> usize;

    /// Layers with parameters (each a weights block and a bias block).
    fn n_layers(&self) -> usize;

    /// The jet pass forward for the `n` rows of `x` (`n x d`) along `tangent` (`n x d`,
    /// needed for `order >= 1`); afterwards [`Self::jets`]`(ws).output(b)` holds `E`,
    /// `D_u E` and `D_u^2 E` up to `order` (at most 2).
    fn forward(
        &self,
        math: &impl LayerMath,
        ws: &mut Self::Workspace,
        x: &[f32],
        tangent: Option<&[f32]>,
        n: usize,
        order: usize,
    );

    /// The reverse pass after [`forward`](Self::forward): the gradient of
    /// `sum_n c0_n E_n + c1_n D_u E_n + c2_n D_u^2 E_n` (the coefficients of
    /// [`Workspace::outputs_and_coefficients`]) with respect to the parameters into
    /// `grad_parameters` (laid out as [`visit_layers`](Self::visit_layers) visits them;
    /// added when `accumulate`) and with respect to `x` (the tangent held fixed) into
    /// `grad_input` (`n x d`).
    fn backward(
        &self,
        math: &impl LayerMath,
        ws: &mut Self::Workspace,
        grad_parameters: Option<&mut [f32]>,
        accumulate: bool,
        grad_input: Option<&mut [f32]>,
    );

    /// The output jets and coefficients of the last pass.
    fn jets(ws: &Self::Workspace) -> &Workspace;

    /// The output jets and coefficients of the last pass, mutably.
    fn jets_mut(ws: &mut Self::Workspace) -> &mut Workspace;

    /// Prepare for many passes with the parameters fixed (the steps of a Langevin chain
    /// run): the MLP keeps a transposed copy of its large weight matrices, so the input
    /// gradient runs faster. Results are bit-identical with or without it; any mutable
    /// access to the parameters ([`visit_layers`](Self::visit_layers), the MLP's
    /// `parameters_mut`) drops it. Nothing by default.
    fn prepare_sampling(&mut self) {}

    /// Every layer's `(weights, bias)`, in the order of the parameter gradient (drops
    /// what [`prepare_sampling`](Self::prepare_sampling) prepared).
    fn visit_layers(&mut self, visit: &mut dyn FnMut(&mut [f32], &mut [f32]));

    /// `E(x_n)` for the `n` rows of `x`.
    fn energy<'w>(
        &self,
        math: &impl LayerMath,
        ws: &'w mut Self::Workspace,
        x: &[f32],
        n: usize,
    ) -> &'w [f32] {
        self.forward(math, ws, x, None, n, 0);
        Self::jets(ws).output(0)
    }

    /// `grad_x E(x_n)` into `grad_x` (`n x d`); the energies are then in
    /// [`Self::jets`]`(ws).output(0)`.
    fn input_gradient(
        &self,
        math: &impl LayerMath,
        ws: &mut Self::Workspace,
        x: &[f32],
        n: usize,
        grad_x: &mut [f32],
    ) {
        self.forward(math, ws, x, None, n, 0);
        Self::jets_mut(ws).outputs_and_coefficients().1.fill(1.0);
        self.backward(math, ws, None, false, Some(grad_x));
    }

    /// `sum_n w_n d q(x_n)/dtheta` for the per-example quantity `q` ([`Quantity`]) into
    /// `grad` (added when `accumulate`). Afterwards [`Self::jets`]`(ws).output(b)` holds
    /// `E` (block 0) and, along the quantity's direction, `D_u E` (block 1) and
    /// `D_u^2 E` (block 2): `v . grad E` and `v^T H v` for [`Quantity::HessianQuadratic`],
    /// `|grad E|^2` (block 1) for [`Quantity::SquaredInputGradient`].
    #[allow(clippy::too_many_arguments)]
    fn parameter_gradient(
        &self,
        math: &impl LayerMath,
        ws: &mut Self::Workspace,
        x: &[f32],
        n: usize,
        quantity: Quantity<'_>,
        weights: &[f32],
        grad: &mut [f32],
        accumulate: bool,
    ) {
        let mut tangent = Self::jets_mut(ws).take_tangent();
        let (direction, order, scale) = match quantity {
            Quantity::Energy => (None, 0, 1.0),
            Quantity::Directional(u) => (Some(u), 1, 1.0),
            Quantity::SquaredInputGradient => {
                // Order 1 along u = grad_x E, held fixed: d|grad E|^2 = 2 d(u . grad E).
                tangent.resize(n * self.n_inputs(), 0.0);
                self.input_gradient(math, ws, x, n, &mut tangent);
                (Some(&tangent[..]), 1, 2.0)
            }
            Quantity::HessianQuadratic(v) => (Some(v), 2, 1.0),
        };
        self.forward(math, ws, x, direction, n, order);
        let coefficients =
            &mut Self::jets_mut(ws).outputs_and_coefficients().1[order * n..(order + 1) * n];
        for (c, &w) in coefficients.iter_mut().zip(&weights[..n]) {
            *c = scale * w;
        }
        self.backward(math, ws, Some(grad), accumulate, None);
        Self::jets_mut(ws).put_tangent(tangent);
    }
}

/// The first blocks of an input jet stack: `x` (`n x d`) into block 0 and, for
/// `order >= 1`, the tangent into block 1 (what every [`EnergyNet::forward`] starts with).
///
/// # Panics
///
/// When `order >= 1` and there is no tangent (a caller's bug, as the trait documents).
pub(crate) fn load_input_jets(
    into: &mut [f32],
    x: &[f32],
    tangent: Option<&[f32]>,
    n: usize,
    d: usize,
    order: usize,
) {
    into[..n * d].copy_from_slice(&x[..n * d]);
    if order >= 1 {
        let u = tangent.expect("a tangent is needed for order >= 1");
        into[n * d..2 * n * d].copy_from_slice(&u[..n * d]);
    }
}
