//! `ebm gaussian-rbm ...`: Gaussian-Bernoulli RBMs on real-valued data (MNIST grey levels).

use crate::Failure;
use crate::args::{JsonArgs, MeasureArgs, SeedArgs, TrainingArgs};
use crate::output::Metrics;
use crate::progress::Progress;
use crate::run_log::{Epoch, Family, LOGGED_EXAMPLES, On};
use crate::setup::rbm_failure;
use crate::setup::{MnistArgs, check_chains, check_features, load_mnist, load_model};
use crate::user_data::ValueRange;
use clap::{Args, Subcommand, ValueEnum};
use ebm_core::continuous::{ChainConfig, Mala, run_chain};
use ebm_core::schedule::MomentumSchedule;
use ebm_core::train::{EpochReport, OnEpoch};
use ebm_core::train::{OptimizerConfig, OptimizerMethod};
use ebm_data::mnist::Split;
use ebm_kernels::rng::stream;
use ebm_rbm::RbmError;
use ebm_rbm::class_rbm::ClassRbm;
use ebm_rbm::gaussian::{
    GaussianMethod, GaussianRbm, GaussianTrainConfig, GibbsLangevinConfig,
    gaussian_ais_log_partition, gaussian_heldout_errors, train_gaussian_rbm,
};
use std::path::PathBuf;
use std::time::Instant;

/// Subcommands of `ebm gaussian-rbm`.
#[derive(Subcommand)]
pub enum GaussianRbmCommand {
    /// Train on MNIST grey levels (standardized inside) and save the model.
    Train(TrainArgs),
    /// Log partition function (exact or AIS), test log-likelihood, held-out errors.
    Eval(EvalArgs),
    /// Samples by block Gibbs or by MALA on the free energy, as a PNG grid.
    Sample(SampleArgs),
    /// Hidden-unit probabilities p(h = 1 | v) of every example of a file (features for
    /// a downstream model), written as .npy or .csv.
    Transform(crate::tables::TableArgs),
}

/// Gradient method.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MethodArg {
    /// Contrastive divergence.
    Cd,
    /// Persistent contrastive divergence.
    Pcd,
    /// Denoising score matching (unit variances).
    Dsm,
    /// Sliced score matching, one Gaussian projection per example (unit variances).
    Ssm,
    /// Sliced score matching, variance-reduced (unit variances).
    SsmVr,
    /// CD from noise: every batch's negative chains start at standard normal noise and
    /// run --k Gibbs-Langevin sweeps (Liao et al. 2022), gradient norm clipped.
    GlCd,
}

/// Sampler of `sample`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SamplerArg {
    /// Block Gibbs sampling of (v, h).
    Gibbs,
    /// Metropolis-adjusted Langevin on the free energy F(v).
    Mala,
    /// Gibbs-Langevin (Liao et al. 2022): --langevin-steps Langevin steps on v given h,
    /// then h given v, each sweep Metropolis-adjusted; chains start at noise.
    GibbsLangevin,
}

/// Flags of the Gibbs-Langevin sampler (`train --method gl-cd`, `sample --sampler
/// gibbs-langevin`).
#[derive(Args)]
pub struct LangevinArgs {
    /// Langevin steps on v per Gibbs update of h (gl-cd, gibbs-langevin).
    #[arg(long, default_value_t = 10)]
    pub langevin_steps: usize,
    /// Skip the Metropolis-Hastings test of each Gibbs-Langevin sweep.
    #[arg(long)]
    pub no_metropolis: bool,
}

impl LangevinArgs {
    /// The sampler's settings with the first Langevin step size `step_size` (units of
    /// the visible variances).
    fn config(&self, step_size: f32) -> GibbsLangevinConfig {
        GibbsLangevinConfig {
            langevin_steps: self.langevin_steps,
            step_size,
            metropolis: !self.no_metropolis,
        }
    }
}

