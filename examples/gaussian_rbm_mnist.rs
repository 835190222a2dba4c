//! Gaussian-Bernoulli RBMs on standardized MNIST grey levels, trained by CD-1 (learned
//! variances) and by denoising score matching; reports held-out reconstruction and
//! denoising errors before and after training, and writes samples.
//!
//! ```text
//! EBM_DATA=../shared/data cargo run --release --example gaussian_rbm_mnist -- [HIDDEN] [EPOCHS] [CD_LR] [DSM_LR] [THREADS]
//! ```
//! Defaults: `200 10 0.005 0.005 2`. Writes `out/gaussian_rbm/{cd,dsm}_samples.png`.

use ebm::core::ModelFile;
use ebm::core::train::{EpochReport, OnEpoch};
use ebm::core::train::{LoopConfig, OptimizerConfig};
use ebm::data::data_dir;
use ebm::data::image_grid::{Scaling, write_png_grid};
use ebm::data::mnist::{Split, load};
use ebm::kernels::rng::stream;
use ebm::rbm::gaussian::{
    GaussianMethod, GaussianRbm, GaussianTrainConfig, gaussian_heldout_errors, train_gaussian_rbm,
};
use std::time::Instant;

/// Noise of the denoising error and of score matching (standardized units).
const NOISE: f32 = 0.5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.to_string());
    let dir = data_dir::resolve(None).join("mnist");
    let train = load(&dir, Split::Train)?;
    let test = load(&dir, Split::Test)?.head(2000);
    let hidden: usize = arg(0, "200").parse()?;
    let epochs: usize = arg(1, "10").parse()?;
    let threads: usize = arg(4, "2").parse()?;
    let out = std::path::Path::new("out/gaussian_rbm");
    std::fs::create_dir_all(out)?;
    let untrained = GaussianRbm::initialize(&train, hidden, 0.01, &mut stream(1, u64::MAX, 0));
    let (recon, denoise) =
        gaussian_heldout_errors(&untrained, &untrained.standardize(&test), NOISE, 1);
    println!(
        "untrained: held-out reconstruction error {recon:.4}, denoising error {denoise:.4} (per standardized value)"
    );
    for (name, method, lr, learn_variance) in [
        (
            "cd",
            GaussianMethod::ContrastiveDivergence,
            arg(2, "0.005"),
            true,
        ),
        (
            "dsm",
            GaussianMethod::DenoisingScoreMatching { noise_std: NOISE },
            arg(3, "0.005"),
            false,
        ),
    ] {
        let config = GaussianTrainConfig {
            n_hidden: hidden,
            method,
            learn_variance,
            optimizer: OptimizerConfig {
                learning_rate: lr.parse()?,
                ..GaussianTrainConfig::default().optimizer
            },
            run: LoopConfig {
                epochs,
                threads,
                ..GaussianTrainConfig::default().run
            },
            ..GaussianTrainConfig::default()
        };
        let start = Instant::now();
        let mut observer = OnEpoch(|report: &EpochReport, model: &GaussianRbm| {
            let (r, d) = gaussian_heldout_errors(model, &model.standardize(&test), NOISE, 1);
            let epoch = report.epoch;
            eprintln!("{name} epoch {epoch}: held-out reconstruction {r:.4}, denoising {d:.4}");
        });
        let model = train_gaussian_rbm(&config, &train, &mut observer)?;
        let seconds = start.elapsed().as_secs_f64();
        let (recon, denoise) = gaussian_heldout_errors(&model, &model.standardize(&test), NOISE, 1);
        println!(
            "{name}: held-out reconstruction error {recon:.4}, denoising error {denoise:.4}, {seconds:.0} s"
        );
        let mut samples = model.gibbs_samples(25, 1000, &mut stream(2, 0, 0));
        model.unstandardize(&mut samples);
        for s in &mut samples {
            *s = s.clamp(0.0, 1.0);
        }
        write_png_grid(
            &out.join(format!("{name}_samples.png")),
            &samples,
            28,
            28,
            5,
            Scaling::Unit,
        )?;
        model.save(&out.join(format!("{name}.ebm")))?;
    }
    Ok(())
}
