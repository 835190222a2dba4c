//! Train a binary RBM with 20 hidden units on the built-in 8x8 handwritten digits (no
//! download), measure its held-out log-likelihood twice, exactly (log Z by summing over
//! the 2^20 hidden states) and by AIS, and write its pictures and metrics to
//! `out/quickstart/`: digit samples, filters, a learning curve, the model and
//! `metrics.json`. Exits with an error when the two estimates differ by more than 0.1
//! nats.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```
use ebm::core::ModelFile;
use ebm::core::train::LoopConfig;
use ebm::data::Dataset;
use ebm::data::catalog::{BinarizeMode, DatasetName, load_binary};
use ebm::data::image_grid::{Scaling, write_png_grid};
use ebm::data::mnist::Split;
use ebm::kernels::Parallelism;
use ebm::plot::{Chart, Layout, Series, Style, learning_curve, write_png};
use ebm::rbm::BinaryRbm;
use ebm::rbm::metrics::{
    AisConfig, ais_log_partition, base_rate_visible_bias, exact_log_partition, log_likelihood,
    reconstruction_error,
};
use ebm::rbm::sampling::gibbs_samples;
use ebm::rbm::train::{EpochReport, TrainConfig, TrainObserver, TrainState, train};
use std::error::Error;
use std::path::Path;
use std::time::Instant;

/// Hidden units: few enough that exact log Z (2^20 terms) takes about a second.
const HIDDEN: usize = 20;
/// Epochs, and those after which the exact log-likelihood is measured for the curve
/// (the last one included).
const EPOCHS: usize = 100;
const LL_EPOCHS: [usize; 5] = [5, 10, 25, 50, EPOCHS];
/// AIS: runs and intermediate distributions.
const AIS_RUNS: usize = 100;
const AIS_BETAS: usize = 5000;
/// The largest gap between the exact and the AIS log-likelihood this example accepts.
const MAX_GAP: f64 = 0.1;

/// The curves of the run: reconstruction error every epoch, exact log-likelihood after
/// the epochs `LL_EPOCHS`, on the training and the held-out digits.
struct Curves<'a> {
    train: &'a Dataset,
    test: &'a Dataset,
    par: Parallelism,
    recon: [Vec<(f64, f64)>; 2],
    ll: [Vec<(f64, f64)>; 2],
    /// The exact log Z of the last measured epoch, with its time in seconds.
    log_z: Option<(f64, f64)>,
}

