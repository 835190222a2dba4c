//! Learning the weights of factor-graph energies from labeled structures (LeCun et al.
//! 2006, "A Tutorial on Energy-Based Learning").
//!
//! - [`templates`]: factor templates whose energies are linear in shared weights;
//! - [`data`]: structures, examples (features, labels, evidence) and splits;
//! - [`energy`]: `E(x, y; w) = w . Phi(x, y)` and the [`crate::FactorModel`] it makes;
//! - [`train`]: perceptron, structured SVM (subgradient, BCFW), maximum likelihood,
//!   pseudo-likelihood and contrastive divergence, with L2 regularization;
//! - [`metrics`]: per-variable error, structure error and energy gap;
//! - [`support`]: combinations the training data never shows, as hard constraints;
//! - [`tasks`]: the data sets of the use cases (MNIST denoising, HMM chains, Sudoku).
//!
//! ```
//! use ebm_factor::learn::{data::{Example, Structure},
//!     templates::TemplateSet, train::{Learner, TrainConfig, train}, metrics::evaluate};
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

pub mod data;
pub mod energy;
pub mod metrics;
mod objectives;
pub mod support;
pub mod tasks;
pub mod templates;
pub mod train;
