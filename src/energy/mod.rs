//! `ebm energy train|eval|sample`: free-form neural energies `E(x)` (an MLP, or a
//! convolutional net for images: `--net conv`) learned by
//! contrastive divergence with Langevin negatives or by score matching, evaluated exactly
//! by quadrature in 2-D, and sampled by Langevin dynamics.

mod ais;
pub mod input_scores;
mod net;
mod noise_conditional;
mod picture;
mod run;

use crate::Failure;
use crate::args::{JsonArgs, MeasureArgs, SeedArgs, TrainingArgs};
use clap::{Args, Subcommand, ValueEnum};
use ebm_kernels::rng::stream;
use ebm_neural::density::Density2d;
use std::path::PathBuf;

/// Subcommands of `ebm energy`.
#[derive(Subcommand)]
pub enum EnergyCommand {
    /// Train an energy (an MLP, or a convolutional net) on a built-in 2-D density, MNIST
    /// or your file and save it.
    Train(TrainArgs),
    /// Test NLL of a saved energy: exact by quadrature on a grid (2-D models), or by AIS
    /// (--ais-runs, any dimension).
    Eval(EvalArgs),
    /// Langevin samples from a saved energy (annealed Langevin for ncsn models), as a PNG
    /// (a 2-D histogram, or image tiles).
    Sample(SampleArgs),
}

/// The objectives of `--method`.
#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum MethodArg {
    /// Contrastive divergence, short-run Langevin chains from uniform noise every batch.
    Cd,
    /// Contrastive divergence, persistent chains in a replay buffer (5% re-initialized).
    Pcd,
    /// Denoising score matching (`--noise-std`).
    Dsm,
    /// Sliced score matching, one Gaussian projection per example.
    Ssm,
    /// Sliced score matching, variance-reduced.
    SsmVr,
    /// Noise-conditional score matching of f(x) / sigma over a geometric ladder of noise
    /// levels (--sigma-max, --sigma-min, --levels); sampled by annealed Langevin dynamics.
    Ncsn,
}

/// Hidden activations.
#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum ActivationArg {
    /// x * sigmoid(x).
    Swish,
    /// ln(1 + e^x).
    Softplus,
    /// Exponential linear unit.
    Elu,
}

/// The networks of `--net`.
#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum NetArg {
    /// Dense layers (`--hidden`).
    Mlp,
    /// 3x3 convolutions with 2x2 average pooling (`--channels`), then dense layers
    /// (`--hidden`); the inputs are images (`--image-shape`, default square).
    Conv,
}

/// A built-in data set of `--dataset`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DatasetArg {
    /// A 2-D density, sampled with a fixed seed.
    Density(Density2d),
    /// MNIST from `--data` / `EBM_DATA` (pixels in [0, 1]; training split for `train`,
    /// test split for `eval`).
    Mnist,
}

/// Where the points come from: a built-in 2-D density (sampled with a fixed seed), MNIST,
/// or the user's file of rows (CSV, .npy, ...).
#[derive(Args)]
pub struct PointsArgs {
    /// Built-in data: mog8 (8 Gaussians on a circle), rings, checkerboard or mnist.
    #[arg(long, value_parser = parse_dataset, conflicts_with = "file")]
    pub dataset: Option<DatasetArg>,
    /// The folder holding mnist/ (default: $EBM_DATA, else ./data).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Use only the first N MNIST images.
    #[arg(long, value_parser = crate::args::count)]
    pub limit: Option<usize>,
    /// Points drawn from the built-in density.
    #[arg(long, default_value_t = 20_000, value_parser = crate::args::count)]
    pub points: usize,
    #[command(flatten)]
    pub read: crate::user_data::ReadArgs,
}

fn parse_dataset(text: &str) -> Result<DatasetArg, String> {
    if text == "mnist" {
        return Ok(DatasetArg::Mnist);
    }
    Density2d::ALL
        .into_iter()
        .find(|d| d.name() == text)
        .map(DatasetArg::Density)
        .ok_or_else(|| format!("'{text}' is not mog8, rings, checkerboard or mnist"))
}