/// Flags of `ebm gaussian-rbm train`.
#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: MnistArgs,
    /// Hidden units.
    #[arg(long, default_value_t = 200, value_parser = crate::args::count)]
    pub hidden: usize,
    /// cd, pcd, dsm, ssm, ssm-vr or gl-cd.
    #[arg(long, value_enum, default_value_t = MethodArg::Cd)]
    pub method: MethodArg,
    /// Gibbs steps (cd, pcd), Gibbs-Langevin sweeps from noise (gl-cd).
    #[arg(long, default_value_t = 1)]
    pub k: usize,
    #[command(flatten)]
    pub langevin: LangevinArgs,
    /// First Langevin step size of gl-cd, in units of the visible variances, in (0, 2).
    #[arg(long, default_value_t = 0.5)]
    pub step_size: f32,
    /// Largest norm of the batch-mean gradient (gl-cd; 0 turns clipping off).
    #[arg(long, default_value_t = 10.0)]
    pub clip_norm: f32,
    /// Learning-rate schedule: constant, linear (to 0 at the last epoch), inverse:R or
    /// cosine (annealed towards 0).
    #[arg(long, default_value = "constant")]
    pub lr_schedule: String,
    /// Keep the visible variances at 1 instead of learning them (cd, pcd).
    #[arg(long)]
    pub fixed_variance: bool,
    /// Corruption noise of dsm (standardized units).
    #[arg(long, default_value_t = 0.5)]
    pub noise: f32,
    /// Passes over the data.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Examples per batch.
    #[arg(long, default_value_t = 100, value_parser = crate::args::count)]
    pub batch: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.005)]
    pub lr: f32,
    /// Momentum.
    #[arg(long, default_value_t = 0.5)]
    pub momentum: f32,
    /// Train on the first N images only.
    #[arg(long, value_parser = crate::args::count)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub random: SeedArgs,
    #[command(flatten)]
    pub training: TrainingArgs<GaussianRbm>,
}

/// Flags of `ebm gaussian-rbm eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// The model file.
    pub model: PathBuf,
    #[command(flatten)]
    pub data: MnistArgs,
    /// Sum over the hidden states exactly (at most 24 hidden units).
    #[arg(long)]
    pub exact: bool,
    /// AIS runs.
    #[arg(long, default_value_t = 100, value_parser = crate::args::count)]
    pub ais_runs: usize,
    /// AIS temperatures.
    #[arg(long, default_value_t = 2000)]
    pub ais_betas: usize,
    /// Test images to use.
    #[arg(long, default_value_t = 10_000, value_parser = crate::args::count)]
    pub limit: usize,
    /// Noise of the held-out denoising error (standardized units).
    #[arg(long, default_value_t = 0.5)]
    pub noise: f32,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// Flags of `ebm gaussian-rbm sample`.
#[derive(Args)]
pub struct SampleArgs {
    /// The model file.
    pub model: PathBuf,
    /// gibbs, mala or gibbs-langevin.
    #[arg(long, value_enum, default_value_t = SamplerArg::Gibbs)]
    pub sampler: SamplerArg,
    #[command(flatten)]
    pub langevin: LangevinArgs,
    /// Chains (tiles).
    #[arg(long, default_value_t = 25, value_parser = crate::args::count)]
    pub chains: usize,
    /// Steps per chain.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Step size: of MALA (standardized units; default 0.01), or the first Langevin step
    /// of gibbs-langevin in units of the visible variances, in (0, 2) (default 0.5).
    #[arg(long)]
    pub step_size: Option<f64>,
    #[command(flatten)]
    pub samples: crate::args::SampleOutputArgs,
    #[command(flatten)]
    pub random: SeedArgs,
    #[command(flatten)]
    pub output: JsonArgs,
}

/// Run one `ebm gaussian-rbm` subcommand.
pub fn run(command: GaussianRbmCommand) -> Result<(), Failure> {
    match command {
        GaussianRbmCommand::Train(args) => train(args),
        GaussianRbmCommand::Eval(args) => eval(args),
        GaussianRbmCommand::Sample(args) => sample(args),
        GaussianRbmCommand::Transform(args) => transform(args),
    }
}

/// Why another `--dataset` than mnist is refused.
const MNIST_ONLY: &str = "is not a real-valued data set here (mnist)";

/// A setup or training error as a failure naming the flag.
fn setup_failure(error: RbmError) -> Failure {
    rbm_failure(
        error,
        &[
            ("epochs", "--epochs/--batch"),
            ("method", "--noise"),
            ("langevin_steps", "--langevin-steps"),
            ("step_size", "--step-size"),
            ("clip_norm", "--clip-norm"),
        ],
    )
}

/// The metrics of `gaussian-rbm train`'s learning curves.
/// The unit of both errors.
const PER_VALUE: &str = "squared error per value (standardized)";
const RECON_ERROR: Family = Family::new("recon_error", "reconstruction error", PER_VALUE);
const DENOISE_ERROR: Family =
    Family::new("denoise_error", "denoising error (noise 0.5)", PER_VALUE);

/// Noise of the logged denoising error (standardized units; `eval`'s default).
const LOGGED_NOISE: f32 = 0.5;

