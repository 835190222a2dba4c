//! `ebm cf ...`: collaborative-filtering RBMs on rating files.

mod eval;
mod recommend;
mod source;
mod train;

use crate::Failure;
use crate::args::{JsonArgs, MeasureArgs, SeedArgs, TrainingArgs};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Subcommands of `ebm cf`.
#[derive(Subcommand)]
pub enum CfCommand {
    /// Train a collaborative-filtering RBM on ratings and save it.
    Train(TrainArgs),
    /// Held-out RMSE, MAE and top-k ranking metrics of a saved model.
    Eval(EvalArgs),
    /// The best unrated items for one user.
    Recommend(RecommendArgs),
}

/// Which side of the rating matrix is one RBM.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum VariantArg {
    /// One RBM per user over the items (Salakhutdinov, Mnih & Hinton 2007).
    User,
    /// One RBM per item over the users (I-RBM).
    Item,
}

/// Learning-rate schedule.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LrScheduleArg {
    /// Decay linearly to zero at the last epoch (averages out the noise of CD).
    Linear,
    /// Keep the rate.
    Constant,
}

/// Where ratings come from: a predefined MovieLens 100k fold, or any rating file.
#[derive(Args, Clone)]
pub struct SourceArgs {
    /// Named data set under --data: ml-100k.
    #[arg(long, conflicts_with = "ratings")]
    pub dataset: Option<String>,
    /// Predefined fold of ml-100k: u1..u5, ua, ub.
    #[arg(long, requires = "dataset", default_value = "u1")]
    pub fold: String,
    /// Folder holding the data sets (default: $EBM_DATA, else ./data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A rating file: MovieLens 100k (tab), 1M ('::') or ratings.csv; the format is sniffed.
    #[arg(long)]
    pub ratings: Option<PathBuf>,
    /// Held-out ratings to predict (same formats).
    #[arg(long, requires = "ratings", conflicts_with = "test_fraction")]
    pub test: Option<PathBuf>,
    /// Hold out this random fraction of --ratings (reproducible with --seed).
    #[arg(long, requires = "ratings")]
    pub test_fraction: Option<f64>,
    // The seed of the held-out split (and, for train, of training).
    #[command(flatten)]
    pub random: SeedArgs,
}

/// Flags of `ebm cf train`.
#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// user: one RBM per user; item: one RBM per item (usually better on MovieLens).
    #[arg(long, value_enum, default_value_t = VariantArg::Item)]
    pub variant: VariantArg,
    /// Condition the hidden units on which entries are rated or asked for (the
    /// conditional RBM; uses the held-out pairs, not their ratings).
    #[arg(long)]
    pub conditional: bool,
    /// Number of hidden units.
    #[arg(long, default_value_t = 100, value_parser = crate::args::count)]
    pub hidden: usize,
    /// Passes over the users (or items).
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Users (or items) per minibatch.
    #[arg(long, default_value_t = 20, value_parser = crate::args::count)]
    pub batch: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.02)]
    pub lr: f32,
    /// Learning-rate schedule: linear (to 0 at the last epoch) or constant.
    #[arg(long, value_enum, default_value_t = LrScheduleArg::Linear)]
    pub lr_schedule: LrScheduleArg,
    /// Momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    /// L2 weight decay.
    #[arg(long, default_value_t = 0.003)]
    pub weight_decay: f32,
    /// Gibbs steps of CD, stage by stage, e.g. 1,3,5 (T is raised as training goes on).
    #[arg(long, default_value = "1,3,5")]
    pub cd_steps: String,
    /// Epochs per CD stage (default: the epochs split evenly over the stages).
    #[arg(long)]
    pub cd_stage_epochs: Option<usize>,
    #[command(flatten)]
    pub training: TrainingArgs<ebm_cf::CfModel>,
}

/// Flags of `ebm cf eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// The model file.
    pub model: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    /// The k of precision@k, recall@k and NDCG@k.
    #[arg(long, default_value_t = 10, value_parser = crate::args::count)]
    pub top_k: usize,
    /// Held-out ratings at least this high count as relevant for the ranking metrics.
    #[arg(long, default_value_t = 4.0, value_parser = crate::args::finite)]
    pub relevant_from: f32,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// Flags of `ebm cf recommend`.
#[derive(Args)]
pub struct RecommendArgs {
    /// The model file.
    pub model: PathBuf,
    /// The user's id as in the rating file.
    #[arg(long)]
    pub user: u64,
    /// How many items.
    #[arg(long, default_value_t = 10, value_parser = crate::args::count)]
    pub top: usize,
    /// Item titles to show: u.item (ml-100k), movies.dat (ml-1m) or movies.csv.
    #[arg(long)]
    pub titles: Option<PathBuf>,
    #[command(flatten)]
    pub output: JsonArgs,
}

/// Run one `ebm cf` subcommand.
pub fn run(command: CfCommand) -> Result<(), Failure> {
    match command {
        CfCommand::Train(args) => train::run(args),
        CfCommand::Eval(args) => eval::run(args),
        CfCommand::Recommend(args) => recommend::run(args),
    }
}
