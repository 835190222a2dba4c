//! Finite-difference checks of the joint model's passes and loss, and the trainer's
//! determinism across thread counts.

use super::loss::{LossWeights, jem_loss};
use super::train::{JointTrainConfig, Labeled, train_joint};
use super::{JointEnergy, Target};
use crate::{Activation, Cpu, Workspace};
use ebm_core::ModelFile;
use ebm_core::train::NoObserver;
use ebm_kernels::rng::{fill_normal_f32, stream};

/// A small random model `[3, 5, 4]` and two inputs.
fn small() -> (JointEnergy, Vec<f32>) {
    let mut rng = stream(7, 0, 0);
    let model = JointEnergy::new(&[3, 5, 4], Activation::Swish, 1.0, &mut rng).unwrap();
    let mut x = vec![0.0f32; 6];
    fill_normal_f32(&mut rng, &mut x);
    (model, x)
}

/// `|numeric - analytic|` within the f32 central difference's error.
fn assert_near(what: &str, numeric: f64, analytic: f32) {
    let tolerance = 3e-3 + 1e-2 * f64::from(analytic.abs());
    assert!(
        (numeric - f64::from(analytic)).abs() < tolerance,
        "{what}: numeric {numeric}, analytic {analytic}"
    );
}

/// Central differences of `f` along every coordinate of `at` (step `h`).
fn central(at: &[f32], h: f32, mut f: impl FnMut(&[f32]) -> f64) -> Vec<f64> {
    (0..at.len())
        .map(|i| {
            let (mut plus, mut minus) = (at.to_vec(), at.to_vec());
            plus[i] += h;
            minus[i] -= h;
            (f(&plus) - f(&minus)) / f64::from(2.0 * h)
        })
        .collect()
}

/// The order-0 passes with `K` outputs: the gradient of `sum U . f(x)` for an arbitrary
/// `n x K` upstream `U`, with respect to every parameter and every input, agrees with
/// central differences.
#[test]
fn k_output_passes_match_finite_differences() {
    let (model, x) = small();
    let mut upstream = vec![0.0f32; 8];
    fill_normal_f32(&mut stream(8, 0, 0), &mut upstream);
    let (math, mut ws) = (Cpu::sequential(), Workspace::new());
    let objective = |m: &JointEnergy, x: &[f32]| -> f64 {
        let mut ws = Workspace::new();
        let logits = m.logits(&math, &mut ws, x, 2);
        logits
            .iter()
            .zip(&upstream)
            .map(|(&l, &u)| f64::from(l) * f64::from(u))
            .sum()
    };
    model.logits(&math, &mut ws, &x, 2);
    let mut grad_theta = vec![0.0f32; model.parameters().len()];
    let mut grad_x = vec![0.0f32; 6];
    model.backward(
        &math,
        &mut ws,
        &upstream,
        Some(&mut grad_theta),
        false,
        Some(&mut grad_x),
    );
    let numeric_x = central(&x, 1e-2, |x| objective(&model, x));
    for (i, (&n, &a)) in numeric_x.iter().zip(&grad_x).enumerate() {
        assert_near(&format!("input {i}"), n, a);
    }
    let numeric_theta = central(model.parameters(), 1e-2, |p| {
        let m = JointEnergy::from_parameters(model.widths(), model.activation(), p.to_vec());
        objective(&m.unwrap(), &x)
    });
    for (i, (&n, &a)) in numeric_theta.iter().zip(&grad_theta).enumerate() {
        assert_near(&format!("parameter {i}"), n, a);
    }
    assert!(grad_theta.iter().any(|&g| g.abs() > 1e-3));
}

