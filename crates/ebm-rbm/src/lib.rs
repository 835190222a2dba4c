//! Restricted Boltzmann machines with binary units: the model ([`BinaryRbm`]), training
//! by CD-k and persistent CD ([`train`](mod@train)), and honest measurements
//! ([`metrics`]): reconstruction error, exact pseudo-likelihood, exact `ln Z` for small
//! layers and AIS `ln Z` for large ones, hence test log-likelihood in nats; and free
//! energy as an anomaly score ([`anomaly`]) and every RBM's input scores for
//! out-of-distribution detection ([`input_scores`]); and the classification RBM of
//! Larochelle & Bengio, generative and discriminative at once ([`class_rbm`]); and
//! Gaussian-Bernoulli RBMs for real-valued data ([`gaussian`]).
//!
//! ```
//! use ebm_rbm::train::{train, Method, NoObserver, TrainConfig, TrainState};
//! use ebm_rbm::metrics::{exact_log_partition, log_likelihood};
//! use ebm_kernels::Parallelism;
//!
//! let data = ebm_data::bars_and_stripes::dataset(4);
//! let mut config = TrainConfig { n_hidden: 8, method: Method::ContrastiveDivergence,
//!                                ..TrainConfig::default() };
//! (config.run.epochs, config.run.batch_size, config.optimizer.learning_rate) = (20, 10, 0.1);
//! let mut state = TrainState::new(config, &data).unwrap();
//! train(&mut state, &data, &mut NoObserver).unwrap();
//! let log_z = exact_log_partition(&state.model, Parallelism::Sequential).unwrap();
//! let ll = log_likelihood(&state.model, &data, log_z, Parallelism::Sequential).unwrap();
//! assert!(ll < 0.0 && ll > -16.0 * 2f64.ln());
//! ```

pub mod anomaly;
pub mod class_rbm;
mod error;
mod fit;
pub mod gaussian;
pub mod input_scores;
pub mod metrics;
mod model;
pub mod products;
pub mod sampling;
pub mod train;

pub use ebm_core::ModelFile;
pub use error::RbmError;
pub use model::{BinaryRbm, MODEL_KIND};
