//! Restricted Boltzmann machines for collaborative filtering (Salakhutdinov, Mnih & Hinton
//! 2007).
//!
//! Every user (or, for the item-based variant, every item) is one RBM with a `K`-level
//! softmax visible unit for each item it rated and binary hidden units; all those RBMs
//! share their weights. Training is CD-T over minibatches of cases, parallel over cases
//! with results identical for any thread count. Predictions use the exact conditional
//! distribution of a rating over the `K` levels (hidden units summed out).
//!
//! - [`dataset`]: id maps, rating levels, the training set in index space;
//! - [`matrix`]: the compressed-row rating matrix;
//! - [`rbm`]: the shared parameters and the two conditionals;
//! - [`model`]: a trained recommender (RBM + the ratings it conditions on), model files;
//! - [`train`]: the CD-T trainer and its schedule;
//! - [`metrics`]: RMSE, MAE, precision@k, recall@k, NDCG@k;
//! - [`synthetic`]: synthetic rating sets of any shape (benchmarks).
//!
//! ```
//! use ebm_cf::{RatingsData, train::{TrainConfig, initial_model, train, NoObserver}};
//! use ebm_core::train::LoopConfig;
//! use ebm_data::ratings::Rating;
//! // Users 1-3 like items 10 and 11 together; user 3 has not rated 11 yet.
//! let r = |user, item, value| Rating { user, item, value };
//! let ratings = [r(1, 10, 5.0), r(1, 11, 5.0), r(2, 10, 1.0), r(2, 11, 1.0), r(3, 10, 5.0)];
//! let data = RatingsData::from_ratings(&ratings).unwrap();
//! let run = LoopConfig { epochs: 5, ..TrainConfig::default().run };
//! let config = TrainConfig { n_hidden: 4, run, ..TrainConfig::default() };
//! let mut model = initial_model(&config, &data, &[]).unwrap();
//! train(&mut model, &config, &mut NoObserver).unwrap();
//! let predicted = model.predict(&model.queries(&[r(3, 11, 5.0)]));
//! assert!(predicted[0] >= 1.0 && predicted[0] <= 5.0);
//! ```

pub mod dataset;
mod error;
pub mod matrix;
pub mod metrics;
pub mod model;
pub mod rbm;
pub mod synthetic;
pub mod train;

pub use dataset::{Query, RatingsData};
pub use ebm_core::ModelFile;
pub use error::CfError;
pub use matrix::RatingMatrix;
pub use model::{CfModel, Orientation};
pub use rbm::CfRbm;
