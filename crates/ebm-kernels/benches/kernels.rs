//! Criterion benchmarks of every kernel at the shapes of a 784x500 RBM, batch 100.
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ebm_kernels::activation::{sigmoid_in_place, softplus_sum};
use ebm_kernels::gemm::gemm;
use ebm_kernels::rng::{fill_u32, stream};
use ebm_kernels::sampling::{bernoulli, unit_f32};
use ebm_kernels::sparse::{ActiveIndex, ScaledProduct, binary_times, transposed_binary_times};
use ebm_kernels::{MatMut, MatRef, Parallelism};
use std::hint::black_box;

const BATCH: usize = 100;
const VISIBLE: usize = 784;
const HIDDEN: usize = 500;

fn random_unit(len: usize, seed: u64) -> Vec<f32> {
    let mut bits = vec![0u32; len];
    fill_u32(&mut stream(seed, 0, 0), &mut bits);
    bits.iter().map(|&b| unit_f32(b)).collect()
}

fn binary(len: usize, p: f32, seed: u64) -> Vec<f32> {
    random_unit(len, seed)
        .iter()
        .map(|&u| if u < p { 1.0 } else { 0.0 })
        .collect()
}

fn bench_gemm(c: &mut Criterion) {
    let v = random_unit(BATCH * VISIBLE, 1);
    let w = random_unit(VISIBLE * HIDDEN, 2);
    let h = random_unit(BATCH * HIDDEN, 3);
    let mut group = c.benchmark_group("gemm");
    group.throughput(Throughput::Elements((2 * BATCH * VISIBLE * HIDDEN) as u64));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let par = Parallelism::with_threads(threads);
        let mut out_h = vec![0.0f32; BATCH * HIDDEN];
        group.bench_function(format!("v_w_{threads}t"), |b| {
            b.iter(|| {
                pool.install(|| {
                    gemm(
                        0.0,
                        &mut MatMut::from_row_major(&mut out_h, BATCH, HIDDEN),
                        1.0,
                        MatRef::from_row_major(&v, BATCH, VISIBLE),
                        MatRef::from_row_major(&w, VISIBLE, HIDDEN),
                        par,
                    )
                })
            })
        });
        let mut out_v = vec![0.0f32; BATCH * VISIBLE];
        group.bench_function(format!("h_wt_{threads}t"), |b| {
            b.iter(|| {
                pool.install(|| {
                    gemm(
                        0.0,
                        &mut MatMut::from_row_major(&mut out_v, BATCH, VISIBLE),
                        1.0,
                        MatRef::from_row_major(&h, BATCH, HIDDEN),
                        MatRef::from_row_major(&w, VISIBLE, HIDDEN).t(),
                        par,
                    )
                })
            })
        });
        let mut grad = vec![0.0f32; VISIBLE * HIDDEN];
        group.bench_function(format!("vt_h_{threads}t"), |b| {
            b.iter(|| {
                pool.install(|| {
                    gemm(
                        0.0,
                        &mut MatMut::from_row_major(&mut grad, VISIBLE, HIDDEN),
                        1.0,
                        MatRef::from_row_major(&v, BATCH, VISIBLE).t(),
                        MatRef::from_row_major(&h, BATCH, HIDDEN),
                        par,
                    )
                })
            })
        });
    }
    group.finish();
}

fn bench_sparse(c: &mut Criterion) {
    let w = random_unit(VISIBLE * HIDDEN, 2);
    let h = random_unit(BATCH * HIDDEN, 3);
    let mut group = c.benchmark_group("sparse");
    for density in [0.13f32, 0.3, 0.5] {
        let v = binary(BATCH * VISIBLE, density, 4);
        let mut rows = ActiveIndex::new();
        let mut cols = ActiveIndex::new();
        rows.rebuild_from_rows(&v, BATCH, VISIBLE);
        rows.transpose_into(&mut cols);
        let mut out_h = vec![0.0f32; BATCH * HIDDEN];
        group.bench_function(format!("binary_times_d{density}"), |b| {
            b.iter(|| {
                binary_times(
                    &mut out_h,
                    &rows,
                    MatRef::from_row_major(&w, VISIBLE, HIDDEN),
                    &[],
                    Parallelism::Sequential,
                )
            })
        });
        let mut grad = vec![0.0f32; VISIBLE * HIDDEN];
        group.bench_function(format!("transposed_binary_times_d{density}"), |b| {
            b.iter(|| {
                let term = ScaledProduct {
                    x_columns: &cols,
                    h: MatRef::from_row_major(&h, BATCH, HIDDEN),
                    scale: 1.0,
                };
                transposed_binary_times(&mut grad, &[term], Parallelism::Sequential)
            })
        });
        group.bench_function(format!("index_rebuild_d{density}"), |b| {
            b.iter(|| {
                rows.rebuild_from_rows(black_box(&v), BATCH, VISIBLE);
                rows.transpose_into(&mut cols);
            })
        });
    }
    group.finish();
}

fn bench_elementwise(c: &mut Criterion) {
    let x: Vec<f32> = random_unit(BATCH * VISIBLE, 5)
        .iter()
        .map(|u| 16.0 * u - 8.0)
        .collect();
    let mut group = c.benchmark_group("elementwise");
    group.throughput(Throughput::Elements(x.len() as u64));
    let mut buf = x.clone();
    group.bench_function("sigmoid", |b| {
        b.iter(|| {
            buf.copy_from_slice(&x);
            sigmoid_in_place(&mut buf)
        })
    });
    group.bench_function("softplus_sum", |b| b.iter(|| softplus_sum(black_box(&x))));
    let mut bits = vec![0u32; x.len()];
    let mut rng = stream(1, 0, 0);
    group.bench_function("fill_u32", |b| b.iter(|| fill_u32(&mut rng, &mut bits)));
    let probs = random_unit(x.len(), 6);
    let mut out = vec![0.0f32; x.len()];
    group.bench_function("bernoulli", |b| {
        b.iter(|| bernoulli(&probs, &bits, &mut out))
    });
    group.finish();
}

criterion_group!(benches, bench_gemm, bench_sparse, bench_elementwise);
criterion_main!(benches);