/// The input gradients Langevin dynamics follows, of `E(x) = -logsumexp f(x)` and of
/// `E(x, y) = -f(x)[y]`, agree with central differences of the energies they return.
#[test]
fn energy_input_gradients_match_finite_differences() {
    let (model, x) = small();
    let math = Cpu::sequential();
    let classes = [2usize, 0];
    for target in [Target::Marginal, Target::Classes(&classes)] {
        let (mut ws, mut energies, mut grad) = (Workspace::new(), [0.0f32; 2], [0.0f32; 6]);
        model.energy_input_gradient(&math, &mut ws, &x, target, &mut energies, &mut grad);
        let numeric = central(&x, 1e-2, |x| {
            let mut e = [0.0f32; 2];
            let mut g = [0.0f32; 6];
            model.energy_input_gradient(&math, &mut Workspace::new(), x, target, &mut e, &mut g);
            e.iter().map(|&v| f64::from(v)).sum()
        });
        for (i, (&n, &a)) in numeric.iter().zip(&grad).enumerate() {
            assert_near(&format!("{target:?} input {i}"), n, a);
        }
    }
}

/// The parameter gradient of the whole JEM batch loss (cross-entropy, energy gap and
/// penalty), through the logits' upstream and the backward pass, agrees with central
/// differences of the loss.
#[test]
fn jem_loss_gradient_matches_finite_differences() {
    let (model, data) = small();
    let mut batch = data.clone();
    batch.extend([1.5f32, -0.5, 0.2, -1.0, 0.8, 0.1]); // two negatives
    let labels = [1usize, 3];
    let weights = LossWeights {
        generative_weight: 0.7,
        energy_regularization: 0.2,
    };
    let math = Cpu::sequential();
    let loss = |m: &JointEnergy| -> (f64, Vec<f32>) {
        let mut ws = Workspace::new();
        let logits = m.logits(&math, &mut ws, &batch, 4).to_vec();
        let mut upstream = vec![0.0f32; 16];
        let terms = jem_loss(&logits, 4, &labels, weights, &mut upstream);
        (terms.loss, upstream)
    };
    let (value, upstream) = loss(&model);
    assert!(value.is_finite());
    let mut ws = Workspace::new();
    model.logits(&math, &mut ws, &batch, 4);
    let mut grad = vec![0.0f32; model.parameters().len()];
    model.backward(&math, &mut ws, &upstream, Some(&mut grad), false, None);
    let numeric = central(model.parameters(), 1e-2, |p| {
        let m = JointEnergy::from_parameters(model.widths(), model.activation(), p.to_vec());
        loss(&m.unwrap()).0
    });
    for (i, (&n, &a)) in numeric.iter().zip(&grad).enumerate() {
        assert_near(&format!("parameter {i}"), n, a);
    }
    // Without negatives the loss is the mean cross-entropy alone.
    let mut ws = Workspace::new();
    let logits = model.logits(&math, &mut ws, &data, 2).to_vec();
    let terms = jem_loss(&logits, 4, &labels, weights, &mut [0.0; 8]);
    assert!((terms.loss - terms.cross_entropy / 2.0).abs() < 1e-12);
}

/// Sixty 4x4 images of two classes (bright top half or bright bottom half, with noise).
fn two_class_images() -> (Vec<f32>, Vec<u8>) {
    let mut rng = stream(5, 0, 0);
    let mut noise = vec![0.0f32; 60 * 16];
    fill_normal_f32(&mut rng, &mut noise);
    let labels: Vec<u8> = (0..60).map(|i| (i % 2) as u8).collect();
    let features = (0..60 * 16)
        .map(|i| {
            let (row, pixel) = (i / 16, i % 16);
            let top = pixel < 8;
            let bright = top == (labels[row] == 0);
            (if bright { 0.8 } else { 0.2 }) + 0.1 * noise[i]
        })
        .collect();
    (features, labels)
}

