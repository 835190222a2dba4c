//! The MLP energy `E(x)`: dense layers with a smooth activation between them and one linear
//! output, with every pass written out explicitly.
//!
//! All passes are one *jet* pass forward and one reverse pass back. The forward pass pushes
//! `x + t u` through the network as a truncated Taylor series in `t` (order 0: `E`; order 1:
//! also `D_u E = u . grad_x E`; order 2: also `D_u^2 E = u^T H u`), and the reverse pass
//! differentiates any per-example combination `c0 E + c1 D_u E + c2 D_u^2 E` with respect to
//! the parameters (and, when asked, to `x`). So:
//!
//! - `dE/dtheta`: order 0, `c0 = 1`; `grad_x E`: the same pass back to the input;
//! - the parameter gradient of `u . grad_x E` (denoising score matching): order 1, `c1 = 1`;
//! - of `|grad_x E|^2`: order 1 along `u = grad_x E` (held fixed), `c1 = 2`;
//! - of `v^T grad_x (v^T grad_x E)` (sliced score matching): order 2 along `v`, `c2 = 1`.

use crate::backend::{ActivationBackward, ActivationForward, Dense, DenseGrad, LayerMath, Rows};
use crate::transposed::TransposedWeights;
use crate::{Activation, EnergyNet, NeuralError};
use ebm_core::ModelFile;
use ebm_kernels::rng::{StreamRng, normal_f64};
use serde::{Deserialize, Serialize};

/// The model-file kind of an MLP energy.
pub const MLP_ENERGY_KIND: &str = "mlp-energy";

/// An MLP energy `E: R^d -> R`: `widths = [d, h1, ..., 1]`, the activation after every
/// hidden layer, a linear output. Parameters are stored layer after layer, each as its
/// weights (`d_in x d_out`, row-major) then its bias.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    widths: Vec<usize>,
    activation: Activation,
    parameters: Vec<f32>,
    /// The transposed large weight matrices while sampling
    /// ([`EnergyNet::prepare_sampling`]); never saved, dropped by every mutable access to
    /// the parameters.
    #[serde(skip)]
    transposed: TransposedWeights,
}

/// Buffers of the passes, reused from call to call (they grow to the largest batch and
/// order seen; nothing is allocated inside the passes).
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// Input jets of each layer: `acts[0]` is `(x, u, 0)`, `acts[l]` the output of hidden
    /// layer `l`.
    acts: Vec<Vec<f32>>,
    /// Pre-activation jets of each layer (`pre[L-1]` is the output).
    pre: Vec<Vec<f32>>,
    /// `phi', phi'', phi'''` at the primal pre-activations of each hidden layer.
    derivatives: Vec<Vec<f32>>,
    /// Gradient with respect to `acts[l]`, `l >= 1` (stored at `l - 1`).
    grad_acts: Vec<Vec<f32>>,
    /// Gradient with respect to `pre[l]`.
    grad_pre: Vec<Vec<f32>>,
    /// `(c0, c1, c2)` per example, block by block.
    coefficients: Vec<f32>,
    /// A scratch copy of an input gradient (the tangent of the `|grad E|^2` pass).
    tangent: Vec<f32>,
    n: usize,
    order: usize,
    /// Outputs per example of the last pass (1 for an energy, K for a classifier's logits).
    out_width: usize,
    /// Whether the input is a whole jet stack (the head of a convolutional net) rather
    /// than `(x, u, 0)`.
    jet_input: bool,
}

impl Workspace {
    /// An empty workspace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Size every buffer for `n` examples at `order` (no allocation once grown).
    fn prepare(&mut self, widths: &[usize], n: usize, order: usize) {
        let layers = widths.len() - 1;
        let k = order + 1;
        self.acts.resize_with(layers, Vec::new);
        self.pre.resize_with(layers, Vec::new);
        self.derivatives.resize_with(layers - 1, Vec::new);
        self.grad_acts.resize_with(layers - 1, Vec::new);
        self.grad_pre.resize_with(layers, Vec::new);
        for l in 0..layers {
            self.acts[l].resize(k * n * widths[l], 0.0);
            self.pre[l].resize(k * n * widths[l + 1], 0.0);
            self.grad_pre[l].resize(k * n * widths[l + 1], 0.0);
            if l + 1 < layers {
                self.derivatives[l].resize(3 * n * widths[l + 1], 0.0);
                self.grad_acts[l].resize(k * n * widths[l + 1], 0.0);
            }
        }
        self.out_width = widths[layers];
        self.coefficients.resize(k * n * self.out_width, 0.0);
        self.coefficients.fill(0.0);
        self.n = n;
        self.order = order;
    }

