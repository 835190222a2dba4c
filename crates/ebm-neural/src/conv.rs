//! A convolutional energy for images: 3x3 convolutions (same padding, stride 1) each
//! followed by the activation and 2x2 average pooling, then an MLP head (dense layers,
//! the activation between them, a linear scalar output). Every pass is the MLP's jet
//! pass: convolution and pooling are linear, so they map the blocks of a jet stack alike
//! (the bias on block 0 only), and the activation's jets are the MLP's.

use crate::backend::{ActivationBackward, ActivationForward, Dense, DenseGrad, LayerMath, Rows};
use crate::image_ops::ImageDims;
use crate::{Activation, EnergyNet, Mlp, NeuralError, Workspace};
use ebm_core::ModelFile;
use ebm_kernels::rng::{StreamRng, normal_f64};
use serde::{Deserialize, Serialize};

/// The model-file kind of a convolutional energy.
pub const CONV_ENERGY_KIND: &str = "conv-energy";

/// A convolutional energy `E: R^(h w c) -> R` on images stored channels last: stage `s`
/// is a 3x3 convolution to `channels[s]` channels, the activation, and 2x2 average
/// pooling; the pooled features of the last stage go through the MLP `head`
/// (`[features, h1, ..., 1]`). Convolution parameters are stored stage after stage, each
/// as its weights (`9 c_in x c_out`, row `(3 dy + dx) c_in + c`) then its bias; the
/// parameter gradient has them first, then the head's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvNet {
    input: ImageDims,
    channels: Vec<usize>,
    conv: Vec<f32>,
    head: Mlp,
}

/// Buffers of the passes of a [`ConvNet`], reused from call to call (they grow to the
/// largest batch and order seen; nothing is allocated inside the passes).
#[derive(Clone, Debug, Default)]
pub struct ConvWorkspace {
    /// The input jets `(x, u, 0)`.
    input: Vec<f32>,
    /// The buffers of each stage.
    stages: Vec<StageBuffers>,
    /// Scratch gradients of a stage's activation and convolution outputs, and im2col rows.
    grad_acts: Vec<f32>,
    grad_pre: Vec<f32>,
    grad_cols: Vec<f32>,
    /// The head's workspace (which holds the output jets and coefficients).
    head: Workspace,
    n: usize,
    order: usize,
}

/// One stage's jets: the im2col rows of its input, the convolution output, `phi'`,
/// `phi''` and `phi'''` at its primal values, the activation, the pooled output (the last
/// stage's is the head's input), and the gradient with respect to the pooled output.
#[derive(Clone, Debug, Default)]
struct StageBuffers {
    cols: Vec<f32>,
    pre: Vec<f32>,
    derivatives: Vec<f32>,
    acts: Vec<f32>,
    pooled: Vec<f32>,
    grad_pooled: Vec<f32>,
}

impl ConvNet {
    /// A new network for `input` images with convolution stages of `channels` and head
    /// hidden widths `hidden`; weights drawn `N(0, scale^2 / fan_in)`, zero biases.
    ///
    /// # Errors
    ///
    /// [`NeuralError::Shape`] unless every size is positive and the last stage's pooled
    /// image still has a pixel.
    ///
    /// # Examples
    ///
    /// ```
    /// use ebm_neural::{Activation, ConvNet, Cpu, EnergyNet, ImageDims};
    /// let dims = ImageDims { height: 6, width: 6, channels: 1 };
    /// let mut rng = ebm_kernels::rng::stream(1, 0, 0);
    /// let net = ConvNet::new(dims, &[4], &[8], Activation::Swish, 1.0, &mut rng)?;
    /// let mut ws = Default::default();
    /// let x = vec![0.5f32; 2 * 36];
    /// let mut grad_x = vec![0.0f32; 2 * 36];
    /// net.input_gradient(&Cpu::sequential(), &mut ws, &x, 2, &mut grad_x);
    /// assert!(grad_x.iter().all(|g| g.is_finite()));
    /// # Ok::<(), ebm_neural::NeuralError>(())
    /// ```
    pub fn new(
        input: ImageDims,
        channels: &[usize],
        hidden: &[usize],
        activation: Activation,
        scale: f32,
        rng: &mut StreamRng,
    ) -> Result<Self, NeuralError> {
        let features = features(input, channels)?;
        let mut conv = Vec::with_capacity(conv_count(input, channels));
        let mut c_in = input.channels;
        for &c_out in channels {
            let std = scale as f64 / ((9 * c_in) as f64).sqrt();
            conv.extend((0..9 * c_in * c_out).map(|_| (std * normal_f64(rng)) as f32));
            conv.extend(std::iter::repeat_n(0.0, c_out));
            c_in = c_out;
        }
        let head = Mlp::new(&head_widths(features, hidden), activation, scale, rng)?;
        Ok(Self {
            input,
            channels: channels.to_vec(),
            conv,
            head,
        })
    }

