//! `ebm energy eval --ais-runs R`: `ln Z` of any energy by annealed importance sampling
//! from a Gaussian base fitted to the evaluated points, and the test NLL it gives.

use super::EvalArgs;
use crate::Failure;
use crate::output::Metrics;
use crate::setup::setting_failure;
use ebm_neural::NeuralError;
use ebm_neural::ais::{AisSettings, BatchEnergy, GaussianBase, neural_ais};

/// Flags of the AIS settings.
const FLAGS: &[(&str, &str)] = &[
    ("runs", "--ais-runs"),
    ("betas", "--ais-betas"),
    ("steps", "--ais-steps"),
    ("step_size", "--ais-step-size"),
];

/// The AIS settings of `args`, checked (`None` without `--ais-runs`).
pub fn settings(args: &EvalArgs) -> Result<Option<AisSettings>, Failure> {
    let Some(runs) = args.ais_runs else {
        return Ok(None);
    };
    let settings = AisSettings {
        runs,
        betas: args.ais_betas,
        steps: args.ais_steps,
        step_size: args.ais_step_size,
        seed: args.random.seed,
    };
    settings
        .validate()
        .map_err(|e| setting_failure(e.setting, &e.message, FLAGS, &e))?;
    Ok(Some(settings))
}

/// `ln Z` of `energy` (an MLP or convolutional energy on the `--threads` backend) by AIS
/// from the Gaussian fitted to `test` (`n x dim`) into `m`: `ln_z`, `ln_z_std`, the
/// acceptance rate, and the test NLL `mean E + ln Z` as `ais_test_nll` (and as
/// `test_nll` unless quadrature reports that).
pub fn report(
    energy: &mut (impl BatchEnergy + Send),
    test: &[f32],
    args: &EvalArgs,
    settings: &AisSettings,
    mean_energy: f64,
    m: &mut Metrics,
) -> Result<(), Failure> {
    let dim = energy.dim();
    crate::memory::check_chains("--ais-runs", settings.runs, 4 * dim)?;
    let base = GaussianBase::fit(test, dim).map_err(Failure::input)?;
    let run = args.measure.run;
    let ais = run
        .install(|| neural_ais(energy, &base, settings))?
        .map_err(|e| match e {
            NeuralError::Data(_) => Failure::run(format!("{}: {e}", args.model.display())),
            _ => Failure::input(format!("--ais-runs: {e}")),
        })?;
    let estimate = &ais.estimate;
    m.number("ln_z", estimate.log_z)
        .number("ln_z_std", estimate.log_z_std)
        .number("ais_acceptance", ais.acceptance_rate)
        .integer("ais_runs", settings.runs as u64)
        .integer("ais_betas", settings.betas as u64)
        .number("ais_test_nll", mean_energy + estimate.log_z);
    if !args.quadrature {
        m.number("test_nll", mean_energy + estimate.log_z);
    }
    Ok(())
}
