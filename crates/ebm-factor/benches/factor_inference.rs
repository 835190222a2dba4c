//! Criterion benchmarks of ebm-factor: checkerboard Gibbs sweeps of a 1000x1000 Ising grid
//! at 1 and 2 threads (throughput in spin updates per second), a chromatic Gibbs sweep and
//! a BP pass of the general engine on a 100x100 Potts grid, and exact inference (ln Z,
//! marginals, MAP) on the UAI 2014 models in `$EBM_DATA/uai/pr` when they are present.
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ebm_data::uai;
use ebm_factor::gibbs::GibbsChain;
use ebm_factor::ising::IsingGrid;
use ebm_factor::{FactorModel, Network, exact};
use std::hint::black_box;

fn bench_ising(c: &mut Criterion) {
    let side = 1000;
    let mut group = c.benchmark_group("ising_1000x1000");
    group.throughput(Throughput::Elements((side * side) as u64));
    group.sample_size(20);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let mut grid = IsingGrid::new(side, side, 1.0, 0.0, 1).expect("grid");
        group.bench_function(format!("sweep_{threads}_threads"), |b| {
            b.iter(|| pool.install(|| grid.sweep(black_box(0.44))))
        });
    }
    group.finish();
}

fn potts_grid(side: usize, states: usize) -> FactorModel {
    let mut m = FactorModel::new(vec![states; side * side]);
    for v in 0..side * side {
        let unary: Vec<f64> = (0..states)
            .map(|x| ((v * 7 + x * 3) % 5) as f64 * 0.2)
            .collect();
        m.add_energy_factor(&[v], &unary).expect("unary");
        if (v + 1) % side != 0 {
            m.add_potts(v, v + 1, 0.8).expect("potts");
        }
        if v + side < side * side {
            m.add_potts(v, v + side, 0.8).expect("potts");
        }
    }
    m
}

fn bench_general(c: &mut Criterion) {
    let model = potts_grid(100, 3);
    let network = Network::new(&model);
    let classes = network.color_classes();
    let mut chain = GibbsChain::random_start(&network, &classes, 1);
    let mut group = c.benchmark_group("potts_100x100_3_states");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("gibbs_sweep", |b| b.iter(|| chain.sweep(black_box(1.0))));
    let config = ebm_factor::bp::BpConfig {
        iterations: 1,
        ..Default::default()
    };
    group.bench_function("bp_pass", |b| {
        b.iter(|| ebm_factor::bp::loopy_bp(&model, ebm_factor::bp::Semiring::SumProduct, &config))
    });
    group.finish();
}

fn bench_uai(c: &mut Criterion) {
    let Some(root) = std::env::var_os("EBM_DATA") else {
        eprintln!("skipped UAI benches: EBM_DATA not set");
        return;
    };
    let dir = std::path::Path::new(&root).join("uai/pr");
    let mut group = c.benchmark_group("uai_exact");
    group.sample_size(10);
    for name in [
        "Grids_11",
        "Segmentation_11",
        "Pedigree_11",
        "DBN_11",
        "Promedus_11",
    ] {
        let Ok(parsed) = uai::read(&dir.join(format!("{name}.uai"))) else {
            continue;
        };
        let mut model = FactorModel::from_uai(&parsed);
        let evidence =
            uai::read_evidence(&dir.join(format!("{name}.uai.evid")), &parsed).expect("evidence");
        for (v, x) in evidence {
            model.set_evidence(v, x).expect("evidence in range");
        }
        group.bench_function(format!("{name}_log_z"), |b| {
            b.iter(|| exact::log_partition(&model, exact::DEFAULT_MAX_TABLE))
        });
        group.bench_function(format!("{name}_marginals"), |b| {
            b.iter(|| exact::marginals(&model, exact::DEFAULT_MAX_TABLE))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_ising, bench_general, bench_uai);
criterion_main!(benches);
