//! Training time of a collaborative-filtering RBM against the number of ratings, up to
//! the Netflix Prize's shape (480,189 users, 17,770 movies, 100,480,507 ratings) on
//! synthetic data: one CD-1 epoch of the user-based model (100 hidden units, batches of
//! 1000 users) at each scale, with the peak resident memory.
//!
//! ```text
//! cargo bench --bench cf_scaling -- [THREADS] [FRACTION ...]   (default: 2 0.01 0.1 1)
//! ```
//! Not a criterion benchmark: one full-size epoch takes tens of seconds, and the point is
//! the ratio of time to ratings across scales, measured in one process.

use ebm::cf::Orientation;
use ebm::cf::synthetic::{SyntheticShape, generate};
use ebm::cf::train::{CdSchedule, NoObserver, TrainConfig, initial_model, train};
use ebm::core::schedule::MomentumSchedule;
use ebm::core::train::{LoopConfig, OptimizerConfig, OptimizerMethod};
use std::time::Instant;

/// Peak resident set size of this process in GiB (Linux), if known.
fn peak_rss_gib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / (1024.0 * 1024.0))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; ignore flags.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let threads: usize = args.first().map_or(Ok(2), |a| a.parse())?;
    let fractions: Vec<f64> = if args.len() > 1 {
        args[1..]
            .iter()
            .map(|a| a.parse())
            .collect::<Result<_, _>>()?
    } else {
        vec![0.01, 0.1, 1.0]
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    println!("threads {threads}");
    println!("fraction     users    ratings  generate_s  epoch_s  ns_per_rating  peak_rss_gib");
    for fraction in fractions {
        let shape = SyntheticShape::netflix().scaled(fraction);
        let start = Instant::now();
        let data = pool.install(|| generate(shape))?;
        let generate_seconds = start.elapsed().as_secs_f64();
        let config = TrainConfig {
            orientation: Orientation::UserBased,
            n_hidden: 100,
            cd: CdSchedule::constant(1),
            optimizer: OptimizerConfig {
                learning_rate: 0.01,
                method: OptimizerMethod::Sgd {
                    momentum: MomentumSchedule::constant(0.9),
                },
                ..TrainConfig::default().optimizer
            },
            run: LoopConfig {
                epochs: 1,
                batch_size: 1000,
                threads,
                ..TrainConfig::default().run
            },
            ..TrainConfig::default()
        };
        let mut model = initial_model(&config, &data, &[])?;
        let summary = train(&mut model, &config, &mut NoObserver)?;
        let ratings = data.by_user.n_entries();
        println!(
            "{fraction:>8} {:>9} {:>10} {:>11.2} {:>8.2} {:>14.1} {:>13.2}",
            data.by_user.n_rows(),
            ratings,
            generate_seconds,
            summary.train_seconds,
            summary.train_seconds * 1e9 / ratings as f64,
            peak_rss_gib().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
