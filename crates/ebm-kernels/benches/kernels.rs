//! Criterion benchmarks of every kernel at the shapes of a 784x500 RBM, batch 100, and the
//! matrix products of the MLP energy 784-512-512-1 at batch 128 (`gemm_mlp`).
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use ebm_kernels::activation::{sigmoid_in_place, softplus_sum};
use ebm_kernels::gemm::gemm;
use ebm_kernels::rng::{fill_u32, stream};
use ebm_kernels::sampling::{bernoulli, unit_f32};
use ebm_kernels::sparse::{ActiveIndex, ScaledProduct, binary_times, transposed_binary_times};
use ebm_kernels::{MatMut, MatRef, Parallelism};
use rayon::{ThreadPool, ThreadPoolBuilder};
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

/// Benchmark `out = a * b` (`a.rows() x b.cols()`, overwritten) on `pool` as
/// `{name}_{threads}t`.
fn bench_product(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    pool: &ThreadPool,
    threads: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
) {
    let par = Parallelism::with_threads(threads);
    let mut out = vec![0.0f32; a.rows() * b.cols()];
    group.bench_function(format!("{name}_{threads}t"), |bench| {
        bench.iter(|| {
            pool.install(|| {
                gemm(
                    0.0,
                    &mut MatMut::from_row_major(&mut out, a.rows(), b.cols()),
                    1.0,
                    a,
                    b,
                    par,
                )
            })
        })
    });
}

fn bench_gemm(c: &mut Criterion) {
    let v = random_unit(BATCH * VISIBLE, 1);
    let w = random_unit(VISIBLE * HIDDEN, 2);
    let h = random_unit(BATCH * HIDDEN, 3);
    let (v, w, h) = (
        MatRef::from_row_major(&v, BATCH, VISIBLE),
        MatRef::from_row_major(&w, VISIBLE, HIDDEN),
        MatRef::from_row_major(&h, BATCH, HIDDEN),
    );
    let mut group = c.benchmark_group("gemm");
    group.throughput(Throughput::Elements((2 * BATCH * VISIBLE * HIDDEN) as u64));
    for threads in [1usize, 2] {
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        bench_product(&mut group, "v_w", &pool, threads, v, w);
        bench_product(&mut group, "h_wt", &pool, threads, h, w.t());
        bench_product(&mut group, "vt_h", &pool, threads, v.t(), h);
    }
    group.finish();
}

/// The four products of a Langevin step of the MLP energy 784-512-512-1 at batch 128
/// (forward through both hidden layers, then the input gradient back through them), each
/// with its own flop count as throughput, so criterion prints GFLOPS.
fn bench_gemm_mlp(c: &mut Criterion) {
    const ROWS: usize = 128;
    const HIDDEN: usize = 512;
    let x = random_unit(ROWS * VISIBLE, 7);
    let h = random_unit(ROWS * HIDDEN, 8);
    let w1 = random_unit(VISIBLE * HIDDEN, 9);
    let w2 = random_unit(HIDDEN * HIDDEN, 10);
    let x = MatRef::from_row_major(&x, ROWS, VISIBLE);
    let h = MatRef::from_row_major(&h, ROWS, HIDDEN);
    let w1 = MatRef::from_row_major(&w1, VISIBLE, HIDDEN);
    let w2 = MatRef::from_row_major(&w2, HIDDEN, HIDDEN);
    let mut group = c.benchmark_group("gemm_mlp");
    for threads in [1usize, 2] {
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for (name, a, b) in [
            ("x_w1", x, w1),
            ("h_w2", h, w2),
            ("g_w2t", h, w2.t()),
            ("g_w1t", h, w1.t()),
        ] {
            group.throughput(Throughput::Elements(
                (2 * a.rows() * a.cols() * b.cols()) as u64,
            ));
            bench_product(&mut group, name, &pool, threads, a, b);
        }
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

criterion_group!(
    benches,
    bench_gemm,
    bench_gemm_mlp,
    bench_sparse,
    bench_elementwise
);
criterion_main!(benches);