    /// Input blocks the first layer multiplies (and the input gradient has).
    fn input_blocks(&self) -> usize {
        if self.jet_input { self.order + 1 } else { 1 }
    }

    /// Rows of the first layer's product: the second-order block of `(x, u, 0)` is 0, so
    /// only the first two blocks are multiplied unless the input is a whole jet stack.
    fn first_rows(&self) -> usize {
        let k = self.order + 1;
        if self.jet_input {
            k * self.n
        } else {
            k.min(2) * self.n
        }
    }

    /// Take the scratch tangent out (to pass it back in with [`Self::put_tangent`]).
    pub(crate) fn take_tangent(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.tangent)
    }

    /// Give back the scratch tangent.
    pub(crate) fn put_tangent(&mut self, tangent: Vec<f32>) {
        self.tangent = tangent;
    }

    /// Block `block` of the output jets of the last forward pass: `E` (0), `D_u E` (1) or
    /// `D_u^2 E` (2), one value per example (for a network with `K` outputs, `n x K`
    /// values, row-major).
    pub fn output(&self, block: usize) -> &[f32] {
        let out = self.pre.last().map_or(&[][..], |p| &p[..]);
        let m = self.n * self.out_width;
        &out[block * m..(block + 1) * m]
    }

    /// The output jets of the last forward pass (block after block) and the coefficients
    /// `(c0, c1, c2)` the next backward pass differentiates (zero after the forward pass).
    pub fn outputs_and_coefficients(&mut self) -> (&[f32], &mut [f32]) {
        let k = (self.order + 1) * self.n * self.out_width;
        let out = self.pre.last().map_or(&[][..], |p| &p[..k]);
        (out, &mut self.coefficients[..k])
    }
}

impl Mlp {
    /// A new MLP with widths `[d, h1, ..., 1]`, weights drawn `N(0, scale^2 / d_in)` and
    /// zero biases.
    ///
    /// # Errors
    ///
    /// [`NeuralError::Shape`] unless there are at least two widths, all positive, the last 1.
    pub fn new(
        widths: &[usize],
        activation: Activation,
        scale: f32,
        rng: &mut StreamRng,
    ) -> Result<Self, NeuralError> {
        check_widths(widths)?;
        Ok(Self::drawn(widths, activation, scale, rng))
    }

    /// An MLP with `K = widths.last()` outputs (the logits of a classifier: only the
    /// order-0 passes are meant for it), drawn as [`Mlp::new`] draws an energy.
    pub(crate) fn with_outputs(
        widths: &[usize],
        activation: Activation,
        scale: f32,
        rng: &mut StreamRng,
    ) -> Result<Self, NeuralError> {
        check_layers(widths, 1)?;
        Ok(Self::drawn(widths, activation, scale, rng))
    }

    /// An MLP from its parts with any number of outputs (see [`Mlp::with_outputs`]).
    pub(crate) fn with_outputs_from(
        widths: &[usize],
        activation: Activation,
        parameters: Vec<f32>,
    ) -> Result<Self, NeuralError> {
        check_layers(widths, 1)?;
        Self::assembled(widths, activation, parameters)
    }

    /// Weights drawn `N(0, scale^2 / d_in)`, zero biases (widths already checked).
    fn drawn(widths: &[usize], activation: Activation, scale: f32, rng: &mut StreamRng) -> Self {
        let mut parameters = Vec::with_capacity(parameter_count(widths));
        for pair in widths.windows(2) {
            let std = scale as f64 / (pair[0] as f64).sqrt();
            parameters.extend((0..pair[0] * pair[1]).map(|_| (std * normal_f64(rng)) as f32));
            parameters.extend(std::iter::repeat_n(0.0, pair[1]));
        }
        Self {
            widths: widths.to_vec(),
            activation,
            parameters,
            transposed: TransposedWeights::default(),
        }
    }

    /// An MLP from its parts.
    ///
    /// # Errors
    ///
    /// [`NeuralError::Shape`] for bad widths or a parameter count that does not match them.
    pub fn from_parameters(
        widths: &[usize],
        activation: Activation,
        parameters: Vec<f32>,
    ) -> Result<Self, NeuralError> {
        check_widths(widths)?;
        Self::assembled(widths, activation, parameters)
    }

    /// The MLP of checked `widths` and `parameters`, when their counts agree.
    fn assembled(
        widths: &[usize],
        activation: Activation,
        parameters: Vec<f32>,
    ) -> Result<Self, NeuralError> {
        if parameters.len() != parameter_count(widths) {
            return Err(NeuralError::Shape(format!(
                "{} parameters for widths {widths:?} (expected {})",
                parameters.len(),
                parameter_count(widths)
            )));
        }
        Ok(Self {
            widths: widths.to_vec(),
            activation,
            parameters,
            transposed: TransposedWeights::default(),
        })
    }

