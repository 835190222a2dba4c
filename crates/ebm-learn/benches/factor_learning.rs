//! Criterion benchmarks of learning: one SSVM (BCFW) epoch on 28x28 grid-CRF denoising at
//! 50, 100 and 200 examples (throughput in examples per second: constant throughput means
//! time linear in the number of examples), the graph-cut MAP of one 28x28 image, and one
//! pseudo-likelihood gradient of the all-pairs Sudoku model.
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ebm_factor::solve::{Method, SolveOptions, solve};
use ebm_learn::energy::instantiate;
use ebm_learn::tasks::denoise::{DenoiseConfig, denoise_task};
use ebm_learn::tasks::sudoku::solved_grid_task;
use ebm_learn::train::{Learner, TrainConfig, train};
use std::hint::black_box;

/// Synthetic 28x28 "digits": a filled ring of random centre and radii per image.
fn ring_images(count: usize) -> Vec<f32> {
    let mut images = Vec::with_capacity(count * 784);
    for i in 0..count {
        let (cy, cx) = (10.0 + (i % 7) as f32, 10.0 + (i % 5) as f32 * 1.5);
        let (inner, outer) = (3.0 + (i % 3) as f32, 7.0 + (i % 4) as f32);
        for r in 0..28 {
            for c in 0..28 {
                let d = ((r as f32 - cy).powi(2) + (c as f32 - cx).powi(2)).sqrt();
                images.push(if d >= inner && d <= outer { 1.0 } else { 0.0 });
            }
        }
    }
    images
}

fn bench_ssvm_epoch(c: &mut Criterion) {
    let mut group = c.benchmark_group("bcfw_epoch_denoise_28x28");
    group.sample_size(10);
    let test = ring_images(1);
    for examples in [50, 100, 200] {
        let task = denoise_task(
            &ring_images(examples),
            &test,
            28,
            28,
            &DenoiseConfig::default(),
        )
        .expect("task");
        let config = TrainConfig {
            learner: Learner::SsvmFrankWolfe,
            epochs: 1,
            regularization: 0.1,
            map_method: Method::GraphCut,
            ..TrainConfig::default()
        };
        group.throughput(Throughput::Elements(examples as u64));
        group.bench_function(format!("{examples}_examples"), |b| {
            b.iter(|| {
                train(&task.templates, black_box(&task.train), &config, |_| {}).expect("train")
            })
        });
    }
    group.finish();
}

fn bench_graph_cut(c: &mut Criterion) {
    let images = ring_images(1);
    let task = denoise_task(&images, &images, 28, 28, &DenoiseConfig::default()).expect("task");
    // Smoothing weights: unary copies the noisy pixel, pairwise rewards agreement.
    let mut weights = vec![0.0; task.templates.weight_count()];
    weights[2] = 1.0;
    weights[3] = -1.0;
    for t in 1..3 {
        let offset = task.templates.offset(t);
        weights[offset + 1] = 0.6;
        weights[offset + 2] = 0.6;
    }
    let model = instantiate(&task.templates, &task.train[0], &weights, false).expect("model");
    let options = SolveOptions::deterministic();
    c.bench_function("graph_cut_28x28", |b| {
        b.iter(|| solve(black_box(&model), Method::GraphCut, &options).expect("cut"))
    });
}

fn bench_sudoku_pl(c: &mut Criterion) {
    let task = solved_grid_task(3, 32, 1).expect("task");
    let config = TrainConfig {
        learner: Learner::PseudoLikelihood,
        epochs: 1,
        batch: 32,
        ..TrainConfig::default()
    };
    let mut group = c.benchmark_group("pseudo_likelihood_sudoku_all_pairs");
    group.sample_size(10);
    group.throughput(Throughput::Elements(32));
    group.bench_function("batch_of_32_grids", |b| {
        b.iter(|| train(&task.templates, black_box(&task.train), &config, |_| {}).expect("train"))
    });
    group.finish();
}

criterion_group!(benches, bench_ssvm_epoch, bench_graph_cut, bench_sudoku_pl);
criterion_main!(benches);
