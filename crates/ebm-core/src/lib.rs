//! The shared vocabulary of the ebm toolkit: the one training loop, optimizer and
//! divergence guard every minibatch trainer runs through ([`train`]), the model file format
//! and trait every model is saved with ([`model_file`], [`ModelFile`]), the one
//! invalid-setting error ([`InvalidSetting`]), classifier calibration ([`calibration`]),
//! learning-rate and momentum schedules ([`schedule`]), atomic file writes ([`atomic`]),
//! the estimate of annealed importance sampling from its weights ([`ais`]), the Boltzmann
//! distribution over enumerable states ([`boltzmann`]), and continuous energies with their
//! samplers: random-walk Metropolis-Hastings, Langevin, MALA and HMC ([`continuous`]).
//!
//! ```
//! use ebm_core::model_file;
//! let dir = std::env::temp_dir().join(format!("ebm-core-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("weights.ebm");
//! model_file::save(&path, "demo", &[2, 3], &vec![1.0f32, 2.0]).unwrap();
//! let (weights, shapes): (Vec<f32>, _) = model_file::load(&path, "demo").unwrap();
//! assert_eq!((weights, shapes), (vec![1.0, 2.0], vec![2, 3]));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod ais;
pub mod atomic;
pub mod boltzmann;
pub mod calibration;
pub mod continuous;
pub mod model_file;
pub mod schedule;
pub mod setting;
pub mod train;

pub use model_file::{ModelFile, ModelFileError};
pub use setting::{InvalidSetting, thread_pool};