    /// `Ok(())` when the parameters are as many as the widths need, else a message.
    pub(crate) fn check_parameter_count(&self) -> Result<(), String> {
        if self.parameters.len() != parameter_count(&self.widths) {
            return Err(format!(
                "{} parameters for widths {:?}",
                self.parameters.len(),
                self.widths
            ));
        }
        Ok(())
    }

    /// `[d, h1, ..., 1]`.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The input dimension `d`.
    pub fn n_inputs(&self) -> usize {
        self.widths[0]
    }

    /// The hidden layers' activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Dense layers (hidden ones and the output).
    pub fn n_layers(&self) -> usize {
        self.widths.len() - 1
    }

    /// Every parameter, layer after layer.
    pub fn parameters(&self) -> &[f32] {
        &self.parameters
    }

    /// Every parameter, mutably (drops the transposed copy of
    /// [`EnergyNet::prepare_sampling`]).
    pub fn parameters_mut(&mut self) -> &mut [f32] {
        self.transposed.invalidate();
        &mut self.parameters
    }

    /// Where layer `l`'s weights start, its bias starts and it ends in [`Self::parameters`].
    pub fn layer_offsets(&self, l: usize) -> (usize, usize, usize) {
        let start: usize = self.widths[..=l]
            .windows(2)
            .map(|p| p[0] * p[1] + p[1])
            .sum();
        let bias = start + self.widths[l] * self.widths[l + 1];
        (start, bias, bias + self.widths[l + 1])
    }

    /// Layer `l`'s weights and bias (and their transposed copy, when prepared).
    pub fn layer(&self, l: usize) -> Dense<'_> {
        let (w, b, end) = self.layer_offsets(l);
        Dense {
            weights: &self.parameters[w..b],
            bias: &self.parameters[b..end],
            weights_t: self.transposed.layer(l),
        }
    }

    /// Whether the transposed copy of [`EnergyNet::prepare_sampling`] is in place.
    pub fn is_prepared_for_sampling(&self) -> bool {
        (0..self.n_layers()).any(|l| self.transposed.layer(l).is_some())
    }

    /// The jet pass forward from a whole input jet stack (`order + 1` blocks of `n x d`):
    /// the dense head of a convolutional net. [`backward`](Self::backward) then gives the
    /// gradient of every input block.
    pub(crate) fn forward_jets(
        &self,
        math: &impl LayerMath,
        ws: &mut Workspace,
        jets: &[f32],
        n: usize,
        order: usize,
    ) {
        ws.prepare(&self.widths, n, order);
        ws.jet_input = true;
        let m = (order + 1) * n * self.widths[0];
        ws.acts[0][..m].copy_from_slice(&jets[..m]);
        self.forward_layers(math, ws);
    }

    /// The layers of the forward pass, from `ws.acts[0]`.
    fn forward_layers(&self, math: &impl LayerMath, ws: &mut Workspace) {
        let (n, order, layers) = (ws.n, ws.order, self.n_layers());
        let k = order + 1;
        for l in 0..layers {
            let rows = Rows {
                total: if l == 0 { ws.first_rows() } else { k * n },
                primal: n,
            };
            let width = self.widths[l + 1];
            math.dense_forward(self.layer(l), rows, &ws.acts[l], &mut ws.pre[l]);
            if l == 0 && order == 2 && !ws.jet_input {
                ws.pre[0][2 * n * width..3 * n * width].fill(0.0);
            }
            if l + 1 < layers {
                math.activation_forward(ActivationForward {
                    activation: self.activation,
                    order,
                    len: n * width,
                    z: &ws.pre[l],
                    out: &mut ws.acts[l + 1],
                    derivatives: &mut ws.derivatives[l],
                });
            }
        }
    }
}

impl EnergyNet for Mlp {
    type Workspace = Workspace;

    fn n_inputs(&self) -> usize {
        self.widths[0]
    }

    fn n_parameters(&self) -> usize {
        self.parameters.len()
    }

    fn n_layers(&self) -> usize {
        self.widths.len() - 1
    }

    fn forward(
        &self,
        math: &impl LayerMath,
        ws: &mut Workspace,
        x: &[f32],
        tangent: Option<&[f32]>,
        n: usize,
        order: usize,
    ) {
        let order = order.min(2);
        ws.prepare(&self.widths, n, order);
        ws.jet_input = false;
        let d = self.widths[0];
        crate::network::load_input_jets(&mut ws.acts[0], x, tangent, n, d, order);
        self.forward_layers(math, ws);
    }