/// A run with every part switched on (SGLD negatives from the buffer with restarts,
/// translations, data noise, the penalty) gives bit-identical parameters on one and on
/// two threads, and (without the translations) learns the two classes.
#[test]
fn training_is_bit_identical_for_one_and_two_threads_and_learns() {
    let (features, labels) = two_class_images();
    let mut config = JointTrainConfig {
        hidden: vec![16],
        n_classes: 2,
        generative_weight: 0.5,
        buffer_size: 40,
        reinit_fraction: 0.2,
        data_noise: 0.05,
        max_shift: 1,
        energy_regularization: 0.01,
        optimizer: crate::train::adam(0.01),
        ..JointTrainConfig::default()
    };
    config.langevin.steps = 3;
    config.run = config.run.with_batches(20, 10);
    let data = Labeled {
        features: &features,
        dim: 16,
        labels: &labels,
    };
    let one = train_joint(&config, data, &mut NoObserver).unwrap();
    config.run.threads = 2;
    let two = train_joint(&config, data, &mut NoObserver).unwrap();
    let bits = |m: &JointEnergy| {
        m.parameters()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&one.model), bits(&two.model));
    // Shifts of a 4x4 image by a row blur the two classes together; without them the
    // classes are learned.
    config.max_shift = 0;
    let unshifted = train_joint(&config, data, &mut NoObserver).unwrap();
    let error = unshifted.summary.metric("train_error").unwrap();
    assert!(error < 0.2, "train error {error}");
}

/// Bad settings and data are refused naming what is wrong; the model file round-trips
/// and a one-class network is refused.
#[test]
fn bad_settings_data_and_files_are_refused() {
    let (features, labels) = two_class_images();
    let data = Labeled {
        features: &features,
        dim: 16,
        labels: &labels,
    };
    let config = JointTrainConfig {
        hidden: vec![4],
        n_classes: 2,
        buffer_size: 10,
        ..JointTrainConfig::default()
    };
    let e = train_joint(&config, data, &mut NoObserver).unwrap_err();
    assert!(e.to_string().contains("buffer_size"), "{e}");
    let bad_labels = vec![5u8; 60];
    let config = JointTrainConfig {
        buffer_size: 100,
        ..config
    };
    let e = train_joint(
        &config,
        Labeled {
            labels: &bad_labels,
            ..data
        },
        &mut NoObserver,
    )
    .unwrap_err();
    assert!(e.to_string().contains("label 5"), "{e}");
    let (model, _) = small();
    let bytes = model.to_bytes().unwrap();
    let back = JointEnergy::from_bytes(&bytes, std::path::Path::new("<bytes>")).unwrap();
    assert_eq!(back, model);
    let mut rng = stream(1, 0, 0);
    assert!(JointEnergy::new(&[3, 4, 1], Activation::Swish, 1.0, &mut rng).is_err());
}

/// The SGLD negatives run on a net prepared for sampling (the transposed copy of its
/// 300 x 256 weights), and the optimizer step after the gradient (through
/// `visit_layers`) drops the copy, so no later pass can use stale weights.
#[test]
fn the_optimizer_step_drops_the_copy_the_sgld_chains_used() {
    use super::train::JointTrainer;
    use ebm_core::train::{BatchContext, MinibatchModel, Step};
    use ebm_kernels::Parallelism;
    let (n, d) = (8, 300);
    let mut features = vec![0.0f32; n * d];
    fill_normal_f32(&mut stream(13, 0, 0), &mut features);
    let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    let mut config = JointTrainConfig {
        hidden: vec![256],
        n_classes: 2,
        buffer_size: 256,
        ..JointTrainConfig::default()
    };
    config.langevin.steps = 2;
    let data = Labeled {
        features: &features,
        dim: d,
        labels: &labels,
    };
    let (mut trainer, mut state) = JointTrainer::new(&config, data).unwrap();
    assert!(!state.model.net.is_prepared_for_sampling());
    let rows: Vec<usize> = (0..n).collect();
    let par = Parallelism::Sequential;
    let context = BatchContext {
        seed: 1,
        epoch: 0,
        batch_index: 0,
        par,
    };
    let step = Step {
        state: &mut state,
        rows: &rows,
        rng: stream(1, 0, 0),
        context,
    };
    let scale = trainer.compute_gradient(step).unwrap();
    assert!(state.model.net.is_prepared_for_sampling());
    let rates = config.optimizer.rates(0, 1);
    trainer.visit_blocks(&mut state, &mut |block| {
        config.optimizer.step(block, rates, scale, par)
    });
    assert!(!state.model.net.is_prepared_for_sampling());
}