    /// A network from its parts: `parameters` laid out as the parameter gradient
    /// (convolution stages, then the head's layers).
    ///
    /// # Errors
    ///
    /// [`NeuralError::Shape`] for bad sizes or a parameter count that does not match them.
    pub fn from_parameters(
        input: ImageDims,
        channels: &[usize],
        hidden: &[usize],
        activation: Activation,
        mut parameters: Vec<f32>,
    ) -> Result<Self, NeuralError> {
        let features = features(input, channels)?;
        let count = conv_count(input, channels);
        if parameters.len() < count {
            return Err(NeuralError::Shape(format!(
                "{} parameters for convolution stages {channels:?} (expected at least {count})",
                parameters.len()
            )));
        }
        let head = parameters.split_off(count);
        let head = Mlp::from_parameters(&head_widths(features, hidden), activation, head)?;
        Ok(Self {
            input,
            channels: channels.to_vec(),
            conv: parameters,
            head,
        })
    }

    /// The input images' shape.
    pub fn input_dims(&self) -> ImageDims {
        self.input
    }

    /// Output channels of each convolution stage.
    pub fn channels(&self) -> &[usize] {
        &self.channels
    }

    /// The dense head.
    pub fn head(&self) -> &Mlp {
        &self.head
    }

    /// The activation (of every stage and of the head's hidden layers).
    pub fn activation(&self) -> Activation {
        self.head.activation()
    }

    /// The input shape of stage `s`.
    fn stage_dims(&self, s: usize) -> ImageDims {
        (0..s).fold(self.input, |dims, t| {
            dims.with_channels(self.channels[t]).pooled()
        })
    }

    /// Where stage `s`'s weights start, its bias starts and it ends in the convolution
    /// parameters.
    fn conv_offsets(&self, s: usize) -> (usize, usize, usize) {
        let start = conv_count(self.input, &self.channels[..s]);
        let c_in = self.stage_dims(s).channels;
        let bias = start + 9 * c_in * self.channels[s];
        (start, bias, bias + self.channels[s])
    }

    /// Stage `s`'s weights and bias.
    fn conv_layer(&self, s: usize) -> Dense<'_> {
        let (w, b, end) = self.conv_offsets(s);
        Dense::new(&self.conv[w..b], &self.conv[b..end])
    }

    /// Size every buffer for `n` examples at `order` (no allocation once grown).
    fn prepare(&self, ws: &mut ConvWorkspace, n: usize, order: usize) {
        let (stages, k) = (self.channels.len(), order + 1);
        ws.stages.resize_with(stages, StageBuffers::default);
        ws.input.resize(k * n * self.input.len(), 0.0);
        let (mut largest, mut largest_cols) = (0, 0);
        for s in 0..stages {
            let dims = self.stage_dims(s);
            let out = dims.with_channels(self.channels[s]);
            let m = k * n * out.len();
            let cols = k * n * dims.pixels() * 9 * dims.channels;
            let stage = &mut ws.stages[s];
            stage.cols.resize(cols, 0.0);
            stage.pre.resize(m, 0.0);
            stage.acts.resize(m, 0.0);
            stage.derivatives.resize(3 * n * out.len(), 0.0);
            stage.pooled.resize(k * n * out.pooled().len(), 0.0);
            stage.grad_pooled.resize(k * n * out.pooled().len(), 0.0);
            (largest, largest_cols) = (largest.max(m), largest_cols.max(cols));
        }
        ws.grad_acts.resize(largest, 0.0);
        ws.grad_pre.resize(largest, 0.0);
        ws.grad_cols.resize(largest_cols, 0.0);
        (ws.n, ws.order) = (n, order);
    }
}