impl PointsArgs {
    /// The 2-D density of `--dataset`, if it names one.
    pub fn density(&self) -> Option<Density2d> {
        match self.dataset {
            Some(DatasetArg::Density(density)) => Some(density),
            _ => None,
        }
    }

    /// The points (`rows x dim`) and their dimension: those of `file` (given by `flag`),
    /// else a built-in data set's (a density's drawn with random stream `stream_id` of
    /// `seed`, so training and test points differ; MNIST's training split for stream 0,
    /// its test split otherwise).
    pub fn load(
        &self,
        (file, flag): (Option<&PathBuf>, &str),
        seed: u64,
        stream_id: u64,
    ) -> Result<(Vec<f32>, usize), Failure> {
        match (file, self.dataset) {
            (None, Some(DatasetArg::Mnist)) => {
                let split = match stream_id {
                    0 => ebm_data::mnist::Split::Train,
                    _ => ebm_data::mnist::Split::Test,
                };
                let dir = ebm_data::data_dir::resolve(self.data.as_deref()).join("mnist");
                let data = ebm_data::mnist::load(&dir, split).map_err(Failure::input)?;
                let data = crate::setup::first(data, self.limit)?;
                Ok((data.features, data.n_features))
            }
            (Some(file), _) => {
                let data = self
                    .read
                    .read(file, None, None, crate::user_data::ValueRange::Real)?;
                Ok((data.features, data.n_features))
            }
            (None, Some(DatasetArg::Density(density))) => {
                let points = density.sample(self.points, &mut stream(seed, stream_id, 0));
                Ok((points, 2))
            }
            (None, None) => Err(Failure::input(format!(
                "--dataset: give a built-in data set (mog8, rings, checkerboard, mnist) or {flag} FILE"
            ))),
        }
    }
}

