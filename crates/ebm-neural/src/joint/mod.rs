//! The joint energy model (Grathwohl et al. 2019, "Your classifier is secretly an energy
//! based model"): a classifier network `f: R^d -> R^K` read as the energy
//! `E(x, y) = -f(x)[y]`, so that `p(y | x) = softmax f(x)` and
//! `E(x) = -logsumexp_y f(x)[y]` is an unnormalized `-ln p(x)`. The network is an
//! [`Mlp`] with `K` outputs whose order-0 passes give the logits and take any
//! `n x K` upstream gradient back to the parameters and to the input. [`train`] fits it to
//! `ln p(y | x) + ln p(x)` with SGLD negatives from a replay buffer.
//!
//! ```
//! use ebm_neural::joint::{JointEnergy, Target};
//! use ebm_neural::{Activation, Cpu, Workspace};
//! let mut rng = ebm_kernels::rng::stream(1, 0, 0);
//! let model = JointEnergy::new(&[2, 8, 3], Activation::Swish, 1.0, &mut rng)?;
//! let (math, mut ws) = (Cpu::sequential(), Workspace::new());
//! let x = [0.5f32, -1.0];
//! let mut log_p = [0.0f32; 3];
//! model.class_log_probabilities(&math, &mut ws, &x, 1, &mut log_p);
//! let total: f32 = log_p.iter().map(|l| l.exp()).sum();
//! assert!((total - 1.0).abs() < 1e-5);
//! let (mut energy, mut grad) = ([0.0f32; 1], [0.0f32; 2]);
//! model.energy_input_gradient(&math, &mut ws, &x, Target::Marginal, &mut energy, &mut grad);
//! assert!(grad.iter().all(|g| g.is_finite()));
//! # Ok::<(), ebm_neural::NeuralError>(())
//! ```

pub mod loss;
#[cfg(test)]
mod tests;
pub mod train;

use crate::mlp::check_layers;
use crate::{Activation, EnergyNet, LayerMath, Mlp, NeuralError, Workspace};
use ebm_core::ModelFile;
use ebm_kernels::rng::StreamRng;
use serde::{Deserialize, Serialize};

/// The model-file kind of a joint energy model.
pub const JOINT_ENERGY_KIND: &str = "joint-energy";

/// A classifier network read as an energy: widths `[d, h1, ..., K]` (`K >= 2` classes),
/// the activation after every hidden layer, linear logits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JointEnergy {
    net: Mlp,
}

/// Which energy of the joint model a pass differentiates.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// `E(x) = -logsumexp_y f(x)[y]`: the model of `x` alone.
    Marginal,
    /// `E(x, y) = -f(x)[y]` with one class per row.
    Classes(&'a [usize]),
}

impl JointEnergy {
    /// A new network with widths `[d, h1, ..., K]`, weights drawn `N(0, scale^2 / d_in)`,
    /// zero biases.
    ///
    /// # Errors
    ///
    /// [`NeuralError::Shape`] unless there are at least two widths, all positive, the
    /// last (the classes) at least 2.
    pub fn new(
        widths: &[usize],
        activation: Activation,
        scale: f32,
        rng: &mut StreamRng,
    ) -> Result<Self, NeuralError> {
        check_layers(widths, 2)?;
        Mlp::with_outputs(widths, activation, scale, rng).map(|net| Self { net })
    }

    /// A network from its parts.
    ///
    /// # Errors
    ///
    /// [`NeuralError::Shape`] for bad widths or a parameter count that does not match them.
    pub fn from_parameters(
        widths: &[usize],
        activation: Activation,
        parameters: Vec<f32>,
    ) -> Result<Self, NeuralError> {
        check_layers(widths, 2)?;
        Mlp::with_outputs_from(widths, activation, parameters).map(|net| Self { net })
    }

    /// `[d, h1, ..., K]`.
    pub fn widths(&self) -> &[usize] {
        self.net.widths()
    }

    /// The input dimension `d`.
    pub fn n_inputs(&self) -> usize {
        self.net.n_inputs()
    }

    /// The classes `K`.
    pub fn n_classes(&self) -> usize {
        *self.net.widths().last().unwrap_or(&0)
    }

    /// The hidden layers' activation.
    pub fn activation(&self) -> Activation {
        self.net.activation()
    }

    /// Every parameter, layer after layer (weights `d_in x d_out` row-major, then bias).
    pub fn parameters(&self) -> &[f32] {
        self.net.parameters()
    }

    /// Prepare for Langevin chains with the parameters fixed
    /// ([`EnergyNet::prepare_sampling`]: a transposed copy of the large weight matrices,
    /// same results, faster input gradients); [`Self::parameters_mut`] and every
    /// optimizer step drop it.
    pub fn prepare_sampling(&mut self) {
        self.net.prepare_sampling();
    }

