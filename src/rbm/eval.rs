//! `ebm rbm eval`.

use super::{EvalArgs, LogZArgs, load_model};
use crate::Failure;
use crate::output::Metrics;
use crate::setup::{check_chains, check_features, first, setting_failure};
use ebm_data::mnist::Split;
use ebm_rbm::RbmError;
use ebm_rbm::metrics::{
    AisConfig, ais_log_partition, base_rate_visible_bias, exact_log_partition, log_likelihood,
    pseudo_likelihood, reconstruction_error,
};
use std::time::Instant;

/// Fewest intermediate distributions `default_betas` builds without rounding up.
const MIN_AIS_BETAS: usize = 3;

/// Training examples used to report the training-set log-likelihood (for the gap).
const TRAIN_LL_EXAMPLES: usize = 10_000;

/// Run `ebm rbm eval`.
pub fn run(args: EvalArgs) -> Result<(), Failure> {
    let run = args.measure.run.check()?;
    let model = load_model(&args.model)?;
    check_chains("--ais-runs", args.log_z.ais_runs, &model)?;
    let train = args.data.load(Split::Train)?;
    let test = first(args.data.load(Split::Test)?, args.limit)?;
    check_features(&args.model, model.n_visible(), &test)?;
    let par = run.parallelism();
    let start = Instant::now();
    let mut m = Metrics::default();
    let how = LogPartition {
        args: &args.log_z,
        seed: args.random.seed,
        plot: args.plot.as_deref(),
    };
    let log_z = log_partition(&model, &train, &how, run, &mut m)?;
    let log_z_seconds = start.elapsed().as_secs_f64();
    let measured = run.install(|| -> Result<_, RbmError> {
        let test_ll = log_likelihood(&model, &test, log_z, par)?;
        let train_ll = log_likelihood(&model, &train.head(TRAIN_LL_EXAMPLES), log_z, par)?;
        let recon = reconstruction_error(&model, &test, par)?;
        let pl = pseudo_likelihood(&model, &test, args.pl_examples, par)?;
        Ok((test_ll, train_ll, recon, pl))
    })?;
    let (test_ll, train_ll, recon, pl) = measured.map_err(Failure::run)?;
    m.number("test_ll", test_ll)
        .number("train_ll", train_ll)
        .number("recon_error", recon)
        .number("pseudo_likelihood", pl)
        .integer("test_examples", test.n_examples as u64)
        .number("log_z_seconds", log_z_seconds)
        .number("seconds", start.elapsed().as_secs_f64());
    args.measure.output.print(&m);
    Ok(())
}

/// How `log Z` is computed: exactly or by AIS (`args`), the AIS seed, and where the AIS
/// diagnostics are drawn (`--plot`).
pub(super) struct LogPartition<'a> {
    pub args: &'a LogZArgs,
    pub seed: u64,
    pub plot: Option<&'a std::path::Path>,
}

/// `log Z` of `model`, exactly or by AIS from the base rates of `base_data`, as
/// `how` says; its figures go into `m`, and the AIS runs' log-weights into the plot
/// `ais_log_weights` when there is a `--plot` folder.
///
/// # Errors
///
/// Bad input for a model too large for exact enumeration or a bad AIS setting (named by
/// its flag); a failed run when the plot cannot be written.
pub(super) fn log_partition(
    model: &ebm_rbm::BinaryRbm,
    base_data: &ebm_data::Dataset,
    how: &LogPartition<'_>,
    run: crate::args::RunArgs,
    m: &mut Metrics,
) -> Result<f64, Failure> {
    let (seed, how_args) = (how.seed, how.args);
    let par = run.parallelism();
    if how_args.exact {
        let log_z = run
            .install(|| exact_log_partition(model, par))?
            .map_err(Failure::input)?;
        m.number("log_z", log_z)
            .number("log_z_std", 0.0)
            .text("log_z_method", "exact");
        return Ok(log_z);
    }
    if how_args.ais_betas < MIN_AIS_BETAS {
        return Err(Failure::input(format!(
            "--ais-betas: {} is too few; the schedule needs at least {MIN_AIS_BETAS} (one per segment 0-0.5, 0.5-0.9, 0.9-1)",
            how_args.ais_betas
        )));
    }
    let config = AisConfig::new(how_args.ais_runs, how_args.ais_betas, seed);
    let base = base_rate_visible_bias(base_data);
    let est = run
        .install(|| ais_log_partition(model, &base, &config, par))?
        .map_err(|e| match e {
            RbmError::InvalidSetting(invalid) => setting_failure(
                invalid.setting,
                &invalid.message,
                &[("runs", "--ais-runs"), ("betas", "--ais-betas")],
                &invalid,
            ),
            other => Failure::input(other),
        })?;
    m.number("log_z", est.log_z)
        .number("log_z_std", est.log_z_std)
        .number("log_z_low", est.log_z_low)
        .number("log_z_high", est.log_z_high)
        .text("log_z_method", "ais")
        .integer("ais_runs", how_args.ais_runs as u64)
        .integer("ais_betas", (config.betas.len() - 1) as u64);
    let run_log_z: Vec<f64> = est.log_weights.iter().map(|w| w + est.log_z_base).collect();
    let chart = ebm_plot::ais_chart(&ebm_plot::AisRuns {
        run_log_z: &run_log_z,
        log_z: est.log_z,
        bounds: (est.log_z_low, est.log_z_high),
        temperatures: config.betas.len() - 1,
        exact: None,
    });
    let layout = ebm_plot::Layout::SINGLE;
    crate::run_log::draw(how.plot, "ais_log_weights", &[chart], layout, m)?;
    Ok(est.log_z)
}