/// Flags of `ebm energy train`.
#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: PointsArgs,
    /// A file of training points, one per row (CSV, .npy, svmlight or IDX), instead of
    /// --dataset (`--file` is an alias).
    #[arg(id = "file", long = "train", visible_alias = "file")]
    pub train: Option<PathBuf>,
    /// The objective.
    #[arg(long, value_enum, default_value_t = MethodArg::Dsm)]
    pub method: MethodArg,
    /// The network: dense layers, or convolutions then dense layers (for images).
    #[arg(long, value_enum, default_value_t = NetArg::Mlp)]
    pub net: NetArg,
    /// Hidden layer widths, comma-separated (of the dense head with --net conv).
    #[arg(long, default_value = "64,64")]
    pub hidden: String,
    /// Output channels of each 3x3 convolution stage, comma-separated (--net conv).
    #[arg(long, default_value = "16,32")]
    pub channels: String,
    #[command(flatten)]
    pub image: crate::args::ImageShapeArgs,
    /// Hidden activation.
    #[arg(long, value_enum, default_value_t = ActivationArg::Swish)]
    pub activation: ActivationArg,
    /// Initial weights are N(0, s^2 / fan-in) with this s (larger: sharper features from
    /// the start, e.g. for the checkerboard's edges).
    #[arg(long, default_value_t = 1.0)]
    pub init_scale: f32,
    /// Passes over the data.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Examples per minibatch.
    #[arg(long, default_value_t = 128, value_parser = crate::args::count)]
    pub batch: usize,
    /// Adam learning rate (decays linearly to 5% of it, unless --lr-schedule).
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f32,
    /// Learning-rate schedule: constant, linear (to 0 at the last epoch), inverse:R or
    /// cosine (annealed towards 0) (default: linear to 5% of --lr).
    #[arg(long)]
    pub lr_schedule: Option<String>,
    /// Decay of an exponential moving average of the parameters, in [0, 1) (e.g. 0.999):
    /// the average after the last epoch is the model evaluated and saved (0: the last
    /// iterate).
    #[arg(long, default_value_t = 0.0)]
    pub ema: f32,
    /// Denoising score matching: corruption noise standard deviation.
    #[arg(long, default_value_t = 0.1)]
    pub noise_std: f32,
    /// Denoising score matching: the corruption noise of the last epoch; from --noise-std
    /// in the first, in equal ratios per epoch (default: --noise-std throughout).
    #[arg(long)]
    pub final_noise_std: Option<f32>,
    /// Denoising score matching: corrupt each example by +eps and by -eps and average
    /// (antithetic noise: twice the work per batch, much less gradient noise when
    /// --noise-std is small).
    #[arg(long)]
    pub antithetic: bool,
    /// Largest noise level of the ladder (ncsn; default: the largest distance between two
    /// of the first 500 training points).
    #[arg(long)]
    pub sigma_max: Option<f32>,
    /// Smallest noise level of the ladder (ncsn).
    #[arg(long, default_value_t = 0.01)]
    pub sigma_min: f32,
    /// Noise levels of the ladder, in equal ratios from --sigma-max to --sigma-min (ncsn).
    #[arg(long, default_value_t = 10)]
    pub levels: usize,
    /// Langevin steps per negative sample (cd, pcd; default 60 for cd, 10 for pcd: the
    /// persistent chains go on from where they stopped).
    #[arg(long)]
    pub langevin_steps: Option<usize>,
    /// Langevin step size eta (cd, pcd; default 0.01 for cd, 0.02 for pcd).
    #[arg(long)]
    pub step_size: Option<f32>,
    /// Metropolis-adjusted Langevin negatives (cd, pcd without --replicas): each
    /// Langevin proposal (noise sqrt(--step-size)) is accepted or rejected so the chains
    /// sample the model exactly; the progress line shows the acceptance rate.
    #[arg(long)]
    pub mala: bool,
    /// Langevin noise standard deviation per step (default sqrt(step size): the exact
    /// unadjusted sampler).
    #[arg(long)]
    pub noise_scale: Option<f32>,
    /// Persistent chains in the replay buffer (pcd; a small buffer keeps the chains close
    /// to the current model: each chain moves about every buffer / batch updates).
    #[arg(long, default_value_t = 1_000, value_parser = crate::args::count)]
    pub buffer: usize,
    /// Share of each batch's persistent chains restarted from uniform noise (pcd; with
    /// --replicas, the hottest replica's).
    #[arg(long, default_value_t = 0.05)]
    pub reinit: f32,
    /// Parallel-tempering replicas per persistent chain (pcd; 1: plain Langevin): replica
    /// r samples exp(-E / T_r) on a geometric ladder from 1 to --max-temperature-ratio,
    /// neighbours swap states after every step, and the coldest are the negatives, so the
    /// chains cross between modes.
    #[arg(long, default_value_t = 1, value_parser = crate::args::count)]
    pub replicas: usize,
    /// Hottest replica's temperature, as a multiple of the model's (pcd with --replicas).
    #[arg(long, default_value_t = 10.0)]
    pub max_temperature_ratio: f32,
    /// Weight alpha of the energy-magnitude penalty (cd, pcd).
    #[arg(long, default_value_t = 1e-3)]
    pub energy_regularization: f32,
    /// Clip each batch's gradient to this norm (0: no clipping).
    #[arg(long, default_value_t = 10.0)]
    pub clip_gradient: f32,
    /// Chains start from uniform noise on [-B, B]^d (default: the built-in density's box,
    /// else the largest |value| of the data).
    #[arg(long)]
    pub noise_range: Option<f32>,
    #[command(flatten)]
    pub random: SeedArgs,
    #[command(flatten)]
    pub training: TrainingArgs<net::EnergyModel>,
}