fn train(args: TrainArgs) -> Result<(), Failure> {
    let defaults = GaussianTrainConfig::default();
    let config = GaussianTrainConfig {
        n_hidden: args.hidden,
        method: match args.method {
            MethodArg::Cd => GaussianMethod::ContrastiveDivergence,
            MethodArg::Pcd => GaussianMethod::Persistent,
            MethodArg::Dsm => GaussianMethod::DenoisingScoreMatching {
                noise_std: args.noise,
            },
            MethodArg::Ssm => GaussianMethod::SlicedScoreMatching {
                variance_reduced: false,
            },
            MethodArg::SsmVr => GaussianMethod::SlicedScoreMatching {
                variance_reduced: true,
            },
            MethodArg::GlCd => GaussianMethod::GibbsLangevin {
                sampler: args.langevin.config(args.step_size),
                clip_norm: (args.clip_norm != 0.0).then_some(args.clip_norm),
            },
        },
        gibbs_steps: args.k,
        learn_variance: !args.fixed_variance,
        optimizer: OptimizerConfig {
            learning_rate: args.lr,
            learning_rate_schedule: crate::rbm::parse_schedule(&args.lr_schedule)?,
            method: OptimizerMethod::Sgd {
                momentum: MomentumSchedule::constant(args.momentum),
            },
            ..defaults.optimizer
        },
        run: args
            .training
            .loop_config(args.epochs, args.batch, args.random, defaults.run),
        ..defaults
    };
    config.validate().map_err(setup_failure)?;
    let data = args
        .data
        .train_set(args.limit, MNIST_ONLY, ValueRange::Real)?;
    crate::memory::check_rbm(data.n_features, args.hidden, args.batch, args.batch)?;
    let mut log = args.training.epoch_log("ebm gaussian-rbm train");
    // Held-out errors when there is test data: MNIST's, or a --test file.
    let test = args.data.held_out_set(
        log.is_active(),
        data.n_features,
        MNIST_ONLY,
        ValueRange::Real,
    )?;
    let monitor = data.head(LOGGED_EXAMPLES);
    let trained = Progress::timed(config.run.epochs, args.training.report.quiet, |progress| {
        let mut observer = OnEpoch(|r: &EpochReport, model: &GaussianRbm| {
            progress.bar.set_position(r.epoch as u64);
            if !log.is_active() {
                return;
            }
            let errors = |data: &ebm_data::Dataset| {
                gaussian_heldout_errors(model, &model.standardize(data), LOGGED_NOISE, 1)
            };
            let (recon, denoise) = errors(&monitor);
            let mut values = vec![
                (&RECON_ERROR, On::Train, recon),
                (&DENOISE_ERROR, On::Train, denoise),
            ];
            if let Some(test) = &test {
                let (recon, denoise) = errors(test);
                values.extend([
                    (&RECON_ERROR, On::HeldOut, recon),
                    (&DENOISE_ERROR, On::HeldOut, denoise),
                ]);
            }
            log.record(Epoch::of(r), &values);
        });
        train_gaussian_rbm(&config, &data, &mut observer).map_err(setup_failure)
    });
    let mut logged = Metrics::default();
    log.finish(&mut logged)?;
    let (model, mut m) = trained?;
    m.extend(logged)
        .integer("hidden", config.n_hidden as u64)
        .integer("epochs", config.run.epochs as u64);
    args.training.save_and_report(&model, m)
}

fn eval(args: EvalArgs) -> Result<(), Failure> {
    let model: GaussianRbm = load_model(&args.model)?;
    check_chains("--ais-runs", args.ais_runs, &model)?;
    let test =
        load_mnist(&args.data, Split::Test, MNIST_ONLY, ValueRange::Real)?.head(args.limit.max(1));
    check_features(&args.model, model.n_visible(), &test)?;
    let standardized = model.standardize(&test);
    let start = Instant::now();
    let mut m = Metrics::default();
    let (log_z, log_z_std) = if args.exact {
        (
            model
                .exact_log_partition()
                .map_err(|e| Failure::input(format!("--exact: {e}")))?,
            0.0,
        )
    } else {
        let estimate = args
            .measure
            .run
            .install(|| gaussian_ais_log_partition(&model, args.ais_runs, args.ais_betas, 1))?
            .map_err(|e| Failure::input(format!("--ais-runs/--ais-betas: {e}")))?;
        (estimate.log_z, estimate.log_z_std)
    };
    let (recon, denoise) = gaussian_heldout_errors(&model, &standardized, args.noise, 1);
    m.number("log_z", log_z)
        .number("log_z_std", log_z_std)
        .number("test_ll", model.log_likelihood(&standardized, log_z))
        .number("recon_error", recon)
        .number("denoise_error", denoise)
        .number("seconds", start.elapsed().as_secs_f64())
        .text("log_z_method", if args.exact { "exact" } else { "ais" });
    args.measure.output.print(&m);
    Ok(())
}

