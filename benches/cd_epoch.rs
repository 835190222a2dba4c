//! Criterion benchmark of RBM training updates at the MNIST shape (784 x 500, batch 100)
//! on synthetic binary data with MNIST's density of ones (~13%), so it needs no download.
//! One iteration is one epoch over 1,000 examples (10 minibatch updates); multiply by 60
//! for a 60,000-image epoch.
use criterion::{Criterion, criterion_group, criterion_main};
use ebm::core::train::LoopConfig;
use ebm::data::Dataset;
use ebm::kernels::rng::{fill_u32, stream};
use ebm::kernels::sampling::unit_f32;
use ebm::rbm::train::{Method, NoObserver, TrainConfig, TrainState, train};

const VISIBLE: usize = 784;
const EXAMPLES: usize = 1000;
const DENSITY: f32 = 0.13;

fn synthetic_binary() -> Dataset {
    let mut bits = vec![0u32; EXAMPLES * VISIBLE];
    fill_u32(&mut stream(9, 0, 0), &mut bits);
    Dataset {
        features: bits
            .iter()
            .map(|&b| if unit_f32(b) < DENSITY { 1.0 } else { 0.0 })
            .collect(),
        n_examples: EXAMPLES,
        n_features: VISIBLE,
        image_shape: Some((28, 28)),
        labels: None,
    }
}

fn bench_updates(c: &mut Criterion) {
    let data = synthetic_binary();
    let mut group = c.benchmark_group("rbm_784x500_batch100_1000_examples");
    group.sample_size(10);
    for (label, method, k) in [
        ("cd1", Method::ContrastiveDivergence, 1),
        ("pcd1", Method::Persistent { chains: 100 }, 1),
        ("cd10", Method::ContrastiveDivergence, 10),
    ] {
        for threads in [1usize, 2] {
            let config = TrainConfig {
                method,
                gibbs_steps: k,
                monitor_examples: 1,
                run: LoopConfig {
                    epochs: 1,
                    threads,
                    ..TrainConfig::default().run
                },
                ..TrainConfig::default()
            };
            group.bench_function(format!("{label}_{threads}t"), |b| {
                b.iter(|| {
                    let mut state = TrainState::new(config.clone(), &data).unwrap();
                    train(&mut state, &data, &mut NoObserver).unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_updates);
criterion_main!(benches);
