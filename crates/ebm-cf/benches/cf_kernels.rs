//! Criterion benchmarks of the collaborative-filtering hot paths: the per-unit kernels at
//! 100 hidden units, the exact level distribution, and one training epoch on synthetic
//! data of MovieLens 100k's shape.
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ebm_cf::synthetic::{SyntheticShape, generate};
use ebm_cf::train::{CdSchedule, NoObserver, TrainConfig, initial_model, train};
use ebm_cf::{Orientation, Query};
use ebm_core::train::LoopConfig;
use ebm_kernels::rng::{fill_u32, stream};
use ebm_kernels::sampling::unit_f32;
use ebm_kernels::vector::{dot, softplus_shifted_sum};
use std::hint::black_box;

const HIDDEN: usize = 100;

fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut bits = vec![0u32; len];
    fill_u32(&mut stream(seed, 0, 0), &mut bits);
    bits.iter().map(|&b| 2.0 * unit_f32(b) - 1.0).collect()
}

fn bench_vector(c: &mut Criterion) {
    let x = random(HIDDEN, 1);
    let w = random(HIDDEN, 2);
    let mut group = c.benchmark_group("vector");
    group.throughput(Throughput::Elements(HIDDEN as u64));
    group.bench_function("softplus_shifted_sum_100", |b| {
        b.iter(|| softplus_shifted_sum(black_box(&x), black_box(&w)))
    });
    group.bench_function("dot_100", |b| b.iter(|| dot(black_box(&x), black_box(&w))));
    group.finish();
}

fn ml100k_shaped() -> ebm_cf::RatingsData {
    generate(SyntheticShape {
        users: 943,
        items: 1682,
        ratings: 80_000,
        seed: 1,
    })
    .expect("valid shape")
}

fn bench_model(c: &mut Criterion) {
    let data = ml100k_shaped();
    let mut group = c.benchmark_group("cf");
    group.sample_size(10);
    for orientation in [Orientation::UserBased, Orientation::ItemBased] {
        let config = TrainConfig {
            orientation,
            cd: CdSchedule::constant(1),
            run: LoopConfig {
                epochs: 1,
                ..TrainConfig::default().run
            },
            ..TrainConfig::default()
        };
        let model = initial_model(&config, &data, &[]).expect("valid config");
        group.throughput(Throughput::Elements(data.by_user.n_entries() as u64));
        group.bench_function(format!("cd1_epoch_{}", orientation.name()), |b| {
            b.iter(|| {
                let mut m = model.clone();
                train(&mut m, &config, &mut NoObserver).expect("trains")
            })
        });
        let queries: Vec<Query> = (0..10_000u32)
            .map(|i| Query {
                user: Some(i % 943),
                item: Some((i * 7) % 1682),
                value: 3.0,
            })
            .collect();
        group.throughput(Throughput::Elements(queries.len() as u64));
        group.bench_function(format!("predict_10k_{}", orientation.name()), |b| {
            b.iter(|| model.predict(black_box(&queries)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_vector, bench_model);
criterion_main!(benches);
