//! Learning the weights of factor-graph energies from labeled structures (LeCun et al.
//! 2006, "A Tutorial on Energy-Based Learning"): an energy `E(x, y; w) = w . Phi(x, y)`
//! built from templates that share one weight vector, trained by the structured
//! perceptron, the structured SVM, maximum likelihood, pseudo-likelihood or contrastive
//! divergence on top of ebm-factor's inference, whose MAP (`ebm_factor::solve`) the
//! decode-based learners and the test metrics call.
//!
//! ```
//! use ebm_learn::data::{Example, Structure};
//! use ebm_learn::metrics::evaluate;
//! use ebm_learn::templates::TemplateSet;
//! use ebm_learn::train::{Learner, TrainConfig, train};
//! use ebm_factor::solve::{Method, SolveOptions};
//! use std::sync::Arc;
//! // Two binary variables that should copy their input bit and agree with each other.
//! let mut templates = TemplateSet::new();
//! let unary = templates.add("unary", &[2], 2).unwrap(); // features: bias, input bit
//! let pair = templates.add("pair", &[2, 2], 1).unwrap();
//! let mut structure = Structure::new(vec![2, 2]);
//! structure.add_factor(&templates, unary, &[0]).unwrap();
//! structure.add_factor(&templates, unary, &[1]).unwrap();
//! structure.add_factor(&templates, pair, &[0, 1]).unwrap();
//! let structure = Arc::new(structure);
//! let examples: Vec<Example> = (0..2)
//!     .map(|bit| {
//!         let features = vec![1.0, bit as f64, 1.0, bit as f64, 1.0];
//!         Example::new(structure.clone(), features, vec![bit, bit]).unwrap()
//!     })
//!     .collect();
//! let config = TrainConfig { learner: Learner::SsvmFrankWolfe, epochs: 20,
//!     map_method: Method::Exact, ..TrainConfig::default() };
//! let trained = train(&templates, &examples, &config, |_| {}).unwrap();
//! let options = SolveOptions::default();
//! let metrics = evaluate(&templates, &examples, &trained.weights, Method::Exact, &options)
//!     .unwrap();
//! assert_eq!(metrics.per_variable_error, 0.0);
//! ```
//!
//! The modules, each depending only on those above it:
//! - [`templates`]: factor templates whose energies are linear in shared weights;
//! - [`data`]: structures, examples (features, labels, evidence) and splits;
//! - [`energy`]: `E(x, y; w)`, its joint feature map `Phi` and the
//!   [`ebm_factor::FactorModel`] it instantiates;
//! - [`support`]: combinations the training data never shows, as hard constraints;
//! - [`train`]: perceptron, structured SVM (subgradient, BCFW), maximum likelihood,
//!   pseudo-likelihood and contrastive divergence, with L2 regularization;
//! - [`metrics`]: per-variable error, structure error and energy gap;
//! - [`tasks`]: the data sets of the use cases (MNIST denoising, HMM chains, Sudoku), and
//!   the tasks the user's files define (chain CRFs from CoNLL-style column files with
//!   feature templates, grid CRFs from `.npy` features and labels);
//! - [`learned`]: learned weights as a model file (`ebm_core::ModelFile`), to be loaded
//!   and used again, for a built-in task or for the user's files.

pub mod data;
pub mod energy;
mod error;
pub mod learned;
pub mod metrics;
mod objectives;
pub mod support;
pub mod tasks;
pub mod templates;
#[cfg(test)]
mod test_support;
pub mod train;

pub use ebm_core::InvalidSetting;
pub use error::LearnError;
