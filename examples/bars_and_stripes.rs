//! The exact-log-Z demo: train a binary RBM on the built-in 4x4 bars-and-stripes set (no
//! download; 30 images, so the best possible log-likelihood is known: -ln 30), measure it
//! exactly and with AIS, and write its pictures and metrics to `out/bars_and_stripes/`.
//!
//! ```text
//! cargo run --release --example bars_and_stripes
//! ```
use ebm::core::ModelFile;
use ebm::core::train::LoopConfig;
use ebm::data::bars_and_stripes;
use ebm::data::image_grid::{Scaling, write_png_grid};
use ebm::kernels::Parallelism;
use ebm::rbm::metrics::{
    AisConfig, ais_log_partition, base_rate_visible_bias, exact_log_partition, log_likelihood,
};
use ebm::rbm::sampling::gibbs_samples;
use ebm::rbm::train::{Method, NoObserver, TrainConfig, TrainState, train};
use std::error::Error;
use std::path::Path;

fn main() -> Result<(), Box<dyn Error>> {
    let out = Path::new("out/bars_and_stripes");
    std::fs::create_dir_all(out)?;
    let data = bars_and_stripes::dataset(4);
    let config = TrainConfig {
        n_hidden: 16,
        method: Method::ContrastiveDivergence,
        gibbs_steps: 1,
        optimizer: TrainConfig::default().optimizer.with_learning_rate(0.1),
        run: LoopConfig {
            seed: 1,
            ..TrainConfig::default().run.with_batches(1000, 10)
        },
        ..TrainConfig::default()
    };
    let mut state = TrainState::new(config, &data)?;
    let summary = train(&mut state, &data, &mut NoObserver)?;
    let model = &state.model;
    let par = Parallelism::Sequential;
    let exact = exact_log_partition(model, par)?;
    let ais = ais_log_partition(
        model,
        &base_rate_visible_bias(&data),
        &AisConfig::new(100, 10_000, 1),
        par,
    )?;
    let ll = log_likelihood(model, &data, exact, par)?;

    let samples = gibbs_samples(model, 64, 1000, 7, par)?;
    write_png_grid(&out.join("samples.png"), &samples, 4, 4, 8, Scaling::Unit)?;
    let filters = model.hidden_unit_weights(model.n_hidden());
    write_png_grid(
        &out.join("filters.png"),
        &filters,
        4,
        4,
        4,
        Scaling::SymmetricPerTile,
    )?;
    model.save(&out.join("model.ebm"))?;

    let metrics = format!(
        "{{\"train_seconds\":{:.4},\"log_z_exact\":{exact:.6},\"log_z_ais\":{:.6},\"log_z_ais_std\":{:.6},\"train_ll\":{ll:.6},\"ideal_ll\":{:.6},\"uniform_ll\":{:.6}}}",
        summary.train_seconds,
        ais.log_z,
        ais.log_z_std,
        -(30f64.ln()),
        -16.0 * 2f64.ln()
    );
    ebm::core::atomic::write_atomic(&out.join("metrics.json"), metrics.as_bytes())?;
    println!("{metrics}");
    println!(
        "wrote {}/{{samples.png, filters.png, model.ebm, metrics.json}}",
        out.display()
    );
    Ok(())
}
