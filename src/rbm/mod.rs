//! `ebm rbm ...`: train, evaluate, sample from and look at binary RBMs.

mod anomaly;
mod eval;
mod features;
mod pictures;
mod train;
pub(crate) use train::parse_schedule;

use crate::Failure;
use crate::args::{GibbsSampleArgs, MeasureArgs, RunArgs, SeedArgs, TrainingArgs};
use crate::user_data::ValueRange;
use clap::{Args, Subcommand, ValueEnum};
use ebm_data::catalog::{BinarizeMode, DatasetName};
use ebm_rbm::ModelFile;
use std::path::PathBuf;

/// Subcommands of `ebm rbm`.
#[derive(Subcommand)]
pub enum RbmCommand {
    /// Train a binary RBM by CD-k or PCD and save it.
    Train(TrainArgs),
    /// Measure a saved RBM: log Z (exact or AIS), test log-likelihood, reconstruction
    /// error, pseudo-likelihood.
    Eval(EvalArgs),
    /// Draw samples by block Gibbs sampling and save them as a PNG grid.
    Sample(SampleArgs),
    /// Save the learned filters (each hidden unit's weights) as a PNG grid.
    Filters(FiltersArgs),
    /// Free energy as an anomaly score: ROC AUC of test examples with the given labels
    /// against the rest, and a threshold chosen on validation data.
    Anomaly(AnomalyArgs),
    /// Hidden-unit probabilities of every example of a file (features for another model),
    /// written as .npy or .csv.
    Transform(TransformArgs),
    /// Per-example free energy and log-likelihood (log Z exact or by AIS) of a file,
    /// written as .csv.
    Score(ScoreArgs),
}

/// Anomaly score of `ebm rbm anomaly`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AnomalyScoreArg {
    /// F(x) minus the free energy of independent pixels at the training base rates.
    LikelihoodRatio,
    /// The free energy F(x).
    FreeEnergy,
    /// Squared error of the mean-field reconstruction.
    Reconstruction,
}

/// Flags of `ebm rbm anomaly`.
#[derive(Args)]
pub struct AnomalyArgs {
    /// The model file (trained without the anomalous labels).
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Labels that count as anomalous, e.g. 9.
    #[arg(long, value_delimiter = ',', required = true)]
    pub anomalous_labels: Vec<u8>,
    /// Score: likelihood-ratio (free energy minus that of independent pixels at the
    /// training data's base rates), free-energy, or reconstruction.
    #[arg(long, value_enum, default_value_t = AnomalyScoreArg::LikelihoodRatio)]
    pub score: AnomalyScoreArg,
    /// Training labels the model was trained on are all labels except these (for the
    /// likelihood ratio's base rates); default: --anomalous-labels.
    #[arg(long, value_delimiter = ',')]
    pub base_exclude_labels: Option<Vec<u8>>,
    /// False-positive rate the threshold is set for on the validation rows (the even ones).
    #[arg(long, default_value_t = 0.05)]
    pub false_positive_rate: f64,
    /// Draw the ROC curve (with its AUC and the threshold's operating point) as DIR/roc.png
    /// (DIR is created if missing).
    #[arg(long, value_name = "DIR", value_parser = crate::run_log::plot_dir)]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// Negative-phase method.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MethodArg {
    /// Contrastive divergence: chains start at the data.
    Cd,
    /// Persistent contrastive divergence: chains persist across updates.
    Pcd,
}

/// Where the data comes from (shared by train and eval): a built-in data set, or the
/// user's files.
#[derive(Args, Clone)]
pub struct DataArgs {
    /// Data set: mnist, digits (built in: the 8x8 handwritten digits) or
    /// bars-and-stripes (built in); --train FILE reads your own instead.
    #[arg(long, default_value = "bars-and-stripes", value_parser = parse_dataset)]
    pub dataset: DatasetName,
    /// Folder holding the data sets (default: $EBM_DATA, else ./data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// How values in [0, 1] become binary: stochastic (fixed seed), threshold (at 0.5) or
    /// none (kept as probabilities).
    #[arg(long, default_value = "stochastic", value_parser = parse_binarize)]
    pub binarize: BinarizeMode,
    #[command(flatten)]
    pub files: crate::user_data::FileArgs,
}

