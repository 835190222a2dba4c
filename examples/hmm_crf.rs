//! A chain CRF learned by maximum likelihood (exact forward-backward marginals) on
//! sequences sampled from a known hidden Markov model. Prints how far the learned weights
//! are from the HMM's `-ln` probabilities (compared on the part of weight space the data
//! identifies) and the Viterbi accuracy of the learned and the true model on test
//! sequences. Pseudo-likelihood and the structured SVM are trained on the same data.
//!
//! cargo run --release --example hmm_crf -- [TRAIN] [TEST] [LENGTH] [EPOCHS]

use common::arg;
use ebm::learn::tasks::hmm::{Hmm, hmm_task, hmm_weights, identifiable_part, weight_error};
use ebm::learn::train::{Learner, TrainConfig};

mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let train_count: usize = arg(1, 1000)?;
    let test_count: usize = arg(2, 1000)?;
    let length: usize = arg(3, 40)?;
    let epochs: usize = arg(4, 30)?;
    let hmm = Hmm::sticky();
    let task = hmm_task(&hmm, train_count, test_count, length, 1)?;
    // The task's usual settings: lr 0.02, lambda 1e-4, exact (Viterbi) decoding.
    let usual = |learner| task.shape.train_config(learner);
    // The true model, on the part of weight space the training data identify.
    let truth = identifiable_part(
        &task.templates,
        &task.train,
        &hmm_weights(&hmm, &task.templates),
        1,
    );
    let true_model = task.evaluate(&truth, &usual(Learner::MaximumLikelihood))?;
    println!(
        "{train_count} training and {test_count} test sequences of length {length}, {epochs} epochs"
    );
    println!(
        "true HMM: Viterbi accuracy {:.4}",
        1.0 - true_model.per_variable_error
    );
    for (learner, lambda) in [
        (Learner::MaximumLikelihood, 1e-4),
        (Learner::PseudoLikelihood, 1e-4),
        (Learner::SsvmFrankWolfe, 0.1),
    ] {
        let config = TrainConfig {
            epochs,
            regularization: lambda,
            batch: 32,
            ..usual(learner)
        };
        let trained = task.train(&config, |_| {})?;
        let metrics = task.evaluate(&trained.weights, &config)?;
        let error = weight_error(&hmm, &task.templates, &task.train, &trained.weights, 1);
        println!(
            "{:<5} Viterbi accuracy {:.4}  weight error: max abs {:.3}, relative {:.3}  train {:.2} s  objective {:.4}",
            learner.name(),
            1.0 - metrics.per_variable_error,
            error.max_abs,
            error.relative,
            trained.train_seconds,
            trained.epochs.last().map_or(f64::NAN, |e| e.objective),
        );
    }
    Ok(())
}