    /// Every parameter, mutably.
    pub fn parameters_mut(&mut self) -> &mut [f32] {
        self.net.parameters_mut()
    }

    /// The logits `f(x)` of the `n` rows of `x` (`n x d`), `n x K` row-major.
    pub fn logits<'w>(
        &self,
        math: &impl LayerMath,
        ws: &'w mut Workspace,
        x: &[f32],
        n: usize,
    ) -> &'w [f32] {
        self.net.forward(math, ws, x, None, n, 0);
        ws.output(0)
    }

    /// After [`Self::logits`]: the gradient of `sum_{n,k} upstream[n, k] f(x_n)[k]`
    /// (`upstream` `n x K`) with respect to the parameters into `grad_parameters` (added
    /// when `accumulate`) and with respect to `x` into `grad_input` (`n x d`).
    pub fn backward(
        &self,
        math: &impl LayerMath,
        ws: &mut Workspace,
        upstream: &[f32],
        grad_parameters: Option<&mut [f32]>,
        accumulate: bool,
        grad_input: Option<&mut [f32]>,
    ) {
        let coefficients = ws.outputs_and_coefficients().1;
        coefficients.copy_from_slice(&upstream[..coefficients.len()]);
        self.net
            .backward(math, ws, grad_parameters, accumulate, grad_input);
    }

    /// `ln p(y | x)` of the `n` rows of `x` into `out` (`n x K`).
    pub fn class_log_probabilities(
        &self,
        math: &impl LayerMath,
        ws: &mut Workspace,
        x: &[f32],
        n: usize,
        out: &mut [f32],
    ) {
        let k = self.n_classes();
        let logits = self.logits(math, ws, x, n);
        for (row, logit) in out.chunks_exact_mut(k).zip(logits.chunks_exact(k)) {
            let lse = logsumexp(logit);
            for (o, &l) in row.iter_mut().zip(logit) {
                *o = l - lse;
            }
        }
    }

    /// The energies of `target` at the rows of `x` (`energies.len()` rows) into
    /// `energies`, and their input gradients into `grad_x` (`n x d`): what Langevin
    /// dynamics on the marginal or the class-conditional model needs.
    pub fn energy_input_gradient(
        &self,
        math: &impl LayerMath,
        ws: &mut Workspace,
        x: &[f32],
        target: Target<'_>,
        energies: &mut [f32],
        grad_x: &mut [f32],
    ) {
        let (n, k) = (energies.len(), self.n_classes());
        self.net.forward(math, ws, x, None, n, 0);
        let (logits, coefficients) = ws.outputs_and_coefficients();
        for (i, (c, logit)) in coefficients
            .chunks_exact_mut(k)
            .zip(logits.chunks_exact(k))
            .enumerate()
        {
            energies[i] = energy_upstream(logit, target.class(i), 1.0, c);
        }
        self.net.backward(math, ws, None, false, Some(grad_x));
    }
}

impl Target<'_> {
    /// The class of row `i` (`None` for the marginal).
    fn class(&self, i: usize) -> Option<usize> {
        match self {
            Target::Marginal => None,
            Target::Classes(classes) => Some(classes[i]),
        }
    }
}

/// `ln sum_k e^{v_k}`, stably.
pub(crate) fn logsumexp(values: &[f32]) -> f32 {
    let max = values.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    if !max.is_finite() {
        return max;
    }
    max + values.iter().map(|&v| (v - max).exp()).sum::<f32>().ln()
}

/// The energy of one row's `logits` (`-logsumexp`, or `-logit[y]` for `class = Some(y)`)
/// with `scale` times its gradient with respect to the logits written to `upstream`
/// (`-softmax`, or `-onehot(y)`); returns the energy.
pub(crate) fn energy_upstream(
    logits: &[f32],
    class: Option<usize>,
    scale: f32,
    upstream: &mut [f32],
) -> f32 {
    match class {
        None => {
            let lse = logsumexp(logits);
            for (u, &l) in upstream.iter_mut().zip(logits) {
                *u = -scale * (l - lse).exp();
            }
            -lse
        }
        Some(y) => {
            upstream.fill(0.0);
            upstream[y] = -scale;
            -logits[y]
        }
    }
}

impl ModelFile for JointEnergy {
    const KIND: &'static str = JOINT_ENERGY_KIND;

    fn shapes(&self) -> Vec<u64> {
        // The header of an MLP's file: its widths.
        ModelFile::shapes(&self.net)
    }

    fn parameters(&self) -> Vec<&[f32]> {
        vec![self.net.parameters()]
    }

    fn check(&self) -> Result<(), String> {
        check_layers(self.widths(), 2).map_err(|e| e.to_string())?;
        self.net.check_parameter_count()
    }
}