impl DataArgs {
    /// Load `split` of the data set or of the user's files, binarized.
    fn load(&self, split: ebm_data::mnist::Split) -> Result<ebm_data::Dataset, Failure> {
        if let Some(mut data) = self.files.load(split, ValueRange::Unit)? {
            ebm_data::catalog::binarize_split(&mut data, split, self.binarize);
            return Ok(data);
        }
        let dir = ebm_data::data_dir::resolve(self.data.as_deref());
        ebm_data::catalog::load_binary(self.dataset, &dir, split, self.binarize)
            .map_err(Failure::input)
    }
}

/// How `log Z` is computed (eval and score).
#[derive(Args, Clone)]
pub struct LogZArgs {
    /// Compute log Z exactly (the smaller layer must have at most 25 units).
    #[arg(long)]
    pub exact: bool,
    /// AIS: number of runs.
    #[arg(long, default_value_t = 100, value_parser = crate::args::count)]
    pub ais_runs: usize,
    /// AIS: number of intermediate distributions (Salakhutdinov & Murray use 14,500).
    #[arg(long, default_value_t = 14_500)]
    pub ais_betas: usize,
}

/// Flags of `ebm rbm transform`.
pub type TransformArgs = crate::tables::TableArgs;

/// Flags of `ebm rbm score`.
#[derive(Args)]
pub struct ScoreArgs {
    /// The model file (or a training checkpoint).
    pub model: PathBuf,
    /// The examples (.npy, CSV, svmlight or IDX; raw or gzipped), read as --binarize says.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    #[command(flatten)]
    pub read: crate::user_data::ReadArgs,
    /// How the examples' values in [0, 1] become binary: none (default: the model's
    /// free energy of the values), threshold or stochastic.
    #[arg(long, default_value = "none", value_parser = parse_binarize)]
    pub binarize: BinarizeMode,
    #[command(flatten)]
    pub log_z: LogZArgs,
    /// Where the scores go: a CSV with columns free_energy and log_likelihood.
    #[arg(long, value_parser = crate::args::output_file)]
    pub out: PathBuf,
    #[command(flatten)]
    pub random: SeedArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

fn parse_dataset(s: &str) -> Result<DatasetName, String> {
    s.parse()
}
fn parse_binarize(s: &str) -> Result<BinarizeMode, String> {
    s.parse()
}

/// Flags of `ebm rbm train`.
#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Number of hidden units.
    #[arg(long, default_value_t = 500, value_parser = crate::args::count)]
    pub hidden: usize,
    /// cd (contrastive divergence) or pcd (persistent CD).
    #[arg(long, value_enum, default_value_t = MethodArg::Cd)]
    pub method: MethodArg,
    /// Gibbs steps per update (the k of CD-k / PCD-k).
    #[arg(long, default_value_t = 1)]
    pub k: usize,
    /// Persistent chains for PCD (default: the batch size).
    #[arg(long, value_parser = crate::args::count)]
    pub chains: Option<usize>,
    /// Total epochs (with --resume: the new total).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Examples per minibatch.
    #[arg(long, default_value_t = 100, value_parser = crate::args::count)]
    pub batch: usize,
    /// Base learning rate.
    #[arg(long, default_value_t = 0.05)]
    pub lr: f32,
    /// Learning-rate schedule: constant, linear (to 0 at the last epoch), inverse:R or
    /// cosine (annealed towards 0).
    #[arg(long, default_value = "constant")]
    pub lr_schedule: String,
    /// Momentum after the switch epoch.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    /// Momentum before the switch epoch.
    #[arg(long, default_value_t = 0.5)]
    pub initial_momentum: f32,
    /// First epoch (0-based) that uses --momentum.
    #[arg(long, default_value_t = 5)]
    pub momentum_switch: usize,
    /// L2 weight decay on the weights.
    #[arg(long, default_value_t = 2e-4)]
    pub weight_decay: f32,
    /// Target mean activity of hidden units (enables the sparsity penalty).
    #[arg(long)]
    pub sparsity_target: Option<f32>,
    /// Weight of the sparsity penalty.
    #[arg(long, default_value_t = 0.1)]
    pub sparsity_cost: f32,
    #[command(flatten)]
    pub random: SeedArgs,
    /// Use only the first N training examples.
    #[arg(long, value_parser = crate::args::count)]
    pub limit: Option<usize>,
    /// Leave out training examples with these labels, e.g. 9 (a model of "normal" data
    /// for `ebm rbm anomaly`).
    #[arg(long, value_delimiter = ',')]
    pub exclude_labels: Vec<u8>,
    /// Checkpoint file (default: OUT.ckpt).
    #[arg(long, value_parser = crate::args::output_file)]
    pub checkpoint: Option<PathBuf>,
    /// Write the checkpoint every N epochs (0: never).
    #[arg(long, default_value_t = 1)]
    pub checkpoint_every: usize,
    /// Resume from this checkpoint (its settings are kept; --epochs sets the new total).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub training: TrainingArgs<ebm_rbm::BinaryRbm>,
}