    fn backward(
        &self,
        math: &impl LayerMath,
        ws: &mut Workspace,
        mut grad_parameters: Option<&mut [f32]>,
        accumulate: bool,
        mut grad_input: Option<&mut [f32]>,
    ) {
        let (n, order, layers) = (ws.n, ws.order, self.n_layers());
        let k = order + 1;
        let m = k * n * ws.out_width;
        ws.grad_pre[layers - 1][..m].copy_from_slice(&ws.coefficients[..m]);
        for l in (0..layers).rev() {
            let rows = Rows {
                total: if l == 0 { ws.first_rows() } else { k * n },
                primal: n,
            };
            if let Some(g) = grad_parameters.as_deref_mut() {
                let (w, b, end) = self.layer_offsets(l);
                let (weights, bias) = g[w..end].split_at_mut(b - w);
                let into = DenseGrad {
                    weights,
                    bias,
                    accumulate,
                };
                math.dense_gradient(rows, &ws.acts[l], &ws.grad_pre[l], into);
            }
            let d_in = self.widths[l];
            let into: Option<&mut [f32]> = if l > 0 {
                Some(&mut ws.grad_acts[l - 1][..k * n * d_in])
            } else {
                let blocks = ws.input_blocks();
                grad_input
                    .as_deref_mut()
                    .map(|g| &mut g[..blocks * n * d_in])
            };
            if let Some(into) = into {
                math.dense_input_gradient(self.layer(l), &ws.grad_pre[l], into);
            }
            if l > 0 {
                math.activation_backward(ActivationBackward {
                    order,
                    len: n * d_in,
                    z: &ws.pre[l - 1],
                    derivatives: &ws.derivatives[l - 1],
                    grad_out: &ws.grad_acts[l - 1],
                    grad_z: &mut ws.grad_pre[l - 1],
                });
            }
        }
    }

    fn jets(ws: &Workspace) -> &Workspace {
        ws
    }

    fn jets_mut(ws: &mut Workspace) -> &mut Workspace {
        ws
    }

    fn prepare_sampling(&mut self) {
        self.transposed.prepare(&self.widths, &self.parameters);
    }

    fn visit_layers(&mut self, visit: &mut dyn FnMut(&mut [f32], &mut [f32])) {
        self.transposed.invalidate();
        let mut parameters: &mut [f32] = &mut self.parameters;
        for pair in self.widths.windows(2) {
            let (layer, rest) =
                std::mem::take(&mut parameters).split_at_mut(pair[0] * pair[1] + pair[1]);
            parameters = rest;
            let (weights, bias) = layer.split_at_mut(pair[0] * pair[1]);
            visit(weights, bias);
        }
    }
}

/// A per-example quantity whose weighted parameter gradient
/// [`EnergyNet::parameter_gradient`] computes.
#[derive(Clone, Copy, Debug)]
pub enum Quantity<'a> {
    /// The energy `E(x_n)`.
    Energy,
    /// `u_n . grad_x E(x_n)` along the rows of `u` (`n x d`; denoising score matching).
    Directional(&'a [f32]),
    /// `|grad_x E(x_n)|^2`.
    SquaredInputGradient,
    /// `v_n^T grad_x (v_n^T grad_x E(x_n)) = v_n^T H v_n` along the rows of `v` (`n x d`;
    /// sliced score matching).
    HessianQuadratic(&'a [f32]),
}

/// Parameters of an MLP of `widths`.
fn parameter_count(widths: &[usize]) -> usize {
    widths.windows(2).map(|p| p[0] * p[1] + p[1]).sum()
}

/// At least two widths, all positive, the last 1.
fn check_widths(widths: &[usize]) -> Result<(), NeuralError> {
    if widths.len() < 2 || widths.contains(&0) || widths.last() != Some(&1) {
        return Err(NeuralError::Shape(format!(
            "MLP widths must be [d, h1, ..., 1] with every width positive, got {widths:?}"
        )));
    }
    Ok(())
}

/// At least two widths, all positive, the last (the outputs `K`) at least `min_outputs`.
pub(crate) fn check_layers(widths: &[usize], min_outputs: usize) -> Result<(), NeuralError> {
    if widths.len() < 2 || widths.contains(&0) || widths.last() < Some(&min_outputs) {
        return Err(NeuralError::Shape(format!(
            "MLP widths must be [d, h1, ..., K] with every width positive and K >= {min_outputs}, got {widths:?}"
        )));
    }
    Ok(())
}

impl ModelFile for Mlp {
    const KIND: &'static str = MLP_ENERGY_KIND;

    fn shapes(&self) -> Vec<u64> {
        self.widths.iter().map(|&w| w as u64).collect()
    }

    fn parameters(&self) -> Vec<&[f32]> {
        vec![&self.parameters]
    }

    fn check(&self) -> Result<(), String> {
        check_widths(&self.widths).map_err(|e| e.to_string())?;
        self.check_parameter_count()
    }
}