fn sample(args: SampleArgs) -> Result<(), Failure> {
    if args.chains == 0 || args.steps == 0 {
        return Err(Failure::input("--chains and --steps must be at least 1"));
    }
    let gibbs_langevin = matches!(args.sampler, SamplerArg::GibbsLangevin);
    let step_size = args
        .step_size
        .unwrap_or(if gibbs_langevin { 0.5 } else { 0.01 });
    if !(step_size.is_finite() && step_size > 0.0) {
        return Err(Failure::input("--step-size must be a positive number"));
    }
    let langevin = args.langevin.config(step_size as f32);
    if gibbs_langevin {
        langevin
            .validate()
            .map_err(|e| setup_failure(RbmError::InvalidSetting(e)))?;
    }
    if let Some(out) = &args.samples.out {
        crate::tables::is_npy(out)?;
    }
    let model: GaussianRbm = load_model(&args.model)?;
    check_chains("--chains", args.chains, &model)?;
    let classifier: Option<ClassRbm> = args
        .samples
        .classifier
        .as_deref()
        .map(|path| crate::classifier::load_classifier_of_width(path, model.n_visible()))
        .transpose()?;
    let Some(shape) = args
        .samples
        .image
        .resolve_or_note(&args.model, model.n_visible())?
    else {
        return Ok(());
    };
    let seed = args.random.seed;
    let mut rng = stream(seed, 0, 0);
    let mut metrics = Metrics::default();
    let start = Instant::now();
    let mut tiles = match args.sampler {
        SamplerArg::Gibbs => model.gibbs_samples(args.chains, args.steps, &mut rng),
        SamplerArg::Mala => {
            let mut tiles = Vec::with_capacity(args.chains * model.n_visible());
            let mut accepted = 0.0;
            for chain in 0..args.chains {
                let start = model.gibbs_samples(1, 1, &mut rng);
                let initial: Vec<f64> = start.iter().map(|&x| x as f64).collect();
                let config = ChainConfig {
                    burn_in: 0,
                    steps: args.steps,
                    thin: args.steps,
                    seed: seed.wrapping_add(chain as u64),
                    ..ChainConfig::default()
                };
                let result = run_chain(&model, &mut Mala::new(step_size), &initial, &config)
                    .map_err(|e| Failure::run(format!("--step-size: {e}")))?;
                accepted += result.acceptance_rate();
                tiles.extend(result.samples.iter().map(|&x| x as f32));
            }
            metrics.number("acceptance_rate", accepted / args.chains as f64);
            tiles
        }
        SamplerArg::GibbsLangevin => {
            let (tiles, acceptance) = model
                .gibbs_langevin_samples(&langevin, args.chains, args.steps, &mut rng)
                .map_err(|e| setup_failure(RbmError::InvalidSetting(e)))?;
            metrics.number("acceptance_rate", acceptance);
            tiles
        }
    };
    if gibbs_langevin {
        metrics.number("sample_seconds", start.elapsed().as_secs_f64());
    }
    model.unstandardize(&mut tiles);
    shape.write_square_grid(&args.samples.png, &tiles)?;
    metrics.text("png", &args.samples.png.display().to_string());
    if let Some(out) = &args.samples.out {
        crate::tables::write_table(out, tiles.clone(), model.n_visible(), &["v"])?;
        metrics.text("out", &out.display().to_string());
    }
    if let Some(classifier) = &classifier {
        let unit: Vec<f32> = tiles.iter().map(|&x| x.clamp(0.0, 1.0)).collect();
        let mut counts = vec![0u64; classifier.n_classes()];
        let mut confident = 0usize;
        for (class, probability) in crate::classifier::classify_samples(classifier, &unit) {
            if probability > crate::classifier::CONFIDENT {
                confident += 1;
                counts[class] += 1;
            }
        }
        metrics
            .number("confident_share", confident as f64 / args.chains as f64)
            .text(
                "confident_per_class",
                &counts
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            );
    }
    args.output.print(&metrics);
    Ok(())
}

/// `ebm gaussian-rbm transform`: the input's values (divided by `--scale` if given) are
/// standardized with the training data's mean and spread, as in training.
fn transform(args: crate::tables::TableArgs) -> Result<(), Failure> {
    let (run, model, data) = args.open(ValueRange::Real, GaussianRbm::n_visible)?;
    let standardized = model.standardize(&data);
    let n_hidden = model.n_hidden();
    let mut features = vec![0.0f32; data.n_examples * n_hidden];
    run.install(|| {
        use rayon::prelude::*;
        features
            .par_chunks_mut(n_hidden)
            .zip(standardized.features.par_chunks(model.n_visible()))
            .for_each(|(out, v)| out.copy_from_slice(&model.hidden_probabilities(v)));
    })?;
    args.finish(features, n_hidden, &["hidden"], Metrics::default())
}
