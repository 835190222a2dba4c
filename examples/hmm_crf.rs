//! A chain CRF learned by maximum likelihood (exact forward-backward marginals) on
//! sequences sampled from a known hidden Markov model. Prints how far the learned weights
//! are from the HMM's `-ln` probabilities (compared on the part of weight space the data
//! identifies) and the Viterbi accuracy of the learned and the true model on test
//! sequences. Pseudo-likelihood and the structured SVM are trained on the same data.
//!
//! cargo run --release --example hmm_crf -- [TRAIN] [TEST] [LENGTH] [EPOCHS]

use ebm::factor::solve::{Method, SolveOptions};
use ebm::learn::metrics::evaluate;
use ebm::learn::tasks::hmm::{Hmm, hmm_task, hmm_weights, identifiable_part};
use ebm::learn::train::{Learner, TrainConfig, train};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let train_count: usize = args.get(1).map_or(Ok(1000), |s| s.parse())?;
    let test_count: usize = args.get(2).map_or(Ok(1000), |s| s.parse())?;
    let length: usize = args.get(3).map_or(Ok(40), |s| s.parse())?;
    let epochs: usize = args.get(4).map_or(Ok(30), |s| s.parse())?;
    let hmm = Hmm::sticky();
    let task = hmm_task(&hmm, train_count, test_count, length, 1)?;
    let truth = identifiable_part(
        &task.templates,
        &task.train,
        &hmm_weights(&hmm, &task.templates),
        1,
    );
    let truth_norm = truth.iter().map(|w| w * w).sum::<f64>().sqrt();
    let exact = SolveOptions::default();
    let true_model = evaluate(&task.templates, &task.test, &truth, Method::Exact, &exact)?;
    println!(
        "{train_count} training and {test_count} test sequences of length {length}, {epochs} epochs"
    );
    println!(
        "true HMM: Viterbi accuracy {:.4}",
        1.0 - true_model.per_variable_error
    );
    for (learner, rate) in [
        (Learner::MaximumLikelihood, 0.02f64),
        (Learner::PseudoLikelihood, 0.02),
        (Learner::SsvmFrankWolfe, 0.0),
    ] {
        let config = TrainConfig {
            learner,
            epochs,
            learning_rate: rate.max(1e-9),
            regularization: if learner == Learner::SsvmFrankWolfe {
                0.1
            } else {
                1e-4
            },
            batch: 32,
            map_method: Method::Exact,
            map_options: exact,
            seed: 1,
            initial_weights: None,
        };
        let trained = train(&task.templates, &task.train, &config, |_| {})?;
        let metrics = evaluate(
            &task.templates,
            &task.test,
            &trained.weights,
            Method::Exact,
            &exact,
        )?;
        let learned = identifiable_part(&task.templates, &task.train, &trained.weights, 1);
        let error: Vec<f64> = learned.iter().zip(&truth).map(|(a, b)| a - b).collect();
        let max_abs = error.iter().fold(0.0f64, |m, e| m.max(e.abs()));
        let relative = error.iter().map(|e| e * e).sum::<f64>().sqrt() / truth_norm;
        println!(
            "{:<5} Viterbi accuracy {:.4}  weight error: max abs {max_abs:.3}, relative {relative:.3}  train {:.2} s  objective {:.4}",
            learner.name(),
            1.0 - metrics.per_variable_error,
            trained.train_seconds,
            trained.epochs.last().map_or(f64::NAN, |e| e.objective),
        );
    }
    Ok(())
}