/// Flags of `ebm energy eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// The model file.
    pub model: PathBuf,
    #[command(flatten)]
    pub data: PointsArgs,
    /// A file of test points (`--file` is an alias), read as `train --train` reads its own.
    #[arg(id = "file", long = "test", visible_alias = "file")]
    pub test: Option<PathBuf>,
    /// Compute ln Z by the midpoint rule on a grid over [-B, B]^2 (2-D models).
    #[arg(long)]
    pub quadrature: bool,
    /// With --quadrature: draw the learned density exp(-E)/Z on the grid as a PNG, beside
    /// the true density with --dataset (one shade scale for all panels).
    #[arg(long, requires = "quadrature", value_parser = crate::args::output_file)]
    pub png: Option<PathBuf>,
    /// With --png: more 2-D models whose densities are drawn beside the first (repeat the
    /// flag; each panel's title has its file name and test NLL).
    #[arg(long, value_name = "MODEL", requires = "png")]
    pub beside: Vec<PathBuf>,
    /// Grid cells per axis of the quadrature.
    #[arg(long, default_value_t = 400, value_parser = crate::args::count)]
    pub grid: usize,
    /// Half-width B of the quadrature box (default: the built-in density's box, else
    /// the largest |value| of the test points, times 1.25).
    #[arg(long)]
    pub bound: Option<f32>,
    /// Estimate ln Z by annealed importance sampling with this many runs, from a Gaussian
    /// fitted to the test points (any dimension).
    #[arg(long, value_name = "R")]
    pub ais_runs: Option<usize>,
    /// Temperatures of the AIS schedule (a sigmoid from 0 to 1).
    #[arg(long, default_value_t = 1000)]
    pub ais_betas: usize,
    /// MALA transitions at each AIS temperature.
    #[arg(long, default_value_t = 1)]
    pub ais_steps: usize,
    /// First MALA step size of the AIS pilot pass, which tunes one step per temperature.
    #[arg(long, default_value_t = 0.1)]
    pub ais_step_size: f32,
    /// Seed of the built-in density's test points (stream 1; training uses stream 0) and
    /// of the AIS runs.
    #[command(flatten)]
    pub random: SeedArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// Flags of `ebm energy sample`.
#[derive(Args)]
pub struct SampleArgs {
    /// The model file.
    pub model: PathBuf,
    /// Chains (samples).
    #[arg(long, default_value_t = 5_000, value_parser = crate::args::count)]
    pub chains: usize,
    /// Langevin steps per chain.
    #[arg(long, default_value_t = 500, value_parser = crate::args::count)]
    pub steps: usize,
    /// Langevin step size eta.
    #[arg(long, default_value_t = 0.005)]
    pub step_size: f32,
    /// Metropolis-adjusted Langevin negatives (cd, pcd without --replicas): each
    /// Langevin proposal (noise sqrt(--step-size)) is accepted or rejected so the chains
    /// sample the model exactly; the progress line shows the acceptance rate.
    #[arg(long)]
    pub mala: bool,
    /// Langevin noise standard deviation per step (default sqrt(step size): the exact
    /// unadjusted sampler).
    #[arg(long)]
    pub noise_scale: Option<f32>,
    /// Annealed Langevin (ncsn models): steps at each noise level.
    #[arg(long, default_value_t = 100, value_parser = crate::args::count)]
    pub steps_per_level: usize,
    /// Annealed Langevin (ncsn models): the step size epsilon of the smallest level (level
    /// i steps by epsilon sigma_i^2 / sigma_min^2).
    #[arg(long, default_value_t = 2e-5)]
    pub step_epsilon: f32,
    /// Annealed Langevin (ncsn models): end with the denoising step x + sigma_min^2 score.
    #[arg(long)]
    pub denoise: bool,
    /// Chains start from uniform noise on [-B, B]^d; the 2-D histogram covers that box.
    #[arg(long, default_value_t = 4.0)]
    pub bound: f32,
    /// Output PNG.
    #[arg(long, value_parser = crate::args::output_file)]
    pub png: PathBuf,
    /// Where the samples go as a table as well (.npy or .csv), if given.
    #[arg(long, value_parser = crate::args::output_file)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub image: crate::args::ImageShapeArgs,
    #[command(flatten)]
    pub random: SeedArgs,
    #[command(flatten)]
    pub output: JsonArgs,
}

/// Run one `ebm energy` subcommand.
pub fn run(command: EnergyCommand) -> Result<(), Failure> {
    match command {
        EnergyCommand::Train(args) => run::train(args),
        EnergyCommand::Eval(args) => run::eval(args),
        EnergyCommand::Sample(args) => run::sample(args),
    }
}
