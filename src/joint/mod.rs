//! `ebm joint ...`: the joint energy model (Grathwohl et al. 2019): an MLP classifier
//! `f(x)` read as the energy `E(x, y) = -f(x)[y]`, trained on `ln p(y | x) + ln p(x)` with
//! SGLD negatives; it predicts, calibrates, samples class-conditionally and scores inputs
//! for `ebm ood`.

mod commands;
pub mod scores;

use crate::Failure;
use crate::args::{MeasureArgs, SeedArgs, TrainingArgs};
use crate::energy::ActivationArg;
use crate::setup::MnistArgs;
use clap::{Args, Subcommand};
use ebm_neural::NeuralError;
use ebm_neural::joint::JointEnergy;
use std::path::PathBuf;

/// Subcommands of `ebm joint`.
#[derive(Subcommand)]
pub enum JointCommand {
    /// Train on MNIST (grey levels in [0, 1]) or your labeled files and save the model.
    Train(TrainArgs),
    /// Class probabilities p(y | x) of every example of a file (one column per class),
    /// written as .npy or .csv; with labels (--label-column), also the error rate.
    Predict(crate::classifier::PredictArgs),
    /// Temperature scaling fitted on validation examples, with the test set's expected
    /// calibration error, log-likelihood and error before and after (and reliability
    /// diagrams with --png).
    Calibrate(crate::classifier::CalibrateArgs),
    /// Class-conditional samples: SGLD on E(x, y) = -f(x)[y] from uniform noise, one row
    /// per class, as a PNG grid (and a table with --out).
    Sample(SampleArgs),
}

/// Flags of `ebm joint train`.
#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: MnistArgs,
    /// Train on the first N training examples only (e.g. 50000, keeping MNIST's last
    /// 10000 for `joint calibrate`).
    #[arg(long, value_parser = crate::args::count)]
    pub limit: Option<usize>,
    /// Hidden layer widths, comma-separated.
    #[arg(long, default_value = "512,512")]
    pub hidden: String,
    /// Hidden activation (smooth, for SGLD).
    #[arg(long, value_enum, default_value_t = ActivationArg::Swish)]
    pub activation: ActivationArg,
    /// Passes over the data.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Examples per minibatch (and SGLD chains per batch).
    #[arg(long, visible_alias = "batch", default_value_t = 64, value_parser = crate::args::count)]
    pub batch_size: usize,
    /// Adam learning rate (decays linearly to 5% of it).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// L2 weight decay of the weights.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Weight of the generative term mean E(data) - mean E(SGLD samples) (0: a plain
    /// classifier, no SGLD).
    #[arg(long, default_value_t = 1.0)]
    pub generative_weight: f32,
    /// SGLD steps per batch.
    #[arg(long, default_value_t = 20)]
    pub sgld_steps: usize,
    /// SGLD step size eta: x <- x - (eta / 2) grad E + noise z (Grathwohl et al.'s step 1
    /// on the gradient is eta 2).
    #[arg(long, default_value_t = 2.0)]
    pub step_size: f32,
    /// Standard deviation of the SGLD noise per step.
    #[arg(long, default_value_t = 0.01)]
    pub noise_scale: f32,
    /// Chains in the replay buffer.
    #[arg(long, default_value_t = 10_000, value_parser = crate::args::count)]
    pub buffer_size: usize,
    /// Share of each batch's chains restarted from uniform noise.
    #[arg(long, default_value_t = 0.05)]
    pub reinit: f32,
    /// Weight alpha of the energy-magnitude penalty alpha (E(data)^2 + E(samples)^2).
    #[arg(long, default_value_t = 0.0)]
    pub energy_regularization: f32,
    /// Standard deviation of Gaussian noise added to every training input.
    #[arg(long, default_value_t = 0.0)]
    pub data_noise: f32,
    /// Move every training image (square inputs) by up to this many pixels each way, at
    /// random.
    #[arg(long, default_value_t = 0)]
    pub max_shift: usize,
    /// Clip each batch's gradient to this norm (0: no clipping).
    #[arg(long, default_value_t = 0.0)]
    pub clip_gradient: f32,
    #[command(flatten)]
    pub random: SeedArgs,
    #[command(flatten)]
    pub training: TrainingArgs<JointEnergy>,
}

/// Flags of `ebm joint sample`.
#[derive(Args)]
pub struct SampleArgs {
    /// The model file.
    pub model: PathBuf,
    /// Sample only this class (default: every class, one row each).
    #[arg(long)]
    pub class: Option<usize>,
    /// Chains (samples) per class.
    #[arg(long, default_value_t = 10, value_parser = crate::args::positive_count)]
    pub chains_per_class: usize,
    /// SGLD steps per chain.
    #[arg(long, default_value_t = 200, value_parser = crate::args::positive_count)]
    pub steps: usize,
    /// SGLD step size eta (x <- x - (eta / 2) grad E + noise z).
    #[arg(long, default_value_t = 2.0)]
    pub step_size: f32,
    /// Standard deviation of the SGLD noise per step.
    #[arg(long, default_value_t = 0.01)]
    pub noise_scale: f32,
    /// Keep the chains in the data's box [0, 1]^d: project them there after every step.
    #[arg(long)]
    pub clamp: bool,
    /// The PNG has one row per class.
    #[command(flatten)]
    pub samples: crate::args::SampleOutputArgs,
    #[command(flatten)]
    pub random: SeedArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// Run one `ebm joint` subcommand.
pub fn run(command: JointCommand) -> Result<(), Failure> {
    match command {
        JointCommand::Train(args) => commands::train(args),
        JointCommand::Predict(args) => crate::classifier::predict::<JointEnergy>(args),
        JointCommand::Calibrate(args) => crate::classifier::calibrate::<JointEnergy>(args),
        JointCommand::Sample(args) => commands::sample(args),
    }
}

/// The flag of each setting of the joint trainer.
const FLAGS: &[(&str, &str)] = &[
    ("hidden", "--hidden"),
    ("n_classes", "--train"),
    ("generative_weight", "--generative-weight"),
    ("langevin.steps", "--sgld-steps"),
    ("langevin.step_size", "--step-size"),
    ("langevin.noise_scale", "--noise-scale"),
    ("buffer_size", "--buffer-size"),
    ("reinit_fraction", "--reinit"),
    ("data_noise", "--data-noise"),
    ("max_shift", "--max-shift"),
    ("energy_regularization", "--energy-regularization"),
    ("clip_gradient_norm", "--clip-gradient"),
    ("batch_size", "--batch-size"),
];

/// A library error as a failure: an invalid setting names its flag, a divergence beyond
/// recovery is a failed run, anything else (data, shapes) is bad input.
fn failure(error: NeuralError) -> Failure {
    crate::setup::neural_failure(error, FLAGS)
}