/// Flags of `ebm rbm eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// The model file (or a training checkpoint).
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub log_z: LogZArgs,
    /// Examples for the pseudo-likelihood (it costs V x H per example).
    #[arg(long, default_value_t = 1000, value_parser = crate::args::positive_count)]
    pub pl_examples: usize,
    /// Use only the first N test examples.
    #[arg(long, value_parser = crate::args::count)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub random: SeedArgs,
    /// Draw the AIS diagnostics (each run's log-weight, sorted, with the estimate and its
    /// bounds) as DIR/ais_log_weights.png (DIR is created if missing; not with --exact).
    #[arg(long, value_name = "DIR", value_parser = crate::run_log::plot_dir, conflicts_with = "exact")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// Flags of `ebm rbm sample`.
#[derive(Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub sample: GibbsSampleArgs<ebm_rbm::BinaryRbm>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Flags of `ebm rbm filters`.
#[derive(Args)]
pub struct FiltersArgs {
    /// The model file.
    pub model: PathBuf,
    /// Output PNG.
    #[arg(long, value_parser = crate::args::output_file)]
    pub png: PathBuf,
    /// Number of hidden units to show (the first N).
    #[arg(long, default_value_t = 100, value_parser = crate::args::count)]
    pub count: usize,
    #[command(flatten)]
    pub image: crate::args::ImageShapeArgs,
}

/// Run one `ebm rbm` subcommand.
pub fn run(command: RbmCommand) -> Result<(), Failure> {
    match command {
        RbmCommand::Train(args) => train::run(args),
        RbmCommand::Eval(args) => eval::run(args),
        RbmCommand::Sample(args) => pictures::sample(args),
        RbmCommand::Filters(args) => pictures::filters(args),
        RbmCommand::Anomaly(args) => anomaly::run(args),
        RbmCommand::Transform(args) => features::transform(args),
        RbmCommand::Score(args) => features::score(args),
    }
}

/// Load the model at `path` (a model file, or a training checkpoint whose current model
/// is taken) or fail with exit code 2.
fn load_model(path: &std::path::Path) -> Result<ebm_rbm::BinaryRbm, Failure> {
    let header = ebm_core::model_file::read_header(path).map_err(Failure::input)?;
    if header.kind == ebm_rbm::train::CHECKPOINT_KIND {
        return ebm_rbm::train::TrainState::load_checkpoint(path)
            .map(|state| state.model)
            .map_err(Failure::input);
    }
    ebm_rbm::BinaryRbm::load(path).map_err(Failure::input)
}