impl TrainObserver<TrainState> for Curves<'_> {
    fn on_epoch(&mut self, r: &EpochReport, state: &TrainState) -> Result<(), String> {
        let model = &state.model;
        let epoch = r.epoch as f64;
        for (i, data) in [self.train, self.test].into_iter().enumerate() {
            let recon = reconstruction_error(model, data, self.par).map_err(|e| e.to_string())?;
            self.recon[i].push((epoch, recon));
        }
        if LL_EPOCHS.contains(&r.epoch) {
            let start = Instant::now();
            let log_z = exact_log_partition(model, self.par).map_err(|e| e.to_string())?;
            self.log_z = Some((log_z, start.elapsed().as_secs_f64()));
            for (i, data) in [self.train, self.test].into_iter().enumerate() {
                let ll = log_likelihood(model, data, log_z, self.par).map_err(|e| e.to_string())?;
                self.ll[i].push((epoch, ll));
            }
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let start = Instant::now();
    let out = Path::new("out/quickstart");
    std::fs::create_dir_all(out)?;
    let digits = |split| load_binary(DatasetName::Digits, out, split, BinarizeMode::Stochastic);
    let (train_set, test_set) = (digits(Split::Train)?, digits(Split::Test)?);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let par = Parallelism::with_threads(threads);
    // The settings of `ebm rbm train --dataset digits --hidden 20 --epochs 100 --batch 20`.
    let config = TrainConfig {
        n_hidden: HIDDEN,
        run: LoopConfig {
            seed: 1,
            ..TrainConfig::default().run.with_batches(EPOCHS, 20)
        },
        ..TrainConfig::default()
    };
    let mut state = TrainState::new(config, &train_set)?;
    let mut curves = Curves {
        train: &train_set,
        test: &test_set,
        par,
        recon: [Vec::new(), Vec::new()],
        ll: [Vec::new(), Vec::new()],
        log_z: None,
    };
    let summary = train(&mut state, &train_set, &mut curves)?;
    let model = &state.model;

    // Measured after the last epoch (one of LL_EPOCHS).
    let (log_z_exact, exact_seconds) = match curves.log_z {
        Some(measured) => measured,
        None => {
            let exact_start = Instant::now();
            let log_z = exact_log_partition(model, par)?;
            (log_z, exact_start.elapsed().as_secs_f64())
        }
    };
    let ais_start = Instant::now();
    let ais = ais_log_partition(
        model,
        &base_rate_visible_bias(&train_set),
        &AisConfig::new(AIS_RUNS, AIS_BETAS, 1),
        par,
    )?;
    let ais_seconds = ais_start.elapsed().as_secs_f64();
    let test_ll_exact = log_likelihood(model, &test_set, log_z_exact, par)?;
    let test_ll_ais = log_likelihood(model, &test_set, ais.log_z, par)?;
    let train_ll_exact = log_likelihood(model, &train_set, log_z_exact, par)?;
    let gap = (test_ll_exact - test_ll_ais).abs();

    write_pictures(out, model, &curves, test_ll_ais, par)?;
    model.save(&out.join("model.ebm"))?;
    let metrics = format!(
        concat!(
            "{{\"n_hidden\":{},\"epochs\":{},\"train_seconds\":{:.3},",
            "\"test_ll_exact\":{:.4},\"test_ll_ais\":{:.4},\"ais_gap_nats\":{:.4},",
            "\"train_ll_exact\":{:.4},\"log_z_exact\":{:.4},\"log_z_ais\":{:.4},",
            "\"log_z_ais_std\":{:.4},\"exact_seconds\":{:.3},\"ais_seconds\":{:.3},",
            "\"ais_runs\":{},\"ais_betas\":{},\"test_examples\":{},\"total_seconds\":{:.3}}}"
        ),
        HIDDEN,
        EPOCHS,
        summary.train_seconds,
        test_ll_exact,
        test_ll_ais,
        gap,
        train_ll_exact,
        log_z_exact,
        ais.log_z,
        ais.log_z_std,
        exact_seconds,
        ais_seconds,
        AIS_RUNS,
        AIS_BETAS,
        test_set.n_examples,
        start.elapsed().as_secs_f64(),
    );
    ebm::core::atomic::write_atomic(&out.join("metrics.json"), metrics.as_bytes())?;
    println!("{metrics}");
    println!(
        "wrote {}/{{samples.png, filters.png, learning_curve.png, model.ebm, metrics.json}}",
        out.display()
    );
    if gap > MAX_GAP {
        return Err(format!(
            "the exact and AIS held-out log-likelihoods differ by {gap:.4} nats (more than {MAX_GAP})"
        )
        .into());
    }
    Ok(())
}

/// Samples (64 chains of 1,000 Gibbs sweeps), the filters and the learning curves.
fn write_pictures(
    out: &Path,
    model: &BinaryRbm,
    curves: &Curves<'_>,
    test_ll_ais: f64,
    par: Parallelism,
) -> Result<(), Box<dyn Error>> {
    let samples = gibbs_samples(model, 64, 1000, 7, par)?;
    write_png_grid(&out.join("samples.png"), &samples, 8, 8, 8, Scaling::Unit)?;
    let filters = model.hidden_unit_weights(model.n_hidden());
    let filters_png = out.join("filters.png");
    write_png_grid(&filters_png, &filters, 8, 8, 5, Scaling::SymmetricPerTile)?;
    let named = |points: &[Vec<(f64, f64)>; 2]| {
        vec![
            ("train".to_string(), points[0].clone()),
            ("held-out".to_string(), points[1].clone()),
        ]
    };
    let ll: Chart = learning_curve(
        "log-likelihood, exact (log Z over 2^20 hidden states)",
        "mean log p(v) per digit (nats)",
        named(&curves.ll),
    )
    .with(Series::new(
        format!("held-out, AIS ({AIS_RUNS} runs)"),
        vec![(EPOCHS as f64, test_ll_ais)],
        Style::Points,
    ));
    let recon = learning_curve(
        "reconstruction error",
        "squared error per digit (mean-field, 64 pixels)",
        named(&curves.recon),
    );
    let layout = Layout {
        columns: 2,
        panel_width: 640,
        panel_height: 460,
    };
    write_png(&out.join("learning_curve.png"), &[ll, recon], layout)?;
    Ok(())
}
