//! Free-form neural energies: `p(x) = exp(-E(x)) / Z` with `E` a network, learned without
//! `Z`. The networks ([`Mlp`]: dense layers, softplus / swish / ELU, a linear scalar
//! output; [`ConvNet`]: 3x3 convolutions and 2x2 average pooling before an MLP head;
//! both behind [`EnergyNet`]) have every pass written out explicitly: the energy, its
//! parameter gradient, its input gradient, and the second-order products score matching
//! needs (the parameter gradient of `u . grad_x E`, of `|grad_x E|^2` and of
//! `v^T grad_x (v^T grad_x E)`), all through the small [`LayerMath`] trait ([`Cpu`]: the kernel crate's GEMM). Training
//! ([`train`]) runs through the toolkit's one training loop: contrastive divergence with
//! Langevin negatives (short-run chains from noise, or a persistent replay buffer), and
//! denoising and sliced score matching, and noise-conditional score matching over a
//! ladder of noise levels ([`noise_conditional`]) sampled by annealed Langevin dynamics
//! ([`annealed`]). [`density`] has 2-D test densities and the exact,
//! quadrature-normalized negative log-likelihood of a 2-D energy; [`ais`] estimates
//! `ln Z` in any dimension by annealed importance sampling.
//!
//! ```
//! use ebm_neural::{Activation, Cpu, EnergyNet, Mlp, Workspace};
//! let mut rng = ebm_kernels::rng::stream(1, 0, 0);
//! let mlp = Mlp::new(&[2, 8, 1], Activation::Softplus, 1.0, &mut rng)?;
//! let (math, mut ws) = (Cpu::sequential(), Workspace::new());
//! let x = [0.5f32, -1.0, 2.0, 0.0]; // two points in 2-D
//! let mut grad_x = [0.0f32; 4];
//! mlp.input_gradient(&math, &mut ws, &x, 2, &mut grad_x);
//! let energies = ws.output(0);
//! assert_eq!(energies.len(), 2);
//! // The input gradient agrees with a finite difference of the energy.
//! let h = 1e-2f32;
//! let e_plus = mlp.energy(&math, &mut ws, &[0.5 + h, -1.0], 1)[0];
//! let e_minus = mlp.energy(&math, &mut ws, &[0.5 - h, -1.0], 1)[0];
//! assert!(((e_plus - e_minus) / (2.0 * h) - grad_x[0]).abs() < 1e-2);
//! # Ok::<(), ebm_neural::NeuralError>(())
//! ```

mod activation;
pub mod ais;
pub mod annealed;
pub mod backend;
mod conv;
#[cfg(test)]
mod conv_tests;
pub mod density;
pub mod image_ops;
pub mod joint;
pub mod langevin;
pub mod level_fit;
mod mala;
mod mlp;
#[cfg(test)]
mod mlp_tests;
mod network;
pub mod noise_conditional;
#[cfg(test)]
mod pass_checks;
pub mod replay;
pub mod tempering;
pub mod train;
mod transposed;

pub use activation::Activation;
pub use backend::{Cpu, Dense, LayerMath};
pub use conv::{CONV_ENERGY_KIND, ConvNet, ConvWorkspace};
pub use image_ops::ImageDims;
pub use mlp::{MLP_ENERGY_KIND, Mlp, Quantity, Workspace};
pub use network::EnergyNet;

use ebm_core::InvalidSetting;
use ebm_core::train::TrainError;
use thiserror::Error;

/// What can go wrong building or training a neural energy.
#[derive(Debug, Error)]
pub enum NeuralError {
    /// A setting is out of range.
    #[error(transparent)]
    InvalidSetting(#[from] InvalidSetting),
    /// Training stopped (diverged beyond recovery, or the observer stopped it).
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Widths or parameter counts that do not fit together.
    #[error("shape: {0}")]
    Shape(String),
    /// Training data that cannot be used.
    #[error("data: {0}")]
    Data(String),
}

/// A model whose passes keep their buffers in a workspace of one type: every
/// [`EnergyNet`] (its own workspace) and the noise-conditional energy (its MLP's).
pub trait HasWorkspace {
    /// The passes' buffers.
    type Workspace: Default;
}

impl<T: EnergyNet> HasWorkspace for T {
    type Workspace = T::Workspace;
}

/// A model on a layer backend with the workspace of its passes: the form in which the
/// samplers and estimators that call a model many times take it
/// ([`annealed::annealed_langevin`], [`ais::neural_ais`]).
pub struct OnBackend<'m, T: HasWorkspace, M: LayerMath> {
    /// The model.
    pub model: &'m T,
    /// The backend.
    pub math: M,
    /// The passes' buffers.
    pub workspace: T::Workspace,
}

impl<'m, T: HasWorkspace, M: LayerMath> OnBackend<'m, T, M> {
    /// `model` on `math` with a fresh workspace.
    pub fn new(model: &'m T, math: M) -> Self {
        Self {
            model,
            math,
            workspace: T::Workspace::default(),
        }
    }
}

/// `Ok(())` when `value` is a finite number > 0, else "must be positive" for `setting`.
fn positive(value: f32, setting: &'static str) -> Result<(), InvalidSetting> {
    InvalidSetting::require(
        value.is_finite() && value > 0.0,
        setting,
        "must be positive",
    )
}