impl EnergyNet for ConvNet {
    type Workspace = ConvWorkspace;

    fn n_inputs(&self) -> usize {
        self.input.len()
    }

    fn n_parameters(&self) -> usize {
        self.conv.len() + self.head.parameters().len()
    }

    fn n_layers(&self) -> usize {
        self.channels.len() + self.head.n_layers()
    }

    fn forward(
        &self,
        math: &impl LayerMath,
        ws: &mut ConvWorkspace,
        x: &[f32],
        tangent: Option<&[f32]>,
        n: usize,
        order: usize,
    ) {
        let order = order.min(2);
        self.prepare(ws, n, order);
        let (d, k, stages) = (self.input.len(), order + 1, self.channels.len());
        crate::network::load_input_jets(&mut ws.input, x, tangent, n, d, order);
        if order == 2 {
            ws.input[2 * n * d..3 * n * d].fill(0.0);
        }
        let images = Rows {
            total: k * n,
            primal: n,
        };
        for s in 0..stages {
            let dims = self.stage_dims(s);
            let out = dims.with_channels(self.channels[s]);
            let (done, rest) = ws.stages.split_at_mut(s);
            let input = done.last().map_or(&ws.input, |previous| &previous.pooled);
            let stage = &mut rest[0];
            let (cols, pre) = (&mut stage.cols, &mut stage.pre);
            math.conv_forward(self.conv_layer(s), dims, images, input, cols, pre);
            math.activation_forward(ActivationForward {
                activation: self.activation(),
                order,
                len: n * out.len(),
                z: &stage.pre,
                out: &mut stage.acts,
                derivatives: &mut stage.derivatives,
            });
            math.pool_forward(out, k * n, &stage.acts, &mut stage.pooled);
        }
        let features = &ws.stages[stages - 1].pooled;
        self.head
            .forward_jets(math, &mut ws.head, features, n, order);
    }

    fn backward(
        &self,
        math: &impl LayerMath,
        ws: &mut ConvWorkspace,
        grad_parameters: Option<&mut [f32]>,
        accumulate: bool,
        mut grad_input: Option<&mut [f32]>,
    ) {
        let (n, order, stages) = (ws.n, ws.order, self.channels.len());
        let k = order + 1;
        let (mut grad_conv, grad_head) = match grad_parameters {
            Some(g) => {
                let (conv, head) = g.split_at_mut(self.conv.len());
                (Some(conv), Some(head))
            }
            None => (None, None),
        };
        let features = Some(&mut ws.stages[stages - 1].grad_pooled[..]);
        self.head
            .backward(math, &mut ws.head, grad_head, accumulate, features);
        let images = Rows {
            total: k * n,
            primal: n,
        };
        for s in (0..stages).rev() {
            let dims = self.stage_dims(s);
            let out = dims.with_channels(self.channels[s]);
            let m = k * n * out.len();
            let (done, rest) = ws.stages.split_at_mut(s);
            let stage = &rest[0];
            math.pool_backward(out, k * n, &stage.grad_pooled, &mut ws.grad_acts[..m]);
            math.activation_backward(ActivationBackward {
                order,
                len: n * out.len(),
                z: &stage.pre,
                derivatives: &stage.derivatives,
                grad_out: &ws.grad_acts,
                grad_z: &mut ws.grad_pre,
            });
            if let Some(g) = grad_conv.as_deref_mut() {
                let (w, b, end) = self.conv_offsets(s);
                let (weights, bias) = g[w..end].split_at_mut(b - w);
                let into = DenseGrad {
                    weights,
                    bias,
                    accumulate,
                };
                math.conv_gradient(dims, images, &stage.cols, &ws.grad_pre, into);
            }
            let into = if let Some(previous) = done.last_mut() {
                Some(&mut previous.grad_pooled[..k * n * dims.len()])
            } else {
                grad_input.as_deref_mut().map(|g| &mut g[..n * dims.len()])
            };
            if let Some(into) = into {
                let layer = self.conv_layer(s);
                math.conv_input_gradient(layer, dims, &ws.grad_pre, &mut ws.grad_cols, into);
            }
        }
    }

