//! `ebm`: energy-based models in Rust. This umbrella crate re-exports the toolkit's crates:
//!
//! - [`kernels`]: dense `f32` kernels (GEMM on strided views, activations, sampling, RNG streams);
//! - [`core`]: model file format, schedules, atomic writes;
//! - [`data`]: MNIST (IDX) and MovieLens readers, binarization, built-in bars and stripes, PNG grids;
//! - [`rbm`]: binary RBMs, CD-k / PCD training, exact and AIS likelihood;
//! - [`cf`]: RBMs for collaborative filtering (user- and item-based, conditional);
//! - [`factor`]: factor-graph energy models: exact, sampling, BP and MAP inference, UAI files;
//! - [`learn`]: learning factor-graph energies (perceptron, structured SVM, likelihood,
//!   pseudo-likelihood, contrastive divergence);
//! - [`plot`]: PNG plots (learning curves, ROC curves, AIS diagnostics, sampler traces).
//!
//! ```
//! use ebm::rbm::BinaryRbm;
//! let model = BinaryRbm::zeros(4, 2);
//! // The all-zero model is uniform: F(v) = -2 ln 2 for every v.
//! assert!((model.free_energy(&[1.0, 0.0, 1.0, 0.0]) + 2.0 * 2f64.ln()).abs() < 1e-12);
//! ```

pub use ebm_cf as cf;
pub use ebm_core as core;
pub use ebm_data as data;
pub use ebm_factor as factor;
pub use ebm_kernels as kernels;
pub use ebm_learn as learn;
pub use ebm_plot as plot;
pub use ebm_rbm as rbm;
