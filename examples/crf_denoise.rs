//! Learned grid-CRF denoising of binarized MNIST digits. Every pixel is flipped with
//! probability FLIP_RATE; a grid CRF (unary weights on the noisy pixel, one pairwise
//! label table for horizontal and one for vertical neighbours) is trained by the
//! structured perceptron, by the structured SVM (subgradient and block-coordinate
//! Frank-Wolfe) and by pseudo-likelihood, against a unary-only model; MAP by graph cut.
//!
//! EBM_DATA=../shared/data cargo run --release --example crf_denoise -- [TRAIN] [TEST] [FLIP_RATE] [EPOCHS] [OUT_DIR]
//!
//! Prints each model's test pixel error, whole-image error and training time, and writes
//! `crf_denoise.png` in OUT_DIR (default `.`): rows of clean, noisy, unary-only, perceptron
//! and BCFW-SSVM restorations of 8 test digits.

use common::arg;
use ebm::data::data_dir;
use ebm::data::image_grid::{Scaling, write_png_grid};
use ebm::data::mnist::{Split, load};
use ebm::factor::solve::solve;
use ebm::learn::energy::instantiate;
use ebm::learn::tasks::denoise::{DenoiseConfig, denoise_task};
use ebm::learn::train::{Learner, TrainConfig};
use std::path::PathBuf;

mod common;

const SIDE: usize = 28;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let train_count: usize = arg(1, 500)?;
    let test_count: usize = arg(2, 500)?;
    let flip_rate: f64 = arg(3, 0.1)?;
    let epochs: usize = arg(4, 10)?;
    let out_dir = arg(5, PathBuf::from("."))?;
    let mnist = data_dir::resolve(None).join("mnist");
    let (train_set, test_set) = (load(&mnist, Split::Train)?, load(&mnist, Split::Test)?);
    let pixels = SIDE * SIDE;
    if train_count > train_set.n_examples || test_count > test_set.n_examples || test_count < 8 {
        return Err("TRAIN and TEST must fit MNIST's splits (TEST at least 8)".into());
    }
    let train_images = &train_set.features[..train_count * pixels];
    let test_images = &test_set.features[..test_count * pixels];
    let config = DenoiseConfig {
        flip_rate,
        ..DenoiseConfig::default()
    };
    let noisy_error = flip_rate;
    println!(
        "{train_count} training and {test_count} test digits, flip rate {flip_rate}, {epochs} epochs"
    );
    println!(
        "{:<22} {:>12} {:>12} {:>10}",
        "model", "pixel error", "image error", "train s"
    );
    println!(
        "{:<22} {:>12.4} {:>12} {:>10}",
        "noisy input (expected)", noisy_error, "", ""
    );
    let runs = [
        ("unary-only (BCFW)", false, Learner::SsvmFrankWolfe),
        ("perceptron", true, Learner::Perceptron { averaged: false }),
        (
            "averaged perceptron",
            true,
            Learner::Perceptron { averaged: true },
        ),
        ("SSVM subgradient", true, Learner::SsvmSubgradient),
        ("SSVM BCFW", true, Learner::SsvmFrankWolfe),
        ("pseudo-likelihood", true, Learner::PseudoLikelihood),
    ];
    let mut tiles: Vec<Vec<f32>> = vec![Vec::new(); 5];
    for (name, pairwise, learner) in runs {
        let task = denoise_task(
            train_images,
            test_images,
            SIDE,
            SIDE,
            &DenoiseConfig {
                pairwise,
                ..config.clone()
            },
        )?;
        // The task's usual settings: lr 0.001, lambda 0.1, graph cut, batches of 16.
        let settings = TrainConfig {
            epochs,
            ..task.shape.train_config(learner)
        };
        let trained = task.train(&settings, |_| {})?;
        let metrics = task.evaluate(&trained.weights, &settings)?;
        println!(
            "{name:<22} {:>12.4} {:>12.4} {:>10.2}",
            metrics.per_variable_error, metrics.structure_error, trained.train_seconds
        );
        let row = match name {
            "unary-only (BCFW)" => Some(2),
            "perceptron" => Some(3),
            "SSVM BCFW" => Some(4),
            _ => None,
        };
        if let Some(row) = row {
            for example in &task.test[..8] {
                let model = instantiate(&task.templates, example, &trained.weights, false)?;
                let decoded = solve(&model, settings.map_method, &settings.map_options)?;
                let labels = decoded.solution.assignment;
                tiles[row].extend(labels.iter().map(|&x| x as f32));
            }
        }
        if row == Some(2) {
            for example in &task.test[..8] {
                tiles[0].extend(example.labels.iter().map(|&x| x as f32));
                tiles[1].extend((0..pixels).map(|v| example.features[2 * v + 1] as f32));
            }
        }
    }
    let path = out_dir.join("crf_denoise.png");
    let flat: Vec<f32> = tiles.concat();
    write_png_grid(&path, &flat, SIDE, SIDE, 8, Scaling::Unit)?;
    println!("wrote {}", path.display());
    Ok(())
}
