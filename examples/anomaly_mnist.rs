//! Free energy as an anomaly score: train a binary RBM on MNIST digits 0-8 only, then
//! score the test set and report the ROC AUC of the 9s against the rest for three
//! scores (likelihood ratio against independent pixels, free energy, reconstruction).
//!
//! ```text
//! EBM_DATA=../shared/data cargo run --release --example anomaly_mnist -- [HIDDEN] [EPOCHS] [THREADS]
//! ```
//! Defaults: `500 30 2` (PCD-1, momentum 0, learning rate 0.05 decaying linearly).

use ebm::core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm::core::train::{LoopConfig, OptimizerConfig, OptimizerMethod};
use ebm::data::catalog::{BinarizeMode, DatasetName, load_binary};
use ebm::data::data_dir;
use ebm::data::mnist::Split;
use ebm::rbm::anomaly::{Score, roc_auc, scores};
use ebm::rbm::metrics::base_rate_visible_bias;
use ebm::rbm::train::{Method, NoObserver, TrainConfig, TrainState, train};

const ANOMALOUS: u8 = 9;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.to_string());
    let threads: usize = arg(2, "2").parse()?;
    let dir = data_dir::resolve(None);
    let load = |split| load_binary(DatasetName::Mnist, &dir, split, BinarizeMode::Stochastic);
    let normal = load(Split::Train)?
        .select_labels(|l| l != ANOMALOUS)
        .ok_or("MNIST has labels")?;
    let test = load(Split::Test)?;
    let config = TrainConfig {
        n_hidden: arg(0, "500").parse()?,
        method: Method::Persistent { chains: 100 },
        optimizer: OptimizerConfig {
            learning_rate: 0.05,
            learning_rate_schedule: LearningRateSchedule::Linear {
                final_fraction: 0.0,
            },
            method: OptimizerMethod::Sgd {
                momentum: MomentumSchedule::constant(0.0),
            },
            ..TrainConfig::default().optimizer
        },
        run: LoopConfig {
            epochs: arg(1, "30").parse()?,
            threads,
            ..TrainConfig::default().run
        },
        ..TrainConfig::default()
    };
    let mut state = TrainState::new(config, &normal)?;
    let summary = train(&mut state, &normal, &mut NoObserver)?;
    println!(
        "trained on {} images of 0-8 in {:.0} s",
        normal.n_examples, summary.train_seconds
    );
    let labels = test.labels.clone().ok_or("MNIST has labels")?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    for (name, score) in [
        (
            "likelihood ratio",
            Score::LikelihoodRatio {
                base_logits: base_rate_visible_bias(&normal),
            },
        ),
        ("free energy", Score::FreeEnergy),
        ("reconstruction", Score::Reconstruction),
    ] {
        let s = pool.install(|| scores(&state.model, &test, &score));
        let (mut inliers, mut outliers) = (Vec::new(), Vec::new());
        for (value, &label) in s.iter().zip(&labels) {
            if label == ANOMALOUS {
                outliers.push(*value);
            } else {
                inliers.push(*value);
            }
        }
        println!("{name:>16}: ROC AUC {:.3}", roc_auc(&inliers, &outliers));
    }
    Ok(())
}
