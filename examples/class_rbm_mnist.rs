//! Train a classification RBM (Larochelle & Bengio 2008) on MNIST and report its test
//! error; writes class-conditional samples.
//!
//! ```text
//! EBM_DATA=../shared/data cargo run --release --example class_rbm_mnist -- \
//!     [HIDDEN] [EPOCHS] [LR] [OBJECTIVE: hybrid|discriminative|generative] [ALPHA] [BATCH] [THREADS] [VALIDATION] [INIT_STD]
//! ```
//! Defaults: `1500 30 0.05 hybrid 0.01 20 2 0 0.05`. With VALIDATION = 1 the model trains on
//! the first 50,000 training images and reports the error on the other 10,000 each epoch
//! (for choosing settings); with 0 it trains on all 60,000 and reports the test error.
//! Writes `out/class_rbm/model.ebm` and `out/class_rbm/samples.png` (ten samples of each
//! digit after 300 Gibbs sweeps with the label clamped, one row per class).

use ebm::core::ModelFile;
use ebm::core::schedule::LearningRateSchedule;
use ebm::core::train::{EpochReport, OnEpoch};
use ebm::core::train::{LoopConfig, OptimizerConfig};
use ebm::data::image_grid::{Scaling, write_png_grid};
use ebm::data::mnist::{Split, load};
use ebm::data::{Dataset, data_dir};
use ebm::kernels::Parallelism;
use ebm::kernels::rng::stream;
use ebm::rbm::class_rbm::{ClassRbm, ClassTrainConfig, Objective, train_class_rbm};
use std::time::Instant;

fn rows(data: &Dataset, range: std::ops::Range<usize>) -> Dataset {
    Dataset {
        features: data.features[range.start * data.n_features..range.end * data.n_features]
            .to_vec(),
        n_examples: range.len(),
        n_features: data.n_features,
        image_shape: data.image_shape,
        labels: data.labels.as_ref().map(|l| l[range].to_vec()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.to_string());
    let dir = data_dir::resolve(None).join("mnist");
    let train_all = load(&dir, Split::Train)?;
    let validation = arg(7, "0") == "1";
    let (train, held_out, held_name) = if validation {
        (
            rows(&train_all, 0..50_000),
            rows(&train_all, 50_000..60_000),
            "validation",
        )
    } else {
        (train_all, load(&dir, Split::Test)?, "test")
    };
    let alpha: f32 = arg(4, "0.01").parse()?;
    let objective = match arg(3, "hybrid").as_str() {
        "hybrid" => Objective::Hybrid {
            generative_weight: alpha,
        },
        "discriminative" => Objective::Discriminative,
        "generative" => Objective::Generative,
        other => {
            return Err(
                format!("objective '{other}' is not hybrid, discriminative or generative").into(),
            );
        }
    };
    let threads: usize = arg(6, "2").parse()?;
    let config = ClassTrainConfig {
        n_hidden: arg(0, "1500").parse()?,
        objective,
        init_std: arg(8, "0.05").parse()?,
        optimizer: OptimizerConfig {
            learning_rate: arg(2, "0.05").parse()?,
            learning_rate_schedule: LearningRateSchedule::Linear {
                final_fraction: 0.0,
            },
            ..ClassTrainConfig::default().optimizer
        },
        run: LoopConfig {
            epochs: arg(1, "30").parse()?,
            batch_size: arg(5, "20").parse()?,
            threads,
            ..ClassTrainConfig::default().run
        },
        ..ClassTrainConfig::default()
    };
    let par = Parallelism::with_threads(threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let start = Instant::now();
    let mut observer = OnEpoch(|r: &EpochReport, model: &ClassRbm| {
        let error = pool
            .install(|| model.error_rate(&held_out, par))
            .unwrap_or(f64::NAN);
        eprintln!(
            "epoch {:>3}/{}: train error {:.4}, {held_name} error {:.4}, {:.1} s",
            r.epoch,
            r.epochs,
            r.metric("train_error").unwrap_or(f64::NAN),
            error,
            r.seconds
        );
    });
    let model = train_class_rbm(&config, &train, &mut observer)?;
    let seconds = start.elapsed().as_secs_f64();
    let error = pool.install(|| model.error_rate(&held_out, par))?;
    println!(
        "{held_name} error {:.4} ({:.2}%), {} hidden, {:?}, {seconds:.0} s",
        error,
        100.0 * error,
        config.n_hidden,
        config.objective
    );
    let out = std::path::Path::new("out/class_rbm");
    std::fs::create_dir_all(out)?;
    model.save(&out.join("model.ebm"))?;
    let mut tiles = Vec::new();
    let mut rng = stream(1, 0, 0);
    for class in 0..10 {
        tiles.extend(model.sample_class(class, 10, 300, &mut rng));
    }
    write_png_grid(&out.join("samples.png"), &tiles, 28, 28, 10, Scaling::Unit)?;
    Ok(())
}