    fn jets(ws: &ConvWorkspace) -> &Workspace {
        &ws.head
    }

    fn jets_mut(ws: &mut ConvWorkspace) -> &mut Workspace {
        &mut ws.head
    }

    fn prepare_sampling(&mut self) {
        self.head.prepare_sampling();
    }

    fn visit_layers(&mut self, visit: &mut dyn FnMut(&mut [f32], &mut [f32])) {
        let mut parameters: &mut [f32] = &mut self.conv;
        let mut c_in = self.input.channels;
        for &c_out in &self.channels {
            let size = 9 * c_in * c_out;
            let (layer, rest) = std::mem::take(&mut parameters).split_at_mut(size + c_out);
            parameters = rest;
            let (weights, bias) = layer.split_at_mut(size);
            visit(weights, bias);
            c_in = c_out;
        }
        self.head.visit_layers(visit);
    }
}

/// Convolution parameters of `channels` stages on `input` images.
fn conv_count(input: ImageDims, channels: &[usize]) -> usize {
    let mut c_in = input.channels;
    let mut count = 0;
    for &c_out in channels {
        count += 9 * c_in * c_out + c_out;
        c_in = c_out;
    }
    count
}

/// `[features, hidden..., 1]`.
fn head_widths(features: usize, hidden: &[usize]) -> Vec<usize> {
    let mut widths = vec![features];
    widths.extend(hidden);
    widths.push(1);
    widths
}

/// The head's input width (the last stage's pooled values), checking the sizes.
fn features(input: ImageDims, channels: &[usize]) -> Result<usize, NeuralError> {
    let mut dims = input;
    for &c in channels {
        dims = dims.with_channels(c).pooled();
    }
    if input.is_empty() || channels.is_empty() || channels.contains(&0) || dims.is_empty() {
        return Err(NeuralError::Shape(format!(
            "a convolutional energy needs positive image sizes ({}x{}x{}) and at least one \
             stage of positive channels ({channels:?}) whose pooled image keeps a pixel",
            input.height, input.width, input.channels
        )));
    }
    Ok(dims.len())
}

impl ModelFile for ConvNet {
    const KIND: &'static str = CONV_ENERGY_KIND;

    fn shapes(&self) -> Vec<u64> {
        let mut shapes = vec![
            self.input.height as u64,
            self.input.width as u64,
            self.input.channels as u64,
        ];
        shapes.extend(self.channels.iter().map(|&c| c as u64));
        shapes
    }

    fn parameters(&self) -> Vec<&[f32]> {
        vec![&self.conv, self.head.parameters()]
    }

    fn check(&self) -> Result<(), String> {
        let features = features(self.input, &self.channels).map_err(|e| e.to_string())?;
        if self.conv.len() != conv_count(self.input, &self.channels) {
            return Err(format!(
                "{} convolution parameters for stages {:?}",
                self.conv.len(),
                self.channels
            ));
        }
        self.head.check()?;
        if self.head.n_inputs() != features {
            return Err(format!(
                "the head takes {} inputs, the last stage gives {features}",
                self.head.n_inputs()
            ));
        }
        Ok(())
    }
}
