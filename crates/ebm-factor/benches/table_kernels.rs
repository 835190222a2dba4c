//! Criterion benchmarks of the exact-inference table kernels (`ebm_factor::kernels`) on a
//! 2^20-entry table over 20 binary variables: the row-by-row product of three inputs
//! (`ebm_factor::rows::product`, what exact inference builds its cliques with), the
//! per-block log-sum-exp and max-out of the innermost variable, and the marginal onto
//! half the scope (`ebm_factor::rows::marginals_onto`, what the downward pass of exact
//! marginals runs), at 1 and 2 threads (throughput in table entries per second).
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ebm_factor::kernels::{max_out_blocks, sum_out_blocks};
use ebm_factor::rows::{Strided, marginals_onto, product, strides_along};
use std::hint::black_box;

fn bench_kernels(c: &mut Criterion) {
    let n = 20;
    let layout: Vec<usize> = (0..n).collect();
    let cards = vec![2usize; n];
    let len = 1usize << n;
    let full: Vec<f64> = (0..len)
        .map(|i| ((i * 7919) % 1000) as f64 / 500.0)
        .collect();
    let low: Vec<usize> = (0..n / 2).collect();
    let high: Vec<usize> = (n / 2..n).collect();
    let half: Vec<f64> = (0..1 << (n / 2)).map(|i| (i % 13) as f64 / 13.0).collect();
    let (low_cards, high_cards) = cards.split_at(n / 2);
    let inputs = vec![
        Strided {
            values: &full,
            strides: strides_along(&layout, &layout, &cards),
        },
        Strided {
            values: &half,
            strides: strides_along(&layout, &low, low_cards),
        },
        Strided {
            values: &half,
            strides: strides_along(&layout, &high, high_cards),
        },
    ];
    let mut group = c.benchmark_group("table_kernels_2^20");
    group.throughput(Throughput::Elements(len as u64));
    group.sample_size(20);
    let pools = [1, 2].map(|threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
        (threads, pool.expect("thread pool"))
    });
    for (threads, pool) in &pools {
        group.bench_function(format!("product_{threads}_threads"), |b| {
            let mut out = Vec::new();
            b.iter(|| pool.install(|| product(black_box(&cards), &inputs, &mut out)))
        });
        group.bench_function(format!("sum_out_{threads}_threads"), |b| {
            b.iter(|| {
                let mut t = full.clone();
                pool.install(|| sum_out_blocks(black_box(&mut t), 4, &mut Vec::new()))
            })
        });
        group.bench_function(format!("max_out_{threads}_threads"), |b| {
            b.iter(|| pool.install(|| max_out_blocks(black_box(&full), 4)))
        });
        let target = [(strides_along(&layout, &low, low_cards), 1 << (n / 2))];
        group.bench_function(format!("marginalize_{threads}_threads"), |b| {
            b.iter(|| pool.install(|| marginals_onto(black_box(&full), &cards, &target, None)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_kernels);
criterion_main!(benches);
