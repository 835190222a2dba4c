//! `ebm`: the command-line front end of the ebm toolkit (`ebm <area> <verb> [flags]`).
//!
//! Library crates return typed errors; this binary is the only place that prints. Bad
//! input exits with code 2 and a one-line message naming the file or flag; a training
//! run that fails for another reason (divergence) exits with code 1.

mod args;
mod calibrate;
mod cf;
mod class_rbm;
mod classifier;
mod energy;
mod factor;
mod gaussian_rbm;
mod joint;
mod memory;
mod ood;
mod output;
mod progress;
mod rbm;
mod run_log;
mod setup;
mod tables;
mod threads;
mod user_data;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Energy-based models: RBMs, likelihood estimation, sampling, collaborative filtering.
#[derive(Parser)]
#[command(name = "ebm", version, about)]
struct Cli {
    #[command(subcommand)]
    area: Area,
}

#[derive(Subcommand)]
enum Area {
    /// Restricted Boltzmann machines.
    #[command(subcommand)]
    Rbm(rbm::RbmCommand),
    /// Collaborative filtering with RBMs (MovieLens and other rating files).
    #[command(subcommand)]
    Cf(cf::CfCommand),
    /// The classification RBM: generative and discriminative at once (MNIST).
    #[command(subcommand, name = "class-rbm")]
    ClassRbm(class_rbm::ClassRbmCommand),
    /// Free-form neural energies E(x): train by Langevin CD or score matching, evaluate,
    /// sample.
    #[command(subcommand)]
    Energy(energy::EnergyCommand),
    /// The joint energy model: an MLP classifier f(x) read as the energy
    /// E(x, y) = -f(x)[y], trained on ln p(y|x) + ln p(x); predict, calibrate, sample.
    #[command(subcommand)]
    Joint(joint::JointCommand),
    /// Gaussian-Bernoulli RBMs for real-valued data (MNIST grey levels).
    #[command(subcommand, name = "gaussian-rbm")]
    GaussianRbm(gaussian_rbm::GaussianRbmCommand),
    /// Discrete factor-graph models (UAI files): exact inference.
    #[command(subcommand)]
    Factor(factor::FactorCommand),
    /// Out-of-distribution detection by a saved model on a pair of files: ROC AUC of its
    /// free energy, likelihood ratio, input-gradient norm and class probability.
    Ood(ood::OodArgs),
}

/// A failure, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code (2 = bad input, 1 = the run itself failed).
    pub code: u8,
    /// One-line message.
    pub message: String,
}

impl Failure {
    /// Bad input (a flag, a missing or malformed file): exit code 2.
    pub fn input(message: impl std::fmt::Display) -> Self {
        Self {
            code: 2,
            message: message.to_string(),
        }
    }
    /// The run failed (e.g. divergence): exit code 1.
    pub fn run(message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A flag's value refused by its value parser (a bound on a size, a time or an
        // output path): the one-line error of bad input, exit code 2.
        Err(e) if e.kind() == clap::error::ErrorKind::ValueValidation => {
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: invalid value"));
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let result = match cli.area {
        Area::Rbm(command) => rbm::run(command),
        Area::Cf(command) => cf::run(command),
        Area::ClassRbm(command) => class_rbm::run(command),
        Area::GaussianRbm(command) => gaussian_rbm::run(command),
        Area::Energy(command) => energy::run(command),
        Area::Joint(command) => joint::run(command),
        Area::Factor(command) => factor::run(command),
        Area::Ood(args) => ood::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
